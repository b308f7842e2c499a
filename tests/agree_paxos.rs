//! Paxos and Multi-Paxos on the cores (`cohsim app paxos`, `multipaxos`):
//! message counts derived by hand, determinism, fault campaigns with drawn
//! plans, the broken variant caught by stateright and by the run monitors.

use cohsim::apps::agree::paxos::check;
use cohsim::apps::agree::paxos::{MULTIPAXOS, PAXOS};
use cohsim::apps::agree::{self, App, Spec, campaign};
use cohsim::config::SystemConfig;
use cohsim::exec::fault::{Fault, Plan};

const BROKEN: &str = "broken-lower-ballot";

fn spec(cores: usize, ops: u32, seed: u64, variant: &'static str, faults: &[&str]) -> Spec {
    Spec {
        timeline: None,
        cfg: SystemConfig { cores, seed, ..SystemConfig::default() },
        faults: Plan { faults: faults.iter().map(|f| Fault::parse(f, cores).unwrap()).collect() },
        jitter: None,
        ops,
        variant,
    }
}

fn kinds(r: &agree::Report, kind: &str) -> usize {
    r.messages.iter().filter(|m| m.kind == kind).count()
}

/// Single-decree Paxos with one proposer on N processes sends, per decree,
/// N − 1 each of Prepare, Promise, Accept, Accepted and Decide (every
/// acceptor answers, the proposer acts as its own acceptor without a
/// message): 5(N − 1). Four decrees: 40 messages on 3 cores, 80 on 5.
#[test]
fn paxos_message_counts_by_hand() {
    for (cores, want) in [(3, 40), (5, 80)] {
        let s = spec(cores, 4, 1, "correct", &[]);
        let (done, o) = PAXOS.run_with(&s, 1).unwrap();
        let log = done.net.log.borrow();
        assert_eq!(log.len(), want, "{cores} cores");
        for kind in ["prepare", "promise", "accept", "accepted", "decide"] {
            assert_eq!(log.iter().filter(|m| m.kind == kind).count(), 4 * (cores - 1), "{kind} on {cores} cores");
        }
        assert!(o.finished && o.violations.is_empty(), "{:?}", o.violations);
        // The only proposer's value (process 0 proposes 1) in every decree.
        assert_eq!(o.fields["decided"], serde_json::json!([1, 1, 1, 1]));
        assert_eq!((o.ops, o.latencies.len()), (4, 4));
    }
}

/// Multi-Paxos on N processes with C commands: phase 1 once (N − 1 Prepare,
/// N − 1 Promise), then per command one Request (the clients are not the
/// leader) and N − 1 each of Accept, Accepted and Decide:
/// 2(N − 1) + C(3(N − 1) + 1). 3 cores, 20 commands: 4 + 20 x 7 = 144;
/// 5 cores, 10 commands: 8 + 10 x 13 = 138.
#[test]
fn multipaxos_message_counts_by_hand() {
    for (cores, ops, want) in [(3, 20, 144), (5, 10, 138)] {
        let r = agree::run(&MULTIPAXOS, &spec(cores, ops, 1, "correct", &[])).unwrap();
        assert_eq!(r.messages.len(), want, "{cores} cores");
        assert_eq!((kinds(&r, "prepare"), kinds(&r, "promise")), (cores - 1, cores - 1));
        assert_eq!(kinds(&r, "request"), ops as usize);
        for kind in ["accept", "accepted", "decide"] {
            assert_eq!(kinds(&r, kind), ops as usize * (cores - 1), "{kind} on {cores} cores");
        }
        assert!(r.outcome.finished && r.ok(), "{:?}", r.violations);
        assert_eq!(r.outcome.ops, ops as u64);
        assert_eq!(r.outcome.fields["duplicate_slots"], 0);
    }
}

#[test]
fn same_seed_same_run() {
    for app in [&PAXOS as &dyn App, &MULTIPAXOS] {
        let s = spec(5, 4, 7, "correct", &["drop:0.05", "crash:1@3000+4000", "delay:0.2+300"]);
        let (a, b) = (agree::run(app, &s).unwrap(), agree::run(app, &s).unwrap());
        assert_eq!(a.events_hash, b.events_hash, "{}", app.name());
        assert!(a.ok() && a.outcome.finished, "{}: {:?}", app.name(), a.violations);
        assert!(a.restarts == 1 && a.saves > 0, "{}: the restart read back what was saved", app.name());
        let c =
            agree::run(app, &spec(5, 4, 8, "correct", &["drop:0.05", "crash:1@3000+4000", "delay:0.2+300"])).unwrap();
        assert_ne!(a.events_hash, c.events_hash, "{}: another seed, another run", app.name());
    }
}

/// 30 seeds of each app on 5 cores under plans drawn from the seed (a
/// minority crashing for good, restarts, pauses, loss, duplicates, delays,
/// healing partitions): no monitor finds anything, and every run finishes.
#[test]
fn campaigns_of_drawn_plans_find_nothing() {
    for (app, ops) in [(&PAXOS as &dyn App, 3), (&MULTIPAXOS, 8)] {
        let base = spec(5, ops, 0, "correct", &[]);
        let r = campaign::run(app, &base, 1, 30, true, 1, &|| {});
        assert_eq!(r.seeds_run, 30);
        assert!(r.failing.is_empty(), "{}: {:#?}", app.name(), r.failing);
        assert_eq!(r.finished, 30, "{}", app.name());
    }
}

/// Regression (campaign seed 424, no crash-stop): client 2 crashes at
/// 49,190 with its last command (2.4, slot 19) outstanding; the leader
/// decides it while 2 is down, and the `Decide`s for slots 16-19 wait in 2's
/// ring. 2 restarts at 63,119: its saved log ends at slot 15, so it resumes
/// at command 2.4, then reads the waiting `Decide`s (learning 2.4) before its
/// `Issue` fires. It used to issue 2.4 again: the leader drops a request for
/// a learned command, and 2 learned nothing new that would clear it, so it
/// never finished. Now a client skips its own learned commands, and the run
/// is the fault-free one: 5 cores, 20 commands, 8 + 20 x 13 = 268 messages,
/// one Request per command, one leadership, done before the pause at
/// 109,015. The other three seeds of that campaign (a crash-recovery beside
/// a crash-stop, a pause or duplicates) finish too.
#[test]
fn a_restarted_client_does_not_issue_a_learned_command_again() {
    let r = agree::run(&MULTIPAXOS, &spec(5, 20, 424, "correct", &["crash:2@49190+13929", "pause:2@109015+52836"]))
        .unwrap();
    assert!(r.ok() && r.outcome.finished, "{:?}", r.violations);
    assert_eq!((r.restarts, r.outcome.ops), (1, 20));
    assert_eq!((r.messages.len(), kinds(&r, "request")), (268, 20));
    assert_eq!(
        (r.outcome.fields["leaders"].clone(), r.outcome.fields["duplicate_slots"].clone()),
        (1.into(), 0.into())
    );
    for (seed, plan) in [
        (268, &["crash:3@53214", "crash:1@52771+26526", "dup:0.04"][..]),
        (1547, &["crash:4@92016", "crash:3@50430+11073"][..]),
        (3071, &["crash:1@93582", "crash:2@49500+7269", "pause:4@73745+27261"][..]),
    ] {
        let r = agree::run(&MULTIPAXOS, &spec(5, 20, seed, "correct", plan)).unwrap();
        assert!(r.ok() && r.outcome.finished, "seed {seed}: {:?}", r.violations);
        assert_eq!(r.outcome.ops, 20, "seed {seed}");
    }
}

/// The long campaigns (`cargo test --release --test agree_paxos -- --ignored`).
#[test]
#[ignore]
fn campaigns_of_ten_thousand_seeds_by_hand() {
    for (app, ops) in [(&PAXOS as &dyn App, 3), (&MULTIPAXOS, 8)] {
        let base = spec(5, ops, 0, "correct", &[]);
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        let r = campaign::run(app, &base, 1, 10_000, true, jobs, &|| {});
        assert!(r.failing.is_empty(), "{}: {} failing, first {:#?}", app.name(), r.failing.len(), r.failing.first());
    }
}

/// Regression pin: the state count comes from the checker (3 processes, 2
/// proposers, one decree, one ballot per proposer, no queries; see
/// `check`'s notes). Agreement and validity hold, a decision is reachable.
#[test]
fn paxos_model_checks_and_pins_its_states() {
    let c = PAXOS.check("correct").unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!((c.states, c.depth), (47_916, 22), "regression pin");
    assert_eq!(c.properties.len(), 3);
}

/// Stateright's counterexample: two proposers complete phase 1, and an
/// acceptor that promised the higher ballot accepts the lower one's value,
/// completing both phase 2 quorums with different values.
#[test]
fn broken_lower_ballot_caught_by_stateright() {
    let c = PAXOS.check(BROKEN).unwrap();
    let agreement = c.properties.iter().find(|p| p.name == check::AGREEMENT).unwrap();
    assert!(!agreement.holds(), "{c:?}");
    let path = agreement.discovery.as_ref().unwrap();
    assert!(path.iter().any(|a| a.contains("Accept")), "{path:?}");
}

/// Seed 2, fault-free, 3 cores, 5 decrees: the two proposers start within
/// two hops of each other and contend in decree 1. Process 1's higher ballot
/// reaches the third acceptor after process 0's, and process 0's Accept
/// arrives there after the new promise: the broken acceptor accepts it anyway,
/// process 0 decides its value 1 with that acceptance, and process 1, whose
/// promises carried nothing accepted, decides its own value 2.
#[test]
fn broken_lower_ballot_caught_by_the_paxos_monitors() {
    let r = agree::run(&PAXOS, &spec(3, 5, 2, BROKEN, &[])).unwrap();
    assert!(
        r.violations.iter().any(|v| v.monitor == "agreement" && v.what.starts_with("instance 1")),
        "{:?}",
        r.violations
    );
    let ok = agree::run(&PAXOS, &spec(3, 5, 2, "correct", &[])).unwrap();
    assert!(ok.ok() && ok.outcome.finished, "the correct variant on the same seed: {:?}", ok.violations);
}

/// Regression pin: the state counts come from the checker (3 processes,
/// clients 1 and 2 with one command each, two phase-1 runs in all, 5
/// messages in flight, `Retry` and `Resend` never expiring; see `check`'s
/// notes). The broken variant's space is explored to the end too (its
/// validity never fails), so its count is pinned as well.
#[test]
fn multipaxos_model_checks_and_pins_its_states() {
    let c = MULTIPAXOS.check("correct").unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!((c.states, c.depth), (140_648, 31), "regression pin");
    assert_eq!(c.properties.len(), 4);
    let b = MULTIPAXOS.check(BROKEN).unwrap();
    assert_eq!((b.states, b.depth), (289_124, 36), "regression pin");
}

/// Stateright's counterexample for Multi-Paxos: process 1 suspects the
/// leader and sends Prepare (1,1); process 2 promises it, then takes leader
/// 0's Accept (1,0) for slot 0 (client 1's command) anyway, which with 0's
/// own acceptance is a majority: 0 decides client 1's command. Process 1,
/// elected by 2's promise (which reported nothing), puts client 2's command
/// in slot 0, 0 (now promised to 1) accepts it: 1 decides another command in
/// the same slot.
#[test]
fn broken_lower_ballot_caught_by_stateright_in_multipaxos() {
    let c = MULTIPAXOS.check(BROKEN).unwrap();
    for name in [check::AGREEMENT, check::PREFIX] {
        let p = c.properties.iter().find(|p| p.name == name).unwrap();
        assert!(!p.holds(), "{name}: {c:?}");
    }
    let agreement = c.properties.iter().find(|p| p.name == check::AGREEMENT).unwrap();
    let path = agreement.discovery.as_ref().unwrap();
    assert!(path.iter().any(|a| a.contains("Accept { ballot: Ballot { round: 1, id: 0 }")), "{path:?}");
    assert!(c.properties.iter().find(|p| p.name == check::VALIDITY).unwrap().holds());
}

/// Seed 1, 3 cores, 40 commands. At cycle 4,300 leader 0 has taken client
/// 2's second command (slot 2) and client 1's second (slot 3) and sends
/// their Accepts into a partition that isolates it until 71,300: both are
/// lost. The clients' retries to 0 are lost too; process 1 suspects 0 and
/// wins round 2 (59,648), then 2, hearing nothing from a leader with nothing
/// to propose, wins round 3 (65,458) and fills slot 2 with client 2's
/// command and slot 3 with client 2's next (decided by 69,864). From 71,300
/// 0 and 1 hear each other again, but 2's messages to 0 stay cut until
/// 144,300, so 0 never hears of ballot (3,2) from its holder and still leads
/// with (1,0). Its `Resend` tick (88,996, the slots open for more than a
/// tick) sends Accept (1,0) for slots 2 and 3 to 1 and 2. The correct
/// acceptor 1, promised to (3,2), answers Reject and 0 steps down; the
/// broken one accepts, and with 0's own acceptance that is a majority: 0
/// decides client 1's command in slot 3, where 1 and 2 decided client 2's
/// (agreement, 90,760, and prefix consistency of the final logs). 40
/// commands keep the clients busy past the resend (the run ends at about
/// 115,000 cycles); with fewer it ends first.
#[test]
fn broken_lower_ballot_caught_by_the_multipaxos_monitors() {
    let plan = ["partition:0>1,2@4300+67000", "partition:1>0@4300+67000", "partition:2>0@4300+140000"];
    let r = agree::run(&MULTIPAXOS, &spec(3, 40, 1, BROKEN, &plan)).unwrap();
    assert!(
        r.violations.iter().any(|v| v.monitor == "agreement" && v.what.starts_with("slot 3") && v.cores.contains(&0)),
        "{:?}",
        r.violations
    );
    assert!(r.violations.iter().any(|v| v.monitor == "prefix consistency"), "{:?}", r.violations);
    let ok = agree::run(&MULTIPAXOS, &spec(3, 40, 1, "correct", &plan)).unwrap();
    assert!(ok.ok() && ok.outcome.finished, "the correct variant under the same plan: {:?}", ok.violations);
    assert_eq!(ok.outcome.ops, 40);
    // 0 was deposed by a Reject, not by the new leader's messages.
    assert!(ok.messages.iter().any(|m| m.kind == "reject" && m.from == 1 && m.to == 0 && m.copies == 1));
}
