//! The monitors of a broadcast: graded on the processes' logs of casts and
//! deliveries (`actor::Ev`), the same in both worlds (the model checker's
//! states, the timed run's record). Each is safe on a prefix of a run (what it
//! reports stays wrong however the run goes on), so stateright can ask it at
//! every state, except `validity`, which is asked at the end.
//!
//! Causality here is that of the broadcast layer's events, casts and
//! deliveries (Birman et al.'s definition): m → m' when m' was cast by a
//! process after it cast or delivered m, closed transitively. A message
//! *received* and held back does not order the receiver's later casts: the
//! runtime's happens-before (`clocks::happens::Truth`, receipts included) is
//! stronger, and a correct causal broadcast does not respect it (p holds m
//! back, casts m'; q may deliver m' first). The truth is used to check that
//! every delivery truly happens after its cast (`run`).
//!
//! - `integrity`: a message is delivered at most once, and only once cast.
//! - `fifo`: a sender's messages are delivered in its order, with no gap.
//! - `causal`: m → m' implies m delivered before m' at every process.
//! - `total`: two processes deliver two messages in the same order.
//! - `validity` (end of a run on a reliable network): every process delivered
//!   every message.

use std::collections::{BTreeMap, BTreeSet};

use super::actor::{Ev, Order};

/// A violation at position `at` of `process`'s log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub monitor: &'static str,
    pub process: usize,
    pub at: usize,
    pub cores: Vec<usize>,
    pub what: String,
}

pub const INTEGRITY: &str = "broadcast integrity";
pub const FIFO: &str = "fifo delivery";
pub const CAUSAL: &str = "causal delivery";
pub const TOTAL: &str = "total order";
pub const VALIDITY: &str = "every message delivered";

/// The monitors an order answers to: FIFO for all (causal and the
/// sequencer's total order imply it), causal for causal and total, total for
/// total; `validity` when `complete`.
pub fn check(order: Order, logs: &[Vec<Ev>], casts: u32, complete: bool) -> Vec<Violation> {
    let mut found = integrity(logs);
    found.extend(fifo(logs));
    if order.base() != Order::Fifo {
        found.extend(causal(logs));
    }
    if order.base() == Order::Total {
        found.extend(total(logs));
    }
    if complete {
        found.extend(validity(logs, casts));
    }
    found
}

fn deliveries(log: &[Ev]) -> impl Iterator<Item = (usize, (usize, u32))> + '_ {
    log.iter().enumerate().filter_map(|(i, e)| match *e {
        Ev::Deliver(j, k) => Some((i, (j, k))),
        Ev::Cast(_) => None,
    })
}

fn casts_of(log: &[Ev]) -> u32 {
    log.iter().filter(|e| matches!(e, Ev::Cast(_))).count() as u32
}

pub fn integrity(logs: &[Vec<Ev>]) -> Vec<Violation> {
    let mut found = Vec::new();
    for (q, log) in logs.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for (i, (j, k)) in deliveries(log) {
            let what = if !seen.insert((j, k)) {
                format!("process {q} delivered ({j}, {k}) twice")
            } else if j >= logs.len() || k == 0 || k > casts_of(&logs[j]) {
                format!("process {q} delivered ({j}, {k}), which was never cast")
            } else {
                continue;
            };
            found.push(Violation { monitor: INTEGRITY, process: q, at: i, cores: vec![q, j], what });
        }
    }
    found
}

pub fn fifo(logs: &[Vec<Ev>]) -> Vec<Violation> {
    let mut found = Vec::new();
    for (q, log) in logs.iter().enumerate() {
        let mut count = vec![0u32; logs.len()];
        for (i, (j, k)) in deliveries(log) {
            let Some(c) = count.get_mut(j) else { continue };
            if k > *c + 1 {
                let what = format!("process {q} delivered ({j}, {k}) before ({j}, {})", *c + 1);
                found.push(Violation { monitor: FIFO, process: q, at: i, cores: vec![q, j], what });
            }
            *c = (*c).max(k);
        }
    }
    found
}

/// Each cast's causal past: per sender, how many of its messages precede it
/// (a prefix, since a sender's casts are ordered and pasts are closed).
pub fn pasts(logs: &[Vec<Ev>]) -> BTreeMap<(usize, u32), Vec<u32>> {
    fn past(logs: &[Vec<Ev>], p: usize, k: u32, memo: &mut BTreeMap<(usize, u32), Vec<u32>>) -> Vec<u32> {
        if let Some(v) = memo.get(&(p, k)) {
            return v.clone();
        }
        let mut cur = vec![0u32; logs.len()];
        let merge = |cur: &mut Vec<u32>, j: usize, i: u32, memo: &mut BTreeMap<_, _>| {
            if j < logs.len() && i > cur[j] {
                for (a, b) in cur.iter_mut().zip(past(logs, j, i, memo)) {
                    *a = (*a).max(b);
                }
                cur[j] = i;
            }
        };
        for e in logs.get(p).map_or(&[][..], |l| l) {
            match *e {
                Ev::Cast(c) if c >= k => break,
                Ev::Cast(c) => merge(&mut cur, p, c, memo),
                Ev::Deliver(j, i) => merge(&mut cur, j, i, memo),
            }
        }
        memo.insert((p, k), cur.clone());
        cur
    }
    let mut memo = BTreeMap::new();
    for (p, log) in logs.iter().enumerate() {
        for k in 1..=casts_of(log) {
            past(logs, p, k, &mut memo);
        }
    }
    memo
}

pub fn causal(logs: &[Vec<Ev>]) -> Vec<Violation> {
    let pasts = pasts(logs);
    let mut found = Vec::new();
    for (q, log) in logs.iter().enumerate() {
        // Per sender, the longest prefix of its messages delivered here.
        let mut prefix = vec![0u32; logs.len()];
        let mut got: BTreeSet<(usize, u32)> = BTreeSet::new();
        for (i, (j, k)) in deliveries(log) {
            if let Some(past) = pasts.get(&(j, k))
                && let Some(r) = (0..logs.len()).find(|&r| past[r] > prefix[r])
            {
                let what =
                    format!("process {q} delivered ({j}, {k}) before ({r}, {}), which precedes it", prefix[r] + 1);
                found.push(Violation { monitor: CAUSAL, process: q, at: i, cores: vec![q, j, r], what });
            }
            if j < logs.len() {
                got.insert((j, k));
                while got.contains(&(j, prefix[j] + 1)) {
                    prefix[j] += 1;
                }
            }
        }
    }
    found
}

pub fn total(logs: &[Vec<Ev>]) -> Vec<Violation> {
    let mut found = Vec::new();
    for q in 0..logs.len() {
        let at_q: BTreeMap<(usize, u32), usize> = deliveries(&logs[q]).map(|(i, m)| (m, i)).collect();
        for (p, log_p) in logs.iter().enumerate().take(q) {
            let mut last: Option<((usize, u32), usize)> = None;
            for (_, m) in deliveries(log_p) {
                let Some(&i) = at_q.get(&m) else { continue };
                if let Some((prev, j)) = last
                    && i < j
                {
                    let what = format!("process {p} delivered {prev:?} before {m:?}, process {q} the other way");
                    found.push(Violation { monitor: TOTAL, process: q, at: j, cores: vec![p, q], what });
                    break;
                }
                last = Some((m, i));
            }
        }
    }
    found
}

pub fn validity(logs: &[Vec<Ev>], casts: u32) -> Vec<Violation> {
    let want = casts * logs.len() as u32;
    let mut found = Vec::new();
    for (q, log) in logs.iter().enumerate() {
        let got = deliveries(log).map(|(_, m)| m).collect::<BTreeSet<_>>().len() as u32;
        if got < want {
            let what = format!("process {q} delivered {got} of {want} messages");
            found.push(Violation { monitor: VALIDITY, process: q, at: log.len(), cores: vec![q], what });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ev::{Cast, Deliver};

    #[test]
    fn a_held_receipt_is_not_causality_but_a_delivery_is() {
        // p0 casts m=(0,1); p1 delivers it and casts (1,1): m → (1,1).
        // p2 delivers (1,1) first: causal violation, FIFO fine.
        let logs = vec![
            vec![Cast(1), Deliver(0, 1), Deliver(1, 1)],
            vec![Deliver(0, 1), Cast(1), Deliver(1, 1)],
            vec![Deliver(1, 1), Deliver(0, 1)],
        ];
        assert_eq!(pasts(&logs)[&(1, 1)], [1, 0, 0]);
        assert!(fifo(&logs).is_empty() && integrity(&logs).is_empty());
        let c = causal(&logs);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!((c[0].process, c[0].at), (2, 0));
        // p2 disagrees with p0 and with p1 on the order of the two (one
        // finding per disagreeing pair of processes): not total either.
        assert_eq!(total(&logs).len(), 2);
        // With one broadcast each, 3 were due everywhere; p2 never cast, so
        // every process delivered 2 of 3.
        assert_eq!(validity(&logs, 1).len(), 3);
    }

    #[test]
    fn gaps_duplicates_and_inventions_are_caught() {
        let logs = vec![vec![Cast(1), Cast(2), Deliver(0, 2), Deliver(0, 1), Deliver(0, 1), Deliver(0, 3)]];
        assert_eq!(fifo(&logs).len(), 1, "(0,2) before (0,1)");
        assert_eq!(integrity(&logs).len(), 2, "twice; never cast");
    }
}
