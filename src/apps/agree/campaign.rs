//! A fault campaign (`--seeds K`): one app run on K consecutive seeds, each
//! under the given fault plan or, without one, under a plan drawn from the
//! seed: crash-stops of a minority, a crash-recovery, a pause (a slow core
//! that looks dead), message loss, duplication and delay, and a two-way
//! partition of a minority that heals. Every run is graded by the app's
//! monitors; a failing seed is kept with its plan and the command that
//! replays it exactly. Seeds run on host threads; the report does not
//! depend on how many (each seed's run is its own, results sorted by seed).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{App, Spec};
use crate::exec::fault::{Fault, Pick, Plan};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;
use crate::rng::SplitMix64;

/// A seed whose run a monitor failed (or whose machine failed).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Failing {
    pub seed: u64,
    pub faults: String,
    pub violations: Vec<Finding>,
    pub replay: String,
}

#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    pub seeds_run: u64,
    /// Seeds whose workload completed.
    pub finished: u64,
    pub failing: Vec<Failing>,
    /// Software messages and cycles over all runs.
    pub messages: u64,
    pub cycles: u64,
}

/// The plan drawn for `seed` on `cores` cores, its faults within `horizon`
/// cycles. At most a minority ((cores − 1) / 2) crash for good.
pub fn draw(cores: usize, seed: u64, horizon: Cycle) -> Plan {
    let mut rng = SplitMix64::new(seed ^ 0x5eed_fa17_0000_0000);
    let horizon = horizon.max(100);
    let minority = (cores.saturating_sub(1)) / 2;
    let mut order: Vec<usize> = (0..cores).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let chance = |rng: &mut SplitMix64, p: f64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p;
    let span = |rng: &mut SplitMix64, lo: Cycle, hi: Cycle| lo + rng.below(hi.saturating_sub(lo).max(1));
    let mut faults = Vec::new();
    let crashes = rng.below(minority as u64 + 1) as usize;
    for &core in &order[..crashes] {
        faults.push(Fault::Crash { core, at: rng.below(horizon) });
    }
    let rest = &order[crashes..];
    if !rest.is_empty() && chance(&mut rng, 0.3) {
        let core = rest[rng.below(rest.len() as u64) as usize];
        faults.push(Fault::Restart { core, at: rng.below(horizon), cycles: span(&mut rng, horizon / 20, horizon / 4) });
    }
    if !rest.is_empty() && chance(&mut rng, 0.3) {
        let core = rest[rng.below(rest.len() as u64) as usize];
        faults.push(Fault::Pause { core, at: rng.below(horizon), cycles: span(&mut rng, horizon / 10, horizon / 2) });
    }
    if chance(&mut rng, 0.5) {
        faults.push(Fault::Drop(Pick::Chance((1 + rng.below(10)) as f64 / 100.0)));
    }
    if chance(&mut rng, 0.3) {
        faults.push(Fault::Duplicate(Pick::Chance((1 + rng.below(5)) as f64 / 100.0)));
    }
    if chance(&mut rng, 0.5) {
        faults
            .push(Fault::Delay { p: (1 + rng.below(6)) as f64 / 20.0, cycles: span(&mut rng, 50, horizon / 20 + 51) });
    }
    if cores >= 2 && chance(&mut rng, 0.3) {
        // A minority (one core at least) cut off both ways, then healed.
        let k = 1 + rng.below(minority.max(1) as u64) as usize;
        let (side, other) = order.split_at(k);
        let (at, cycles) = (rng.below(horizon), span(&mut rng, horizon / 10, horizon / 2));
        faults.push(Fault::Partition { from: side.to_vec(), to: other.to_vec(), at, cycles });
        faults.push(Fault::Partition { from: other.to_vec(), to: side.to_vec(), at, cycles });
    }
    Plan { faults }
}

/// Runs `app` on seeds `first..first + count` of `base`, each under
/// `base.faults` or, when `drawn`, under the plan `draw` gives its seed;
/// `jobs` host threads; `tick` is called after each seed.
pub fn run(
    app: &dyn App,
    base: &Spec,
    first: u64,
    count: u64,
    drawn: bool,
    jobs: usize,
    tick: &(dyn Fn() + Sync),
) -> CampaignReport {
    let next = AtomicUsize::new(0);
    let seeds: Vec<u64> = (0..count).map(|k| first.wrapping_add(k)).collect();
    let horizon = app.horizon(base);
    let results: Vec<Vec<(u64, Seeded)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&seed) = seeds.get(i) else { break };
                        let mut spec = base.clone();
                        spec.cfg.seed = seed;
                        if drawn {
                            spec.faults = draw(spec.cfg.cores, seed, horizon);
                        }
                        mine.push((seed, one(app, &spec)));
                        tick();
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a campaign worker panicked")).collect()
    });
    let mut all: Vec<(u64, Seeded)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(seed, _)| *seed);
    let mut report = CampaignReport { seeds_run: all.len() as u64, ..CampaignReport::default() };
    for (_, r) in all {
        report.finished += r.finished as u64;
        report.messages += r.messages;
        report.cycles += r.cycles;
        report.failing.extend(r.failing);
    }
    report
}

/// One seed's run, as the campaign keeps it.
struct Seeded {
    finished: bool,
    messages: u64,
    cycles: u64,
    failing: Option<Failing>,
}

fn one(app: &dyn App, spec: &Spec) -> Seeded {
    let faults = spec.faults.faults.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" ");
    match super::run(app, spec) {
        Ok(r) => Seeded {
            finished: r.outcome.finished,
            messages: r.messages.len() as u64,
            cycles: r.stats.cycles,
            failing: (!r.ok()).then(|| Failing {
                seed: spec.cfg.seed,
                faults,
                replay: r.replay(),
                violations: r.violations,
            }),
        },
        Err(e) => Seeded {
            finished: false,
            messages: 0,
            cycles: 0,
            failing: Some(Failing {
                seed: spec.cfg.seed,
                replay: String::new(),
                faults,
                violations: vec![Finding { monitor: "machine", cycle: 0, cores: Vec::new(), what: e.to_string() }],
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_plans_crash_a_minority_at_most_and_replay() {
        for seed in 0..500 {
            let plan = draw(5, seed, 10_000);
            assert_eq!(plan, draw(5, seed, 10_000), "the same seed draws the same plan");
            // 5 cores: at most 2 crash for good.
            assert!(plan.crashing() <= 2, "seed {seed}: {plan:?}");
            for f in &plan.faults {
                // Every drawn fault spells as the command line reads it back.
                assert_eq!(&Fault::parse(&f.to_string(), 5).unwrap(), f);
            }
        }
        // Over 500 seeds every kind of fault is drawn.
        let kinds: std::collections::BTreeSet<&str> = (0..500)
            .flat_map(|s| draw(5, s, 10_000).faults)
            .map(|f| match f {
                Fault::Crash { .. } => "crash",
                Fault::Restart { .. } => "restart",
                Fault::Pause { .. } => "pause",
                Fault::Drop(_) => "drop",
                Fault::Duplicate(_) => "dup",
                Fault::Delay { .. } => "delay",
                Fault::Partition { .. } => "partition",
            })
            .collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        // One core: nothing may crash for good.
        assert!((0..100).all(|s| draw(1, s, 1000).crashing() == 0));
    }
}
