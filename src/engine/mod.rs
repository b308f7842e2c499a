//! The timed world: an event-driven simulation of cores, L1s, the network,
//! directory slices and memory channels, at cycle granularity.
//!
//! Queues drive it: in-flight messages (to L1s and to directories, sharing one
//! `(cycle, seq)` order) and cores ready to issue, by `(cycle, core index)`. The
//! earliest event runs next; within a cycle messages come before cores. `--exact`
//! takes events strictly in that order; by default a core runs its L1 hits ahead
//! of other cores' clocks, exactly (see `ahead`).
//!
//! Controllers are pure; this module charges time for what they do: the L1's access
//! latency, the directory port (one input per cycle, then `directory.latency`), the
//! DRAM channel (latency plus occupancy per line) and the network (see
//! `model::network`). Inputs a controller stalls wait in a per-(node, line) queue
//! and are offered again whenever that node handles something for the line.
//!
//! This file owns the machine's state (`Simulator`) and its event queues; the
//! jobs are in files of their own:
//!
//! - `frontend`: the seam to what drives the cores (traces, programs, testers);
//! - `run`: the event loop, and each core's turn (its hits on the fast path, then
//!   its miss);
//! - `ahead`: how far a core may run on hits ahead of the others, and why that is
//!   exact;
//! - `dispatch`: messages into controllers, their outputs onto the network and to
//!   the observers;
//! - `diagnostics`: the watchdog, stuck and line reports, checks on demand;
//! - `queue`: the event queues.

mod ahead;
pub mod bus;
pub mod counters;
mod diagnostics;
mod dispatch;
mod frontend;
pub mod observe;
pub mod queue;
mod run;
#[cfg(test)]
mod tests;

pub use frontend::{Ahead, Frontend, FrontendError, Plain, Step};
pub use run::MAX_TIME;

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::config::SystemConfig;
use crate::model::directory::{DirSpec, Directory};
use crate::model::l1::{AccessOutcome, L1Controller, L1Spec};
use crate::model::network::{Cycle, Jitter, MemoryChannel, Network, NetworkSpec};
use crate::model::{
    Access, Handled, LineAddr, MemOp, Msg, MsgKind, NodeId, Note, Outbox, Primitive, ProtocolError, Vnet,
};
use crate::protocol::l1_table::{self, Reach, narrows_hits};
use crate::reuse::Reuse;
use ahead::{FILLED, Frames, Scan};
use counters::{CoreStats, Stats};
use observe::{Finding, Hit, Observer, Observers, View};
use queue::{EventQueue, MinTree};

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cycle {cycle}: protocol error: {error}\n{report}")]
    Protocol { cycle: Cycle, error: ProtocolError, report: String },
    #[error("cycle {cycle}: invariant violated: {what}\n{report}")]
    Invariant { cycle: Cycle, what: String, report: String },
    #[error("cycle {cycle}: {what}\n{report}")]
    Watchdog { cycle: Cycle, what: String, report: String },
    #[error("{0}")]
    Frontend(#[from] FrontendError),
    /// A core's compute cycles would take simulated time past [`MAX_TIME`].
    #[error("core {core} at cycle {cycle}: {gap} compute cycles would take simulated time past 2^53 cycles")]
    TimeOverflow { core: usize, cycle: Cycle, gap: Cycle },
    /// The run reached `RunOptions::max_cycles` before every core finished.
    #[error("stopped at the cycle limit ({limit}): the cores are still running\n{report}")]
    CycleLimit { limit: Cycle, report: String },
    /// `check_all` with no observer that checks lines.
    #[error("check_all: no observer that checks lines is attached")]
    NothingChecks,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CoreStatus {
    Ready,
    /// A miss is outstanding since this cycle.
    Waiting(Cycle),
    /// The L1 could not take the access; retry when it handles a message.
    Blocked(Cycle),
    Done,
}

#[derive(Clone, Debug)]
struct CoreCtx {
    time: Cycle,
    status: CoreStatus,
    /// An access fetched from the front end but not yet issued.
    deferred: Option<(Access, Reuse)>,
    /// Steps fetched from the front end in this run.
    taken: u64,
    /// How far the core's future is known to hit in its cache as it is now.
    scan: Scan,
    /// The frame each access the scan found to hit will hit in, in order: taking
    /// those hits needs no second lookup. [`FILLED`] stands for the frame the
    /// outstanding miss fills.
    known: Frames,
    /// How many more runs to stop at the next event (as `--exact` does) without
    /// working out how far the core may run ahead, since lately that bought it
    /// no hit past the next event; and the log2 of how many runs it skips the
    /// next time running ahead does not pay.
    skip_ahead: u8,
    ahead_backoff: u8,
}

/// Options that are not part of the machine.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Random delay (cycles, at most) added to every message: stress testing.
    pub jitter: Option<Cycle>,
    /// A deliberate protocol bug (mutation testing).
    pub mutation: Option<crate::model::Mutation>,
    /// No running ahead on hits (slower; results are identical by design).
    pub exact: bool,
    /// Stop the run with `SimError::CycleLimit` once simulated time would pass
    /// this cycle (a core spinning on hits can only be stopped so).
    pub max_cycles: Option<Cycle>,
    /// Work out how far each core may run ahead on every run, even for cores
    /// it has not been helping (tests: the same results, more running ahead).
    pub always_ahead: bool,
}

pub struct Simulator<O: Observer = Observers> {
    pub cfg: SystemConfig,
    pub l1s: Vec<L1Controller>,
    pub dirs: Vec<Directory>,
    net: Network,
    mem: Vec<MemoryChannel>,
    dir_free: Vec<Cycle>,
    /// Messages to inject into the network (`true`) or to deliver (`false`): those
    /// addressed to L1s, and those addressed to directories. Both share `seq`, so
    /// together they keep one (cycle, seq) order.
    to_l1: EventQueue<(Msg, bool)>,
    to_dir: EventQueue<(Msg, bool)>,
    ready: EventQueue<u16>,
    seq: u64,
    cores: Vec<CoreCtx>,
    pub stats: Stats,
    /// What watches the run (see `observe`).
    observer: O,
    /// The observer watches anything (see `Observer::watches`).
    watched: bool,
    /// Some observer sees every access (no fast path for plain hits).
    every_access: bool,
    /// Some observer checks lines after inputs.
    line_checks: bool,
    /// Accesses completed by the last event, for the front end (core, value).
    completions: Vec<(usize, u64)>,
    /// `RunOptions::max_cycles`, or `Cycle::MAX`.
    max_cycles: Cycle,
    stalled: FxHashMap<(NodeId, LineAddr), VecDeque<Msg>>,
    /// Per core: inputs its L1 has stalled (any of them may be retried, and
    /// answered, at any delivery to it).
    stalled_at_l1: Vec<u32>,
    outbox: Outbox,
    now: Cycle,
    lookahead: Cycle,
    /// A directory input for one line may send messages about another (a sparse
    /// directory's recall): run-ahead must not assume a core is safe from an
    /// input about a line it does not hold.
    cross_line_dir: bool,
    /// The least time from a directory taking an input to a delivery at an L1:
    /// the directory's latency plus the shortest network traversal.
    dir_reach: Cycle,
    /// The least time from any controller taking an input to a delivery at an L1.
    message_lookahead: Cycle,
    min_link: Cycle,
    /// Take events strictly one at a time (no running ahead on hits): for tests
    /// that show running ahead changes nothing.
    exact: bool,
    /// Never back off from running ahead (see `judge_ahead`).
    always_ahead: bool,
    /// Per message kind: what it can make an L1 do (`l1_table::reach`).
    reach: [Reach; MsgKind::ALL.len()],
    /// Per core: the earliest delivery time of each message addressed to its L1.
    pending_to: Vec<smallvec::SmallVec<[(Cycle, MsgKind); 4]>>,
    /// Per core: the earliest cycle its L1 may send a directory anything (see
    /// `act_bound`), kept for cores in `stale_acts` to be worked out again.
    acts: MinTree,
    stale_acts: Vec<u16>,
    is_stale: Vec<bool>,
    line_bytes: u64,
    events_since_watchdog: u32,
}

impl Simulator<Observers> {
    /// A simulator with no observer yet; attach them with [`Simulator::observe`].
    pub fn new(cfg: SystemConfig, opts: RunOptions) -> Self {
        Simulator::with_observer(cfg, opts, Vec::new())
    }

    /// Attaches an observer (the invariant checker, the miss classifier, ...):
    /// from now on it is told of every event (see `observe`).
    pub fn observe(&mut self, observer: Box<dyn Observer>) {
        self.watched |= observer.watches();
        self.every_access |= observer.sees_every_access();
        self.line_checks |= observer.checks_lines();
        self.observer.push(observer);
    }
}

impl<O: Observer> Simulator<O> {
    /// What watches the run.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// What watches the run, to take what it gathered once the run is over.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// A simulator watched by `observer`, known by type (its calls can be
    /// inlined: a replay's hot path uses this); `()` watches nothing.
    pub fn with_observer(cfg: SystemConfig, opts: RunOptions, observer: O) -> Self {
        let n = cfg.cores;
        let slices = cfg.directory.slices;
        let geometry = cfg.geometry();
        let l1s = (0..n)
            .map(|c| {
                L1Controller::new(
                    L1Spec {
                        core: c as u16,
                        protocol: cfg.protocol,
                        geometry,
                        policy: cfg.l1.replacement,
                        silent_evict: cfg.l1.silent_evict,
                        imprecise_dir: cfg.directory.organisation.imprecise(),
                        wb_entries: cfg.l1.writeback_entries,
                        first_dir: n as NodeId,
                        dir_slices: slices as u16,
                        mutation: opts.mutation,
                    },
                    cfg.seed,
                )
            })
            .collect();
        let dirs = (0..slices)
            .map(|s| {
                Directory::new(DirSpec {
                    protocol: cfg.protocol,
                    slice: s as u16,
                    node: (n + s) as NodeId,
                    words: geometry.words(),
                    cores: n,
                    mutation: opts.mutation,
                    organisation: cfg.directory.organisation,
                    slices: slices as u16,
                })
            })
            .collect();
        let spec = NetworkSpec {
            topology: cfg.network.topology,
            cores: n,
            dir_slices: slices,
            hop_latency: cfg.network.hop_latency,
            link_bytes: cfg.network.link_bytes,
            local_latency: cfg.network.local_latency,
        };
        let jitter = opts.jitter.map(|max| Jitter::new(max, cfg.seed ^ 0x005E_ED0F_C0DE));
        let min_link = spec.min_link();
        // What each message kind can make an L1 do, from the protocol's tables.
        let reach = MsgKind::ALL.map(|k| l1_table::reach(cfg.protocol, k.l1_events()));
        let occupancy = (cfg.l1.line as u64).div_ceil(cfg.memory.bytes_per_cycle as u64);
        Simulator {
            l1s,
            dirs,
            net: Network::new(spec, jitter),
            mem: (0..slices).map(|_| MemoryChannel::new(cfg.memory.latency, occupancy)).collect(),
            dir_free: vec![0; slices],
            to_l1: EventQueue::new(),
            to_dir: EventQueue::new(),
            ready: EventQueue::new(),
            seq: 0,
            cores: vec![
                CoreCtx {
                    time: 0,
                    status: CoreStatus::Done,
                    deferred: None,
                    taken: 0,
                    scan: Scan::default(),
                    known: Frames::default(),
                    skip_ahead: 0,
                    ahead_backoff: 0,
                };
                n
            ],
            stats: Stats {
                organisation: cfg.directory.organisation.to_string(),
                sharer_bits_per_line: cfg.directory.organisation.sharer_bits(n) as u64,
                ..Stats::new(n)
            },
            watched: observer.watches(),
            every_access: observer.sees_every_access(),
            line_checks: observer.checks_lines(),
            completions: Vec::new(),
            max_cycles: opts.max_cycles.unwrap_or(Cycle::MAX),
            observer,
            stalled: FxHashMap::default(),
            stalled_at_l1: vec![0; n],
            outbox: Outbox::default(),
            now: 0,
            lookahead: cfg.l1.hit_latency + cfg.directory.latency + 2 * min_link,
            cross_line_dir: cfg.directory.organisation.sets().is_some(),
            dir_reach: cfg.directory.latency + min_link,
            message_lookahead: cfg.l1.hit_latency.min(cfg.directory.latency) + min_link,
            min_link,
            reach,
            exact: opts.exact,
            always_ahead: opts.always_ahead,
            pending_to: vec![smallvec::SmallVec::new(); n],
            acts: MinTree::new(n),
            stale_acts: Vec::with_capacity(n),
            is_stale: vec![false; n],
            line_bytes: cfg.l1.line as u64,
            events_since_watchdog: 0,
            cfg,
        }
    }

    /// Ready cores leave in (cycle, core index) order, whatever the order they were
    /// scheduled in, so how often a core yields never changes a run.
    fn schedule_core(&mut self, core: usize, at: Cycle) {
        self.ready.push(at, core as u64, core as u16);
        self.stale(core);
    }

    /// The core is not Ready: its next miss waits for a message (or never comes).
    fn unready(&mut self, core: usize) {
        self.cores[core].forget_scan();
        self.stale(core);
    }

    /// The core's `acts` entry must be worked out again before it is used.
    #[inline]
    fn stale(&mut self, core: usize) {
        if !self.is_stale[core] {
            self.is_stale[core] = true;
            self.stale_acts.push(core as u16);
        }
    }

    fn schedule_msg(&mut self, msg: Msg, at: Cycle, inject: bool) {
        self.seq += 1;
        if (msg.dst as usize) < self.cores.len() {
            // The earliest it can reach the L1: now if it is being delivered, one
            // network latency after it leaves if it is still to be injected.
            self.pending_to[msg.dst as usize].push((if inject { at + self.min_link } else { at }, msg.kind));
            self.stale(msg.dst as usize);
        }
        if (msg.dst as usize) < self.cores.len() {
            self.to_l1.push(at, self.seq, (msg, inject));
        } else {
            self.to_dir.push(at, self.seq, (msg, inject));
        }
    }

    fn unpend(&mut self, msg: &Msg, at: Cycle, inject: bool) {
        if let Some(list) = self.pending_to.get_mut(msg.dst as usize) {
            let key = (if inject { at + self.min_link } else { at }, msg.kind);
            let i = list.iter().position(|&x| x == key).expect("a scheduled message is pending");
            list.swap_remove(i);
            self.stale(msg.dst as usize);
        }
    }

    /// The key of the earliest message event.
    #[inline]
    fn next_msg(&self) -> Option<(Cycle, u64)> {
        match (self.to_l1.peek(), self.to_dir.peek()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn now(&self) -> Cycle {
        self.now
    }
}
