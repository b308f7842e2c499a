//! Grading a gossip run against the truth.
//!
//! **Quiet.** Convergence is promised only once faults stop: the run is
//! graded for it when the last fault (a crash, the end of a pause, a
//! recovery span or a partition) lies at least `settle` cycles before the
//! end. Processes graded are the *live* ones: not crashed for good.
//!
//! Membership (`gossip`):
//! - `convergence`: every live process's view is exactly the live set.
//! - `heartbeat bound`: no process holds a heartbeat of a live member above
//!   the member's own (only the owner raises it; a merge may only copy).
//! - measured: `false_removals` (a member removed from a view while it was
//!   not down; pauses count, as for the detectors), `converged_at` (the
//!   latest view change of a live process).
//!
//! Counters (`crdt`), with `made[r]` the operations process `r` has made so
//! far (its `op` notes; they survive its restarts):
//! - `bounded by truth`: at every change, each replica's entries for `r`
//!   (G, and P + N) are at most `made[r]` at that cycle.
//! - `monotonic reads`: the G-counter's value at a process never goes down
//!   within an incarnation (a restarted process reads again from its saved
//!   own entries and what gossip brings it).
//! - `convergence`: at the end every live process holds the same G- and
//!   PN-counter; each live owner's entry counts all its operations; each
//!   crashed owner's entry `e_c ≤ made[c]` (the prefix of its operations
//!   that reached a live process before it crashed, the same everywhere).
//!   So the G value is `Σ_live ops[r] + Σ_crashed e_c`.

use serde_json::{Map, Value, json};

use super::actor::GossipState;
use crate::apps::agree::detect::grade::down;
use crate::apps::agree::notes_of;
use crate::exec::actor::Noted;
use crate::exec::fault::{Fault, Plan};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// The cycle the last fault of `plan` ends.
pub fn quiet(plan: &Plan) -> Cycle {
    plan.faults
        .iter()
        .map(|f| match *f {
            Fault::Crash { at, .. } => at,
            Fault::Restart { at, cycles, .. } | Fault::Pause { at, cycles, .. } => at.saturating_add(cycles),
            Fault::Partition { at, cycles, .. } => at.saturating_add(cycles),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn finding(monitor: &'static str, cycle: Cycle, cores: Vec<usize>, what: String) -> Finding {
    Finding { monitor, cycle, cores, what }
}

/// The live processes: not crashed for good, with a final state.
pub fn live<'a>(plan: &Plan, finals: &'a [Option<GossipState>]) -> Vec<(usize, &'a GossipState)> {
    finals
        .iter()
        .enumerate()
        .filter(|(c, _)| plan.crash_stop(*c).is_none())
        .filter_map(|(c, s)| Some((c, s.as_ref()?)))
        .collect()
}

/// The membership monitors and figures.
pub fn membership(
    plan: &Plan,
    notes: &[Noted],
    finals: &[Option<GossipState>],
    end: Cycle,
    graded: bool,
) -> (Vec<Finding>, Map<String, Value>) {
    let n = finals.len();
    let live = live(plan, finals);
    let truth: u64 = (0..n).filter(|&c| plan.crash_stop(c).is_none()).fold(0, |v, c| v | 1 << c);
    let mut found = Vec::new();
    for &(p, s) in &live {
        if graded && s.table.view() != truth {
            found.push(finding(
                "convergence",
                end,
                vec![p],
                format!("process {p} ends with view {:#b}, the live set is {truth:#b}", s.table.view()),
            ));
        }
        for &(r, owner) in &live {
            let (mine, theirs) = (owner.table.members[r].hb, s.table.members[r].hb);
            if r != p && theirs.0 == mine.0 && theirs.1 > mine.1 {
                found.push(finding(
                    "heartbeat bound",
                    end,
                    vec![p, r],
                    format!("process {p} holds heartbeat {theirs:?} of {r}, whose own is {mine:?}"),
                ));
            }
        }
    }
    let mut views = vec![u64::MAX; n];
    let (mut removals, mut last_change) = (0u64, 0);
    for v in notes_of(notes, "view") {
        let view = v.note.words[1];
        let gone = views[v.core] & !view;
        removals += (0..n).filter(|&q| gone & (1 << q) != 0 && !down(plan, q, v.cycle)).count() as u64;
        views[v.core] = view;
        if plan.crash_stop(v.core).is_none() {
            last_change = last_change.max(v.cycle);
        }
    }
    let mut f = Map::new();
    f.insert("convergence_graded".into(), json!(graded));
    f.insert("converged_at".into(), json!(live.iter().all(|(_, s)| s.table.view() == truth).then_some(last_change)));
    f.insert(
        "final_views".into(),
        json!(live.iter().map(|(p, s)| json!({"process": p, "view": s.table.view()})).collect::<Vec<_>>()),
    );
    f.insert("false_removals".into(), json!(removals));
    (found, f)
}

/// The counter monitors and figures; `ops[r]` the operations `r` was given.
pub fn counters(
    plan: &Plan,
    notes: &[Noted],
    finals: &[Option<GossipState>],
    ops: &[u32],
    end: Cycle,
    graded: bool,
) -> (Vec<Finding>, Map<String, Value>) {
    let n = finals.len();
    let mut made = vec![0u64; n];
    let mut found = Vec::new();
    let mut read: Vec<Option<(u64, u64)>> = vec![None; n];
    let mut last_change = 0;
    // Notes are in handler order (by cycle): `made` is the truth so far.
    for x in notes {
        match x.note.kind {
            "op" => made[x.core] = made[x.core].max(x.note.words[0]),
            "counters" => {
                let w = &x.note.words;
                let (inc, g, p, m) = (w[0], &w[1..1 + n], &w[1 + n..1 + 2 * n], &w[1 + 2 * n..1 + 3 * n]);
                for r in 0..n {
                    if g[r] > made[r] || p[r] + m[r] > made[r] {
                        found.push(finding(
                            "bounded by truth",
                            x.cycle,
                            vec![x.core, r],
                            format!(
                                "process {} counts {} (+{} −{}) operations of {r}, which has made {}",
                                x.core, g[r], p[r], m[r], made[r]
                            ),
                        ));
                    }
                }
                let value: u64 = g.iter().sum();
                if let Some((i, v)) = read[x.core]
                    && i == inc
                    && value < v
                {
                    found.push(finding(
                        "monotonic reads",
                        x.cycle,
                        vec![x.core],
                        format!("process {} read the G-counter at {v}, then at {value}", x.core),
                    ));
                }
                read[x.core] = Some((inc, value));
                if plan.crash_stop(x.core).is_none() {
                    last_change = last_change.max(x.cycle);
                }
            }
            _ => {}
        }
    }
    let live = live(plan, finals);
    let first = live.first().map(|(_, s)| (s.g.clone(), s.pn.clone()));
    let agreed = live.iter().all(|(_, s)| Some((s.g.clone(), s.pn.clone())) == first);
    if graded {
        if !agreed {
            found.push(finding(
                "convergence",
                end,
                live.iter().map(|(p, _)| *p).collect(),
                "the live processes end with different counters".to_string(),
            ));
        }
        for &(p, s) in &live {
            for &(r, _) in &live {
                if s.g.0[r] != u64::from(ops[r]) {
                    found.push(finding(
                        "convergence",
                        end,
                        vec![p, r],
                        format!("process {p} counts {} operations of live {r}, which made {}", s.g.0[r], ops[r]),
                    ));
                }
            }
        }
    }
    let mut f = Map::new();
    f.insert("convergence_graded".into(), json!(graded));
    f.insert("converged_at".into(), json!(agreed.then_some(last_change)));
    f.insert("operations_made".into(), json!(made));
    if let Some((g, pn)) = first {
        f.insert("g_value".into(), json!(g.value()));
        f.insert("pn_value".into(), json!(pn.value()));
        f.insert("g_entries".into(), json!(g.0));
    }
    (found, f)
}
