//! Criterion benchmarks of the hot paths: the L1 hit, the directory's GetS and
//! GetM at 1, 64 and 1024 sharers, the event queue, the sharer set against
//! `bitvec`, and a memory operation that hits, from a program on a core against
//! a trace record (whole simulations of 10,000 hitting loads; divide by it). Run: `cargo bench --bench hot_paths`; CI runs them once as tests
//! (`cargo bench -- --test`) so they cannot rot.

use std::hint::black_box;

use bitvec::prelude::*;
use cohsim::engine::queue::EventQueue;
use cohsim::model::cache::{CacheGeometry, ReplacementPolicy};
use cohsim::model::directory::{DirEntry, DirSpec, Directory};
use cohsim::model::l1::{L1Controller, L1Spec};
use cohsim::model::{Access, MemOp, Msg, MsgKind, Outbox, SharerSet};
use cohsim::protocol::Protocol;
use cohsim::protocol::dir_table::DirState;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn l1_hit(c: &mut Criterion) {
    let spec = L1Spec {
        core: 0,
        protocol: Protocol::Mesi,
        geometry: CacheGeometry { size: 32 << 10, ways: 8, line: 64 },
        policy: ReplacementPolicy::Lru,
        silent_evict: false,
        imprecise_dir: false,
        wb_entries: 8,
        first_dir: 1,
        dir_slices: 1,
        mutation: None,
    };
    let mut l1 = L1Controller::new(spec, 1);
    // Fill 64 lines through the protocol path and grant them M by hand-delivering data.
    let mut out = Outbox::default();
    for line in 0..64u64 {
        l1.access(Access { addr: line * 64, op: MemOp::Store(1) }, &mut out).unwrap();
        let mut data = Msg::control(MsgKind::Data, line, 1, 0);
        data.data = Some(smallvec::smallvec![0; 8]);
        l1.handle(&data, &mut out).unwrap();
        out.clear();
    }
    let mut g = c.benchmark_group("l1_hit");
    let mut i = 0u64;
    g.bench_function("load", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(l1.try_hit(Access { addr: i * 64 + 8, op: MemOp::Load }))
        })
    });
    g.bench_function("store", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(l1.try_hit(Access { addr: i * 64 + 16, op: MemOp::Store(i) }))
        })
    });
    g.finish();
}

fn directory(c: &mut Criterion) {
    let mut g = c.benchmark_group("directory");
    for sharers in [1usize, 64, 1024] {
        let cores = 1025;
        let mut dir = Directory::new(DirSpec {
            protocol: Protocol::Mesi,
            slice: 0,
            node: cores as u16,
            words: 8,
            cores,
            mutation: None,
            organisation: Default::default(),
            slices: 1,
        });
        dir.entries.insert(7, DirEntry { state: DirState::S, sharers: (0..sharers).collect(), ..DirEntry::INVALID });
        let requester = 1024u16;
        let gets = Msg::control(MsgKind::GetS, 7, requester, cores as u16);
        let getm = Msg::control(MsgKind::GetM, 7, requester, cores as u16);
        let mut out = Outbox::default();
        g.bench_with_input(BenchmarkId::new("GetS", sharers), &sharers, |b, _| {
            b.iter_batched_ref(
                || dir.clone(),
                |d| {
                    out.clear();
                    d.handle(&gets, &mut out).unwrap();
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("GetM", sharers), &sharers, |b, _| {
            b.iter_batched_ref(
                || dir.clone(),
                |d| {
                    out.clear();
                    d.handle(&getm, &mut out).unwrap();
                    assert_eq!(out.msgs.len(), sharers + 1);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn event_queue(c: &mut Criterion) {
    c.bench_function("event_queue/push_pop_1k", |b| {
        let mut q = EventQueue::new();
        let mut x = 1u64;
        b.iter(|| {
            for seq in 0..1000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                q.push(x % 4096, seq, seq as u32);
            }
            while let Some(e) = q.pop() {
                black_box(e);
            }
        })
    });
}

fn sharer_sets(c: &mut Criterion) {
    let mut g = c.benchmark_group("sharers");
    for cores in [64usize, 1024] {
        let members: Vec<usize> = (0..cores).step_by(3).collect();
        g.bench_with_input(BenchmarkId::new("SharerSet/insert+iter+len", cores), &cores, |b, _| {
            b.iter(|| {
                let mut s = SharerSet::new();
                for &m in &members {
                    s.insert(m);
                }
                black_box(s.iter().sum::<usize>() + s.len())
            })
        });
        g.bench_with_input(BenchmarkId::new("bitvec/insert+iter+len", cores), &cores, |b, _| {
            b.iter(|| {
                let mut s: BitVec<u64, Lsb0> = bitvec![u64, Lsb0; 0; cores];
                for &m in &members {
                    s.set(m, true);
                }
                black_box(s.iter_ones().sum::<usize>() + s.count_ones())
            })
        });
    }
    g.finish();
}

/// 10,000 loads of one line by one core (one miss, then hits), from a program
/// and from a trace; the time per load is the host cost of a hitting operation
/// on each path (the program's goes through the executor and `Frontend::next`,
/// the trace's through the plain fast path).
fn program_against_trace(c: &mut Criterion) {
    use cohsim::config::SystemConfig;
    use cohsim::engine::{RunOptions, Simulator};
    use cohsim::exec::Programs;
    use cohsim::trace::replay::TraceFrontend;
    use cohsim::trace::{CoreStream, Record, TraceOp};
    const LOADS: u64 = 10_000;
    let cfg = SystemConfig { cores: 1, ..SystemConfig::default() };
    let mut g = c.benchmark_group("hitting_load_x10000");
    g.bench_function("program", |b| {
        b.iter(|| {
            let mut p = Programs::new(1, |ctx| async move {
                for i in 0..LOADS {
                    black_box(ctx.load(0x40 + 8 * (i % 8)).await);
                }
            });
            let mut sim = Simulator::new(cfg.clone(), RunOptions::default());
            sim.run(&mut p).unwrap();
            black_box(sim.stats.cycles)
        })
    });
    g.bench_function("trace", |b| {
        b.iter(|| {
            let records = (0..LOADS).map(|i| Record::access(TraceOp::Read, 0x40 + 8 * (i % 8), 8, 0)).collect();
            let mut fe = TraceFrontend::new(vec![CoreStream::from_records(0, records)]);
            let mut sim = Simulator::new(cfg.clone(), RunOptions::default());
            sim.run(&mut fe).unwrap();
            black_box(sim.stats.cycles)
        })
    });
    g.finish();
}

/// One mailbox message between two cores, both ways: 1,000 ping-pong round
/// trips (2,000 messages) through rings in coherent memory; divide by 2,000.
/// `cargo run --release --example mailbox_cost` prints the simulated cycles
/// and coherence messages per message.
fn mailbox_message(c: &mut Criterion) {
    use cohsim::config::SystemConfig;
    use cohsim::engine::{RunOptions, Simulator};
    use cohsim::exec::Programs;
    use cohsim::exec::mailbox::{Layout, Mailboxes};
    const ROUNDS: u64 = 1_000;
    let cfg = SystemConfig { cores: 2, ..SystemConfig::default() };
    let layout = Layout::new(0x10_0000, 64, 2, 16, 1);
    c.bench_function("mailbox_ping_pong_x1000", |b| {
        b.iter(|| {
            let mut p = Programs::new(2, |ctx| async move {
                let mut boxes = Mailboxes::new(layout, ctx.id());
                let other = 1 - ctx.id();
                for i in 0..ROUNDS {
                    if ctx.id() == 0 {
                        boxes.send(&ctx, other, &i.to_le_bytes()).await;
                        black_box(boxes.recv(&ctx, other).await);
                    } else {
                        let got = boxes.recv(&ctx, other).await;
                        boxes.send(&ctx, other, &got).await;
                    }
                }
            });
            let mut sim = Simulator::new(cfg.clone(), RunOptions::default());
            sim.run(&mut p).unwrap();
            black_box(sim.stats.cycles)
        })
    });
}

criterion_group!(benches, l1_hit, directory, event_queue, sharer_sets, program_against_trace, mailbox_message);
criterion_main!(benches);
