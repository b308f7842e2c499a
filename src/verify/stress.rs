//! The random tester, in the spirit of gem5 Ruby's: many cores hammer a handful of
//! lines — words of one line shared falsely, lines that fight for the same cache set
//! — with loads, stores and atomics, through a tiny cache and write-back buffer so
//! evictions race with everything, while the network adds random delay to every
//! message (forward order per source and destination is kept: the protocols' one
//! assumption). The invariant checker and the watchdog judge every run.
//!
//! Everything derives from the seed: the operations, the network delays, the
//! topology when none is given. On a failure the tester shrinks the operation lists
//! (drop chunks, then single operations, keep what still fails) and prints the
//! shortest failing program it found with the seed that replays it.

use crate::config::{ByteSize, Interconnect, SystemConfig};
use crate::engine::{Frontend, FrontendError, RunOptions, SimError, Simulator, Step};
use crate::model::network::{Cycle, Topology};
use crate::model::{Access, MemOp};
use crate::protocol::Protocol;
use crate::rng::SplitMix64;
use crate::stats::classify::MissClassifier;

#[derive(Clone, Debug)]
pub struct StressOptions {
    pub protocol: Protocol,
    pub cores: usize,
    /// Fixed topology, or `None` to rotate through all three by seed.
    pub topology: Option<Topology>,
    pub ops_per_core: usize,
    pub silent_evict: bool,
    pub jitter: u64,
    /// A deliberate protocol bug: the tester should catch it.
    pub mutation: Option<crate::model::Mutation>,
    /// The network (directory protocols) or the snooping bus.
    pub interconnect: Interconnect,
    /// The directory organisation under test.
    pub organisation: crate::model::dir_org::Organisation,
}

impl Default for StressOptions {
    fn default() -> Self {
        StressOptions {
            protocol: Protocol::Mesi,
            cores: 4,
            topology: None,
            ops_per_core: 150,
            silent_evict: false,
            jitter: 40,
            mutation: None,
            interconnect: Interconnect::Network,
            organisation: Default::default(),
        }
    }
}

/// One core's program: (compute gap, access).
pub type Program = Vec<(u64, Access)>;

/// The machine a seed runs on.
pub fn stress_config(opts: &StressOptions, seed: u64) -> SystemConfig {
    let mut cfg = SystemConfig {
        protocol: opts.protocol,
        cores: opts.cores,
        seed,
        watchdog_cycles: 200_000,
        ..SystemConfig::default()
    };
    // Two sets of two ways of 32-byte lines: six lines keep evicting each other.
    cfg.l1.size = ByteSize(128);
    cfg.l1.ways = 2;
    cfg.l1.line = 32;
    cfg.l1.writeback_entries = 2;
    cfg.l1.silent_evict = opts.silent_evict;
    cfg.directory.latency = 3;
    cfg.directory.organisation = opts.organisation;
    cfg.memory.latency = 20;
    cfg.network.topology = opts.topology.unwrap_or(match seed % 3 {
        0 => Topology::Crossbar,
        1 => Topology::Ring,
        _ => Topology::Mesh,
    });
    cfg.directory.slices = if opts.cores >= 2 && seed % 2 == 1 { 2 } else { 1 };
    if opts.interconnect == Interconnect::Bus {
        // One bus, one memory: no topology to rotate, no slices.
        cfg.network.interconnect = Interconnect::Bus;
        cfg.network.topology = Topology::Crossbar;
        cfg.directory.slices = 1;
    }
    cfg
}

/// The random programs of a seed.
pub fn programs(opts: &StressOptions, seed: u64) -> Vec<Program> {
    let mut rng = SplitMix64::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xC0FFEE);
    // Six lines, 32 bytes apart (4 words each): lines 0, 2, 4 share set 0 and
    // lines 1, 3, 5 share set 1, so they conflict in the two-way cache.
    let lines = 6u64;
    (0..opts.cores)
        .map(|core| {
            let mut counter = 0u64;
            (0..opts.ops_per_core)
                .map(|_| {
                    let line = rng.below(lines);
                    let word = rng.below(4);
                    let addr = line * 32 + word * 8;
                    counter += 1;
                    let value = ((core as u64 + 1) << 40) | counter;
                    let op = match rng.below(20) {
                        0..=7 => MemOp::Load,
                        8..=14 => MemOp::Store(value),
                        15 | 16 => MemOp::FetchAdd(1),
                        17 => MemOp::Swap(value),
                        _ => MemOp::CompareExchange { expected: rng.below(3), new: value },
                    };
                    (rng.below(12), Access { addr, op })
                })
                .collect()
        })
        .collect()
}

struct Replay {
    programs: Vec<Program>,
    next: Vec<usize>,
}

impl Frontend for Replay {
    fn next(&mut self, core: usize, _now: Cycle) -> Result<Step, FrontendError> {
        let i = self.next[core];
        Ok(match self.programs[core].get(i) {
            Some(&(gap, access)) => {
                self.next[core] += 1;
                Step::access(gap, access)
            }
            None => Step::Done,
        })
    }
}

/// Run one seed's programs; `Err` carries the failure's report.
pub fn run_programs(opts: &StressOptions, seed: u64, programs: &[Program]) -> Result<Simulator, SimError> {
    let cfg = stress_config(opts, seed);
    let cores = cfg.cores;
    let classifier = MissClassifier::for_machine(&cfg);
    let mut sim =
        Simulator::new(cfg, RunOptions { jitter: Some(opts.jitter), mutation: opts.mutation, ..Default::default() });
    sim.observe(Box::new(super::invariants::Checker::new(cores)));
    sim.observe(Box::new(classifier));
    let mut fe = Replay { programs: programs.to_vec(), next: vec![0; programs.len()] };
    sim.run(&mut fe)?;
    Ok(sim)
}

/// Run one seed's programs on whichever interconnect `opts` names: the
/// statistics, or the failure's report.
pub fn run_stats(opts: &StressOptions, seed: u64, programs: &[Program]) -> Result<crate::stats::Stats, SimError> {
    if opts.interconnect == Interconnect::Network {
        return run_programs(opts, seed, programs).map(|sim| sim.stats);
    }
    let cfg = stress_config(opts, seed);
    let cores = cfg.cores;
    let run = RunOptions { jitter: Some(opts.jitter), mutation: opts.mutation, ..Default::default() };
    let mut sim = crate::engine::bus::BusSimulator::new(cfg, run);
    sim.observe(Box::new(super::invariants::Checker::new(cores)));
    let mut fe = Replay { programs: programs.to_vec(), next: vec![0; programs.len()] };
    sim.run(&mut fe)?;
    Ok(sim.stats)
}

/// A failing seed, shrunk.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub error: String,
    pub programs: Vec<Program>,
    pub original_ops: usize,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ops: usize = self.programs.iter().map(Vec::len).sum();
        writeln!(f, "seed {} FAILED: {}", self.seed, self.error)?;
        writeln!(f, "shortest failing sequence found: {ops} operations (from {}):", self.original_ops)?;
        for (core, p) in self.programs.iter().enumerate() {
            for (gap, a) in p {
                writeln!(f, "  core {core}: after {gap:>2} cycles {:?} @ {:#x}", a.op, a.addr)?;
            }
        }
        Ok(())
    }
}

/// Run a seed; on failure shrink it.
pub fn run_seed(opts: &StressOptions, seed: u64) -> Result<(), Box<Failure>> {
    let progs = programs(opts, seed);
    let Err(first) = run_stats(opts, seed, &progs) else {
        return Ok(());
    };
    let original_ops = progs.iter().map(Vec::len).sum();
    let (programs, error) = shrink(opts, seed, progs, first.to_string());
    Err(Box::new(Failure { seed, error, programs, original_ops }))
}

/// Remove chunks of operations, halving the chunk size, while the run still fails.
fn shrink(opts: &StressOptions, seed: u64, mut progs: Vec<Program>, mut error: String) -> (Vec<Program>, String) {
    let mut budget = 2000; // runs
    let mut chunk = progs.iter().map(Vec::len).max().unwrap_or(1).div_ceil(2);
    while chunk >= 1 && budget > 0 {
        let mut progress = false;
        for core in 0..progs.len() {
            let mut start = 0;
            while start < progs[core].len() && budget > 0 {
                let mut trial = progs.clone();
                let end = (start + chunk).min(trial[core].len());
                trial[core].drain(start..end);
                budget -= 1;
                match run_stats(opts, seed, &trial) {
                    Err(e) => {
                        progs = trial;
                        error = e.to_string();
                        progress = true;
                    }
                    Ok(_) => start += chunk,
                }
            }
        }
        if !progress {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    (progs, error)
}

/// Outcome of a batch of seeds.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: u64,
    pub failures: Vec<Failure>,
    pub operations: u64,
    pub messages: u64,
    /// Transitions taken, summed over the passing seeds (indexed as in `Stats`).
    pub l1_transitions: Vec<u64>,
    pub dir_transitions: Vec<u64>,
}

impl Summary {
    fn absorb(&mut self, stats: &crate::stats::Stats) {
        let add = |into: &mut Vec<u64>, from: &[u64]| {
            into.resize(from.len(), 0);
            into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
        };
        add(&mut self.l1_transitions, &stats.l1_transitions);
        add(&mut self.dir_transitions, &stats.dir_transitions);
    }

    /// Table rows of `protocol` (other than stalls) that no passing seed took:
    /// what the random tester did not exercise.
    pub fn uncovered(&self, protocol: Protocol, silent_evict: bool) -> Vec<String> {
        use crate::protocol::{dir_table, l1_table};
        let mut out = Vec::new();
        let (ne, nd) = (l1_table::L1Event::ALL.len(), dir_table::DirEvent::ALL.len());
        for s in l1_table::L1State::ALL {
            for e in l1_table::L1Event::ALL {
                let Some(row) = l1_table::row(protocol, s, e) else { continue };
                let core_side =
                    matches!(e, l1_table::L1Event::Load | l1_table::L1Event::Store | l1_table::L1Event::Replacement);
                if core_side && (!s.is_stable() || row.actions == [l1_table::L1Action::Hit]) {
                    // A blocking core never accesses a line in a transient state,
                    // and hits take the fast path, which records no transition.
                    continue;
                }
                let silent_only =
                    e == l1_table::L1Event::SilentReplacement || row.actions.contains(&l1_table::L1Action::StaleInvAck);
                if silent_only != silent_evict && silent_only {
                    continue;
                }
                if self.l1_transitions.get(s as usize * ne + e as usize).copied().unwrap_or(0) == 0 {
                    out.push(format!("L1 {} / {}", s.name(), e.name()));
                }
            }
        }
        for s in dir_table::DirState::ALL {
            for e in dir_table::DirEvent::ALL {
                if dir_table::row(protocol, s, e).is_none() {
                    continue;
                }
                if self.dir_transitions.get(s as usize * nd + e as usize).copied().unwrap_or(0) == 0 {
                    out.push(format!("Dir {} / {}", s.name(), e.name()));
                }
            }
        }
        out
    }
}

/// Run seeds `start..start+count` on `threads` threads; stops at the first failure
/// of each thread.
pub fn run_batch(opts: &StressOptions, start: u64, count: u64, threads: usize) -> Summary {
    let threads = threads.max(1) as u64;
    let results: Vec<Summary> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut sum = Summary::default();
                    let mut seed = start + t;
                    while seed < start + count {
                        let progs = programs(opts, seed);
                        match run_stats(opts, seed, &progs) {
                            Ok(stats) => {
                                sum.passed += 1;
                                sum.operations += stats.totals().loads + stats.totals().stores + stats.totals().atomics;
                                sum.messages += stats.total_messages();
                                sum.absorb(&stats);
                            }
                            Err(_) => {
                                if let Err(f) = run_seed(opts, seed) {
                                    sum.failures.push(*f);
                                }
                                break;
                            }
                        }
                        seed += threads;
                    }
                    sum
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("stress worker panicked")).collect()
    });
    let mut total = Summary::default();
    for r in results {
        total.passed += r.passed;
        total.operations += r.operations;
        total.messages += r.messages;
        total.l1_transitions.resize(r.l1_transitions.len().max(total.l1_transitions.len()), 0);
        total.dir_transitions.resize(r.dir_transitions.len().max(total.dir_transitions.len()), 0);
        total.l1_transitions.iter_mut().zip(&r.l1_transitions).for_each(|(a, b)| *a += b);
        total.dir_transitions.iter_mut().zip(&r.dir_transitions).for_each(|(a, b)| *a += b);
        total.failures.extend(r.failures);
    }
    total.failures.sort_by_key(|f| f.seed);
    total
}
