//! A broadcast run on the simulated cores: the `Broadcast` actor on every
//! core with `record` on, so every handler is an event the runtime stamps
//! with the handler's casts and deliveries, its messages sent and the one it
//! took. The logs rebuilt from those events are graded by `monitor`, and the
//! true happens-before (`clocks::happens::Truth`) checks that every delivery
//! truly follows its cast (a message cannot be delivered before it arrives).

use serde_json::{Value, json};

use super::actor::{Broadcast, Ev, Order};
use super::monitor;
use crate::apps::clocks::happens::{self, Truth};
use crate::apps::harness::{self, Setup};
use crate::apps::json::{hardware_counts, tally};
use crate::config::SystemConfig;
use crate::engine::SimError;
use crate::exec::actor::{Stamped, SwMessage};
use crate::exec::fault::Plan;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;
use crate::stats::Stats;

#[derive(Clone, Debug)]
pub struct BroadcastRun {
    pub cfg: SystemConfig,
    pub order: Order,
    /// Broadcasts per process.
    pub casts: u32,
    /// Cycles between a process's broadcasts (a seeded pick below it).
    pub period: Cycle,
    pub faults: Plan,
    pub jitter: Option<Cycle>,
    pub max_cycles: Option<Cycle>,
    /// Record a timeline of the run.
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

impl BroadcastRun {
    pub fn new(cfg: SystemConfig, order: Order, casts: u32) -> BroadcastRun {
        BroadcastRun {
            cfg,
            order,
            casts,
            period: 400,
            faults: Plan::default(),
            jitter: None,
            max_cycles: None,
            timeline: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct BroadcastReport {
    pub order: Order,
    pub cores: usize,
    pub seed: u64,
    pub protocol: &'static str,
    pub topology: &'static str,
    pub casts: u32,
    pub faults: String,
    pub stats: Stats,
    pub events: Vec<Stamped>,
    pub messages: Vec<SwMessage>,
    /// Per process, the messages it delivered, (sender, sequence number), in
    /// its delivery order.
    pub deliveries: Vec<Vec<(usize, u32)>>,
    /// Deliveries made by a later handler than the one that took the
    /// message (they waited in the hold-back queue).
    pub holds: u64,
    pub violations: Vec<Finding>,
    /// Whether every process finished (cast all, delivered all).
    pub finished: bool,
    pub events_hash: u64,
    /// The run's timeline, when one was asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

impl BroadcastRun {
    pub fn run(&self) -> Result<BroadcastReport, SimError> {
        let cores = self.cfg.cores;
        let app = Broadcast {
            order: self.order,
            processes: cores,
            casts: self.casts,
            period: 1..self.period.max(2),
            record: true,
        };
        let setup = Setup {
            slots: 16,
            // A vector of N small counters in a slot of one line per 16 processes.
            slot_lines: 1 + cores as u64 / 16,
            cs_cycles: 0,
            stall: self.period.saturating_mul(50).max(100_000),
            clocks: None,
            faults: self.faults.clone(),
            jitter: self.jitter,
            max_cycles: self.max_cycles,
            timeline: self.timeline,
            ..Setup::default()
        };
        let mut done = harness::run(&self.cfg, app, &setup)?;
        let timeline = done.timeline.take();
        let (net, sim) = (&done.net, &done.sim);
        let events = net.stamps.borrow().clone();
        let messages = net.log.borrow().clone();
        let finished = net.all_finished();
        let end = sim.stats.cycles;

        // The logs, with each entry's event (index into `events`).
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| (events[i].core, events[i].index));
        let mut logs: Vec<Vec<Ev>> = vec![Vec::new(); cores];
        let mut at: Vec<Vec<usize>> = vec![Vec::new(); cores];
        let mut held = vec![0u64; cores];
        for &i in &order {
            let e = &events[i];
            held[e.core] = e.stamp[0];
            for &w in &e.stamp[1..] {
                logs[e.core].push(Ev::decode(w));
                at[e.core].push(i);
            }
        }
        let cycle_of = |p: usize, k: usize| at[p].get(k).map_or(end, |&i| events[i].cycle);
        let mut violations: Vec<Finding> =
            monitor::check(self.order, &logs, self.casts, self.faults.faults.iter().all(reliable))
                .into_iter()
                .map(|v| Finding { monitor: v.monitor, cycle: cycle_of(v.process, v.at), cores: v.cores, what: v.what })
                .collect();
        violations.extend(against_truth(&events, &logs, &at, cores));
        violations.extend(net.stall_finding());
        let unmatched = happens::unmatched(&events, &messages);
        if unmatched > 0 {
            violations.push(Finding {
                monitor: "happens-before record",
                cycle: end,
                cores: (0..cores).collect(),
                what: format!("{unmatched} receive events took a message no recorded event sent"),
            });
        }
        let deliveries = logs
            .iter()
            .map(|l| l.iter().filter_map(|e| if let Ev::Deliver(j, k) = *e { Some((j, k)) } else { None }).collect())
            .collect();
        let events_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            events.hash(&mut h);
            messages.hash(&mut h);
            h.finish()
        };
        Ok(BroadcastReport {
            order: self.order,
            cores,
            seed: self.cfg.seed,
            protocol: self.cfg.protocol.name(),
            topology: self.cfg.network.topology.name(),
            casts: self.casts,
            faults: self.faults.faults.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(","),
            stats: sim.stats.clone(),
            events,
            messages,
            deliveries,
            holds: held.iter().sum(),
            violations,
            finished,
            events_hash,
            timeline,
        })
    }
}

/// Whether a fault leaves every message arriving (delays and duplicates do;
/// drops, partitions and crashes may not).
fn reliable(f: &crate::exec::fault::Fault) -> bool {
    use crate::exec::fault::Fault;
    matches!(f, Fault::Delay { .. } | Fault::Duplicate(_) | Fault::Pause { .. })
}

/// Every delivery truly happens after its cast (by the runtime's
/// happens-before: the cast's event precedes the delivering event).
fn against_truth(events: &[Stamped], logs: &[Vec<Ev>], at: &[Vec<usize>], cores: usize) -> Vec<Finding> {
    let truth = Truth::new(events, cores);
    let mut cast_event = std::collections::BTreeMap::new();
    for (p, log) in logs.iter().enumerate() {
        for (k, e) in log.iter().enumerate() {
            if let Ev::Cast(seq) = *e {
                cast_event.insert((p, seq), at[p][k]);
            }
        }
    }
    let mut found = Vec::new();
    for (q, log) in logs.iter().enumerate() {
        for (k, e) in log.iter().enumerate() {
            let Ev::Deliver(j, seq) = *e else { continue };
            let d = at[q][k];
            if let Some(&c) = cast_event.get(&(j, seq))
                && c != d
                && !truth.before(c, d)
            {
                found.push(Finding {
                    monitor: "delivery after cast",
                    cycle: events[d].cycle,
                    cores: vec![q, j],
                    what: format!("process {q} delivered ({j}, {seq}) at an event its cast does not happen before"),
                });
            }
        }
    }
    found
}

impl BroadcastReport {
    /// Software messages per broadcast, by hand: N − 1 data sends; under
    /// total order N − 1 `order` messages too, except for the sequencer's own
    /// broadcasts (their data carries the number).
    pub fn expected_messages(order: Order, cores: usize, casts: u32) -> usize {
        let (n, c) = (cores, casts as usize);
        match order.base() {
            Order::Total => c * (n - 1) * (2 * n - 1),
            _ => c * n * (n - 1),
        }
    }

    /// The run as JSON: the envelope of `app mutex`, plus `deliveries` and
    /// `held_back`.
    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let (by_type, hardware) = hardware_counts(s);
        let msgs = &self.messages;
        json!({
            "app": "broadcast",
            "order": self.order.name(),
            "cores": self.cores,
            "seed": self.seed,
            "protocol": self.protocol,
            "topology": self.topology,
            "casts": self.casts,
            "faults": self.faults,
            "cycles": s.cycles,
            "finished": self.finished,
            "violations": self.violations,
            "software": {
                "messages": msgs.len(),
                "expected": BroadcastReport::expected_messages(self.order, self.cores, self.casts),
                "lost": msgs.iter().filter(|m| m.copies == 0).count(),
                "duplicated": msgs.iter().filter(|m| m.copies > 1).count(),
                "delayed": msgs.iter().filter(|m| m.delay > 0).count(),
                "bytes": msgs.iter().map(|m| m.bytes).sum::<usize>(),
                "by_kind": tally(msgs.iter().map(|m| m.kind)),
            },
            "coherence": {
                "messages": s.msg_count.iter().sum::<u64>(),
                "invalidations": s.invalidations,
                "by_type": by_type,
                "carrying_software_messages": msgs.iter().map(|m| m.coherence()).sum::<u64>(),
            },
            "primitives": {"hardware": hardware, "software": tally(msgs.iter().map(|m| m.primitive.tag()))},
            "deliveries": self.deliveries,
            "held_back": self.holds,
            "events_hash": format!("{:016x}", self.events_hash),
        })
    }

    pub fn table(&self) -> String {
        let delivered: usize = self.deliveries.iter().map(Vec::len).sum();
        let mut t = format!(
            "broadcast {} on {} cores ({} {}), {} casts each\n",
            self.order.name(),
            self.cores,
            self.protocol,
            self.topology,
            self.casts
        );
        t += &format!("  cycles             {}\n", self.stats.cycles);
        t += &format!(
            "  software messages  {} (by hand: {})\n",
            self.messages.len(),
            BroadcastReport::expected_messages(self.order, self.cores, self.casts)
        );
        t += &format!("  coherence messages {}\n", self.stats.msg_count.iter().sum::<u64>());
        t += &format!("  deliveries         {delivered} ({} held back)\n", self.holds);
        t += &format!("  finished           {}\n", self.finished);
        t += &format!("  violations         {}\n", self.violations.len());
        for v in self.violations.iter().take(5) {
            t += &format!("    {} @{}: {}\n", v.monitor, v.cycle, v.what);
        }
        t
    }
}
