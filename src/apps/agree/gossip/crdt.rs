//! State-based counters (Shapiro, Preguiça, Baquero and Zawirski 2011,
//! "Conflict-free Replicated Data Types").
//!
//! A **G-counter** (grow-only) over `N` processes is a vector of `N` counts:
//! process `i` increments only entry `i`, the value is the sum, and two
//! replicas merge by taking the entrywise maximum. Max is commutative,
//! associative and idempotent, so replicas that have seen the same updates,
//! in any order and any number of times (duplicated, reordered, re-shipped by
//! every gossip round), hold the same vector: strong eventual consistency.
//! Entry `i` at any replica is the count of process `i`'s first increments,
//! never more than it made.
//!
//! A **PN-counter** is two G-counters, increments `p` and decrements `n`;
//! its value is `Σp − Σn`, its merge each half's merge.
//!
//! **The broken merge** (`sum`) adds the entries instead of taking their
//! maximum: right only if every state arrives exactly once and states never
//! overlap, which gossip never promises (a duplicated message, or two rounds
//! shipping the same increments, counts them twice). It is neither
//! idempotent nor bounded by the truth.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GCounter(pub Vec<u64>);

impl GCounter {
    pub fn new(n: usize) -> GCounter {
        GCounter(vec![0; n])
    }

    pub fn increment(&mut self, me: usize) {
        self.0[me] += 1;
    }

    pub fn value(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Entrywise max (the join); `sum` instead adds (the broken merge).
    pub fn merge(&mut self, other: &GCounter, sum: bool) {
        for (a, &b) in self.0.iter_mut().zip(&other.0) {
            *a = if sum { a.saturating_add(b) } else { (*a).max(b) };
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PnCounter {
    pub p: GCounter,
    pub n: GCounter,
}

impl PnCounter {
    pub fn new(n: usize) -> PnCounter {
        PnCounter { p: GCounter::new(n), n: GCounter::new(n) }
    }

    pub fn add(&mut self, me: usize, up: bool) {
        if up { self.p.increment(me) } else { self.n.increment(me) }
    }

    pub fn value(&self) -> i64 {
        self.p.value() as i64 - self.n.value() as i64
    }

    pub fn merge(&mut self, other: &PnCounter, sum: bool) {
        self.p.merge(&other.p, sum);
        self.n.merge(&other.n, sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: &[u64]) -> GCounter {
        GCounter(v.to_vec())
    }

    fn merged(a: &GCounter, b: &GCounter, sum: bool) -> GCounter {
        let mut m = a.clone();
        m.merge(b, sum);
        m
    }

    #[test]
    fn merge_laws_hold_for_max_and_fail_for_sum() {
        let xs = [g(&[0, 0, 0]), g(&[3, 1, 0]), g(&[1, 4, 2]), g(&[5, 0, 7])];
        for a in &xs {
            // Idempotent.
            assert_eq!(merged(a, a, false), *a);
            for b in &xs {
                // Commutative, and an upper bound of both (inflation).
                let ab = merged(a, b, false);
                assert_eq!(ab, merged(b, a, false));
                assert!(ab.0.iter().zip(&a.0).all(|(m, x)| m >= x));
                for c in &xs {
                    // Associative.
                    assert_eq!(merged(&ab, c, false), merged(a, &merged(b, c, false), false));
                }
            }
        }
        // Sum is commutative and associative but not idempotent: a state
        // merged twice counts its increments twice.
        let a = g(&[3, 1, 0]);
        assert_eq!(merged(&a, &a, true), g(&[6, 2, 0]));
    }

    #[test]
    fn pn_counter_value_and_merge() {
        // Process 0 adds +1 twice, process 1 adds −1 once: 2 − 1 = 1, merged
        // in either order and again.
        let mut a = PnCounter::new(2);
        a.add(0, true);
        a.add(0, true);
        let mut b = PnCounter::new(2);
        b.add(1, false);
        let mut ab = a.clone();
        ab.merge(&b, false);
        let mut ba = b.clone();
        ba.merge(&a, false);
        assert_eq!(ab, ba);
        assert_eq!(ab.value(), 1);
        ab.merge(&b, false);
        assert_eq!(ab.value(), 1, "merging again changes nothing");
    }
}
