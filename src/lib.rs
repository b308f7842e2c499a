//! # cohsim
//!
//! A cycle-level model of a cache-coherent multicore: per-core L1 caches, a
//! directory, an interconnect and main memory, under MSI, MESI or MOESI, with the
//! transient states a non-atomic interconnect needs and real data in every cache.
//!
//! The controllers (`model::l1`, `model::directory`) are pure state machines driven
//! by the protocol tables in `protocol`. The timed world (`engine`) simulates them
//! cycle by cycle; the untimed world (`verify`) explores them exhaustively or at
//! random. Observers (`stats`, `verify::invariants`) watch without changing them.
//!
//! ```
//! use cohsim::config::SystemConfig;
//! use cohsim::engine::{Frontend, FrontendError, RunOptions, Simulator, Step};
//! use cohsim::model::network::Cycle;
//! use cohsim::model::{Access, MemOp};
//!
//! // Core 0 stores 42, core 1 then loads it.
//! struct Two(Vec<Vec<Step>>);
//! impl Frontend for Two {
//!     fn next(&mut self, core: usize, _now: Cycle) -> Result<Step, FrontendError> {
//!         Ok(if self.0[core].is_empty() { Step::Done } else { self.0[core].remove(0) })
//!     }
//! }
//! let mut cfg = SystemConfig::default();
//! cfg.cores = 2;
//! let mut sim = Simulator::new(cfg, RunOptions::default());
//! // The invariant checker watches every access and every line (an observer).
//! sim.observe(Box::new(cohsim::verify::invariants::Checker::new(2)));
//! let store = Step::access(0, Access { addr: 0x40, op: MemOp::Store(42) });
//! let load = Step::access(1000, Access { addr: 0x40, op: MemOp::Load });
//! sim.run(&mut Two(vec![vec![store], vec![load]])).unwrap();
//! assert_eq!(sim.stats.cores[1].read_misses, 1);
//! ```

pub mod apps;
pub mod cli;
pub mod config;
pub mod engine;
pub mod exec;
pub mod model;
pub mod protocol;
pub mod reuse;
pub mod rng;
pub mod stats;
pub mod trace;
pub mod verify;
pub mod view;
