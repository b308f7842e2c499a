//! Ordered broadcast on the simulated cores and in the model checker: FIFO,
//! causal (vector clocks, hold-back queue) and total order (a sequencer),
//! graded on their delivery logs; each broken variant caught.

use cohsim::apps::broadcast::check;
use cohsim::apps::broadcast::{BroadcastReport, BroadcastRun, Order};
use cohsim::config::SystemConfig;
use cohsim::exec::fault::{Fault, Plan};
use cohsim::model::network::Topology;
use cohsim::protocol::Protocol;

const CORRECT: [Order; 3] = [Order::Fifo, Order::Causal, Order::Total];

fn setup(order: Order, cores: usize, casts: u32, seed: u64, faults: &[&str]) -> BroadcastRun {
    let cfg = SystemConfig { cores, seed, ..SystemConfig::default() };
    let mut r = BroadcastRun::new(cfg, order, casts);
    r.faults = Plan { faults: faults.iter().map(|f| Fault::parse(f, cores).unwrap()).collect() };
    r
}

fn run(r: &BroadcastRun) -> BroadcastReport {
    r.run().expect("the hardware runs clean")
}

#[test]
fn message_counts_are_derived_by_hand() {
    // FIFO and causal: each broadcast is N - 1 sends: 4 cores x 5 casts x 3.
    // Total: N - 1 data plus N - 1 orders from the sequencer, except that the
    // sequencer's own data carries its number: per round of 4 broadcasts,
    // 3 x 3 + 3 x 3 + 3 = 21, so 5 x 21 = 105.
    for (order, want) in [(Order::Fifo, 60), (Order::Causal, 60), (Order::Total, 105)] {
        let r = run(&setup(order, 4, 5, 1, &[]));
        assert_eq!(r.messages.len(), want, "{order:?}");
        assert_eq!(BroadcastReport::expected_messages(order, 4, 5), want);
        assert!(r.finished && r.violations.is_empty(), "{order:?}: {:?}", r.violations);
        assert!(r.deliveries.iter().all(|d| d.len() == 20), "everyone delivers all 20");
    }
}

#[test]
fn monitors_green_with_reordering_delays_over_seeds_protocols_topologies() {
    green_over_seeds(1..4, true);
}

/// The long run (`cargo test --release --test broadcast -- --ignored`):
/// 1,000 seeds of each order, protocol and topology.
#[test]
#[ignore]
fn monitors_green_over_a_thousand_seeds_by_hand() {
    green_over_seeds(1..1001, false);
}

/// `held`: also require that the delays made some message wait (true of
/// the CI seeds; a seed whose delays reorder nothing is possible).
fn green_over_seeds(seeds: std::ops::Range<u64>, held: bool) {
    for order in CORRECT {
        for protocol in [Protocol::Mesi, Protocol::Moesi] {
            for topology in [Topology::Crossbar, Topology::Mesh] {
                for seed in seeds.clone() {
                    let mut r = setup(order, 4, 8, seed, &["delay:0.5+300"]);
                    r.cfg.protocol = protocol;
                    r.cfg.network.topology = topology;
                    r.jitter = Some(8);
                    let rep = run(&r);
                    let what = format!("{order:?} {protocol:?} {topology:?} seed {seed}");
                    assert!(rep.violations.is_empty(), "{what}: {:?}", rep.violations);
                    assert!(rep.finished, "{what}");
                    assert!(!held || rep.holds > 0, "{what}: the delays make some message wait");
                }
            }
        }
    }
}

#[test]
fn duplicates_are_discarded() {
    for order in CORRECT {
        let rep = run(&setup(order, 4, 8, 2, &["dup:0.3", "delay:0.3+200"]));
        assert!(rep.messages.iter().any(|m| m.copies > 1));
        assert!(rep.violations.is_empty() && rep.finished, "{order:?}: {:?}", rep.violations);
    }
}

#[test]
fn broken_variants_are_caught_in_timed_runs() {
    for (order, monitor) in [
        (Order::BrokenFifo, "fifo delivery"),
        (Order::BrokenCausal, "causal delivery"),
        (Order::BrokenTotal, "total order"),
    ] {
        let caught = (1..6).any(|seed| {
            let rep = run(&setup(order, 4, 8, seed, &["delay:0.5+300"]));
            rep.violations.iter().any(|v| v.monitor == monitor)
        });
        assert!(caught, "{order:?} not caught by {monitor}");
    }
}

#[test]
fn same_seed_same_hash() {
    let a = run(&setup(Order::Causal, 4, 6, 7, &["delay:0.5+300"]));
    let b = run(&setup(Order::Causal, 4, 6, 7, &["delay:0.5+300"]));
    assert_eq!(a.events_hash, b.events_hash);
    assert_eq!(a.deliveries, b.deliveries);
    let c = run(&setup(Order::Causal, 4, 6, 8, &["delay:0.5+300"]));
    assert_ne!(a.events_hash, c.events_hash);
}

#[test]
fn json_and_table() {
    let rep = run(&setup(Order::Total, 4, 3, 1, &[]));
    let j = rep.to_json();
    assert_eq!(j["app"], "broadcast");
    assert_eq!(j["order"], "total");
    assert_eq!(j["software"]["messages"], 63);
    assert_eq!(j["software"]["by_kind"]["order"], 27);
    assert_eq!(j["deliveries"].as_array().unwrap().len(), 4);
    assert!(rep.table().contains("software messages  63 (by hand: 63)"));
}

/// The untimed world: every interleaving on unordered channels. Three
/// processes with one broadcast each show causal and total order (a FIFO
/// violation needs two broadcasts from one sender: two processes with two
/// each). Three processes with two broadcasts each is out of reach: each
/// process's delivery log is part of its state, and the graph passes 20 GB.
#[test]
fn stateright_checks_every_interleaving_of_small_configurations() {
    // Regression pins: the checker's own counts of the correct orders (all
    // properties hold, so it explored the whole graph).
    for (order, processes, casts, states) in [
        (Order::Fifo, 3, 1, 1008),
        (Order::Causal, 3, 1, 690),
        (Order::Total, 3, 1, 3529),
        (Order::Fifo, 2, 2, 165),
        (Order::Causal, 2, 2, 165),
        (Order::Total, 2, 2, 446),
    ] {
        let r = check::check(order, processes, casts);
        let failing: Vec<&str> = r.properties.iter().filter(|p| !p.holds()).map(|p| p.name).collect();
        assert!(failing.is_empty(), "{order:?} {processes}x{casts}: {failing:?}");
        assert_eq!(r.unique_states, states, "{order:?} {processes}x{casts}");
    }
    // Each broken order is caught on the configuration that can show it.
    for (order, processes, casts, property) in [
        (Order::BrokenFifo, 2, 2, "fifo delivery"),
        (Order::BrokenCausal, 3, 1, "causal delivery"),
        (Order::BrokenTotal, 3, 1, "total order"),
    ] {
        let r = check::check(order, processes, casts);
        let failing: Vec<&str> = r.properties.iter().filter(|p| !p.holds()).map(|p| p.name).collect();
        assert!(failing.contains(&property), "{order:?}: {failing:?}");
    }
}

#[test]
fn full_rings_do_not_deadlock_the_cores() {
    // 4 cores x 40 broadcasts with half the messages delayed: bursts fill
    // 16-slot rings both ways between pairs of cores. A core that waited on a
    // full ring without taking its own messages would deadlock with the core
    // it waits for (this run stalled before the runtime kept an outbox).
    let r = run(&setup(Order::Fifo, 4, 40, 1, &["delay:0.5+300"]));
    assert!(r.finished, "stalled");
    assert!(r.violations.is_empty(), "{:?}", r.violations.first());
    assert_eq!(r.messages.len(), 40 * 4 * 3, "N - 1 sends per broadcast");
}

#[test]
fn a_cold_start_on_many_cores_is_not_taken_for_a_stall() {
    // 150 cores first poll 150 x 149 cold rings at once: the misses queue at
    // the directory for about 100,000 cycles with no handler running. The
    // stall window grows with cores squared, so the run completes.
    let r = run(&setup(Order::Fifo, 150, 1, 1, &[]));
    assert!(r.finished, "stalled");
    assert!(r.violations.is_empty(), "{:?}", r.violations.first());
    assert_eq!(r.messages.len(), 150 * 149, "N - 1 sends per broadcast");
}
