//! Logical clocks on the simulated cores, graded against the true
//! happens-before relation the runtime records (program order plus every
//! message's send and receive): Lamport's clock condition, vector clocks'
//! exact characterisation, the HLC properties, on every run, over drifting
//! physical clocks; and each monitor catches its broken clock.

use cohsim::apps::clocks::happens::{ALL_PAIRS, SAMPLED_PAIRS};
use cohsim::apps::clocks::logical::LogicalAlgo;
use cohsim::apps::clocks::logical_run::{LogicalReport, LogicalRun};
use cohsim::config::SystemConfig;
use cohsim::exec::clock::ClockSpec;
use cohsim::model::network::Topology;
use cohsim::protocol::Protocol;

const CORRECT: [LogicalAlgo; 3] = [LogicalAlgo::Lamport, LogicalAlgo::Vector, LogicalAlgo::Hlc];

fn setup(algo: LogicalAlgo, cores: usize, events: u32, seed: u64) -> LogicalRun {
    let cfg = SystemConfig { cores, seed, ..SystemConfig::default() };
    let mut r = LogicalRun::new(cfg, algo, events);
    // Offsets within ±2,000 cycles, drifts within ±100 ppm, reads jittered by
    // up to 3 cycles.
    r.clocks = ClockSpec::spread(cores, 2_000, 100.0, 3, seed).unwrap();
    r
}

fn run(r: &LogicalRun) -> LogicalReport {
    r.run().expect("the hardware runs clean")
}

#[test]
fn events_and_edges_are_counted_from_the_workload() {
    // Each process makes exactly `events` local-or-send events; every message
    // taken is one more event. Edges: program order links a process's events
    // one after another (events - processes), and every receive adds one.
    let r = run(&setup(LogicalAlgo::Lamport, 4, 50, 1));
    let received: usize = r.messages.iter().map(|m| m.received.len()).sum();
    assert_eq!(r.events.len(), 4 * 50 + received);
    assert_eq!(r.edges, r.events.len() - 4 + received);
    assert!(received > 0 && r.messages.len() >= received);
    // A Lamport stamp is one word, a vector one per process, an HLC two.
    assert!(r.events.iter().all(|e| e.stamp.len() == 1));
    let v = run(&setup(LogicalAlgo::Vector, 4, 20, 1));
    assert!(v.events.iter().all(|e| e.stamp.len() == 4));
}

fn green_over_seeds(seeds: std::ops::Range<u64>) {
    for algo in CORRECT {
        for protocol in [Protocol::Mesi, Protocol::Moesi] {
            for topology in [Topology::Crossbar, Topology::Mesh] {
                for seed in seeds.clone() {
                    let mut r = setup(algo, 4, 30, seed);
                    r.cfg.protocol = protocol;
                    r.cfg.network.topology = topology;
                    r.jitter = Some(8);
                    let rep = run(&r);
                    let what = format!("{algo:?} {protocol:?} {topology:?} seed {seed} (replay: this seed)");
                    assert!(rep.violations.is_empty(), "{what}: {:?}", &rep.violations[..1]);
                    assert!(rep.edges > 0, "{what}");
                }
            }
        }
    }
}

#[test]
fn every_monitor_is_green_for_the_correct_clocks() {
    green_over_seeds(1..4);
}

/// The long run (`cargo test --release --test logical_clocks -- --ignored`).
#[test]
#[ignore]
fn every_monitor_is_green_over_a_thousand_seeds_by_hand() {
    green_over_seeds(1..1001);
}

#[test]
fn each_broken_clock_is_caught_by_its_monitor() {
    for (algo, monitor) in [
        (LogicalAlgo::BrokenLamport, "clock condition"),
        (LogicalAlgo::BrokenVector, "vector characterisation"),
        (LogicalAlgo::BrokenHlc, "hlc causality"),
    ] {
        for seed in 1..4 {
            let r = run(&setup(algo, 4, 40, seed));
            assert!(
                r.violations.iter().any(|v| v.monitor == monitor),
                "{algo:?} seed {seed}: {:?}",
                r.violations.first()
            );
        }
    }
}

#[test]
fn vector_clocks_are_checked_on_every_pair_of_a_small_run_and_sampled_beyond() {
    // 3 processes x 10 events plus receives: all ordered pairs, n(n-1).
    let r = run(&setup(LogicalAlgo::Vector, 3, 10, 2));
    let n = r.events.len() as u64;
    assert!(n as usize <= ALL_PAIRS);
    assert_eq!(r.pairs_checked, n * (n - 1));
    // Past ALL_PAIRS events: a sample of at most SAMPLED_PAIRS (fewer only
    // by the draws that pick one event twice).
    let mut big = setup(LogicalAlgo::Vector, 8, 400, 2);
    big.period = 200;
    let r = run(&big);
    assert!(r.events.len() > ALL_PAIRS);
    assert!(r.pairs_checked <= SAMPLED_PAIRS as u64 && r.pairs_checked > SAMPLED_PAIRS as u64 * 99 / 100);
    assert!(r.violations.is_empty());
}

#[test]
fn hlc_stays_within_the_skew_of_physical_time() {
    // Offsets within ±2,000 and drifts of ±100 ppm over a run of some
    // 50,000 cycles put two clocks at most 4,000 + 2 * 5 cycles apart, plus 3
    // of read jitter: epsilon cannot exceed that, and the monitor held l - pt
    // within epsilon at every event. With perfect clocks a receive's l (an
    // older reading) never passes the receiver's pt, so l is always pt.
    let r = run(&setup(LogicalAlgo::Hlc, 4, 40, 5));
    let b = r.hlc.expect("hlc bounds");
    assert!(b.epsilon >= b.max_l_minus_pt && b.epsilon <= 4_000 + 10 + 3, "{b:?}");
    let mut perfect = setup(LogicalAlgo::Hlc, 4, 40, 5);
    perfect.clocks = vec![ClockSpec::default(); 4];
    let p = run(&perfect);
    let b = p.hlc.unwrap();
    assert_eq!((b.epsilon, b.max_l_minus_pt), (0, 0), "perfect clocks: l is always pt");
    assert!(p.violations.is_empty());
}

#[test]
fn the_same_seed_replays_exactly() {
    for algo in CORRECT {
        let r = setup(algo, 4, 30, 9);
        assert_eq!(run(&r).events_hash, run(&r).events_hash, "{algo:?}");
        assert_ne!(run(&r).events_hash, run(&setup(algo, 4, 30, 10)).events_hash, "{algo:?}: the seed matters");
    }
}
