//! A timeline of a run in the Chrome trace-event format (the JSON that
//! Perfetto and chrome://tracing open): an observer of the machine, plus the
//! software a program run adds afterwards. One cycle shows as one
//! microsecond.
//!
//! | process (pid)   | track (tid)      | what                                                        |
//! |-----------------|------------------|-------------------------------------------------------------|
//! | 1 cores         | core c           | each miss as a slice from issue to completion (the core stalls), named by its access, with the L1 states it went through; hits between misses folded into one slice |
//! | 2 directory     | slice s          | every request the slice took (an instant, with its state change); transient states (S_D) as async spans per line |
//! | 3 software      | core c           | critical sections                                           |
//! | 3 software      | 1000 + c         | software messages: a send, a receive, and a flow arrow between them carrying the primitive tag and the coherence messages the message caused |
//!
//! `window` keeps only what happens in `start..end` (slices clipped to it);
//! `cap` bounds the events: when it is reached, recording stops and the file
//! says where (`otherData.capped_at`), so a large run stays usable. Slices on
//! one track never overlap (a later one starts where the earlier ended), and
//! the file lists events by time, so timestamps rise on every track.

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::observe::{Finding, Hit, Observer, View};
use crate::exec::SwEvent;
use crate::exec::net::SwMessage;
use crate::model::network::Cycle;
use crate::model::{Access, LineAddr, MemOp, Note};
use crate::reuse::Reuse;

const CORES: u32 = 1;
const DIRECTORY: u32 = 2;
const SOFTWARE: u32 = 3;
/// Software message tracks are `MESSAGES + core`.
const MESSAGES: u32 = 1000;

/// One trace event (the format's fields; absent ones are left out).
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub name: String,
    pub ph: &'static str,
    pub ts: Cycle,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dur: Option<Cycle>,
    pub pid: u32,
    pub tid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cat: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bp: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<&'static str>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub args: Value,
}

impl Event {
    fn new(name: String, ph: &'static str, ts: Cycle, pid: u32, tid: u32) -> Event {
        Event { name, ph, ts, dur: None, pid, tid, cat: None, id: None, bp: None, s: None, args: Value::Null }
    }
}

/// The settings of a timeline: the window and the event cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineSpec {
    pub window: Option<(Cycle, Cycle)>,
    pub cap: usize,
}

impl Default for TimelineSpec {
    fn default() -> TimelineSpec {
        TimelineSpec { window: None, cap: 1_000_000 }
    }
}

/// A miss in flight: when it issued, its name, the L1 states it went through.
#[derive(Clone, Debug)]
struct Open {
    at: Cycle,
    name: String,
    /// The byte address missed on: only its line's transitions are the miss's.
    addr: u64,
    states: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Timeline {
    spec: TimelineSpec,
    cores: usize,
    slices: usize,
    events: Vec<Event>,
    /// The cycle recording stopped at when the cap was reached.
    capped_at: Option<Cycle>,
    misses: Vec<Option<Open>>,
    /// Per core, hits since its last miss: first cycle, last cycle, count.
    hits: Vec<Option<(Cycle, Cycle, u64)>>,
    /// Per track, where its last slice ended (slices never overlap).
    ends: FxHashMap<(u32, u32), Cycle>,
    /// Lines (by address) in a transient directory state, since when.
    transient: FxHashMap<(u16, LineAddr), Cycle>,
}

fn op_name(op: MemOp) -> &'static str {
    match op {
        MemOp::Load => "load",
        MemOp::Store(_) => "store",
        MemOp::Swap(_) => "swap",
        MemOp::FetchAdd(_) => "fetch-add",
        MemOp::CompareExchange { .. } => "cas",
    }
}

impl Timeline {
    pub fn new(spec: TimelineSpec, cores: usize, slices: usize) -> Timeline {
        Timeline {
            spec,
            cores,
            slices,
            events: Vec::new(),
            capped_at: None,
            misses: (0..cores).map(|_| None).collect(),
            hits: vec![None; cores],
            ends: FxHashMap::default(),
            transient: FxHashMap::default(),
        }
    }

    /// Where recording stopped, when the cap was reached.
    pub fn capped_at(&self) -> Option<Cycle> {
        self.capped_at
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn full(&mut self, at: Cycle) -> bool {
        if self.capped_at.is_none() && self.events.len() >= self.spec.cap {
            self.capped_at = Some(at);
        }
        self.capped_at.is_some()
    }

    /// Keeps `e` unless the cap is reached; whether it was kept.
    fn push(&mut self, e: Event) -> bool {
        if self.full(e.ts) {
            return false;
        }
        self.events.push(e);
        true
    }

    /// A slice `[start, end)` on a track, clipped to the window and to the
    /// track's last slice.
    fn slice(&mut self, pid: u32, tid: u32, start: Cycle, end: Cycle, name: String, args: Value) -> Option<Cycle> {
        let (lo, hi) = self.spec.window.unwrap_or((0, Cycle::MAX));
        let last = self.ends.get(&(pid, tid)).copied().unwrap_or(0);
        let start = start.max(lo).max(last);
        let end = end.min(hi);
        if end <= start {
            return None;
        }
        self.ends.insert((pid, tid), end);
        let mut e = Event::new(name, "X", start, pid, tid);
        e.dur = Some(end - start);
        e.args = args;
        self.push(e);
        Some(start)
    }

    fn in_window(&self, at: Cycle) -> bool {
        self.spec.window.is_none_or(|(lo, hi)| at >= lo && at < hi)
    }

    fn flush_hits(&mut self, core: usize) {
        if let Some((first, last, n)) = self.hits[core].take() {
            let name = format!("{n} hits");
            self.slice(CORES, core as u32, first, last + 1, name, json!({ "hits": n }));
        }
    }

    /// Adds a program run's critical sections (`Acquired` to `Releasing`).
    pub fn add_sections(&mut self, events: &[SwEvent]) {
        use crate::exec::SwEventKind;
        let mut open: FxHashMap<usize, Cycle> = FxHashMap::default();
        let mut sorted: Vec<&SwEvent> = events.iter().collect();
        sorted.sort_by_key(|e| (e.cycle, e.core));
        for e in sorted {
            match e.kind {
                SwEventKind::Acquired => {
                    open.insert(e.core, e.cycle);
                }
                SwEventKind::Releasing => {
                    if let Some(at) = open.remove(&e.core) {
                        self.slice(
                            SOFTWARE,
                            e.core as u32,
                            at,
                            e.cycle.max(at + 1),
                            "critical section".into(),
                            Value::Null,
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Adds a message-passing run's software messages: a send slice at the
    /// sender, a receive slice per copy taken, and a flow arrow from the send
    /// to each receive.
    pub fn add_messages(&mut self, messages: &[SwMessage]) {
        // Sends and receives by time, so each track's slices come in order.
        let mut parts: Vec<(Cycle, Cycle, usize, bool, usize)> = Vec::new();
        for (id, m) in messages.iter().enumerate() {
            parts.push((m.sent_at, m.sent_at + 1, m.from, true, id));
            for r in &m.received {
                parts.push((r.at.saturating_sub(r.cycles), r.at.max(1), m.to, false, id));
            }
        }
        parts.sort_by_key(|p| (p.0, p.2, !p.3, p.4));
        let mut sent: FxHashMap<usize, Cycle> = FxHashMap::default();
        let mut flows = 0u64;
        for (start, end, core, is_send, id) in parts {
            let m = &messages[id];
            let args = json!({
                "kind": m.kind, "primitive": m.primitive.tag(), "from": m.from, "to": m.to,
                "bytes": m.bytes, "coherence_messages": m.coherence(), "copies": m.copies,
            });
            let name = format!("{} {}", if is_send { "send" } else { "recv" }, m.kind);
            let Some(at) = self.slice(SOFTWARE, MESSAGES + core as u32, start, end.max(start + 1), name, args) else {
                continue;
            };
            if is_send {
                sent.insert(id, at);
            } else if let Some(&from) = sent.get(&id) {
                // One arrow per copy taken: a flow start on the send slice,
                // its end on this receive slice.
                flows += 1;
                let fid = format!("{id}.{flows}");
                let mut s = Event::new(
                    format!("{} {}", m.primitive.tag(), m.kind),
                    "s",
                    from,
                    SOFTWARE,
                    MESSAGES + m.from as u32,
                );
                s.cat = Some("message");
                s.id = Some(fid.clone());
                let mut f = Event::new(s.name.clone(), "f", at, SOFTWARE, MESSAGES + core as u32);
                f.cat = Some("message");
                f.id = Some(fid);
                f.bp = Some("e");
                if self.events.len() + 2 <= self.spec.cap && self.capped_at.is_none() {
                    self.events.push(s);
                    self.events.push(f);
                } else {
                    self.full(at);
                }
            }
        }
    }

    /// The whole file: track names, then every event by time. Transient
    /// spans still open end at the last event.
    pub fn to_json(&mut self) -> Value {
        for c in 0..self.cores {
            self.flush_hits(c);
        }
        let last = self.events.iter().map(|e| e.ts + e.dur.unwrap_or(0)).max().unwrap_or(0);
        let mut open: Vec<(u16, LineAddr)> = self.transient.drain().map(|(k, _)| k).collect();
        open.sort_unstable();
        for (slice, line) in open {
            self.events.push(transient_event("e", slice, line, "S_D", last));
        }
        let mut meta = Vec::new();
        let name = |pid: u32, tid: Option<u32>, n: String| {
            let mut e = Event::new(
                if tid.is_some() { "thread_name" } else { "process_name" }.into(),
                "M",
                0,
                pid,
                tid.unwrap_or(0),
            );
            e.args = json!({ "name": n });
            e
        };
        meta.push(name(CORES, None, "cores".into()));
        meta.push(name(DIRECTORY, None, "directory".into()));
        let software = self.events.iter().any(|e| e.pid == SOFTWARE);
        if software {
            meta.push(name(SOFTWARE, None, "software".into()));
        }
        for c in 0..self.cores as u32 {
            meta.push(name(CORES, Some(c), format!("core {c}")));
            if software {
                meta.push(name(SOFTWARE, Some(c), format!("core {c} sections")));
                meta.push(name(SOFTWARE, Some(MESSAGES + c), format!("core {c} messages")));
            }
        }
        for s in 0..self.slices as u32 {
            meta.push(name(DIRECTORY, Some(s), format!("slice {s}")));
        }
        let mut events = self.events.clone();
        // By time; at one time, an async end before a begin, a flow start
        // before its end.
        events.sort_by_key(|e| (e.ts, e.ph == "b", e.ph == "f"));
        let mut all = meta;
        all.extend(events);
        json!({
            "traceEvents": all,
            "displayTimeUnit": "ns",
            "otherData": {
                "generator": "cohsim",
                "time_unit": "one cycle shows as one microsecond",
                "window": self.spec.window.map(|(a, b)| json!([a, b])),
                "cap": self.spec.cap,
                "capped_at": self.capped_at,
            },
        })
    }
}

/// The begin or end of a line's transient span at a directory slice.
fn transient_event(ph: &'static str, slice: u16, line: LineAddr, state: &str, at: Cycle) -> Event {
    let mut e = Event::new(format!("line {line:#x} {state}"), ph, at, DIRECTORY, slice as u32);
    e.cat = Some("transient");
    e.id = Some(format!("{slice}.{line:x}"));
    e
}

impl Observer for Timeline {
    fn sees_every_access(&self) -> bool {
        // Every hit, to fold them between misses.
        true
    }

    fn hit(&mut self, hit: &Hit) -> Result<(), Finding> {
        let c = hit.core as usize;
        if self.in_window(hit.at) {
            let h = self.hits[c].get_or_insert((hit.at, hit.at, 0));
            h.1 = h.1.max(hit.at);
            h.2 += 1;
        }
        Ok(())
    }

    fn issued(&mut self, core: u16, access: Access, miss: bool, _reuse: Reuse, at: Cycle) {
        let c = core as usize;
        self.flush_hits(c);
        let kind = if miss { "miss" } else { "upgrade" };
        let name = format!("{} {kind} {:#x}", op_name(access.op), access.addr);
        self.misses[c] = Some(Open { at, name, addr: access.addr, states: Vec::new() });
    }

    fn notes(&mut self, cycle: Cycle, notes: &[Note], view: View) -> Result<(), Finding> {
        // A completion closes its miss after the batch's transitions (an L1
        // notes the completion before the state change that goes with it).
        let mut completed: smallvec::SmallVec<[u16; 2]> = smallvec::SmallVec::new();
        for n in notes {
            match *n {
                Note::L1Transition { core, line, from, to, .. } => {
                    // A core's other lines change too while its miss waits
                    // (an eviction, a forwarded request): not this miss's states.
                    if let Some(o) = self.misses[core as usize].as_mut()
                        && o.addr / view.line_bytes == line
                    {
                        if o.states.is_empty() {
                            o.states.push(from.name());
                        }
                        o.states.push(to.name());
                    }
                }
                Note::Completed { core, .. } => completed.push(core),
                Note::DirTransition { slice, line, from, event, to } => {
                    let line = line * view.line_bytes;
                    let key = (slice, line);
                    if self.in_window(cycle) {
                        let mut e = Event::new(event.name().to_string(), "i", cycle, DIRECTORY, slice as u32);
                        e.s = Some("t");
                        e.args = json!({ "line": format!("{line:#x}"), "from": from.name(), "to": to.name() });
                        self.push(e);
                        if from.is_stable() && !to.is_stable() {
                            let mut b = transient_event("b", slice, line, to.name(), cycle);
                            b.args = json!({ "since": cycle });
                            if self.push(b) {
                                self.transient.insert(key, cycle);
                            }
                        }
                    }
                    if !from.is_stable() && to.is_stable() && self.transient.remove(&key).is_some() {
                        // An end always goes in, so every begin kept has one.
                        self.events.push(transient_event("e", slice, line, from.name(), cycle));
                    }
                }
                _ => {}
            }
        }
        for core in completed {
            if let Some(o) = self.misses[core as usize].take() {
                let args = json!({ "states": o.states.join(" → "), "stall_cycles": cycle - o.at });
                self.slice(CORES, core as u32, o.at, cycle.max(o.at + 1), o.name, args);
            }
        }
        Ok(())
    }
}
