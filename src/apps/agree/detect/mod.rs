//! Failure detection on the cores: heartbeats with fixed timeouts
//! (`cohsim app heartbeat`) and the phi accrual detector (`cohsim app phi`),
//! one actor (`heartbeat::Detector`) with two rules for its watches.
//!
//! **Workload.** `--ops` is the number of heartbeat periods of the fault
//! window: a drawn fault plan puts its faults in the first `ops / 2` periods
//! (`horizon`), and every process runs `ops + settle` periods by its clock
//! (`settle`: enough for the slowest level to notice the latest crash), then
//! counts as finished (it goes on beating until every live process has). The
//! period grows with the core count (a beat is `N − 1` ring writes).
//!
//! **Levels.** `heartbeat` evaluates timeouts of 1.5, 3 and 6 periods;
//! `phi` thresholds 1, 3 and 8 with σ at least a quarter period. All
//! levels watch the same arrivals in the same run.
//!
//! **Grading** (`grade`): per level, `detection_cycles` (mean, max) from a
//! true crash-stop to the standing suspicion by each live monitor, and
//! `false_suspicions` (pauses count: see `grade`); the completeness monitor
//! is the safety-like finding. Accuracy is measured, not enforced.

pub mod check;
pub mod grade;
pub mod heartbeat;
pub mod phi;

use std::ops::RangeInclusive;

use heartbeat::{Broken, DetState, Detector, Rule};

use super::{App, CheckSummary, Outcome, Spec};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::fault::Plan;
use crate::model::network::Cycle;

/// Cycles between a process's heartbeats on `cores` cores: a beat is
/// `N − 1` ring writes of some 100–200 cycles each, and a process must also
/// take `N − 1` beats a period, so the period grows with `N`.
pub fn period(cores: usize) -> Cycle {
    1000 + 250 * cores as Cycle
}

/// The periods run after the fault window: enough for the slowest level
/// to notice the latest crash on a regular window: the longest timeout
/// (6 periods) and two more; for phi, θ = 8 at σ = P/4 is about 2.4
/// periods, and 8 are given (a window with delayed beats stretches μ).
fn settle(rule: &Rule) -> u64 {
    match rule {
        Rule::Timeouts(_) => 6 + 2,
        Rule::Phi { .. } => 8,
    }
}

fn rule(phi: bool, p: Cycle) -> Rule {
    if phi { Rule::phi(vec![1.0, 3.0, 8.0], p / 4) } else { Rule::Timeouts(vec![3 * p / 2, 3 * p, 6 * p]) }
}

/// The detector `spec` runs.
pub fn detector(spec: &Spec, phi: bool, broken: Broken) -> Detector {
    let p = period(spec.cfg.cores);
    let rule = rule(phi, p);
    let end = (u64::from(spec.ops) + settle(&rule)) * p;
    Detector { processes: spec.cfg.cores, period: p, rule, end, broken }
}

/// Runs `spec` with `actor` and grades it.
pub fn run_detector(spec: &Spec, actor: Detector) -> Result<(Finished, Outcome), SimError> {
    let cores = spec.cfg.cores;
    let p = actor.period;
    let setup = Setup {
        timeline: spec.timeline,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        // Generous: twice the planned run, for a run slowed by its faults.
        deadline: Some(2 * actor.end + 100 * p),
        // The incarnation number written at each start.
        save_cycles: 200,
        stall: 20 * p,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, actor.clone(), &setup)?;
    let end = done.sim.stats.cycles;
    let notes = done.net.notes.borrow().clone();
    let finals: Vec<Option<DetState>> = done
        .net
        .finals
        .borrow()
        .iter()
        .map(|f| f.as_ref().and_then(|b| b.downcast_ref::<DetState>()).cloned())
        .collect();
    let (levels, violations) = grade::grade(&actor, &spec.faults, &notes, &finals, end);
    let beats = done.net.log.borrow().iter().filter(|m| m.kind == "beat").count() as u64;
    let finished = (0..cores)
        .all(|c| spec.faults.crash_stop(c).is_some() || finals[c].as_ref().is_some_and(|s| s.now >= actor.end));
    let (fields, rows) = grade::fields(&levels);
    let outcome = Outcome {
        violations,
        finished,
        // Operations: heartbeat rounds (a beat to every other process).
        ops: beats / (cores as u64 - 1).max(1),
        // Latencies: detection at the middle level.
        latencies: levels.get(1).map(|l| l.detections.clone()).unwrap_or_default(),
        fields,
        rows,
    };
    Ok((done, outcome))
}

fn broken_of(variant: &str) -> Broken {
    match variant {
        "broken-never-suspects" => Broken::NeverSuspects,
        "broken-unheard-trusted" => Broken::UnheardTrusted,
        _ => Broken::None,
    }
}

/// `cohsim app heartbeat`.
pub struct HeartbeatApp;
/// `cohsim app phi`.
pub struct PhiApp;

pub static HEARTBEAT: HeartbeatApp = HeartbeatApp;
pub static PHI: PhiApp = PhiApp;

fn horizon(spec: &Spec) -> Cycle {
    u64::from(spec.ops) * period(spec.cfg.cores) / 2
}

impl App for HeartbeatApp {
    fn name(&self) -> &'static str {
        "heartbeat"
    }
    fn about(&self) -> &'static str {
        "all-to-all heartbeats, suspicion after a timeout (several timeouts at once)"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["timeouts", "broken-never-suspects"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=16
    }
    fn default_ops(&self) -> u32 {
        40
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        horizon(spec)
    }
    /// Every process finishes by its clock: nothing it waits for can fail.
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run_detector(spec, detector(spec, false, broken_of(spec.variant)))
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check(false, variant, broken_of(variant)))
    }
}

impl App for PhiApp {
    fn name(&self) -> &'static str {
        "phi"
    }
    fn about(&self) -> &'static str {
        "phi accrual failure detector (Hayashibara et al. 2004), thresholds 1, 3 and 8 at once"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["normal", "broken-unheard-trusted"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=16
    }
    fn default_ops(&self) -> u32 {
        40
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        horizon(spec)
    }
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run_detector(spec, detector(spec, true, broken_of(spec.variant)))
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check(true, variant, broken_of(variant)))
    }
}
