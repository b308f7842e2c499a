//! Miss classification, an observer of the trace replay.
//!
//! A *miss* finds no valid copy of its line in the core's cache (an upgrade from
//! S or O is not a miss). Each miss gets one class, tested in this order:
//!
//! * `compulsory`: the core's first reference to the line;
//! * `true_sharing` / `false_sharing`: the core's copy was taken away by another
//!   core's write (an Inv or a Fwd-GetM), whether the copy was settled or still
//!   on its way (`IS_D`); true when the missing access touches a word some other
//!   core wrote between the loss and the miss being served (so the miss brings
//!   that value in), false otherwise; if the fill itself is invalidated on its
//!   way (`IS_D_I`), stores after that Inv are not in it and do not count for
//!   this miss. A failed compare-and-swap writes nothing. The split is decided
//!   when the miss completes ([`MissClassifier::completed`]), not when issued;
//! * `capacity`: a fully associative LRU cache of the same capacity, fed with this
//!   core's accesses, would also miss;
//! * `conflict`: the rest.
//!
//! With one core there is no sharing, and the classes are Dinero IV's.
//!
//! The first and the last test need only the core's own access order, so a trace
//! replay works them out on the decoder threads ([`ReuseTracker`], carried in each
//! record's [`Reuse`]); other front ends leave them to the classifier.
//!
//! Stores and completions carry their place in the simulation's order
//! ([`order_key`]): a core may take its hits ahead of other cores' clocks (see
//! `engine`), so a store can reach the classifier before a miss is served that
//! precedes it in simulated time, and must not be counted against that miss.
//! Nor may it be lost to a loss that precedes it but reaches the classifier
//! after it (another core's fill invalidated on its way while the storing core
//! runs ahead on its own copy): each core's stores taken running ahead
//! ([`Observer::turn`] tells which) are kept until no loss can come before them,
//! and a new loss counts those after it.

use std::collections::VecDeque;

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::MissClasses;
use crate::config::SystemConfig;
use crate::engine::counters::Stats;
use crate::engine::observe::{Finding, Hit, Observer, View};
use crate::model::LineAddr;
use crate::model::network::Cycle;
use crate::model::{Access, MemOp, Note};
use crate::protocol::l1_table::{CopyLoss, copy_loss};
use crate::reuse::{FullyAssociativeLru, Reuse};

/// A position in the simulation's order of events: by cycle, then messages before
/// cores, then cores by index (`core: None` for a message).
#[inline]
pub fn order_key(cycle: Cycle, core: Option<u16>) -> u64 {
    debug_assert!(cycle < 1 << 53, "cycle {cycle} does not fit an order key");
    (cycle << 11) | core.map_or(0, |c| c as u64 + 1)
}

/// Cycles past this (`Cycle::MAX`: no event left) give the largest order key.
const MAX_KEY_CYCLE: Cycle = (1 << 53) - 1;

#[derive(Clone, Copy)]
enum Class {
    Compulsory,
    TrueSharing,
    FalseSharing,
    Capacity,
    Conflict,
}

/// Sets of each core's memo of stores to lost lines (two entries each, so two
/// lines a core stores to by turns do not evict each other).
const MEMO: usize = 16;

/// A memo entry: a line, the epoch it is valid in, the words (of the first 64)
/// the core stored to there since, or all ones for a line no core has lost.
type MemoEntry = (LineAddr, u64, u64);

/// Buckets of the lost-line filter: small enough to stay in the L1 data cache.
const LOSER_BUCKETS: usize = 4096;

#[derive(Clone, Debug)]
struct CoreView {
    fa: FullyAssociativeLru,
    seen: FxHashSet<LineAddr>,
    classes: MissClasses,
    /// A sharing miss in flight: the line, its loss slot and the word it
    /// touches; [`MissClassifier::completed`] decides true or false sharing.
    in_flight: Option<(LineAddr, u32, usize)>,
    /// The miss in flight lost its line again before its fill arrived (an Inv
    /// overtaking the data, `IS_D_I`) at this key: stores from then on were
    /// ordered after the fill's data, so they cannot be in it.
    cutoff: u64,
    /// Lines this core stored to (two-way sets, hashed by line), each with the
    /// `epoch` it did so in and the words it stored to there since, or all ones
    /// if no core had lost the line: a repeat store changes nothing (a core's
    /// own stores come in order), so it skips the map. A loss anywhere starts a
    /// new epoch, which empties every memo.
    memo: [[MemoEntry; 2]; MEMO],
    /// Stores this core took running ahead (at or past its turn's `ordered`
    /// key), oldest first: ([`order_key`], address). A loss the classifier is
    /// told of later may precede them; [`MissClassifier::lost`] counts them.
    ahead: VecDeque<(u64, u64)>,
}

/// Adds `words` to `line`'s entry in a memo set, most recent first.
fn remember(set: &mut [MemoEntry; 2], line: LineAddr, epoch: u64, words: u64) {
    if set[1].0 == line && set[1].1 == epoch {
        set.swap(0, 1);
    } else if set[0].0 != line || set[0].1 != epoch {
        set[1] = set[0];
        set[0] = (line, epoch, 0);
    }
    set[0].2 |= words;
}

/// Cores that lost a line to another core's write and have not missed on it
/// since. Each loss is a slot: its core, and for each word of the line the
/// earliest [`order_key`] of another core's store to it since the loss
/// (`u64::MAX`: none). Slots are reused, so losses cost no allocation.
#[derive(Clone, Debug, Default)]
struct Losses {
    /// For each line, its losses' slots.
    lines: FxHashMap<LineAddr, SmallVec<[u32; 4]>>,
    core: Vec<u16>,
    /// The slot belongs to its core's miss in flight, which decides its class
    /// when served; a new loss of the same line takes another slot.
    pending: Vec<bool>,
    /// `words` keys per slot.
    first_store: Vec<u64>,
    free: Vec<u32>,
    words: usize,
}

impl Losses {
    fn keys(&mut self, slot: u32) -> &mut [u64] {
        let i = slot as usize * self.words;
        &mut self.first_store[i..i + self.words]
    }

    fn new_slot(&mut self, core: u16) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => {
                self.core[s as usize] = core;
                self.pending[s as usize] = false;
                s
            }
            None => {
                self.core.push(core);
                self.pending.push(false);
                self.first_store.resize(self.core.len() * self.words, 0);
                (self.core.len() - 1) as u32
            }
        };
        self.keys(slot).fill(u64::MAX);
        slot
    }
}

/// Classifies every miss of every core.
#[derive(Clone, Debug)]
pub struct MissClassifier {
    cores: Vec<CoreView>,
    lost: Losses,
    /// How many lines in `lost` fall in each of [`LOSER_BUCKETS`] buckets (by
    /// line number): a store to a line whose bucket is empty skips the map.
    loser_buckets: Vec<u32>,
    /// Changes whenever `lost` does (invalidates the per-core memos).
    epoch: u64,
    line_shift: u32,
    /// The current turn's hits with keys from here on run ahead (see
    /// [`Observer::turn`]); `u64::MAX` before any turn (nothing runs ahead).
    ordered: u64,
    /// No loss still to come has a key before this: a store before it that ran
    /// ahead can be forgotten.
    settled: u64,
}

impl MissClassifier {
    /// For the machine `cfg` describes: its cores, its L1's capacity and line.
    pub fn for_machine(cfg: &SystemConfig) -> Self {
        let lines = (cfg.l1.size.0 / cfg.l1.line as u64) as usize;
        MissClassifier::new(cfg.cores, lines, cfg.l1.line)
    }

    pub fn new(cores: usize, capacity_lines: usize, line_bytes: u32) -> Self {
        MissClassifier {
            cores: (0..cores)
                .map(|_| CoreView {
                    fa: FullyAssociativeLru::new(capacity_lines),
                    seen: FxHashSet::default(),
                    classes: MissClasses::default(),
                    in_flight: None,
                    cutoff: u64::MAX,
                    memo: [[(0, u64::MAX, 0); 2]; MEMO],
                    ahead: VecDeque::new(),
                })
                .collect(),
            lost: Losses { words: (line_bytes / 8).max(1) as usize, ..Losses::default() },
            loser_buckets: vec![0; LOSER_BUCKETS],
            epoch: 0,
            line_shift: line_bytes.trailing_zeros(),
            ordered: u64::MAX,
            settled: 0,
        }
    }

    #[inline]
    fn word(&self, addr: u64) -> usize {
        ((addr >> 3) & ((1 << (self.line_shift - 3)) - 1)) as usize
    }

    /// A line's set in a core's store memo: the top bits of [`Self::bucket`]'s
    /// hash. (Another multiplier made blackscholes' hot lines collide: 6% more
    /// instructions on the simulation thread. Either is correct.)
    #[inline]
    fn memo_slot(line: LineAddr) -> usize {
        (line.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - MEMO.trailing_zeros())) as usize
    }

    #[inline]
    fn bucket(line: LineAddr) -> usize {
        // Hashed, not the low bits: regions a power of two apart (per-thread
        // stacks, arrays) would otherwise share buckets.
        (line.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - LOSER_BUCKETS.trailing_zeros())) as usize
    }

    /// Every access a core performs or issues. `miss`: it found no valid copy. With `reuse` known (worked out by the trace
    /// decoder) a hit costs nothing here.
    #[inline]
    pub fn access(&mut self, core: u16, addr: u64, miss: bool, reuse: Reuse) {
        let line = addr >> self.line_shift;
        let view = &mut self.cores[core as usize];
        let (first, fa_hit) = if reuse.is_known() {
            if !miss {
                return;
            }
            (reuse.first(), reuse.fa_hit())
        } else {
            let fa_hit = view.fa.access(line);
            if !miss {
                return;
            }
            // A line the core holds was referenced before, so misses alone can
            // tell a first reference.
            (view.seen.insert(line), fa_hit)
        };
        let class = if first {
            Class::Compulsory
        } else if let Some(slot) = self.loss_of(core, line) {
            // Stores keep reaching the slot until the miss is served.
            self.lost.pending[slot as usize] = true;
            self.cores[core as usize].in_flight = Some((line, slot, self.word(addr)));
            return;
        } else if !fa_hit {
            Class::Capacity
        } else {
            Class::Conflict
        };
        self.count(core, class);
    }

    /// `core`'s access in flight was served at `key` in the simulation's order:
    /// a sharing miss is true sharing when another core stored to its word
    /// between the loss and now.
    #[inline]
    pub fn completed(&mut self, core: u16, key: u64) {
        let view = &mut self.cores[core as usize];
        let Some((line, slot, word)) = view.in_flight.take() else {
            return;
        };
        let until = key.min(std::mem::replace(&mut view.cutoff, u64::MAX));
        let first_store = self.lost.keys(slot)[word];
        self.release(line, slot);
        let class = if first_store <= until { Class::TrueSharing } else { Class::FalseSharing };
        self.count(core, class);
    }

    fn count(&mut self, core: u16, class: Class) {
        let c = &mut self.cores[core as usize].classes;
        match class {
            Class::Compulsory => c.compulsory += 1,
            Class::TrueSharing => c.true_sharing += 1,
            Class::FalseSharing => c.false_sharing += 1,
            Class::Capacity => c.capacity += 1,
            Class::Conflict => c.conflict += 1,
        }
    }

    /// `core`'s loss of `line` that no miss has claimed yet.
    fn loss_of(&self, core: u16, line: LineAddr) -> Option<u32> {
        if self.loser_buckets[Self::bucket(line)] == 0 {
            return None;
        }
        let losses = &self.lost;
        let list = losses.lines.get(&line)?;
        list.iter().copied().find(|&s| losses.core[s as usize] == core && !losses.pending[s as usize])
    }

    /// Frees a loss slot of `line`.
    fn release(&mut self, line: LineAddr, slot: u32) {
        let losses = &mut self.lost;
        let Some(list) = losses.lines.get_mut(&line) else { return };
        let Some(i) = list.iter().position(|&s| s == slot) else { return };
        list.swap_remove(i);
        if list.is_empty() {
            losses.lines.remove(&line);
            self.loser_buckets[Self::bucket(line)] -= 1;
        }
        losses.free.push(slot);
        self.epoch += 1;
    }

    /// A loss of `line` by `core` turned out not to be one (an `IS_D_I` line
    /// got an exclusive grant, which proves the Inv stale, and stays).
    pub fn unlost(&mut self, core: u16, line: LineAddr) {
        if let Some(slot) = self.loss_of(core, line) {
            self.release(line, slot);
        }
    }

    /// A core's turn starts at cycle `now`; its hits from cycle `ordered` on run
    /// ahead (see [`Observer::turn`]).
    #[inline]
    pub fn turn(&mut self, now: Cycle, ordered: Cycle) {
        self.settled = self.settled.max(order_key(now, None));
        self.ordered = order_key(ordered.min(MAX_KEY_CYCLE), None);
    }

    /// A store hit by `core` at `addr`, at `key` in the simulation's order: a
    /// [`Self::store`], kept for losses to come if it ran ahead.
    #[inline(always)]
    pub fn store_hit(&mut self, core: u16, addr: u64, key: u64) {
        if key >= self.ordered && self.cores.len() > 1 {
            self.keep_ahead(core, addr, key);
        }
        self.store(core, addr, key);
    }

    #[cold]
    fn keep_ahead(&mut self, core: u16, addr: u64, key: u64) {
        let ahead = &mut self.cores[core as usize].ahead;
        while ahead.front().is_some_and(|&(k, _)| k < self.settled) {
            ahead.pop_front();
        }
        ahead.push_back((key, addr));
    }

    /// A store was performed by `core` at `addr`, at `key` in the simulation's order.
    #[inline(always)]
    pub fn store(&mut self, core: u16, addr: u64, key: u64) {
        let line = addr >> self.line_shift;
        if self.loser_buckets[Self::bucket(line)] == 0 {
            return;
        }
        let word = self.word(addr);
        let set = &self.cores[core as usize].memo[Self::memo_slot(line)];
        // The memo keeps the first 64 words of a line; longer lines look the rest up.
        if word < 64 && set.iter().any(|&(l, e, words)| l == line && e == self.epoch && words & (1 << word) != 0) {
            return;
        }
        self.store_to_lost(core, line, addr, key);
    }

    #[cold]
    fn store_to_lost(&mut self, core: u16, line: LineAddr, addr: u64, key: u64) {
        let word = self.word(addr);
        let losses = &mut self.lost;
        let set = &mut self.cores[core as usize].memo[Self::memo_slot(line)];
        let Some(list) = losses.lines.get(&line) else {
            // No core has lost the line: no store to it matters until one does,
            // which starts a new epoch.
            remember(set, line, self.epoch, u64::MAX);
            return;
        };
        for &slot in list {
            if losses.core[slot as usize] != core {
                let i = slot as usize * losses.words + word;
                losses.first_store[i] = losses.first_store[i].min(key);
            }
        }
        let bit = if word < 64 { 1u64 << word } else { 0 };
        remember(set, line, self.epoch, bit);
    }

    /// `core`'s valid copy of `line` (or its fill in flight) was taken away by
    /// another core's write, at `key` in the simulation's order. Stores other
    /// cores took running ahead, after `key`, reached the classifier before the
    /// loss did; they count for it.
    pub fn lost(&mut self, core: u16, line: LineAddr, key: u64) {
        let view = &mut self.cores[core as usize];
        if view.in_flight.is_some_and(|(l, _, _)| l == line) {
            view.cutoff = view.cutoff.min(key);
        }
        let losses = &mut self.lost;
        let existing = losses.lines.get(&line).and_then(|list| {
            list.iter().copied().find(|&s| losses.core[s as usize] == core && !losses.pending[s as usize])
        });
        let slot = match existing {
            // Lost again without a miss between (cannot happen in these protocols): start over.
            Some(slot) => {
                losses.keys(slot).fill(u64::MAX);
                slot
            }
            None => {
                let slot = losses.new_slot(core);
                let list = losses.lines.entry(line).or_default();
                if list.is_empty() {
                    self.loser_buckets[Self::bucket(line)] += 1;
                }
                list.push(slot);
                slot
            }
        };
        self.count_ahead(core, line, key, slot);
        self.epoch += 1;
    }

    /// Counts for `core`'s loss of `line` at `key` (in `slot`) the stores other
    /// cores took running ahead after it.
    fn count_ahead(&mut self, core: u16, line: LineAddr, key: u64, slot: u32) {
        let (shift, settled) = (self.line_shift, self.settled);
        let words = (1u64 << (shift - 3)) - 1;
        for (c, view) in self.cores.iter_mut().enumerate() {
            let ahead = &mut view.ahead;
            while ahead.front().is_some_and(|&(k, _)| k < settled) {
                ahead.pop_front();
            }
            if c == core as usize || ahead.is_empty() {
                continue;
            }
            let keys = self.lost.keys(slot);
            for &(k, addr) in ahead.iter() {
                if k > key && addr >> shift == line {
                    let word = ((addr >> 3) & words) as usize;
                    keys[word] = keys[word].min(k);
                }
            }
        }
    }

    pub fn classes(&self, core: usize) -> &MissClasses {
        &self.cores[core].classes
    }
}

/// Whether an access that performed a store wrote anything another core could
/// read: a compare-and-swap that failed (the word was not `expected`) wrote
/// nothing new, so it takes no part in true sharing.
#[inline]
fn writes(op: MemOp, loaded: u64) -> bool {
    !matches!(op, MemOp::CompareExchange { expected, .. } if loaded != expected)
}

/// The classifier as the engine's observer.
impl Observer for MissClassifier {
    #[inline]
    fn hit(&mut self, h: &Hit) -> Result<(), Finding> {
        // With its reuse worked out by the front end, a load hit changes nothing.
        if !h.reuse.is_known() {
            self.access(h.core, h.addr, false, h.reuse);
        }
        if h.writes && writes(h.op, h.loaded) {
            self.store_hit(h.core, h.addr, order_key(h.at, Some(h.core)));
        }
        Ok(())
    }

    #[inline(always)]
    fn plain_hit(&mut self, core: u16, addr: u64, writes: bool, reuse: Reuse, at: Cycle) {
        if !reuse.is_known() {
            self.access(core, addr, false, reuse);
        }
        if writes {
            self.store_hit(core, addr, order_key(at, Some(core)));
        }
    }

    fn turn(&mut self, now: Cycle, ordered: Cycle) {
        MissClassifier::turn(self, now, ordered);
    }

    fn issued(&mut self, core: u16, access: Access, miss: bool, reuse: Reuse, _at: Cycle) {
        self.access(core, access.addr, miss, reuse);
    }

    fn notes(&mut self, cycle: Cycle, notes: &[Note], _view: View) -> Result<(), Finding> {
        for note in notes {
            match *note {
                Note::L1Transition { core, from, event, line, to } => match copy_loss(from, event, to) {
                    CopyLoss::Lost => self.lost(core, line, order_key(cycle, None)),
                    CopyLoss::Kept => self.unlost(core, line),
                    CopyLoss::None => {}
                },
                Note::Performed { core, addr, op, loaded, stored: Some(_), .. } if writes(op, loaded) => {
                    self.store(core, addr, order_key(cycle, None))
                }
                Note::Completed { core, .. } => self.completed(core, order_key(cycle, None)),
                _ => {}
            }
        }
        Ok(())
    }

    fn finish(&mut self, stats: &mut Stats) {
        for (c, s) in stats.cores.iter_mut().enumerate() {
            s.miss_classes = self.classes(c).clone();
        }
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
