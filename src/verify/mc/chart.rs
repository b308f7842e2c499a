//! Counterexamples as message-sequence charts.
//!
//! The search stores canonical states, whose cache ids and values may be renamed
//! from one step to the next. `replay` walks the path again on fresh controllers in
//! the original names: at each step it tries the transitions of the current world
//! and takes one whose canonical successor is the next state of the path. The chart
//! therefore shows one consistent run, one line per step: who acted, on what, the
//! state before and after, and the messages sent.

use std::fmt;

use super::ViolationKind;
use super::encoding::Codec;
use super::state::{Action, Model, Outcome, World, describe_msg, word_name};
use super::store::StateStore;
use crate::model::{Note, Outbox};

/// One step of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartStep {
    /// `L1[1]` or `Dir`.
    pub actor: String,
    /// What happened to it: a core access, an eviction, or a message received.
    pub event: String,
    /// The actor's state for the line, before → after.
    pub change: String,
    /// Accesses performed, with the word read and written.
    pub performed: Vec<String>,
    pub sent: Vec<String>,
}

/// A counterexample: the steps, the violation they end in, the state at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chart {
    pub steps: Vec<ChartStep>,
    /// The violation, as the checker worded it for the replayed run.
    pub verdict: String,
    /// Every controller and message at the end of the run.
    pub final_state: String,
}

/// How a counterexample ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ending {
    /// The last state of the path violates.
    State,
    /// One more transition of this kind violates.
    Transition(ViolationKind),
}

/// Replay the stored path `path` (state indices from the initial state).
/// `None` when no transition of the replayed run leads to the next stored
/// state: symmetry reduction merged states that a controller treats
/// differently (it is not symmetric in cache ids or values).
pub(crate) fn replay(m: &Model, store: &StateStore, path: &[u32], ending: Ending) -> Option<Chart> {
    let mut codec = Codec::new(m);
    let mut w = World::new(m);
    let mut trial = World::new(m);
    let mut key = Vec::new();
    let mut actions = Vec::new();
    let mut out = Outbox::default();
    let mut chart = Chart::default();
    for &target in path.iter().skip(1) {
        let target = store.get(target);
        w.actions(m, &mut actions);
        let mut taken = None;
        for &a in &actions {
            trial.restore_all(&w);
            let before = snapshot(m, &trial, a);
            if let Ok(Outcome::Changed) = trial.apply(m, a, &mut out) {
                codec.canonical(&trial, &mut key);
                if key == target {
                    taken = Some(describe(m, &w, &trial, a, &before, &out, true));
                    break;
                }
            }
        }
        // Every stored state was reached from its parent's representative, so a
        // renaming of that transition exists here unless the controllers are not
        // symmetric, as the reduction assumes.
        chart.steps.push(taken?);
        std::mem::swap(&mut w, &mut trial);
    }
    match ending {
        Ending::State => {
            if let Err(f) = w.check_invariants(m) {
                chart.verdict = f.detail;
            }
        }
        Ending::Transition(kind) => {
            w.actions(m, &mut actions);
            for &a in &actions {
                trial.restore_all(&w);
                let before = snapshot(m, &trial, a);
                if let Err(f) = trial.apply(m, a, &mut out)
                    && f.kind == kind
                {
                    let mut step = describe(m, &w, &trial, a, &before, &out, false);
                    if kind == ViolationKind::Protocol {
                        // The controller stopped half-way: its state means nothing.
                        step.change = format!("{} → (no row)", before.1);
                    }
                    chart.steps.push(step);
                    chart.verdict = f.detail;
                    break;
                }
            }
        }
    }
    chart.final_state = w.describe(m);
    Some(chart)
}

/// The actor and its state for the line an action concerns.
fn snapshot(m: &Model, w: &World, a: Action) -> (String, String) {
    match a {
        Action::Access { core, line, .. } | Action::Evict { core, line } => {
            (format!("L1[{core}]"), l1_state(w, core as usize, line as usize))
        }
        Action::Deliver { index } => {
            let msg = &w.net[index as usize];
            let line = msg.line as usize;
            if (msg.dst as usize) < m.caches {
                (format!("L1[{}]", msg.dst), l1_state(w, msg.dst as usize, line))
            } else {
                ("Dir".to_string(), dir_state(w, line))
            }
        }
    }
}

fn l1_state(w: &World, core: usize, line: usize) -> String {
    let (state, _, _) = World::line_view(&w.l1s[core], line);
    state.name().to_string()
}

fn dir_state(w: &World, line: usize) -> String {
    let e = w.dir.entry(line as u64);
    let mut s = e.state.name().to_string();
    if let Some(o) = e.owner {
        s += &format!(" owner L1[{o}]");
    }
    if !e.sharers.is_empty() {
        s += &format!(" sharers {:?}", e.sharers);
    }
    if e.broadcast {
        s += " broadcast";
    }
    if e.pending > 0 {
        s += &format!(" acks due {}", e.pending);
    }
    s
}

fn describe(
    m: &Model,
    before_world: &World,
    after: &World,
    a: Action,
    before: &(String, String),
    out: &Outbox,
    ok: bool,
) -> ChartStep {
    let (actor, from) = before;
    let (event, line) = match a {
        Action::Access { line, op, .. } => (format!("{op:?} line {line}"), line as usize),
        Action::Evict { line, .. } => (format!("evict line {line}"), line as usize),
        Action::Deliver { index } => {
            let msg = &before_world.net[index as usize];
            (format!("gets {}", describe_msg(m, msg)), msg.line as usize)
        }
    };
    let to = if actor == "Dir" {
        dir_state(after, line)
    } else {
        let core: usize = actor[3..actor.len() - 1].parse().expect("an L1 name");
        l1_state(after, core, line)
    };
    let performed = out
        .notes
        .iter()
        .filter_map(|n| match n {
            Note::Performed { op, loaded, stored, windowed, .. } => Some(format!(
                "{op:?} read {}{}{}",
                word_name(*loaded),
                stored.map_or(String::new(), |v| format!(", wrote {}", word_name(v))),
                if *windowed { " (windowed)" } else { "" }
            )),
            _ => None,
        })
        .collect();
    // A step that went through appended its messages after the ones already in
    // flight (one fewer when it consumed a delivered one); a failed step left them
    // in `out`.
    let sent = if ok {
        // A deferred delivery left its message in flight.
        let kept = before_world.net.len() - usize::from(a.is_delivery() && !after.deferred());
        after.net[kept..].iter().map(|msg| describe_msg(m, msg)).collect()
    } else {
        out.msgs.iter().map(|msg| describe_msg(m, msg)).collect()
    };
    ChartStep { actor: actor.clone(), event, change: format!("{from} → {to}"), performed, sent }
}

impl fmt::Display for Chart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let events: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                if s.performed.is_empty() {
                    s.event.clone()
                } else {
                    format!("{} ({})", s.event, s.performed.join("; "))
                }
            })
            .collect();
        let width = |col: &dyn Fn(usize) -> usize, head: &str| {
            (0..self.steps.len()).map(col).max().unwrap_or(0).max(head.chars().count())
        };
        let we = width(&|i| events[i].chars().count(), "event");
        let wc = width(&|i| self.steps[i].change.chars().count(), "state before → after");
        writeln!(f, "counterexample, {} steps (a shortest one):", self.steps.len())?;
        writeln!(f, "  {:>4}  {:<6} {:<we$}  {:<wc$}  sends", "step", "actor", "event", "state before → after")?;
        for (i, s) in self.steps.iter().enumerate() {
            let sent = if s.sent.is_empty() { "-".to_string() } else { s.sent.join(", ") };
            writeln!(f, "  {:>4}  {:<6} {:<we$}  {:<wc$}  {}", i + 1, s.actor, events[i], s.change, sent)?;
        }
        if !self.verdict.is_empty() {
            writeln!(f, "  => {}", self.verdict)?;
        }
        writeln!(f, "  state at the end:")?;
        write!(f, "{}", self.final_state)
    }
}
