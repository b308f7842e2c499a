//! A sparse directory's finite entries: which set a line's entry lives in, the
//! least-recently-used order of each set, and the allocation that recalls a victim
//! line when its set is full.
//!
//! ## What it guarantees, what it costs
//!
//! A sparse directory keeps `ENTRIES` full-map entries per slice in `ENTRIES/WAYS`
//! sets of `WAYS` (a line's set: its address past the slice bits, modulo the
//! sets). A request (GetS, GetM) for a line with no entry, in a full set, cannot
//! be served until an entry is free. The directory picks the least recently used
//! line of the set whose entry is stable (requests touch their line's entry) and
//! **recalls** it: Inv to every sharer and Fwd-GetM to the owner, all answering the
//! directory (revoke-and-confirm 3a; the owner's possibly dirty data goes to memory,
//! flush-before-handoff 6a). The entry waits in `I_A` for every Inv-Ack and the
//! data, stalling requests to its line; only then is it freed, so no copy of a line
//! ever exists without an entry to find it (freeing first is
//! `Mutation::RecallSkipsAcks`). The request that needed the entry is *deferred*:
//! it stays queued and is taken again once the entry is freed (`Note::EntryFreed`
//! wakes it). One recall per set at a time; requests that find their set full and
//! recalling wait.
//!
//! Costs: a recall's Invs and Fwd-GetM (counted in `recalls` and
//! `recall_invalidations`), the misses the recalled caches take later, and the
//! latency of the deferred request. Storage: `ENTRIES × (tag + state + owner + N)`
//! bits per slice instead of an entry per cached line.

use super::directory::{DirEntry, Directory};
use super::{LineAddr, Msg, Note, Outbox, ProtocolError};
use crate::protocol::dir_table::{DirEvent, DirState};

/// What an allocation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// A way is free (or the line needs none).
    Free,
    /// A victim's recall started: defer the request.
    Recalling,
    /// Nothing can be recalled now (every entry busy, or a recall under way):
    /// stall the request.
    Busy,
}

impl Directory {
    /// The set a line's entry lives in.
    #[inline]
    pub fn set_of(&self, line: LineAddr) -> u64 {
        let sets = self.spec.organisation.sets().map_or(1, |(s, _)| s);
        (line / self.spec.slices.max(1) as u64) % sets
    }

    /// The line was used: most recently used of its set (allocating its way).
    pub(super) fn touch(&mut self, line: LineAddr) {
        let set = self.set_of(line);
        let ways = self.lru.entry(set).or_default();
        if let Some(i) = ways.iter().position(|&l| l == line) {
            ways.remove(i);
        }
        ways.push(line);
    }

    /// The line's entry is gone: its way is free.
    pub(super) fn forget_way(&mut self, line: LineAddr) {
        let set = self.set_of(line);
        if let Some(ways) = self.lru.get_mut(&set) {
            ways.retain(|&l| l != line);
            if ways.is_empty() {
                self.lru.remove(&set);
            }
        }
    }

    /// Make room for `line`'s entry, recalling a victim if its set is full.
    pub(super) fn make_room(&mut self, line: LineAddr, msg: &Msg, out: &mut Outbox) -> Result<Room, ProtocolError> {
        let Some((_, ways)) = self.spec.organisation.sets() else { return Ok(Room::Free) };
        let set = self.set_of(line);
        let Some(lines) = self.lru.get(&set).filter(|l| l.len() >= ways as usize) else { return Ok(Room::Free) };
        if lines.iter().any(|l| self.entry(*l).state == DirState::I_A) {
            return Ok(Room::Busy);
        }
        let Some(victim) = lines.iter().copied().find(|l| self.entry(*l).state.is_stable()) else {
            return Ok(Room::Busy);
        };
        let mut e = self.entries.get(&victim).cloned().unwrap_or(DirEntry::INVALID);
        let row = self.row(victim, e.state, DirEvent::Recall)?;
        let before = out.msgs.len();
        self.run(victim, &mut e, DirEvent::Recall, row, msg, out)?;
        out.notes.push(Note::Recall { line: victim, messages: (out.msgs.len() - before) as u32 });
        // A recall that freed the entry at once (only a broken one does) leaves
        // the way free for this request now.
        Ok(if self.store(victim, e) { Room::Recalling } else { Room::Free })
    }
}
