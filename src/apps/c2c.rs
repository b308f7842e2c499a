//! Core-to-core latency: the matrix users measure on real chips (a
//! compare-and-swap ping-pong between each pair of cores, the round trip
//! halved), measured on the simulated machine.
//!
//! For each pair (i, j) only i and j run. They take turns on one flag word:
//! in round k the core whose turn it is performs `CAS(flag, k, k + 1)`, which
//! must succeed (the other core wrote k), and times it with its own clock.
//! The line is in M at the other core, so each CAS is one hand-off of the
//! line through its home: the requester's GetM to the home slice, the
//! home's Fwd-GetM to the owner, the owner's data to the requester. The turns
//! are `gap` cycles apart, so every hand-off runs on a quiet machine: the
//! number is the latency of a transfer, not of queueing behind the other
//! core's spinning (real tools spin; on real chips that adds little, here it
//! would mix contention into the cell). Round 0 (a cold miss to memory) is
//! not counted.
//!
//! `one_way[i][j]` is the mean cycles of i's CAS taking the line from j;
//! `matrix[i][j]` is the round trip halved, `(one_way[i][j] + one_way[j][i]) / 2`.
//!
//! **Primitives**: each CAS is a request-grant (1a) at the home that
//! transfers authority from the owner (5a), and the owner's data goes
//! straight to its successor (6b).

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::SystemConfig;
use crate::engine::{RunOptions, SimError, Simulator};
use crate::exec::Programs;
use crate::exec::alloc::Alloc;
use crate::model::network::Cycle;

/// What `measure` found.
#[derive(Clone, Debug, PartialEq)]
pub struct Latencies {
    /// The flag's address and the tile of its home slice.
    pub flag: u64,
    pub home_tile: usize,
    /// Cycles per hand-off of i's CAS taking the line from j (0 on the diagonal).
    pub one_way: Vec<Vec<f64>>,
    /// The round trip halved (symmetric, 0 on the diagonal).
    pub matrix: Vec<Vec<f64>>,
}

/// Measures every pair of `cfg`'s cores with `rounds` counted hand-offs
/// each way, `gap` cycles apart, the flag on a line whose home is directory
/// slice `home` (lines are interleaved over the slices).
pub fn measure(cfg: &SystemConfig, rounds: u32, gap: Cycle, home: usize) -> Result<Latencies, SimError> {
    let n = cfg.cores;
    let line = u64::from(cfg.l1.line);
    let slices = cfg.directory.slices;
    let mut mem = Alloc::new(0x10_0000, line);
    // The first line whose home is `home`.
    let flag = loop {
        let a = mem.lines(1);
        if (a / line) % slices as u64 == (home % slices) as u64 {
            break a;
        }
    };
    let slice = ((flag / line) % slices as u64) as usize;
    let home_tile = slice * n / slices;
    let mut one_way = vec![vec![0.0; n]; n];
    for (i, j) in (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))) {
        let (a, b) = pair(cfg, i, j, flag, rounds, gap)?;
        one_way[i][j] = a;
        one_way[j][i] = b;
    }
    let matrix = (0..n).map(|i| (0..n).map(|j| (one_way[i][j] + one_way[j][i]) / 2.0).collect()).collect();
    Ok(Latencies { flag, home_tile, one_way, matrix })
}

/// One pair: the mean CAS cycles of `i` (taking from `j`) and of `j`.
fn pair(cfg: &SystemConfig, i: usize, j: usize, flag: u64, rounds: u32, gap: Cycle) -> Result<(f64, f64), SimError> {
    // Per core: (cycles of counted hand-offs, count, CASes that failed).
    let times = Rc::new(RefCell::new(vec![(0u64, 0u64, 0u64); cfg.cores]));
    let total = 2 * rounds + 1;
    let mut programs = Programs::new(cfg.cores, |ctx| {
        let times = times.clone();
        async move {
            let me = ctx.id();
            if me != i && me != j {
                return;
            }
            // Core i takes the even rounds (0 is the cold one), j the odd.
            let first = u32::from(me == j);
            for k in (first..total).step_by(2) {
                let at = u64::from(k) * gap;
                let now = ctx.now();
                if now < at {
                    ctx.compute(at - now).await;
                }
                let start = ctx.now();
                let old = ctx.compare_exchange(flag, u64::from(k), u64::from(k) + 1).await;
                let mut t = times.borrow_mut();
                if old != u64::from(k) {
                    t[me].2 += 1;
                } else if k > 0 {
                    t[me].0 += ctx.now() - start;
                    t[me].1 += 1;
                }
            }
        }
    });
    let mut sim = Simulator::new(cfg.clone(), RunOptions::default());
    sim.run(&mut programs)?;
    drop(programs);
    let t = times.borrow();
    if t[i].2 + t[j].2 > 0 {
        let why =
            format!("--gap: {gap} cycles is too short for cores {i} and {j}: a CAS found the flag not yet handed over");
        return Err(SimError::Frontend(crate::engine::FrontendError::Input(why.into())));
    }
    let mean = |c: usize| t[c].0 as f64 / t[c].1.max(1) as f64;
    Ok((mean(i), mean(j)))
}
