//! Leader election: the bully algorithm (`bully`) and Chang–Roberts ring
//! election (`ring`), the agreement family's apps `cohsim app bully|ring`.
//! Every process is a candidate; ids are core numbers, the highest live one
//! should lead. Both keep epochs (terms): the highest epoch seen is saved, and
//! a process believes at most one leader for its epoch. The workload
//! (`--ops`) is a number of elections (epochs `1..=ops`; see the algorithms'
//! essays for what starts each).
//!
//! The runs go to their deadline (twice the horizon and 60,000 cycles: past
//! every fault a drawn plan holds, with room for an election after it): a
//! leader's reign does not end by itself, and ending a run when the beliefs
//! look settled could end it in the middle of a partition, each side settled
//! on its own leader. A run counts as finished when every live process is
//! *settled*: it believes a leader for an epoch `>= ops`, unchanged for
//! `settle`. Monitors, on the final states of the live processes (those not
//! crashed for good):
//! - `one leader per epoch`: no two live processes believe different leaders
//!   for one epoch;
//! - `agreement` (when the run finished): every live process believes the
//!   same leader, and it is the highest live id.
//!
//! Timers, in cycles: a message costs some 300–600 cycles at 4–8 cores. The
//! leader's heartbeat `beat`, a follower's `lease` (three beats and more), an
//! election's `elect` wait, the leader's `reign` before it steps down, and the
//! `settle` a belief must hold still before the process counts as finished.
//! After the last election nothing new is started, but the heartbeats go on
//! until the run ends, so a leader crash is still noticed.

pub mod bully;
pub mod check;
pub mod ring;

use std::ops::{Range, RangeInclusive};

use serde_json::json;

use super::{App, CheckSummary, Outcome, Spec, notes_of};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::actor::{Note, OnCore};
use crate::exec::fault::Plan;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// What a process believes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Belief {
    pub epoch: u64,
    pub leader: Option<usize>,
    pub settled: bool,
}

impl Belief {
    /// A leader for an epoch `>= ops`, unchanged for `settle`.
    pub fn settled(&self, ops: u32) -> bool {
        self.settled && self.leader.is_some() && self.epoch >= ops as u64
    }
}

/// A state that holds a belief.
pub trait Settle {
    fn belief(&self) -> Belief;
    /// Messages numbered so far (the ring's sequence; 0 for the bully), for
    /// bounding the model check.
    fn numbered(&self) -> u32 {
        0
    }
}

/// `leader [epoch, id]` when a belief moves to a leader.
pub fn leader_notes(before: Option<Belief>, after: Belief, notes: &mut Vec<Note>) {
    let was = before.map(|b| (b.epoch, b.leader));
    if let Some(l) = after.leader
        && was != Some((after.epoch, Some(l)))
    {
        notes.push(Note::new("leader", &[after.epoch, l as u64]));
    }
}

/// The timers' ranges, in cycles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ElectionWaits {
    pub elect: Range<u64>,
    pub beat: Range<u64>,
    pub lease: Range<u64>,
    pub reign: Range<u64>,
    pub settle: Range<u64>,
}

impl Default for ElectionWaits {
    fn default() -> ElectionWaits {
        ElectionWaits {
            elect: 6_000..7_000,
            beat: 3_000..3_200,
            lease: 12_000..13_000,
            reign: 8_000..9_000,
            settle: 15_000..16_000,
        }
    }
}

/// The monitors over the live processes' final beliefs (`None`: crashed for
/// good); `finished`: the run ended with every live belief settled.
pub fn monitors(finals: &[Option<Belief>], finished: bool, end: Cycle) -> Vec<Finding> {
    let mut found = Vec::new();
    let live: Vec<(usize, Belief)> = finals.iter().enumerate().filter_map(|(i, b)| b.map(|b| (i, b))).collect();
    for (i, a) in &live {
        for (j, b) in &live {
            if i < j && a.epoch == b.epoch && a.leader.is_some() && b.leader.is_some() && a.leader != b.leader {
                found.push(Finding {
                    monitor: "one leader per epoch",
                    cycle: end,
                    cores: vec![*i, *j],
                    what: format!(
                        "core {i} believes core {:?} and core {j} believes core {:?} lead epoch {}",
                        a.leader, b.leader, a.epoch
                    ),
                });
            }
        }
    }
    let highest = live.iter().map(|(i, _)| *i).max();
    if finished && let Some(h) = highest {
        let wrong: Vec<usize> = live.iter().filter(|(_, b)| b.leader != Some(h)).map(|(i, _)| *i).collect();
        if !wrong.is_empty() {
            found.push(Finding {
                monitor: "agreement",
                cycle: end,
                cores: wrong.clone(),
                what: format!(
                    "once settled, cores {wrong:?} do not believe the highest live id, core {h} (they believe {:?})",
                    wrong.iter().map(|&i| finals[i].and_then(|b| b.leader)).collect::<Vec<_>>()
                ),
            });
        }
    }
    found
}

fn run_election<A>(spec: &Spec, actor: A, ops: u32, deadline: Cycle) -> Result<(Finished, Outcome), SimError>
where
    A: OnCore + Clone + 'static,
    A::State: Settle,
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    let setup = Setup {
        timeline: spec.timeline,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(deadline),
        // A durable write of the epoch: 200 cycles (as the commit apps').
        save_cycles: 200,
        stall: 200_000,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, actor.clone(), &setup)?;
    let end = done.sim.stats.cycles;
    let finals = done.net.finals.borrow();
    let states: Vec<Option<&A::State>> =
        finals.iter().map(|f| f.as_ref().and_then(|b| b.downcast_ref::<A::State>())).collect();
    let finished = states.iter().flatten().all(|s| s.belief().settled(ops));
    let beliefs: Vec<Option<Belief>> = states.iter().map(|s| s.map(Settle::belief)).collect();
    drop(finals);
    let violations = monitors(&beliefs, finished, end);
    let notes = done.net.notes.borrow().clone();
    // An election's latency: from the first note of a leader for the epoch
    // before it to its own first.
    let mut firsts: std::collections::BTreeMap<u64, Cycle> = std::collections::BTreeMap::new();
    for n in notes_of(&notes, "leader") {
        firsts.entry(n.note.words[0]).or_insert(n.cycle);
    }
    let epochs: Vec<(u64, Cycle)> = firsts.into_iter().collect();
    let latencies: Vec<Cycle> = epochs.windows(2).map(|w| w[1].1.saturating_sub(w[0].1)).collect();
    let leader = beliefs.iter().flatten().map(|b| (b.epoch, b.leader)).max();
    let mut fields = serde_json::Map::new();
    fields.insert("elections".into(), json!(epochs.len()));
    fields.insert("epoch".into(), json!(leader.map(|l| l.0)));
    fields.insert("leader".into(), json!(leader.and_then(|l| l.1)));
    let rows = vec![
        ("elections".to_string(), epochs.len().to_string()),
        ("leader".to_string(), format!("{:?} (epoch {:?})", leader.and_then(|l| l.1), leader.map(|l| l.0))),
    ];
    let outcome = Outcome { violations, finished, ops: epochs.len() as u64, latencies, fields, rows };
    Ok((done, outcome))
}

/// `cohsim app bully`.
pub struct Bully;

/// `cohsim app ring`.
pub struct Ring;

fn horizon(spec: &Spec, w: &ElectionWaits) -> Cycle {
    spec.ops as Cycle * (w.reign.end + 2_000 + 300 * spec.cfg.cores as Cycle) + w.settle.end
}

impl App for Bully {
    fn name(&self) -> &'static str {
        "bully"
    }
    fn about(&self) -> &'static str {
        "bully leader election: the highest live id wins; --ops elections (the leader steps down)"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-lower-wins"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        3
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        horizon(spec, &ElectionWaits::default())
    }
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let actor = bully::Bully {
            processes: spec.cfg.cores,
            ops: spec.ops,
            waits: ElectionWaits::default(),
            broken: spec.variant == "broken-lower-wins",
        };
        run_election(spec, actor, spec.ops, 2 * self.horizon(spec) + 60_000)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::bully(3, variant))
    }
}

impl App for Ring {
    fn name(&self) -> &'static str {
        "ring"
    }
    fn about(&self) -> &'static str {
        "Chang-Roberts ring election, a dead successor skipped; --ops elections (the leader steps down)"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-no-compare"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        3
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        horizon(spec, &ElectionWaits::default())
    }
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let actor = ring::RingElection {
            processes: spec.cfg.cores,
            ops: spec.ops,
            waits: ElectionWaits::default(),
            broken: spec.variant == "broken-no-compare",
        };
        run_election(spec, actor, spec.ops, 2 * self.horizon(spec) + 60_000)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::ring(3, variant))
    }
}
