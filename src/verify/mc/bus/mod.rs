//! The exhaustive checker for the snooping bus (`--interconnect bus`): every
//! reachable state of `C` snooping caches and the memory controller of
//! `model::snoop`, over `L` one-word lines with values in `0..V`, explored
//! breadth-first with the visited set, the progress pass and the report of the
//! directory checker (`super::explore`). The timed engine (`engine::bus`) and
//! this world run the same controllers and the same order-point and snoop-queue
//! steps; only time is gone.
//!
//! ## What it explores
//!
//! Caches are built as `BusSimulator` builds them, shaped as the directory
//! checker shapes them (one way, a set per line, an `L`-entry write-back
//! buffer). From each state, one at a time:
//!
//! * **core accesses** and **evictions**, as in the directory checker: a hit
//!   takes the engine's fast path (`hit_frame`, `hit_at`), anything else runs
//!   `SnoopCache::access`; any stable line may be evicted at any time.
//! * **ordering**: any cache whose queue of requests waiting for the address
//!   bus is not empty may win the bus next — the nondeterminism of arbitration,
//!   which covers round-robin under every timing. Within one cache requests are
//!   ordered oldest first, as `model::bus::Bus` only ever grants a queue's head.
//!   At the order point the shared line is sampled from the other caches, and
//!   every cache (the requester too) and then memory take the request in one
//!   transition, a controller that stalls it keeping it in its snoop queue for
//!   the line, exactly as `BusSimulator::arbitrate` and `deliver` do.
//! * **data delivery**: any line on the data bus reaches its receiver, in any
//!   order, and the receiver's snoop queue for the line drains as far as it
//!   can. The timed data bus is first come first served by the cycle a line is
//!   ready, but that cycle depends on the configured snoop, DRAM and bus
//!   latencies (and stress's jitter), so any order of transfers is one some
//!   configuration produces: the checker takes them all. (The two receivers
//!   of one MSI/MESI M→S transfer arrive in the same cycle; here they may
//!   arrive apart, which only adds interleavings.)
//!
//! ## What it checks
//!
//! As the directory checker: in every state SWMR and that every readable copy
//! holds the golden word; on every transition no `ProtocolError` and every
//! performed access read the golden word (a load completing in `IS_D_I`, which
//! the table marks windowed, any value the word held since the load was
//! issued); **deadlock** when work is pending (a request waiting or stalled, a
//! line on the data bus, a miss, a transient state, memory waiting for data)
//! and nothing is waiting for the bus or on the data bus; and **progress**: from
//! every reachable state, bus moves alone (orderings and deliveries) reach a
//! quiescent state. Frames waiting for data hold the poison word, as there.

mod codec;
mod world;

use std::time::Instant;

use super::chart::{Chart, ChartStep};
use super::explore::{Deliveries, Progress, delivery_reach, first_without_progress};
use super::state::{Fault, Outcome};
use super::store::{NO_PARENT, StateStore};
use super::{CheckOptions, CheckReport, ForwardOrder, OptionsError, Symmetry, Violation, ViolationKind, mutation_name};
use crate::model::{MemOp, Mutation, NodeId, Outbox};
use codec::BusCodec;
use world::{BusAction, BusWorld, describe_msg};

/// The immutable shape of the checked bus system.
#[derive(Clone, Debug)]
pub(crate) struct BusModel {
    pub opts: CheckOptions,
    pub symmetry: Symmetry,
    pub caches: usize,
    pub lines: usize,
    pub values: usize,
    pub frames: usize,
    pub accesses: Vec<MemOp>,
}

impl BusModel {
    fn new(opts: &CheckOptions) -> Self {
        BusModel {
            opts: opts.clone(),
            symmetry: opts.symmetry,
            caches: opts.caches,
            lines: opts.lines,
            values: opts.values,
            frames: opts.lines.next_power_of_two(),
            accesses: opts.accesses(),
        }
    }

    pub fn node_name(&self, node: NodeId) -> String {
        if (node as usize) < self.caches { format!("L1[{node}]") } else { "Mem".to_string() }
    }
}

/// Settings that mean nothing on the bus, named.
pub(super) fn validate(o: &CheckOptions) -> Result<(), OptionsError> {
    if o.forward_order != ForwardOrder::Fifo {
        return Err(OptionsError {
            setting: "--unordered-forward",
            message: "the bus has no forward network (it orders every request)".into(),
        });
    }
    if o.silent_evict {
        return Err(OptionsError {
            setting: "--silent-evict",
            message: "on the bus S copies are always dropped silently".into(),
        });
    }
    if let Some(m) = o.mutation.filter(|m| !Mutation::SNOOP.contains(m)) {
        let names: Vec<String> = Mutation::SNOOP.into_iter().map(mutation_name).collect();
        return Err(OptionsError {
            setting: "--mutation",
            message: format!("{} is a directory mutation; the bus's are {}", mutation_name(m), names.join(", ")),
        });
    }
    Ok(())
}

enum Found {
    Transition { state: u32, fault: Fault },
    State { state: u32, fault: Fault },
}

/// Explore every reachable state of the bus system `opts` describes (already
/// validated).
pub(super) fn search(opts: &CheckOptions, every: f64, progress: &mut dyn FnMut(&Progress)) -> CheckReport {
    let t0 = Instant::now();
    let m = BusModel::new(opts);
    let mut codec = BusCodec::new(&m);
    let mut store = StateStore::new();
    let mut base = BusWorld::new(&m);
    let mut work = BusWorld::new(&m);
    let mut key = Vec::with_capacity(256);
    let mut parent = Vec::with_capacity(256);
    codec.canonical(&base, &mut key);
    store.insert(&key, NO_PARENT);

    let mut edges = Deliveries { start: vec![0], to: Vec::new(), quiescent: Vec::new() };
    let mut actions = Vec::with_capacity(64);
    let mut out = Outbox::default();
    let mut transitions = 0u64;
    let max_states = opts.max_states.unwrap_or(u64::MAX);
    let (mut truncated, mut found) = (false, None);
    let mut cursor = 0u32;
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
        parent.clear();
        parent.extend_from_slice(store.get(cursor));
        codec.decode(&parent, &mut base);
        base.actions(&m, &mut actions);
        let mut deliveries = 0;
        for &action in &actions {
            codec.decode(&parent, &mut work);
            match work.apply(&m, action, &mut out) {
                Err(fault) => {
                    found = Some(Found::Transition { state: cursor, fault });
                    break 'search;
                }
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
                }
            }
        }
        let pending = base.pending(&m);
        if pending && deliveries == 0 {
            let detail = "deadlock: work is pending but nothing waits for the bus or travels on the data bus";
            found = Some(Found::State {
                state: cursor,
                fault: Fault { kind: ViolationKind::Deadlock, detail: detail.into() },
            });
            break;
        }
        edges.quiescent.push(!pending);
        edges.start.push(edges.to.len() as u32);
        cursor += 1;
        if truncated {
            break;
        }
    }

    let complete = found.is_none() && !truncated;
    if complete && let Some(state) = first_without_progress(&edges) {
        let reach = delivery_reach(&edges, state);
        let detail = format!(
            "no progress: from this state no sequence of bus moves reaches a quiescent state \
             ({reach} states are reachable by orderings and deliveries alone, none quiescent)"
        );
        found = Some(Found::State { state, fault: Fault { kind: ViolationKind::NoProgress, detail } });
    }
    let violation = found.map(|f| counterexample(&m, &store, f));
    let memory_bytes = store.bytes() + 4 * (edges.start.capacity() + edges.to.capacity()) + edges.quiescent.capacity();
    let last = store.len() as u32 - 1;
    CheckReport {
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
    }
}

/// Replay the path to the violation on fresh controllers in the original names
/// (at each step, the transition whose canonical successor is the stored next
/// state) and chart it.
fn counterexample(m: &BusModel, store: &StateStore, found: Found) -> Violation {
    let (state, fault, last_step) = match found {
        Found::Transition { state, fault } => (state, fault, true),
        Found::State { state, fault } => (state, fault, false),
    };
    let mut codec = BusCodec::new(m);
    let mut w = BusWorld::new(m);
    let mut trial = BusWorld::new(m);
    let (mut key, mut plain, mut actions, mut out) = (Vec::new(), Vec::new(), Vec::new(), Outbox::default());
    let mut chart = Chart::default();
    let mut replayed = true;
    for &target in store.path_to(state).iter().skip(1) {
        let target = store.get(target);
        codec.plain(&w, &mut plain);
        w.actions(m, &mut actions);
        let mut taken = false;
        for &a in &actions {
            codec.decode(&plain, &mut trial);
            if let Ok(Outcome::Changed) = trial.apply(m, a, &mut out) {
                codec.canonical(&trial, &mut key);
                if key == target {
                    chart.steps.push(step(m, &w, &trial, a));
                    std::mem::swap(&mut w, &mut trial);
                    taken = true;
                    break;
                }
            }
        }
        if !taken {
            replayed = false;
            break;
        }
    }
    let mut verdict = fault.detail.clone();
    if replayed && last_step {
        // The violating transition itself, worded in the replayed run's names.
        codec.plain(&w, &mut plain);
        w.actions(m, &mut actions);
        for &a in &actions {
            codec.decode(&plain, &mut trial);
            if let Err(f) = trial.apply(m, a, &mut out) {
                chart.steps.push(step(m, &w, &trial, a));
                verdict = f.detail;
                break;
            }
        }
    } else if replayed && let Err(f) = w.check_invariants(m) {
        verdict = f.detail;
    }
    chart.verdict = verdict.clone();
    chart.final_state = w.describe(m);
    Violation { kind: fault.kind, detail: verdict, chart, replayed }
}

/// One chart line: who acted, on what, its states before → after.
fn step(m: &BusModel, before: &BusWorld, after: &BusWorld, a: BusAction) -> ChartStep {
    let states = |w: &BusWorld, c: usize| (0..m.lines).map(|l| w.state(c, l).name()).collect::<Vec<_>>().join(",");
    let all = |w: &BusWorld| (0..m.caches).map(|c| states(w, c)).collect::<Vec<_>>().join(" | ");
    let (actor, event) = match a {
        BusAction::Access { core, line, op } => (m.node_name(core), format!("{op:?} line {line}")),
        BusAction::Evict { core, line } => (m.node_name(core), format!("evict line {line}")),
        BusAction::Order { cache } => {
            let q = &before.queues[cache as usize][0];
            ("Bus".to_string(), format!("orders {}", describe_msg(m, q)))
        }
        BusAction::Deliver { index } => {
            let msg = &before.data[index as usize];
            (m.node_name(msg.dst), format!("receives {}", describe_msg(m, msg)))
        }
    };
    let performed = Vec::new();
    let mut sent: Vec<String> = Vec::new();
    for (c, q) in after.queues.iter().enumerate() {
        let had = before.queues[c].len() - usize::from(matches!(a, BusAction::Order { cache } if cache as usize == c));
        sent.extend(
            q.iter().skip(had).map(|r| format!("{} line {} from L1[{c}] (waits for the bus)", r.kind.name(), r.line)),
        );
    }
    let kept = before.data.len() - usize::from(matches!(a, BusAction::Deliver { .. }));
    sent.extend(after.data.iter().skip(kept).map(|d| describe_msg(m, d)));
    ChartStep { actor, event, change: format!("{} → {}", all(before), all(after)), performed, sent }
}
