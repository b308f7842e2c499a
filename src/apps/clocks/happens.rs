//! The true happens-before relation of a run, and the monitors that grade
//! logical clocks against it. The truth is built from what the runtime saw,
//! never from the clocks: program order on each core (a process's events in
//! the order it made them) plus, for every message taken, its send → its
//! receive.
//!
//! Reachability: the events of one process in the causal past of an event f
//! form a prefix of that process's events (program order is a chain), so
//! `past(f)[j]`, the length of that prefix, says it all: e (process j's k-th
//! event) happens before f exactly when e ≠ f and k ≤ past(f)[j]. `past` is
//! computed once, in an order where every event comes after its causes (a
//! topological order of the two kinds of edge, not the cycles the events were
//! recorded at), as the entry-wise maximum over f's two predecessors.
//!
//! Monitors, each a finding per violated edge or pair:
//! - Lamport's clock condition, e → f implies L(e) < L(f): checked on every
//!   edge (program order and message), which covers every pair, since both
//!   → and < are transitive.
//! - Vector clocks characterise → exactly: V(e) < V(f) iff e → f, on every
//!   ordered pair when there are at most `ALL_PAIRS` events, on a seeded
//!   sample of pairs beyond.
//! - HLC: e → f implies (l,c)(e) < (l,c)(f) (on edges); l ≥ pt at every
//!   event; l − pt ≤ ε, the largest difference between two cores' clocks at
//!   any event's time plus read jitter; c ≤ N(ε + 1) (Kulkarni et al.'s
//!   Theorem 3, N processes; it assumes the physical clock ticks between a
//!   process's events, which read jitter and rounding can break here, so a
//!   finding of it alone says more about the model than the clock).
//! - Lamport's total order by (L, process id): no two events share a key.

use crate::exec::actor::{Stamped, SwMessage};
use crate::exec::clock::Clock;
use crate::exec::monitor::Finding;
use crate::rng::SplitMix64;

/// Events up to which every ordered pair is checked.
pub const ALL_PAIRS: usize = 3_000;
/// Pairs sampled beyond.
pub const SAMPLED_PAIRS: usize = 4_000_000;

/// A run's events with their true causal pasts.
pub struct Truth<'a> {
    pub events: &'a [Stamped],
    /// Per event: for each process, how many of its events happen before or
    /// are the event.
    pub past: Vec<Vec<u32>>,
    /// Per event, its predecessors: the previous event of its process and
    /// the send of the message it took.
    preds: Vec<(Option<usize>, Option<usize>)>,
}

impl<'a> Truth<'a> {
    /// Builds the truth of `events` (in any order) for `processes` processes.
    pub fn new(events: &'a [Stamped], processes: usize) -> Truth<'a> {
        // Each process's events in program order, and the event that sent
        // each message.
        let mut by_core: Vec<Vec<usize>> = vec![Vec::new(); processes];
        for (i, e) in events.iter().enumerate() {
            by_core[e.core].push(i);
        }
        for list in &mut by_core {
            list.sort_by_key(|&i| events[i].index);
        }
        let mut sender = std::collections::HashMap::new();
        for (i, e) in events.iter().enumerate() {
            for id in &e.sent {
                sender.insert(*id, i);
            }
        }
        let mut preds = vec![(None, None); events.len()];
        for list in &by_core {
            for (k, &i) in list.iter().enumerate() {
                let previous = k.checked_sub(1).map(|k| list[k]);
                preds[i] = (previous, events[i].received.and_then(|id| sender.get(&id).copied()));
            }
        }
        // Causes before effects (Kahn's order over the two kinds of edge;
        // the cycles events were recorded at need not respect it).
        let mut effects: Vec<Vec<usize>> = vec![Vec::new(); events.len()];
        let mut waiting = vec![0u8; events.len()];
        for (f, (a, b)) in preds.iter().enumerate() {
            for e in [a, b].into_iter().flatten() {
                effects[*e].push(f);
                waiting[f] += 1;
            }
        }
        let mut ready: std::collections::VecDeque<usize> = (0..events.len()).filter(|&i| waiting[i] == 0).collect();
        let mut past = vec![Vec::new(); events.len()];
        while let Some(i) = ready.pop_front() {
            let mut p = vec![0u32; processes];
            for q in [preds[i].0, preds[i].1].into_iter().flatten() {
                for (mine, theirs) in p.iter_mut().zip(&past[q]) {
                    *mine = (*mine).max(*theirs);
                }
            }
            p[events[i].core] = events[i].index;
            past[i] = p;
            for &f in &effects[i] {
                waiting[f] -= 1;
                if waiting[f] == 0 {
                    ready.push_back(f);
                }
            }
        }
        Truth { events, past, preds }
    }

    /// Whether event `e` happens before event `f`.
    pub fn before(&self, e: usize, f: usize) -> bool {
        let ev = &self.events[e];
        e != f && ev.index <= self.past[f][ev.core]
    }

    /// Every edge of the relation: (cause, effect).
    fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.preds.iter().enumerate().flat_map(|(f, (a, b))| [a, b].into_iter().flatten().map(move |e| (*e, f)))
    }
}

fn finding(monitor: &'static str, e: &Stamped, f: &Stamped, what: String) -> Finding {
    Finding { monitor, cycle: f.cycle, cores: vec![e.core, f.core], what }
}

fn name(e: &Stamped) -> String {
    format!("core {} event {} (cycle {}, stamp {:?})", e.core, e.index, e.cycle, e.stamp)
}

/// Lamport's clock condition on every edge.
pub fn clock_condition(truth: &Truth) -> Vec<Finding> {
    let ev = truth.events;
    truth
        .edges()
        .filter(|&(e, f)| ev[e].stamp[0] >= ev[f].stamp[0])
        .map(|(e, f)| {
            let what = format!("{} happens before {} but its clock is not smaller", name(&ev[e]), name(&ev[f]));
            finding("clock condition", &ev[e], &ev[f], what)
        })
        .collect()
}

/// Lamport's total order: events ordered by (L, process id). It extends
/// happens-before when the clock condition holds; here it is checked to be a
/// total order at all: no two events share (L, process).
pub fn total_order(truth: &Truth) -> Vec<Finding> {
    let ev = truth.events;
    let mut keys: Vec<(u64, usize, usize)> = ev.iter().enumerate().map(|(i, e)| (e.stamp[0], e.core, i)).collect();
    keys.sort_unstable();
    keys.windows(2)
        .filter(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        .map(|w| {
            let (e, f) = (&ev[w[0].2], &ev[w[1].2]);
            finding("total order", e, f, format!("{} and {} share (L, process)", name(e), name(f)))
        })
        .collect()
}

/// V(e) < V(f): every entry ≤ and the vectors differ.
fn vector_less(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a != b
}

/// Vector clocks characterise happens-before, on every ordered pair or a
/// sample; returns the findings and the pairs checked.
pub fn vector_characterisation(truth: &Truth, seed: u64) -> (Vec<Finding>, u64) {
    let ev = truth.events;
    let n = ev.len();
    let mut found = Vec::new();
    let check = |e: usize, f: usize, found: &mut Vec<Finding>| {
        let (clock, real) = (vector_less(&ev[e].stamp, &ev[f].stamp), truth.before(e, f));
        if clock != real && found.len() < 100 {
            let what = if real {
                format!("{} happens before {} but its vector is not smaller", name(&ev[e]), name(&ev[f]))
            } else {
                format!(
                    "{}'s vector is smaller than {}'s, but it does not happen before it",
                    name(&ev[e]),
                    name(&ev[f])
                )
            };
            found.push(finding("vector characterisation", &ev[e], &ev[f], what));
        }
    };
    let mut pairs = 0u64;
    if n <= ALL_PAIRS {
        for e in 0..n {
            for f in 0..n {
                if e != f {
                    check(e, f, &mut found);
                    pairs += 1;
                }
            }
        }
    } else {
        let mut rng = SplitMix64::new(seed ^ 0x7ec7_0c10c);
        for _ in 0..SAMPLED_PAIRS {
            let (e, f) = (rng.below(n as u64) as usize, rng.below(n as u64) as usize);
            if e != f {
                check(e, f, &mut found);
                pairs += 1;
            }
        }
    }
    (found, pairs)
}

/// What the HLC monitors measured besides their findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct HlcBounds {
    /// The largest difference between two cores' clocks at any event, plus
    /// read jitter: the ε of the theorems.
    pub epsilon: u64,
    pub max_l_minus_pt: u64,
    pub max_c: u64,
}

/// The HLC properties; `clocks` are the cores' physical clocks.
pub fn hlc(truth: &Truth, clocks: &[Clock]) -> (Vec<Finding>, HlcBounds) {
    let ev = truth.events;
    let mut found = Vec::new();
    for (e, f) in truth.edges() {
        let (a, b) = (&ev[e].stamp, &ev[f].stamp);
        if (a[0], a[1]) >= (b[0], b[1]) {
            let what = format!("{} happens before {} but its (l, c) is not smaller", name(&ev[e]), name(&ev[f]));
            found.push(finding("hlc causality", &ev[e], &ev[f], what));
        }
    }
    let jitter = clocks.iter().map(|c| c.spec().jitter).max().unwrap_or(0);
    let mut bounds = HlcBounds::default();
    for e in ev {
        let values: Vec<f64> = clocks.iter().map(|c| c.at(e.cycle)).collect();
        let spread = values.iter().cloned().fold(f64::MIN, f64::max) - values.iter().cloned().fold(f64::MAX, f64::min);
        bounds.epsilon = bounds.epsilon.max(spread.ceil() as u64 + jitter);
    }
    let n = clocks.len() as u64;
    for e in ev {
        let (l, c) = (e.stamp[0], e.stamp[1]);
        bounds.max_c = bounds.max_c.max(c);
        if l < e.physical {
            let what = format!("{}: l is behind the physical reading {}", name(e), e.physical);
            found.push(Finding { monitor: "hlc l >= pt", cycle: e.cycle, cores: vec![e.core], what });
            continue;
        }
        bounds.max_l_minus_pt = bounds.max_l_minus_pt.max(l - e.physical);
        if l - e.physical > bounds.epsilon {
            let what = format!("{}: l - pt = {} exceeds the skew {}", name(e), l - e.physical, bounds.epsilon);
            found.push(Finding { monitor: "hlc l - pt <= epsilon", cycle: e.cycle, cores: vec![e.core], what });
        }
        if c > n * (bounds.epsilon + 1) {
            let what = format!("{}: c = {c} exceeds N(epsilon + 1) = {}", name(e), n * (bounds.epsilon + 1));
            found.push(Finding { monitor: "hlc c bounded", cycle: e.cycle, cores: vec![e.core], what });
        }
    }
    (found, bounds)
}

/// Messages taken by a receive event that no recorded event sent (a
/// runtime bug, not a clock's): the truth would miss an edge.
pub fn unmatched(events: &[Stamped], messages: &[SwMessage]) -> usize {
    let sent: std::collections::BTreeSet<u32> = events.iter().flat_map(|e| e.sent.iter().copied()).collect();
    events.iter().filter_map(|e| e.received).filter(|id| !sent.contains(id) || *id as usize >= messages.len()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(core: usize, index: u32, cycle: u64, stamp: &[u64], sent: &[u32], received: Option<u32>) -> Stamped {
        Stamped { core, index, cycle, physical: cycle, stamp: stamp.to_vec(), sent: sent.to_vec(), received }
    }

    #[test]
    fn the_truth_follows_program_order_and_messages() {
        // p0: a (sends m0), b; p1: c (receives m0), d. By hand: a -> b,
        // a -> c -> d, a -> d; b and c, b and d are concurrent. The cycles
        // are recorded out of causal order (c before a): the truth follows
        // the edges, not the clock on the wall.
        let events = [
            ev(0, 1, 10, &[1, 0], &[0], None),
            ev(0, 2, 20, &[2, 0], &[], None),
            ev(1, 1, 5, &[1, 1], &[], Some(0)),
            ev(1, 2, 40, &[1, 2], &[], None),
        ];
        let t = Truth::new(&events, 2);
        let (a, b, c, d) = (0, 1, 2, 3);
        assert!(t.before(a, b) && t.before(a, c) && t.before(a, d) && t.before(c, d));
        assert!(!t.before(b, c) && !t.before(c, b) && !t.before(b, d) && !t.before(d, a));
        // These are true vector clocks: the characterisation holds on all 12 pairs.
        let (found, pairs) = vector_characterisation(&t, 1);
        assert_eq!((found.len(), pairs), (0, 12));
        // A wrong vector at d ([0, 2]: missing a) breaks it for (a, d).
        let mut bad = events.clone();
        bad[3].stamp = vec![0, 2];
        let t = Truth::new(&bad, 2);
        assert!(!vector_characterisation(&t, 1).0.is_empty());
    }

    #[test]
    fn the_hlc_monitors_can_fire() {
        // Two processes with perfect clocks (epsilon 0). a: l = 5 at pt 10
        // (behind physical time); b receives a's message with l = 30 at pt
        // 12: l - pt = 18 > epsilon 0.
        use crate::exec::clock::{Clock, ClockSpec};
        let events = [ev(0, 1, 10, &[5, 0], &[0], None), ev(1, 1, 12, &[30, 0], &[], Some(0))];
        let (events, clocks) = (events, [Clock::new(ClockSpec::default(), 1), Clock::new(ClockSpec::default(), 2)]);
        let t = Truth::new(&events, 2);
        let (found, bounds) = hlc(&t, &clocks);
        let monitors: Vec<&str> = found.iter().map(|f| f.monitor).collect();
        assert_eq!(monitors, ["hlc l >= pt", "hlc l - pt <= epsilon"]);
        assert_eq!(bounds.epsilon, 0);
        // Lamport's total order: two events of one process with one L.
        let dup = [ev(0, 1, 10, &[3], &[], None), ev(0, 2, 20, &[3], &[], None)];
        assert_eq!(total_order(&Truth::new(&dup, 1)).len(), 1);
    }

    #[test]
    fn the_clock_condition_is_checked_on_each_edge() {
        // Lamport stamps: a=1 sends to c; c must exceed 1. Here c = 1: broken.
        let events = [ev(0, 1, 10, &[1], &[0], None), ev(1, 1, 30, &[1], &[], Some(0)), ev(1, 2, 40, &[2], &[], None)];
        let t = Truth::new(&events, 2);
        let f = clock_condition(&t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].cores, [0, 1]);
    }
}
