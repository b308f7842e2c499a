//! Leader election on the cores and in the model checker: the bully algorithm
//! and Chang–Roberts ring election, graded on the live processes' final
//! beliefs (one leader per epoch; agreement on the highest live id); each
//! broken variant caught both ways.

use cohsim::apps::agree::election::check::{A_LEADER, SETTLED_AGREEMENT};
use cohsim::apps::agree::election::{Bully, Ring};
use cohsim::apps::agree::{self, App, Report, Spec, campaign};
use cohsim::config::SystemConfig;
use cohsim::exec::fault::{Fault, Plan};

fn spec(cores: usize, seed: u64, ops: u32, variant: &'static str, faults: &[&str]) -> Spec {
    Spec {
        timeline: None,
        cfg: SystemConfig { cores, seed, ..SystemConfig::default() },
        faults: Plan { faults: faults.iter().map(|f| Fault::parse(f, cores).unwrap()).collect() },
        jitter: None,
        ops,
        variant,
    }
}

fn run(app: &dyn App, s: &Spec) -> Report {
    agree::run(app, s).expect("the hardware runs clean")
}

fn kind(r: &Report, k: &str) -> usize {
    r.messages.iter().filter(|m| m.kind == k).count()
}

#[test]
fn bully_message_counts_are_derived_by_hand() {
    // N = 4, two elections, each started by every process at once (start-up,
    // then the leader's Resign): per election N(N − 1)/2 = 6 Elections (each
    // to every higher id), 6 Oks, N − 1 = 3 Coordinators; one Resign round of
    // N − 1 = 3. Heartbeats (Alive) depend on the run's length.
    let r = run(&Bully, &spec(4, 1, 2, "correct", &[]));
    assert!(r.ok(), "{:?}", r.violations);
    assert!(r.outcome.finished);
    assert_eq!([kind(&r, "election"), kind(&r, "ok"), kind(&r, "coordinator"), kind(&r, "resign")], [12, 12, 6, 3]);
    assert_eq!(r.outcome.fields["leader"], 3);
}

#[test]
fn ring_message_counts_are_derived_by_hand() {
    // N = 4, two elections. The first, started by process 0: 0's candidacy
    // is replaced at each hop up to 3 (N − 1 = 3 Elect), 3's goes round (N = 4),
    // then Elected round the ring (4): 3N − 1 = 11 ring messages. The second,
    // started by the leader 3 stepping down: its candidacy round (4) and
    // Elected (4). Elect 7 + 4 = 11, Elected 8, each ring message acked: 19.
    let r = run(&Ring, &spec(4, 1, 2, "correct", &[]));
    assert!(r.ok(), "{:?}", r.violations);
    assert!(r.outcome.finished);
    assert_eq!([kind(&r, "elect"), kind(&r, "elected"), kind(&r, "ack")], [11, 8, 19]);
    assert_eq!(r.outcome.fields["leader"], 3);
}

#[test]
fn a_crashed_leader_is_replaced_by_the_next_highest() {
    // The highest (core 4) crashes for good after the first election: the
    // followers' leases run out and core 3 is elected.
    for app in [&Bully as &dyn App, &Ring] {
        let r = run(app, &spec(5, 2, 2, "correct", &["crash:4@20000"]));
        assert!(r.ok(), "{}: {:?}", app.name(), r.violations);
        assert_eq!(r.outcome.fields["leader"], 3, "{}", app.name());
    }
}

#[test]
fn a_recovering_higher_process_takes_over() {
    // Core 4 crashes and recovers: meanwhile 3 leads; back, 4 starts an
    // election above its saved epoch and wins it.
    for app in [&Bully as &dyn App, &Ring] {
        let r = run(app, &spec(5, 3, 2, "correct", &["crash:4@5000+30000"]));
        assert!(r.ok(), "{}: {:?}", app.name(), r.violations);
        assert_eq!(r.restarts, 1);
        assert_eq!(r.outcome.fields["leader"], 4, "{}", app.name());
    }
}

#[test]
fn runs_are_deterministic() {
    for app in [&Bully as &dyn App, &Ring] {
        let s = spec(5, 9, 2, "correct", &["drop:0.05", "crash:3@4000+9000"]);
        assert_eq!(run(app, &s).events_hash, run(app, &s).events_hash, "{}", app.name());
    }
}

#[test]
fn broken_variants_are_caught_by_the_run_monitors() {
    // Fault-free: the lower-wins bully elects core 0; the ring that never
    // compares elects its initiator, core 0. Agreement on the highest live
    // id fails.
    for (app, v) in [(&Bully as &dyn App, "broken-lower-wins"), (&Ring, "broken-no-compare")] {
        let r = run(app, &spec(4, 1, 2, v, &[]));
        assert!(r.violations.iter().any(|f| f.monitor == "agreement"), "{v}: {:?}", r.violations);
        assert_eq!(r.outcome.fields["leader"], 0);
    }
}

/// Three processes, one election (see `election::check` for the bounds);
/// the broken variants' settled states name the wrong leader.
#[test]
fn stateright_checks_the_elections() {
    for app in [&Bully as &dyn App, &Ring] {
        let c = app.check("correct").unwrap();
        assert!(c.ok(), "{c:?}");
        // Regression pins: unique states, the checker's own count.
        let pin = if app.name() == "bully" { 9_124 } else { 207_690 };
        assert_eq!(c.states, pin, "{}: regression pin moved", app.name());
        let broken = app.check(app.variants()[1]).unwrap();
        let p = broken.properties.iter().find(|p| p.name == SETTLED_AGREEMENT).unwrap();
        assert!(!p.holds(), "{}: {broken:?}", app.name());
        assert!(broken.properties.iter().any(|p| p.name == A_LEADER && p.holds()));
    }
}

fn campaign_of(app: &dyn App) {
    let r = campaign::run(app, &spec(5, 0, 3, "correct", &[]), 1, 30, true, 1, &|| {});
    assert_eq!(r.seeds_run, 30);
    assert!(r.failing.is_empty(), "{}: {:#?}", app.name(), r.failing);
}

#[test]
fn bully_campaign_has_no_failing_seed() {
    campaign_of(&Bully);
}

/// Known open failure, pinned as such: seed 15 (`crash:4@51901 drop:0.1
/// dup:0.04`) ends at its deadline with the beliefs unsettled (a liveness
/// finding), not yet diagnosed. Every other seed of 1..=30 passes, and no seed
/// breaks safety.
#[test]
fn ring_campaign_fails_only_seed_15_and_only_liveness() {
    let r = campaign::run(&Ring, &spec(5, 0, 3, "correct", &[]), 1, 30, true, 1, &|| {});
    assert_eq!(r.seeds_run, 30);
    for f in &r.failing {
        assert_eq!(f.seed, 15, "{:#?}", f.violations);
        assert!(f.violations.iter().all(|v| v.monitor == "liveness"), "{:#?}", f.violations);
    }
}

#[test]
#[ignore]
fn campaigns_by_hand() {
    for app in [&Bully as &dyn App, &Ring] {
        let r = campaign::run(app, &spec(5, 0, 3, "correct", &[]), 1, 10_000, true, 2, &|| {});
        assert!(r.failing.is_empty(), "{}: {} failing, first {:#?}", app.name(), r.failing.len(), r.failing.first());
    }
}
