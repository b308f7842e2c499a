//! A lock service run on the cores and its grading (app `lockservice`).
//!
//! **Roles.** Servers are cores `0..servers(cores)`: 5 from 10 cores, 3 from
//! 5, else 1 (no fault tolerance). Core `servers` is storage; the cores
//! after it are clients sharing `spec.ops` acquisitions (the first ones one
//! more).
//!
//! **Timers** (cycles): Raft's (`run::timing`: elections in
//! 20,000..40,000, heartbeats every 5,000); leases of `LEASE_TICKS` = 8
//! heartbeat ticks at the leader (more than 35,000 cycles after a session
//! was last heard) against 30,000 counted by a client; clients start at
//! 45,000..46,000, keep alive every 10,000 while holding, work 15,000
//! before writing, poll every 8,000 while `Busy`, retry after 12,000. A
//! durable write costs 200 cycles.
//!
//! **Monitors**, on every run, beyond Raft's four (`monitor::check`):
//! - `fencing`: storage accepted a write whose token is below one it
//!   accepted earlier (a stale holder wrote after a later one).
//! - `lease safety`: two clients held the lock at once by their own
//!   account: a hold of token `t` runs from the grant to the client's
//!   release or loss, but no later than its lease (the first send of its
//!   latest command answered alive + `client_lease`); holds of different
//!   tokens must not overlap.
//! - `token uniqueness`: one token granted to two clients.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::lock::{Lock, LockCmd};
use super::lockclient::Phase;
use super::lockservice::{LState, LockService, LockTiming};
use super::monitor;
use super::node::{Raft, RaftState, Variant};
use super::run::{SAVE_CYCLES, SLOT_LINES, timing};
use crate::apps::agree::{Outcome, Spec, notes_of};
use crate::apps::harness::{self, Finished, Setup};
use crate::engine::SimError;
use crate::exec::fault::Plan;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// Heartbeat ticks of a lease at the leader.
pub const LEASE_TICKS: u64 = 8;

pub fn servers(cores: usize) -> usize {
    match cores {
        10.. => 5,
        5..=9 => 3,
        _ => 1,
    }
}

/// Each client's share of `ops` acquisitions.
pub fn shares(cores: usize, ops: u32) -> Vec<u32> {
    let clients = cores.saturating_sub(servers(cores) + 1).max(1) as u32;
    (0..clients).map(|k| ops / clients + u32::from(k < ops % clients)).collect()
}

pub fn lock_timing() -> LockTiming {
    LockTiming {
        lease_ticks: LEASE_TICKS,
        client_lease: 30_000,
        keepalive: 10_000,
        work: 15_000,
        poll: 8_000,
        retry: 12_000,
        start: 45_000..46_000,
    }
}

pub fn service(cores: usize, ops: u32, variant: &str, timing_: LockTiming) -> LockService {
    LockService {
        raft: Raft::<Lock> {
            servers: servers(cores),
            ops: Vec::new(),
            command: |c, _| LockCmd::KeepAlive { client: c as u32, epoch: 0 },
            variant: Variant::Correct,
            timing: timing(),
        },
        ops: shares(cores, ops),
        fencing: variant != "broken-no-fencing",
        timing: timing_,
    }
}

/// Roughly a fault-free run: the first election, then every acquisition
/// one after the other (the lock serialises them) at about 25,000 cycles.
pub fn horizon(spec: &Spec) -> Cycle {
    46_000 + 25_000 * Cycle::from(spec.ops) + 20_000
}

/// A majority of the servers and the storage server must not crash for good.
pub fn promises_liveness(plan: &Plan, cores: usize) -> bool {
    let n = servers(cores);
    let crashed = (0..n).filter(|&c| plan.crash_stop(c).is_some()).count();
    crashed <= (n - 1) / 2 && plan.crash_stop(n).is_none()
}

pub fn run(spec: &Spec) -> Result<(Finished, Outcome), SimError> {
    let ls = service(spec.cfg.cores, spec.ops, spec.variant, lock_timing());
    let h = horizon(spec);
    let setup = Setup {
        timeline: spec.timeline,
        slots: 16,
        slot_lines: SLOT_LINES,
        stall: 200_000,
        faults: spec.faults.clone(),
        jitter: spec.jitter,
        deadline: Some(4 * h + 400_000),
        save_cycles: SAVE_CYCLES,
        ..Setup::default()
    };
    let done = harness::run(&spec.cfg, ls.clone(), &setup)?;
    let outcome = grade(&done, spec, &ls);
    Ok((done, outcome))
}

fn grade(done: &Finished, spec: &Spec, ls: &LockService) -> Outcome {
    let net = &done.net;
    let notes = net.notes.borrow();
    let end = done.sim.stats.cycles;
    let finals_box = net.finals.borrow();
    let finals: Vec<Option<&LState>> =
        finals_box.iter().map(|f| f.as_ref().and_then(|b| b.downcast_ref::<LState>())).collect();
    let raft_finals: Vec<Option<RaftState<Lock>>> = finals
        .iter()
        .map(|f| match f {
            Some(LState::Server(s)) => Some(RaftState::Server(s.raft.clone())),
            _ => None,
        })
        .collect();
    let refs: Vec<Option<&RaftState<Lock>>> = raft_finals.iter().map(Option::as_ref).collect();
    let mut violations = monitor::check::<Lock>(&notes, &refs, end);
    violations.extend(fencing(&notes));
    violations.extend(lease_safety(&notes, ls.timing.client_lease, end));

    // Latency per acquisition: its first Acquire to the grant.
    let mut begun = BTreeMap::new();
    for n in notes_of(&notes, "acquire") {
        begun.insert((n.core, n.note.words[0]), n.cycle);
    }
    let grants: Vec<_> = notes_of(&notes, "grant").collect();
    let latencies: Vec<Cycle> =
        grants.iter().filter_map(|n| begun.get(&(n.core, n.note.words[1])).map(|&at| n.cycle - at)).collect();
    let tokens: BTreeSet<u64> = grants.iter().map(|n| n.note.words[0]).collect();
    let rejected = notes_of(&notes, "reject").count();
    let expired = finals
        .iter()
        .filter_map(|f| match f {
            Some(LState::Server(s)) => Some(s.raft.machine.machine.expired),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let first_client = servers(spec.cfg.cores) + 1;
    let clients_done = finals.iter().enumerate().skip(first_client).all(|(c, f)| match f {
        Some(LState::Client(cl)) => cl.phase == Phase::Done,
        None => spec.faults.crash_stop(c).is_some(),
        _ => false,
    });
    let leaders = monitor::leaders(&notes);

    let mut fields = serde_json::Map::new();
    fields.insert("servers".into(), json!(servers(spec.cfg.cores)));
    fields.insert("grants".into(), json!(tokens.len()));
    fields.insert("rejected_writes".into(), json!(rejected));
    fields.insert("expired_sessions".into(), json!(expired));
    fields.insert("latency_per_acquisition".into(), json!(latencies));
    fields.insert(
        "leaders".into(),
        json!(leaders.iter().map(|&(t, c, at)| json!({"term": t, "leader": c, "at": at})).collect::<Vec<Value>>()),
    );
    let rows = vec![
        ("servers".to_string(), servers(spec.cfg.cores).to_string()),
        ("grants".to_string(), tokens.len().to_string()),
        ("rejected_writes".to_string(), rejected.to_string()),
        ("expired_sessions".to_string(), expired.to_string()),
    ];
    Outcome { violations, finished: clients_done, ops: latencies.len() as u64, latencies, fields, rows }
}

/// Storage's accepted tokens, in its order, never decrease.
pub fn fencing(notes: &[crate::exec::actor::Noted]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut high: Option<(u64, usize, Cycle)> = None;
    for n in notes_of(notes, "accept") {
        let (client, token) = (n.note.words[0] as usize, n.note.words[1]);
        match high {
            Some((t, c, at)) if token < t => found.push(Finding {
                monitor: "fencing",
                cycle: n.cycle,
                cores: vec![c, client],
                what: format!(
                    "storage accepted client {client}'s write under token {token} after client {c}'s under token {t} (cycle {at})"
                ),
            }),
            Some((t, ..)) if token == t => {}
            _ => high = Some((token, client, n.cycle)),
        }
    }
    found
}

/// The clients' own holds (grant to release or loss, capped by the lease)
/// of different tokens never overlap; one token goes to one client.
pub fn lease_safety(notes: &[crate::exec::actor::Noted], lease: Cycle, end: Cycle) -> Vec<Finding> {
    let mut sent: BTreeMap<(usize, u64), Cycle> = BTreeMap::new();
    // Per client: the open hold (token, from, lease until).
    let mut open: BTreeMap<usize, (u64, Cycle, Cycle)> = BTreeMap::new();
    let mut holds: Vec<(Cycle, Cycle, u64, usize)> = Vec::new();
    let until = |sent: &BTreeMap<(usize, u64), Cycle>, core: usize, seq: u64| {
        sent.get(&(core, seq)).map_or(0, |&at| at + lease)
    };
    for n in notes {
        let (core, w) = (n.core, &n.note.words);
        match n.note.kind {
            "send" => {
                sent.insert((core, w[0]), n.cycle);
            }
            "start" => {
                if let Some((t, from, to)) = open.remove(&core) {
                    holds.push((from, to, t, core));
                }
            }
            "grant" => {
                if let Some((t, from, to)) = open.remove(&core) {
                    holds.push((from, to, t, core));
                }
                open.insert(core, (w[0], n.cycle, until(&sent, core, w[2])));
            }
            "alive" => {
                if let Some(h) = open.get_mut(&core) {
                    h.2 = h.2.max(until(&sent, core, w[0]));
                }
            }
            "unhold" => {
                if let Some((t, from, to)) = open.remove(&core) {
                    holds.push((from, to.min(n.cycle), t, core));
                }
            }
            _ => {}
        }
    }
    holds.extend(open.into_iter().map(|(core, (t, from, to))| (from, to.min(end), t, core)));
    // A grant that came after its own lease ran out is no hold at all.
    holds.retain(|h| h.1 > h.0);
    holds.sort();
    let mut found = Vec::new();
    let mut owner: BTreeMap<u64, usize> = BTreeMap::new();
    for &(from, _, t, core) in &holds {
        if let Some(&other) = owner.get(&t)
            && other != core
        {
            found.push(Finding {
                monitor: "token uniqueness",
                cycle: from,
                cores: vec![other, core],
                what: format!("token {t} granted to clients {other} and {core}"),
            });
        }
        owner.insert(t, core);
    }
    for (i, a) in holds.iter().enumerate() {
        for b in &holds[i + 1..] {
            if b.0 >= a.1 {
                break;
            }
            if b.2 != a.2 {
                found.push(Finding {
                    monitor: "lease safety",
                    cycle: b.0,
                    cores: vec![a.3, b.3],
                    what: format!(
                        "client {} held token {} in {}..{} and client {} token {} from {}",
                        a.3, a.2, a.0, a.1, b.3, b.2, b.0
                    ),
                });
            }
        }
    }
    found
}
