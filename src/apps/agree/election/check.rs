//! The election actors in the untimed world, 3 processes, one election
//! (`ops = 1`): timers fire at any moment (a lease may run out, an `Ok` or an
//! `Ack` may be "late"), so stateright explores elections started by anyone at
//! any time. Epochs would grow without end, heartbeats pile up, and the ring
//! renumbers every hop it resends after a skip, so the search is bounded:
//! epochs up to `max_epoch` (1: the first election, started at any moment by
//! anyone whose lease runs out), messages in flight up to `in_flight`, ring
//! messages numbered per process up to `numbered`. Properties:
//! - `always "settled agreement"`: in a state where no election message is in
//!   flight and every process believes a leader, all believe the same one, for
//!   one epoch, and it is the highest id (no crashes in this check);
//! - `sometimes "a leader"`: some process believes a leader (no vacuous pass).

use stateright::actor::{Actor, ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, Model};

use super::bully::{Bully, BullyMsg};
use super::ring::{RingElection, RingMsg};
use super::{ElectionWaits, Settle};
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

pub const SETTLED_AGREEMENT: &str = "settled agreement";
pub const A_LEADER: &str = "a leader";

#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub max_epoch: u64,
    pub in_flight: usize,
    /// Ring messages a process numbers (each skip of a successor resends).
    pub numbered: u32,
}

/// Messages that carry an election (not heartbeats or acks).
pub trait Electoral {
    fn electoral(&self) -> bool;
}

impl Electoral for BullyMsg {
    fn electoral(&self) -> bool {
        !matches!(self, BullyMsg::Alive { .. })
    }
}

impl Electoral for RingMsg {
    fn electoral(&self) -> bool {
        matches!(self, RingMsg::Ring { .. })
    }
}

fn agreed<A: Actor>(s: &ActorModelState<A>) -> bool
where
    A::State: Settle,
    A::Msg: Electoral + Ord,
    A::Timer: Ord,
{
    let beliefs: Vec<_> = s.actor_states.iter().map(|x| x.belief()).collect();
    let quiet = !s.network.iter_all().any(|e| e.msg.electoral());
    if !quiet || beliefs.iter().any(|b| b.leader.is_none()) {
        return true;
    }
    let top = beliefs.len() - 1;
    beliefs.iter().all(|b| b.epoch == beliefs[0].epoch && b.leader == Some(top))
}

fn within<A: Actor>(b: &Bound, s: &ActorModelState<A>) -> bool
where
    A::State: Settle,
    A::Msg: Ord,
    A::Timer: Ord,
{
    s.network.len() <= b.in_flight
        && s.actor_states.iter().all(|x| x.belief().epoch <= b.max_epoch && x.numbered() <= b.numbered)
}

fn summary<A>(actor: A, processes: usize, variant: &'static str, b: Bound) -> CheckSummary
where
    A: Actor + Clone + Send + Sync + 'static,
    A::State: Settle + Send + Sync,
    A::Msg: Electoral + Ord + Send + Sync,
    A::Timer: Ord + Send + Sync,
    A::Storage: Send + Sync,
    A::Random: Send + Sync,
{
    let checker = ActorModel::new(b, ())
        .actors(vec![actor; processes])
        .init_network(Network::new_unordered_nonduplicating([]))
        .within_boundary(within)
        .property(Expectation::Always, SETTLED_AGREEMENT, |_, s| agreed(s))
        .property(Expectation::Sometimes, A_LEADER, |_, s| s.actor_states.iter().any(|x| x.belief().leader.is_some()))
        .checker()
        .spawn_bfs()
        .join();
    CheckSummary {
        config: format!(
            "{processes} processes, one election, epochs up to {}, {} messages in flight, {} numbered",
            b.max_epoch, b.in_flight, b.numbered
        ),
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}

pub fn bully(processes: usize, variant: &'static str) -> CheckSummary {
    let actor = Bully { processes, ops: 1, waits: ElectionWaits::default(), broken: variant == "broken-lower-wins" };
    summary(actor, processes, variant, Bound { max_epoch: 1, in_flight: 5, numbered: 0 })
}

pub fn ring(processes: usize, variant: &'static str) -> CheckSummary {
    let actor =
        RingElection { processes, ops: 1, waits: ElectionWaits::default(), broken: variant == "broken-no-compare" };
    summary(actor, processes, variant, Bound { max_epoch: 1, in_flight: 3, numbered: 4 })
}
