//! Atomic commit: two-phase (`2pc`) and three-phase (`3pc`) commit, the
//! agreement family's apps (`cohsim app 2pc|3pc`). Core 0 coordinates, cores
//! `1..N` participate; the workload (`--ops`) is a number of transactions run
//! one after another. Each app is graded on every run by the same monitors
//! (`grade`): atomicity (no transaction commits at one process and aborts at
//! another) and validity (a transaction commits only if every participant
//! voted yes), read off the notes the actors report.
//!
//! Timers, in cycles (a timer's nanoseconds are cycles on the cores): a
//! message between two cores costs some 300–600 cycles of ring writes and
//! polls at 4–8 cores, a transaction's fault-free round about 3,000–6,000.
//! The coordinator waits `votes` for the votes and `acks` for the
//! acknowledgements; a blocked 2PC participant asks every `ask`; a 3PC
//! participant starts the termination protocol after `wait` without a word,
//! and a terminator collects states for `collect`. The waits are long beside
//! a fault-free round, so fault-free runs never time out (their message
//! counts are exact: see `tests/agree_commit.rs`).

pub mod check;
pub mod three_phase;
pub mod two_phase;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Range, RangeInclusive};

use serde_json::json;

use super::{App, CheckSummary, Outcome, Spec, notes_of};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::actor::{Note, Noted, OnCore};
use crate::exec::fault::{Fault, Plan};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;
use crate::rng::SplitMix64;

/// A participant's record of one transaction (durable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rec {
    /// Its vote, once cast.
    pub vote: Option<bool>,
    /// 3PC: it received `PreCommit` (committable).
    pub prepared: bool,
    /// Commit (`true`) or abort, once known.
    pub outcome: Option<bool>,
}

/// How participants vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Votes {
    /// No with probability 1/10 per (transaction, participant), drawn from
    /// this seed (`votes_no`): the cores' world.
    Seeded(u64),
    /// Each vote a free choice, both explored: stateright's world.
    Free,
}

/// Whether participant `p` votes no on transaction `tx` under `seed`.
pub fn votes_no(seed: u64, tx: u32, p: usize) -> bool {
    let mut r = SplitMix64::new(seed ^ (u64::from(tx) << 20) ^ (p as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    r.below(10) == 0
}

/// The timers' ranges, in cycles (see the module's notes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Waits {
    pub votes: Range<u64>,
    pub acks: Range<u64>,
    pub ask: Range<u64>,
    pub wait: Range<u64>,
    pub collect: Range<u64>,
}

impl Default for Waits {
    fn default() -> Waits {
        Waits {
            votes: 8_000..9_000,
            acks: 8_000..9_000,
            ask: 12_000..14_000,
            wait: 30_000..34_000,
            collect: 8_000..9_000,
        }
    }
}

/// A participant's notes: `vote [tx, yes]` when it votes, `decide [tx,
/// commit]` when it learns the outcome.
pub fn record_notes(before: &BTreeMap<u32, Rec>, after: &BTreeMap<u32, Rec>, notes: &mut Vec<Note>) {
    for (&tx, a) in after {
        let b = before.get(&tx).copied().unwrap_or_default();
        if let (None, Some(yes)) = (b.vote, a.vote) {
            notes.push(Note::new("vote", &[tx as u64, yes as u64]));
        }
        if let (None, Some(commit)) = (b.outcome, a.outcome) {
            notes.push(Note::new("decide", &[tx as u64, commit as u64]));
        }
    }
}

/// The monitor of a split (commit beside abort) that 3PC's documented
/// failure under a partition explains.
pub const SPLIT_UNDER_PARTITION: &str = "atomicity under partition (3pc's documented failure)";

/// The safety monitors over a run's notes: atomicity and validity. A split
/// under a plan with a partition is reported under `SPLIT_UNDER_PARTITION`
/// when `partition_explains` (3PC), else under `atomicity`.
pub fn monitors(notes: &[Noted], participants: usize, plan: &Plan, partition_explains: bool) -> Vec<Finding> {
    let mut decided: BTreeMap<u64, Vec<(usize, bool, Cycle)>> = BTreeMap::new();
    for n in notes_of(notes, "decide") {
        decided.entry(n.note.words[0]).or_default().push((n.core, n.note.words[1] == 1, n.cycle));
    }
    let mut votes: BTreeMap<u64, BTreeMap<usize, bool>> = BTreeMap::new();
    for n in notes_of(notes, "vote") {
        votes.entry(n.note.words[0]).or_default().insert(n.core, n.note.words[1] == 1);
    }
    let partitioned = plan.faults.iter().any(|f| matches!(f, Fault::Partition { .. }));
    let mut found = Vec::new();
    for (&tx, ds) in &decided {
        let commits: Vec<&(usize, bool, Cycle)> = ds.iter().filter(|d| d.1).collect();
        let aborts: Vec<&(usize, bool, Cycle)> = ds.iter().filter(|d| !d.1).collect();
        if let (Some(c), Some(a)) = (commits.first(), aborts.first()) {
            let cores: BTreeSet<usize> = ds.iter().map(|d| d.0).collect();
            let explained = partition_explains && partitioned;
            found.push(Finding {
                monitor: if explained { SPLIT_UNDER_PARTITION } else { "atomicity" },
                cycle: c.2.max(a.2),
                cores: cores.into_iter().collect(),
                what: format!(
                    "transaction {tx} committed at core {} (cycle {}) and aborted at core {} (cycle {}){}",
                    c.0,
                    c.2,
                    a.0,
                    a.2,
                    if explained {
                        ": the plan partitions the processes, and 3PC's termination on each side decides \
                         alone (its documented failure: it assumes no partitions)"
                    } else {
                        ""
                    }
                ),
            });
        }
        if let Some(c) = commits.first() {
            let v = votes.get(&tx);
            let missing: Vec<usize> = (1..=participants).filter(|p| v.and_then(|v| v.get(p)) != Some(&true)).collect();
            if !missing.is_empty() {
                found.push(Finding {
                    monitor: "validity",
                    cycle: c.2,
                    cores: missing.clone(),
                    what: format!(
                        "transaction {tx} committed at core {} (cycle {}) though participants {missing:?} did not vote yes",
                        c.0, c.2
                    ),
                });
            }
        }
    }
    found
}

/// Runs a commit actor on `spec` and grades it: monitors, counts of
/// committed, aborted and blocked transactions, latency from a transaction's
/// first `begin` to its first decision.
pub fn run_commit<A>(
    spec: &Spec,
    actor: A,
    deadline: Cycle,
    partition_explains: bool,
    blocked_on: fn(&A::State) -> Option<u32>,
) -> Result<(Finished, Outcome), SimError>
where
    A: OnCore + Clone + 'static,
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    let setup = Setup {
        timeline: spec.timeline,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(deadline),
        // A durable write: 200 cycles (a log append to a fast local device,
        // scaled to the machine's few-hundred-cycle messages).
        save_cycles: 200,
        stall: 200_000,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, actor.clone(), &setup)?;
    let notes = done.net.notes.borrow().clone();
    let cores = spec.cfg.cores;
    let violations = monitors(&notes, cores - 1, &spec.faults, partition_explains);
    let finals = done.net.finals.borrow();
    let states: Vec<Option<&A::State>> =
        finals.iter().map(|f| f.as_ref().and_then(|b| b.downcast_ref::<A::State>())).collect();
    let finished = states.iter().flatten().all(|s| actor.finished(s));
    let mut outcome_of: BTreeMap<u64, (bool, bool, Cycle)> = BTreeMap::new();
    for n in notes_of(&notes, "decide") {
        let e = outcome_of.entry(n.note.words[0]).or_insert((false, false, n.cycle));
        if n.note.words[1] == 1 { e.0 = true } else { e.1 = true }
    }
    let committed = outcome_of.values().filter(|o| o.0).count();
    let aborted = outcome_of.values().filter(|o| !o.0 && o.1).count();
    let mut blocked: BTreeSet<u32> = BTreeSet::new();
    for s in states.iter().flatten() {
        blocked.extend(blocked_on(s));
    }
    let mut begun: BTreeMap<u64, Cycle> = BTreeMap::new();
    for n in notes_of(&notes, "begin") {
        begun.entry(n.note.words[0]).or_insert(n.cycle);
    }
    let latencies: Vec<Cycle> =
        outcome_of.iter().filter_map(|(tx, o)| begun.get(tx).map(|&b| o.2.saturating_sub(b))).collect();
    drop(finals);
    let mut fields = serde_json::Map::new();
    fields.insert("committed".into(), json!(committed));
    fields.insert("aborted".into(), json!(aborted));
    fields.insert("blocked".into(), json!(blocked.len()));
    let rows = vec![
        ("committed".to_string(), committed.to_string()),
        ("aborted".to_string(), aborted.to_string()),
        ("blocked".to_string(), blocked.len().to_string()),
    ];
    let outcome = Outcome { violations, finished, ops: outcome_of.len() as u64, latencies, fields, rows };
    Ok((done, outcome))
}

/// Roughly the cycles of one fault-free transaction on `cores` cores.
fn round(cores: usize, phases: u64) -> Cycle {
    phases * (800 + 250 * cores as Cycle)
}

/// `cohsim app 2pc`.
pub struct TwoPc;

/// `cohsim app 3pc`.
pub struct ThreePc;

impl App for TwoPc {
    fn name(&self) -> &'static str {
        "2pc"
    }
    fn about(&self) -> &'static str {
        "two-phase commit: core 0 coordinates --ops transactions, the others vote (blocking)"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-missing-vote"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        10
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        spec.ops as Cycle * round(spec.cfg.cores, 2)
    }
    /// While the coordinator does not crash for good (2PC blocks without it).
    fn promises_liveness(&self, plan: &Plan, _cores: usize) -> bool {
        plan.crash_stop(0).is_none()
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let actor = two_phase::TwoPhase {
            processes: spec.cfg.cores,
            ops: spec.ops,
            votes: Votes::Seeded(spec.cfg.seed),
            waits: Waits::default(),
            broken: spec.variant == "broken-missing-vote",
        };
        let deadline = 4 * self.horizon(spec) + 400_000;
        run_commit(spec, actor, deadline, false, |s| match s {
            two_phase::TpcState::Part(r) => two_phase::TwoPhase::blocked_on(r),
            two_phase::TpcState::Coord(_) => None,
        })
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::two_phase(3, variant))
    }
}

impl App for ThreePc {
    fn name(&self) -> &'static str {
        "3pc"
    }
    fn about(&self) -> &'static str {
        "three-phase commit: prepare, pre-commit, commit; a new coordinator terminates (splits under a partition)"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        10
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        spec.ops as Cycle * round(spec.cfg.cores, 3)
    }
    /// Always: 3PC does not block on any crash (a live participant terminates).
    fn promises_liveness(&self, _plan: &Plan, _cores: usize) -> bool {
        true
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let actor = three_phase::ThreePhase {
            processes: spec.cfg.cores,
            ops: spec.ops,
            votes: Votes::Seeded(spec.cfg.seed),
            waits: Waits::default(),
        };
        let deadline = 4 * self.horizon(spec) + 600_000;
        run_commit(spec, actor, deadline, true, three_phase::ThreePhase::blocked)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        (variant == "correct").then(|| check::three_phase(2))
    }
}
