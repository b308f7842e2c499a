//! A logical-clock run on the simulated cores: the `LogicalApp` actor on
//! every core, its messages in mailbox rings in coherent memory, each core's
//! physical clock drifting as configured (HLC reads it). The run records every
//! event with its stamp and messages; the monitors of `happens` grade the
//! stamps against the true happens-before relation.

use super::happens::{self, HlcBounds, Truth};
use super::logical::{LogicalAlgo, LogicalApp};
use crate::apps::harness::{self, Setup};
use crate::config::SystemConfig;
use crate::engine::SimError;
use crate::exec::actor::{Stamped, SwMessage};
use crate::exec::clock::ClockSpec;
use crate::exec::fault::Plan;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;
use crate::stats::Stats;

#[derive(Clone, Debug)]
pub struct LogicalRun {
    pub cfg: SystemConfig,
    pub algo: LogicalAlgo,
    /// Local-or-send events per process.
    pub events: u32,
    /// Cycles between a process's events (a seeded pick below it).
    pub period: Cycle,
    /// One clock per core.
    pub clocks: Vec<ClockSpec>,
    pub jitter: Option<Cycle>,
    pub faults: Plan,
    pub max_cycles: Option<Cycle>,
    /// Record a timeline of the run.
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

impl LogicalRun {
    pub fn new(cfg: SystemConfig, algo: LogicalAlgo, events: u32) -> LogicalRun {
        let clocks = vec![ClockSpec::default(); cfg.cores];
        LogicalRun {
            cfg,
            algo,
            events,
            period: 400,
            clocks,
            jitter: None,
            faults: Plan::default(),
            max_cycles: None,
            timeline: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LogicalReport {
    pub stats: Stats,
    pub events: Vec<Stamped>,
    pub messages: Vec<SwMessage>,
    pub violations: Vec<Finding>,
    /// Ordered pairs of events the vector monitor compared (0 for the others).
    pub pairs_checked: u64,
    /// Edges of happens-before checked (program order and messages).
    pub edges: usize,
    pub hlc: Option<HlcBounds>,
    pub events_hash: u64,
    /// The run's timeline, when one was asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

impl LogicalRun {
    pub fn run(&self) -> Result<LogicalReport, SimError> {
        let cores = self.cfg.cores;
        let app = LogicalApp {
            algo: self.algo,
            processes: cores,
            events: self.events,
            period: 1..self.period.max(2),
            seed: self.cfg.seed,
        };
        let setup = Setup {
            slots: 16,
            // A vector of N small counters takes about N bytes and more as
            // they grow: slots of one line per 16 processes.
            slot_lines: 1 + cores as u64 / 16,
            cs_cycles: 0,
            stall: stall(self.period),
            clocks: Some(self.clocks.clone()),
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
        let truth = Truth::new(&events, cores);
        let edges =
            events.iter().filter(|e| e.index > 1).count() + events.iter().filter(|e| e.received.is_some()).count();
        let (mut violations, pairs_checked, hlc) = match self.algo.base() {
            LogicalAlgo::Vector => {
                let (found, pairs) = happens::vector_characterisation(&truth, self.cfg.seed);
                (found, pairs, None)
            }
            LogicalAlgo::Hlc => {
                let (found, bounds) = happens::hlc(&truth, &net.clocks.borrow());
                (found, 0, Some(bounds))
            }
            _ => {
                let mut found = happens::clock_condition(&truth);
                found.extend(happens::total_order(&truth));
                (found, 0, None)
            }
        };
        violations.extend(net.stall_finding());
        let unmatched = happens::unmatched(&events, &messages);
        if unmatched > 0 {
            violations.push(Finding {
                monitor: "happens-before record",
                cycle: sim.stats.cycles,
                cores: (0..cores).collect(),
                what: format!("{unmatched} receive events took a message no recorded event sent"),
            });
        }
        let events_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            events.hash(&mut h);
            messages.hash(&mut h);
            h.finish()
        };
        Ok(LogicalReport {
            stats: sim.stats.clone(),
            events,
            messages,
            violations,
            pairs_checked,
            edges,
            hlc,
            events_hash,
            timeline,
        })
    }
}

/// A stall window generous for the workload: no handler for 50 periods.
fn stall(period: Cycle) -> Cycle {
    period.saturating_mul(50).max(100_000)
}
