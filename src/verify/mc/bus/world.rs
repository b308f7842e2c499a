//! The bus checker's world: the snooping caches and memory of `model::snoop`
//! (built as `engine::bus::BusSimulator` builds them), the requests waiting for
//! the address bus, the snoop queues of ordered requests a controller stalled,
//! the lines on the data bus, and the observer's golden words and load windows;
//! and the transitions between states, which run the controllers' own
//! `access`, `evict` and `handle` and the engine's order-point and snoop-queue
//! logic step for step (`engine::bus`: `arbitrate`, `deliver`).

use std::collections::VecDeque;

use super::super::ViolationKind;
use super::super::state::{Fault, LINE_BYTES, Outcome, POISON, observe_performed, word_name};
use crate::model::cache::{CacheGeometry, ReplacementPolicy};
use crate::model::l1::{AccessOutcome, L1Controller, L1Spec};
use crate::model::snoop::{SnoopCache, SnoopMemory, SnoopSide, state_of};
use crate::model::{Access, Handled, MemOp, Msg, MsgKind, NodeId, Note, Outbox, ProtocolError};
use crate::protocol::snoop_table::{MemState, SnoopState};
use crate::verify::invariants::check_swmr;

use super::BusModel;

/// One transition, in the coordinates of the world it is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BusAction {
    Access {
        core: u16,
        line: u8,
        op: MemOp,
    },
    Evict {
        core: u16,
        line: u8,
    },
    /// The arbiter grants the bus to this cache's oldest waiting request: its
    /// order point. Every cache and then memory snoop it, in that order.
    Order {
        cache: u16,
    },
    /// A line on the data bus reaches its receiver.
    Deliver {
        index: u16,
    },
}

impl BusAction {
    /// The bus's own moves (what the progress pass may use): ordering and data.
    pub fn is_delivery(self) -> bool {
        matches!(self, BusAction::Order { .. } | BusAction::Deliver { .. })
    }
}

fn protocol_fault(e: ProtocolError) -> Fault {
    Fault { kind: ViolationKind::Protocol, detail: e.to_string() }
}

#[derive(Clone, Debug)]
pub(crate) struct BusWorld {
    pub l1s: Vec<L1Controller>,
    pub sides: Vec<SnoopSide>,
    pub memory: SnoopMemory,
    /// Per cache: its requests waiting for the address bus, oldest first (the
    /// bus's per-cache FIFO: the arbiter only ever takes a queue's head).
    pub queues: Vec<VecDeque<Msg>>,
    /// Per controller (caches, then memory) and line: ordered requests it
    /// stalled, in bus order (the engine's snoop queues).
    pub stalled: Vec<Vec<VecDeque<Msg>>>,
    /// Lines on the data bus: a multiset, delivered in any order.
    pub data: Vec<Msg>,
    /// The last value stored to each line's word.
    pub golden: Vec<u8>,
    /// Per core: the values its outstanding load's word has held since issue.
    pub windows: Vec<u8>,
}

impl BusWorld {
    /// The initial state: caches empty, memory and golden words zero.
    pub fn new(m: &BusModel) -> BusWorld {
        let o = &m.opts;
        let geometry = CacheGeometry { size: m.frames as u64 * LINE_BYTES, ways: 1, line: LINE_BYTES as u32 };
        let memory_node = m.caches as NodeId;
        let l1s = (0..m.caches)
            .map(|c| {
                let spec = L1Spec {
                    core: c as u16,
                    protocol: o.protocol,
                    geometry,
                    policy: ReplacementPolicy::Random,
                    silent_evict: true,
                    wb_entries: m.lines,
                    first_dir: memory_node,
                    dir_slices: 1,
                    imprecise_dir: false,
                    mutation: None,
                };
                L1Controller::new(spec, 1)
            })
            .collect();
        let sides = (0..m.caches).map(|c| SnoopSide::new(c as u16, o.protocol, memory_node, o.mutation)).collect();
        BusWorld {
            l1s,
            sides,
            memory: SnoopMemory::new(o.protocol, memory_node, 1),
            queues: vec![VecDeque::new(); m.caches],
            stalled: vec![vec![VecDeque::new(); m.lines]; m.caches + 1],
            data: Vec::new(),
            golden: vec![0; m.lines],
            windows: vec![0; m.caches],
        }
    }

    pub fn state(&self, cache: usize, line: usize) -> SnoopState {
        state_of(&self.l1s[cache], &self.sides[cache], line as u64)
    }

    /// The candidate transitions of this state, bus moves first.
    pub fn actions(&self, m: &BusModel, buf: &mut Vec<BusAction>) {
        buf.clear();
        for (c, q) in self.queues.iter().enumerate() {
            if !q.is_empty() {
                buf.push(BusAction::Order { cache: c as u16 });
            }
        }
        for (i, msg) in self.data.iter().enumerate() {
            // An identical line earlier in the list leads to the same successor.
            if !self.data[..i].contains(msg) {
                buf.push(BusAction::Deliver { index: i as u16 });
            }
        }
        for c in 0..m.caches {
            if self.l1s[c].mshr.is_some() {
                continue;
            }
            for line in 0..m.lines as u8 {
                for &op in &m.accesses {
                    buf.push(BusAction::Access { core: c as u16, line, op });
                }
            }
        }
        for c in 0..m.caches {
            for line in 0..m.lines {
                let s = self.state(c, line);
                if s.is_stable() && s != SnoopState::I {
                    buf.push(BusAction::Evict { core: c as u16, line: line as u8 });
                }
            }
        }
    }

    /// Take one transition; `out` keeps the last controller's notes.
    pub fn apply(&mut self, m: &BusModel, action: BusAction, out: &mut Outbox) -> Result<Outcome, Fault> {
        out.clear();
        match action {
            BusAction::Access { core, line, op } => {
                let c = core as usize;
                let access = Access { addr: line as u64 * LINE_BYTES, op };
                // A hit takes the engine's fast path (`BusSimulator::core_turn`).
                let outcome = match self.l1s[c].hit_frame(access.addr, op.writes()) {
                    Some(idx) => {
                        let (loaded, stored) = self.l1s[c].hit_at(idx, access);
                        let addr = access.addr;
                        out.notes.push(Note::Performed { core, addr, op, loaded, stored, windowed: false });
                        AccessOutcome::Hit(loaded)
                    }
                    None => {
                        let mut cache = SnoopCache { l1: &mut self.l1s[c], side: &mut self.sides[c] };
                        cache.access(access, out).map_err(protocol_fault)?
                    }
                };
                match outcome {
                    AccessOutcome::Blocked => return Ok(Outcome::Disabled),
                    AccessOutcome::Hit(_) if !op.writes() => {
                        self.observe(out)?;
                        return Ok(Outcome::Unchanged);
                    }
                    AccessOutcome::Hit(_) => {}
                    AccessOutcome::Miss if !op.writes() => self.windows[c] = 1 << self.golden[line as usize],
                    AccessOutcome::Miss => {}
                }
                self.observe(out)?;
                self.route(core as NodeId, out);
            }
            BusAction::Evict { core, line } => {
                let c = core as usize;
                let mut cache = SnoopCache { l1: &mut self.l1s[c], side: &mut self.sides[c] };
                if cache.evict(line as u64, out).map_err(protocol_fault)? == Handled::Stalled {
                    return Ok(Outcome::Disabled);
                }
                self.observe(out)?;
                self.route(core, out);
            }
            BusAction::Order { cache } => {
                let mut req = self.queues[cache as usize].pop_front().expect("an Order action needs a request");
                let line = req.line as usize;
                // The wired-OR shared line, sampled at the order point.
                let shared = (0..m.caches).filter(|&c| c != cache as usize).any(|c| self.state(c, line).shares());
                req.exclusive = !shared;
                for node in 0..=m.caches {
                    let mut copy = req.clone();
                    copy.dst = node as NodeId;
                    self.deliver(m, copy, out)?;
                }
            }
            BusAction::Deliver { index } => {
                let msg = self.data.remove(index as usize);
                self.deliver(m, msg, out)?;
            }
        }
        self.poison_waiting(m);
        Ok(Outcome::Changed)
    }

    /// A request or a line to one controller, through its snoop queue for the
    /// line, as `BusSimulator::deliver` does it.
    fn deliver(&mut self, m: &BusModel, msg: Msg, out: &mut Outbox) -> Result<(), Fault> {
        let (node, line) = (msg.dst as usize, msg.line as usize);
        if msg.kind != MsgKind::Data && !self.stalled[node][line].is_empty() {
            self.stalled[node][line].push_back(msg);
            return Ok(());
        }
        if self.handle(m, &msg, out)? == Handled::Stalled {
            self.stalled[node][line].push_back(msg);
            return Ok(());
        }
        while let Some(next) = self.stalled[node][line].pop_front() {
            if self.handle(m, &next, out)? == Handled::Stalled {
                self.stalled[node][line].push_front(next);
                break;
            }
        }
        Ok(())
    }

    fn handle(&mut self, m: &BusModel, msg: &Msg, out: &mut Outbox) -> Result<Handled, Fault> {
        out.clear();
        let dst = msg.dst as usize;
        let r = if dst < m.caches {
            SnoopCache { l1: &mut self.l1s[dst], side: &mut self.sides[dst] }.handle(msg, out)
        } else {
            self.memory.handle(msg, out)
        };
        if r.map_err(protocol_fault)? == Handled::Done {
            self.observe(out)?;
            self.route(msg.dst, out);
            return Ok(Handled::Done);
        }
        Ok(Handled::Stalled)
    }

    /// What a controller sent: requests to its address-bus queue, lines to the
    /// data bus.
    fn route(&mut self, node: NodeId, out: &mut Outbox) {
        for msg in out.msgs.drain(..) {
            if msg.kind == MsgKind::Data {
                self.data.push(msg);
            } else {
                self.queues[node as usize].push_back(msg);
            }
        }
    }

    /// Frames waiting for their data hold the poison word (see `state::POISON`).
    fn poison_waiting(&mut self, m: &BusModel) {
        use SnoopState::*;
        for c in 0..m.caches {
            for line in 0..m.lines {
                if matches!(self.state(c, line), IS_AD | IS_D | IS_D_I | IE_D | IM_AD | IM_D)
                    && let Some(idx) = self.l1s[c].array.find(line as u64)
                {
                    self.l1s[c].array.data_mut(idx)[0] = POISON as u64;
                }
            }
        }
    }

    /// The observer, the directory checker's (`state::observe_performed`).
    fn observe(&mut self, out: &Outbox) -> Result<(), Fault> {
        observe_performed(&mut self.golden, &mut self.windows, &self.l1s, out)
    }

    /// SWMR and the data value of every readable copy, on every line.
    pub fn check_invariants(&self, m: &BusModel) -> Result<(), Fault> {
        for line in 0..m.lines {
            let l = line as u64;
            check_swmr(l, &self.l1s)
                .map_err(|what| Fault { kind: ViolationKind::Swmr, detail: format!("line {line}: {what}") })?;
            let g = self.golden[line] as u64;
            for (c, l1) in self.l1s.iter().enumerate() {
                if !l1.state_of(l).can_read() {
                    continue;
                }
                let Some(data) = l1.data_of(l) else { continue };
                if data[0] != g {
                    return Err(Fault {
                        kind: ViolationKind::DataValue,
                        detail: format!(
                            "data value violated: core {c} holds {} at {:#x} in {}, the last store performed wrote {g}",
                            word_name(data[0]),
                            l * LINE_BYTES,
                            self.state(c, line).name()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Work is under way: a request waiting for the bus or stalled, a line on
    /// the data bus, a miss outstanding, a transient state anywhere.
    pub fn pending(&self, m: &BusModel) -> bool {
        self.queues.iter().any(|q| !q.is_empty())
            || !self.data.is_empty()
            || self.stalled.iter().flatten().any(|q| !q.is_empty())
            || self.l1s.iter().any(|l1| l1.mshr.is_some() || !l1.wb.is_empty())
            || (0..m.caches).any(|c| (0..m.lines).any(|l| !self.state(c, l).is_stable()))
            || self.memory.lines.values().any(|l| l.state == MemState::IorS_D)
    }

    /// A readable dump of the state, for the end of a chart.
    pub fn describe(&self, m: &BusModel) -> String {
        let mut s = String::new();
        for c in 0..m.caches {
            let lines: Vec<String> = (0..m.lines)
                .map(|l| {
                    let st = self.state(c, l);
                    match self.l1s[c].data_of(l as u64) {
                        Some(d) if st != SnoopState::I => format!("line {l}: {} ={}", st.name(), word_name(d[0])),
                        _ => format!("line {l}: {}", st.name()),
                    }
                })
                .collect();
            let mshr = self.l1s[c]
                .mshr
                .as_ref()
                .map_or("idle".to_string(), |x| format!("MSHR {:?} line {}", x.access.op, x.line));
            let queue: Vec<String> =
                self.queues[c].iter().map(|q| format!("{} line {}", q.kind.name(), q.line)).collect();
            s += &format!("    L1[{c}]: {}; {mshr}; waiting for the bus: [{}]\n", lines.join(", "), queue.join(", "));
        }
        for l in 0..m.lines {
            let (state, owner, word) = match self.memory.lines.get(&(l as u64)) {
                Some(x) => (x.state, x.owner, x.data[0]),
                None => (MemState::IorS, 0, 0),
            };
            let owner = if state == MemState::M { format!(" owner L1[{owner}]") } else { String::new() };
            let state = state.name();
            s += &format!("    Mem line {l}: {state}{owner} ={}; golden ={}\n", word_name(word), self.golden[l]);
        }
        for (node, lines) in self.stalled.iter().enumerate() {
            for (l, q) in lines.iter().enumerate() {
                for msg in q {
                    s +=
                        &format!("    stalled at {} line {l}: {}\n", m.node_name(node as NodeId), describe_msg(m, msg));
                }
            }
        }
        for msg in &self.data {
            s += &format!("    on the data bus: {}\n", describe_msg(m, msg));
        }
        s
    }
}

/// `Data[=1 dirty] L1[0] → Mem` or `GetM(unshared) line 0 from L1[1]`.
pub(crate) fn describe_msg(m: &BusModel, msg: &Msg) -> String {
    if msg.kind != MsgKind::Data {
        let shared = if msg.exclusive { " (shared line quiet)" } else { "" };
        return format!("{}{shared} line {} from {}", msg.kind.name(), msg.line, m.node_name(msg.src));
    }
    let mut attrs = Vec::new();
    if let Some(d) = &msg.data {
        attrs.push(format!("={}", word_name(d[0])));
    }
    if msg.exclusive {
        attrs.push("excl".to_string());
    }
    if msg.dirty {
        attrs.push("dirty".to_string());
    }
    format!("Data[{}] line {} {} → {}", attrs.join(" "), msg.line, m.node_name(msg.src), m.node_name(msg.dst))
}
