//! Heartbeat failure detection, all-to-all: every process sends a `Beat`
//! to every other process once a period, and each process watches every
//! other. A watch is a timer per suspicion level, re-armed at each fresh
//! heartbeat; when it fires the watched process is suspected at that level,
//! and a later fresh heartbeat clears the suspicion (an eventually perfect
//! detector, ◇P, once the network is timely again).
//!
//! The level is either a fixed timeout (`Rule::Timeouts`, the classic
//! detector: suspect after `T` cycles of silence) or a phi threshold
//! (`Rule::Phi`, `phi.rs`: suspect when φ ≥ θ, armed as the cycle φ
//! crosses θ). A run evaluates several levels at once over the same
//! arrivals, one timer each, so one run measures detection time against
//! mistakes for a range of timeouts or thresholds.
//!
//! **Guarantees.** Strong completeness: a process that crashes for good
//! sends no more heartbeats, so every watch on it fires and every correct
//! process suspects it for good, within `T + δ` of its last heartbeat's
//! arrival for a timeout `T` and a message latency `δ`; as the last
//! heartbeat was sent at most a period `P` before the crash, detection takes
//! `T − P + δ ..= T + δ` cycles after the crash. Accuracy is not
//! guaranteed (no detector can give it without timing assumptions): a
//! pause, a loss, a delay or a partition longer than the timeout makes a
//! live process suspected until its next heartbeat. The apps measure it.
//!
//! **Freshness.** Beats carry `(incarnation, sequence)`: a duplicate or a
//! reordered older beat is ignored (it would otherwise cut the phi window's
//! inter-arrival samples short), and a process back from a crash-recovery
//! starts a new incarnation (saved, a durable write at each start) so its
//! fresh sequence numbers are not mistaken for old ones.
//!
//! **Cost.** `N − 1` messages per process per period, `N(N − 1)` for the
//! system; no replies. Each beat is the silent-withdrawal primitive
//! discovered by timeout (7b): a process that stops is never announced, its
//! silence is noticed.
//!
//! **Broken variants.** `NeverSuspects`: the watch fires and is ignored (a
//! detector that trusts everyone forever; completeness fails at the first
//! crash). `UnheardTrusted`: a watch is armed only at a process's first
//! heartbeat (no window, no φ, "so trust it"), so a process that crashes
//! before its first heartbeat arrives is never suspected.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::phi;
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

/// How a watch's timer is set, per level.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// A fixed timeout per level, in cycles.
    Timeouts(Vec<u64>),
    /// A phi threshold per level, with its `z(θ)` (`Rule::phi` computes
    /// it once); σ at least `min_sigma` cycles.
    Phi { thresholds: Vec<f64>, z: Vec<f64>, min_sigma: u64 },
}

impl Rule {
    pub fn phi(thresholds: Vec<f64>, min_sigma: u64) -> Rule {
        let z = thresholds.iter().map(|&t| phi::z_of(t)).collect();
        Rule::Phi { thresholds, z, min_sigma }
    }

    pub fn levels(&self) -> usize {
        match self {
            Rule::Timeouts(t) => t.len(),
            Rule::Phi { thresholds, .. } => thresholds.len(),
        }
    }

    /// A level's name in reports ("timeout 3000", "phi 8").
    pub fn name(&self, level: usize) -> String {
        match self {
            Rule::Timeouts(t) => format!("timeout {}", t[level]),
            Rule::Phi { thresholds, .. } => format!("phi {}", thresholds[level]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broken {
    None,
    NeverSuspects,
    UnheardTrusted,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DetMsg {
    /// I am alive: my incarnation and this beat's number in it (from 1).
    Beat { inc: u32, seq: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DetTimer {
    /// Time to send the period's beats.
    Beat,
    /// `peer` has been silent long enough for `level`.
    Silence { peer: usize, level: usize },
}

/// What a process knows of one other process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Watch {
    /// The freshest beat taken: (incarnation, sequence); (0, 0) before any.
    pub fresh: (u32, u32),
    /// The clock reading at that beat's arrival.
    pub last: Option<u64>,
    /// Inter-arrival times of the current incarnation's beats (`phi::WINDOW`).
    pub window: VecDeque<u64>,
    /// Suspected at level `l` when bit `l` is set.
    pub suspected: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DetState {
    pub inc: u32,
    /// Beats sent in this incarnation (each to every other process).
    pub beats: u32,
    /// The clock reading the current handler saw (0 in the untimed world).
    pub now: u64,
    /// One watch per process (one's own stays empty).
    pub watches: Vec<Watch>,
}

impl DetState {
    pub fn suspects(&self, peer: usize, level: usize) -> bool {
        self.watches[peer].suspected & (1 << level) != 0
    }
}

/// The detector every process runs.
#[derive(Clone, Debug)]
pub struct Detector {
    pub processes: usize,
    /// Cycles between a process's beats.
    pub period: u64,
    pub rule: Rule,
    /// The clock reading at which a process's part of the run is done (it
    /// goes on beating and watching: `finished` only lets the run end).
    pub end: u64,
    pub broken: Broken,
}

impl Detector {
    /// Cycles of silence after the last fresh beat (or the start) at which
    /// `level`'s watch fires, given the window of inter-arrivals.
    pub fn timeout(&self, level: usize, window: &VecDeque<u64>) -> u64 {
        match &self.rule {
            Rule::Timeouts(t) => t[level],
            Rule::Phi { z, min_sigma, .. } => phi::crossing(window, self.period, *min_sigma, z[level]),
        }
    }

    fn arm(&self, peer: usize, window: &VecDeque<u64>, o: &mut Out<Self>) {
        for level in 0..self.rule.levels() {
            let t = self.timeout(level, window);
            o.set_timer(DetTimer::Silence { peer, level }, cycles(t..t + 1));
        }
    }

    fn beat(&self, me: usize, s: &mut DetState, o: &mut Out<Self>) {
        // The timer first: the period runs from the handler's start, not
        // from the end of its sends.
        o.set_timer(DetTimer::Beat, cycles(self.period..self.period + 1));
        s.beats += 1;
        for q in (0..self.processes).filter(|&q| q != me) {
            o.send(Id::from(q), DetMsg::Beat { inc: s.inc, seq: s.beats });
        }
    }
}

impl Actor for Detector {
    type Msg = DetMsg;
    type State = DetState;
    type Timer = DetTimer;
    type Random = ();
    /// The incarnation, written at each start.
    type Storage = u32;

    fn on_start(&self, id: Id, storage: &Option<u32>, o: &mut Out<Self>) -> DetState {
        let me = usize::from(id);
        let inc = storage.map_or(0, |k| k + 1);
        o.save(inc);
        let mut s = DetState { inc, beats: 0, now: 0, watches: vec![Watch::default(); self.processes] };
        self.beat(me, &mut s, o);
        if self.broken != Broken::UnheardTrusted {
            // Every other process is watched from the start: one never heard
            // from is suspected like one that fell silent.
            for q in (0..self.processes).filter(|&q| q != me) {
                self.arm(q, &VecDeque::new(), o);
            }
        }
        s
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<DetState>, src: Id, msg: DetMsg, o: &mut Out<Self>) {
        let DetMsg::Beat { inc, seq } = msg;
        let q = usize::from(src);
        if (inc, seq) <= state.watches[q].fresh {
            return; // a duplicate or an older beat overtaken by a newer one
        }
        let s = state.to_mut();
        let now = s.now;
        let w = &mut s.watches[q];
        match w.last {
            Some(last) if inc == w.fresh.0 => phi::record(&mut w.window, now.saturating_sub(last)),
            // A new incarnation: its timing starts afresh.
            _ => w.window.clear(),
        }
        w.fresh = (inc, seq);
        w.last = Some(now);
        w.suspected = 0;
        self.arm(q, &w.window.clone(), o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<DetState>, timer: &DetTimer, o: &mut Out<Self>) {
        match *timer {
            DetTimer::Beat => self.beat(usize::from(id), state.to_mut(), o),
            DetTimer::Silence { peer, level } => {
                if self.broken == Broken::NeverSuspects {
                    return;
                }
                state.to_mut().watches[peer].suspected |= 1 << level;
            }
        }
    }
}

impl OnCore for Detector {
    fn finished(&self, state: &DetState) -> bool {
        state.now >= self.end
    }

    fn read_clock(&self, state: &mut DetState, reading: u64) {
        state.now = reading;
    }

    /// `suspect [peer, level]` and `trust [peer, level]` when a handler
    /// changes a suspicion (a restart starts with none and notes nothing).
    fn notes(&self, before: Option<&DetState>, after: &DetState, notes: &mut Vec<Note>) {
        let Some(before) = before else { return };
        for (q, (b, a)) in before.watches.iter().zip(&after.watches).enumerate() {
            for level in 0..self.rule.levels() {
                let bit = 1 << level;
                match (b.suspected & bit != 0, a.suspected & bit != 0) {
                    (false, true) => notes.push(Note::new("suspect", &[q as u64, level as u64])),
                    (true, false) => notes.push(Note::new("trust", &[q as u64, level as u64])),
                    _ => {}
                }
            }
        }
    }

    fn kind(_msg: &DetMsg) -> &'static str {
        "beat"
    }

    fn primitive(_msg: &DetMsg) -> Primitive {
        Primitive::SilentTimeout
    }
}
