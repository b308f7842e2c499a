//! The validation ladder (Akita style): single-access latencies computed by hand
//! from the configuration, then micro-patterns, each checked against the
//! simulator. Every expected number below is derived in the comment above it from
//! the default latencies, not read off the simulator.
//!
//! Defaults: L1 hit 1 cycle; crossbar, 2 cycles per traversal; 16-byte links, so a
//! control message (8 B) is 1 flit and a 64-byte line's Data message (72 B) is
//! 5 flits whose tail arrives 4 cycles after its head; directory 10 cycles;
//! memory 100 cycles.

mod common;

use cohsim::config::SystemConfig;
use cohsim::model::MsgKind;
use cohsim::protocol::Protocol;
use common::{load, run_checked, store};

const HIT: u64 = 1;
const HOP: u64 = 2;
const DIR: u64 = 10;
const MEM: u64 = 100;
const DATA_TAIL: u64 = 4; // 5 flits: the tail arrives 4 cycles after the head

fn config(protocol: Protocol, cores: usize) -> SystemConfig {
    let cfg = SystemConfig { protocol, cores, ..SystemConfig::default() };
    assert_eq!(
        (
            cfg.l1.hit_latency,
            cfg.network.hop_latency,
            cfg.directory.latency,
            cfg.memory.latency,
            cfg.network.link_bytes,
            cfg.l1.line
        ),
        (HIT, HOP, DIR, MEM, 16, 64),
        "the ladder's hand computations assume the default latencies"
    );
    cfg
}

#[test]
fn rung1_l1_hit_takes_the_hit_latency() {
    // A cold miss, then a hit issued the cycle the miss completes: the run ends
    // exactly HIT cycles after the miss.
    let (a, _) = run_checked(config(Protocol::Mesi, 1), vec![vec![load(0, 0x40)]]);
    let (b, _) = run_checked(config(Protocol::Mesi, 1), vec![vec![load(0, 0x40), load(0, 0x48)]]);
    assert_eq!(b.stats.cycles - a.stats.cycles, HIT);
    assert_eq!(b.stats.cores[0].hits, 1);
}

#[test]
fn rung2_cold_miss_served_by_memory() {
    // Tag check (HIT), GetS to the directory (HOP, one flit), directory (DIR),
    // memory (MEM), Data back (HOP + DATA_TAIL).
    let expected = HIT + HOP + DIR + MEM + HOP + DATA_TAIL;
    assert_eq!(expected, 119);
    for p in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        let (sim, _) = run_checked(config(p, 1), vec![vec![load(0, 0x40)]]);
        assert_eq!(sim.stats.cycles, expected, "{p}");
        assert_eq!(sim.stats.cores[0].stall_cycles, expected, "{p}");
        assert_eq!(sim.stats.mem_reads, 1);
    }
}

#[test]
fn rung3_load_of_a_line_modified_elsewhere_takes_three_hops() {
    // Core 0 makes the line M long before core 1 loads it at cycle T. Core 1:
    // tag check (HIT), GetS (HOP), directory (DIR), Fwd-GetS to the owner (HOP),
    // the owner's L1 access (HIT), Data to the requester (HOP + DATA_TAIL). The
    // owner's copy to the directory (MESI) leaves after the requester's on the
    // same port and does not delay it.
    let t = 1000;
    let expected = HIT + HOP + DIR + HOP + HIT + HOP + DATA_TAIL;
    assert_eq!(expected, 22);
    for p in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        let (sim, fe) = run_checked(config(p, 2), vec![vec![store(0, 0x80, 7)], vec![load(t, 0x80)]]);
        assert_eq!(sim.stats.cores[1].stall_cycles, expected, "{p}");
        assert_eq!(sim.stats.cycles, t + expected, "{p}");
        assert_eq!(fe.results[1], vec![7], "{p}: the load sees the store");
        assert_eq!(sim.stats.messages(MsgKind::FwdGetS), 1);
    }
}

#[test]
fn rung4_store_to_a_line_shared_by_k_cores() {
    // k sharers load the line (MSI, so every copy is S: under MESI a lone
    // reader would hold E); at cycle T a writer that holds nothing stores.
    // Memory latency 0 isolates the invalidation fan-out. The writer: tag check
    // (HIT), GetM (HOP), directory (DIR) at T+13. The directory's out port sends
    // the Data first (5 flits, cycles T+13..T+17), then the k Invs one per cycle
    // from T+18; Inv i arrives at T+20+i, its Inv-Ack leaves at T+21+i and reaches
    // the writer at T+23+i. The last ack (i = k-1) completes the store at T+22+k.
    for k in [1usize, 3, 8, 20] {
        let t = 20_000;
        let mut cfg = config(Protocol::Msi, k + 1);
        cfg.memory.latency = 0;
        let mut steps: Vec<Vec<_>> = (0..k).map(|c| vec![load(1000 * c as u64, 0x100)]).collect();
        steps.push(vec![store(t, 0x100, 99)]);
        let (sim, _) = run_checked(cfg, steps);
        let writer = &sim.stats.cores[k];
        assert_eq!(writer.stall_cycles, 22 + k as u64, "k = {k}");
        assert_eq!(sim.stats.messages(MsgKind::Inv), k as u64);
        assert_eq!(sim.stats.messages(MsgKind::InvAck), k as u64);
        assert_eq!(sim.stats.invalidations, k as u64);
        assert_eq!(sim.stats.sharers_per_invalidation.get(&(k as u32)), Some(&1));
    }
}

#[test]
fn rung5_producer_consumer_moesi_saves_a_memory_write_per_round() {
    // Producer stores, consumer loads, N rounds, far apart so rounds do not overlap.
    // MESI: each consumer load finds the line M (or, from round 2, M again after
    // the producer's upgrade) and the owner's Fwd-GetS reply writes it to memory:
    // N memory writes. MOESI: the owner answers and keeps the line as O, and the
    // producer's next store upgrades O → M with an AckCount: no memory write.
    // Memory reads: MESI reads the line for the first GetM and for each of the N-1
    // upgrades from S; MOESI only for the first GetM. At the end MOESI still holds
    // the dirty line (O), MESI does not.
    let n = 10u64;
    let steps = || {
        // Gaps count from the previous access's completion; 10,000-cycle rounds
        // with the consumer 5,000 cycles behind keep the order whatever the
        // (few hundred cycles of) latency drift.
        let producer = (0..n).map(|i| store(if i == 0 { 0 } else { 10_000 }, 0x200, i + 1)).collect();
        let consumer = (0..n).map(|i| load(if i == 0 { 5_000 } else { 10_000 }, 0x200)).collect();
        vec![producer, consumer]
    };
    let (mesi, mesi_fe) = run_checked(config(Protocol::Mesi, 2), steps());
    let (moesi, moesi_fe) = run_checked(config(Protocol::Moesi, 2), steps());
    let expected_values: Vec<u64> = (1..=n).collect();
    assert_eq!(mesi_fe.results[1], expected_values);
    assert_eq!(moesi_fe.results[1], expected_values);
    assert_eq!(mesi.stats.mem_writes, n);
    assert_eq!(moesi.stats.mem_writes, 0);
    assert_eq!(mesi.stats.mem_writes - moesi.stats.mem_writes, n);
    assert_eq!(mesi.stats.mem_reads, n);
    assert_eq!(moesi.stats.mem_reads, 1);
    assert_eq!((mesi.stats.dirty_at_end, moesi.stats.dirty_at_end), (0, 1));
    assert_eq!(moesi.stats.messages(MsgKind::AckCount), n - 1);
    assert_eq!(mesi.stats.cores[0].upgrades, n - 1);
    assert_eq!(moesi.stats.cores[0].upgrades, n - 1);
}
