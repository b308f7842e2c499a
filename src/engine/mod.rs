//! The timed world: an event-driven simulation of cores, L1s, the network,
//! directory slices and memory channels, at cycle granularity.
//!
//! Queues drive it: in-flight messages (to L1s and to directories, sharing one
//! `(cycle, seq)` order) and cores ready to issue, by `(cycle, core index)`. The
//! earliest event runs next; within a cycle messages come before cores. `--exact`
//! takes events strictly in that order. By default a core runs its L1 hits on the
//! fast path (no event, no message, no allocation) ahead of other cores' clocks,
//! up to a *horizon* that no message able to change what it hits can beat:
//!
//! - a Ready core (no request of its own outstanding) can only be reached by a
//!   directory's Inv or forwarded request, so it may run up to the first message on
//!   its way to it, or a directory latency plus a network hop after the first
//!   directory input for a line it holds, or a full round trip (`lookahead`) after
//!   the earliest any other L1 may send a directory anything (`act_bound`);
//! - what another L1 may do next is read from its core's future: a trace front end
//!   shows the records it has decoded ([`Frontend::ahead`]), and the first that
//!   does not hit in that core's cache as it is now is its next miss (`scan`). Hits
//!   never change which lines a cache holds, so that bound stands until a message
//!   takes a line away. A waiting core's next miss is counted from the response
//!   that may complete its own.
//!
//! Running ahead never reorders anything another controller could observe; the
//! observers that see hits (the miss classifier, the checker) order by simulated
//! time, not by when they are told. Tests show it gives bit-identical statistics to
//! `--exact` on fixed and random machine shapes (`tests/machine.rs`,
//! `tests/run_ahead.rs`). A miss is only issued when the core is the earliest thing in the
//! system, so link and port reservations happen in time order.
//!
//! Controllers are pure; this module charges time for what they do: the L1's access
//! latency, the directory port (one input per cycle, then `directory.latency`), the
//! DRAM channel (latency plus occupancy per line) and the network (see
//! `model::network`). Inputs a controller stalls wait in a per-(node, line) queue
//! and are offered again whenever that node handles something for the line.

pub mod queue;
pub mod replay;

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::config::SystemConfig;
use crate::model::directory::{DirSpec, Directory};
use crate::model::l1::{AccessOutcome, L1Controller, L1Spec};
use crate::model::network::{Cycle, Jitter, MemoryChannel, Network, NetworkSpec};
use crate::model::{
    Access, Handled, LineAddr, MemOp, Msg, MsgKind, NodeId, Note, Outbox, Primitive, ProtocolError, Vnet,
};
use crate::protocol::l1_table::{CopyLoss, L1State, copy_loss};
use crate::stats::classify::{MissClassifier, order_key};
use crate::stats::{CoreStats, Stats};
use crate::trace::Reuse;
use crate::verify::invariants::{Checker, check_swmr};
use queue::{EventQueue, MinTree};

/// What a core does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Spend `gap` compute cycles, then perform the access. `reuse` is what the
    /// front end knows of the core's own earlier accesses to the line (for the
    /// miss classifier; `Reuse::UNKNOWN` leaves it to the classifier).
    Access { gap: Cycle, access: Access, reuse: Reuse },
    /// Spend cycles without touching memory.
    Compute(Cycle),
    /// An ordering fence. Cores are in-order and block on every miss (sequential
    /// consistency), so a fence costs nothing more; it is counted.
    Fence,
    /// The core has finished.
    Done,
}

impl Step {
    /// An access with nothing known of its reuse.
    pub const fn access(gap: Cycle, access: Access) -> Self {
        Step::Access { gap, access, reuse: Reuse::UNKNOWN }
    }
}

/// A step the front end will hand out later, as much of it as the engine needs in
/// advance: whether an access could miss, and how many cycles precede it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ahead {
    Access { gap: Cycle, addr: u64, writes: bool },
    Compute(Cycle),
    Fence,
    Done,
}

/// A plain load or store, as a front end's fast path offers it (see
/// [`Frontend::take_plain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plain {
    /// Compute cycles before the access.
    pub gap: Cycle,
    pub addr: u64,
    /// The value a store writes; `None` for a load.
    pub store: Option<u64>,
    pub reuse: Reuse,
}

/// The source of each core's operations: a trace, a program, a random tester.
pub trait Frontend {
    fn next(&mut self, core: usize) -> Result<Step, String>;
    /// The value the core's last access returned (loads, atomics).
    fn completed(&mut self, _core: usize, _value: u64) {}
    /// Whether `completed` matters (programs read values; traces do not).
    fn wants_values(&self) -> bool {
        true
    }
    /// The `i`-th step after the last one `next` returned for `core`, if it is
    /// already known (a trace's decoded batch). Lets the engine see how far a core
    /// will go on hits; a front end whose future depends on loaded values says
    /// `None`.
    fn ahead(&self, _core: usize, _i: usize) -> Option<Ahead> {
        None
    }
    /// The known steps from the `from`-th after the last one `next` returned, in
    /// order (what `ahead` gives for `from`, `from + 1`, … until `None`).
    fn ahead_from(&self, core: usize, from: usize) -> impl Iterator<Item = Ahead> {
        (from..).map_while(move |i| self.ahead(core, i))
    }
    /// A fast path for front ends that hold a core's future as plain loads and
    /// stores (a trace's decoded batch): offers `core`'s next steps to `take`, in
    /// order, while they are loads and stores it holds and `take` accepts them
    /// (returns `true`). Each accepted step counts as returned by `next`; the
    /// step `take` refuses is still the next one. Only for front ends that do
    /// not want values. The default offers nothing: every step goes through
    /// `next`.
    #[inline]
    fn take_plain(&mut self, _core: usize, _take: impl FnMut(Plain) -> bool) {}
}

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
    Frontend(String),
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

/// A queue of frame indices: a ring of [`KNOWN`] entries, so a scan knows at
/// most that many hits ahead (past them the scan stops as at an unknown step).
#[derive(Clone, Debug)]
struct Frames {
    items: Box<[u32; KNOWN]>,
    /// Free-running positions: entries `head..tail` (mod `KNOWN`) are queued.
    head: u32,
    tail: u32,
}

/// Hits a scan may know ahead of a core: a trace batch's worth.
const KNOWN: usize = 4096;

impl Default for Frames {
    fn default() -> Self {
        Frames { items: Box::new([0; KNOWN]), head: 0, tail: 0 }
    }
}

impl Frames {
    /// Queues `idx`; `false` (and nothing queued) when the ring is full.
    #[inline]
    fn push_back(&mut self, idx: u32) -> bool {
        if self.tail.wrapping_sub(self.head) as usize >= KNOWN {
            return false;
        }
        self.items[self.tail as usize % KNOWN] = idx;
        self.tail = self.tail.wrapping_add(1);
        true
    }

    #[inline]
    fn front(&self) -> Option<u32> {
        (self.head != self.tail).then(|| self.items[self.head as usize % KNOWN])
    }

    #[inline]
    fn pop_front(&mut self) -> Option<u32> {
        let idx = self.front()?;
        self.head = self.head.wrapping_add(1);
        Some(idx)
    }

    fn clear(&mut self) {
        (self.head, self.tail) = (0, 0);
    }
}

/// In `CoreCtx::known`: the frame the outstanding miss will fill.
const FILLED: u32 = u32::MAX;

impl CoreCtx {
    /// The core's cache or position changed: what it will hit must be worked out again.
    fn forget_scan(&mut self) {
        self.scan.valid = false;
        self.known.clear();
    }
}

/// A core's look ahead: its steps up to `next` (counted like `taken`) all hit in
/// its cache as it is now, and the one after them starts at cycle `at`, unless the
/// scan already met a step that may miss (`bound`). Hits never change which lines
/// a cache holds or with what permission, so the first step that may miss, and its
/// cycle, stay put until the L1 loses a line or permission on one (a transition
/// note says so, and the scan is forgotten) or the core moves past it.
///
/// A waiting core's scan is `relative`: cycles count from the miss's completion,
/// and the line the miss fills (`fill`, with whether it will be writable) counts
/// as present. An Inv that makes the fill a one-time use (`IS_D_I`) forgets it.
#[derive(Clone, Copy, Debug, Default)]
struct Scan {
    valid: bool,
    relative: bool,
    fill: Option<(LineAddr, bool)>,
    next: u64,
    at: Cycle,
    bound: Option<Cycle>,
}

/// Options that are not part of the machine.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Check SWMR and data values after every controller input.
    pub check: bool,
    /// Random delay (cycles, at most) added to every message: stress testing.
    pub jitter: Option<Cycle>,
    /// A deliberate protocol bug (mutation testing).
    pub mutation: Option<crate::model::Mutation>,
    /// Classify misses (a fully associative LRU lookup per access, unless the
    /// front end's steps carry their reuse, as a trace replay's do).
    pub classify: bool,
    /// No running ahead on hits (slower; results are identical by design).
    pub exact: bool,
    /// Work out how far each core may run ahead on every run, even for cores
    /// it has not been helping (tests: the same results, more running ahead).
    pub always_ahead: bool,
}

pub struct Simulator {
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
    pub checker: Option<Checker>,
    stalled: FxHashMap<(NodeId, LineAddr), VecDeque<Msg>>,
    /// Per core: inputs its L1 has stalled (any of them may be retried, and
    /// answered, at any delivery to it).
    stalled_at_l1: Vec<u32>,
    outbox: Outbox,
    now: Cycle,
    lookahead: Cycle,
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
    /// Per core: the earliest delivery time of each message addressed to its L1.
    pending_to: Vec<smallvec::SmallVec<[(Cycle, MsgKind); 4]>>,
    /// Per core: the earliest cycle its L1 may send a directory anything (see
    /// `act_bound`), kept for cores in `stale_acts` to be worked out again.
    acts: MinTree,
    stale_acts: Vec<u16>,
    is_stale: Vec<bool>,
    line_bytes: u64,
    events_since_watchdog: u32,
    /// Classifies misses (compulsory, coherence, capacity, conflict) when on.
    pub classifier: Option<MissClassifier>,
}

impl Simulator {
    pub fn new(cfg: SystemConfig, opts: RunOptions) -> Self {
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
        let min_link = match cfg.network.topology {
            crate::model::network::Topology::Crossbar => cfg.network.hop_latency,
            _ => cfg.network.hop_latency.min(cfg.network.local_latency),
        };
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
            stats: Stats::new(n),
            checker: opts.check.then(|| Checker::new(n)),
            stalled: FxHashMap::default(),
            stalled_at_l1: vec![0; n],
            outbox: Outbox::default(),
            now: 0,
            lookahead: cfg.l1.hit_latency + cfg.directory.latency + 2 * min_link,
            dir_reach: cfg.directory.latency + min_link,
            message_lookahead: cfg.l1.hit_latency.min(cfg.directory.latency) + min_link,
            min_link,
            exact: opts.exact,
            always_ahead: opts.always_ahead,
            pending_to: vec![smallvec::SmallVec::new(); n],
            acts: MinTree::new(n),
            stale_acts: Vec::with_capacity(n),
            is_stale: vec![false; n],
            line_bytes: cfg.l1.line as u64,
            events_since_watchdog: 0,
            classifier: opts.classify.then(|| {
                let lines = (cfg.l1.size.0 / cfg.l1.line as u64) as usize;
                MissClassifier::new(n, lines, cfg.l1.line)
            }),
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

    fn refresh_acts<F: Frontend + ?Sized>(&mut self, fe: &F) {
        while let Some(c) = self.stale_acts.pop() {
            let c = c as usize;
            self.is_stale[c] = false;
            let a = self.act_bound(c, fe);
            self.acts.set(c, a);
        }
    }

    /// The earliest cycle L1 `c` may send a directory anything, unless a message
    /// reaches it that a directory has yet to send (those come `dir_reach` after a
    /// directory input, which `hit_horizon` bounds separately):
    /// - a Ready core: at its next miss (`scan`);
    /// - a blocked core, or one whose L1 has stalled inputs: when any message
    ///   arrives (it retries then);
    /// - otherwise when a forwarded request or Inv arrives (it may answer the
    ///   directory), or, for a waiting core, at its next miss after the response
    ///   that may complete its own; never at a Put-Ack (that only frees a
    ///   write-back slot).
    fn act_bound<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> Cycle {
        let status = self.cores[c].status;
        let mut act = match status {
            CoreStatus::Ready => self.scan(c, fe),
            _ => Cycle::MAX,
        };
        let retries = self.stalled_at_l1[c] > 0;
        // The earliest response that may complete a waiting core's miss.
        let mut completion = Cycle::MAX;
        for &(t, kind) in &self.pending_to[c] {
            match (status, kind) {
                _ if retries => act = act.min(t),
                (CoreStatus::Blocked(_), _) => act = act.min(t),
                (_, MsgKind::PutAck) => {}
                (CoreStatus::Waiting(_), MsgKind::Data | MsgKind::InvAck | MsgKind::AckCount) => {
                    completion = completion.min(t)
                }
                _ => act = act.min(t),
            }
        }
        if completion != Cycle::MAX {
            act = act.min(completion.saturating_add(self.scan(c, fe)));
        }
        act
    }

    /// Ready core `c`: the earliest cycle it can issue a miss if no message reaches
    /// its L1 before, the cycle of its first step (the deferred access, then what
    /// the front end can show ahead) that does not hit in its cache as it is now.
    /// Waiting core `c`: the same, in cycles after its miss completes. An unknown
    /// step may miss as soon as it can start.
    fn scan<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> Cycle {
        let hit_latency = self.cfg.l1.hit_latency;
        let l1 = &self.l1s[c];
        let core = &mut self.cores[c];
        let relative = matches!(core.status, CoreStatus::Waiting(_));
        let scan = &mut core.scan;
        if !scan.valid || scan.next < core.taken || scan.relative != relative {
            let at = if relative { 0 } else { core.time };
            let fill = if relative { l1.pending_fill() } else { None };
            *scan = Scan { valid: true, relative, fill, next: core.taken, at, bound: None };
            core.known.clear();
            if let Some((a, _)) = core.deferred {
                match l1.hit_frame(a.addr, a.op.writes()) {
                    Some(idx) if core.known.push_back(idx as u32) => {}
                    _ => scan.bound = Some(at),
                }
                scan.at += hit_latency;
            }
        }
        if let Some(b) = scan.bound {
            return b;
        }
        let fill = scan.fill;
        // The walk keeps its position in locals (the hot loop of a replay).
        let (mut at, mut next, mut bound) = (scan.at, scan.next, None);
        let known = &mut core.known;
        let probe = l1.hit_probe();
        for step in fe.ahead_from(c, (next - core.taken) as usize) {
            match step {
                Ahead::Access { gap, addr, writes } => {
                    at += gap;
                    let idx = match probe.frame(addr, writes) {
                        Some(idx) => idx as u32,
                        None => match fill {
                            Some((line, writable)) if probe.line_of(addr) == line && (writable || !writes) => FILLED,
                            _ => {
                                bound = Some(at);
                                break;
                            }
                        },
                    };
                    if !known.push_back(idx) {
                        // As far as the scan may know ahead: what follows is unknown.
                        bound = Some(at);
                        break;
                    }
                    at += hit_latency;
                }
                Ahead::Compute(gap) => at += gap,
                Ahead::Fence => {}
                Ahead::Done => {
                    bound = Some(Cycle::MAX);
                    break;
                }
            }
            next += 1;
        }
        (scan.at, scan.next, scan.bound) = (at, next, bound);
        bound.unwrap_or(at)
    }

    /// Waiting core `c`'s miss completed at `now`: its relative scan becomes
    /// absolute if the filled line is there as the scan assumed.
    fn anchor_scan(&mut self, c: usize, now: Cycle) {
        let core = &mut self.cores[c];
        let scan = &mut core.scan;
        let kept = scan.valid
            && scan.relative
            && scan.fill.is_some_and(|(line, writable)| {
                let l1 = &self.l1s[c];
                l1.array.find(line).is_some_and(|i| {
                    let st = l1.array.frame(i).state;
                    st.can_read() && (st.can_write() || !writable)
                })
            });
        if kept {
            scan.relative = false;
            scan.fill = None;
            scan.at = scan.at.saturating_add(now);
            scan.bound = scan.bound.map(|b| b.saturating_add(now));
        } else {
            core.forget_scan();
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

    /// Run until every core is done. Statistics are final afterwards. A finished
    /// simulator may run again with another front end: caches, directory and
    /// clocks carry over (tests use this to tamper with state between phases).
    pub fn run<F: Frontend + ?Sized>(&mut self, fe: &mut F) -> Result<(), SimError> {
        for c in 0..self.cores.len() {
            self.cores[c].taken = 0;
            self.cores[c].forget_scan();
            // A new front end: every core's future is new.
            self.stale(c);
            if self.cores[c].status == CoreStatus::Done {
                self.cores[c].status = CoreStatus::Ready;
                self.schedule_core(c, self.cores[c].time);
            }
        }
        loop {
            let next_msg = self.next_msg();
            let next_core = self.ready.peek();
            let take_msg = match (next_msg, next_core) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                // Within a cycle, messages first, then cores.
                (Some(m), Some(c)) => m.0 <= c.0,
            };
            if take_msg {
                let (t, (msg, inject)) =
                    if self.to_l1.peek() == next_msg { self.to_l1.pop() } else { self.to_dir.pop() }.expect("peeked");
                self.now = t;
                self.unpend(&msg, t, inject);
                if inject {
                    // Links are reserved when a message really leaves, in time order.
                    let arrival = self.net.send(&msg, t);
                    self.schedule_msg(msg, arrival, false);
                } else {
                    self.deliver(msg, fe)?;
                }
            } else {
                let (t, core) = self.ready.pop().expect("peeked");
                self.now = self.now.max(t);
                self.run_core(core as usize, fe)?;
            }
            self.events_since_watchdog += 1;
            if self.events_since_watchdog >= 1024 {
                self.events_since_watchdog = 0;
                self.watchdog()?;
            }
        }
        if let Some(c) = self.cores.iter().position(|c| c.status != CoreStatus::Done) {
            return Err(SimError::Watchdog {
                cycle: self.now,
                what: format!("deadlock: nothing left to happen but core {c} has not finished"),
                report: self.stuck_report(),
            });
        }
        self.finish();
        Ok(())
    }

    fn finish(&mut self) {
        // Execution time: when the last core finished. Traffic still in flight
        // then (a copy to the directory, a write-back) is counted but not timed.
        self.stats.cycles = self.cores.iter().map(|c| c.time).max().unwrap_or(0);
        self.stats.network_queueing_cycles = self.net.queueing_cycles;
        self.stats.memory_queueing_cycles = self.mem.iter().map(|m| m.queueing_cycles).sum();
        let mut dirty = 0;
        for l1 in &self.l1s {
            dirty += l1.array.valid_frames().filter(|(_, f)| f.dirty).count() as u64;
            dirty += l1.wb.iter().filter(|e| e.dirty).count() as u64;
        }
        self.stats.dirty_at_end = dirty;
        if let Some(cl) = &self.classifier {
            for (c, s) in self.stats.cores.iter_mut().enumerate() {
                s.miss_classes = cl.classes(c).clone();
            }
        }
    }

    fn watchdog(&self) -> Result<(), SimError> {
        let limit = self.cfg.watchdog_cycles;
        for (c, core) in self.cores.iter().enumerate() {
            if let CoreStatus::Waiting(since) | CoreStatus::Blocked(since) = core.status
                && self.now.saturating_sub(since) > limit
            {
                return Err(SimError::Watchdog {
                    cycle: self.now,
                    what: format!(
                        "watchdog: core {c}'s request has been outstanding for more than {limit} cycles (since cycle {since})"
                    ),
                    report: self.stuck_report(),
                });
            }
        }
        Ok(())
    }

    /// Every stuck transaction: cores waiting, transient lines, stalled inputs.
    pub fn stuck_report(&self) -> String {
        let mut s = String::new();
        for (c, core) in self.cores.iter().enumerate() {
            match core.status {
                CoreStatus::Waiting(since) | CoreStatus::Blocked(since) => {
                    let what = if matches!(core.status, CoreStatus::Blocked(_)) { "blocked" } else { "waiting" };
                    let mshr = self.l1s[c].mshr.as_ref();
                    s += &format!(
                        "  core {c}: {what} since cycle {since}; MSHR: {}\n",
                        mshr.map_or("empty".to_string(), |m| format!(
                            "line {:#x} {:?} in {}, acks due {}",
                            m.line,
                            m.access.op,
                            self.l1s[c].state_of(m.line).name(),
                            m.acks
                        ))
                    );
                }
                _ => {}
            }
            for (line, state) in self.l1s[c].transients() {
                s += &format!("  L1[{c}] line {line:#x} in {} (waits for {})\n", state.name(), waits_for(state));
            }
        }
        for d in &self.dirs {
            for (line, state) in d.transients() {
                s += &format!(
                    "  Dir[{}] line {line:#x} in {} (waits for the old owner's data)\n",
                    d.spec.slice,
                    state.name()
                );
            }
        }
        let mut stalled: Vec<_> = self.stalled.iter().filter(|(_, q)| !q.is_empty()).collect();
        stalled.sort_by_key(|(k, _)| **k);
        for ((node, line), q) in stalled {
            for m in q {
                s += &format!("  node {node} line {line:#x}: stalled {} from node {}\n", m.kind.name(), m.src);
            }
        }
        s += &format!("  {} messages in flight\n", self.to_l1.len() + self.to_dir.len());
        for (m, _) in self.to_l1.iter().chain(self.to_dir.iter()) {
            s += &format!("    {} line {:#x} from node {} to node {}\n", m.kind.name(), m.line, m.src, m.dst);
        }
        s
    }

    /// The states of every cache and the directory for a line, and its history.
    pub fn line_report(&self, line: LineAddr) -> String {
        let mut s = format!("line {line:#x} (address {:#x}):\n", line * self.line_bytes);
        for l1 in &self.l1s {
            let st = l1.state_of(line);
            if st != crate::protocol::l1_table::L1State::I {
                s += &format!("  L1[{}]: {}\n", l1.spec.core, st.name());
            }
        }
        let d = &self.dirs[(line % self.dirs.len() as u64) as usize];
        let e = d.entry(line);
        s += &format!("  Dir[{}]: {} owner {:?} sharers {:?}\n", d.spec.slice, e.state.name(), e.owner, e.sharers);
        if let Some(ch) = &self.checker {
            s += "  recent events on this line:\n";
            for h in ch.history(line) {
                s += &format!("    {h}\n");
            }
        }
        s
    }

    /// How far core `c` may run on hits. Only a message to its L1 can change what
    /// it hits, and while it is Ready (no request of its own outstanding) only a
    /// directory sends it one: an Inv or a forwarded request, for a line it holds.
    /// L1s answer forwarded requests to the requester, which is waiting. So the core
    /// runs up to
    /// - the first message already on its way to it (but a Put-Ack);
    /// - the earliest a directory's answer can arrive: after a message to a
    ///   directory (`directory_reach`), or `lookahead` after the earliest another L1 may
    ///   send a directory something (`act_bound`), since L1s reach directories only
    ///   through the network. (A directory's stalled inputs are retried only on an
    ///   input for the same line, which `directory_reach` already counts.)
    ///
    /// Never less than the next event of any kind (the `--exact` horizon, also
    /// safe), so a core always makes progress whatever the latencies.
    ///
    /// A waiting or blocked core moves only when a message reaches its L1.
    ///
    /// With it, the next event, when the horizon may go past it (see `judge_ahead`).
    fn hit_horizon<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> (Cycle, Option<Cycle>) {
        // No running ahead: the core stops at the next event of any kind.
        let m = self.next_msg().map_or(Cycle::MAX, |(t, _)| t);
        let r = self.ready.peek().map_or(Cycle::MAX, |(t, idx)| if (idx as usize) < c { t } else { t + 1 });
        let next_event = m.min(r);
        if self.exact {
            return (next_event, None);
        }
        // Working out a horizon costs scans and, with many cores, a refresh of
        // every core whose future changed. When cores mostly miss (many cores
        // sharing everything), it seldom lets one past the next event, so a core
        // it did not help stops at the next event for a while. Any horizon from
        // the next event to the bound below gives the same run.
        let core = &mut self.cores[c];
        if core.skip_ahead > 0 && !self.always_ahead {
            core.skip_ahead -= 1;
            return (next_event, None);
        }
        // A quick bound first, from the queues' heads alone: any message's effect
        // reaches an L1 `message_lookahead` after it at the soonest, another Ready
        // core's a round trip after its clock. If the core misses before even that,
        // it stops there anyway and the finer bound below would change nothing.
        let own_all = self.pending_to[c].iter().map(|&(t, _)| t).min().unwrap_or(Cycle::MAX);
        let quick = own_all
            .min(m.saturating_add(self.message_lookahead))
            .min(self.ready.peek().map_or(Cycle::MAX, |(t, _)| t.saturating_add(self.lookahead)))
            .max(next_event);
        if quick >= self.scan(c, fe) {
            return (quick, Some(next_event));
        }
        self.refresh_acts(fe);
        // A Put-Ack only frees a write-back slot, which no hit looks at.
        let own = self.pending_to[c].iter().filter(|&&(_, k)| k != MsgKind::PutAck).map(|&(t, _)| t).min();
        let own = own.unwrap_or(Cycle::MAX);
        // Queue keys are the cycles messages leave or arrive, never later than
        // arrival: safe for both.
        let dir = self.directory_reach(c);
        let l1 = self.acts.min_excluding(c);
        (own.min(dir).min(l1.saturating_add(self.lookahead)).max(next_event), Some(next_event))
    }

    /// After a run that could go past `next_event`: whether it did. Runs that do
    /// not make the core skip working out a horizon for 1, 3, 7, … up to 63 runs.
    fn judge_ahead(&mut self, c: usize, next_event: Cycle) {
        const MAX_BACKOFF: u8 = 6;
        let core = &mut self.cores[c];
        if core.time > next_event {
            core.ahead_backoff = 0;
        } else {
            core.ahead_backoff = (core.ahead_backoff + 1).min(MAX_BACKOFF);
            core.skip_ahead = (1u8 << core.ahead_backoff) - 1;
        }
    }

    /// The earliest a directory input already in flight can change what core `c`
    /// hits: `dir_reach` after it for a line the core holds; for any other line
    /// only through another L1's answer to the directory (an Inv or a forwarded
    /// request for a line the core does not hold, or a stale one, changes none of its
    /// hits, and it takes no line without a miss), a further `lookahead`. With
    /// many messages in flight, every one counts as a line the core holds.
    fn directory_reach(&self, c: usize) -> Cycle {
        const SCAN_LIMIT: usize = 32;
        if self.to_dir.len() > SCAN_LIMIT {
            return self.to_dir.peek().map_or(Cycle::MAX, |(t, _)| t.saturating_add(self.dir_reach));
        }
        let l1 = &self.l1s[c];
        self.to_dir
            .iter_timed()
            .map(|(t, (m, _))| {
                let far = if l1.array.find(m.line).is_some() { 0 } else { self.lookahead };
                t.saturating_add(self.dir_reach + far)
            })
            .min()
            .unwrap_or(Cycle::MAX)
    }

    /// A miss of core `c` at cycle `t` goes out only when it is the next thing in
    /// the system's order: every message of cycle `t` or earlier is handled, and no
    /// ready core comes before (cycle, core index).
    fn may_issue_miss(&self, c: usize, t: Cycle) -> bool {
        let msg_ok = self.next_msg().is_none_or(|(m, _)| t < m);
        let core_ok = self.ready.peek().is_none_or(|(r, idx)| (t, c as u64) < (r, idx));
        msg_ok && core_ok
    }

    fn run_core<F: Frontend + ?Sized>(&mut self, c: usize, fe: &mut F) -> Result<(), SimError> {
        if self.cores[c].status == CoreStatus::Done {
            self.unready(c);
            return Ok(());
        }
        let (hit_horizon, next_event) = self.hit_horizon(c, fe);
        let ran = self.run_hits(c, fe, hit_horizon)?;
        if let Some(next_event) = next_event {
            self.judge_ahead(c, next_event);
        }
        let Some((access, reuse)) = ran else {
            return Ok(());
        };
        // A miss (or an access the fast path cannot take) at the core's time.
        let t = self.cores[c].time;
        let hit_latency = self.cfg.l1.hit_latency;
        // A miss goes out only when nothing that comes before it is pending anywhere.
        if !self.may_issue_miss(c, t) {
            self.cores[c].deferred = Some((access, reuse));
            self.schedule_core(c, t);
            return Ok(());
        }
        self.unready(c);
        self.now = self.now.max(t);
        let before = self.l1s[c].state_of(self.l1s[c].line_of(access.addr));
        self.outbox.clear();
        let outcome = self.l1s[c].access(access, &mut self.outbox);
        let outcome = outcome.map_err(|e| self.protocol_error(e))?;
        match outcome {
            AccessOutcome::Hit(_) => unreachable!("the fast path takes every hit"),
            AccessOutcome::Blocked => {
                self.cores[c].deferred = Some((access, reuse));
                self.cores[c].status = CoreStatus::Blocked(t);
                // Anything the L1 did before blocking (an eviction) still goes out.
                self.process_outbox(self.now + hit_latency, c as NodeId, fe)?;
            }
            AccessOutcome::Miss => {
                let stats = &mut self.stats.cores[c];
                count_access(stats, access.op);
                if before.can_read() {
                    stats.upgrades += 1;
                } else {
                    stats.misses += 1;
                    if access.op.writes() {
                        stats.write_misses += 1;
                    } else {
                        stats.read_misses += 1;
                    }
                }
                if let Some(cl) = &mut self.classifier {
                    cl.access(c as u16, access.addr, !before.can_read(), reuse);
                }
                if let Some(ch) = &mut self.checker
                    && !access.op.writes()
                {
                    ch.open_window(c as u16, access.addr);
                }
                self.cores[c].status = CoreStatus::Waiting(t);
                self.process_outbox(self.now + hit_latency, c as NodeId, fe)?;
            }
        }
        Ok(())
    }

    /// The fast path: take the core's steps while they hit in its L1 and its clock
    /// stays within `horizon`. Returns the first access that missed (or `None` when
    /// the core finished or yielded). Touches only this core's cache, counters and
    /// clock, and the observers.
    #[inline]
    fn run_hits<F: Frontend + ?Sized>(
        &mut self,
        c: usize,
        fe: &mut F,
        horizon: Cycle,
    ) -> Result<Option<(Access, Reuse)>, SimError> {
        let hit_latency = self.cfg.l1.hit_latency;
        let wants_values = fe.wants_values();
        let l1 = &mut self.l1s[c];
        let stats = &mut self.stats.cores[c];
        let core = &mut self.cores[c];
        let mut time = core.time;
        let mut pending = core.deferred.take();
        // Plain loads and stores the front end offers directly, while they hit:
        // the same effects as the loop below, without building a `Step` each.
        let plain = self.checker.is_none() && !wants_values;
        let classifier = &mut self.classifier;
        let result = loop {
            if plain && pending.is_none() {
                fe.take_plain(c, |p| {
                    let at = time + p.gap;
                    if at >= horizon {
                        return false;
                    }
                    let writes = p.store.is_some();
                    let Some(idx) = hit_frame(core.known.front(), l1, p.addr, writes) else {
                        return false;
                    };
                    core.known.pop_front();
                    core.taken += 1;
                    stats.compute_cycles += p.gap;
                    l1.hit_plain(idx, p.addr, p.store);
                    if writes {
                        stats.stores += 1;
                    } else {
                        stats.loads += 1;
                    }
                    stats.hits += 1;
                    if let Some(cl) = classifier {
                        classify_hit(cl, c, p.addr, writes, p.reuse, at);
                    }
                    time = at + hit_latency;
                    true
                });
            }
            let (access, reuse) = match pending.take() {
                Some(a) => a,
                None => match fe.next(c) {
                    Err(e) => break Err(SimError::Frontend(e)),
                    Ok(Step::Access { gap, access, reuse }) => {
                        core.taken += 1;
                        let Some(t) = later(time, gap) else { break Err(too_late(c, time, gap)) };
                        time = t;
                        stats.compute_cycles += gap;
                        (access, reuse)
                    }
                    Ok(Step::Compute(g)) => {
                        core.taken += 1;
                        let Some(t) = later(time, g) else { break Err(too_late(c, time, g)) };
                        time = t;
                        stats.compute_cycles += g;
                        continue;
                    }
                    Ok(Step::Fence) => {
                        core.taken += 1;
                        continue;
                    }
                    Ok(Step::Done) => {
                        core.taken += 1;
                        core.status = CoreStatus::Done;
                        break Ok(None);
                    }
                },
            };
            if time >= horizon {
                core.deferred = Some((access, reuse));
                core.status = CoreStatus::Ready;
                break Ok(None);
            }
            // The scan may already know the frame; otherwise look.
            let Some(idx) = hit_frame(core.known.pop_front(), l1, access.addr, access.op.writes()) else {
                break Ok(Some((access, reuse)));
            };
            let (loaded, stored) = l1.hit_at(idx, access);
            count_access(stats, access.op);
            stats.hits += 1;
            if let Some(ch) = &mut self.checker
                && let Err(what) = ch.performed(c as u16, access.addr, access.op, loaded, stored, false)
            {
                core.time = time;
                let line = l1.line_of(access.addr);
                return Err(self.violation(what, line));
            }
            if let Some(cl) = classifier {
                classify_hit(cl, c, access.addr, stored.is_some(), reuse, time);
            }
            if wants_values {
                fe.completed(c, loaded);
            }
            time += hit_latency;
        };
        core.time = time;
        if core.status == CoreStatus::Ready && core.deferred.is_some() {
            self.schedule_core(c, time);
        } else if core.status == CoreStatus::Done {
            self.unready(c);
        }
        result
    }

    fn deliver<F: Frontend + ?Sized>(&mut self, msg: Msg, fe: &mut F) -> Result<(), SimError> {
        let key = (msg.dst, msg.line);
        if msg.vnet() != Vnet::Response
            && !self.stalled.is_empty()
            && self.stalled.get(&key).is_some_and(|q| !q.is_empty())
        {
            self.stalled.get_mut(&key).expect("checked").push_back(msg);
            self.count_stalled(key.0, 1);
            return Ok(());
        }
        if self.handle(&msg, fe)? == Handled::Stalled {
            self.stalled.entry(key).or_default().push_back(msg);
            self.count_stalled(key.0, 1);
            return Ok(());
        }
        if self.stalled.is_empty() {
            return Ok(());
        }
        self.retry_stalled(key, fe)
    }

    /// An input was stalled at (`+1`) or taken back from (`-1`) `node`.
    fn count_stalled(&mut self, node: NodeId, delta: i32) {
        if let Some(n) = self.stalled_at_l1.get_mut(node as usize) {
            *n = n.checked_add_signed(delta).expect("stalled inputs are counted");
            self.stale(node as usize);
        }
    }

    /// A controller stalled an input: count the (state, event) pair, nothing else.
    fn count_stall(&mut self) {
        for note in self.outbox.notes.drain(..) {
            match note {
                Note::L1Transition { from, event, .. } => self.stats.count_l1_transition(from, event),
                Note::DirTransition { from, event, .. } => self.stats.count_dir_transition(from, event),
                _ => {}
            }
        }
    }

    /// Offer a node's stalled inputs for a line again, oldest first.
    fn retry_stalled<F: Frontend + ?Sized>(&mut self, key: (NodeId, LineAddr), fe: &mut F) -> Result<(), SimError> {
        loop {
            let Some(q) = self.stalled.get_mut(&key) else {
                return Ok(());
            };
            let Some(m) = q.pop_front() else {
                self.stalled.remove(&key);
                return Ok(());
            };
            self.count_stalled(key.0, -1);
            if self.handle(&m, fe)? == Handled::Stalled {
                self.stalled.get_mut(&key).expect("still there").push_front(m);
                self.count_stalled(key.0, 1);
                return Ok(());
            }
        }
    }

    fn handle<F: Frontend + ?Sized>(&mut self, msg: &Msg, fe: &mut F) -> Result<Handled, SimError> {
        let n = self.cfg.cores;
        let dst = msg.dst as usize;
        self.outbox.clear();
        if dst < n {
            let r = self.l1s[dst].handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                self.count_stall();
                return Ok(r);
            }
            self.stale(dst);
            self.process_outbox(self.now + self.cfg.l1.hit_latency, msg.dst, fe)?;
            if let CoreStatus::Blocked(since) = self.cores[dst].status {
                let core = &mut self.cores[dst];
                core.status = CoreStatus::Ready;
                core.time = core.time.max(self.now);
                self.stats.cores[dst].stall_cycles += self.now.saturating_sub(since);
                let at = core.time;
                self.schedule_core(dst, at);
            }
        } else {
            let slice = dst - n;
            let r = self.dirs[slice].handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                self.count_stall();
                return Ok(r);
            }
            let start = self.now.max(self.dir_free[slice]);
            self.dir_free[slice] = start + 1;
            self.process_outbox(start + self.cfg.directory.latency, msg.dst, fe)?;
        }
        if self.checker.is_some() {
            self.check_line(msg.line)?;
        }
        Ok(Handled::Done)
    }

    /// Send what a controller produced and tell the observers what it did. `at` is
    /// when the controller's outputs leave it.
    fn process_outbox<F: Frontend + ?Sized>(&mut self, at: Cycle, node: NodeId, fe: &mut F) -> Result<(), SimError> {
        let n = self.cfg.cores;
        let notes = std::mem::take(&mut self.outbox.notes);
        let mut touched_line = None;
        for note in &notes {
            if let Some(ch) = &mut self.checker {
                ch.record(self.now, note);
            }
            match *note {
                Note::L1Transition { core, from, event, line, to } => {
                    self.stats.count_l1_transition(from, event);
                    if (from.can_read() && !to.can_read())
                        || (from.can_write() && !to.can_write())
                        || to == L1State::IS_D_I
                    {
                        // What the core will hit (or its miss will leave) changed.
                        self.cores[core as usize].forget_scan();
                    }
                    touched_line = Some(line);
                    if let Some(cl) = &mut self.classifier {
                        match copy_loss(from, event, to) {
                            CopyLoss::Lost => cl.lost(core, line),
                            CopyLoss::Kept => cl.unlost(core, line),
                            CopyLoss::None => {}
                        }
                    }
                }
                Note::DirTransition { from, event, line, .. } => {
                    self.stats.count_dir_transition(from, event);
                    touched_line = Some(line);
                }
                Note::Performed { core, addr, op, loaded, stored, windowed } => {
                    if let Some(cl) = &mut self.classifier
                        && stored.is_some()
                    {
                        cl.store(core, addr, order_key(self.now, None));
                    }
                    if let Some(ch) = &mut self.checker
                        && let Err(what) = ch.performed(core, addr, op, loaded, stored, windowed)
                    {
                        return Err(self.violation(what, self.l1s[core as usize].line_of(addr)));
                    }
                }
                Note::Completed { core, value } => {
                    let c = core as usize;
                    if let CoreStatus::Waiting(since) = self.cores[c].status {
                        self.stats.cores[c].stall_cycles += self.now - since;
                    }
                    self.cores[c].time = self.now;
                    self.cores[c].status = CoreStatus::Ready;
                    if let Some(cl) = &mut self.classifier {
                        cl.completed(core, order_key(self.now, None));
                    }
                    fe.completed(c, value);
                    self.anchor_scan(c, self.now);
                    self.schedule_core(c, self.now);
                }
                Note::SilentDrop { .. } => {
                    self.stats.silent_drops += 1;
                    self.stats.primitives[Primitive::SilentWithdrawal as usize] += 1;
                }
                Note::WritebackFreed { .. } => {}
                Note::MemRead { .. } => self.stats.mem_reads += 1,
                Note::MemWrite { .. } => {
                    self.stats.mem_writes += 1;
                    self.mem[node as usize - n].write(at);
                }
                Note::Invalidation { sharers, .. } => {
                    self.stats.invalidations += sharers as u64;
                    *self.stats.sharers_per_invalidation.entry(sharers).or_insert(0) += 1;
                }
                Note::Writeback { .. } => self.stats.writebacks += 1,
            }
        }
        self.outbox.notes = notes;
        let mut msgs = std::mem::take(&mut self.outbox.msgs);
        for msg in msgs.drain(..) {
            let leave = if msg.from_memory { self.mem[node as usize - n].read(at) } else { at };
            self.stats.count_message(&msg);
            if let Some(ch) = &mut self.checker {
                ch.record_message(self.now, &msg);
            }
            self.schedule_msg(msg, leave, true);
        }
        self.outbox.msgs = msgs;
        // A core-side change (an eviction, an upgrade) may unblock stalled inputs.
        if (node as usize) < n
            && let Some(line) = touched_line
        {
            let key = (node, line);
            if self.stalled.get(&key).is_some_and(|q| !q.is_empty()) {
                self.retry_stalled(key, fe)?;
            }
        }
        Ok(())
    }

    /// Check SWMR and data values on every line any cache holds now.
    pub fn check_all(&mut self) -> Result<(), SimError> {
        if self.checker.is_none() {
            self.checker = Some(Checker::new(self.cfg.cores));
        }
        let mut lines: Vec<LineAddr> = self
            .l1s
            .iter()
            .flat_map(|l1| l1.array.valid_frames().map(|(_, f)| f.line).chain(l1.wb.iter().map(|e| e.line)))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        for line in lines {
            self.check_line(line)?;
        }
        Ok(())
    }

    fn check_line(&mut self, line: LineAddr) -> Result<(), SimError> {
        let ch = self.checker.as_ref().expect("checking");
        let r = check_swmr(line, &self.l1s).and_then(|_| ch.check_copies(line, self.line_bytes, &self.l1s));
        r.map_err(|what| self.violation(what, line))
    }

    fn violation(&self, what: String, line: LineAddr) -> SimError {
        SimError::Invariant { cycle: self.now, what, report: self.line_report(line) }
    }

    fn protocol_error(&self, error: ProtocolError) -> SimError {
        let report = self.line_report(error.line);
        SimError::Protocol { cycle: self.now, error, report }
    }
}

fn waits_for(state: crate::protocol::l1_table::L1State) -> &'static str {
    use crate::protocol::l1_table::L1State::*;
    match state {
        IS_D | IS_D_I => "data",
        IM_AD | SM_AD => "data and Inv-Acks",
        IM_A | SM_A | OM_A => "Inv-Acks",
        OM_AC => "the directory's AckCount",
        MI_A | EI_A | OI_A | SI_A | II_A => "a Put-Ack",
        _ => "nothing",
    }
}

/// The frame an access hits in: the scan's `known` frame if it still holds the
/// line (it must; checking costs one compare and keeps a slip from becoming a
/// wrong number), else a lookup.
#[inline(always)]
fn hit_frame(known: Option<u32>, l1: &L1Controller, addr: u64, writes: bool) -> Option<usize> {
    match known {
        Some(idx) if idx != FILLED && l1.array.frame(idx as usize).line == l1.line_of(addr) => Some(idx as usize),
        _ => l1.hit_frame(addr, writes),
    }
}

/// Simulated time stays below this (order keys hold 53 bits of cycle; see
/// `stats::classify::order_key`). Trace readers refuse compute gaps that add
/// up past 2^52 per core; this catches any other front end.
pub const MAX_TIME: Cycle = 1 << 53;

/// `time + gap`, if it stays below [`MAX_TIME`].
#[inline(always)]
fn later(time: Cycle, gap: Cycle) -> Option<Cycle> {
    time.checked_add(gap).filter(|&t| t < MAX_TIME)
}

#[cold]
fn too_late(core: usize, time: Cycle, gap: Cycle) -> SimError {
    SimError::Frontend(format!(
        "core {core} at cycle {time}: {gap} compute cycles would take simulated time past 2^53 cycles"
    ))
}

/// What a hit at cycle `at` tells the classifier: nothing when the decoder
/// worked out its reuse, unless it stores.
#[inline(always)]
fn classify_hit(cl: &mut MissClassifier, c: usize, addr: u64, writes: bool, reuse: Reuse, at: Cycle) {
    if !reuse.is_known() {
        cl.access(c as u16, addr, false, reuse);
    }
    if writes {
        cl.store(c as u16, addr, order_key(at, Some(c as u16)));
    }
}

#[inline]
fn count_access(s: &mut CoreStats, op: MemOp) {
    match op {
        MemOp::Load => s.loads += 1,
        MemOp::Store(_) => s.stores += 1,
        _ => s.atomics += 1,
    }
}
