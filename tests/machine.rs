//! Whole-machine properties: determinism, the checker catching corruption, one
//! core against an independent LRU model, the fast path against the tables, a
//! 1024-core run, and the random tester catching deliberate protocol bugs.

mod common;

use std::collections::VecDeque;

use cohsim::config::{ByteSize, SystemConfig};
use cohsim::engine::{RunOptions, SimError, Simulator, Step};
use cohsim::model::l1::L1Controller;
use cohsim::model::{Access, MemOp, Mutation};
use cohsim::protocol::Protocol;
use cohsim::protocol::l1_table::L1State;
use cohsim::verify::stress::{StressOptions, programs, run_programs};
use common::{Script, TestRng, load, observed, run_checked, store};

#[test]
fn same_seed_same_statistics() {
    for protocol in [Protocol::Mesi, Protocol::Moesi] {
        let opts = StressOptions { protocol, ..StressOptions::default() };
        for seed in [3, 11, 25] {
            let p = programs(&opts, seed);
            let a = run_programs(&opts, seed, &p).unwrap();
            let b = run_programs(&opts, seed, &p).unwrap();
            assert_eq!(a.stats, b.stats, "{protocol} seed {seed}");
            assert!(a.stats.total_messages() > 0);
        }
        // A different seed gives a different run (the seed is really used).
        let a = run_programs(&opts, 1, &programs(&opts, 1)).unwrap();
        let b = run_programs(&opts, 2, &programs(&opts, 2)).unwrap();
        assert_ne!(a.stats, b.stats);
    }
}

fn two_sharers(protocol: Protocol) -> Simulator {
    let cfg = SystemConfig { protocol, cores: 2, ..SystemConfig::default() };
    let (sim, _) = run_checked(cfg, vec![vec![store(0, 0x40, 5), load(2000, 0x40)], vec![load(1000, 0x40)]]);
    sim
}

#[test]
fn checker_catches_a_corrupted_state() {
    let mut sim = two_sharers(Protocol::Mesi);
    let line = 0x40 / 64;
    assert_eq!(sim.l1s[0].state_of(line), L1State::S);
    assert_eq!(sim.l1s[1].state_of(line), L1State::S);
    sim.check_all().unwrap();
    assert!(sim.l1s[1].corrupt_state(line, L1State::M));
    match sim.check_all() {
        Err(SimError::Invariant { what, report, .. }) => {
            assert!(what.contains("SWMR"), "{what}");
            assert!(report.contains("L1[1]: M") && report.contains("L1[0]: S"), "{report}");
        }
        other => panic!("expected an SWMR violation, got {other:?}"),
    }
}

#[test]
fn checker_catches_a_corrupted_word_at_rest_and_in_a_later_load() {
    let mut sim = two_sharers(Protocol::Moesi);
    assert!(sim.l1s[1].corrupt_word(0x40, 0xBAD));
    let e = sim.check_all().unwrap_err().to_string();
    assert!(e.contains("data value") && e.contains("0xbad"), "{e}");

    // Corrupt the owner's copy, then let another core read it through the protocol.
    let mut sim = observed(
        SystemConfig { protocol: Protocol::Mesi, cores: 2, ..SystemConfig::default() },
        RunOptions::default(),
        true,
        false,
    );
    sim.run(&mut Script::new(vec![vec![store(0, 0x80, 1)], vec![]])).unwrap();
    assert!(sim.l1s[0].corrupt_word(0x80, 2));
    let e = sim.run(&mut Script::new(vec![vec![], vec![load(0, 0x80)]])).unwrap_err();
    match e {
        SimError::Invariant { what, .. } => assert!(what.contains("data value"), "{what}"),
        other => panic!("expected a data-value violation, got {other}"),
    }
}

/// An independent, deliberately simple model: per set, a recency-ordered list of
/// (line, dirty, writable). With one core, MESI and MOESI grant a read miss
/// exclusive (writable) data; MSI grants a read-only copy, so a later store is an
/// upgrade: neither a hit nor a miss.
struct LruModel {
    sets: Vec<VecDeque<(u64, bool, bool)>>,
    ways: usize,
    reads_get_exclusive: bool,
    hits: u64,
    misses: u64,
    upgrades: u64,
    writebacks: u64,
}

impl LruModel {
    fn access(&mut self, line: u64, write: bool) {
        let n = self.sets.len() as u64;
        let set = &mut self.sets[(line % n) as usize];
        if let Some(pos) = set.iter().position(|(l, _, _)| *l == line) {
            let (l, dirty, writable) = set.remove(pos).unwrap();
            if write && !writable {
                self.upgrades += 1;
            } else {
                self.hits += 1;
            }
            set.push_back((l, dirty || write, writable || write));
            return;
        }
        self.misses += 1;
        if set.len() == self.ways {
            let (_, dirty, _) = set.pop_front().unwrap();
            self.writebacks += dirty as u64;
        }
        set.push_back((line, write, write || self.reads_get_exclusive));
    }
}

#[test]
fn one_core_matches_an_independent_lru_cache() {
    for (size, ways, line, footprint) in
        [(4096u64, 2u32, 32u32, 300u64), (1024, 4, 64, 40), (512, 1, 16, 64), (2048, 8, 32, 100)]
    {
        for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
            let mut cfg = SystemConfig { protocol, cores: 1, ..SystemConfig::default() };
            cfg.l1.size = ByteSize(size);
            cfg.l1.ways = ways;
            cfg.l1.line = line;
            let sets = (size / (ways as u64 * line as u64)) as usize;
            let mut model = LruModel {
                sets: vec![VecDeque::new(); sets],
                ways: ways as usize,
                reads_get_exclusive: protocol != Protocol::Msi,
                hits: 0,
                misses: 0,
                upgrades: 0,
                writebacks: 0,
            };
            let mut rng = TestRng(size ^ footprint ^ (protocol as u64 + 1));
            let mut steps = Vec::new();
            for i in 0..5000 {
                // Skewed: half the accesses go to a hot eighth of the footprint.
                let l =
                    if rng.next().is_multiple_of(2) { rng.next() % (footprint / 8) } else { rng.next() % footprint };
                let addr = l * line as u64 + 8 * (rng.next() % (line as u64 / 8));
                let write = rng.next().is_multiple_of(3);
                model.access(l, write);
                steps.push(if write { store(rng.next() % 3, addr, i) } else { load(rng.next() % 3, addr) });
            }
            let (sim, _) = run_checked(cfg, vec![steps]);
            let c = &sim.stats.cores[0];
            let label = format!("{protocol} {size}B {ways}-way {line}B");
            assert_eq!(c.hits, model.hits, "hits, {label}");
            assert_eq!(c.misses, model.misses, "misses, {label}");
            assert_eq!(sim.stats.writebacks, model.writebacks, "write-backs, {label}");
            assert_eq!(c.upgrades, model.upgrades, "upgrades, {label}");
        }
    }
}

#[test]
fn the_fast_path_agrees_with_the_tables() {
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        // States the protocol has (O only in MOESI, E not in MSI).
        let states = L1State::ALL.into_iter().filter(|&s| {
            cohsim::protocol::l1_table::L1Event::ALL
                .iter()
                .any(|&e| cohsim::protocol::l1_table::row(protocol, s, e).is_some())
        });
        for state in states {
            assert_eq!(
                L1Controller::table_says_hit(protocol, state, MemOp::Load),
                state.can_read(),
                "{protocol} {state:?} load"
            );
            assert_eq!(
                L1Controller::table_says_hit(protocol, state, MemOp::Store(1)),
                state.can_write(),
                "{protocol} {state:?} store"
            );
        }
    }
}

#[test]
fn a_1024_core_machine_runs() {
    let opts = StressOptions { protocol: Protocol::Moesi, cores: 1024, ops_per_core: 6, ..StressOptions::default() };
    let sim = run_programs(&opts, 7, &programs(&opts, 7)).unwrap();
    assert_eq!(sim.stats.totals().loads + sim.stats.totals().stores + sim.stats.totals().atomics, 6 * 1024);
    assert!(sim.stats.invalidations > 0);

    // Every core reads one line, then core 0 writes it: one GetM invalidates the
    // other 1023 copies and collects 1023 acks.
    let cfg = SystemConfig { protocol: Protocol::Mesi, cores: 1024, ..SystemConfig::default() };
    let mut steps: Vec<Vec<Step>> = (0..1024).map(|c| vec![load(c, 0x40)]).collect();
    steps[0].push(store(100_000, 0x40, 1));
    let (sim, _) = run_checked(cfg, steps);
    assert_eq!(sim.stats.sharers_per_invalidation.get(&1023), Some(&1), "{:?}", sim.stats.sharers_per_invalidation);
    assert_eq!(sim.stats.messages(cohsim::model::MsgKind::InvAck), 1023);
}

#[test]
fn the_random_tester_catches_every_mutation() {
    for m in Mutation::ALL {
        // The directory organisations' own mutations need their organisation.
        let organisation = match m.organisation() {
            Some("sparse") => "sparse:2:1",
            Some(_) => "limited:1:b",
            None => "full",
        };
        let opts = StressOptions {
            protocol: Protocol::Mesi,
            mutation: Some(m),
            ops_per_core: 100,
            organisation: organisation.parse().unwrap(),
            ..StressOptions::default()
        };
        let caught = (0..200).find(|&seed| run_programs(&opts, seed, &programs(&opts, seed)).is_err());
        assert!(caught.is_some(), "{m:?} survived 200 seeds");
    }
}

#[test]
fn atomics_are_atomic() {
    // Four cores each add 1 to one word 50 times: the total must be exact.
    let cfg = SystemConfig { cores: 4, ..SystemConfig::default() };
    let fadd = |gap| Step::access(gap, Access { addr: 0x300, op: MemOp::FetchAdd(1) });
    let steps = (0..4).map(|c| (0..50).map(|i| fadd((i * 7 + c) % 5)).collect()).collect();
    let (mut sim, fe) = run_checked(cfg, steps);
    let mut seen: Vec<u64> = fe.results.iter().flatten().copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..200).collect::<Vec<_>>(), "every old value is returned exactly once");
    sim.run(&mut Script::new(vec![vec![load(0, 0x300)], vec![], vec![], vec![]])).unwrap();
    sim.check_all().unwrap();
}

#[test]
fn one_core_miss_classes_are_dineros() {
    // Dinero IV's definitions, computed independently: compulsory = first reference
    // to the line; capacity = not compulsory and a fully associative LRU cache of
    // the same number of lines misses too; conflict = the rest.
    let (size, ways, line) = (1024u64, 2u32, 32u32);
    let capacity = (size / line as u64) as usize;
    let mut cfg = SystemConfig { protocol: Protocol::Mesi, cores: 1, ..SystemConfig::default() };
    cfg.l1.size = ByteSize(size);
    cfg.l1.ways = ways;
    cfg.l1.line = line;
    let mut rng = TestRng(99);
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    for i in 0..20_000u64 {
        let l = if rng.next().is_multiple_of(4) { rng.next() % 200 } else { rng.next() % 40 };
        let addr = l * line as u64 + 8 * (rng.next() % 4);
        lines.push(l);
        steps.push(if rng.next().is_multiple_of(4) { store(1, addr, i) } else { load(1, addr) });
    }
    let mut sim = observed(cfg, RunOptions { jitter: None, ..Default::default() }, true, true);
    sim.run(&mut Script::new(vec![steps])).unwrap();
    let c = &sim.stats.cores[0];

    // The reference: a set-associative LRU for hit/miss, a fully associative LRU
    // (most recent at the back) for capacity, a seen-set for compulsory.
    let sets = (size / (ways as u64 * line as u64)) as usize;
    let mut sa: Vec<VecDeque<u64>> = vec![VecDeque::new(); sets];
    let mut fa: VecDeque<u64> = VecDeque::new();
    let mut seen = std::collections::HashSet::new();
    let (mut compulsory, mut capacity_misses, mut conflict) = (0, 0, 0);
    for &l in &lines {
        let set = &mut sa[(l % sets as u64) as usize];
        let sa_hit = match set.iter().position(|&x| x == l) {
            Some(p) => {
                set.remove(p);
                true
            }
            None => {
                if set.len() == ways as usize {
                    set.pop_front();
                }
                false
            }
        };
        set.push_back(l);
        let fa_hit = match fa.iter().position(|&x| x == l) {
            Some(p) => {
                fa.remove(p);
                true
            }
            None => {
                if fa.len() == capacity {
                    fa.pop_front();
                }
                false
            }
        };
        fa.push_back(l);
        if !sa_hit {
            if seen.insert(l) {
                compulsory += 1;
            } else if !fa_hit {
                capacity_misses += 1;
            } else {
                conflict += 1;
            }
        }
    }
    let mc = &c.miss_classes;
    assert_eq!((mc.compulsory, mc.capacity, mc.conflict), (compulsory, capacity_misses, conflict));
    assert_eq!((mc.true_sharing, mc.false_sharing), (0, 0));
    assert_eq!(c.misses, compulsory + capacity_misses + conflict);
    assert!(capacity_misses > 0 && conflict > 0, "the trace exercises every class");
}

#[test]
fn coherence_misses_split_into_true_and_false_sharing() {
    // Core 0 writes word 0 and core 1 writes word 1 of one line, alternately
    // (false sharing); then core 0 writes word 0 and core 1 reads word 0 (true
    // sharing). Every re-miss after the first touch is a coherence miss.
    let cfg = SystemConfig { protocol: Protocol::Mesi, cores: 2, ..SystemConfig::default() };
    let rounds = 6u64;
    let mut c0 = Vec::new();
    let mut c1 = Vec::new();
    for i in 0..rounds {
        c0.push(store(if i == 0 { 0 } else { 2000 }, 0x400, i));
        c1.push(store(if i == 0 { 1000 } else { 2000 }, 0x408, i));
    }
    for i in 0..rounds {
        c0.push(store(2000, 0x800, i));
        c1.push(load(2000, 0x800));
    }
    let mut sim = observed(cfg, RunOptions::default(), true, true);
    sim.run(&mut Script::new(vec![c0, c1])).unwrap();
    let t = sim.stats.totals().miss_classes;
    // False sharing: each core's first touch of line 0x400 is compulsory; every
    // later store misses because the other core wrote the *other* word.
    assert_eq!(t.false_sharing, 2 * (rounds - 1));
    // True sharing on 0x800: core 1's loads after the first find a copy taken by
    // core 0's store to the very word it reads; core 0's stores after the first
    // are upgrades (core 1 only read), not misses.
    assert_eq!(t.true_sharing, rounds - 1);
    assert_eq!(t.compulsory, 4);
}

#[test]
fn running_ahead_on_hits_changes_nothing() {
    // The engine lets a core take hits past other cores' clocks and past messages
    // that cannot reach it yet, as far as it can see other cores' next misses in
    // their traces. Taking every event strictly in order instead must give
    // bit-identical statistics, on every machine shape the engine's bounds depend
    // on: topologies, slices, latencies, silent eviction, small write-back buffers.
    use cohsim::model::network::Topology;
    use cohsim::trace::{Pattern, generate};
    let shapes: [(Topology, usize, u64, u64, bool, usize, usize); 5] = [
        // (topology, slices, hop latency, directory latency, silent evict, write-back entries, cores)
        (Topology::Crossbar, 1, 2, 10, false, 8, 4),
        (Topology::Ring, 2, 1, 3, true, 2, 4),
        (Topology::Mesh, 4, 3, 1, false, 1, 6),
        (Topology::Crossbar, 2, 1, 1, true, 1, 3),
        (Topology::Mesh, 1, 1, 20, false, 4, 8),
    ];
    for (i, &(topology, slices, hop, dir_latency, silent_evict, wb, cores)) in shapes.iter().enumerate() {
        for pattern in [Pattern::ProducerConsumer, Pattern::FalseSharing, Pattern::Migratory, Pattern::UniformRandom] {
            for protocol in [Protocol::Mesi, Protocol::Moesi] {
                let records = generate(pattern, cores, 2000, 5 + i as u64, 64);
                let steps = |exact: bool| {
                    let mut cfg = SystemConfig { protocol, cores, ..SystemConfig::default() };
                    cfg.l1.size = ByteSize(2048);
                    cfg.l1.ways = 2;
                    cfg.l1.silent_evict = silent_evict;
                    cfg.l1.writeback_entries = wb;
                    cfg.directory.slices = slices;
                    cfg.directory.latency = dir_latency;
                    cfg.network.topology = topology;
                    cfg.network.hop_latency = hop;
                    let mut sim = observed(cfg, RunOptions { exact, ..Default::default() }, true, true);
                    let streams = records
                        .iter()
                        .enumerate()
                        .map(|(c, r)| cohsim::trace::CoreStream::from_records(c, r.clone()))
                        .collect();
                    let mut fe = cohsim::trace::replay::TraceFrontend::new(streams);
                    sim.run(&mut fe).unwrap();
                    sim.stats
                };
                let (fast, exact) = (steps(false), steps(true));
                assert_eq!(fast, exact, "shape {i} {pattern:?} {protocol}");
                assert!(fast.totals().misses > 0);
            }
        }
    }
}

#[test]
fn running_ahead_makes_progress_with_zero_latencies() {
    // Zero hit, directory and local-link latencies leave no lookahead at all; a core
    // must still move (and match the strict order).
    use cohsim::model::network::Topology;
    use cohsim::trace::{Pattern, generate};
    for topology in [Topology::Ring, Topology::Mesh] {
        let records = generate(Pattern::Migratory, 4, 1500, 2, 64);
        let run = |exact: bool| {
            let mut cfg = SystemConfig { protocol: Protocol::Moesi, cores: 4, ..SystemConfig::default() };
            cfg.l1.hit_latency = 0;
            cfg.directory.latency = 0;
            cfg.network.local_latency = 0;
            cfg.network.topology = topology;
            cfg.validate().unwrap();
            let mut sim = observed(cfg, RunOptions { exact, ..Default::default() }, true, true);
            let streams = records
                .iter()
                .enumerate()
                .map(|(c, r)| cohsim::trace::CoreStream::from_records(c, r.clone()))
                .collect();
            sim.run(&mut cohsim::trace::replay::TraceFrontend::new(streams)).unwrap();
            sim.stats
        };
        assert_eq!(run(false), run(true), "{topology:?}");
    }
}

#[test]
fn reuse_worked_out_by_the_decoder_classifies_like_the_simulator() {
    // A trace replay works out first references and the fully associative LRU on
    // the decoder threads; the classifier must count the same classes as when it
    // does that itself.
    use cohsim::reuse::ReuseTracker;
    use cohsim::trace::{Pattern, generate};
    for pattern in [Pattern::Private, Pattern::FalseSharing, Pattern::UniformRandom, Pattern::Zipf] {
        let records = generate(pattern, 4, 3000, 9, 32);
        let run = |annotate: bool| {
            let mut cfg = SystemConfig { protocol: Protocol::Moesi, cores: 4, ..SystemConfig::default() };
            cfg.l1.size = ByteSize(1024);
            cfg.l1.ways = 2;
            cfg.l1.line = 32;
            let mut sim = observed(cfg, RunOptions::default(), false, true);
            let streams = records
                .iter()
                .enumerate()
                .map(|(c, r)| {
                    let mut r = r.clone();
                    if annotate {
                        cohsim::trace::annotate(&mut ReuseTracker::new(1024 / 32, 32), &mut r);
                    }
                    cohsim::trace::CoreStream::from_records(c, r)
                })
                .collect();
            sim.run(&mut cohsim::trace::replay::TraceFrontend::new(streams)).unwrap();
            sim.stats
        };
        let (by_decoder, by_classifier) = (run(true), run(false));
        assert_eq!(by_decoder, by_classifier, "{pattern:?}");
        let classes = by_decoder.totals().miss_classes;
        // Every class the comparison covers occurs: the false-sharing pattern's
        // few lines fit the cache, so its misses after the first are coherence
        // misses; the others overflow it.
        let exercised =
            if pattern == Pattern::FalseSharing { classes.false_sharing } else { classes.capacity + classes.conflict };
        assert!(classes.compulsory > 0 && exercised > 0, "{pattern:?} {classes:?}");
    }
}

#[test]
fn the_watchdog_reports_every_stuck_transaction() {
    // A sharer that never acknowledges its Inv leaves the writer waiting forever.
    let mut cfg = SystemConfig { protocol: Protocol::Msi, cores: 3, ..SystemConfig::default() };
    cfg.watchdog_cycles = 5_000;
    let mut sim = observed(cfg, RunOptions { mutation: Some(Mutation::SkipInvAck), ..Default::default() }, true, false);
    let steps = vec![vec![load(0, 0x40)], vec![load(500, 0x40)], vec![store(2000, 0x40, 1)]];
    match sim.run(&mut Script::new(steps)) {
        Err(SimError::Watchdog { what, report, .. }) => {
            assert!(what.contains("core 2"), "{what}");
            assert!(report.contains("core 2: waiting") && report.contains("Store(1)"), "{report}");
            assert!(report.contains("L1[2] line 0x1 in IM_A (waits for Inv-Acks)"), "{report}");
        }
        other => panic!("expected the watchdog, got {other:?}"),
    }
}
