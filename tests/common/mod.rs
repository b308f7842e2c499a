//! Helpers shared by the integration tests.
#![allow(dead_code)]

use cohsim::config::SystemConfig;
use cohsim::engine::{Frontend, FrontendError, RunOptions, Simulator, Step};
use cohsim::model::cache::{CacheGeometry, ReplacementPolicy};
use cohsim::model::directory::{DirSpec, Directory};
use cohsim::model::l1::{L1Controller, L1Spec};
use cohsim::model::network::Cycle;
use cohsim::model::{Access, MemOp, Note};
use cohsim::protocol::Protocol;
use cohsim::stats::classify::MissClassifier;
use cohsim::verify::invariants::Checker;

/// Each core runs a fixed list of steps; records what its accesses returned.
pub struct Script {
    pub steps: Vec<std::collections::VecDeque<Step>>,
    pub results: Vec<Vec<u64>>,
}

impl Script {
    pub fn new(steps: Vec<Vec<Step>>) -> Self {
        let n = steps.len();
        Script { steps: steps.into_iter().map(Into::into).collect(), results: vec![Vec::new(); n] }
    }
}

impl Frontend for Script {
    fn next(&mut self, core: usize, _now: Cycle) -> Result<Step, FrontendError> {
        Ok(self.steps[core].pop_front().unwrap_or(Step::Done))
    }
    fn completed(&mut self, core: usize, value: u64) {
        self.results[core].push(value);
    }
}

pub fn load(gap: u64, addr: u64) -> Step {
    Step::access(gap, Access { addr, op: MemOp::Load })
}

pub fn store(gap: u64, addr: u64, v: u64) -> Step {
    Step::access(gap, Access { addr, op: MemOp::Store(v) })
}

/// A simulator with the observers asked for attached: the invariant checker
/// (`check`) and the miss classifier (`classify`).
pub fn observed(cfg: SystemConfig, opts: RunOptions, check: bool, classify: bool) -> Simulator {
    let (checker, classifier) = (Checker::new(cfg.cores), MissClassifier::for_machine(&cfg));
    let mut sim = Simulator::new(cfg, opts);
    if check {
        sim.observe(Box::new(checker));
    }
    if classify {
        sim.observe(Box::new(classifier));
    }
    sim
}

/// Run a script with the checker on; panics with the simulator's report on failure.
pub fn run_checked(cfg: SystemConfig, steps: Vec<Vec<Step>>) -> (Simulator, Script) {
    let mut sim = observed(cfg, RunOptions::default(), true, false);
    let mut fe = Script::new(steps);
    if let Err(e) = sim.run(&mut fe) {
        panic!("run failed: {e}");
    }
    (sim, fe)
}

/// A tiny deterministic generator for test inputs (xorshift64*).
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Controllers for hand-driven tests (`races`, `transitions`): `cores` L1s of
/// four 64-byte lines (4-way, LRU) and one directory slice (node `cores`).
pub fn hand_driven(protocol: Protocol, cores: usize, silent_evict: bool) -> (Vec<L1Controller>, Directory) {
    let geometry = CacheGeometry { size: 256, ways: 4, line: 64 };
    let l1s = (0..cores)
        .map(|c| {
            let spec = L1Spec {
                core: c as u16,
                protocol,
                geometry,
                policy: ReplacementPolicy::Lru,
                silent_evict,
                imprecise_dir: false,
                wb_entries: 2,
                first_dir: cores as u16,
                dir_slices: 1,
                mutation: None,
            };
            L1Controller::new(spec, 1)
        })
        .collect();
    let dir = Directory::new(DirSpec {
        protocol,
        slice: 0,
        node: cores as u16,
        words: 8,
        cores,
        mutation: None,
        organisation: Default::default(),
        slices: 1,
    });
    (l1s, dir)
}

/// The values of `core`'s completions among `notes`, in order.
pub fn completed(notes: &[Note], core: u16) -> Vec<u64> {
    notes
        .iter()
        .filter_map(|n| match n {
            Note::Completed { core: c, value } if *c == core => Some(*value),
            _ => None,
        })
        .collect()
}
