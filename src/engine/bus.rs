//! The timed world of the snooping bus (`network.interconnect = "bus"`): cores,
//! snooping caches (`model::snoop`), the bus (`model::bus`) and memory, driven
//! event by event at cycle granularity.
//!
//! Events in one `(cycle, seq)` order: a core's turn, an arbitration of the
//! address bus, a line ready for the data bus, a line arriving. At an
//! arbitration the winning request is **ordered**: in that one event every cache
//! (its requester included) and then memory take it, in that order; the bus's
//! *shared* line is sampled first from every other cache's state. A controller
//! that stalls a request keeps it in its per-line snoop queue, offered again
//! whenever data for that line reaches it; data is never queued behind requests.
//!
//! Time is charged as on the network: `l1.hit_latency` per hit and before a miss
//! leaves for the bus, the same for a cache's snoop lookup before it supplies
//! data, DRAM latency and occupancy (`MemoryChannel`) for memory's data, and the
//! bus's occupancies. A core takes hits only while it is the earliest thing in the
//! system, so every access happens in simulated-time order (no running ahead).

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::counters::{CoreStats, Stats};
use super::observe::{Hit, Observer, Observers, View};
use super::queue::EventQueue;
use super::{Frontend, RunOptions, SimError, Step};
use crate::config::SystemConfig;
use crate::model::bus::Bus;
use crate::model::l1::{AccessOutcome, L1Controller, L1Spec};
use crate::model::network::{Cycle, MemoryChannel};
use crate::model::snoop::{SnoopCache, SnoopMemory, SnoopSide, state_of};
use crate::model::{Access, Handled, LineAddr, MemOp, Msg, MsgKind, NodeId, Note, Outbox, Primitive, ProtocolError};

#[derive(Clone, Debug)]
enum Ev {
    Core(u16),
    Arbitrate,
    /// Lines ready for the data bus: one transfer, one receiver per message.
    Transfer(SmallVec<[Msg; 2]>),
    Deliver(Msg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ready,
    Waiting(Cycle),
    Blocked(Cycle),
    Done,
}

#[derive(Clone, Debug)]
struct Core {
    time: Cycle,
    status: Status,
    deferred: Option<Access>,
}

/// A machine whose caches snoop one bus.
pub struct BusSimulator<O: Observer = Observers> {
    pub cfg: SystemConfig,
    /// The caches' storage (what observers read through `View`).
    pub l1s: Vec<L1Controller>,
    pub sides: Vec<SnoopSide>,
    pub memory: SnoopMemory,
    pub bus: Bus,
    mem: MemoryChannel,
    events: EventQueue<Ev>,
    seq: u64,
    /// The earliest arbitration already in the queue.
    arbitration: Option<Cycle>,
    cores: Vec<Core>,
    pub stats: Stats,
    observer: O,
    watched: bool,
    line_checks: bool,
    stalled: FxHashMap<(NodeId, LineAddr), VecDeque<Msg>>,
    completions: Vec<(usize, u64)>,
    outbox: Outbox,
    now: Cycle,
    max_cycles: Cycle,
    /// An ordered request is being handed to every controller.
    broadcasting: bool,
    /// Stress testing: a random delay (at most `RunOptions::jitter` cycles)
    /// added to when each request is ready for the bus and each line for the
    /// data bus, so requests and data meet in ever other orders.
    jitter: Option<(Cycle, crate::rng::SplitMix64)>,
}

impl BusSimulator<Observers> {
    pub fn new(cfg: SystemConfig, opts: RunOptions) -> Self {
        BusSimulator::with_observer(cfg, opts, Vec::new())
    }

    pub fn observe(&mut self, observer: Box<dyn Observer>) {
        self.watched |= observer.watches();
        self.line_checks |= observer.checks_lines();
        self.observer.push(observer);
    }
}

impl<O: Observer> BusSimulator<O> {
    pub fn with_observer(cfg: SystemConfig, opts: RunOptions, observer: O) -> Self {
        let n = cfg.cores;
        let memory_node = n as NodeId;
        let geometry = cfg.geometry();
        // The same caches as the network's (`Simulator::with_observer`): the same
        // geometry, policy and seed, so one core hits and misses identically.
        let l1s = (0..n)
            .map(|c| {
                let spec = L1Spec {
                    core: c as u16,
                    protocol: cfg.protocol,
                    geometry,
                    policy: cfg.l1.replacement,
                    silent_evict: true,
                    wb_entries: cfg.l1.writeback_entries,
                    first_dir: memory_node,
                    dir_slices: 1,
                    imprecise_dir: false,
                    mutation: None,
                };
                L1Controller::new(spec, cfg.seed)
            })
            .collect();
        let sides = (0..n).map(|c| SnoopSide::new(c as u16, cfg.protocol, memory_node, opts.mutation)).collect();
        let occupancy = (cfg.l1.line as u64).div_ceil(cfg.memory.bytes_per_cycle as u64);
        BusSimulator {
            l1s,
            sides,
            memory: SnoopMemory::new(cfg.protocol, memory_node, geometry.words()),
            bus: Bus::new(n, cfg.bus.address_cycles, cfg.bus.data_cycles(cfg.l1.line)),
            mem: MemoryChannel::new(cfg.memory.latency, occupancy),
            events: EventQueue::new(),
            seq: 0,
            arbitration: None,
            cores: vec![Core { time: 0, status: Status::Done, deferred: None }; n],
            stats: Stats::new(n),
            watched: observer.watches(),
            line_checks: observer.checks_lines(),
            observer,
            stalled: FxHashMap::default(),
            completions: Vec::new(),
            outbox: Outbox::default(),
            now: 0,
            max_cycles: opts.max_cycles.unwrap_or(Cycle::MAX),
            broadcasting: false,
            jitter: opts.jitter.map(|max| (max, crate::rng::SplitMix64::new(cfg.seed ^ 0x005E_ED0F_B005))),
            cfg,
        }
    }

    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    fn push(&mut self, at: Cycle, ev: Ev) {
        self.seq += 1;
        self.events.push(at, self.seq, ev);
    }

    /// Run until every core is done; statistics are final afterwards.
    pub fn run<F: Frontend + ?Sized>(&mut self, fe: &mut F) -> Result<(), SimError> {
        for c in 0..self.cores.len() {
            if self.cores[c].status == Status::Done {
                self.cores[c].status = Status::Ready;
                let t = self.cores[c].time;
                self.push(t, Ev::Core(c as u16));
            }
        }
        let mut events = 0u32;
        while let Some((t, ev)) = self.events.pop() {
            if t > self.max_cycles && self.cores.iter().any(|c| c.status != Status::Done) {
                return Err(SimError::CycleLimit { limit: self.max_cycles, report: self.report() });
            }
            self.now = self.now.max(t);
            match ev {
                Ev::Core(c) => self.core_turn(c as usize, fe)?,
                Ev::Arbitrate => self.arbitrate()?,
                Ev::Transfer(msgs) => {
                    let arrival = self.bus.transfer(self.now);
                    for m in msgs {
                        self.push(arrival, Ev::Deliver(m));
                    }
                }
                Ev::Deliver(m) => self.deliver(m)?,
            }
            for (c, v) in self.completions.drain(..) {
                fe.completed(c, v);
            }
            events += 1;
            if events.is_multiple_of(1024) {
                self.watchdog()?;
            }
        }
        if let Some(c) = self.cores.iter().position(|c| c.status != Status::Done) {
            return Err(SimError::Watchdog {
                cycle: self.now,
                what: format!("deadlock: nothing left to happen but core {c} has not finished"),
                report: self.report(),
            });
        }
        self.finish();
        Ok(())
    }

    /// Core `c`'s turn: its steps while they hit and it stays the earliest thing
    /// in the system, then its miss.
    fn core_turn<F: Frontend + ?Sized>(&mut self, c: usize, fe: &mut F) -> Result<(), SimError> {
        if self.cores[c].status != Status::Ready {
            return Ok(());
        }
        let hit_latency = self.cfg.l1.hit_latency;
        loop {
            let mut time = self.cores[c].time;
            let access = match self.cores[c].deferred.take() {
                Some(a) => a,
                None => match fe.next(c, time)? {
                    Step::Access { gap, access, .. } => {
                        time = time
                            .checked_add(gap)
                            .filter(|&t| t < super::MAX_TIME)
                            .ok_or(SimError::TimeOverflow { core: c, cycle: time, gap })?;
                        self.stats.cores[c].compute_cycles += gap;
                        access
                    }
                    Step::Compute(g) => {
                        self.cores[c].time = time.saturating_add(g);
                        self.stats.cores[c].compute_cycles += g;
                        continue;
                    }
                    Step::Fence => continue,
                    Step::Done => {
                        self.cores[c].status = Status::Done;
                        return Ok(());
                    }
                },
            };
            self.cores[c].time = time;
            // Something else comes first: take the access up then.
            if self.events.peek().is_some_and(|(t, _)| t < time) || time > self.max_cycles {
                self.cores[c].deferred = Some(access);
                self.push(time, Ev::Core(c as u16));
                return Ok(());
            }
            self.now = time;
            let l1 = &mut self.l1s[c];
            if let Some(idx) = l1.hit_frame(access.addr, access.op.writes()) {
                let (loaded, stored) = l1.hit_at(idx, access);
                let line = l1.line_of(access.addr);
                count_access(&mut self.stats.cores[c], access.op);
                self.stats.cores[c].hits += 1;
                if self.watched {
                    let hit = Hit {
                        core: c as u16,
                        addr: access.addr,
                        line,
                        op: access.op,
                        writes: stored.is_some(),
                        loaded,
                        stored,
                        reuse: crate::reuse::Reuse::UNKNOWN,
                        at: time,
                    };
                    if let Err(f) = self.observer.hit(&hit) {
                        return Err(self.violation(f.what, f.line));
                    }
                }
                fe.completed(c, loaded);
                self.cores[c].time = time + hit_latency;
                continue;
            }
            let line = self.l1s[c].line_of(access.addr);
            let before = state_of(&self.l1s[c], &self.sides[c], line);
            self.outbox.clear();
            let mut cache = SnoopCache { l1: &mut self.l1s[c], side: &mut self.sides[c] };
            let outcome = cache.access(access, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            match outcome {
                AccessOutcome::Hit(value) => {
                    count_access(&mut self.stats.cores[c], access.op);
                    self.stats.cores[c].hits += 1;
                    self.process_outbox(time, c as NodeId)?;
                    fe.completed(c, value);
                    self.cores[c].time = time + hit_latency;
                    continue;
                }
                AccessOutcome::Blocked => {
                    self.cores[c].deferred = Some(access);
                    self.cores[c].status = Status::Blocked(time);
                    self.process_outbox(time + hit_latency, c as NodeId)?;
                }
                AccessOutcome::Miss => {
                    let s = &mut self.stats.cores[c];
                    count_access(s, access.op);
                    if before.image().can_read() {
                        s.upgrades += 1;
                    } else {
                        s.misses += 1;
                        if access.op.writes() {
                            s.write_misses += 1;
                        } else {
                            s.read_misses += 1;
                        }
                    }
                    let reuse = crate::reuse::Reuse::UNKNOWN;
                    self.observer.issued(c as u16, access, !before.image().can_read(), reuse, time);
                    self.cores[c].status = Status::Waiting(time);
                    self.process_outbox(time + hit_latency, c as NodeId)?;
                }
            }
            return Ok(());
        }
    }

    /// The address bus's arbitration: the winner is ordered, every controller
    /// snoops it now.
    fn arbitrate(&mut self) -> Result<(), SimError> {
        if self.arbitration == Some(self.now) {
            self.arbitration = None;
        }
        if let Some(mut req) = self.bus.grant(self.now) {
            let line = req.line;
            // The wired-OR shared line, sampled at the order point.
            let shared = (0..self.l1s.len())
                .filter(|&c| c != req.src as usize)
                .any(|c| state_of(&self.l1s[c], &self.sides[c], line).shares());
            req.exclusive = !shared;
            if req.kind == MsgKind::GetM {
                // The S copies this GetM invalidates at its order point.
                let n = (0..self.l1s.len())
                    .filter(|&c| c != req.src as usize && state_of(&self.l1s[c], &self.sides[c], line).is_sharer())
                    .count() as u32;
                if n > 0 {
                    self.stats.invalidations += n as u64;
                    *self.stats.sharers_per_invalidation.entry(n).or_insert(0) += 1;
                }
            }
            req.tags = req.tags.with(Primitive::TokenCentral);
            self.stats.count_message(&req);
            self.observer.message(self.now, &req);
            // The order point is one instant: the line is checked once every
            // controller has taken the request, not between them.
            self.broadcasting = true;
            for c in 0..self.l1s.len() {
                let mut m = req.clone();
                m.dst = c as NodeId;
                self.deliver(m)?;
            }
            let mut m = req;
            m.dst = self.memory.node;
            self.deliver(m)?;
            self.broadcasting = false;
            self.check_line(line)?;
        }
        self.schedule_arbitration();
        Ok(())
    }

    fn schedule_arbitration(&mut self) {
        if let Some(at) = self.bus.next_grant() {
            let at = at.max(self.now);
            if self.arbitration.is_none_or(|s| at < s) {
                self.arbitration = Some(at);
                self.push(at, Ev::Arbitrate);
            }
        }
    }

    /// An ordered request or a line, to one controller; stalled requests wait in
    /// the (controller, line) snoop queue, in bus order.
    fn deliver(&mut self, msg: Msg) -> Result<(), SimError> {
        let key = (msg.dst, msg.line);
        let is_data = msg.kind == MsgKind::Data;
        if !is_data && self.stalled.get(&key).is_some_and(|q| !q.is_empty()) {
            self.stalled.get_mut(&key).expect("checked").push_back(msg);
            return Ok(());
        }
        if self.handle(&msg)? == Handled::Stalled {
            self.stalled.entry(key).or_default().push_back(msg);
            return Ok(());
        }
        // What was stalled for the line may go now, oldest first.
        while let Some(q) = self.stalled.get_mut(&key) {
            let Some(m) = q.pop_front() else {
                self.stalled.remove(&key);
                break;
            };
            if self.handle(&m)? == Handled::Stalled {
                self.stalled.get_mut(&key).expect("still there").push_front(m);
                break;
            }
        }
        Ok(())
    }

    fn handle(&mut self, msg: &Msg) -> Result<Handled, SimError> {
        let dst = msg.dst as usize;
        self.outbox.clear();
        if dst < self.l1s.len() {
            let mut cache = SnoopCache { l1: &mut self.l1s[dst], side: &mut self.sides[dst] };
            let r = cache.handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                return Ok(r);
            }
            // A snoop lookup (or a fill) takes the cache's access time.
            self.process_outbox(self.now + self.cfg.l1.hit_latency, msg.dst)?;
            if let Status::Blocked(since) = self.cores[dst].status {
                let core = &mut self.cores[dst];
                core.status = Status::Ready;
                core.time = core.time.max(self.now);
                self.stats.cores[dst].stall_cycles += self.now.saturating_sub(since);
                let at = core.time;
                self.push(at, Ev::Core(dst as u16));
            }
        } else {
            let r = self.memory.handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                return Ok(r);
            }
            self.process_outbox(self.now, msg.dst)?;
        }
        if !self.broadcasting {
            self.check_line(msg.line)?;
        }
        Ok(Handled::Done)
    }

    fn check_line(&mut self, line: LineAddr) -> Result<(), SimError> {
        if self.line_checks {
            let view = View { l1s: &self.l1s, line_bytes: self.cfg.l1.line as u64 };
            if let Err(f) = self.observer.after_input(line, view) {
                return Err(self.violation(f.what, f.line));
            }
        }
        Ok(())
    }

    /// What a controller produced: notes to the observers and statistics,
    /// requests to the bus, lines to the data bus. `at` is when they leave it.
    fn process_outbox(&mut self, at: Cycle, node: NodeId) -> Result<(), SimError> {
        let notes = std::mem::take(&mut self.outbox.notes);
        if self.watched {
            let view = View { l1s: &self.l1s, line_bytes: self.cfg.l1.line as u64 };
            if let Err(f) = self.observer.notes(self.now, &notes, view) {
                return Err(self.violation(f.what, f.line));
            }
        }
        for note in &notes {
            match *note {
                Note::Completed { core, value } => {
                    let c = core as usize;
                    if let Status::Waiting(since) = self.cores[c].status {
                        self.stats.cores[c].stall_cycles += self.now - since;
                    }
                    self.cores[c].time = self.now;
                    self.cores[c].status = Status::Ready;
                    self.completions.push((c, value));
                    self.push(self.now, Ev::Core(core));
                }
                Note::SilentDrop { .. } => {
                    self.stats.silent_drops += 1;
                    self.stats.primitives[Primitive::SilentWithdrawal as usize] += 1;
                }
                Note::MemRead { .. } => self.stats.mem_reads += 1,
                Note::MemWrite { .. } => {
                    self.stats.mem_writes += 1;
                    self.mem.write(at);
                }
                Note::Writeback { .. } => self.stats.writebacks += 1,
                _ => {}
            }
        }
        let at = at + self.jitter();
        let mut msgs = std::mem::take(&mut self.outbox.msgs);
        let mut transfer: SmallVec<[Msg; 2]> = SmallVec::new();
        for msg in msgs.drain(..) {
            if msg.kind == MsgKind::Data {
                self.stats.count_message(&msg);
                self.observer.message(self.now, &msg);
                transfer.push(msg);
            } else {
                // A request waits for the address bus (counted when granted).
                self.bus.request(node as usize, at, msg);
                self.schedule_arbitration();
            }
        }
        if !transfer.is_empty() {
            let ready = if transfer[0].from_memory { self.mem.read(at) } else { at };
            self.push(ready, Ev::Transfer(transfer));
        }
        self.outbox.msgs = msgs;
        Ok(())
    }

    fn jitter(&mut self) -> Cycle {
        match &mut self.jitter {
            Some((max, rng)) => rng.below(*max + 1),
            None => 0,
        }
    }

    fn watchdog(&self) -> Result<(), SimError> {
        for (c, core) in self.cores.iter().enumerate() {
            if let Status::Waiting(since) = core.status
                && self.now - since > self.cfg.watchdog_cycles
            {
                return Err(SimError::Watchdog {
                    cycle: self.now,
                    what: format!("core {c} has waited since cycle {since} for its miss"),
                    report: self.report(),
                });
            }
        }
        Ok(())
    }

    /// Every cache's transient lines, memory's waiting lines and the queues.
    fn report(&self) -> String {
        let mut out = String::new();
        for (c, core) in self.cores.iter().enumerate() {
            out += &format!("core {c}: {:?} at cycle {}\n", core.status, core.time);
        }
        for (c, l1) in self.l1s.iter().enumerate() {
            for (line, _) in l1.transients() {
                out += &format!("  L1[{c}] line {line:#x}: {}\n", state_of(l1, &self.sides[c], line).name());
            }
        }
        for (line, m) in &self.memory.lines {
            if m.state != crate::protocol::snoop_table::MemState::IorS {
                out += &format!("  memory line {line:#x}: {} (owner {})\n", m.state.name(), m.owner);
            }
        }
        for ((node, line), q) in &self.stalled {
            if !q.is_empty() {
                out += &format!("  node {node} line {line:#x}: {} stalled request(s)\n", q.len());
            }
        }
        out += &format!("  {} request(s) waiting for the address bus\n", self.bus.waiting());
        out
    }

    fn line_report(&self, line: LineAddr) -> String {
        let mut out = String::new();
        for (c, l1) in self.l1s.iter().enumerate() {
            out += &format!("  L1[{c}]: {}\n", state_of(l1, &self.sides[c], line).name());
        }
        out += &format!("  memory: {}\n", self.memory.state_of(line).name());
        for h in self.observer.history(line) {
            out += &format!("  {h}\n");
        }
        out
    }

    fn protocol_error(&self, error: ProtocolError) -> SimError {
        let report = self.line_report(error.line);
        SimError::Protocol { cycle: self.now, error, report }
    }

    fn violation(&self, what: String, line: LineAddr) -> SimError {
        SimError::Invariant { cycle: self.now, what, report: self.line_report(line) }
    }

    fn finish(&mut self) {
        self.stats.cycles = self.cores.iter().map(|c| c.time).max().unwrap_or(0);
        self.stats.network_queueing_cycles = self.bus.address_wait + self.bus.data_wait;
        self.stats.memory_queueing_cycles = self.mem.queueing_cycles;
        let mut dirty = 0;
        for l1 in &self.l1s {
            dirty += l1.array.valid_frames().filter(|(_, f)| f.dirty).count() as u64;
            dirty += l1.wb.iter().filter(|e| e.dirty).count() as u64;
        }
        self.stats.dirty_at_end = dirty;
        self.observer.finish(&mut self.stats);
    }
}

fn count_access(s: &mut CoreStats, op: MemOp) {
    match op {
        MemOp::Load => s.loads += 1,
        MemOp::Store(_) => s.stores += 1,
        _ => s.atomics += 1,
    }
}
