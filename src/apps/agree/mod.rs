//! Agreement under faults: the frame every app of this family shares
//! (consensus, commit, election, failure detection, gossip and CRDTs, the
//! lock service, the key-value store). An app is an actor (`exec::actor`)
//! timed on the cores and checked by stateright; this module gives it one
//! shape (`App`), one report (`Report`: safety findings on every run,
//! liveness where the app promises it under the plan, operation latency
//! quantiles, messages per operation, and what only cohsim can say: the
//! coherence messages and cycles each software message cost, by primitive),
//! and the fault campaign of `--seeds K` (`campaign`).

pub mod campaign;
pub mod commit;
pub mod detect;
pub mod election;
pub mod gossip;
pub mod paxos;
pub mod raft;
pub mod registry;

use std::ops::RangeInclusive;

use serde_json::{Map, Value, json};

use crate::apps::harness::Finished;
use crate::apps::json::{hardware_counts, tally};
use crate::config::SystemConfig;
use crate::engine::SimError;
use crate::exec::actor::{Noted, SwMessage};
use crate::exec::fault::Plan;
use crate::exec::monitor::Finding;
use crate::exec::untimed::PropertyReport;
use crate::model::Primitive;
use crate::model::network::Cycle;
use crate::stats::Stats;

/// One run's settings.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The machine: cores, protocol, topology, and the seed of everything.
    pub cfg: SystemConfig,
    pub faults: Plan,
    /// Coherence network jitter.
    pub jitter: Option<Cycle>,
    /// The workload's size in the app's own unit (proposals, transactions,
    /// client operations, heartbeat rounds, ...): `--ops`.
    pub ops: u32,
    /// The variant: one of `App::variants`, the first being the correct one.
    pub variant: &'static str,
    /// Record a timeline of the run (the app passes it to `Setup::timeline`).
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

/// What an app reads off a finished run.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Safety findings of the app's monitors (the runtime's stall finding is
    /// the framework's business, not the app's).
    pub violations: Vec<Finding>,
    /// Whether the app's workload completed (every live process finished).
    pub finished: bool,
    /// Operations completed and the latency of each, in cycles (from issue to
    /// completion, as the app defines them).
    pub ops: u64,
    pub latencies: Vec<Cycle>,
    /// The app's own JSON fields (`decided`, `committed`, `detection_cycles`,
    /// ...), merged at the top of the report.
    pub fields: Map<String, Value>,
    /// The app's own table rows (name, value).
    pub rows: Vec<(String, String)>,
}

/// What stateright found on an app's checked configuration.
#[derive(Clone, Debug)]
pub struct CheckSummary {
    /// The configuration checked, in words ("3 acceptors, 2 proposers").
    pub config: String,
    pub variant: &'static str,
    pub states: usize,
    pub depth: usize,
    pub properties: Vec<PropertyReport>,
}

impl CheckSummary {
    pub fn ok(&self) -> bool {
        self.properties.iter().all(PropertyReport::holds)
    }
}

/// An app of the family.
pub trait App: Sync {
    /// Its command name (`cohsim app NAME`).
    fn name(&self) -> &'static str;
    /// One line on what it is.
    fn about(&self) -> &'static str;
    /// Its variants; the first is the correct algorithm, the others are
    /// deliberately broken and their monitors must catch them.
    fn variants(&self) -> &'static [&'static str];
    /// The core counts it runs on.
    fn cores(&self) -> RangeInclusive<usize>;
    /// The default `--ops`.
    fn default_ops(&self) -> u32;
    /// Roughly how many cycles a fault-free run takes on `spec` (the window a
    /// drawn fault plan puts its faults in).
    fn horizon(&self, spec: &Spec) -> Cycle;
    /// Whether the app promises to finish under `plan` (a majority alive once
    /// faults stop, for example); a run that does not is then a finding.
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool;
    /// Runs `spec` on the machine and grades it.
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError>;
    /// Model-checks `variant` on the app's small configuration with
    /// stateright (`None`: the app has no untimed check).
    fn check(&self, variant: &'static str) -> Option<CheckSummary>;
}

/// One graded run: the app's outcome and what every run reports.
#[derive(Clone, Debug)]
pub struct Report {
    pub app: &'static str,
    pub variant: &'static str,
    pub cores: usize,
    pub seed: u64,
    pub protocol: &'static str,
    pub topology: &'static str,
    pub faults: String,
    pub ops_asked: u32,
    pub stats: Stats,
    pub messages: Vec<SwMessage>,
    pub notes: Vec<Noted>,
    /// Polls of empty rings and the coherence messages they caused.
    pub polls: (u64, u64),
    pub restarts: u32,
    pub saves: u64,
    /// Safety findings, the stall finding, and a liveness finding when the
    /// app promised to finish and did not.
    pub violations: Vec<Finding>,
    pub outcome: Outcome,
    /// The run ended at its deadline with work left.
    pub at_deadline: Option<Cycle>,
    pub events_hash: u64,
    /// The run's timeline, when one was asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

/// Runs `spec` with `app` and gathers the report.
pub fn run(app: &dyn App, spec: &Spec) -> Result<Report, SimError> {
    let (mut done, mut outcome) = app.run(spec)?;
    let timeline = done.timeline.take();
    let net = &done.net;
    let messages = net.log.borrow().clone();
    let notes = net.notes.borrow().clone();
    let mut violations = std::mem::take(&mut outcome.violations);
    violations.extend(net.stall_finding());
    let cores = spec.cfg.cores;
    if !outcome.finished && net.stalled.get().is_none() && app.promises_liveness(&spec.faults, cores) {
        let at = net.at_deadline.get().unwrap_or(done.sim.stats.cycles);
        violations.push(Finding {
            monitor: "liveness",
            cycle: at,
            cores: (0..cores).collect(),
            what: format!(
                "the workload did not complete by cycle {at}, though {} promises to under this fault plan",
                app.name()
            ),
        });
    }
    let events_hash = {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        messages.hash(&mut h);
        notes.hash(&mut h);
        done.sim.stats.cycles.hash(&mut h);
        h.finish()
    };
    Ok(Report {
        app: app.name(),
        variant: spec.variant,
        cores,
        seed: spec.cfg.seed,
        protocol: spec.cfg.protocol.name(),
        topology: spec.cfg.network.topology.name(),
        faults: spec.faults.faults.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" "),
        ops_asked: spec.ops,
        stats: done.sim.stats.clone(),
        polls: net.polls.get(),
        restarts: net.restarts.borrow().iter().sum(),
        saves: net.saves.get(),
        messages,
        notes,
        violations,
        at_deadline: net.at_deadline.get(),
        outcome,
        events_hash,
        timeline,
    })
}

/// The `q`-quantile (0..=1) of `xs` by the nearest-rank method (the smallest
/// value with at least `q` of the values at or below it); 0 when empty.
pub fn quantile(xs: &[Cycle], q: f64) -> Cycle {
    if xs.is_empty() {
        return 0;
    }
    let mut v = xs.to_vec();
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Per primitive: software messages, and the coherence messages and cycles
/// (writing plus taking every copy) they cost on average.
pub fn by_primitive(messages: &[SwMessage]) -> Vec<(Primitive, usize, f64, f64)> {
    Primitive::ALL
        .iter()
        .filter_map(|&p| {
            let of: Vec<&SwMessage> = messages.iter().filter(|m| m.primitive == p).collect();
            if of.is_empty() {
                return None;
            }
            let n = of.len() as f64;
            let coherence = of.iter().map(|m| m.coherence()).sum::<u64>() as f64 / n;
            let cycles =
                of.iter().map(|m| m.send_cycles + m.received.iter().map(|r| r.cycles).sum::<Cycle>()).sum::<Cycle>()
                    as f64
                    / n;
            Some((p, of.len(), coherence, cycles))
        })
        .collect()
}

impl Report {
    /// Whether no monitor found anything.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn messages_per_op(&self) -> f64 {
        if self.outcome.ops == 0 { 0.0 } else { self.messages.len() as f64 / self.outcome.ops as f64 }
    }

    /// The command that replays this run exactly.
    pub fn replay(&self) -> String {
        let mut s = format!(
            "cohsim app {} --cores {} --seed {} --ops {} --protocol {} --topology {}",
            self.app, self.cores, self.seed, self.ops_asked, self.protocol, self.topology
        );
        if registry::by_name(self.app).is_some_and(|a| a.variants()[0] != self.variant) {
            s += &format!(" --variant {}", self.variant);
        }
        for f in self.faults.split_whitespace() {
            s += &format!(" --fault {f}");
        }
        s
    }

    /// The run as JSON: the envelope of the other apps, the app's fields on
    /// top, and Maelstrom's statistics (operations, latency quantiles,
    /// messages per operation) beside cohsim's per-primitive costs.
    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let (by_type, hardware) = hardware_counts(s);
        let msgs = &self.messages;
        let lat = &self.outcome.latencies;
        let carried: u64 = msgs.iter().map(|m| m.coherence()).sum();
        let per_primitive: Map<String, Value> = by_primitive(msgs)
            .into_iter()
            .map(|(p, n, coh, cyc)| {
                (p.tag().to_string(), json!({"messages": n, "coherence_per_message": coh, "cycles_per_message": cyc}))
            })
            .collect();
        let mut v = json!({
            "app": self.app,
            "variant": self.variant,
            "cores": self.cores,
            "seed": self.seed,
            "protocol": self.protocol,
            "topology": self.topology,
            "faults": self.faults,
            "cycles": s.cycles,
            "finished": self.outcome.finished,
            "ended_at_deadline": self.at_deadline,
            "violations": self.violations,
            "ops": {"asked": self.ops_asked, "completed": self.outcome.ops},
            "latency_cycles": {
                "p50": quantile(lat, 0.5), "p90": quantile(lat, 0.9), "p99": quantile(lat, 0.99),
                "max": lat.iter().copied().max().unwrap_or(0),
            },
            "messages_per_op": self.messages_per_op(),
            "software": {
                "messages": msgs.len(),
                "lost": msgs.iter().filter(|m| m.copies == 0).count(),
                "duplicated": msgs.iter().filter(|m| m.copies > 1).count(),
                "delayed": msgs.iter().filter(|m| m.delay > 0).count(),
                "bytes": msgs.iter().map(|m| m.bytes).sum::<usize>(),
                "by_kind": tally(msgs.iter().map(|m| m.kind)),
                "restarts": self.restarts,
                "durable_writes": self.saves,
            },
            "coherence": {
                "messages": s.msg_count.iter().sum::<u64>(),
                "invalidations": s.invalidations,
                "by_type": by_type,
                "carrying_software_messages": carried,
                "polling_empty_mailboxes": self.polls.1,
                "empty_polls": self.polls.0,
            },
            "primitives": {
                "hardware": hardware,
                "software": tally(msgs.iter().map(|m| m.primitive.tag())),
                "cost_per_software_message": per_primitive,
            },
            "events_hash": format!("{:016x}", self.events_hash),
        });
        let top = v.as_object_mut().expect("an object");
        for (k, x) in &self.outcome.fields {
            top.insert(k.clone(), x.clone());
        }
        v
    }

    /// The run as a table; with `primitives`, the cost of each primitive.
    pub fn table(&self, primitives: bool) -> String {
        let lat = &self.outcome.latencies;
        let mut t = format!(
            "cohsim app {} ({}): {} cores, {} {}, seed {}\n",
            self.app, self.variant, self.cores, self.protocol, self.topology, self.seed
        );
        if !self.faults.is_empty() {
            t += &format!("  faults             {}\n", self.faults);
        }
        t += &format!("  cycles             {}\n", self.stats.cycles);
        t += &format!("  finished           {}\n", self.outcome.finished);
        t += &format!("  operations         {} (--ops {})\n", self.outcome.ops, self.ops_asked);
        if !lat.is_empty() {
            t += &format!(
                "  latency (cycles)   p50 {}  p90 {}  p99 {}\n",
                quantile(lat, 0.5),
                quantile(lat, 0.9),
                quantile(lat, 0.99)
            );
        }
        t += &format!("  software messages  {} ({:.2} per operation)\n", self.messages.len(), self.messages_per_op());
        t += &format!("  coherence messages {}\n", self.stats.msg_count.iter().sum::<u64>());
        for (k, v) in &self.outcome.rows {
            t += &format!("  {k:<18} {v}\n");
        }
        t += &format!("  violations         {}\n", self.violations.len());
        for v in self.violations.iter().take(8) {
            t += &format!("    {} @{}: {}\n", v.monitor, v.cycle, v.what);
        }
        if primitives {
            t += "\n  primitive                              messages  coherence/msg  cycles/msg\n";
            for (p, n, coh, cyc) in by_primitive(&self.messages) {
                t += &format!("  {:<3} {:<34} {n:>8}  {coh:>13.1}  {cyc:>10.1}\n", p.tag(), p.name());
            }
        }
        t
    }
}

/// The notes of kind `kind`, in the order their handlers ran.
pub fn notes_of<'a>(notes: &'a [Noted], kind: &'a str) -> impl Iterator<Item = &'a Noted> + 'a {
    notes.iter().filter(move |n| n.note.kind == kind)
}

/// A majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        // Nearest rank on 1..=10: p50 is the 5th value, p90 the 9th, p99 the 10th.
        let xs: Vec<Cycle> = (1..=10).rev().collect();
        assert_eq!(quantile(&xs, 0.5), 5);
        assert_eq!(quantile(&xs, 0.9), 9);
        assert_eq!(quantile(&xs, 0.99), 10);
        assert_eq!(quantile(&[], 0.5), 0);
        assert_eq!(quantile(&[7], 0.01), 7);
    }

    #[test]
    fn majorities() {
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
    }
}
