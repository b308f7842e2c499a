//! What one mailbox message costs in simulated time and coherence traffic:
//! a one-way stream (the sender never waits for the receiver) and a ping-pong
//! (each message waits for the previous one's answer), between two cores, on
//! MESI and MOESI. Run: `cargo run --release --example mailbox_cost`.

use cohsim::config::SystemConfig;
use cohsim::engine::{RunOptions, Simulator};
use cohsim::exec::Programs;
use cohsim::exec::mailbox::{Layout, Mailboxes};
use cohsim::protocol::Protocol;

const MESSAGES: u64 = 2_000;

fn main() {
    println!("{:<8} {:<10} {:>16} {:>22}", "protocol", "pattern", "cycles/message", "coherence msgs/message");
    for protocol in [Protocol::Mesi, Protocol::Moesi] {
        for ping_pong in [false, true] {
            let cfg = SystemConfig { cores: 2, protocol, ..SystemConfig::default() };
            let layout = Layout::new(0x10_0000, 64, 2, 16, 1);
            let mut p = Programs::new(2, |ctx| async move {
                let mut boxes = Mailboxes::new(layout, ctx.id());
                let other = 1 - ctx.id();
                if ping_pong {
                    for i in 0..MESSAGES / 2 {
                        if ctx.id() == 0 {
                            boxes.send(&ctx, other, &i.to_le_bytes()).await;
                            boxes.recv(&ctx, other).await;
                        } else {
                            let got = boxes.recv(&ctx, other).await;
                            boxes.send(&ctx, other, &got).await;
                        }
                    }
                } else if ctx.id() == 0 {
                    for i in 0..MESSAGES {
                        boxes.send(&ctx, other, &i.to_le_bytes()).await;
                    }
                } else {
                    for _ in 0..MESSAGES {
                        boxes.recv(&ctx, other).await;
                    }
                }
            });
            let mut sim = Simulator::new(cfg, RunOptions::default());
            sim.run(&mut p).expect("the machine runs clean");
            let coherence: u64 = sim.stats.msg_count.iter().sum();
            println!(
                "{:<8} {:<10} {:>16.1} {:>22.2}",
                format!("{protocol:?}"),
                if ping_pong { "ping-pong" } else { "stream" },
                sim.stats.cycles as f64 / MESSAGES as f64,
                coherence as f64 / MESSAGES as f64
            );
        }
    }
}
