//! Raft and the key-value store on it (apps `raft` and `kv`).

use cohsim::apps::agree::raft::{KV, RAFT};
use cohsim::apps::agree::{self, App, Report, Spec};
use cohsim::config::SystemConfig;
use cohsim::exec::fault::{Fault, Plan};

fn spec(cores: usize, seed: u64, ops: u32, variant: &'static str, faults: &[&str]) -> Spec {
    Spec {
        cfg: SystemConfig { cores, seed, ..SystemConfig::default() },
        faults: Plan { faults: faults.iter().map(|f| Fault::parse(f, cores).unwrap()).collect() },
        jitter: None,
        ops,
        variant,
    }
}

fn run(app: &dyn App, s: &Spec) -> Report {
    agree::run(app, s).expect("the hardware runs clean")
}

#[test]
fn debug_print() {
    for app in [&RAFT as &dyn App, &KV] {
        let r = run(app, &spec(5, 1, 20, "correct", &[]));
        println!("{}", r.table(true));
        println!("{}", r.to_json()["software"]);
    }
}
