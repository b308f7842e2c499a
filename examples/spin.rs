//! A program loading one line 1,000,000 times (host-cost profiling).
use cohsim::config::SystemConfig;
use cohsim::engine::{RunOptions, Simulator};
use cohsim::exec::Programs;

fn main() {
    let cfg = SystemConfig { cores: 1, ..SystemConfig::default() };
    let mut p = Programs::new(1, |ctx| async move {
        for i in 0..1_000_000u64 {
            std::hint::black_box(ctx.load(0x40 + 8 * (i % 8)).await);
        }
    });
    let mut sim = Simulator::new(cfg, RunOptions::default());
    sim.run(&mut p).unwrap();
    println!("{}", sim.stats.cycles);
}
