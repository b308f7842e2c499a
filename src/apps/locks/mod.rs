//! Spin locks on shared memory, as programs on the simulated cores: each core
//! takes the lock a number of times; inside, it increments a shared counter
//! with a plain load, some computing and a plain store, so the final count is
//! right only if the lock really excludes. Every run is checked two ways: the
//! mutual-exclusion monitor over simulated time (`exec::monitor`), and the
//! counter. One file per lock, each opening with what it guarantees and costs.

pub mod anderson;
pub mod clh;
pub mod mcs;
pub mod tas;
pub mod ticket;
pub mod ttas;

use std::fmt;

use crate::config::SystemConfig;
use crate::engine::{RunOptions, SimError, Simulator};
use crate::exec::alloc::Alloc;
use crate::exec::cost::{self, OpCost, Phase};
use crate::exec::fault::Plan;
use crate::exec::monitor::{self, Finding};
use crate::exec::{Ctx, Programs, SwEventKind};
use crate::model::Primitive;
use crate::model::network::Cycle;
use crate::rng::SplitMix64;
use crate::stats::Stats;
use crate::verify::invariants::Checker;

/// The lock algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algo {
    Tas,
    Ttas,
    /// TTAS with exponential back-off after a failed swap.
    TtasBackoff,
    Ticket,
    Anderson,
    Mcs,
    Clh,
    /// TTAS taking the lock with a plain load and store: deliberately broken,
    /// for showing the monitors catch it.
    BrokenTtas,
}

impl Algo {
    pub const ALL: [Algo; 8] = [
        Algo::Tas,
        Algo::Ttas,
        Algo::TtasBackoff,
        Algo::Ticket,
        Algo::Anderson,
        Algo::Mcs,
        Algo::Clh,
        Algo::BrokenTtas,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algo::Tas => "tas",
            Algo::Ttas => "ttas",
            Algo::TtasBackoff => "ttas-backoff",
            Algo::Ticket => "ticket",
            Algo::Anderson => "anderson",
            Algo::Mcs => "mcs",
            Algo::Clh => "clh",
            Algo::BrokenTtas => "broken-ttas",
        }
    }

    /// The primitives the acquire and the release are made of (see each file).
    pub fn primitives(self) -> (Primitive, Primitive) {
        match self {
            Algo::Tas | Algo::Ttas | Algo::TtasBackoff | Algo::BrokenTtas => {
                (Primitive::RequestGrant, Primitive::AuthorityCoordinated)
            }
            Algo::Ticket | Algo::Anderson | Algo::Mcs | Algo::Clh => {
                (Primitive::TokenCentral, Primitive::AuthorityCoordinated)
            }
        }
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::apps::by_name(s, &Algo::ALL, Algo::name, "lock algorithm")
    }
}

/// One lock run: the machine, the algorithm and the workload.
#[derive(Clone, Debug)]
pub struct LockRun {
    pub cfg: SystemConfig,
    pub algo: Algo,
    /// Critical-section entries in all, spread over the cores.
    pub entries: u64,
    /// Cycles of computing inside the critical section (between the counter's
    /// load and store).
    pub cs_cycles: Cycle,
    /// Network jitter (cycles, at most), seeded by `cfg.seed`.
    pub jitter: Option<Cycle>,
    /// Stop a run that goes past this cycle.
    pub max_cycles: Option<Cycle>,
    /// Crashes and pauses of the programs.
    pub faults: Plan,
    /// Keep every access, for a native CSV trace of the run (`LockReport::recording`).
    pub record: bool,
    /// Record a timeline of the run.
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

/// What a lock run measured.
#[derive(Clone, Debug)]
pub struct LockReport {
    pub stats: Stats,
    /// Monitor findings (mutual exclusion, and the counter's final value).
    pub violations: Vec<Finding>,
    pub entries_per_core: Vec<u64>,
    /// The longest any acquire waited, in cycles.
    pub longest_wait: Cycle,
    /// Software operations by primitive (tag name, count).
    pub software_primitives: Vec<(&'static str, u64)>,
    pub counter: u64,
    /// A hash of every software event (core, cycle, kind) in the order the
    /// engine reached them: two runs with the same seed give the same hash.
    pub events_hash: u64,
    /// With `LockRun::record`: each core's accesses as trace records.
    pub recording: Option<Vec<Vec<crate::trace::Record>>>,
    /// What each software operation kind cost on average.
    pub ops: Vec<OpCostRow>,
    /// The run's timeline (machine and critical sections), when asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

/// One software operation kind's average cost, from the run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OpCostRow {
    pub op: &'static str,
    /// The primitive tag the operation is made of.
    pub primitive: &'static str,
    pub count: u64,
    /// Coherence messages its requests caused (see `exec::cost`), per operation.
    pub coherence_messages: f64,
    /// Cycles from its start to its end, per operation.
    pub cycles: f64,
}

/// The acquires' and releases' average cost: cycles from `Acquiring` to
/// `Acquired` and from `Releasing` to `Released`, messages charged to those
/// phases.
fn op_costs(algo: Algo, events: &[crate::exec::SwEvent], messages: &[u64; 4]) -> Vec<OpCostRow> {
    let (acq, rel) = algo.primitives();
    let mut rows = Vec::new();
    for (op, tag, start, end, phase) in [
        ("acquire", acq.tag(), SwEventKind::Acquiring, SwEventKind::Acquired, Phase::Acquire),
        ("release", rel.tag(), SwEventKind::Releasing, SwEventKind::Released, Phase::Release),
    ] {
        let took = durations(events, start, end);
        let (count, cycles) = (took.len() as u64, took.iter().sum::<u64>());
        let per = |x: u64| if count == 0 { 0.0 } else { x as f64 / count as f64 };
        rows.push(OpCostRow {
            op,
            primitive: tag,
            count,
            coherence_messages: per(messages[phase as usize]),
            cycles: per(cycles),
        });
    }
    rows
}

/// Where a lock's words live.
#[derive(Clone, Copy, Debug)]
struct Layout {
    counter: u64,
    word: u64,
    serving: u64,
    slots: u64,
    nodes: u64,
    spares: u64,
    line: u64,
}

impl LockRun {
    /// Runs the workload; a protocol or invariant failure of the hardware is an
    /// error, a software finding is a violation in the report.
    pub fn run(&self) -> Result<LockReport, SimError> {
        let cores = self.cfg.cores;
        let line = u64::from(self.cfg.l1.line);
        let mut mem = Alloc::new(0x10_0000, line);
        let n = cores as u64;
        let layout = Layout {
            counter: mem.word(),
            word: mem.word(),
            serving: mem.word(),
            slots: mem.padded(n),
            // An MCS node is two words (locked, next): a line each, at least 16 bytes.
            nodes: mem.lines(n * (16 / line).max(1)),
            spares: mem.padded(n),
            line,
        };
        let per_core: Vec<u64> = (0..n).map(|c| self.entries / n + u64::from(c < self.entries % n)).collect();
        let (algo, cs_cycles, seed) = (self.algo, self.cs_cycles, self.cfg.seed);
        let phases = cost::phases(cores);
        let mut programs = Programs::with_phases(cores, Some(phases.clone()), |ctx| {
            let entries = per_core[ctx.id()];
            lock_loop(ctx, algo, layout, entries, cs_cycles, seed)
        });
        programs.faults = self.faults.clone();
        if self.record {
            programs.record();
        }
        let opts = RunOptions { jitter: self.jitter, max_cycles: self.max_cycles, ..Default::default() };
        let timeline =
            self.timeline.map(|t| crate::stats::timeline::Timeline::new(t, cores, self.cfg.directory.slices));
        let observers = ((Checker::new(cores), OpCost::new(phases)), timeline);
        let mut sim = Simulator::with_observer(self.cfg.clone(), opts, observers);
        sim.run(&mut programs)?;
        let mut timeline = sim.observer_mut().1.take();
        if let Some(t) = timeline.as_mut() {
            t.add_sections(&programs.events);
        }
        // The counter's final value: the last store performed to it (the
        // checker's golden memory, which the data-value check holds every copy to).
        let counter = sim.observer().0.0.golden(layout.counter);
        let mut violations = monitor::mutual_exclusion(&programs.events);
        // Every critical section that released stored its increment; a core that
        // crashed after its store but before its release adds one more.
        let released = programs.events.iter().filter(|e| e.kind == SwEventKind::Releasing).count() as u64;
        let most = released + self.faults.crashing() as u64;
        if counter < released || counter > most {
            violations.push(Finding {
                monitor: "counter",
                cycle: sim.stats.cycles,
                cores: (0..cores).collect(),
                what: format!("the shared counter ends at {counter}, but {released} critical sections completed"),
            });
        }
        let waits = durations(&programs.events, SwEventKind::Acquiring, SwEventKind::Acquired);
        let longest_wait = waits.into_iter().max().unwrap_or(0);
        let ops = op_costs(algo, &programs.events, &sim.observer().0.1.messages);
        // Software operations by primitive, as many as the run completed.
        let mut software: Vec<(&'static str, u64)> = Vec::new();
        for op in &ops {
            match software.iter_mut().find(|(tag, _)| *tag == op.primitive) {
                Some((_, n)) => *n += op.count,
                None => software.push((op.primitive, op.count)),
            }
        }
        software.sort();
        Ok(LockReport {
            stats: sim.stats.clone(),
            violations,
            entries_per_core: per_core,
            longest_wait,
            software_primitives: software,
            counter,
            events_hash: events_hash(&programs.events),
            ops,
            recording: programs.recording(),
            timeline,
        })
    }
}

/// A hash of the events, in order (FxHash: the same on every host and run).
fn events_hash(events: &[crate::exec::SwEvent]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    events.hash(&mut h);
    h.finish()
}

/// How long each core took from a `start` event to its next `end` event, in
/// the order they ended.
fn durations(events: &[crate::exec::SwEvent], start: SwEventKind, end: SwEventKind) -> Vec<Cycle> {
    let mut since = std::collections::BTreeMap::new();
    let mut took = Vec::new();
    for e in events {
        if e.kind == start {
            since.insert(e.core, e.cycle);
        } else if e.kind == end
            && let Some(t) = since.remove(&e.core)
        {
            took.push(e.cycle - t);
        }
    }
    took
}

/// One core's program: `entries` times acquire, update the counter, release,
/// with a little seeded think time between.
async fn lock_loop(ctx: Ctx, algo: Algo, l: Layout, entries: u64, cs_cycles: Cycle, seed: u64) {
    let me = ctx.id() as u64;
    let n = ctx.cores() as u64;
    let mut rng = SplitMix64::new(seed ^ (me + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let backoff = ttas::Backoff { min: 4, max: 256 };
    let mut clh_nodes = clh::Nodes { mine: l.nodes + me * l.line, pred: 0, spare: l.spares + me * l.line };
    for _ in 0..entries {
        ctx.compute(rng.below(32)).await;
        ctx.event(SwEventKind::Acquiring);
        let mut ticket = 0;
        match algo {
            Algo::Tas => {
                tas::acquire(&ctx, l.word).await;
            }
            Algo::Ttas => {
                ttas::acquire(&ctx, l.word, None, &mut rng).await;
            }
            Algo::TtasBackoff => {
                ttas::acquire(&ctx, l.word, Some(&backoff), &mut rng).await;
            }
            Algo::BrokenTtas => {
                ttas::broken_acquire(&ctx, l.word).await;
            }
            Algo::Ticket => ticket = ticket::acquire(&ctx, l.word, l.serving).await,
            Algo::Anderson => ticket = anderson::acquire(&ctx, l.word, l.slots, n, l.line).await,
            Algo::Mcs => mcs::acquire(&ctx, l.word, l.nodes + me * l.line.max(16)).await,
            Algo::Clh => clh::acquire(&ctx, l.word, &mut clh_nodes).await,
        }
        ctx.event(SwEventKind::Acquired);
        // The critical section: a plain read-modify-write of the counter.
        let v = ctx.load(l.counter).await;
        ctx.compute(cs_cycles).await;
        ctx.store(l.counter, v + 1).await;
        ctx.event(SwEventKind::Releasing);
        match algo {
            Algo::Tas => tas::release(&ctx, l.word).await,
            Algo::Ttas | Algo::TtasBackoff | Algo::BrokenTtas => ttas::release(&ctx, l.word).await,
            Algo::Ticket => ticket::release(&ctx, l.serving, ticket).await,
            Algo::Anderson => anderson::release(&ctx, l.slots, n, l.line, ticket).await,
            Algo::Mcs => mcs::release(&ctx, l.word, l.nodes + me * l.line.max(16)).await,
            Algo::Clh => clh::release(&ctx, &mut clh_nodes).await,
        }
        ctx.event(SwEventKind::Released);
    }
}
