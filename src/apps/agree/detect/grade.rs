//! Grading a detector run against the truth of the fault plan.
//!
//! A process is **down** at cycle `t` when it crashed for good at or before
//! `t`, or is inside a crash-recovery span (`crash:C@T+D`). A suspicion of a
//! process that is not down is a **false suspicion**; a pause
//! (`pause:C@T+D`) does not make a process down: it looks dead and is not,
//! so a suspicion during it counts as a mistake, as the paper counts it (it
//! is also reported apart, `false_suspicions_during_pauses`).
//!
//! **Detection time**, per level: for each process that crashes for good at
//! `tc` and each process that does not (a live monitor), from `tc` to the
//! suspicion that stands at the end of the run (the monitor's last
//! `suspect` note for it; 0 when it was already suspected before the crash).
//!
//! **Completeness** (the run-level monitor): every live monitor suspects,
//! at the end, every process that crashed for good, at every level, once
//! the watch's own deadline has passed: the last fresh beat's arrival (or,
//! never heard from, the monitor's start) plus the level's timeout for the
//! window it holds, no earlier than the monitor's last return from a pause
//! or a restart, plus a period of slack. (Runs use perfect clocks, so a
//! reading is a cycle.) For phi the deadline is the detector's own: a
//! window that absorbed a long gap (a pause, a partition, beats taken in a
//! burst after a pause) stretches μ and σ, and φ = 8 may then take tens of
//! periods; a pair whose deadline lies past the run's end is not graded
//! and is counted (`completeness_ungraded`), never passed silently.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::heartbeat::{DetState, Detector};
use crate::apps::agree::notes_of;
use crate::exec::actor::Noted;
use crate::exec::fault::{Fault, Plan};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// Whether `core` is down at `t` (crashed for good, or in a recovery span).
pub fn down(plan: &Plan, core: usize, t: Cycle) -> bool {
    plan.faults.iter().any(|f| match *f {
        Fault::Crash { core: c, at } => c == core && t >= at,
        Fault::Restart { core: c, at, cycles } => c == core && t >= at && t < at.saturating_add(cycles),
        _ => false,
    })
}

fn paused(plan: &Plan, core: usize, t: Cycle) -> bool {
    plan.faults.iter().any(|f| match *f {
        Fault::Pause { core: c, at, cycles } => c == core && t >= at && t < at.saturating_add(cycles),
        _ => false,
    })
}

/// The last cycle (at or before `t`) at which `core` came back from a pause
/// or a restart; 0 if never.
fn back(plan: &Plan, core: usize, t: Cycle) -> Cycle {
    plan.faults
        .iter()
        .filter_map(|f| match *f {
            Fault::Pause { core: c, at, cycles } | Fault::Restart { core: c, at, cycles } if c == core => {
                Some(at.saturating_add(cycles))
            }
            _ => None,
        })
        .filter(|&b| b <= t)
        .max()
        .unwrap_or(0)
}

/// Per level: detection times, false suspicions, of which during pauses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Level {
    pub name: String,
    pub detections: Vec<Cycle>,
    pub false_suspicions: u64,
    pub during_pauses: u64,
    /// Crashed-and-unsuspected pairs whose watch deadline lies past the end.
    pub ungraded: u64,
}

impl Level {
    pub fn mean(&self) -> f64 {
        if self.detections.is_empty() {
            0.0
        } else {
            self.detections.iter().sum::<Cycle>() as f64 / self.detections.len() as f64
        }
    }

    pub fn max(&self) -> Cycle {
        self.detections.iter().copied().max().unwrap_or(0)
    }
}

/// Grades one run: the levels' figures and the completeness findings.
/// `finals[c]` is core `c`'s state at the end (`None`: crashed for good).
pub fn grade(
    actor: &Detector,
    plan: &Plan,
    notes: &[Noted],
    finals: &[Option<DetState>],
    end: Cycle,
) -> (Vec<Level>, Vec<Finding>) {
    let n = finals.len();
    let levels = actor.rule.levels();
    let mut out: Vec<Level> = (0..levels).map(|l| Level { name: actor.rule.name(l), ..Level::default() }).collect();
    // The last suspicion note of each (monitor, peer, level).
    let mut last: BTreeMap<(usize, usize, usize), Cycle> = BTreeMap::new();
    for s in notes_of(notes, "suspect") {
        let (q, l) = (s.note.words[0] as usize, s.note.words[1] as usize);
        last.insert((s.core, q, l), s.cycle);
        if !down(plan, q, s.cycle) {
            out[l].false_suspicions += 1;
            out[l].during_pauses += u64::from(paused(plan, q, s.cycle));
        }
    }
    let mut findings = Vec::new();
    for q in 0..n {
        let Some(tc) = plan.crash_stop(q) else { continue };
        for p in (0..n).filter(|&p| p != q && plan.crash_stop(p).is_none()) {
            let Some(state) = &finals[p] else { continue };
            if down(plan, p, end) || paused(plan, p, end) {
                continue;
            }
            for (l, level) in out.iter_mut().enumerate() {
                if state.suspects(q, l) {
                    let at = last.get(&(p, q, l)).copied().unwrap_or(end);
                    level.detections.push(at.saturating_sub(tc));
                    continue;
                }
                let w = &state.watches[q];
                let resumed = back(plan, p, end);
                let deadline = (w.last.unwrap_or(resumed) + actor.timeout(l, &w.window)).max(resumed) + actor.period;
                if deadline > end {
                    level.ungraded += 1;
                } else {
                    findings.push(Finding {
                        monitor: "completeness",
                        cycle: end,
                        cores: vec![p, q],
                        what: format!(
                            "process {q} crashed at cycle {tc} and process {p} did not suspect it at {} by cycle {end}",
                            level.name
                        ),
                    });
                }
            }
        }
    }
    (out, findings)
}

/// The levels as the report's JSON fields and table rows.
pub fn fields(levels: &[Level]) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut detection = Map::new();
    let mut mistakes = Map::new();
    let mut paused = Map::new();
    let mut ungraded = Map::new();
    let mut rows = Vec::new();
    for l in levels {
        detection.insert(l.name.clone(), json!({"mean": l.mean(), "max": l.max(), "count": l.detections.len()}));
        mistakes.insert(l.name.clone(), json!(l.false_suspicions));
        paused.insert(l.name.clone(), json!(l.during_pauses));
        ungraded.insert(l.name.clone(), json!(l.ungraded));
        rows.push((
            l.name.clone(),
            format!(
                "detection mean {:.0} max {} ({} pairs), false suspicions {} ({} during pauses)",
                l.mean(),
                l.max(),
                l.detections.len(),
                l.false_suspicions,
                l.during_pauses
            ),
        ));
    }
    let mut f = Map::new();
    f.insert("levels".into(), json!(levels.iter().map(|l| l.name.clone()).collect::<Vec<_>>()));
    f.insert("detection_cycles".into(), Value::Object(detection));
    f.insert("false_suspicions".into(), Value::Object(mistakes));
    f.insert("false_suspicions_during_pauses".into(), Value::Object(paused));
    f.insert("completeness_ungraded".into(), Value::Object(ungraded));
    (f, rows)
}
