//! `StateStore`: the visited set, stored exactly.
//!
//! Encodings are appended to one byte arena, each behind a 6-byte header (its
//! index, its length); an open-addressing table (linear probing, at most half
//! full) holds, per slot, 24 bits of the hash and the entry's arena offset. A
//! lookup of a state already seen — three in four transitions — therefore touches
//! two cache lines at random (the slot, the entry), not three (slot, offset table,
//! bytes), which is most of the search's time once the table outgrows the caches.
//! States are numbered in discovery order, which for a breadth-first search is
//! also the queue: the explorer walks the indices. Each state remembers the state
//! it was first reached from, for shortest counterexamples.
//!
//! Cost per state: its encoding plus 6 header bytes, an 8-byte offset, a 4-byte
//! parent and two 8-byte slots on average.

use std::hash::Hasher;

use rustc_hash::FxHasher;

pub(crate) struct StateStore {
    arena: Vec<u8>,
    /// Start of state `i`'s entry (its header) in the arena.
    offsets: Vec<u64>,
    parents: Vec<u32>,
    /// 0: empty; otherwise `tag << 40 | (offset + 1)`.
    slots: Vec<u64>,
}

pub(crate) const NO_PARENT: u32 = u32::MAX;
const HEADER: usize = 6;
const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

impl StateStore {
    pub fn new() -> Self {
        StateStore {
            arena: Vec::with_capacity(1 << 16),
            offsets: Vec::new(),
            parents: Vec::new(),
            slots: vec![0; 1 << 10],
        }
    }

    pub fn len(&self) -> usize {
        self.parents.len()
    }

    #[inline]
    fn entry(&self, off: usize) -> (u32, &[u8]) {
        let a = &self.arena;
        let idx = u32::from_le_bytes([a[off], a[off + 1], a[off + 2], a[off + 3]]);
        let len = u16::from_le_bytes([a[off + 4], a[off + 5]]) as usize;
        (idx, &a[off + HEADER..off + HEADER + len])
    }

    pub fn get(&self, i: u32) -> &[u8] {
        self.entry(self.offsets[i as usize] as usize).1
    }

    pub fn parent(&self, i: u32) -> u32 {
        self.parents[i as usize]
    }

    /// The chain of states from the initial one to `i`.
    pub fn path_to(&self, mut i: u32) -> Vec<u32> {
        let mut path = vec![i];
        while self.parent(i) != NO_PARENT {
            i = self.parent(i);
            path.push(i);
        }
        path.reverse();
        path
    }

    #[inline]
    fn hash(key: &[u8]) -> u64 {
        let mut h = FxHasher::default();
        h.write(key);
        // Spread the bits: the slot index uses the low bits, the tag the high ones.
        let x = h.finish();
        (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
    }

    #[inline]
    fn tag(h: u64) -> u64 {
        h >> OFFSET_BITS
    }

    /// The index of `key`, inserting it (with `parent`) if it is new.
    pub fn insert(&mut self, key: &[u8], parent: u32) -> (u32, bool) {
        let h = Self::hash(key);
        let tag = Self::tag(h);
        let mask = self.slots.len() - 1;
        let mut pos = (h as usize) & mask;
        loop {
            let slot = self.slots[pos];
            if slot == 0 {
                break;
            }
            if slot >> OFFSET_BITS == tag {
                let (idx, bytes) = self.entry(((slot & OFFSET_MASK) - 1) as usize);
                if bytes == key {
                    return (idx, false);
                }
            }
            pos = (pos + 1) & mask;
        }
        let idx = self.parents.len() as u32;
        assert!(idx < NO_PARENT - 1, "more than 4 billion states");
        assert!(key.len() <= u16::MAX as usize, "a state encoding longer than 64 KiB");
        let off = self.arena.len() as u64;
        assert!(off < OFFSET_MASK, "a state arena larger than 1 TiB");
        self.slots[pos] = tag << OFFSET_BITS | (off + 1);
        self.arena.extend_from_slice(&idx.to_le_bytes());
        self.arena.extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.arena.extend_from_slice(key);
        self.offsets.push(off);
        self.parents.push(parent);
        if self.parents.len() * 2 > self.slots.len() {
            self.grow();
        }
        (idx, true)
    }

    fn grow(&mut self) {
        let mut slots = vec![0u64; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &off in &self.offsets {
            let h = Self::hash(self.entry(off as usize).1);
            let mut pos = (h as usize) & mask;
            while slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            slots[pos] = Self::tag(h) << OFFSET_BITS | (off + 1);
        }
        self.slots = slots;
    }

    /// Bytes held (arena, offsets, parents, slots), for the report.
    pub fn bytes(&self) -> usize {
        self.arena.capacity() + 8 * self.offsets.capacity() + 4 * self.parents.capacity() + 8 * self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored_across_growth() {
        let mut t = StateStore::new();
        let keys: Vec<Vec<u8>> = (0..3000u32).map(|i| format!("state-{i}").into_bytes()).collect();
        for (i, k) in keys.iter().enumerate() {
            let parent = if i == 0 { NO_PARENT } else { i as u32 - 1 };
            assert_eq!(t.insert(k, parent), (i as u32, true));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.insert(k, 7), (i as u32, false));
            assert_eq!(t.get(i as u32), &k[..]);
        }
        assert_eq!(t.len(), 3000);
        assert_eq!(t.path_to(3), vec![0, 1, 2, 3]);
    }
}
