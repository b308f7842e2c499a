//! The breadth-first search and the progress pass.
//!
//! States are expanded in discovery order, so the first violation found is at the
//! least depth and its parent chain is a shortest counterexample. Each expansion
//! decodes the state once into `base`, then runs every candidate transition on a
//! second world `work`, restoring only what the transition touched.
//!
//! Progress ("every request eventually completes along some path") needs the whole
//! graph: the search records its message-delivery edges (compressed rows, 4 bytes
//! per edge) and which states are quiescent; afterwards the edges are reversed and
//! every state that reaches a quiescent one by deliveries alone is marked. An
//! unmarked state is a violation; the least-numbered one is a shallowest one.

use std::time::Instant;

use super::chart::{self, Chart, Ending};
use super::encoding::Codec;
use super::state::{Action, Fault, Model, Outcome, World};
use super::store::{NO_PARENT, StateStore};
use super::{CheckOptions, CheckReport, OptionsError, Violation, ViolationKind};
use crate::model::Outbox;

/// Where the search stopped with a violation.
enum Found {
    /// Taking some transition from this state violates (the fault's kind).
    Transition { state: u32, fault: Fault },
    /// This state itself violates.
    State { state: u32, fault: Fault },
}

/// The delivery edges of the expanded states, as compressed rows.
pub(super) struct Deliveries {
    pub(super) start: Vec<u32>,
    pub(super) to: Vec<u32>,
    pub(super) quiescent: Vec<bool>,
}

/// How far a search has got, reported every few seconds.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub states: u64,
    pub expanded: u64,
    pub transitions: u64,
    /// Depth of the states being expanded.
    pub depth: u32,
    pub seconds: f64,
}

/// Explore every reachable state of the system `opts` describes.
pub fn check(opts: &CheckOptions) -> Result<CheckReport, OptionsError> {
    check_with_progress(opts, 0.0, &mut |_| {})
}

/// `check`, calling `progress` about every `every` seconds (never when 0).
///
/// Symmetry reduction assumes every controller treats cache ids (and values)
/// alike. A bug that breaks that assumption shows when its counterexample,
/// found among canonical states, cannot be replayed in the original names:
/// the search then runs again without symmetry, which needs no assumption, and
/// the report says so (`asymmetry_found`).
pub fn check_with_progress(
    opts: &CheckOptions,
    every: f64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CheckReport, OptionsError> {
    if opts.interconnect == crate::config::Interconnect::Bus {
        opts.validate()?;
        return Ok(super::bus::search(opts, every, progress));
    }
    let report = search(opts, every, progress)?;
    if report.violation.as_ref().is_some_and(|v| v.chart.steps.is_empty() && !v.replayed)
        && report.symmetry != super::Symmetry::NONE
    {
        let plain = CheckOptions { symmetry: super::Symmetry::NONE, ..opts.clone() };
        let mut again = search(&plain, every, progress)?;
        again.options = opts.clone();
        again.asymmetry_found = true;
        again.seconds += report.seconds;
        return Ok(again);
    }
    Ok(report)
}

fn search(opts: &CheckOptions, every: f64, progress: &mut dyn FnMut(&Progress)) -> Result<CheckReport, OptionsError> {
    opts.validate()?;
    let t0 = Instant::now();
    let m = Model::new(opts);
    let mut codec = Codec::new(&m);
    let mut store = StateStore::new();
    let mut base = World::new(&m);
    let mut work = World::new(&m);
    let mut key = Vec::with_capacity(256);
    codec.canonical(&base, &mut key);
    store.insert(&key, NO_PARENT);

    let mut edges = Deliveries { start: vec![0], to: Vec::new(), quiescent: Vec::new() };
    let mut actions: Vec<Action> = Vec::with_capacity(64);
    let mut out = Outbox::default();
    let mut transitions = 0u64;
    let max_states = opts.max_states.unwrap_or(u64::MAX);
    let mut truncated = false;
    let mut found = None;
    let mut cursor = 0u32;
    // States before `level_end` are at most `depth` deep.
    let (mut depth, mut level_end) = (0u32, 1usize);
    let mut next_report = every;
    'search: while (cursor as usize) < store.len() {
        if cursor as usize == level_end {
            depth += 1;
            level_end = store.len();
        }
        if every > 0.0 && cursor.is_multiple_of(4096) && t0.elapsed().as_secs_f64() >= next_report {
            let seconds = t0.elapsed().as_secs_f64();
            next_report = seconds + every;
            let states = store.len() as u64;
            progress(&Progress { states, expanded: cursor as u64, transitions, depth, seconds });
        }
        codec.decode(store.get(cursor), &mut base);
        work.restore_all(&base);
        base.actions(&m, &mut actions);
        let mut deliveries = 0;
        for &action in &actions {
            match work.apply(&m, action, &mut out) {
                Err(fault) => {
                    found = Some(Found::Transition { state: cursor, fault });
                    break 'search;
                }
                // Neither changes the world: nothing to restore.
                Ok(Outcome::Disabled) => {}
                Ok(Outcome::Unchanged) => transitions += 1,
                Ok(Outcome::Changed) => {
                    transitions += 1;
                    codec.canonical(&work, &mut key);
                    let (next, new) = store.insert(&key, cursor);
                    if new {
                        if let Err(fault) = work.check_invariants(&m) {
                            found = Some(Found::State { state: next, fault });
                            break 'search;
                        }
                        truncated |= store.len() as u64 >= max_states;
                    }
                    if action.is_delivery() {
                        deliveries += 1;
                        edges.to.push(next);
                    }
                    work.undo(&m, &base, action);
                }
            }
        }
        let pending = base.pending();
        if pending && deliveries == 0 {
            let fault = Fault {
                kind: ViolationKind::Deadlock,
                detail: "deadlock: work is pending but no message can be delivered".to_string(),
            };
            found = Some(Found::State { state: cursor, fault });
            break;
        }
        edges.quiescent.push(!pending);
        assert!(edges.to.len() < u32::MAX as usize, "more than 4 billion delivery edges");
        edges.start.push(edges.to.len() as u32);
        cursor += 1;
        if truncated {
            break;
        }
    }

    let complete = found.is_none() && !truncated;
    if complete && let Some(state) = first_without_progress(&edges) {
        let reach = delivery_reach(&edges, state);
        let fault = Fault {
            kind: ViolationKind::NoProgress,
            detail: format!(
                "no progress: from this state no sequence of message deliveries reaches a quiescent state \
                 ({reach} states are reachable by deliveries alone, none quiescent)"
            ),
        };
        found = Some(Found::State { state, fault });
    }
    let violation = found.map(|f| counterexample(&m, &store, f));
    let memory_bytes = store.bytes() + 4 * (edges.start.capacity() + edges.to.capacity()) + edges.quiescent.capacity();
    let last = store.len() as u32 - 1;
    Ok(CheckReport {
        options: opts.clone(),
        states: store.len() as u64,
        expanded: cursor as u64,
        transitions,
        max_depth: store.path_to(last).len() as u32 - 1,
        seconds: t0.elapsed().as_secs_f64(),
        complete,
        progress_checked: complete,
        accesses: m.accesses.len(),
        symmetry: m.symmetry,
        asymmetry_found: false,
        memory_bytes,
        violation,
    })
}

fn counterexample(m: &Model, store: &StateStore, found: Found) -> Violation {
    let (state, fault, ending) = match found {
        Found::Transition { state, fault } => {
            let kind = fault.kind;
            (state, fault, Ending::Transition(kind))
        }
        Found::State { state, fault } => (state, fault, Ending::State),
    };
    let Some(mut chart) = chart::replay(m, store, &store.path_to(state), ending) else {
        // No chart in the original names (see `check_with_progress`); the
        // violation stands as the search found it.
        let chart = Chart { verdict: fault.detail.clone(), ..Chart::default() };
        return Violation { kind: fault.kind, detail: fault.detail, chart, replayed: false };
    };
    // The replay words the violation in the run's own names; deadlocks and lack of
    // progress are found by the search alone.
    if chart.verdict.is_empty() {
        chart.verdict = fault.detail;
    }
    Violation { kind: fault.kind, detail: chart.verdict.clone(), chart, replayed: true }
}

/// The least-numbered state from which no delivery path reaches quiescence.
pub(super) fn first_without_progress(e: &Deliveries) -> Option<u32> {
    let n = e.quiescent.len();
    // Reverse the edges: counting sort by target.
    let mut rev_start = vec![0u32; n + 1];
    for &t in &e.to {
        rev_start[t as usize + 1] += 1;
    }
    for i in 0..n {
        rev_start[i + 1] += rev_start[i];
    }
    let mut fill = rev_start.clone();
    let mut rev = vec![0u32; e.to.len()];
    for s in 0..n {
        for &t in &e.to[e.start[s] as usize..e.start[s + 1] as usize] {
            rev[fill[t as usize] as usize] = s as u32;
            fill[t as usize] += 1;
        }
    }
    drop(fill);
    let mut live = e.quiescent.clone();
    let mut stack: Vec<u32> = (0..n as u32).filter(|&s| live[s as usize]).collect();
    while let Some(t) = stack.pop() {
        for &s in &rev[rev_start[t as usize] as usize..rev_start[t as usize + 1] as usize] {
            if !live[s as usize] {
                live[s as usize] = true;
                stack.push(s);
            }
        }
    }
    live.iter().position(|l| !l).map(|s| s as u32)
}

/// How many states deliveries alone reach from `from` (itself included).
pub(super) fn delivery_reach(e: &Deliveries, from: u32) -> usize {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut stack = vec![from];
    seen.insert(from);
    while let Some(s) = stack.pop() {
        for &t in &e.to[e.start[s as usize] as usize..e.start[s as usize + 1] as usize] {
            if seen.insert(t) {
                stack.push(t);
            }
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of a graph: `succ[s]` are the states deliveries lead to from `s`.
    fn graph(succ: &[&[u32]], quiescent: &[bool]) -> Deliveries {
        let mut e = Deliveries { start: vec![0], to: Vec::new(), quiescent: quiescent.to_vec() };
        for row in succ {
            e.to.extend_from_slice(row);
            e.start.push(e.to.len() as u32);
        }
        e
    }

    #[test]
    fn progress_pass_finds_states_that_cannot_settle() {
        // 0 → 1 → 2 (quiescent); 3 ⇄ 4 cycle forever; 5 → 3 joins the cycle.
        let e = graph(&[&[1], &[2], &[], &[4], &[3], &[3, 3]], &[false, false, true, false, false, false]);
        assert_eq!(first_without_progress(&e), Some(3));
        assert_eq!(delivery_reach(&e, 5), 3);
        // Give the cycle an exit and every state settles.
        let e = graph(&[&[1], &[2], &[], &[4], &[3, 2], &[3]], &[false, false, true, false, false, false]);
        assert_eq!(first_without_progress(&e), None);
    }
}
