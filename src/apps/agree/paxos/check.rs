//! The untimed world: the actors of `single` and `multi`, model-checked by
//! stateright (BFS) on the small configurations issue 17 names.
//!
//! - **Paxos**: 3 processes, all acceptors and learners, 2 of them proposers
//!   (values 1 and 2), one decree; an unordered network that neither loses
//!   nor duplicates (a loss looks like an endless delay to safety properties;
//!   duplicates are idempotent in Paxos and only multiply states). Retries
//!   make the space infinite: the boundary (`PAXOS_BOUNDS`) keeps one ballot
//!   per proposer (round 1) and no `Query`: 47,916 states, under a second.
//!   Bigger bounds do not fit a CI check (release, one thread, stopped at
//!   about a million states, 10-17 s, none finished): rounds up to 2; one
//!   query per process; one crash-recovery at a time (stateright's
//!   `Crash`/`Recover` with the saved storage). None of those partial
//!   explorations found a violation of the correct variant.
//! - **Multi-Paxos**: 3 processes, leader 0, one command from client 1. Its
//!   four timers (issue, retry, resend, suspect) fire at any time in the
//!   untimed world, so even with one round the space passes a million states
//!   (12 s) unfinished: `MultiPaxosApp::check` has no check, and
//!   `multipaxos_within` explores it up to a cap (a partial search, run by an
//!   ignored test).
//!
//! Properties: `always` agreement and validity (and, for Multi-Paxos, prefix
//! consistency of the learned logs); `sometimes` a decision (guards against a
//! vacuous pass). No `eventually`: with retries cut off by the boundary, and
//! with duelling proposers (FLP), a path that never decides exists, so it
//! would fail by construction; liveness is the timed runs' business.

use stateright::actor::{ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, Model};

use super::VARIANTS;
use super::multi::{self, Cmd, MultiPaxos};
use super::single::{self, Paxos};
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

/// How far the checked space goes.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// The highest round a ballot may have.
    pub rounds: u32,
    /// Queries a process may send.
    pub queries: u32,
    /// Processes down at once (crash-recovery).
    pub crashes: usize,
}

pub const AGREEMENT: &str = "agreement";
pub const VALIDITY: &str = "validity";
pub const PREFIX: &str = "prefix consistency";
pub const DECIDES: &str = "a value is decided";

/// The model of single-decree Paxos (see the module's notes).
pub fn paxos_model(broken: bool, b: Bounds) -> ActorModel<Paxos, Bounds> {
    let timing = single::Timing { start: 0..1, backoff: 0..1, retry: 0..1, catch_up: 0..1 };
    let actor = Paxos { processes: 3, proposers: 2, instances: 1, timing, broken };
    ActorModel::new(b, ())
        .actors(vec![actor; 3])
        .init_network(Network::new_unordered_nonduplicating([]))
        .max_crashes(b.crashes)
        .within_boundary(|b, s| s.actor_states.iter().all(|a| a.durable.round <= b.rounds && a.queries <= b.queries))
        .property(Expectation::Always, AGREEMENT, |_, s| decided(s).windows(2).all(|w| w[0] == w[1]))
        .property(Expectation::Always, VALIDITY, |_, s| {
            decided(s).iter().all(|&v| v == single::value_of(0) || v == single::value_of(1))
        })
        .property(Expectation::Sometimes, DECIDES, |_, s| !decided(s).is_empty())
}

/// The values decided in the model's one decree.
fn decided(s: &ActorModelState<Paxos>) -> Vec<u64> {
    s.actor_states.iter().filter_map(|a| a.durable.decided[0]).collect()
}

/// Checks single-decree Paxos with up to one crash-recovery.
pub fn paxos(broken: bool) -> CheckSummary {
    paxos_within(broken, PAXOS_BOUNDS, None)
}

/// The bounds `paxos` checks within.
pub const PAXOS_BOUNDS: Bounds = Bounds { rounds: 1, queries: 0, crashes: 0 };

/// Checks single-decree Paxos within `b`, stopping past `cap` states if given.
pub fn paxos_within(broken: bool, b: Bounds, cap: Option<usize>) -> CheckSummary {
    let mut builder = paxos_model(broken, b).checker();
    if let Some(cap) = cap {
        builder = builder.target_state_count(cap);
    }
    let checker = builder.spawn_bfs().join();
    CheckSummary {
        config: format!(
            "3 acceptors (all learners), 2 proposers, 1 decree, rounds <= {}, queries <= {} each, {} crash-recovery at a time",
            b.rounds, b.queries, b.crashes
        ),
        variant: VARIANTS[broken as usize],
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}

/// The model of Multi-Paxos (see the module's notes).
pub fn multipaxos_model(broken: bool, rounds: u32) -> ActorModel<MultiPaxos, u32> {
    let timing = multi::Timing { start: 0..1, retry: 0..1, suspect: 0..1 };
    let actor = MultiPaxos { processes: 3, ops: 1, timing, broken };
    ActorModel::new(rounds, ())
        .actors(vec![actor; 3])
        .init_network(Network::new_unordered_nonduplicating([]))
        .within_boundary(|rounds, s| {
            s.actor_states.iter().all(|a| a.durable.round <= *rounds && a.durable.promised.round <= *rounds)
        })
        .property(Expectation::Always, AGREEMENT, |_, s| {
            let logs: Vec<&Vec<Option<Cmd>>> = s.actor_states.iter().map(|a| &a.durable.learned).collect();
            logs.iter()
                .all(|x| logs.iter().all(|y| x.iter().zip(y.iter()).all(|(p, q)| p.is_none() || q.is_none() || p == q)))
        })
        .property(Expectation::Always, VALIDITY, |_, s| {
            s.actor_states
                .iter()
                .flat_map(|a| a.durable.learned.iter().flatten())
                .all(|&c| c == Cmd::Noop || c == Cmd::Op { client: 1, seq: 0 })
        })
        .property(Expectation::Always, PREFIX, |_, s| {
            let prefix = |l: &Vec<Option<Cmd>>| l.iter().map_while(|c| *c).collect::<Vec<Cmd>>();
            let ps: Vec<Vec<Cmd>> = s.actor_states.iter().map(|a| prefix(&a.durable.learned)).collect();
            ps.iter().all(|x| ps.iter().all(|y| x.iter().zip(y).all(|(p, q)| p == q)))
        })
        .property(Expectation::Sometimes, DECIDES, |_, s| {
            s.actor_states.iter().any(|a| a.durable.learned.contains(&Some(Cmd::Op { client: 1, seq: 0 })))
        })
}

/// Checks Multi-Paxos.
/// Explores Multi-Paxos with ballots of at most `rounds`, up to `cap` states
/// (see the module's notes).
pub fn multipaxos_within(broken: bool, rounds: u32, cap: usize) -> CheckSummary {
    let checker = multipaxos_model(broken, rounds).checker().target_state_count(cap).spawn_bfs().join();
    CheckSummary {
        config: format!(
            "3 processes (leader 0, client 1 with 1 command), rounds <= {rounds}, no crashes, stopped at {cap:?} states"
        ),
        variant: VARIANTS[broken as usize],
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
