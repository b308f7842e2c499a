//! The untimed world: three processes running the detector, one level, each
//! sending at most `BEATS` beats (stateright's boundary; the beat timer is
//! re-armed forever, so the boundary is what makes the graph finite), at
//! most one crash at any point (`max_crashes(1)`; stateright 0.31 also lets
//! a crashed actor recover, and a recovery starts a new incarnation, which
//! the boundary excludes: the crash is a crash-stop). Messages are unordered
//! and may be delivered in any order; a crashed process's beats already in
//! flight may still arrive.
//!
//! There is no clock: a watch's timer may fire at any moment, so the
//! checker explores every order of silence timeouts and arrivals. What that
//! can show:
//! - `eventually "every crash is suspected by every live process"`: on
//!   every complete path with a crash, each live process ends up suspecting
//!   the crashed one (paths without a crash count once every process has sent
//!   its beats). Stateright checks `eventually` on terminal paths; every path
//!   here is finite (each step consumes a timer or a message, a watch is
//!   re-armed only by a beat, and beats are bounded), so this is a proof for
//!   the bounded configuration: strong completeness.
//! - `sometimes "a live process is suspected"`: a timer may fire before the
//!   next beat, so the untimed world *does* suspect live processes. Accuracy
//!   is a timing property; it cannot be checked here, only measured on the
//!   cores (`grade`). The property is asked to show that honestly.
//! - `sometimes "a crashed process is suspected"`: against a vacuous pass.
//!
//! The search stops at the first failure (`HasDiscoveries::AnyFailures`):
//! a correct variant is explored in full (its count is the reachable
//! states), a broken one up to its first counterexample.

use stateright::actor::{ActorModel, ActorModelState, LossyNetwork, Network};
use stateright::{Checker, Expectation, HasDiscoveries, Model};

use super::heartbeat::{Broken, Detector, Rule};
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

pub const COMPLETE: &str = "every crash is suspected by every live process";
pub const LIVE_SUSPECTED: &str = "a live process is suspected";
pub const CRASH_SUSPECTED: &str = "a crashed process is suspected";

/// Beats each process sends in the checked configuration.
pub const BEATS: u32 = 1;
pub const PROCESSES: usize = 3;

type State = ActorModelState<Detector>;

fn complete(_: &ActorModel<Detector, u32>, s: &State) -> bool {
    let crashed: Vec<usize> = (0..PROCESSES).filter(|&c| s.crashed[c]).collect();
    !crashed.is_empty()
        && (0..PROCESSES).filter(|&p| !s.crashed[p]).all(|p| crashed.iter().all(|&c| s.actor_states[p].suspects(c, 0)))
}

fn suspected(s: &State, crashed: bool) -> bool {
    (0..PROCESSES).any(|p| {
        !s.crashed[p] && (0..PROCESSES).any(|q| q != p && s.crashed[q] == crashed && s.actor_states[p].suspects(q, 0))
    })
}

/// The model of `actor` (one level) on three processes.
pub fn model(actor: Detector) -> ActorModel<Detector, u32> {
    ActorModel::new(BEATS, ())
        .actors(vec![actor; PROCESSES])
        .init_network(Network::new_unordered_nonduplicating([]))
        .lossy_network(LossyNetwork::Yes)
        .max_crashes(1)
        .within_boundary(|bound, s| s.actor_states.iter().all(|a| a.beats <= *bound && a.inc == 0))
        .property(Expectation::Eventually, COMPLETE, complete)
        .property(Expectation::Sometimes, LIVE_SUSPECTED, |_, s| suspected(s, false))
        .property(Expectation::Sometimes, CRASH_SUSPECTED, |_, s| suspected(s, true))
}

/// The detector of the check: one level, a period and timeout that only the
/// timed world reads.
pub fn actor(phi: bool, broken: Broken) -> Detector {
    let rule = if phi { Rule::phi(vec![3.0], 250) } else { Rule::Timeouts(vec![3000]) };
    Detector { processes: PROCESSES, period: 1000, rule, end: u64::MAX, broken }
}

pub fn check(phi: bool, variant: &'static str, broken: Broken) -> CheckSummary {
    let checker = model(actor(phi, broken)).checker().finish_when(HasDiscoveries::AnyFailures).spawn_bfs().join();
    CheckSummary {
        config: format!("{PROCESSES} processes, {BEATS} beats each, one crash, one level, unordered channels"),
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
