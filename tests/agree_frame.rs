//! The agreement frame's runtime pieces, on a small actor made for the test:
//! crash-recovery restarts a process from what it saved (and only that),
//! notes and final states reach the app, a deadline ends a run that would go
//! on, and the frame turns an unfinished run into a liveness finding only
//! when the app promises to finish.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use cohsim::apps::agree::{self, App, CheckSummary, Outcome, Spec, notes_of};
use cohsim::apps::harness::{self, Finished, Setup};
use cohsim::config::SystemConfig;
use cohsim::engine::SimError;
use cohsim::exec::actor::{Note, OnCore, cycles};
use cohsim::exec::fault::{Fault, Plan};
use cohsim::model::Primitive;
use cohsim::model::network::Cycle;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

/// Each process pings the next one every 300..400 cycles; a process counts
/// the pings it took, saves the count durably after each, and is finished at
/// `goal` pings (never, with `goal` 0).
#[derive(Clone)]
struct Pinger {
    n: usize,
    goal: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Ping;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Count {
    taken: u32,
    /// Starts, counting restarts (kept in the storage too).
    starts: u32,
}

impl Actor for Pinger {
    type Msg = Ping;
    type State = Count;
    type Timer = ();
    type Random = ();
    type Storage = Count;

    fn on_start(&self, _id: Id, storage: &Option<Count>, o: &mut Out<Self>) -> Count {
        o.set_timer((), cycles(300..400));
        match storage {
            Some(c) => Count { taken: c.taken, starts: c.starts + 1 },
            None => Count { taken: 0, starts: 1 },
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Count>, _src: Id, _msg: Ping, o: &mut Out<Self>) {
        let s = state.to_mut();
        s.taken += 1;
        o.save(s.clone());
    }

    fn on_timeout(&self, id: Id, _state: &mut Cow<Count>, _timer: &(), o: &mut Out<Self>) {
        o.send(Id::from((usize::from(id) + 1) % self.n), Ping);
        o.set_timer((), cycles(300..400));
    }
}

impl OnCore for Pinger {
    fn finished(&self, state: &Count) -> bool {
        self.goal > 0 && state.taken >= self.goal
    }
    fn notes(&self, before: Option<&Count>, after: &Count, notes: &mut Vec<Note>) {
        if before.is_none_or(|b| b.taken != after.taken || b.starts != after.starts) {
            notes.push(Note::new("count", &[after.taken as u64, after.starts as u64]));
        }
    }
    fn kind(_: &Ping) -> &'static str {
        "ping"
    }
    fn primitive(_: &Ping) -> Primitive {
        Primitive::SilentTimeout
    }
}

struct PingApp;

impl App for PingApp {
    fn name(&self) -> &'static str {
        "ping"
    }
    fn about(&self) -> &'static str {
        "a test actor"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["ping"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=8
    }
    fn default_ops(&self) -> u32 {
        20
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        400 * spec.ops as Cycle
    }
    fn promises_liveness(&self, plan: &Plan, _cores: usize) -> bool {
        plan.crashing() == 0
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let setup = Setup { faults: spec.faults.clone(), deadline: Some(60_000), save_cycles: 100, ..Setup::default() };
        let done = harness::run(&spec.cfg, Pinger { n: spec.cfg.cores, goal: spec.ops }, &setup)?;
        let finished = done.net.all_finished();
        Ok((done, Outcome { finished, ..Outcome::default() }))
    }
    fn check(&self, _variant: &'static str) -> Option<CheckSummary> {
        None
    }
}

fn spec(ops: u32, faults: Vec<Fault>) -> Spec {
    Spec {
        timeline: None,
        cfg: SystemConfig { cores: 3, seed: 7, ..SystemConfig::default() },
        faults: Plan { faults },
        jitter: None,
        ops,
        variant: "ping",
    }
}

#[test]
fn a_restarted_process_keeps_what_it_saved_and_loses_the_rest() {
    // Core 1 is down in 5000..8000, then restarts from its last save.
    let r = agree::run(&PingApp, &spec(20, vec![Fault::Restart { core: 1, at: 5000, cycles: 3000 }])).unwrap();
    assert_eq!(r.restarts, 1);
    assert!(r.ok(), "{:?}", r.violations);
    assert!(r.outcome.finished);
    let core1: Vec<(u64, u64, Cycle)> = notes_of(&r.notes, "count")
        .filter(|n| n.core == 1)
        .map(|n| (n.note.words[0], n.note.words[1], n.cycle))
        .collect();
    // The restart's note: the count saved before the crash, second start, at or after 8000.
    let restart = core1.iter().position(|c| c.1 == 2).expect("a second start");
    let before = core1[restart - 1];
    assert!(before.2 < 5000 && core1[restart].2 >= 8000, "{core1:?}");
    assert_eq!(core1[restart].0, before.0, "the count survives: every ping taken was saved");
    // Counts never go back, and there is one durable write per ping taken.
    assert!(core1.windows(2).all(|w| w[1].0 >= w[0].0));
    assert_eq!(r.saves, r.messages.iter().map(|m| m.received.len() as u64).sum::<u64>());
}

#[test]
fn a_run_that_cannot_finish_ends_at_its_deadline_without_a_finding() {
    let r = agree::run(&PingApp, &spec(20, vec![Fault::Crash { core: 2, at: 3000 }])).unwrap();
    // Core 2 never finishes, and core 0 (pinged only by core 2) never does
    // either: the run goes to its deadline; no liveness is promised with a
    // crash, so no finding.
    assert!(!r.outcome.finished);
    assert_eq!(r.at_deadline.map(|d| d >= 60_000), Some(true));
    assert!(r.ok(), "{:?}", r.violations);
}

#[test]
fn an_unfinished_run_that_was_promised_is_a_liveness_finding() {
    // 1000 pings cannot be taken in 60,000 cycles (one per 300..400).
    let r = agree::run(&PingApp, &spec(1000, vec![])).unwrap();
    assert_eq!(r.violations.len(), 1);
    assert_eq!(r.violations[0].monitor, "liveness");
    let replay = r.replay();
    assert!(replay.starts_with("cohsim app ping --cores 3 --seed 7 --ops 1000"), "{replay}");
}

#[test]
fn a_campaign_is_the_same_on_one_thread_and_on_two() {
    let base = spec(10, vec![]);
    let one = agree::campaign::run(&PingApp, &base, 1, 12, true, 1, &|| {});
    let two = agree::campaign::run(&PingApp, &base, 1, 12, true, 2, &|| {});
    assert_eq!(one.seeds_run, 12);
    assert_eq!((one.finished, one.messages, one.cycles), (two.finished, two.messages, two.cycles));
    assert_eq!(one.failing.len(), two.failing.len());
    // A drawn plan that crashes a core leaves this app unfinished, so some
    // seeds finish and some do not over 12 seeds (3 cores: at most 1 crash).
    assert!(one.finished > 0);
}
