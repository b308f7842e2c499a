//! Raft and a key-value store on it: apps `raft` and `kv` of the agreement
//! family. The algorithm is in `node` (servers: `election`, `replication`,
//! `requests`) and `client`; the replicated
//! state machine is pluggable (`machine::Machine`): `raft` replicates a
//! trivial log of numbers (`machine::Appender`), `kv` a store of three keys
//! with read, write and compare-and-set (`kv::Kv`), and `lockservice` a
//! lock with sessions, leases and fencing tokens (`lock::Lock`, its own
//! clients and a storage server around the same `Raft<M>`; see `lock`).
//!
//! - **Workload** (`--ops`): client operations in total, shared by the
//!   client cores (`run::servers` says which cores serve and which ask).
//! - **Every run is graded** (`monitor`): election safety, log matching,
//!   leader completeness and state-machine safety from the servers' notes
//!   and final logs; for `kv`, the clients' history is checked linearizable
//!   (`linearizable`). Outcome fields: `committed` (the highest index seen
//!   committed), `leaders` (each term's leader and when it was elected),
//!   `latency_per_op`, `servers`, and for `kv` `linearizable`.
//! - **Liveness** is promised while at most a minority of the servers
//!   crash for good; crashed clients do not count (`run::promises_liveness`).
//! - **Variants**: `correct`; `broken-double-vote` (a server grants two
//!   votes in a term: two leaders of one term); for `kv` also
//!   `broken-stale-read` (any server answers reads from its own copy,
//!   outside the log: a stale value after a partition). Each is caught by
//!   stateright (`check`) and by the run monitors (`tests/agree_raft.rs`).
//! - **Not done**: log compaction (snapshots), membership changes, and
//!   read leases; a log grows with the run (a few hundred entries at most
//!   here).

pub mod check;
pub mod client;
mod election;
pub mod kv;
pub mod linearizable;
pub mod lock;
pub mod lockcheck;
pub mod lockclient;
pub mod lockrun;
pub mod lockservice;
pub mod machine;
pub mod monitor;
pub mod node;
mod replication;
mod requests;
pub mod run;
pub mod storage;

use std::ops::RangeInclusive;

use super::{App, CheckSummary, Outcome, Spec};
use crate::apps::harness::Finished;
use crate::engine::SimError;
use crate::exec::fault::Plan;
use crate::model::network::Cycle;

/// `cohsim app raft`: Raft replicating a log of numbers.
pub struct RaftApp;
/// `cohsim app kv`: a linearizable key-value store on Raft.
pub struct KvApp;

pub static RAFT: RaftApp = RaftApp;
pub static KV: KvApp = KvApp;
/// `cohsim app lockservice`: a lock service on Raft with leases and fencing.
pub struct LockServiceApp;
pub static LOCKSERVICE: LockServiceApp = LockServiceApp;

/// The `raft` app's clients append number `1000 · client + seq`.
fn append_command(client: usize, seq: u32) -> u64 {
    1000 * client as u64 + u64::from(seq)
}

impl App for RaftApp {
    fn name(&self) -> &'static str {
        "raft"
    }
    fn about(&self) -> &'static str {
        "Raft: leader election by terms, log replication, commit by majority; clients append numbers"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-double-vote"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        20
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        run::horizon(spec)
    }
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool {
        run::promises_liveness(plan, cores)
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run::run::<machine::Appender>(spec, append_command, false)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check(variant))
    }
}

impl App for KvApp {
    fn name(&self) -> &'static str {
        "kv"
    }
    fn about(&self) -> &'static str {
        "a key-value store (read, write, compare-and-set) on Raft, its client history checked linearizable"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-double-vote", "broken-stale-read"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        2..=64
    }
    fn default_ops(&self) -> u32 {
        20
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        run::horizon(spec)
    }
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool {
        run::promises_liveness(plan, cores)
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        run::run::<kv::Kv>(spec, kv::command, true)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(check::check_kv(variant))
    }
}

impl App for LockServiceApp {
    fn name(&self) -> &'static str {
        "lockservice"
    }
    fn about(&self) -> &'static str {
        "a lock service on Raft: sessions kept by leases expired through the log, fencing tokens checked by storage"
    }
    fn variants(&self) -> &'static [&'static str] {
        &["correct", "broken-no-fencing"]
    }
    fn cores(&self) -> RangeInclusive<usize> {
        3..=64
    }
    fn default_ops(&self) -> u32 {
        10
    }
    fn horizon(&self, spec: &Spec) -> Cycle {
        lockrun::horizon(spec)
    }
    fn promises_liveness(&self, plan: &Plan, cores: usize) -> bool {
        lockrun::promises_liveness(plan, cores)
    }
    fn run(&self, spec: &Spec) -> Result<(Finished, Outcome), SimError> {
        lockrun::run(spec)
    }
    fn check(&self, variant: &'static str) -> Option<CheckSummary> {
        Some(lockcheck::check(variant))
    }
}
