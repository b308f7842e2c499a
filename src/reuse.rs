//! Reuse: what a core's own access order says about each access, whatever the
//! other cores do: whether it is the core's first reference to the line, and
//! whether a fully associative LRU cache of the L1's capacity would hold the
//! line (the capacity test of Hill's 3C model). A leaf both sides use: the trace
//! readers work it out on their decoder threads (and `convert` stores LRU stack
//! distances that answer it for any capacity); the miss classifier reads it, or
//! works it out itself for a front end that does not.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::LineAddr;

/// What the core's own earlier accesses say about a record's line, worked out
/// on the decoder thread when the replay classifies misses (see
/// [`TraceSet::with_reuse`](super::TraceSet::with_reuse)): whether this is the
/// core's first reference to the line, and whether a fully associative LRU cache
/// of the L1's capacity, fed with the core's accesses in order, holds the line.
/// Both depend on nothing but the core's own access order, so they need not wait
/// for the simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reuse(u8);

impl Reuse {
    const KNOWN: u8 = 1;
    const FIRST: u8 = 2;
    const FA_HIT: u8 = 4;

    /// Not worked out (the simulator's classifier does it itself).
    pub const UNKNOWN: Reuse = Reuse(0);

    pub const fn new(first: bool, fa_hit: bool) -> Self {
        Reuse(Self::KNOWN | if first { Self::FIRST } else { 0 } | if fa_hit { Self::FA_HIT } else { 0 })
    }

    #[inline]
    pub const fn is_known(self) -> bool {
        self.0 & Self::KNOWN != 0
    }

    #[inline]
    pub const fn first(self) -> bool {
        self.0 & Self::FIRST != 0
    }

    #[inline]
    pub const fn fa_hit(self) -> bool {
        self.0 & Self::FA_HIT != 0
    }
}

/// A fully associative LRU set of lines: a hash map into a doubly linked list
/// kept in vectors, so an access costs a lookup and a few index writes.
#[derive(Clone, Debug)]
pub struct FullyAssociativeLru {
    capacity: usize,
    slot: FxHashMap<LineAddr, u32>,
    line: Vec<LineAddr>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
}

const NIL: u32 = u32::MAX;

impl FullyAssociativeLru {
    pub fn new(capacity: usize) -> Self {
        FullyAssociativeLru {
            capacity,
            slot: FxHashMap::default(),
            line: Vec::with_capacity(capacity),
            prev: Vec::with_capacity(capacity),
            next: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
        }
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.prev[i as usize], self.next[i as usize]);
        if p == NIL {
            self.head = n
        } else {
            self.next[p as usize] = n
        }
        if n == NIL { self.tail = p } else { self.prev[n as usize] = p }
    }

    fn push_front(&mut self, i: u32) {
        self.prev[i as usize] = NIL;
        self.next[i as usize] = self.head;
        if self.head != NIL {
            self.prev[self.head as usize] = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    /// Access a line; true when it was present (a hit).
    #[inline]
    pub fn access(&mut self, l: LineAddr) -> bool {
        // Most accesses touch the line touched last: no lookup, no relinking.
        if self.head != NIL && self.line[self.head as usize] == l {
            return true;
        }
        if let Some(&i) = self.slot.get(&l) {
            if self.head != i {
                self.unlink(i);
                self.push_front(i);
            }
            return true;
        }
        let i = if self.line.len() < self.capacity {
            self.line.push(l);
            self.prev.push(NIL);
            self.next.push(NIL);
            (self.line.len() - 1) as u32
        } else {
            let victim = self.tail;
            self.unlink(victim);
            self.slot.remove(&self.line[victim as usize]);
            self.line[victim as usize] = l;
            victim
        };
        self.slot.insert(l, i);
        self.push_front(i);
        false
    }
}

/// One core's reuse, worked out access by access (on a trace's decoder thread).
#[derive(Clone, Debug)]
pub struct ReuseTracker {
    fa: FullyAssociativeLru,
    seen: FxHashSet<LineAddr>,
    line_shift: u32,
}

impl ReuseTracker {
    /// For an L1 of `capacity_lines` lines of `line_bytes` (a power of two).
    pub fn new(capacity_lines: usize, line_bytes: u32) -> Self {
        ReuseTracker {
            fa: FullyAssociativeLru::new(capacity_lines),
            seen: FxHashSet::default(),
            line_shift: line_bytes.trailing_zeros(),
        }
    }

    /// The reuse of the core's next access, at `addr`.
    #[inline]
    pub fn access(&mut self, addr: u64) -> Reuse {
        let line = addr >> self.line_shift;
        let fa_hit = self.fa.access(line);
        // A line the fully associative cache holds was referenced before.
        let first = !fa_hit && self.seen.insert(line);
        Reuse::new(first, fa_hit)
    }
}

/// Each access's LRU stack distance in one core's stream of lines (Mattson's
/// stack algorithm): how many distinct other lines the core referenced since
/// its last reference to this one. A fully associative LRU cache of `C` lines
/// holds the line exactly when the distance is below `C`, so one pass answers
/// for every capacity; `convert` stores the distances in a bin file for that.
///
/// Each line's latest access marks its position in a Fenwick tree; the lines
/// referenced since position `p` are the marks after `p`. When the positions run
/// out the marks are renumbered densely, so memory follows the distinct lines,
/// not the trace's length.
#[derive(Clone, Debug, Default)]
pub struct StackDistances {
    /// Each line's latest position.
    last: FxHashMap<LineAddr, u32>,
    /// Fenwick tree (0-based) over positions: 1 where a line's latest access is.
    tree: Vec<u32>,
    next: u32,
}

/// Positions a renumbering leaves room for, at least.
const MIN_POSITIONS: usize = 4096;

impl StackDistances {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accesses `line`: `None` for the core's first reference to it, else its
    /// stack distance.
    pub fn access(&mut self, line: LineAddr) -> Option<u64> {
        if self.next as usize == self.tree.len() {
            self.renumber();
        }
        let t = self.next;
        self.next += 1;
        // Every mark so far is before `t`.
        let marks = self.last.len() as u32;
        let distance = self.last.insert(line, t).map(|p| {
            let through_p = self.prefix(p);
            self.add(p, u32::MAX); // -1
            u64::from(marks - through_p)
        });
        self.add(t, 1);
        distance
    }

    /// Marks at positions `0..=i`.
    fn prefix(&self, i: u32) -> u32 {
        let (mut i, mut sum) = (i as usize + 1, 0u32);
        while i > 0 {
            sum = sum.wrapping_add(self.tree[i - 1]);
            i &= i - 1;
        }
        sum
    }

    fn add(&mut self, i: u32, delta: u32) {
        let mut i = i as usize;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add(delta);
            i |= i + 1;
        }
    }

    /// Gives the lines positions `0..n` in their order, with room for as many again.
    fn renumber(&mut self) {
        let mut order: Vec<(u32, LineAddr)> = self.last.iter().map(|(&l, &p)| (p, l)).collect();
        order.sort_unstable();
        let n = order.len();
        for (i, (_, line)) in order.iter().enumerate() {
            self.last.insert(*line, i as u32);
        }
        let size = (2 * n).max(MIN_POSITIONS);
        assert!(size < u32::MAX as usize, "{n} distinct lines in one core's trace");
        self.tree = vec![0; size];
        self.tree[..n].fill(1);
        // Linear build: each node adds itself to its parent.
        for i in 0..size {
            let parent = i | (i + 1);
            if parent < size {
                self.tree[parent] += self.tree[i];
            }
        }
        self.next = n as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_distances_agree_with_a_fully_associative_lru() {
        let mut rng = crate::rng::SplitMix64::new(11);
        for lines in [1, 3, 40, 3000] {
            let capacities = [1, 2, 5, 32, 64, 2048];
            let mut fas: Vec<_> = capacities.iter().map(|&c| FullyAssociativeLru::new(c)).collect();
            let mut seen = FxHashSet::default();
            let mut sd = StackDistances::new();
            for _ in 0..30_000 {
                // Mostly recent lines, sometimes any: distances of every size.
                let line = if rng.below(4) == 0 { rng.below(lines) } else { rng.below(lines.min(8)) };
                let d = sd.access(line);
                assert_eq!(d.is_none(), seen.insert(line), "first reference to {line}");
                for (fa, &c) in fas.iter_mut().zip(&capacities) {
                    assert_eq!(fa.access(line), d.is_some_and(|d| d < c as u64), "line {line} capacity {c} d {d:?}");
                }
            }
        }
    }

    #[test]
    fn fully_associative_lru_evicts_the_least_recent() {
        let mut fa = FullyAssociativeLru::new(3);
        assert!(!fa.access(1));
        assert!(!fa.access(2));
        assert!(!fa.access(3));
        assert!(fa.access(1)); // order now 1, 3, 2
        assert!(!fa.access(4)); // evicts 2
        assert!(fa.access(3));
        assert!(fa.access(1));
        assert!(!fa.access(2));
        assert!(!fa.access(4)); // 4 was evicted by 2
    }
}
