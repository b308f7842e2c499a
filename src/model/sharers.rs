//! `SharerSet`: the directory's full-map record of which cores hold a line.
//!
//! A set of core ids over `u64` words, iterated with `trailing_zeros`. The words
//! vector never ends in a zero word, so two sets with the same members are equal
//! and hash alike (the model checker depends on that). Up to 64 cores the set lives
//! inline in the directory entry; beyond that it spills to the heap once.

use smallvec::SmallVec;

#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharerSet {
    words: SmallVec<[u64; 1]>,
}

impl SharerSet {
    pub const EMPTY: SharerSet = SharerSet { words: SmallVec::new_const() };

    pub fn new() -> Self {
        SharerSet::default()
    }

    #[inline]
    pub fn insert(&mut self, core: usize) {
        let (w, b) = (core / 64, core % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }

    #[inline]
    pub fn remove(&mut self, core: usize) {
        let (w, b) = (core / 64, core % 64);
        if let Some(word) = self.words.get_mut(w) {
            *word &= !(1 << b);
            while self.words.last() == Some(&0) {
                self.words.pop();
            }
        }
    }

    #[inline]
    pub fn contains(&self, core: usize) -> bool {
        self.words.get(core / 64).is_some_and(|w| w & (1 << (core % 64)) != 0)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn clear(&mut self) {
        self.words.clear();
    }

    /// Number of members other than `core`.
    #[inline]
    pub fn len_without(&self, core: usize) -> usize {
        self.len() - usize::from(self.contains(core))
    }

    /// Members in increasing order.
    #[inline]
    pub fn iter(&self) -> SharerIter<'_> {
        SharerIter { words: &self.words, index: 0, current: self.words.first().copied().unwrap_or(0) }
    }

    /// Rename members through `map` (core i becomes `map[i]`): the model checker's
    /// symmetry reduction permutes caches.
    pub fn permuted(&self, map: &[usize]) -> SharerSet {
        let mut out = SharerSet::new();
        for c in self.iter() {
            out.insert(map[c]);
        }
        out
    }
}

pub struct SharerIter<'a> {
    words: &'a [u64],
    index: usize,
    current: u64,
}

impl Iterator for SharerIter<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                return Some(self.index * 64 + bit);
            }
            self.index += 1;
            self.current = *self.words.get(self.index)?;
        }
    }
}

impl std::fmt::Debug for SharerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<usize> for SharerSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut s = SharerSet::new();
        for c in iter {
            s.insert(c);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn behaves_like_a_btreeset() {
        // An independent reference: BTreeSet, driven by a fixed pseudo-random walk.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut set = SharerSet::new();
        let mut reference = BTreeSet::new();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let core = (x % 1024) as usize;
            match (x >> 20) % 3 {
                0 => {
                    set.insert(core);
                    reference.insert(core);
                }
                1 => {
                    set.remove(core);
                    reference.remove(&core);
                }
                _ => assert_eq!(set.contains(core), reference.contains(&core)),
            }
            assert_eq!(set.len(), reference.len());
            assert_eq!(set.is_empty(), reference.is_empty());
        }
        assert!(set.iter().eq(reference.iter().copied()));
    }

    #[test]
    fn equal_members_mean_equal_sets() {
        let mut a = SharerSet::new();
        a.insert(700);
        a.insert(3);
        a.remove(700);
        let b: SharerSet = [3].into_iter().collect();
        assert_eq!(a, b);
        assert_eq!(a.len_without(3), 0);
        assert_eq!(a.len_without(4), 1);
    }
}
