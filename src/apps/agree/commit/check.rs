//! The commit actors in the untimed world: stateright explores every
//! interleaving of one transaction (timers fire at any moment, so a vote may
//! be "missing" whenever the coordinator's timer fires), each vote a free
//! choice. Properties:
//! - `always "atomicity"`: no transaction is committed at one process and
//!   aborted at another;
//! - `always "validity"`: a committed transaction has every participant's yes;
//! - `sometimes "commit"`, `sometimes "abort"`: both outcomes are reachable
//!   (guards against a vacuous pass).
//!
//! The network is unordered and loses nothing. The search is bounded by the
//! messages in flight (`Bound::in_flight`), and for 2PC by no `Ask` in flight:
//! a blocked participant's `Ask` is answered with the logged `Decision`, the
//! same message the coordinator already sent, and letting it be asked again
//! and again took 3 participants from 63,108 states to 2.9 million (90 s).
//! 2PC is checked with symmetry reduction (stateright's `symmetry()`:
//! participants with free votes are interchangeable; the coordinator's state
//! sorts first, so it stays process 0). Stateright's representative sorts by
//! actor state alone, which ties participants whose states are equal but
//! whose messages differ, so it reduces little: 4 participants take 1.8
//! million states (78 s), and 5 are out of reach here (not checked; a
//! representative keyed by each participant's whole situation would be the
//! next step). 3PC is checked without symmetry (its terminator is the lowest
//! id, so ids matter) and without crashes: a timer firing early already
//! stands for a crash, and is enough to show the split (see the test).

use std::collections::BTreeMap;

use stateright::actor::{Actor, ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, Model};

use super::three_phase::{State3, ThreePhase};
use super::two_phase::{TpcMsg, TpcState, TwoPhase};
use super::{Votes, Waits};
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

pub const ATOMICITY: &str = "atomicity";
pub const VALIDITY: &str = "validity";
pub const SOME_COMMIT: &str = "commit";
pub const SOME_ABORT: &str = "abort";

/// The bound of the search.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub participants: usize,
    pub in_flight: usize,
}

/// Per transaction, the outcomes reached and the votes cast, from the states.
trait Outcomes {
    /// (tx, commit) at every process that knows it; (tx, participant, vote).
    fn outcomes(&self, id: usize, out: &mut Vec<(u32, bool)>, votes: &mut Vec<(u32, usize, bool)>);
}

impl Outcomes for TpcState {
    fn outcomes(&self, id: usize, out: &mut Vec<(u32, bool)>, votes: &mut Vec<(u32, usize, bool)>) {
        match self {
            TpcState::Coord(c) => out.extend(c.decided.iter().enumerate().map(|(i, &d)| (i as u32 + 1, d))),
            TpcState::Part(recs) => {
                for (&tx, r) in recs {
                    out.extend(r.outcome.map(|d| (tx, d)));
                    votes.extend(r.vote.map(|v| (tx, id, v)));
                }
            }
        }
    }
}

impl Outcomes for State3 {
    fn outcomes(&self, id: usize, out: &mut Vec<(u32, bool)>, votes: &mut Vec<(u32, usize, bool)>) {
        match self {
            State3::Coord(c) => out.extend(c.decided.iter().enumerate().map(|(i, &d)| (i as u32 + 1, d))),
            State3::Part { recs, .. } => {
                for (&tx, r) in recs {
                    out.extend(r.outcome.map(|d| (tx, d)));
                    votes.extend(r.vote.map(|v| (tx, id, v)));
                }
            }
        }
    }
}

type Gathered = (BTreeMap<u32, (bool, bool)>, Vec<(u32, usize, bool)>);

fn gather<A: Actor>(state: &ActorModelState<A>) -> Gathered
where
    A::State: Outcomes,
    A::Msg: Ord,
    A::Timer: Ord,
{
    let (mut out, mut votes) = (Vec::new(), Vec::new());
    for (i, s) in state.actor_states.iter().enumerate() {
        s.outcomes(i, &mut out, &mut votes);
    }
    let mut by_tx: BTreeMap<u32, (bool, bool)> = BTreeMap::new();
    for (tx, d) in out {
        let e = by_tx.entry(tx).or_default();
        if d { e.0 = true } else { e.1 = true }
    }
    (by_tx, votes)
}

fn atomic<A: Actor>(_: &ActorModel<A, Bound>, s: &ActorModelState<A>) -> bool
where
    A::State: Outcomes,
    A::Msg: Ord,
    A::Timer: Ord,
{
    gather(s).0.values().all(|&(c, a)| !(c && a))
}

fn valid<A: Actor>(m: &ActorModel<A, Bound>, s: &ActorModelState<A>) -> bool
where
    A::State: Outcomes,
    A::Msg: Ord,
    A::Timer: Ord,
{
    let (by_tx, votes) = gather(s);
    by_tx
        .iter()
        .filter(|(_, o)| o.0)
        .all(|(&tx, _)| (1..=m.cfg.participants).all(|p| votes.iter().any(|&(t, q, v)| t == tx && q == p && v)))
}

fn model<A>(
    actor: A,
    b: Bound,
    crashes: usize,
    boundary: fn(&Bound, &ActorModelState<A>) -> bool,
) -> ActorModel<A, Bound>
where
    A: Actor + Clone,
    A::State: Outcomes,
    A::Msg: Ord,
    A::Timer: Ord,
{
    ActorModel::new(b, ())
        .actors(vec![actor; b.participants + 1])
        .init_network(Network::new_unordered_nonduplicating([]))
        .max_crashes(crashes)
        .within_boundary(boundary)
        .property(Expectation::Always, ATOMICITY, atomic)
        .property(Expectation::Always, VALIDITY, valid)
        .property(Expectation::Sometimes, SOME_COMMIT, |_, s| gather(s).0.values().any(|o| o.0))
        .property(Expectation::Sometimes, SOME_ABORT, |_, s| gather(s).0.values().any(|o| o.1))
}

/// 2PC with `participants` participants, one transaction, with symmetry
/// reduction; `variant` is the app's variant name.
pub fn two_phase(participants: usize, variant: &'static str) -> CheckSummary {
    let actor = TwoPhase {
        processes: participants + 1,
        ops: 1,
        votes: Votes::Free,
        waits: Waits::default(),
        broken: variant == "broken-missing-vote",
    };
    let b = Bound { participants, in_flight: 2 * participants + 1 };
    let checker = model(actor, b, 0, |b, s| {
        s.network.len() <= b.in_flight
            && s.network.iter_all().filter(|e| matches!(e.msg, TpcMsg::Ask { .. })).count() == 0
    })
    .checker()
    .symmetry()
    .spawn_bfs()
    .join();
    CheckSummary {
        config: format!("coordinator and {participants} participants, one transaction, symmetry reduction"),
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}

/// 3PC with `participants` participants, one transaction, one crash.
pub fn three_phase(participants: usize) -> CheckSummary {
    let actor = ThreePhase { processes: participants + 1, ops: 1, votes: Votes::Free, waits: Waits::default() };
    let b = Bound { participants, in_flight: 2 * participants };
    let checker = model(actor, b, 0, |b, s| s.network.len() <= b.in_flight).checker().spawn_bfs().join();
    CheckSummary {
        config: format!("coordinator and {participants} participants, one transaction"),
        variant: "correct",
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
