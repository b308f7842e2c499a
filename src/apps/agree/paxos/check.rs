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
//! - **Multi-Paxos** (`MULTI_BOUNDS`): 3 processes, leader 0, clients 1 and
//!   2 with one command each, no crashes, the same network. Its timers fire
//!   at any time in the untimed world, and the resending ones (a client's
//!   `Retry`, the leader's `Resend`) make the space infinite and huge even
//!   when bounded: with them, every bound tried passed 4 million generated
//!   states (13-18 s) unfinished. So the model runs the same handlers
//!   through `Slowed`, which leaves out the `SetTimer`s of those two timers
//!   (they never expire within the bound: a slow clock, not another
//!   algorithm). A resent `Accept` carries what the original carried, so on
//!   a network that delays without bound it adds only duplicates; what is
//!   lost is a client resending its `Request` to a new leader (a command in
//!   two slots), though a client that issues after a leader change already
//!   sends to the new one. `Issue` and `Suspect` stay: any process may
//!   campaign at any moment. The boundary: phase 1 runs at most twice in
//!   all (leader 0's and one rival's, the rounds used summed over the
//!   processes at most 2), at most 5 messages in flight and never two copies
//!   of one. Correct: 140,648 states, depth 31, about 2.5 s; the broken
//!   variant's space (289,124 states, about 5.5 s, explored to the end since
//!   validity never fails) holds the counterexample, 5 in flight being the
//!   fewest it needs (see the test). With 6 in flight: 570,548 states (13 s)
//!   correct, 1,648,398 (49 s) broken.
//!
//! Properties: `always` agreement and validity (and, for Multi-Paxos, prefix
//! consistency of the learned logs); `sometimes` a decision (guards against a
//! vacuous pass). No `eventually`: with retries cut off by the boundary, and
//! with duelling proposers (FLP), a path that never decides exists, so it
//! would fail by construction; liveness is the timed runs' business.

use std::borrow::Cow;

use stateright::actor::{Actor, ActorModel, ActorModelState, Command, Id, Network, Out};
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

/// How far the checked Multi-Paxos space goes.
#[derive(Clone, Copy, Debug)]
pub struct MultiBounds {
    /// Client commands in all (round-robin over clients 1 and 2).
    pub ops: u32,
    /// Phase-1 runs in all (the rounds used, summed over the processes, are
    /// at most this: a campaign raises its process's round by at least one).
    pub campaigns: u32,
    /// Messages in flight at once.
    pub in_flight: usize,
    /// Timers that never expire within the bound (they are never set).
    pub silent: &'static [multi::Timer],
}

/// Multi-Paxos in the model, with the timers of `silent` never expiring:
/// the same handlers, their `SetTimer`s of those timers left out.
#[derive(Clone)]
pub struct Slowed {
    pub actor: MultiPaxos,
    pub silent: &'static [multi::Timer],
}

impl Slowed {
    fn pass(&self, from: Out<MultiPaxos>, o: &mut Out<Self>) {
        for c in from {
            match c {
                Command::SetTimer(t, _) if self.silent.contains(&t) => {}
                Command::SetTimer(t, d) => o.set_timer(t, d),
                Command::CancelTimer(t) => o.cancel_timer(t),
                Command::Send(to, m) => o.send(to, m),
                Command::Save(d) => o.save(d),
                Command::ChooseRandom(k, r) => o.choose_random(k, r),
            }
        }
    }
}

impl Actor for Slowed {
    type Msg = multi::Msg;
    type State = multi::State;
    type Timer = multi::Timer;
    type Random = ();
    type Storage = multi::Durable;

    fn on_start(&self, id: Id, storage: &Option<multi::Durable>, o: &mut Out<Self>) -> multi::State {
        let mut inner = Out::new();
        let s = self.actor.on_start(id, storage, &mut inner);
        self.pass(inner, o);
        s
    }
    fn on_msg(&self, id: Id, s: &mut Cow<multi::State>, src: Id, msg: multi::Msg, o: &mut Out<Self>) {
        let mut inner = Out::new();
        self.actor.on_msg(id, s, src, msg, &mut inner);
        self.pass(inner, o);
    }
    fn on_timeout(&self, id: Id, s: &mut Cow<multi::State>, timer: &multi::Timer, o: &mut Out<Self>) {
        let mut inner = Out::new();
        self.actor.on_timeout(id, s, timer, &mut inner);
        self.pass(inner, o);
    }
}

/// The bounds `multipaxos` checks within.
pub const MULTI_BOUNDS: MultiBounds =
    MultiBounds { ops: 2, campaigns: 2, in_flight: 5, silent: &[multi::Timer::Retry, multi::Timer::Resend] };

/// The model of Multi-Paxos (see the module's notes).
pub fn multipaxos_model(broken: bool, b: MultiBounds) -> ActorModel<Slowed, MultiBounds> {
    let timing = multi::Timing { start: 0..1, retry: 0..1, suspect: 0..1 };
    let actor = MultiPaxos { processes: 3, ops: b.ops, timing, broken };
    ActorModel::new(b, ())
        .actors(vec![Slowed { actor, silent: b.silent }; 3])
        .init_network(Network::new_unordered_nonduplicating([]))
        .within_boundary(|b, s| {
            s.actor_states.iter().map(|a| a.durable.round).sum::<u32>() <= b.campaigns
                && s.network.len() <= b.in_flight
                && s.network.len() == s.network.iter_deliverable().count()
        })
        .property(Expectation::Always, AGREEMENT, |_, s| {
            let logs: Vec<&Vec<Option<Cmd>>> = s.actor_states.iter().map(|a| &a.durable.learned).collect();
            logs.iter()
                .all(|x| logs.iter().all(|y| x.iter().zip(y.iter()).all(|(p, q)| p.is_none() || q.is_none() || p == q)))
        })
        .property(Expectation::Always, VALIDITY, |m, s| {
            // A client's commands are numbered from 0 below its share.
            let issued = |c: &Cmd| match *c {
                Cmd::Noop => true,
                Cmd::Op { client, seq } => seq < m.actors[0].actor.share(usize::from(client)),
            };
            s.actor_states.iter().flat_map(|a| a.durable.learned.iter().flatten()).all(issued)
        })
        .property(Expectation::Always, PREFIX, |_, s| {
            let prefix = |l: &Vec<Option<Cmd>>| l.iter().map_while(|c| *c).collect::<Vec<Cmd>>();
            let ps: Vec<Vec<Cmd>> = s.actor_states.iter().map(|a| prefix(&a.durable.learned)).collect();
            ps.iter().all(|x| ps.iter().all(|y| x.iter().zip(y).all(|(p, q)| p == q)))
        })
        .property(Expectation::Sometimes, DECIDES, |_, s| {
            s.actor_states.iter().any(|a| a.durable.learned.iter().flatten().any(|c| *c != Cmd::Noop))
        })
}

/// Checks Multi-Paxos within `MULTI_BOUNDS`.
pub fn multipaxos(broken: bool) -> CheckSummary {
    multipaxos_within(broken, MULTI_BOUNDS, None)
}

/// Checks Multi-Paxos within `b`, stopping past `cap` states if given.
pub fn multipaxos_within(broken: bool, b: MultiBounds, cap: Option<usize>) -> CheckSummary {
    let mut builder = multipaxos_model(broken, b).checker();
    if let Some(cap) = cap {
        builder = builder.target_state_count(cap);
    }
    let checker = builder.spawn_bfs().join();
    CheckSummary {
        config: format!(
            "3 processes (leader 0, clients 1 and 2), {} commands, {} phase-1 runs, {} messages in flight, \
             no duplicate in flight, no crashes",
            b.ops, b.campaigns, b.in_flight
        ),
        variant: VARIANTS[broken as usize],
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
