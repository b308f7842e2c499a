//! A synchronisation run on the simulated cores: the algorithm's actors run by
//! the on-core runtime (`exec::actor`), one per core, each core's clock built
//! from its spec; afterwards every clock is read back against true time and
//! the monitors grade the run.

use super::berkeley::Berkeley;
use super::cristian::Cristian;
use super::ntp::Ntp;
use super::ptp::Ptp;
use super::report::{self, SyncReport};
use super::{Monotonic, Params, SyncAlgo, monitor};
use crate::apps::harness::{self, Setup};
use crate::config::SystemConfig;
use crate::engine::{FrontendError, SimError};
use crate::exec::actor::OnCore;
use crate::exec::clock::{ClockSpec, MAX_DRIFT_PPM};
use crate::exec::fault::Plan;
use crate::model::network::{Cycle, NetworkSpec, Topology};

/// One synchronisation run: the machine, its clocks, the algorithm and its
/// schedule.
#[derive(Clone, Debug)]
pub struct SyncRun {
    pub cfg: SystemConfig,
    pub algo: SyncAlgo,
    /// Rounds each client (or the master) runs.
    pub rounds: u32,
    /// Cycles between rounds.
    pub period: Cycle,
    /// One clock per core (core 0 is the server or master).
    pub specs: Vec<ClockSpec>,
    /// Coherence network jitter (cycles, at most), seeded by `cfg.seed`.
    pub jitter: Option<Cycle>,
    pub faults: Plan,
    pub max_cycles: Option<Cycle>,
    /// The least one-way delay the algorithms assume (`None`: derived from
    /// the machine, `SyncRun::derived_min_delay`).
    pub min_delay: Option<Cycle>,
    /// Berkeley's outlier threshold (`None`: one period).
    pub gamma: Option<u64>,
    /// Slots per mailbox ring. An odd ring length in lines (31 slots and
    /// the two index lines) spreads the tail lines a core polls over its L1's
    /// sets; a power-of-two one puts every ring into a core in a few sets,
    /// and on 16 cores the server's polls thrash (a message then waited ~990
    /// cycles to be seen instead of ~280). 31 slots also keep the default
    /// runs from wrapping a ring: at a wrap the sender reloads the head the
    /// receiver bumps, so the receiver's next bump misses, between a
    /// message's arrival and its ingress read (PTP, unfiltered, is ~60
    /// cycles off for that round).
    pub slots: u64,
    /// Record a timeline of the run.
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

/// The periods a run takes: long enough for a round trip (some 600 cycles)
/// and short enough that every sum of cycles stays far from overflowing.
pub const MIN_PERIOD: Cycle = 1000;
pub const MAX_PERIOD: Cycle = 1 << 32;

impl SyncRun {
    /// A run with the defaults the CLI uses: 8 rounds of
    /// `default_period(cores)` cycles. For the algorithms with a reference
    /// clock (`SyncAlgo::external`) core 0's spec is made perfect (offset 0,
    /// no drift, no jitter: a GPS-fed server); set `specs[0]` afterwards to
    /// study a drifting server (the clients follow it, true time or not).
    pub fn new(cfg: SystemConfig, algo: SyncAlgo, mut specs: Vec<ClockSpec>) -> SyncRun {
        if algo.external()
            && let Some(server) = specs.first_mut()
        {
            *server = ClockSpec::default();
        }
        SyncRun {
            period: Self::default_period(cfg.cores),
            cfg,
            algo,
            rounds: 8,
            specs,
            jitter: None,
            faults: Plan::default(),
            max_cycles: None,
            min_delay: None,
            gamma: None,
            slots: 31,
            timeline: None,
        }
    }

    /// 20,000 cycles, or 3,000 per core if more: a slew absorbs up to a
    /// quarter period a round (5,000 cycles), and the masters, which serve
    /// one process at a time, get a quarter period for their polls at
    /// some 600 cycles a round trip (the clients' phases are as far apart).
    pub fn default_period(cores: usize) -> Cycle {
        20_000.max(3_000 * cores as Cycle)
    }

    /// A lower bound on a message's delay from the sender's read before
    /// sending to the receiver's read after taking it: the receiver's load
    /// that sees the message misses (the sender's store took the line), and
    /// a miss is at least a traversal to the directory, its latency, and one
    /// back.
    pub fn derived_min_delay(cfg: &SystemConfig) -> Cycle {
        let n = &cfg.network;
        let spec = NetworkSpec {
            topology: n.topology,
            cores: cfg.cores,
            dir_slices: cfg.directory.slices,
            hop_latency: n.hop_latency,
            link_bytes: n.link_bytes,
            local_latency: n.local_latency,
        };
        debug_assert!(spec.topology != Topology::Crossbar || spec.min_link() == n.hop_latency);
        2 * spec.min_link() + cfg.directory.latency
    }

    /// What the processes are told: the schedule and the machine's bounds.
    pub fn params(&self) -> Params {
        let drift = self.specs.iter().map(|s| s.drift_ppm.abs()).fold(0.0, f64::max) * 1e-6;
        let jitter = self.specs.iter().map(|s| s.jitter).max().unwrap_or(0);
        // No clock reads below 0 at the first round: the most negative offset
        // is made up by then even on the slowest clock.
        let behind = self.specs.iter().map(|s| (-s.offset).max(0) as f64).fold(0.0, f64::max);
        let first = self.period + (behind / (1.0 - drift)).ceil() as Cycle;
        Params {
            cores: self.cfg.cores,
            rounds: self.rounds,
            period: self.period,
            first,
            min_delay: self.min_delay.unwrap_or_else(|| Self::derived_min_delay(&self.cfg)),
            drift,
            jitter,
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.specs.len() != self.cfg.cores {
            return Err(format!("{} clock specs for {} cores (one per core)", self.specs.len(), self.cfg.cores));
        }
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&self.period) {
            return Err(format!("a period of {} cycles is outside {MIN_PERIOD}..={MAX_PERIOD}", self.period));
        }
        for (c, s) in self.specs.iter().enumerate() {
            if !s.drift_ppm.is_finite() || s.drift_ppm.abs() > MAX_DRIFT_PPM {
                return Err(format!("core {c}: a drift of {} ppm is outside ±{MAX_DRIFT_PPM}", s.drift_ppm));
            }
            if s.offset.unsigned_abs() > 1 << 40 || s.jitter > 1 << 20 {
                return Err(format!("core {c}: an offset of {} or a jitter of {} is absurd", s.offset, s.jitter));
            }
        }
        Ok(())
    }

    /// Runs the algorithm; bad settings are `FrontendError::Input`, a hardware
    /// failure is an error, a software finding is a violation in the report.
    pub fn run(&self) -> Result<SyncReport, SimError> {
        self.check().map_err(|e| SimError::Frontend(FrontendError::Input(e.into())))?;
        let p = self.params();
        let gamma = self.gamma.unwrap_or(self.period);
        match self.algo {
            SyncAlgo::Cristian => self.run_actor(Cristian::new(p, false)),
            SyncAlgo::BrokenCristian => self.run_actor(Cristian::new(p, true)),
            SyncAlgo::Berkeley => self.run_actor(Berkeley::new(p, gamma, false)),
            SyncAlgo::BrokenBerkeley => self.run_actor(Berkeley::new(p, gamma, true)),
            SyncAlgo::Ntp => self.run_actor(Ntp::new(p, false)),
            SyncAlgo::BrokenNtp => self.run_actor(Ntp::new(p, true)),
            SyncAlgo::Ptp => self.run_actor(Ptp::new(p)),
        }
    }

    fn run_actor<A>(&self, actor: A) -> Result<SyncReport, SimError>
    where
        A: OnCore + 'static,
        A::Msg: serde::Serialize + serde::de::DeserializeOwned,
    {
        let cores = self.cfg.cores;
        let p = self.params();
        let limit = self.max_cycles.unwrap_or(p.end() + 20 * self.period);
        let setup = Setup {
            slots: self.slots,
            // Slots of at least 64 bytes: every message here encodes in 56.
            slot_lines: 64u64.div_ceil(u64::from(self.cfg.l1.line)),
            cs_cycles: 0,
            // Nothing happens before the first round (`first`, later for
            // clocks far behind): the stall window covers it.
            stall: (10 * self.period).max(p.first.saturating_add(2 * self.period)),
            clocks: Some(self.specs.clone()),
            faults: self.faults.clone(),
            jitter: self.jitter,
            max_cycles: Some(limit),
            timeline: self.timeline,
            ..Setup::default()
        };
        let mut done = harness::run(&self.cfg, actor, &setup)?;
        let timeline = done.timeline.take();
        let (net, sim) = (&done.net, &done.sim);
        let end = sim.stats.cycles;
        let clocks = net.clocks.borrow();
        let claims = net.claims.borrow().clone();
        let messages = net.log.borrow().clone();
        let mut violations = monitor::bounds(&claims);
        // From when each core's clock must not run backwards.
        let promised: Vec<Option<Cycle>> = (0..cores)
            .map(|c| match self.algo.monotonic() {
                Monotonic::Never => None,
                Monotonic::Always => Some(0),
                Monotonic::AfterFirstSync => claims.iter().find(|g| g.core == c).map(|g| g.at),
            })
            .collect();
        violations.extend(monitor::monotonic(&clocks, &promised, &monitor::instants(&messages, &claims, end)));
        let measured = monitor::least_delay(&messages);
        violations.extend(monitor::min_delay(p.min_delay, measured));
        violations.extend(net.stall_finding());
        let offsets = report::offsets(&clocks, &p, end);
        let events_hash = report::events_hash(&messages, &claims);
        Ok(SyncReport {
            cfg: self.cfg.clone(),
            algo: self.algo,
            params: p,
            stats: sim.stats.clone(),
            offsets,
            claims,
            violations,
            messages,
            polls: net.polls.get(),
            measured_min_delay: measured,
            events_hash,
            timeline,
        })
    }
}
