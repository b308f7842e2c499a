//! `CacheArray`: the tag, state and data store of one L1, set-associative with a
//! chosen replacement policy. It knows nothing of coherence beyond which states may
//! be replaced (stable ones): the L1 controller decides what a state means.
//!
//! Layout is flat (frames in one vector, data words in another) so a lookup touches
//! one contiguous run of `ways` frames and the hit path allocates nothing. Sets of
//! more than [`INDEXED_WAYS`] ways (up to fully associative: one set) also keep a
//! map from line to frame, so a lookup stays one hash probe however wide the set.

use rustc_hash::FxHashMap;

use super::LineAddr;
use crate::protocol::l1_table::L1State;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReplacementPolicy {
    #[default]
    Lru,
    TreePlru,
    Random,
}

impl ReplacementPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lru" => Some(Self::Lru),
            "tree-plru" | "plru" => Some(Self::TreePlru),
            "random" => Some(Self::Random),
            _ => None,
        }
    }
}

/// The shape of a cache; validated by `config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheGeometry {
    pub size: u64,
    pub ways: u32,
    pub line: u32,
}

impl CacheGeometry {
    pub fn sets(&self) -> usize {
        (self.size / (self.ways as u64 * self.line as u64)) as usize
    }
    pub fn words(&self) -> usize {
        (self.line / 8) as usize
    }
    pub fn line_shift(&self) -> u32 {
        self.line.trailing_zeros()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub line: LineAddr,
    pub state: L1State,
    pub dirty: bool,
}

const EMPTY: Frame = Frame { line: 0, state: L1State::I, dirty: false };

/// Sets wider than this keep a line-to-frame map instead of being searched.
pub const INDEXED_WAYS: usize = 16;

/// In a hit tag: no line (line addresses are byte addresses shifted right, so
/// never all ones).
const NO_LINE: LineAddr = LineAddr::MAX;

/// A wide set's map from line to frame. It is derived from the frames, so it
/// takes no part in comparing or hashing a cache (the model checker does both).
#[derive(Clone, Debug, Default)]
struct LineIndex(FxHashMap<LineAddr, u32>);

impl PartialEq for LineIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LineIndex {}

impl std::hash::Hash for LineIndex {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheArray {
    sets: usize,
    ways: usize,
    words: usize,
    policy: ReplacementPolicy,
    frames: Vec<Frame>,
    /// Per frame, derived from its line and state: the line it serves loads
    /// for and the line it serves stores for ([`NO_LINE`] when none), so a hit
    /// lookup is one compare per way. Kept in step by every frame update.
    hit_tags: Vec<[LineAddr; 2]>,
    /// Mutation testing only (`Mutation::HitTagWritableShared`): the store tag
    /// also serves lines in S and O, as a broken tag update would.
    shared_write_tags: bool,
    data: Vec<u64>,
    /// Wide sets only: the frame each line with a non-`I` state is in.
    index: Option<LineIndex>,
    /// LRU: last-use stamp per frame. Tree-PLRU: one bit vector per set, in
    /// `plru_words` words (node `n` of the tree is bit `n`).
    recency: Vec<u64>,
    plru_words: usize,
    clock: u64,
    rng: crate::rng::SplitMix64,
}

impl CacheArray {
    pub fn new(geometry: CacheGeometry, policy: ReplacementPolicy, seed: u64) -> Self {
        let sets = geometry.sets();
        let ways = geometry.ways as usize;
        let words = geometry.words();
        // The tree's nodes are numbered 1..ways.
        let plru_words = ways.div_ceil(64).max(1);
        let recency = match policy {
            ReplacementPolicy::TreePlru => vec![0; sets * plru_words],
            _ => vec![0; sets * ways],
        };
        CacheArray {
            sets,
            ways,
            words,
            policy,
            frames: vec![EMPTY; sets * ways],
            hit_tags: vec![[NO_LINE; 2]; sets * ways],
            shared_write_tags: false,
            data: vec![0; sets * ways * words],
            index: (ways > INDEXED_WAYS).then(LineIndex::default),
            recency,
            plru_words,
            clock: 0,
            rng: crate::rng::SplitMix64::new(seed),
        }
    }

    pub fn ways(&self) -> usize {
        self.ways
    }

    #[inline]
    pub fn set_of(&self, line: LineAddr) -> usize {
        // Sets are a power of two (checked by config).
        (line as usize) & (self.sets - 1)
    }

    /// The frame holding `line` in a valid or transient state.
    #[inline]
    pub fn find(&self, line: LineAddr) -> Option<usize> {
        self.find_where(line, |st| st != L1State::I)
    }

    /// The frame holding `line` in a state `ok` accepts (`ok` must reject `I`).
    #[inline]
    pub fn find_where(&self, line: LineAddr, ok: impl Fn(L1State) -> bool) -> Option<usize> {
        if let Some(LineIndex(index)) = &self.index {
            let idx = *index.get(&line)? as usize;
            return ok(self.frames[idx].state).then_some(idx);
        }
        let base = self.set_of(line) * self.ways;
        self.frames[base..base + self.ways].iter().position(|f| f.line == line && ok(f.state)).map(|w| base + w)
    }

    #[inline]
    pub fn frame(&self, idx: usize) -> &Frame {
        &self.frames[idx]
    }

    /// Replaces a frame (its line, state and dirty bit).
    #[inline]
    pub fn set_frame(&mut self, idx: usize, frame: Frame) {
        if self.index.is_some() {
            self.reindex(idx, frame);
        }
        self.frames[idx] = frame;
        let f = &self.frames[idx];
        let tag = |ok: bool| if ok { f.line } else { NO_LINE };
        let writable = f.state.can_write() || self.shared_write_tags && matches!(f.state, L1State::S | L1State::O);
        self.hit_tags[idx] = [tag(f.state.can_read()), tag(writable)];
    }

    /// Mutation testing only: from now on the hit tags report lines in S and O
    /// writable (`Mutation::HitTagWritableShared`), so a store hits them.
    pub fn break_write_tags_of_shared_lines(&mut self) {
        self.shared_write_tags = true;
        for idx in 0..self.frames.len() {
            self.set_frame(idx, self.frames[idx]);
        }
    }

    /// Keeps a wide set's line index in step with a frame about to change.
    #[inline(never)]
    fn reindex(&mut self, idx: usize, frame: Frame) {
        let old = self.frames[idx];
        let Some(LineIndex(index)) = &mut self.index else { return };
        if old.state != L1State::I && (old.line != frame.line || frame.state == L1State::I) {
            index.remove(&old.line);
        }
        if frame.state != L1State::I {
            index.insert(frame.line, idx as u32);
        }
    }

    #[inline]
    pub fn set_state(&mut self, idx: usize, state: L1State) {
        self.set_frame(idx, Frame { state, ..self.frames[idx] });
    }

    #[inline]
    pub fn set_dirty(&mut self, idx: usize, dirty: bool) {
        self.frames[idx].dirty = dirty;
    }

    /// The frame an access to `line` would hit in now: the line is present
    /// in a state that may be read (or written, for a store).
    #[inline]
    pub fn hit_frame(&self, line: LineAddr, writes: bool) -> Option<usize> {
        self.probe().frame(line, writes)
    }

    /// A read-only view for many hit lookups in a row.
    #[inline]
    pub fn probe(&self) -> Probe<'_> {
        Probe {
            tags: &self.hit_tags,
            set_mask: self.sets - 1,
            ways: self.ways,
            index: self.index.as_ref().map(|i| &i.0),
        }
    }

    #[inline]
    pub fn data(&self, idx: usize) -> &[u64] {
        &self.data[idx * self.words..(idx + 1) * self.words]
    }

    #[inline]
    pub fn data_mut(&mut self, idx: usize) -> &mut [u64] {
        &mut self.data[idx * self.words..(idx + 1) * self.words]
    }

    /// One word of a frame's data.
    #[inline]
    pub fn word_mut(&mut self, idx: usize, word: usize) -> &mut u64 {
        debug_assert!(word < self.words);
        &mut self.data[idx * self.words + word]
    }

    /// Record a use of a frame for the replacement policy.
    #[inline]
    pub fn touch(&mut self, idx: usize) {
        match self.policy {
            ReplacementPolicy::Lru => {
                self.clock += 1;
                self.recency[idx] = self.clock;
            }
            ReplacementPolicy::TreePlru => self.touch_plru(idx),
            ReplacementPolicy::Random => {}
        }
    }

    #[inline(never)]
    fn touch_plru(&mut self, idx: usize) {
        let set = idx / self.ways;
        let way = idx % self.ways;
        // Walk from the root; each bit points at the half to evict next, so a
        // use points every node on the path away from this way.
        let bits = &mut self.recency[set * self.plru_words..(set + 1) * self.plru_words];
        let (mut node, mut lo, mut hi) = (1usize, 0usize, self.ways);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let (word, bit) = (node / 64, 1u64 << (node % 64));
            if way < mid {
                bits[word] |= bit;
                node *= 2;
                hi = mid;
            } else {
                bits[word] &= !bit;
                node = node * 2 + 1;
                lo = mid;
            }
        }
    }

    /// An empty frame in `line`'s set, if any.
    pub fn free_frame(&self, line: LineAddr) -> Option<usize> {
        let base = self.set_of(line) * self.ways;
        (base..base + self.ways).find(|&i| self.frames[i].state == L1State::I)
    }

    /// The frame the policy would replace in `line`'s set, among frames in stable
    /// states. `None` when every frame is in a transient state.
    pub fn victim(&mut self, line: LineAddr) -> Option<usize> {
        let set = self.set_of(line);
        let base = set * self.ways;
        let eligible = |f: &Frame| f.state.is_stable();
        match self.policy {
            ReplacementPolicy::Lru => {
                (base..base + self.ways).filter(|&i| eligible(&self.frames[i])).min_by_key(|&i| self.recency[i])
            }
            ReplacementPolicy::TreePlru => {
                let bits = &self.recency[set * self.plru_words..(set + 1) * self.plru_words];
                let (mut node, mut lo, mut hi) = (1usize, 0usize, self.ways);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if bits[node / 64] & (1 << (node % 64)) != 0 {
                        node = node * 2 + 1;
                        lo = mid;
                    } else {
                        node *= 2;
                        hi = mid;
                    }
                }
                let pick = base + lo;
                if eligible(&self.frames[pick]) {
                    Some(pick)
                } else {
                    (base..base + self.ways).find(|&i| eligible(&self.frames[i]))
                }
            }
            ReplacementPolicy::Random => {
                let candidates: smallvec::SmallVec<[usize; 16]> =
                    (base..base + self.ways).filter(|&i| eligible(&self.frames[i])).collect();
                if candidates.is_empty() {
                    return None;
                }
                // The seed comes from the run's seed, so runs repeat.
                Some(candidates[self.rng.below(candidates.len() as u64) as usize])
            }
        }
    }

    /// Put `line` into an empty frame with the given state; data words zeroed.
    pub fn install(&mut self, idx: usize, line: LineAddr, state: L1State) {
        debug_assert_eq!(self.frames[idx].state, L1State::I);
        self.set_frame(idx, Frame { line, state, dirty: false });
        self.data_mut(idx).fill(0);
        self.touch(idx);
    }

    pub fn invalidate(&mut self, idx: usize) {
        self.set_frame(idx, EMPTY);
    }

    /// Every valid or transient frame: (frame index, frame).
    pub fn valid_frames(&self) -> impl Iterator<Item = (usize, &Frame)> {
        self.frames.iter().enumerate().filter(|(_, f)| f.state != L1State::I)
    }
}

/// Hit lookups against one cache array (see [`CacheArray::probe`]): the
/// geometry in locals, the tags as a plain slice.
#[derive(Clone, Copy, Debug)]
pub struct Probe<'a> {
    tags: &'a [[LineAddr; 2]],
    set_mask: usize,
    ways: usize,
    index: Option<&'a FxHashMap<LineAddr, u32>>,
}

impl Probe<'_> {
    #[inline(always)]
    pub fn frame(&self, line: LineAddr, writes: bool) -> Option<usize> {
        let base = (line as usize & self.set_mask) * self.ways;
        let set = self.tags.get(base..base + self.ways)?;
        let w = usize::from(writes);
        // The usual associativities, unrolled: a replay's scan and hits spend
        // most of their lookups here.
        let way = match self.ways {
            2 => way_of::<2>(set, line, w),
            4 => way_of::<4>(set, line, w),
            8 => way_of::<8>(set, line, w),
            _ => return self.wide(set, base, line, w),
        };
        way.map(|way| base + way)
    }

    /// Other widths: a search of the set, or the line index of a wide one.
    #[inline(never)]
    fn wide(&self, set: &[[LineAddr; 2]], base: usize, line: LineAddr, w: usize) -> Option<usize> {
        match self.index {
            Some(index) => {
                let idx = *index.get(&line)? as usize;
                (self.tags[idx][w] == line).then_some(idx)
            }
            None => set.iter().position(|t| t[w] == line).map(|way| base + way),
        }
    }
}

#[inline(always)]
fn way_of<const N: usize>(set: &[[LineAddr; 2]], line: LineAddr, w: usize) -> Option<usize> {
    let set: &[[LineAddr; 2]; N] = set.try_into().ok()?;
    (0..N).find(|&i| set[i][w] == line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(ways: u32) -> CacheGeometry {
        CacheGeometry { size: 64 * ways as u64 * 4, ways, line: 64 }
    }

    #[test]
    fn tree_plru_never_evicts_the_most_recent_use() {
        let mut c = CacheArray::new(geometry(8), ReplacementPolicy::TreePlru, 1);
        for w in 0..8u64 {
            let idx = c.free_frame(w * 4).unwrap();
            c.install(idx, w * 4, L1State::S);
        }
        for line in [8u64, 0, 20, 12, 28] {
            let idx = c.find(line).unwrap();
            c.touch(idx);
            assert_ne!(c.victim(0), Some(idx));
        }
    }

    /// The hit tags follow every kind of frame update: a hit lookup always
    /// agrees with a search of the frames by state.
    #[test]
    fn hit_tags_follow_the_frames() {
        let mut rng = crate::rng::SplitMix64::new(11);
        // Every way count the lookup unrolls, and others.
        for ways in [1, 2, 3, 4, 8, 16, 32, 128] {
            let mut c = CacheArray::new(geometry(ways), ReplacementPolicy::Lru, 3);
            hit_tags_follow(&mut c, &mut rng, 6 * ways as u64);
        }
    }

    fn hit_tags_follow(c: &mut CacheArray, rng: &mut crate::rng::SplitMix64, lines: u64) {
        for _ in 0..20_000 {
            let line = rng.below(lines);
            let idx = (c.set_of(line) * c.ways()) + rng.below(c.ways() as u64) as usize;
            let state = L1State::ALL[rng.below(L1State::ALL.len() as u64) as usize];
            // An L1 never holds a line in two frames.
            let op = rng.below(4);
            let base = c.set_of(line) * c.ways();
            let held_elsewhere = |l: LineAddr| {
                (base..base + c.ways()).any(|i| i != idx && c.frame(i).line == l && c.frame(i).state != L1State::I)
            };
            let revived = if op == 0 || op == 3 { line } else { c.frame(idx).line };
            // Nor gives an empty frame a state without installing a line.
            let revives_empty = op == 1 && c.frame(idx).state == L1State::I;
            if revives_empty || (op != 2 && held_elsewhere(revived)) {
                continue;
            }
            match op {
                0 if c.frame(idx).state == L1State::I => c.install(idx, line, state),
                0 | 1 => c.set_state(idx, state),
                2 => c.invalidate(idx),
                _ => c.set_frame(idx, Frame { line, state, dirty: rng.below(2) == 1 }),
            }
            let probe = rng.below(lines);
            for writes in [false, true] {
                let pb = c.set_of(probe) * c.ways();
                let by_state = (pb..pb + c.ways()).find(|&i| {
                    let f = c.frame(i);
                    f.line == probe && if writes { f.state.can_write() } else { f.state.can_read() }
                });
                assert_eq!(c.find_where(probe, |st| if writes { st.can_write() } else { st.can_read() }), by_state);
                assert_eq!(c.hit_frame(probe, writes), by_state);
            }
        }
    }

    #[test]
    fn tree_plru_works_past_64_ways() {
        // 128 ways: the tree's nodes run past one 64-bit word.
        let mut c =
            CacheArray::new(CacheGeometry { size: 128 * 64, ways: 128, line: 64 }, ReplacementPolicy::TreePlru, 1);
        for line in 0..128u64 {
            let idx = c.free_frame(line).unwrap();
            c.install(idx, line, L1State::S);
        }
        let mut victims = std::collections::BTreeSet::new();
        for _ in 0..128 {
            let v = c.victim(1000).unwrap();
            assert!(victims.insert(v), "tree-PLRU picked frame {v} twice before using every frame");
            c.touch(v);
        }
    }

    #[test]
    fn transient_frames_are_never_victims() {
        for policy in [ReplacementPolicy::Lru, ReplacementPolicy::TreePlru, ReplacementPolicy::Random] {
            let mut c = CacheArray::new(geometry(2), policy, 7);
            let a = c.free_frame(0).unwrap();
            c.install(a, 0, L1State::IS_D);
            let b = c.free_frame(4).unwrap();
            c.install(b, 4, L1State::S);
            for _ in 0..10 {
                assert_eq!(c.victim(8), Some(b));
            }
            c.set_state(b, L1State::SM_AD);
            assert_eq!(c.victim(8), None);
        }
    }
}
