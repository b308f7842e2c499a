//! A mutex run on the simulated cores: the algorithm's actors run by the
//! on-core runtime (`exec::actor`), one per core, their messages in mailbox
//! rings in coherent memory. Each critical section is a plain read-modify-write
//! of a shared counter, so the final count is right only if the algorithm
//! really excludes. Every run is checked by the mutual-exclusion monitor
//! (`exec::monitor`, the one the spin locks use) and the counter; a run that
//! stops making progress (a crash, a lost message) ends as `blocked`, with the
//! algorithm's known weakness named.

use super::central::Central;
use super::lamport::Lamport;
use super::ricart_agrawala::RicartAgrawala;
use super::token_ring::TokenRing;
use super::{Algo, Workload};
use crate::apps::harness::{self, Setup};
use crate::config::SystemConfig;
use crate::engine::SimError;
use crate::exec::actor::{OnCore, SwMessage};
use crate::exec::fault::Plan;
use crate::exec::monitor::{self, Finding};
use crate::exec::{SwEvent, SwEventKind};
use crate::model::network::Cycle;
use crate::stats::Stats;

/// One mutex run: the machine, the algorithm and the workload.
#[derive(Clone, Debug)]
pub struct MutexRun {
    pub cfg: SystemConfig,
    pub algo: Algo,
    /// Critical-section entries in all, spread over the processes that enter
    /// (all cores; for `central`, all but the coordinator on core 0).
    pub entries: u64,
    /// Cycles of work inside the critical section.
    pub cs_cycles: Cycle,
    /// Think time before each request, in cycles (a seeded pick below it).
    pub think: Cycle,
    /// Coherence network jitter (cycles, at most), seeded by `cfg.seed`.
    pub jitter: Option<Cycle>,
    pub max_cycles: Option<Cycle>,
    /// Crashes, pauses and message faults.
    pub faults: Plan,
    /// The run ends as blocked when no core made progress (a handler, a
    /// message written or taken) for this many cycles (more than `think` plus `cs_cycles`, or an idle process looks
    /// blocked).
    pub stall: Cycle,
    /// Slots per mailbox ring.
    pub slots: u64,
    /// Record a timeline of the run.
    pub timeline: Option<crate::stats::timeline::TimelineSpec>,
}

impl MutexRun {
    /// A run with the defaults the CLI uses.
    pub fn new(cfg: SystemConfig, algo: Algo, entries: u64) -> MutexRun {
        MutexRun {
            cfg,
            algo,
            entries,
            cs_cycles: 20,
            think: 32,
            jitter: None,
            max_cycles: None,
            faults: Plan::default(),
            stall: 200_000,
            slots: 16,
            timeline: None,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every process did its entries (or crashed).
    Completed,
    /// No handler ran for the stall window: the last entry was at `since`
    /// and the run was ended at `at`.
    Blocked { since: Cycle, at: Cycle },
}

/// What a mutex run measured.
#[derive(Clone, Debug)]
pub struct MutexReport {
    pub stats: Stats,
    pub outcome: Outcome,
    /// Monitor findings (mutual exclusion, the counter).
    pub violations: Vec<Finding>,
    /// Entries each core was given, and the entries it completed.
    pub planned_per_core: Vec<u64>,
    pub entries_per_core: Vec<u64>,
    /// Every software message, in the order sent.
    pub messages: Vec<SwMessage>,
    /// Polls that found a ring empty, and the coherence messages they caused.
    pub polls: (u64, u64),
    /// The longest any process waited from wanting to entering, in cycles.
    pub longest_wait: Cycle,
    pub counter: u64,
    /// A hash of every software event and message: the same seed gives the
    /// same hash.
    pub events_hash: u64,
    /// The run's timeline, when one was asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

impl MutexReport {
    /// Entries completed in all.
    pub fn entries(&self) -> u64 {
        self.entries_per_core.iter().sum()
    }

    /// Per completed entry: software messages, coherence messages, cycles.
    pub fn per_entry(&self) -> (f64, f64, f64) {
        let e = self.entries().max(1) as f64;
        let coherence: u64 = self.stats.msg_count.iter().sum();
        (self.messages.len() as f64 / e, coherence as f64 / e, self.stats.cycles as f64 / e)
    }
}

/// What each algorithm is known to need, named when a run blocks.
pub fn weakness(algo: Algo) -> &'static str {
    match algo {
        Algo::Central => {
            "every entry goes through the coordinator (core 0): if it crashes, or a request, grant or release \
             is lost, the processes waiting on it block"
        }
        Algo::Lamport => {
            "a process enters only after hearing from every other process over reliable FIFO channels: one \
             crashed process blocks every later entry, and one lost request can let two processes in at once \
             (the reply to the other's own request passes for the later-stamped message)"
        }
        Algo::RicartAgrawala | Algo::BrokenRicartAgrawala => {
            "a process enters only after a reply from every other process: one crashed process or one lost \
             request or reply blocks it"
        }
        Algo::TokenRing => {
            "the token is the only permission: if its holder crashes or the token is lost, the ring blocks"
        }
    }
}

impl MutexRun {
    /// Runs the workload; a hardware failure (protocol, invariant, cycle
    /// limit) is an error, a software finding is a violation in the report.
    pub fn run(&self) -> Result<MutexReport, SimError> {
        let cores = self.cfg.cores;
        let n = cores as u64;
        // Central: core 0 coordinates and never enters.
        let first = u64::from(self.algo == Algo::Central && cores > 1);
        let takers = n - first;
        let planned: Vec<u64> = (0..n)
            .map(|c| if c < first { 0 } else { self.entries / takers + u64::from(c - first < self.entries % takers) })
            .collect();
        let workload = Workload {
            processes: cores,
            entries: planned.iter().map(|&e| e as u32).collect(),
            think: 0..self.think.max(1),
        };
        match self.algo {
            Algo::Central => self.run_actor(Central::new(workload), planned),
            Algo::Lamport => self.run_actor(Lamport::new(workload), planned),
            Algo::RicartAgrawala => self.run_actor(RicartAgrawala::new(workload), planned),
            Algo::BrokenRicartAgrawala => self.run_actor(RicartAgrawala::broken(workload), planned),
            Algo::TokenRing => self.run_actor(TokenRing::new(workload), planned),
        }
    }

    fn run_actor<A>(&self, actor: A, planned: Vec<u64>) -> Result<MutexReport, SimError>
    where
        A: OnCore + 'static,
        A::Msg: serde::Serialize + serde::de::DeserializeOwned,
    {
        let cores = self.cfg.cores;
        let setup = Setup {
            slots: self.slots,
            slot_lines: 1,
            cs_cycles: self.cs_cycles,
            stall: self.stall,
            clocks: None,
            faults: self.faults.clone(),
            jitter: self.jitter,
            max_cycles: self.max_cycles,
            timeline: self.timeline,
            ..Setup::default()
        };
        let mut done = harness::run(&self.cfg, actor, &setup)?;
        let timeline = done.timeline.take();
        let (net, sim, events) = (&done.net, &done.sim, &done.events);
        let counter_value = done.counter_value();
        let mut violations = monitor::mutual_exclusion(events);
        let released = events.iter().filter(|e| e.kind == SwEventKind::Releasing).count() as u64;
        // A core that crashed inside its section may have stored its increment.
        let most = released + self.faults.crashing() as u64;
        if counter_value < released || counter_value > most {
            violations.push(Finding {
                monitor: "counter",
                cycle: sim.stats.cycles,
                cores: (0..cores).collect(),
                what: format!("the shared counter ends at {counter_value}, but {released} critical sections completed"),
            });
        }
        let mut entries_per_core = vec![0; cores];
        for e in events.iter().filter(|e| e.kind == SwEventKind::Releasing) {
            entries_per_core[e.core] += 1;
        }
        let last_entry = events.iter().filter(|e| e.kind == SwEventKind::Acquired).map(|e| e.cycle).max();
        let outcome = match net.stalled.get() {
            Some(at) => Outcome::Blocked { since: last_entry.unwrap_or(0), at },
            None => Outcome::Completed,
        };
        let messages = net.log.borrow().clone();
        let events_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            events.hash(&mut h);
            messages.hash(&mut h);
            h.finish()
        };
        Ok(MutexReport {
            stats: sim.stats.clone(),
            outcome,
            violations,
            planned_per_core: planned,
            entries_per_core,
            messages,
            polls: net.polls.get(),
            longest_wait: longest_wait(events),
            counter: counter_value,
            events_hash,
            timeline,
        })
    }
}

/// The longest wait from `Acquiring` to `Acquired` of one core.
fn longest_wait(events: &[SwEvent]) -> Cycle {
    let mut since = std::collections::BTreeMap::new();
    let mut longest = 0;
    for e in events {
        match e.kind {
            SwEventKind::Acquiring => {
                since.insert(e.core, e.cycle);
            }
            SwEventKind::Acquired => {
                if let Some(t) = since.remove(&e.core) {
                    longest = longest.max(e.cycle - t);
                }
            }
            _ => {}
        }
    }
    longest
}
