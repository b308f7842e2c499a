//! A Raft run on the cores and its grading, shared by the `raft` and `kv`
//! apps: the roles of the cores, the timers, the run's setup, and the
//! outcome read off the notes and final states.
//!
//! **Roles.** Servers are cores `0..servers(cores)`: 5 from 8 cores, 3 from
//! 4, else all but one (2 cores: one server and one client, no fault
//! tolerance; 3 cores: two servers, which tolerate no crash either). The
//! other cores are clients and share `spec.ops` operations as evenly as
//! possible (the first ones take one more).
//!
//! **Timers** (cycles; a software message between cores costs some
//! hundreds): election timeouts drawn in 20,000..40,000, heartbeats every
//! 5,000, a client retries after 20,000 without an answer (`timing` says
//! why) and issues its first operation at 45,000..46,000 (after the first
//! election, usually).
//! A durable write (`Save`) costs 200 cycles. The run ends when every live
//! client has done its operations (servers never finish by themselves: they
//! count as finished, so they do not hold the run), or at its deadline.

use serde_json::{Value, json};

use super::linearizable;
use super::machine::Machine;
use super::monitor;
use super::node::{Raft, RaftState, Timing, Variant};
use crate::apps::agree::{Outcome, Spec, notes_of};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::fault::{Fault, Pick, Plan};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// Cycles of a durable write.
pub const SAVE_CYCLES: Cycle = 200;
/// Lines per ring slot: an AppendEntries of `MAX_BATCH` entries fits.
pub const SLOT_LINES: u64 = 2;

/// The servers of a machine of `cores` cores.
pub fn servers(cores: usize) -> usize {
    match cores {
        8.. => 5,
        4..=7 => 3,
        _ => cores.saturating_sub(1).max(1),
    }
}

/// Each client's share of `ops` operations.
pub fn shares(cores: usize, ops: u32) -> Vec<u32> {
    let clients = (cores - servers(cores)) as u32;
    (0..clients).map(|k| ops / clients + u32::from(k < ops % clients)).collect()
}

/// The timers. The client's `retry` is what a lost request, redirect or
/// reply costs, so it is set from the longest a live leader takes to answer,
/// not from the election: an operation takes about 2,000 cycles fault-free,
/// and an AppendEntries (or its ack) lost is sent again by the second beat
/// after it (`replication::heartbeat`), under 10,000 more. A retry that
/// fires early costs a duplicate request (the leader waits for the copy in
/// its log) and no harm. It was 60,000, 30 operations' worth: under
/// `drop:0.1` a client loses an attempt in one operation in five, so its
/// operations waited mostly on the timer (p90 latency 243,930 on campaign
/// seed 495, where 4 of 20 operations missed the deadline).
pub fn timing() -> Timing {
    Timing { election: 20_000..40_000, heartbeat: 5_000, retry: 20_000, start: 45_000..46_000 }
}

/// Roughly how long a fault-free run takes: the first election, then each
/// client's operations one after the other at about 4,000 cycles each.
pub fn horizon(spec: &Spec) -> Cycle {
    let most = shares(spec.cfg.cores, spec.ops).first().copied().unwrap_or(0);
    46_000 + 4_000 * Cycle::from(most) + 10_000
}

/// A run's chance of missing its deadline through message loss alone, per
/// client: a 10,000-seed campaign with two clients a seed expects 0.02
/// such runs even if every plan lost messages at its highest rate.
pub const LOSS_TAIL: f64 = 1e-6;

/// The run's deadline: `4 · horizon + 400,000` for the faults that end
/// within the horizon (crashes, restarts, pauses, partitions: then an
/// election or two, and the operations left must fit), plus what loss
/// costs, for loss never ends: `drop:P` lasts the whole run.
///
/// **The arithmetic.** An attempt at an operation sends at most 4 client
/// messages (the request, a redirect, the request again to the leader, the
/// reply; the leader's AppendEntries are resent by the heartbeat, not by
/// the client), so under loss `p` it fails with `f = 1 − (1 − p)⁴` (0.34 at
/// `p` = 0.1), and the client learns so only when its retry timer fires. A
/// client's failed attempts over its `k` operations are a negative
/// binomial; `failed_attempts` finds the count `t` exceeded with
/// probability at most `LOSS_TAIL` (hand: `k` = 10, `p` = 0.1 gives 26; the
/// mean is 5.2). Each failed attempt costs the retry period, and one more
/// for each server crashed for good (the next server tried may be dead:
/// the client learns that only by its retry timer too). Each `drop:F>T#K`
/// loses one message: one failed attempt more. Delays and duplicates cost
/// cycles, not attempts; the 400,000 above covers them.
///
/// Before this allowance the deadline assumed that loss ended with the
/// horizon: seed 495 (`drop:0.09`) lost 11 client attempts of 60,000 cycles
/// each and missed 784,000 with 4 of its 20 operations left.
pub fn deadline(spec: &Spec) -> Cycle {
    let n = servers(spec.cfg.cores);
    let k = shares(spec.cfg.cores, spec.ops).first().copied().unwrap_or(0);
    let kept: f64 = spec
        .faults
        .faults
        .iter()
        .map(|f| match f {
            Fault::Drop(Pick::Chance(p)) => 1.0 - p.clamp(0.0, 1.0),
            _ => 1.0,
        })
        .product();
    let nth = spec.faults.faults.iter().filter(|f| matches!(f, Fault::Drop(Pick::Nth { .. }))).count() as u64;
    let failed = failed_attempts(1.0 - kept.powi(4), k, LOSS_TAIL) + nth;
    let dead = (0..n).filter(|&c| spec.faults.crash_stop(c).is_some()).count() as u64;
    4 * horizon(spec) + 400_000 + failed * (1 + dead) * timing().retry
}

/// The least `t` such that a client with `k` operations, each attempt
/// failing with probability `f`, fails more than `t` attempts with
/// probability at most `tail`: `P(T = t) = C(k + t − 1, t) (1 − f)^k f^t`
/// summed until the rest is below `tail`. (Capped at a million; with
/// `f` = 1, every message lost, there is no bound and no promise.)
pub fn failed_attempts(f: f64, k: u32, tail: f64) -> u64 {
    if f <= 0.0 || k == 0 {
        return 0;
    }
    let mut pmf = (1.0 - f).powi(k as i32);
    let mut below = pmf;
    let mut t = 0u64;
    while 1.0 - below > tail && t < 1_000_000 {
        t += 1;
        pmf *= f * (f64::from(k) + t as f64 - 1.0) / t as f64;
        below += pmf;
    }
    t
}

/// Liveness is promised when at most a minority of the servers crash for
/// good (clients crashing do not matter: a crashed client holds nothing)
/// and not every message is lost. Under random loss the promise is "by
/// `deadline`" except with probability `LOSS_TAIL` per client: no finite
/// deadline is certain when any attempt may be lost.
pub fn promises_liveness(plan: &Plan, cores: usize) -> bool {
    let n = servers(cores);
    let crashed = (0..n).filter(|&c| plan.crash_stop(c).is_some()).count();
    let lost = plan.faults.iter().any(|f| matches!(f, Fault::Drop(Pick::Chance(p)) if *p >= 1.0));
    crashed <= (n - 1) / 2 && !lost
}

pub fn variant(name: &str) -> Variant {
    match name {
        "broken-double-vote" => Variant::DoubleVote,
        "broken-stale-read" => Variant::StaleRead,
        _ => Variant::Correct,
    }
}

/// Runs `spec` with machine `M`, clients issuing `command`; with
/// `linearizability`, the clients' history is checked as the key-value
/// store's.
pub fn run<M: Machine + 'static>(
    spec: &Spec,
    command: fn(usize, u32) -> M::Command,
    linearizability: bool,
) -> Result<(Finished, Outcome), SimError> {
    let cores = spec.cfg.cores;
    let raft = Raft::<M> {
        servers: servers(cores),
        ops: shares(cores, spec.ops),
        command,
        variant: variant(spec.variant),
        timing: timing(),
    };
    let setup = Setup {
        timeline: spec.timeline,
        slots: 16,
        slot_lines: SLOT_LINES,
        stall: 200_000,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(deadline(spec)),
        save_cycles: SAVE_CYCLES,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, raft, &setup)?;
    let outcome = grade::<M>(&done, spec, linearizability);
    Ok((done, outcome))
}

fn grade<M: Machine + 'static>(done: &Finished, spec: &Spec, linearizability: bool) -> Outcome {
    let net = &done.net;
    let notes = net.notes.borrow();
    let end = done.sim.stats.cycles;
    let finals_box = net.finals.borrow();
    let finals: Vec<Option<&RaftState<M>>> =
        finals_box.iter().map(|f| f.as_ref().and_then(|b| b.downcast_ref::<RaftState<M>>())).collect();
    let mut violations = monitor::check::<M>(&notes, &finals, end);

    // Latency per operation: invoke to return, per client and number.
    let mut invoked = std::collections::BTreeMap::new();
    for n in notes_of(&notes, "invoke") {
        invoked.insert((n.core, n.note.words[0]), n.cycle);
    }
    let latencies: Vec<Cycle> = notes_of(&notes, "return")
        .filter_map(|n| invoked.get(&(n.core, n.note.words[0])).map(|&at| n.cycle - at))
        .collect();

    let committed = notes_of(&notes, "commit").map(|n| n.note.words[0]).max().unwrap_or(0);
    let leaders = monitor::leaders(&notes);
    let live_clients_done = finals.iter().enumerate().skip(servers(spec.cfg.cores)).all(|(c, f)| match f {
        Some(RaftState::Client(cl)) => cl.finished(),
        // Crashed for good: holds nothing.
        None => spec.faults.crash_stop(c).is_some(),
        _ => false,
    });

    let mut fields = serde_json::Map::new();
    fields.insert("committed".into(), json!(committed));
    fields.insert("servers".into(), json!(servers(spec.cfg.cores)));
    fields.insert(
        "leaders".into(),
        json!(leaders.iter().map(|&(t, c, at)| json!({"term": t, "leader": c, "at": at})).collect::<Vec<Value>>()),
    );
    fields.insert("latency_per_op".into(), json!(latencies));
    let mut rows = vec![
        ("servers".to_string(), servers(spec.cfg.cores).to_string()),
        ("committed".to_string(), committed.to_string()),
        ("leaders".to_string(), leaders.iter().map(|(t, c, _)| format!("t{t}:{c}")).collect::<Vec<_>>().join(" ")),
    ];
    if linearizability {
        let history = linearizable::history(&notes);
        let verdict = linearizable::check(&history);
        fields.insert("linearizable".into(), json!(verdict.is_ok()));
        rows.push(("linearizable".to_string(), verdict.is_ok().to_string()));
        if let Err(v) = verdict {
            violations.push(Finding {
                monitor: "linearizability",
                cycle: v.op.returned.map_or(end, |r| r.0),
                cores: vec![v.op.client],
                what: format!(
                    "key {}: of {} operations no linearization places more than {}; client {}'s operation {} ({:?}, returned {:?}) cannot be placed",
                    v.key, v.ops, v.placed, v.op.client, v.op.seq, v.op.command, v.op.returned
                ),
            });
        }
    }
    Outcome { violations, finished: live_clients_done, ops: latencies.len() as u64, latencies, fields, rows }
}
