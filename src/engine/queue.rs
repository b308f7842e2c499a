//! The event queue: a binary heap ordered by `(cycle, seq)`, where `seq` is a
//! global insertion counter, so events at the same cycle leave in the order they
//! were scheduled and a run never depends on hash order or allocation addresses.
//! Payloads live in a slab so the heap moves 24-byte keys, not messages.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::model::network::Cycle;

#[derive(Debug)]
pub struct EventQueue<T> {
    heap: BinaryHeap<Reverse<(Cycle, u64, u32)>>,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), slab: Vec::new(), free: Vec::new() }
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn push(&mut self, at: Cycle, seq: u64, item: T) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(item);
                s
            }
            None => {
                self.slab.push(Some(item));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((at, seq, slot)));
    }

    /// The key of the earliest event.
    #[inline]
    pub fn peek(&self) -> Option<(Cycle, u64)> {
        self.heap.peek().map(|Reverse((t, s, _))| (*t, *s))
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Cycle, T)> {
        let Reverse((t, _, slot)) = self.heap.pop()?;
        let item = self.slab[slot as usize].take().expect("a queued slot holds its event");
        self.free.push(slot);
        Some((t, item))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every event with its cycle, in no particular order.
    pub fn iter_timed(&self) -> impl Iterator<Item = (Cycle, &T)> {
        self.heap.iter().map(|Reverse((t, _, slot))| (*t, self.slab[*slot as usize].as_ref().expect("queued")))
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slab.iter().filter_map(|s| s.as_ref())
    }
}

/// The least of `n` values, and the least but one's own: a tournament tree, so
/// setting a value and asking for the minimum over every other index both cost
/// `log n`.
#[derive(Clone, Debug)]
pub struct MinTree {
    leaves: usize,
    node: Vec<Cycle>,
}

impl MinTree {
    pub fn new(n: usize) -> Self {
        let leaves = n.next_power_of_two().max(2);
        MinTree { leaves, node: vec![Cycle::MAX; 2 * leaves] }
    }

    #[inline]
    pub fn set(&mut self, i: usize, value: Cycle) {
        let mut p = self.leaves + i;
        self.node[p] = value;
        while p > 1 {
            p /= 2;
            let m = self.node[2 * p].min(self.node[2 * p + 1]);
            if self.node[p] == m {
                break;
            }
            self.node[p] = m;
        }
    }

    /// The least value at any index but `i` (`Cycle::MAX` when there is none).
    #[inline]
    pub fn min_excluding(&self, i: usize) -> Cycle {
        // Along the path from leaf `i` to the root, the siblings cover every other leaf.
        let mut p = self.leaves + i;
        let mut m = Cycle::MAX;
        while p > 1 {
            m = m.min(self.node[p ^ 1]);
            p /= 2;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_tree_agrees_with_a_scan() {
        let mut rng = crate::rng::SplitMix64::new(7);
        for n in [1, 2, 3, 5, 8, 13] {
            let mut tree = MinTree::new(n);
            let mut vals = vec![Cycle::MAX; n];
            for _ in 0..500 {
                let i = rng.below(n as u64) as usize;
                let v = if rng.below(4) == 0 { Cycle::MAX } else { rng.below(50) };
                tree.set(i, v);
                vals[i] = v;
                for j in 0..n {
                    let want = (0..n).filter(|&k| k != j).map(|k| vals[k]).min().unwrap_or(Cycle::MAX);
                    assert_eq!(tree.min_excluding(j), want, "n={n} j={j} {vals:?}");
                }
            }
        }
    }

    #[test]
    fn orders_by_cycle_then_insertion() {
        let mut q = EventQueue::new();
        for (seq, (t, v)) in [(5, 'a'), (3, 'b'), (5, 'c'), (3, 'd'), (0, 'e')].into_iter().enumerate() {
            q.push(t, seq as u64, v);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, v)| v)).collect();
        assert_eq!(order, vec!['e', 'b', 'd', 'a', 'c']);
    }
}
