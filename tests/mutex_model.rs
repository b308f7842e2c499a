//! The mutual-exclusion actors (`cohsim::apps::mutex`) in the untimed world.
//!
//! * Stateright checks each algorithm on a small workload: mutual exclusion
//!   holds, someone enters, every process finishes (where `eventually` is
//!   meaningful; the token ring's liveness is the "no stuck state" check).
//!   The reachable-state counts are pinned as regression pins; a pin comes
//!   from the checker's own count unless its comment derives it by hand.
//! * The broken Ricart–Agrawala, and Lamport without FIFO channels, are caught.
//! * The handlers, driven directly: the commands each records, derived from
//!   the algorithms' definitions.

use std::borrow::Cow;
use std::time::Duration;

use cohsim::apps::mutex::central::{Central, CentralMsg, CentralState, ClientPhase};
use cohsim::apps::mutex::check::{
    self, Channels, CheckError, EVERY_PROCESS_FINISHES, MUTUAL_EXCLUSION, SOMEONE_ENTERS, check, check_on,
};
use cohsim::apps::mutex::lamport::{self, Lamport, LamportMsg};
use cohsim::apps::mutex::ricart_agrawala::{self, RaMsg, RicartAgrawala};
use cohsim::apps::mutex::token_ring::{self, TokenMsg, TokenRing};
use cohsim::apps::mutex::{Algo, Timer, Workload};
use cohsim::exec::actor::{OnCore, cycles};
use cohsim::model::Primitive;
use stateright::actor::{Actor, Command, Id, Out};

// ---- model checking ----

/// The correct algorithms on 3 processes (Central: coordinator + 2 clients).
/// Regression pins: unique states, from the checker's own count.
const PINS: [(Algo, u32, usize); 7] = [
    (Algo::Central, 1, 33),
    (Algo::Central, 2, 123),
    (Algo::Lamport, 1, 111_430),
    (Algo::RicartAgrawala, 1, 2_047),
    (Algo::RicartAgrawala, 2, 25_489),
    (Algo::TokenRing, 1, 108),
    (Algo::TokenRing, 2, 525),
];

#[test]
fn correct_algorithms_are_safe_and_live_on_three_processes() {
    for (algo, entries, states) in PINS {
        let r = check(algo, 3, entries).unwrap();
        assert!(r.ok(), "{r}");
        assert!(r.discovery(MUTUAL_EXCLUSION).is_none(), "{r}");
        assert!(r.discovery(SOMEONE_ENTERS).is_some(), "{r}");
        match algo {
            // Cyclic: `eventually` would be vacuous, so it is not asked.
            Algo::TokenRing => assert!(r.property(EVERY_PROCESS_FINISHES).is_none(), "{r}"),
            _ => assert!(r.property(EVERY_PROCESS_FINISHES).is_some_and(|p| p.holds()), "{r}"),
        }
        assert_eq!(r.stuck_states, 0, "{r}");
        // Two explorations of one graph agree.
        assert_eq!(r.explored_states, r.unique_states, "{r}");
        assert_eq!((algo, entries, r.unique_states), (algo, entries, states), "regression pin moved:\n{r}");
    }
}

/// Lamport with two processes and two entries each. Regression pin: the
/// checker's own count.
#[test]
fn lamport_two_processes_two_entries() {
    let r = check(Algo::Lamport, 2, 2).unwrap();
    assert!(r.ok(), "{r}");
    assert_eq!(r.unique_states, 815, "regression pin moved:\n{r}");
}

/// Central with one client doing `e` entries, on FIFO channels, counted by
/// hand: the first entry passes through 6 states (start; Request in flight;
/// Grant in flight; in the section; Release in flight; Release delivered).
/// Each later entry adds 6: Want fires before the Release is delivered
/// (Release and Request queued), the Request alone in flight (reached either
/// way), Grant in flight, in the section, Release in flight, Release delivered.
/// So 6e.
#[test]
fn central_with_one_client_matches_the_hand_count() {
    for e in 1..=4 {
        let r = check(Algo::Central, 2, e).unwrap();
        assert!(r.ok(), "{r}");
        assert_eq!(r.unique_states, 6 * e as usize, "{r}");
    }
}

/// One process alone, by hand: start (Want set), in the section (Leave set),
/// done. Central alone is a coordinator without clients: one state, nobody
/// enters.
#[test]
fn a_lone_process_has_three_states() {
    for algo in [Algo::Lamport, Algo::RicartAgrawala, Algo::TokenRing] {
        let r = check(algo, 1, 1).unwrap();
        assert!(r.ok(), "{r}");
        assert_eq!(r.unique_states, 3, "{r}");
    }
    let r = check(Algo::Central, 1, 1).unwrap();
    assert_eq!(r.unique_states, 1, "{r}");
    assert!(r.discovery(SOMEONE_ENTERS).is_none(), "{r}");
}

#[test]
fn broken_ricart_agrawala_is_caught() {
    let r = check(Algo::BrokenRicartAgrawala, 3, 1).unwrap();
    let path = r.discovery(MUTUAL_EXCLUSION).unwrap_or_else(|| panic!("not caught:\n{r}"));
    // The shortest violation takes 6 steps (2 processes' worth); the path is
    // whatever stateright kept, so only its plausibility is checked.
    assert!(path.len() >= 6, "{r}");
    assert!(!r.ok());
    // Regression pin: the checker's own count (it explores everything, as the
    // `eventually` property never gets a discovery).
    assert_eq!(r.unique_states, 2_559, "{r}");
}

/// Without FIFO channels, Lamport's "a later message from everyone" no longer
/// implies that everyone's earlier request has arrived: two processes enter.
#[test]
fn lamport_needs_fifo_channels() {
    let r = check_on(Algo::Lamport, 2, 1, Channels::Unordered).unwrap();
    assert!(r.discovery(MUTUAL_EXCLUSION).is_some(), "{r}");
}

/// Ricart–Agrawala does not need FIFO. Regression pin: the checker's own count.
#[test]
fn ricart_agrawala_holds_on_unordered_channels() {
    let r = check_on(Algo::RicartAgrawala, 3, 1, Channels::Unordered).unwrap();
    assert!(r.ok(), "{r}");
    assert_eq!(r.unique_states, 2_820, "{r}");
}

#[test]
fn no_processes_is_an_error() {
    assert!(matches!(check(Algo::Lamport, 0, 1), Err(CheckError::NoProcesses)));
    assert_eq!(check::workload(Algo::Central, 3, 2).entries, vec![0, 2, 2]);
}

// ---- handlers, driven by hand ----

fn workload(entries: &[u32]) -> Workload {
    Workload { processes: entries.len(), entries: entries.to_vec(), think: 10..20 }
}

fn sends<A: Actor>(out: &Out<A>) -> Vec<(usize, A::Msg)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Send(dst, msg) => Some((usize::from(*dst), msg.clone())),
            _ => None,
        })
        .collect()
}

fn timers<A: Actor>(out: &Out<A>) -> Vec<(A::Timer, std::ops::Range<Duration>)> {
    out.iter()
        .filter_map(|c| match c {
            Command::SetTimer(t, d) => Some((t.clone(), d.clone())),
            _ => None,
        })
        .collect()
}

fn on_msg<A: Actor>(a: &A, id: usize, s: &A::State, src: usize, msg: A::Msg) -> (A::State, Out<A>) {
    let mut out = Out::new();
    let mut cow = Cow::Borrowed(s);
    a.on_msg(Id::from(id), &mut cow, Id::from(src), msg, &mut out);
    (cow.into_owned(), out)
}

fn on_timeout<A: Actor>(a: &A, id: usize, s: &A::State, timer: A::Timer) -> (A::State, Out<A>) {
    let mut out = Out::new();
    let mut cow = Cow::Borrowed(s);
    a.on_timeout(Id::from(id), &mut cow, &timer, &mut out);
    (cow.into_owned(), out)
}

fn start<A: Actor>(a: &A, id: usize) -> (A::State, Out<A>) {
    let mut out = Out::new();
    let s = a.on_start(Id::from(id), &None, &mut out);
    (s, out)
}

#[test]
fn start_sets_want_with_the_think_range_only_for_a_process_with_entries() {
    let w = workload(&[0, 2, 1]);
    let ra = RicartAgrawala::new(w.clone());
    let (s, out) = start(&ra, 1);
    assert_eq!(timers(&out), vec![(Timer::Want, cycles(10..20))]);
    assert!(!ra.finished(&s) && !ra.wants(&s) && !ra.in_section(&s));
    let (s, out) = start(&ra, 0);
    assert!(out.is_empty() && ra.finished(&s));
    let (s, out) = start(&Lamport::new(w.clone()), 0);
    assert!(out.is_empty() && Lamport::new(w.clone()).finished(&s));
    let (s, out) = start(&Central::new(w), 0);
    assert!(out.is_empty() && matches!(s, CentralState::Coordinator { holder: None, .. }));
}

#[test]
fn ricart_agrawala_broadcasts_collects_and_defers() {
    let ra = RicartAgrawala::new(workload(&[1, 2, 1]));
    let (s, _) = start(&ra, 1);
    // Want: a Request numbered one above the highest seen (0) to each of 2 others.
    let (s, out) = on_timeout(&ra, 1, &s, Timer::Want);
    assert_eq!(sends(&out), vec![(0, RaMsg::Request { ts: 1 }), (2, RaMsg::Request { ts: 1 })]);
    assert!(ra.wants(&s) && timers(&out).is_empty());
    // Wanting with (1, 1): (1, 2) goes later, so defer; (1, 0) goes first, so reply.
    let (s, out) = on_msg(&ra, 1, &s, 2, RaMsg::Request { ts: 1 });
    assert!(out.is_empty());
    let (s, out) = on_msg(&ra, 1, &s, 0, RaMsg::Request { ts: 1 });
    assert_eq!(sends(&out), vec![(0, RaMsg::Reply)]);
    // N − 1 = 2 replies: enter, Leave in 0..1 cycles.
    let (s, out) = on_msg(&ra, 1, &s, 0, RaMsg::Reply);
    assert!(out.is_empty() && ra.wants(&s));
    let (s, out) = on_msg(&ra, 1, &s, 2, RaMsg::Reply);
    assert_eq!(timers(&out), vec![(Timer::Leave, cycles(0..1))]);
    assert!(ra.in_section(&s) && !ra.wants(&s));
    // In the section every request is deferred...
    let (s, out) = on_msg(&ra, 1, &s, 0, RaMsg::Request { ts: 9 });
    assert!(out.is_empty());
    // ...and answered on leaving; one entry left, so Want again.
    let (s, out) = on_timeout(&ra, 1, &s, Timer::Leave);
    assert_eq!(sends(&out), vec![(0, RaMsg::Reply), (2, RaMsg::Reply)]);
    assert_eq!(timers(&out), vec![(Timer::Want, cycles(10..20))]);
    assert!(!ra.in_section(&s) && !ra.finished(&s));
    // The next request is numbered above the highest seen (9).
    let (_, out) = on_timeout(&ra, 1, &s, Timer::Want);
    assert_eq!(sends(&out)[0], (0, RaMsg::Request { ts: 10 }));
}

#[test]
fn broken_ricart_agrawala_replies_from_inside_the_section() {
    let ra = RicartAgrawala::broken(workload(&[1, 1]));
    let s = ricart_agrawala::RaState {
        highest: 1,
        phase: ricart_agrawala::Phase::Held,
        deferred: Default::default(),
        left: 1,
    };
    let (_, out) = on_msg(&ra, 0, &s, 1, RaMsg::Request { ts: 2 });
    assert_eq!(sends(&out), vec![(1, RaMsg::Reply)]);
    let (_, out) = on_msg(&RicartAgrawala::new(workload(&[1, 1])), 0, &s, 1, RaMsg::Request { ts: 2 });
    assert!(out.is_empty());
}

#[test]
fn lamport_requests_replies_and_enters_at_the_head_with_later_messages_from_all() {
    let l = Lamport::new(workload(&[1, 1, 1]));
    let (s, _) = start(&l, 1);
    let (s, out) = on_timeout(&l, 1, &s, Timer::Want);
    // Clock 0 → 1; one Request to each of the 2 others.
    assert_eq!(sends(&out), vec![(0, LamportMsg::Request { ts: 1 }), (2, LamportMsg::Request { ts: 1 })]);
    assert!(s.queue.contains(&(1, Id::from(1))) && l.wants(&s));
    // Process 0's Request (1, 0) goes before ours (1, 1): queue it, reply with
    // a later stamp.
    let (s, out) = on_msg(&l, 1, &s, 0, LamportMsg::Request { ts: 1 });
    match sends(&out).as_slice() {
        [(0, LamportMsg::Reply { ts })] => assert!(*ts > 1),
        other => panic!("expected one Reply to 0, got {other:?}"),
    }
    // Later messages from both others, but (1, 0) heads the queue: wait.
    let (s, out) = on_msg(&l, 1, &s, 0, LamportMsg::Reply { ts: 2 });
    assert!(out.is_empty());
    let (s, out) = on_msg(&l, 1, &s, 2, LamportMsg::Reply { ts: 2 });
    assert!(out.is_empty() && !l.in_section(&s));
    // 0 releases: our request heads the queue, enter.
    let (s, out) = on_msg(&l, 1, &s, 0, LamportMsg::Release { ts: 3 });
    assert_eq!(timers(&out), vec![(Timer::Leave, cycles(0..1))]);
    assert!(l.in_section(&s) && !l.wants(&s));
    // Leave: a Release to each other, stamped after everything seen; done.
    let (s, out) = on_timeout(&l, 1, &s, Timer::Leave);
    let released = sends(&out);
    assert_eq!(released.len(), 2);
    assert!(released.iter().all(|(_, m)| matches!(m, LamportMsg::Release { ts } if *ts > 3)));
    assert!(timers(&out).is_empty() && l.finished(&s) && s.queue.is_empty());
}

#[test]
fn lamport_does_not_enter_without_a_later_message_from_everyone() {
    let l = Lamport::new(workload(&[1, 1, 1]));
    let (s, _) = start(&l, 0);
    let (s, _) = on_timeout(&l, 0, &s, Timer::Want);
    let (s, out) = on_msg(&l, 0, &s, 1, LamportMsg::Reply { ts: 2 });
    assert!(out.is_empty() && !l.in_section(&s));
    assert_eq!(s.phase, lamport::Phase::Requesting { ts: 1 });
}

#[test]
fn central_grants_in_fifo_order() {
    let c = Central::new(workload(&[0, 1, 1]));
    let (client, _) = start(&c, 1);
    let (client, out) = on_timeout(&c, 1, &client, Timer::Want);
    assert_eq!(sends(&out), vec![(0, CentralMsg::Request)]);
    assert!(c.wants(&client));
    let (coord, _) = start(&c, 0);
    let (coord, out) = on_msg(&c, 0, &coord, 1, CentralMsg::Request);
    assert_eq!(sends(&out), vec![(1, CentralMsg::Grant)]);
    let (coord, out) = on_msg(&c, 0, &coord, 2, CentralMsg::Request);
    assert!(out.is_empty());
    assert_eq!(coord, CentralState::Coordinator { holder: Some(Id::from(1)), queue: vec![Id::from(2)] });
    let (client, out) = on_msg(&c, 1, &client, 0, CentralMsg::Grant);
    assert_eq!(timers(&out), vec![(Timer::Leave, cycles(0..1))]);
    assert!(c.in_section(&client));
    let (client, out) = on_timeout(&c, 1, &client, Timer::Leave);
    assert_eq!(sends(&out), vec![(0, CentralMsg::Release)]);
    assert_eq!(client, CentralState::Client { phase: ClientPhase::Thinking, left: 0 });
    assert!(c.finished(&client));
    let (coord, out) = on_msg(&c, 0, &coord, 1, CentralMsg::Release);
    assert_eq!(sends(&out), vec![(2, CentralMsg::Grant)]);
    assert_eq!(coord, CentralState::Coordinator { holder: Some(Id::from(2)), queue: vec![] });
}

#[test]
fn token_ring_passes_unless_wanting() {
    let t = TokenRing::new(workload(&[1, 1, 1]));
    // Process 0 starts with the token and, not wanting yet, passes it to 1.
    let (s0, out) = start(&t, 0);
    assert_eq!(sends(&out), vec![(1, TokenMsg::Token)]);
    assert!(!s0.token);
    // A thinking process passes it on; the last one wraps around to 0.
    let (s2, _) = start(&t, 2);
    let (s2, out) = on_msg(&t, 2, &s2, 1, TokenMsg::Token);
    assert_eq!(sends(&out), vec![(0, TokenMsg::Token)]);
    // A wanting one enters and keeps it until it leaves.
    let (s2, out) = on_timeout(&t, 2, &s2, Timer::Want);
    assert!(out.is_empty() && t.wants(&s2));
    let (s2, out) = on_msg(&t, 2, &s2, 1, TokenMsg::Token);
    assert!(sends(&out).is_empty() && t.in_section(&s2));
    let (s2, out) = on_timeout(&t, 2, &s2, Timer::Leave);
    assert_eq!(sends(&out), vec![(0, TokenMsg::Token)]);
    assert!(t.finished(&s2) && !s2.token && s2.phase == token_ring::Phase::Thinking);
}

/// Fires one process's timers until none is left; returns the final state and
/// the number of messages sent.
fn run_alone<A: OnCore<Timer = Timer>>(a: &A) -> (A::State, usize)
where
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    let (mut s, mut out) = start(a, 0);
    let mut sent = 0;
    loop {
        sent += sends(&out).len();
        let pending = timers(&out);
        assert!(pending.len() <= 1, "one timer at a time: {pending:?}");
        let Some((timer, _)) = pending.into_iter().next() else { return (s, sent) };
        (s, out) = on_timeout(a, 0, &s, timer);
    }
}

#[test]
fn a_lone_process_completes_without_messages() {
    let w = workload(&[3]);
    let (s, sent) = run_alone(&Lamport::new(w.clone()));
    assert!(Lamport::new(w.clone()).finished(&s) && sent == 0);
    let (s, sent) = run_alone(&RicartAgrawala::new(w.clone()));
    assert!(RicartAgrawala::new(w.clone()).finished(&s) && sent == 0);
    let (s, sent) = run_alone(&TokenRing::new(w.clone()));
    assert!(TokenRing::new(w.clone()).finished(&s) && sent == 0);
    let c = Central::new(workload(&[0]));
    let (s, sent) = run_alone(&c);
    assert!(c.finished(&s) && sent == 0);
}

#[test]
fn messages_are_small_and_named() {
    fn size<M: serde::Serialize>(m: &M) -> usize {
        postcard::to_allocvec(m).unwrap().len()
    }
    let max = u64::MAX;
    for m in [LamportMsg::Request { ts: max }, LamportMsg::Reply { ts: max }, LamportMsg::Release { ts: max }] {
        assert!(size(&m) <= 56);
        assert_eq!(Lamport::primitive(&m), Primitive::TokenLogical);
    }
    for m in [RaMsg::Request { ts: max }, RaMsg::Reply] {
        assert!(size(&m) <= 56);
        assert_eq!(RicartAgrawala::primitive(&m), Primitive::TokenLogical);
    }
    assert_eq!(size(&TokenMsg::Token), 1);
    assert_eq!(size(&CentralMsg::Release), 1);
    assert_eq!(TokenRing::primitive(&TokenMsg::Token), Primitive::AuthorityCoordinated);
    assert_eq!(Central::primitive(&CentralMsg::Request), Primitive::RequestGrant);
    assert_eq!(Central::primitive(&CentralMsg::Grant), Primitive::RequestGrant);
    assert_eq!(Central::primitive(&CentralMsg::Release), Primitive::AuthorityCoordinated);
    let kinds = [
        Central::kind(&CentralMsg::Request),
        Central::kind(&CentralMsg::Grant),
        Central::kind(&CentralMsg::Release),
        Lamport::kind(&LamportMsg::Reply { ts: 0 }),
        RicartAgrawala::kind(&RaMsg::Request { ts: 0 }),
        TokenRing::kind(&TokenMsg::Token),
    ];
    assert_eq!(kinds, ["request", "grant", "release", "reply", "request", "token"]);
}
