//! The untimed world: the same actors the cores run, model-checked by
//! stateright. There is no clock here: a timer may fire at any moment, and any
//! message at the head of its channel may be delivered next, so every
//! interleaving of thinking, requesting and leaving is explored, for a small
//! workload (`processes` processes, `entries` entries each; under `Central`,
//! process 0 is the coordinator with no entries, so 3 processes are the
//! coordinator and 2 clients).
//!
//! Properties:
//! - `always "mutual exclusion"`: at most one process is in its section.
//! - `sometimes "someone enters"`: a state with a process in its section is
//!   reachable (guards against a vacuous pass).
//! - `eventually "every process finishes"`: every process has done its share.
//!   Stateright checks an `eventually` property only on *terminal* paths: it
//!   reports a path that reaches a state with no successor (or whose successors
//!   are all outside the boundary) without the property having held on the way.
//!   A path that closes a cycle is not treated as terminal (the checker cannot
//!   tell a cycle from a join of two paths), so a cycle avoiding the property is
//!   a silent false negative. Two consequences here:
//!   - Central, Lamport and Ricart–Agrawala are acyclic: every step consumes a
//!     timer or a message, and a bounded workload allows boundedly many of
//!     each, so every path is finite and ends in a terminal state. Their
//!     `eventually` is a real proof, with no fairness assumed: every execution
//!     ends with every process finished (no deadlock, no starvation). The
//!     property is stable (finished processes stay finished), so stateright's
//!     other false negative, a join reached with different histories, cannot
//!     hide a violation either.
//!   - The token ring never terminates (the token circulates forever, and can
//!     circulate while a process thinks forever: stateright has no fairness),
//!     so an `eventually` there would pass vacuously. It is not asked.
//! - For every algorithm `check` also explores the state graph itself and
//!   counts *stuck* states: reachable states from which no path leads to every
//!   process finished. None means "from everywhere, finishing stays possible"
//!   (AG EF in CTL); on a finite graph, under strong fairness (a step enabled
//!   infinitely often is eventually taken), that implies every execution
//!   finishes. This is the token ring's liveness check.
//!
//! Stateright keeps, for each property, the *last* discovery its search meets
//! (a later one overwrites an earlier one while the search goes on), so a
//! reported path is a genuine example or counterexample but not the shortest.
//!
//! Sizes on FIFO channels, 3 processes (release build, both explorations):
//! Central 33 states with one entry each, 123 with two; Lamport 111,430 with
//! one (about 1 s; with two it passes `STATE_LIMIT` and is refused after some
//! 9 s and 1.8 GB); Ricart–Agrawala 2,047 and
//! 25,489; token ring 108 and 525. A fourth process takes Ricart–Agrawala with
//! one entry each to 1.4 million states (about 50 s).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use stateright::actor::{ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, Model};

use super::central::Central;
use super::lamport::Lamport;
use super::ricart_agrawala::RicartAgrawala;
use super::token_ring::TokenRing;
use super::{Algo, Workload};
use crate::exec::actor::OnCore;
pub use crate::exec::untimed::PropertyReport;
use crate::exec::untimed::properties;

pub const MUTUAL_EXCLUSION: &str = "mutual exclusion";
pub const SOMEONE_ENTERS: &str = "someone enters";
pub const EVERY_PROCESS_FINISHES: &str = "every process finishes";

/// How the model's network treats the messages between two processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channels {
    /// Per (sender, receiver) FIFO: only a channel's oldest message can be
    /// delivered (`Network::new_ordered`). Lamport needs this.
    Fifo,
    /// Any message in flight can be delivered next; none is duplicated or lost
    /// (`Network::new_unordered_nonduplicating`).
    Unordered,
}

/// The most states `check` explores: about 2 GB of memory and a minute in
/// release (Ricart–Agrawala with 4 processes and one entry each has 1.4 million).
pub const STATE_LIMIT: usize = 2_000_000;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("a mutex check needs at least one process")]
    NoProcesses,
    #[error("{algo} with {processes} processes and {entries} entries each has over {limit} states; try fewer")]
    TooLarge { algo: Algo, processes: usize, entries: u32, limit: usize },
}

/// What a check found.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub algo: Algo,
    pub processes: usize,
    pub entries: u32,
    pub channels: Channels,
    /// Distinct states stateright visited: all reachable ones, unless every
    /// property asked has a discovery (it stops then).
    pub unique_states: usize,
    pub max_depth: usize,
    pub properties: Vec<PropertyReport>,
    /// Reachable states counted by `check`'s own exploration (equal to
    /// `unique_states` when stateright explored everything; both tell states
    /// apart by 64-bit fingerprints).
    pub explored_states: usize,
    /// Reachable states from which no path leads to every process finished.
    pub stuck_states: usize,
    pub elapsed: Duration,
}

impl CheckReport {
    pub fn property(&self, name: &str) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The discovery for `name`, if the property was asked and one was found.
    pub fn discovery(&self, name: &str) -> Option<&[String]> {
        self.property(name).and_then(|p| p.discovery.as_deref())
    }

    /// Every property holds and no state is stuck.
    pub fn ok(&self) -> bool {
        self.properties.iter().all(PropertyReport::holds) && self.stuck_states == 0
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} processes, {} entries each, {:?} channels: {} states (depth {}) in {:.2} s",
            self.algo,
            self.processes,
            self.entries,
            self.channels,
            self.unique_states,
            self.max_depth,
            self.elapsed.as_secs_f64()
        )?;
        for p in &self.properties {
            let verdict = match (&p.expectation, &p.discovery) {
                (Expectation::Sometimes, Some(path)) => format!("found in {} steps", path.len()),
                (Expectation::Sometimes, None) => "NEVER (no example)".to_string(),
                (_, None) => "holds".to_string(),
                (_, Some(path)) => format!("FAILS: counterexample of {} steps", path.len()),
            };
            writeln!(f, "  {:<10} {:<24} {verdict}", format!("{:?}", p.expectation).to_lowercase(), p.name)?;
            if let (false, Some(path)) = (p.holds(), &p.discovery) {
                for (step, action) in path.iter().enumerate() {
                    writeln!(f, "    {:>3}. {action}", step + 1)?;
                }
            }
        }
        writeln!(f, "  every process can still finish from every state: {} stuck states", self.stuck_states)
    }
}

/// The check's workload: `entries` for each process, except Central's
/// coordinator (process 0), which never enters. Think time is immaterial here.
pub fn workload(algo: Algo, processes: usize, entries: u32) -> Workload {
    let mut shares = vec![entries; processes];
    if algo == Algo::Central && processes > 0 {
        shares[0] = 0;
    }
    Workload { processes, entries: shares, think: 0..1 }
}

/// Checks `algo` on FIFO channels.
pub fn check(algo: Algo, processes: usize, entries: u32) -> Result<CheckReport, CheckError> {
    check_on(algo, processes, entries, Channels::Fifo)
}

/// Checks `algo` on the given channels (sizes: see the module's notes). Fails
/// on no processes, and past `STATE_LIMIT` states.
pub fn check_on(algo: Algo, processes: usize, entries: u32, channels: Channels) -> Result<CheckReport, CheckError> {
    if processes == 0 {
        return Err(CheckError::NoProcesses);
    }
    let w = workload(algo, processes, entries);
    let started = Instant::now();
    let outcome: Option<Outcome> = match algo {
        Algo::Central => explore(model(Central::new(w), processes, channels, true)),
        Algo::Lamport => explore(model(Lamport::new(w), processes, channels, true)),
        Algo::RicartAgrawala => explore(model(RicartAgrawala::new(w), processes, channels, true)),
        Algo::BrokenRicartAgrawala => explore(model(RicartAgrawala::broken(w), processes, channels, true)),
        // Cyclic: `eventually` would pass vacuously (see the module's notes).
        Algo::TokenRing => explore(model(TokenRing::new(w), processes, channels, false)),
    };
    let outcome = outcome.ok_or(CheckError::TooLarge { algo, processes, entries, limit: STATE_LIMIT })?;
    Ok(CheckReport {
        algo,
        processes,
        entries,
        channels,
        unique_states: outcome.unique_states,
        max_depth: outcome.max_depth,
        properties: outcome.properties,
        explored_states: outcome.explored_states,
        stuck_states: outcome.stuck_states,
        elapsed: started.elapsed(),
    })
}

/// Processes in their section.
fn in_section<A: OnCore>(model: &ActorModel<A>, state: &ActorModelState<A>) -> usize
where
    A::Msg: Ord + Serialize + DeserializeOwned,
    A::Timer: Ord,
{
    model.actors.iter().zip(&state.actor_states).filter(|(a, s)| a.in_section(s)).count()
}

fn all_finished<A: OnCore>(model: &ActorModel<A>, state: &ActorModelState<A>) -> bool
where
    A::Msg: Ord + Serialize + DeserializeOwned,
    A::Timer: Ord,
{
    model.actors.iter().zip(&state.actor_states).all(|(a, s)| a.finished(s))
}

/// The model of `actor` run by every process, with the mutex properties
/// (`eventually` only if asked: see the module's notes).
pub fn model<A: OnCore + Clone>(actor: A, processes: usize, channels: Channels, eventually: bool) -> ActorModel<A>
where
    A::Msg: Ord + Serialize + DeserializeOwned,
    A::Timer: Ord,
{
    let network = match channels {
        Channels::Fifo => Network::new_ordered([]),
        Channels::Unordered => Network::new_unordered_nonduplicating([]),
    };
    let m = ActorModel::new((), ())
        .actors(vec![actor; processes])
        .init_network(network)
        .property(Expectation::Always, MUTUAL_EXCLUSION, |m, s| in_section(m, s) <= 1)
        .property(Expectation::Sometimes, SOMEONE_ENTERS, |m, s| in_section(m, s) > 0);
    if eventually { m.property(Expectation::Eventually, EVERY_PROCESS_FINISHES, all_finished) } else { m }
}

struct Outcome {
    unique_states: usize,
    max_depth: usize,
    properties: Vec<PropertyReport>,
    explored_states: usize,
    stuck_states: usize,
}

fn explore<A>(model: ActorModel<A>) -> Option<Outcome>
where
    A: OnCore + Send + Sync + 'static,
    A::Msg: Ord + Serialize + DeserializeOwned + Send + Sync,
    A::Timer: Ord + Send + Sync,
    A::State: Eq + Send + Sync,
    A::Random: Send + Sync,
    A::Storage: Send + Sync,
{
    // Ours first: it refuses a graph over the limit, which stateright would
    // explore in full.
    let (explored_states, stuck_states) = stuck(&model)?;
    let checker = model.checker().spawn_bfs().join();
    let properties = properties(&checker);
    Some(Outcome {
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        properties,
        explored_states,
        stuck_states,
    })
}

/// Explores the reachable graph; returns (states, states from which no path
/// reaches every process finished), or `None` past `STATE_LIMIT` states.
/// States are known by a 64-bit fingerprint, as stateright knows them, and only
/// the frontier is kept whole: a few tens of bytes per state.
fn stuck<A>(model: &ActorModel<A>) -> Option<(usize, usize)>
where
    A: OnCore,
    A::Msg: Ord + Serialize + DeserializeOwned,
    A::Timer: Ord,
{
    fn fingerprint<T: Hash>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut preds: Vec<Vec<u32>> = Vec::new();
    let mut can_finish: Vec<bool> = Vec::new();
    let mut pending = VecDeque::new();
    let mut visit = |s: ActorModelState<A>, pending: &mut VecDeque<_>| -> Option<u32> {
        let next = index.len() as u32;
        let i = *index.entry(fingerprint(&s)).or_insert(next);
        if i == next {
            preds.push(Vec::new());
            can_finish.push(all_finished(model, &s));
            pending.push_back((i, s));
        }
        (index.len() <= STATE_LIMIT).then_some(i)
    };
    for s in model.init_states() {
        visit(s, &mut pending)?;
    }
    let mut actions = Vec::new();
    let mut edges = Vec::new();
    while let Some((i, s)) = pending.pop_front() {
        model.actions(&s, &mut actions);
        for action in actions.drain(..) {
            if let Some(next) = model.next_state(&s, action) {
                edges.push((visit(next, &mut pending)?, i));
            }
        }
    }
    for (j, i) in edges {
        preds[j as usize].push(i);
    }
    // Backwards from the finished states.
    let mut work: Vec<u32> = (0..can_finish.len() as u32).filter(|&i| can_finish[i as usize]).collect();
    while let Some(j) = work.pop() {
        for &i in &preds[j as usize] {
            if !can_finish[i as usize] {
                can_finish[i as usize] = true;
                work.push(i);
            }
        }
    }
    Some((can_finish.len(), can_finish.iter().filter(|&&c| !c).count()))
}
