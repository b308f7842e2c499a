//! The gossip membership table (in the manner of van Renesse, Minsky and
//! Hayden 1998, "A Gossip-Style Failure Detection Service"): per member the
//! freshest heartbeat heard of, `(incarnation, count)` compared in that
//! order, the local clock reading when it last rose, and whether the member
//! is failed. Only a member raises its own heartbeat; everyone else learns it
//! by merging tables, taking the fresher entry.
//!
//! A member whose heartbeat has not risen for `fail_after` cycles is marked
//! failed and leaves the view; it stays in the table as a tombstone (an older
//! heartbeat gossiped later cannot revive it), and a fresher heartbeat
//! re-admits it. `fail_after` must exceed the time a heartbeat takes to
//! spread (`O(log N)` rounds) by a margin, or slow spreading is taken for
//! failure; the apps use `5 + 2⌈log₂ N⌉` rounds.
//!
//! The broken merge (`sum`) adds the counts of the same incarnation instead
//! of taking the fresher: heartbeats grow faster than their owners raise
//! them, which no correct merge can produce.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Member {
    /// The freshest heartbeat: (incarnation, count).
    pub hb: (u32, u64),
    /// The clock reading when it last rose (`None`: not watched yet; the
    /// first round starts the watch).
    pub seen: Option<u64>,
    pub failed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub members: Vec<Member>,
}

impl Table {
    pub fn new(n: usize) -> Table {
        Table { members: vec![Member::default(); n] }
    }

    /// Merges the heartbeats of another table into this one at clock
    /// reading `now`; `me`'s own entry is its own business.
    pub fn merge(&mut self, me: usize, theirs: &[(u32, u64)], now: u64, sum: bool) {
        for (r, (m, &hb)) in self.members.iter_mut().zip(theirs).enumerate() {
            if r == me {
                continue;
            }
            let fresher = if sum && hb.0 == m.hb.0 && hb.1 > 0 {
                Some((hb.0, m.hb.1.saturating_add(hb.1)))
            } else {
                (hb > m.hb).then_some(hb)
            };
            if let Some(hb) = fresher {
                *m = Member { hb, seen: Some(now), failed: false };
            }
        }
    }

    /// Marks failed the members (other than `me`) silent for over
    /// `fail_after` cycles at `now`; starts the watch on unwatched ones.
    pub fn expire(&mut self, me: usize, now: u64, fail_after: u64) {
        for (r, m) in self.members.iter_mut().enumerate() {
            if r == me || m.failed {
                continue;
            }
            match m.seen {
                None => m.seen = Some(now),
                Some(t) if now.saturating_sub(t) > fail_after => m.failed = true,
                Some(_) => {}
            }
        }
    }

    /// The members believed alive, as a bit mask.
    pub fn view(&self) -> u64 {
        self.members.iter().enumerate().filter(|(_, m)| !m.failed).fold(0, |v, (r, _)| v | 1 << r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresher_heartbeats_win_and_silence_fails() {
        let mut t = Table::new(3);
        // Process 0 hears (0, 5) of 1 and (1, 2) of 2 at cycle 100.
        t.merge(0, &[(0, 9), (0, 5), (1, 2)], 100, false);
        assert_eq!(t.members[0].hb, (0, 0), "one's own entry is not merged");
        assert_eq!(t.members[1].hb, (0, 5));
        // An older heartbeat changes nothing; a new incarnation outranks any count.
        t.merge(0, &[(0, 0), (0, 4), (0, 50)], 200, false);
        assert_eq!((t.members[1].hb, t.members[2].hb), ((0, 5), (1, 2)));
        t.merge(0, &[(0, 0), (0, 6), (1, 2)], 300, false);
        // At 1,250 with fail_after 1,000: 2 (last rise at 100) fails, 1 (at 300) not.
        t.expire(0, 1250, 1000);
        assert_eq!(t.view(), 0b011);
        // A fresher heartbeat re-admits it.
        t.merge(0, &[(0, 0), (0, 6), (1, 3)], 1300, false);
        assert_eq!(t.view(), 0b111);
        // The broken merge adds: (0, 6) merged with (0, 6) is (0, 12).
        t.merge(0, &[(0, 0), (0, 6), (1, 3)], 1400, true);
        assert_eq!(t.members[1].hb, (0, 12));
    }
}
