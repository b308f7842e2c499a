//! Miss classification, an observer of the trace replay.
//!
//! A *miss* finds no valid copy of its line in the core's cache (an upgrade from
//! S or O is not a miss). Each miss gets one class, tested in this order:
//!
//! * `compulsory`: the core's first reference to the line;
//! * `true_sharing` / `false_sharing`: the core's copy was taken away by another
//!   core's write (an Inv or a Fwd-GetM); true when the missing access touches a
//!   word some other core wrote since, false otherwise;
//! * `capacity`: a fully associative LRU cache of the same capacity, fed with this
//!   core's accesses, would also miss;
//! * `conflict`: the rest.
//!
//! With one core there is no sharing, and the classes are Dinero IV's.

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::MissClasses;
use crate::model::LineAddr;

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

#[derive(Clone, Debug)]
struct CoreView {
    fa: FullyAssociativeLru,
    seen: FxHashSet<LineAddr>,
    /// Lines taken away by another core's write: the words written since.
    lost: FxHashMap<LineAddr, u64>,
    classes: MissClasses,
}

/// Classifies every miss of every core.
#[derive(Clone, Debug)]
pub struct MissClassifier {
    cores: Vec<CoreView>,
    /// For each line, the cores that lost it to a write and have not missed on it since.
    losers: FxHashMap<LineAddr, SmallVec<[u16; 4]>>,
    /// How many lines in `losers` fall in each of 64 Ki buckets (line mod 2^16): a
    /// store to a line whose bucket is empty skips the map.
    loser_buckets: Vec<u16>,
    line_shift: u32,
}

impl MissClassifier {
    pub fn new(cores: usize, capacity_lines: usize, line_bytes: u32) -> Self {
        MissClassifier {
            cores: (0..cores)
                .map(|_| CoreView {
                    fa: FullyAssociativeLru::new(capacity_lines),
                    seen: FxHashSet::default(),
                    lost: FxHashMap::default(),
                    classes: MissClasses::default(),
                })
                .collect(),
            losers: FxHashMap::default(),
            loser_buckets: vec![0; 1 << 16],
            line_shift: line_bytes.trailing_zeros(),
        }
    }

    #[inline]
    fn word_bit(&self, addr: u64) -> u64 {
        1 << ((addr >> 3) & ((1 << (self.line_shift - 3)) - 1) & 63)
    }

    /// Every access a core performs or issues. `miss`: it found no valid copy.
    #[inline]
    pub fn access(&mut self, core: u16, addr: u64, miss: bool) {
        let line = addr >> self.line_shift;
        let bit = self.word_bit(addr);
        let view = &mut self.cores[core as usize];
        let fa_hit = view.fa.access(line);
        if !miss {
            return;
        }
        let c = &mut view.classes;
        if view.seen.insert(line) {
            c.compulsory += 1;
        } else if let Some(mask) = view.lost.remove(&line) {
            if mask & bit != 0 {
                c.true_sharing += 1;
            } else {
                c.false_sharing += 1;
            }
            if let Some(list) = self.losers.get_mut(&line) {
                list.retain(|x| *x != core);
                if list.is_empty() {
                    self.losers.remove(&line);
                    self.loser_buckets[(line & 0xFFFF) as usize] -= 1;
                }
            }
        } else if !fa_hit {
            c.capacity += 1;
        } else {
            c.conflict += 1;
        }
    }

    /// A store was performed by `core` at `addr`.
    #[inline]
    pub fn store(&mut self, core: u16, addr: u64) {
        let line = addr >> self.line_shift;
        if self.loser_buckets[(line & 0xFFFF) as usize] == 0 {
            return;
        }
        let Some(list) = self.losers.get(&line) else { return };
        let bit = self.word_bit(addr);
        for &c in list {
            if c != core
                && let Some(mask) = self.cores[c as usize].lost.get_mut(&line)
            {
                *mask |= bit;
            }
        }
    }

    /// `core`'s valid copy of `line` was taken away by another core's write.
    pub fn lost(&mut self, core: u16, line: LineAddr) {
        self.cores[core as usize].lost.insert(line, 0);
        let list = self.losers.entry(line).or_default();
        if list.is_empty() {
            self.loser_buckets[(line & 0xFFFF) as usize] += 1;
        }
        if !list.contains(&core) {
            list.push(core);
        }
    }

    pub fn classes(&self, core: usize) -> &MissClasses {
        &self.cores[core].classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
