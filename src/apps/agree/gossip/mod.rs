//! Dissemination and convergence on the cores: gossip membership
//! (`cohsim app gossip`) and replicated counters shipped by gossip
//! (`cohsim app crdt`), one actor (`actor::Gossiper`, push-pull rounds).
//!
//! **Workload.** `gossip`: `--ops` is the number of rounds of the fault
//! window, and nothing else is done but membership. `crdt`: `--ops` is the
//! number of counter operations in total, process `i` making
//! `ops / N` (one more for `i < ops mod N`), one per round from its first;
//! operation `k` of a process adds 1 to the G-counter and +1 (even `k`) or
//! −1 (odd `k`) to the PN-counter. The fault window is `max(20, 2⌈ops/N⌉)`
//! rounds. A drawn plan puts its faults in the first half of the window
//! (`horizon`); every process runs the window and `settle` rounds more by
//! its clock (a failure must be noticed, `fail_after`, and the news spread,
//! `O(log N)` rounds), then counts as finished.
//!
//! **Grading** (`grade`): membership views against the live set, heartbeats
//! bounded by their owners'; counters bounded by the operations made,
//! monotonic reads, convergence to the value `grade` defines. Fields:
//! `converged_at`, the final views or values.

pub mod actor;
pub mod check;
pub mod crdt;
pub mod grade;
pub mod membership;

use std::ops::RangeInclusive;

use actor::{GossipState, Gossiper};

use super::{App, CheckSummary, Outcome, Spec};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::fault::Plan;
use crate::model::network::Cycle;

/// Cycles between a process's rounds: a round is a push and a pull of
/// `3N` counts each, taken and merged.
pub fn round(cores: usize) -> Cycle {
    1500 + 200 * cores as Cycle
}

fn log2(cores: usize) -> u64 {
    u64::from(cores.max(2).next_power_of_two().trailing_zeros())
}

/// Rounds without a heartbeat rise before a member is failed.
pub fn fail_rounds(cores: usize) -> u64 {
    5 + 2 * log2(cores)
}

/// Rounds run after the fault window: failing a member and spreading it.
pub fn settle(cores: usize) -> u64 {
    fail_rounds(cores) + 2 * log2(cores) + 6
}

/// Operations per process: `ops` split as evenly as can be.
pub fn shares(ops: u32, cores: usize) -> Vec<u32> {
    let n = cores as u32;
    (0..n).map(|i| ops / n + u32::from(i < ops % n)).collect()
}

/// The rounds of the fault window.
fn window(spec: &Spec, crdt: bool) -> u64 {
    if crdt { 20.max(2 * u64::from(spec.ops).div_ceil(spec.cfg.cores as u64)) } else { u64::from(spec.ops) }
}

pub fn gossiper(spec: &Spec, crdt: bool) -> Gossiper {
    let n = spec.cfg.cores;
    let r = round(n);
    Gossiper {
        processes: n,
        round: r,
        fail_after: fail_rounds(n) * r,
        ops: if crdt { shares(spec.ops, n) } else { vec![0; n] },
        end: (window(spec, crdt) + settle(n)) * r,
        sum: spec.variant == "broken-sum-merge",
    }
}

fn run_gossip(spec: &Spec, crdt: bool) -> Result<(Finished, Outcome), SimError> {
    let n = spec.cfg.cores;
    let actor = gossiper(spec, crdt);
    let setup = Setup {
        timeline: spec.timeline,
        // A digest is at most 45 bytes a member (the table's incarnation and
        // count, three counts, as varints) and a few bytes of framing.
        slot_lines: 1 + (45 * n as u64 + 16) / 64,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(2 * actor.end + 100 * actor.round),
        // The incarnation and the own entries, written at each start and op.
        save_cycles: 200,
        stall: 20 * actor.round,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, actor.clone(), &setup)?;
    let end = done.sim.stats.cycles;
    let notes = done.net.notes.borrow().clone();
    let finals: Vec<Option<GossipState>> = done
        .net
        .finals
        .borrow()
        .iter()
        .map(|f| f.as_ref().and_then(|b| b.downcast_ref::<GossipState>()).cloned())
        .collect();
    let last_op = notes.iter().filter(|x| x.note.kind == "op").map(|x| x.cycle).max().unwrap_or(0);
    let graded = end.saturating_sub(grade::quiet(&spec.faults).max(last_op)) >= settle(n) * actor.round;
    let (violations, fields) = if crdt {
        grade::counters(&spec.faults, &notes, &finals, &actor.ops, end, graded)
    } else {
        grade::membership(&spec.faults, &notes, &finals, end, graded)
    };
    let live = grade::live(&spec.faults, &finals);
    let finished = live.len() == (0..n).filter(|&c| spec.faults.crash_stop(c).is_none()).count()
        && live.iter().all(|(_, s)| s.now >= actor.end);
    let rows = fields.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let ops =
        if crdt { live.iter().map(|(_, s)| u64::from(s.done)).sum() } else { done.net.log.borrow().len() as u64 / 2 };
    let outcome = Outcome { violations, finished, ops, latencies: Vec::new(), fields, rows };
    Ok((done, outcome))
}

/// `cohsim app gossip`.
pub struct GossipApp;
/// `cohsim app crdt`.
pub struct CrdtApp;

pub static GOSSIP: GossipApp = GossipApp;
pub static CRDT: CrdtApp = CrdtApp;

impl App for GossipApp {
    fn name(&self) -> &'static str {
        "gossip"
    }
    fn about(&self) -> &'static str {
        "gossip membership: push-pull rounds of heartbeat tables, failed members removed after a timeout"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["push-pull", "broken-sum-merge"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=16
    }
    fn default_ops(&self) -> u32 {
        40
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        window(spec, false) * round(spec.cfg.cores) / 2
    }
    /// Every process finishes by its clock.
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run_gossip(spec, false)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check(false, variant))
    }
}

impl App for CrdtApp {
    fn name(&self) -> &'static str {
        "crdt"
    }
    fn about(&self) -> &'static str {
        "G-counter and PN-counter CRDTs shipped by gossip rounds, merged by max"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["max-merge", "broken-sum-merge"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=16
    }
    fn default_ops(&self) -> u32 {
        32
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        window(spec, true) * round(spec.cfg.cores) / 2
    }
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run_gossip(spec, true)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check(true, variant))
    }
}
