//! The lock service on Raft (app `lockservice`).

use cohsim::apps::agree::raft::LOCKSERVICE;
use cohsim::apps::agree::{self, App, Report, Spec};
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

fn run(s: &Spec) -> Report {
    agree::run(&LOCKSERVICE, s).expect("the hardware runs clean")
}

fn kinds(r: &Report, kind: &str) -> usize {
    r.messages.iter().filter(|m| m.kind == kind).count()
}

fn monitors(r: &Report) -> Vec<&'static str> {
    r.violations.iter().map(|v| v.monitor).collect()
}

fn field(r: &Report, f: &str) -> u64 {
    r.outcome.fields[f].as_u64().unwrap()
}

#[test]
fn fault_free_counts_are_derived_by_hand() {
    // 6 cores: servers 0, 1, 2, storage 3, clients 4 and 5 of 2 acquisitions
    // each. One election: 2 RequestVote, 2 votes. Each hold lasts the 15,000
    // cycles of work plus a write and a release (about 2,000), so exactly
    // one KeepAlive (at 10,000) per hold; the last release closes the
    // session, so nothing expires. Every command is a log entry: the
    // no-op, 4 granted Acquires, the Busy ones, 4 KeepAlives, 4 Releases;
    // each goes once to each of the 2 followers (one command in flight per
    // client, the two clients' rarely batched together: checked below).
    // Durable writes: the candidacy, 2 votes, every entry at 3 servers,
    // each client's first session and its 2 completed acquisitions (2 x 3),
    // storage's 4 new highest tokens.
    let r = run(&spec(6, 1, 4, "correct", &[]));
    assert!(r.ok() && r.outcome.finished, "{:?}", r.violations);
    assert_eq!((kinds(&r, "request_vote"), kinds(&r, "vote")), (2, 2));
    let busy = kinds(&r, "busy");
    assert!(busy >= 1, "two clients contend for one lock");
    assert_eq!(kinds(&r, "grant"), 4);
    assert_eq!((kinds(&r, "keepalive"), kinds(&r, "release")), (4, 4));
    assert_eq!((kinds(&r, "write"), kinds(&r, "written")), (4, 4));
    let redirect = kinds(&r, "redirect");
    assert_eq!(kinds(&r, "acquire"), 4 + busy + redirect);
    // Replies to KeepAlive and Release (Granted and Busy are counted apart).
    assert_eq!(kinds(&r, "reply"), 4 + 4);
    let entries = 1 + 4 + busy + 4 + 4;
    assert_eq!(kinds(&r, "append"), 2 * entries);
    assert_eq!(r.saves as usize, 1 + 2 + 3 * entries + 2 * 3 + 4);
    assert_eq!((field(&r, "grants"), field(&r, "rejected_writes"), field(&r, "expired_sessions")), (4, 0, 0));
    assert_eq!(r.outcome.latencies.len(), 4);
}

#[test]
fn same_seed_and_plan_same_events() {
    let s = spec(6, 7, 6, "correct", &["drop:0.05", "crash:1@60000+20000"]);
    let (a, b) = (run(&s), run(&s));
    assert_eq!(a.events_hash, b.events_hash);
    assert!(a.ok(), "{:?}", a.violations);
    let other = run(&spec(6, 8, 6, "correct", &["drop:0.05", "crash:1@60000+20000"]));
    assert_ne!(a.events_hash, other.events_hash);
}

// The pause plan: client 4 is granted the lock first (about cycle 48,000;
// it asks first at this seed) and is paused at 52,000, in the middle of its
// 15,000 cycles of work, for 150,000 cycles. Its session goes silent: the
// leader expires it some 40,000 cycles later through the log, client 5
// (polling) is granted token 2 and writes with it. Client 4 wakes at
// 202,000, its work timer fires and it writes with token 1, stale.
const PAUSE: &str = "pause:4@52000+150000";

#[test]
fn a_paused_holder_is_fenced_off() {
    let r = run(&spec(6, 1, 2, "correct", &[PAUSE]));
    assert!(r.ok() && r.outcome.finished, "{:?}", r.violations);
    let notes: Vec<_> = r.notes.iter().filter(|n| n.note.kind == "reject").collect();
    // Storage rejected client 4's token 1 after accepting token 2.
    assert_eq!(notes.len(), 1, "{:?}", r.notes.iter().filter(|n| n.core == 3).collect::<Vec<_>>());
    assert_eq!((notes[0].note.words[0], notes[0].note.words[1], notes[0].note.words[2]), (4, 1, 2));
    assert!(notes[0].cycle > 202_000);
    assert_eq!((field(&r, "grants"), field(&r, "rejected_writes"), field(&r, "expired_sessions")), (2, 1, 1));
}

#[test]
fn no_fencing_is_caught_by_the_run_monitors() {
    // The same plan: without fencing storage accepts token 1 after token 2.
    let r = run(&spec(6, 1, 2, "broken-no-fencing", &[PAUSE]));
    assert_eq!(monitors(&r), vec!["fencing"], "{:?}", r.violations);
}

#[test]
fn campaigns_of_drawn_plans_find_nothing() {
    let seeds = 30;
    let c = agree::campaign::run(&LOCKSERVICE, &spec(6, 0, 6, "correct", &[]), 1, seeds, true, 1, &|| {});
    assert_eq!(c.seeds_run, seeds);
    assert!(c.failing.is_empty(), "{:#?}", c.failing.first());
    // Drawn plans may crash two of the 6 cores for good: two of the three
    // servers, or storage, and then nothing is promised (30 seeds: 23
    // finished; every run that was promised liveness finished).
    assert!(c.finished * 10 >= seeds * 7, "finished {} of {seeds}", c.finished);
}

#[test]
#[ignore = "10,000 seeds: run by hand"]
fn campaigns_of_ten_thousand_seeds_by_hand() {
    let seeds = 10_000;
    let c = agree::campaign::run(&LOCKSERVICE, &spec(6, 0, 6, "correct", &[]), 1, seeds, true, 1, &|| {});
    assert!(c.failing.is_empty(), "{:#?}", c.failing.first());
}

#[test]
fn stateright_finds_no_fencing() {
    let c = LOCKSERVICE.check("broken-no-fencing").unwrap();
    let failed: Vec<&str> = c.properties.iter().filter(|p| !p.holds()).map(|p| p.name).collect();
    assert_eq!(failed, vec!["fencing"], "{c:?}");
}

#[test]
fn stateright_state_counts_regression_pin() {
    // Regression pin: the counts come from the checker.
    let c = LOCKSERVICE.check("correct").unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!((c.states, c.depth), (109_824, 32));
}
