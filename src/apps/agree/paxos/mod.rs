//! Paxos on the cores: single-decree Paxos run for a sequence of decrees
//! (`cohsim app paxos`, `single`) and Multi-Paxos with a stable leader
//! (`cohsim app multipaxos`, `multi`), each with its broken variant
//! `broken-lower-ballot` (an acceptor that accepts below its promise), graded
//! on every run by the monitors of `monitor` and model-checked in `check`.
//!
//! Timers are in cycles and scale with `hop(cores)`, the cycles one software
//! message takes from handler to handler, with room to spare (measured
//! fault-free on a crossbar at 3 cores: a single-proposer decree, four hops,
//! takes 1,894 cycles, about 470 a hop; `hop(3)` is 850; a receiver polls
//! N − 1 rings, so the hop grows with N), so one setting serves 1 to 64 cores.
//! Durable writes (`Command::Save`) cost `SAVE_CYCLES`.

pub mod check;
pub mod monitor;
pub mod multi;
pub mod single;

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use serde_json::json;
use stateright::actor::Id;

use super::{App, CheckSummary, Outcome, Spec, notes_of};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::fault::{Fault, Pick, Plan};
use crate::model::network::Cycle;

/// The cycles a durable write takes: a flush of a few lines to persistent
/// memory (an assumption, stated; not modelled further).
pub const SAVE_CYCLES: Cycle = 200;

pub const VARIANTS: &[&str] = &["correct", "broken-lower-ballot"];

/// A ballot: `(round, id)`, compared round first; unique because the id is
/// the proposer's. `ZERO` is below every ballot used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u32,
    pub id: u8,
}

impl Ballot {
    pub const ZERO: Ballot = Ballot { round: 0, id: 0 };
}

/// A set of processes (up to 64), as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quorum(u64);

impl Quorum {
    pub fn of(id: Id) -> Quorum {
        Quorum(1 << usize::from(id))
    }
    pub fn add(&mut self, id: Id) {
        self.0 |= 1 << usize::from(id);
    }
    pub fn has(self, id: Id) -> bool {
        self.0 >> usize::from(id) & 1 == 1
    }
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }
}

/// Cycles from one handler's send to the receiver's handler, fault-free
/// (see the module's notes).
pub fn hop(cores: usize) -> u64 {
    400 + 150 * cores as u64
}

/// The run's deadline: long past the horizon and past the last fault, so a
/// run under a drawn plan can finish once the faults stop.
fn deadline(plan: &Plan, horizon: Cycle) -> Cycle {
    let last = plan
        .faults
        .iter()
        .map(|f| match *f {
            Fault::Crash { at, .. } => at,
            Fault::Restart { at, cycles, .. } | Fault::Pause { at, cycles, .. } => at.saturating_add(cycles),
            Fault::Partition { at, cycles, .. } => at.saturating_add(cycles),
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    last.max(horizon).saturating_add(30 * horizon)
}

/// Liveness is promised with a majority alive (crash-stops of a minority of
/// distinct cores) and messages lost with a chance under one half (the
/// retries then get through); partitions, pauses and restarts end by
/// construction.
pub fn promises_liveness(plan: &Plan, cores: usize) -> bool {
    let crashed: std::collections::BTreeSet<usize> = (0..cores).filter(|&c| plan.crash_stop(c).is_some()).collect();
    let lossy = plan.faults.iter().any(|f| matches!(f, Fault::Drop(Pick::Chance(p)) if *p >= 0.5));
    crashed.len() <= (cores.saturating_sub(1)) / 2 && !lossy
}

fn setup(spec: &Spec, horizon: Cycle, slot_lines: u64, quiet: Cycle) -> Setup {
    Setup {
        timeline: spec.timeline,
        slot_lines,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(deadline(&spec.faults, horizon)),
        save_cycles: SAVE_CYCLES,
        // Unfinished processes run a timer at least every `quiet` cycles.
        stall: (4 * quiet).max(100_000),
        ..Setup::default()
    }
}

fn broken(spec: &Spec) -> bool {
    match spec.variant {
        "correct" => false,
        "broken-lower-ballot" => true,
        other => panic!("paxos: no variant {other:?} (expected one of {VARIANTS:?})"),
    }
}

/// Every live process's final state, `None` for one crashed for good.
fn finals<S: Clone + 'static>(done: &Finished) -> Vec<Option<S>> {
    done.net.finals.borrow().iter().map(|f| f.as_ref().and_then(|b| b.downcast_ref::<S>()).cloned()).collect()
}

/// `cohsim app paxos`: single-decree Paxos, `--ops` decrees one after another.
pub struct PaxosApp;
pub static PAXOS: PaxosApp = PaxosApp;

impl PaxosApp {
    pub fn actor(spec: &Spec, proposers: usize) -> single::Paxos {
        let (n, h) = (spec.cfg.cores, hop(spec.cfg.cores));
        single::Paxos {
            processes: n,
            proposers,
            instances: spec.ops,
            timing: single::Timing {
                start: 0..2 * h,
                backoff: h / 4..2 * h,
                retry: 8 * h..16 * h,
                catch_up: 24 * h..48 * h,
            },
            broken: broken(spec),
        }
    }

    /// Runs with `proposers` proposers (the app's own choice is
    /// `single::Paxos::proposers`; the hand-counted test uses one).
    pub fn run_with(&self, spec: &Spec, proposers: usize) -> Result<(Finished, Outcome), SimError> {
        let actor = Self::actor(spec, proposers);
        let quiet = actor.timing.catch_up.end;
        let done = harness::run(&spec.cfg, actor, &setup(spec, self.horizon(spec), 1, quiet))?;
        let outcome = self.grade(spec, &done);
        Ok((done, outcome))
    }

    fn grade(&self, spec: &Spec, done: &Finished) -> Outcome {
        let notes = done.net.notes.borrow();
        let decided = monitor::decisions(&notes);
        // Who proposed what in which instance, and when its first ballot began.
        let ballots: Vec<(u64, u64, Cycle)> =
            notes_of(&notes, "ballot").map(|n| (n.note.words[0], n.note.words[2], n.cycle)).collect();
        let mut violations = monitor::agreement(&decided, "instance");
        violations.extend(monitor::validity(&decided, "instance", None, |k, v, at| {
            ballots.iter().any(|&(i, own, c)| i == k && own == v && c <= at)
        }));
        violations.extend(monitor::integrity(&decided, "instance"));
        let finals = finals::<single::State>(done);
        let finished = finals.iter().flatten().all(single::State::finished);
        let values: Vec<Option<u64>> = (0..spec.ops as u64).map(|k| decided.get(&k).map(|d| d[0].2)).collect();
        let latencies: Vec<Cycle> = decided
            .iter()
            .filter_map(|(&k, d)| {
                let start = ballots.iter().filter(|b| b.0 == k).map(|b| b.2).min()?;
                Some(d[0].0.saturating_sub(start))
            })
            .collect();
        let ops = values.iter().flatten().count() as u64;
        let messages = done.net.log.borrow().len();
        let mut fields = serde_json::Map::new();
        fields.insert("decided".into(), json!(values));
        fields.insert("ballots".into(), json!(ballots.len()));
        fields.insert("messages_per_decision".into(), json!(if ops == 0 { 0.0 } else { messages as f64 / ops as f64 }));
        let rows = vec![
            (
                "decided".into(),
                values.iter().map(|v| v.map_or("-".into(), |v| v.to_string())).collect::<Vec<_>>().join(" "),
            ),
            ("ballots".into(), ballots.len().to_string()),
        ];
        Outcome { violations, finished, ops, latencies, fields, rows }
    }
}

impl App for PaxosApp {
    fn name(&self) -> &'static str {
        "paxos"
    }
    fn about(&self) -> &'static str {
        "single-decree Paxos, --ops decrees one after another; two proposers (a majority from 5 cores)"
    }
    fn variants(&self) -> &'static [&'static str] {
        VARIANTS
    }
    fn cores(&self) -> RangeInclusive<usize> {
        1..=64
    }
    fn default_ops(&self) -> u32 {
        5
    }
    /// Per decree, fault-free: five hops, a back-off, and some contention.
    fn horizon(&self, spec: &Spec) -> Cycle {
        spec.ops.max(1) as Cycle * 10 * hop(spec.cfg.cores)
    }
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool {
        promises_liveness(plan, cores)
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        self.run_with(spec, single::Paxos::proposers(spec.cfg.cores))
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::paxos(variant == VARIANTS[1]))
    }
}

/// `cohsim app multipaxos`: Multi-Paxos with a stable leader, `--ops` client
/// commands.
pub struct MultiPaxosApp;
pub static MULTIPAXOS: MultiPaxosApp = MultiPaxosApp;

impl MultiPaxosApp {
    pub fn actor(spec: &Spec) -> multi::MultiPaxos {
        // The leader serves N − 1 closed-loop clients at a time, so a
        // command's fault-free latency grows with N: retries scale with it.
        let (n, h) = (spec.cfg.cores, hop(spec.cfg.cores));
        let r = 4 * n.max(3) as u64 * h;
        multi::MultiPaxos {
            processes: n,
            ops: spec.ops,
            timing: multi::Timing { start: 0..h, retry: r..2 * r, suspect: 3 * r..6 * r },
            broken: broken(spec),
        }
    }

    /// Lines per ring slot: a `Promise` carries every accepted command from
    /// the candidate's first hole on, at most all `ops` of them (and as many
    /// no-ops), at most 16 bytes each.
    fn slot_lines(spec: &Spec) -> u64 {
        (16 + 32 * spec.ops as u64).div_ceil(64)
    }
}

impl App for MultiPaxosApp {
    fn name(&self) -> &'static str {
        "multipaxos"
    }
    fn about(&self) -> &'static str {
        "Multi-Paxos with a stable leader (core 0 first), --ops client commands from the other cores"
    }
    fn variants(&self) -> &'static [&'static str] {
        VARIANTS
    }
    fn cores(&self) -> RangeInclusive<usize> {
        1..=64
    }
    fn default_ops(&self) -> u32 {
        20
    }
    /// Phase 1, then per command a request and three hops; clients overlap.
    fn horizon(&self, spec: &Spec) -> Cycle {
        (2 + 5 * spec.ops.max(1) as Cycle) * hop(spec.cfg.cores)
    }
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool {
        promises_liveness(plan, cores)
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        let actor = Self::actor(spec);
        let quiet = actor.timing.suspect.end;
        let done =
            harness::run(&spec.cfg, actor.clone(), &setup(spec, self.horizon(spec), Self::slot_lines(spec), quiet))?;
        let notes = done.net.notes.borrow();
        let decided = monitor::decisions(&notes);
        let issued: Vec<(u64, Cycle)> = notes_of(&notes, "issue").map(|n| (n.note.words[0], n.cycle)).collect();
        let mut violations = monitor::agreement(&decided, "slot");
        violations.extend(monitor::validity(&decided, "slot", Some(multi::Cmd::Noop.code()), |_, v, at| {
            issued.iter().any(|&(c, t)| c == v && t <= at)
        }));
        violations.extend(monitor::integrity(&decided, "slot"));
        let finals = finals::<multi::State>(&done);
        let logs: Vec<Option<Vec<Option<u64>>>> = finals
            .iter()
            .map(|f| f.as_ref().map(|s| s.durable.learned.iter().map(|c| c.map(multi::Cmd::code)).collect()))
            .collect();
        violations.extend(monitor::prefixes(&logs, done.sim.stats.cycles));
        let finished = finals.iter().flatten().all(|s| actor.finished(s));
        // The log as first decided; each command's latency from its issue to
        // its first decision (a duplicate slot does not count again).
        let log: Vec<u64> = decided.values().map(|d| d[0].2).collect();
        let mut latencies = Vec::new();
        let mut done_cmds = std::collections::BTreeSet::new();
        for d in decided.values() {
            let (at, _, c) = d[0];
            if c != 0
                && done_cmds.insert(c)
                && let Some(&(_, t)) = issued.iter().find(|i| i.0 == c)
            {
                latencies.push(at.saturating_sub(t));
            }
        }
        let duplicates = log.iter().filter(|&&c| c != 0).count() - done_cmds.len();
        let leaders = notes_of(&notes, "leader").count();
        let spell = |c: u64| match multi::Cmd::decode(c) {
            multi::Cmd::Noop => "noop".to_string(),
            multi::Cmd::Op { client, seq } => format!("{client}.{seq}"),
        };
        let mut fields = serde_json::Map::new();
        fields.insert("decided".into(), json!(log.iter().map(|&c| spell(c)).collect::<Vec<_>>()));
        fields.insert("leaders".into(), json!(leaders));
        fields.insert("duplicate_slots".into(), json!(duplicates));
        let rows = vec![
            ("log slots".into(), log.len().to_string()),
            ("leaderships".into(), leaders.to_string()),
            ("duplicate slots".into(), duplicates.to_string()),
        ];
        let ops = done_cmds.len() as u64;
        drop(notes);
        Ok((done, Outcome { violations, finished, ops, latencies, fields, rows }))
    }
    /// Within `check::MULTI_BOUNDS` (see `check`'s notes).
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::multipaxos(variant == VARIANTS[1]))
    }
}
