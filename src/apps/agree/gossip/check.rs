//! The untimed world: three processes gossiping, each running at most
//! `ROUNDS` rounds (stateright's boundary: the round timer is re-armed
//! forever) and, for the counters, one operation each.
//!
//! - `crdt` on a **duplicating** network (`Network::new_unordered_duplicating`:
//!   a message once sent may be delivered again and again, in any order):
//!   `always "no replica counts operations its owner did not make"` (each
//!   entry for `r`, G and P + N, at most `r`'s operations made) and
//!   `sometimes "the counters converge"` (every process holds every
//!   operation). The sum merge fails the first at the second delivery of a
//!   push that carries an operation.
//! - `gossip` on an unordered, non-duplicating network: `always "no
//!   heartbeat above its owner's"` and `sometimes "the tables converge"`.
//!   The sum merge fails the first as soon as a table is merged into one
//!   that already holds the same heartbeat.
//!
//! Convergence is asked as `sometimes`, not `eventually`: with bounded
//! rounds a random peer choice need not reach everyone, and on the
//! duplicating network paths never end (a message stays deliverable), so
//! an `eventually` would be vacuous. There is no clock, so no member is ever
//! failed here (`fail_after` is never exceeded); membership timing is graded
//! on the cores.
//!
//! The search stops at the first failure (`HasDiscoveries::AnyFailures`):
//! a correct variant is explored in full (its count is the reachable
//! states), a broken one up to its first counterexample.

use stateright::actor::{ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, HasDiscoveries, Model};

use super::actor::Gossiper;
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

pub const BOUNDED: &str = "no replica counts operations its owner did not make";
pub const COUNTERS_CONVERGE: &str = "the counters converge";
pub const HEARTBEAT_BOUND: &str = "no heartbeat above its owner's";
pub const TABLES_CONVERGE: &str = "the tables converge";

pub const PROCESSES: usize = 3;
/// Rounds per process: two for membership; one for the counters (on a
/// duplicating network two rounds pass 4 GB of states).
pub const ROUNDS: u32 = 2;
pub const CRDT_ROUNDS: u32 = 1;

type State = ActorModelState<Gossiper>;

fn bounded(_: &ActorModel<Gossiper, u32>, s: &State) -> bool {
    s.actor_states.iter().all(|a| {
        (0..PROCESSES).all(|r| {
            let made = u64::from(s.actor_states[r].done);
            a.g.0[r] <= made && a.pn.p.0[r] + a.pn.n.0[r] <= made
        })
    })
}

fn counters_converge(_: &ActorModel<Gossiper, u32>, s: &State) -> bool {
    s.actor_states.iter().all(|a| a.g.value() == PROCESSES as u64 && a.g == s.actor_states[0].g)
}

fn heartbeat_bound(_: &ActorModel<Gossiper, u32>, s: &State) -> bool {
    s.actor_states
        .iter()
        .all(|a| (0..PROCESSES).all(|r| a.table.members[r].hb <= s.actor_states[r].table.members[r].hb))
}

fn tables_converge(_: &ActorModel<Gossiper, u32>, s: &State) -> bool {
    let hb = |a: &super::actor::GossipState| a.table.members.iter().map(|m| m.hb).collect::<Vec<_>>();
    s.actor_states.iter().all(|a| a.rounds > 0 && hb(a) == hb(&s.actor_states[0]))
}

/// The gossiper of the check: one operation each for the counters, none
/// for membership; timing fields only the timed world reads.
pub fn actor(crdt: bool, sum: bool) -> Gossiper {
    Gossiper {
        processes: PROCESSES,
        round: 1000,
        fail_after: 10_000,
        ops: vec![u32::from(crdt); PROCESSES],
        end: u64::MAX,
        sum,
    }
}

pub fn model(crdt: bool, sum: bool) -> ActorModel<Gossiper, u32> {
    let m = ActorModel::new(if crdt { CRDT_ROUNDS } else { ROUNDS }, ())
        .actors(vec![actor(crdt, sum); PROCESSES])
        // Rounds bounded; counts bounded too, so the sum merge's runaway
        // counts stay finite (the property fails well below the bound).
        .within_boundary(|&rounds, s| {
            s.actor_states.iter().all(|a| a.rounds <= rounds && a.inc == 0 && a.g.0.iter().all(|&x| x <= 4))
        });
    if crdt {
        m.init_network(Network::new_unordered_duplicating([])).property(Expectation::Always, BOUNDED, bounded).property(
            Expectation::Sometimes,
            COUNTERS_CONVERGE,
            counters_converge,
        )
    } else {
        m.init_network(Network::new_unordered_nonduplicating([]))
            .property(Expectation::Always, HEARTBEAT_BOUND, heartbeat_bound)
            .property(Expectation::Sometimes, TABLES_CONVERGE, tables_converge)
    }
}

pub fn check(crdt: bool, variant: &'static str) -> CheckSummary {
    let sum = variant == "broken-sum-merge";
    let checker = model(crdt, sum).checker().finish_when(HasDiscoveries::AnyFailures).spawn_bfs().join();
    let network = if crdt { "duplicating" } else { "unordered" };
    CheckSummary {
        config: format!(
            "{PROCESSES} processes, {} rounds each, {} operation each, {network} channels",
            if crdt { CRDT_ROUNDS } else { ROUNDS },
            u32::from(crdt)
        ),
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
