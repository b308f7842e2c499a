//! `Organisation`: how a directory records who may hold a line, and how much that
//! record costs. Owns the setting (`--directory`, `[directory] organisation`), its
//! parser and validation, the storage it costs per line, and the operations every
//! organisation answers on a sharer record: add, remove, "may this core hold it",
//! and the superset of cores an invalidation must reach.
//!
//! ## The organisations, what they guarantee and what they cost
//!
//! Every organisation keeps the line's state and, in E, M and O, the owner's
//! pointer; they differ in the *sharer record* (N cores, `p = ceil(log2 N)`):
//!
//! * **full** (`full`): one bit per core, N bits. Exact: an invalidation reaches
//!   exactly the caches that were given a copy (and, with silent eviction, stale
//!   ones).
//! * **limited pointers, broadcast on overflow** (`limited:I:b`, Dir_I B): I
//!   pointers and a broadcast bit, `I·p + 1` bits. Exact up to I sharers; an I+1-th
//!   reader sets the broadcast bit (the pointers are then meaningless and cleared),
//!   and the next write invalidates every cache but the writer and the owner
//!   (broadcast-and-collect 2a over everyone; the caches without a copy answer at
//!   once: silent withdrawal 7a).
//! * **limited pointers, no broadcast** (`limited:I:nb`, Dir_I NB): I pointers,
//!   `I·p` bits, always exact. An I+1-th reader first makes room: the directory
//!   invalidates one pointed-to sharer (the lowest-numbered: a documented choice,
//!   which treats cache ids differently, so the model checker turns its cache
//!   symmetry off) and waits for that sharer's Inv-Ack, addressed to the directory,
//!   in a transient state (`S_P`, `O_P`: revoke-and-confirm 3a) before it forgets
//!   the pointer and takes the read. Forgetting first would let a later writer miss
//!   a copy that is still readable (see `Mutation::OverflowForgetsSharer`).
//! * **coarse vector** (`coarse:K`): one bit per group of K consecutive cores,
//!   `ceil(N/K)` bits. A write invalidates every cache of every marked group.
//! * **broadcast** (`broadcast`, Dir_0 B): no sharer record at all, one bit saying
//!   "someone may share". Every write to a shared line invalidates every cache but
//!   the writer and the owner.
//! * **sparse** (`sparse:ENTRIES:WAYS`): full-map entries, but only ENTRIES of them
//!   per directory slice, in a WAYS-way set-associative directory cache (LRU).
//!   A line that needs an entry in a full set first *recalls* the least recently
//!   used line of the set (`crate::model::directory` and the `I_A` rows of the
//!   directory table): revoke-and-confirm 3a plus flush-before-handoff 6a for its
//!   owner. Costs `ENTRIES × (tag + state + owner + N)` bits per slice instead of
//!   an entry for every cached line.
//!
//! An imprecise record (B after overflow, coarse, broadcast) cannot remove a
//! sharer that leaves: a Put from such a cache is acknowledged and the record is
//! left as it is (`DirEvent::UntrackedPut`), since the directory cannot know it was
//! the last copy. Ack counts always equal the invalidations actually sent.

use std::fmt;
use std::str::FromStr;

use crate::model::SharerSet;

/// What a limited-pointer directory does when a reader finds every pointer used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Dir_I B: set the broadcast bit.
    Broadcast,
    /// Dir_I NB: invalidate a pointed-to sharer to make room.
    NoBroadcast,
}

/// A directory organisation (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Organisation {
    #[default]
    Full,
    Limited {
        pointers: u16,
        overflow: Overflow,
    },
    Coarse {
        group: u16,
    },
    Sparse {
        entries: u32,
        ways: u32,
    },
    Broadcast,
}

/// A malformed or impossible organisation; the message names the setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OrganisationError(pub String);

const SPELLING: &str = "full, limited:I:b, limited:I:nb, coarse:K, sparse:ENTRIES:WAYS or broadcast";

impl FromStr for Organisation {
    type Err = OrganisationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| OrganisationError(format!("{s:?}: {why} (expected {SPELLING})"));
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |p: &str, what: &str| -> Result<u64, OrganisationError> {
            p.trim().parse::<u64>().map_err(|_| bad(&format!("{what} must be a number, found {p:?}")))
        };
        let org = match parts.as_slice() {
            [k] if k.eq_ignore_ascii_case("full") => Organisation::Full,
            [k] if k.eq_ignore_ascii_case("broadcast") => Organisation::Broadcast,
            [k, i, mode] if k.eq_ignore_ascii_case("limited") => {
                let pointers = num(i, "the number of pointers")?;
                let overflow = match mode.to_ascii_lowercase().as_str() {
                    "b" => Overflow::Broadcast,
                    "nb" => Overflow::NoBroadcast,
                    _ => return Err(bad(&format!("the overflow mode must be b or nb, found {mode:?}"))),
                };
                let pointers = u16::try_from(pointers).map_err(|_| bad("too many pointers"))?;
                Organisation::Limited { pointers, overflow }
            }
            [k, g] if k.eq_ignore_ascii_case("coarse") => {
                let group = u16::try_from(num(g, "the group size")?).map_err(|_| bad("the group is too large"))?;
                Organisation::Coarse { group }
            }
            [k, e, w] if k.eq_ignore_ascii_case("sparse") => {
                let entries = u32::try_from(num(e, "the number of entries")?).map_err(|_| bad("too many entries"))?;
                let ways = u32::try_from(num(w, "the number of ways")?).map_err(|_| bad("too many ways"))?;
                Organisation::Sparse { entries, ways }
            }
            _ => return Err(bad("unknown organisation")),
        };
        Ok(org)
    }
}

impl fmt::Display for Organisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Organisation::Full => f.write_str("full"),
            Organisation::Broadcast => f.write_str("broadcast"),
            Organisation::Limited { pointers, overflow: Overflow::Broadcast } => write!(f, "limited:{pointers}:b"),
            Organisation::Limited { pointers, overflow: Overflow::NoBroadcast } => write!(f, "limited:{pointers}:nb"),
            Organisation::Coarse { group } => write!(f, "coarse:{group}"),
            Organisation::Sparse { entries, ways } => write!(f, "sparse:{entries}:{ways}"),
        }
    }
}

impl serde::Serialize for Organisation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Organisation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Bits of a pointer to one of `cores` cores.
pub fn pointer_bits(cores: usize) -> u32 {
    usize::BITS - (cores.max(2) - 1).leading_zeros()
}

impl Organisation {
    /// The rules that depend on the machine: the first one broken, as a message.
    pub fn validate(self, cores: usize) -> Result<(), String> {
        match self {
            Organisation::Full | Organisation::Broadcast => Ok(()),
            Organisation::Limited { pointers: 0, .. } => {
                Err(format!("{self}: a limited-pointer directory needs at least 1 pointer"))
            }
            Organisation::Limited { pointers: 1, overflow: Overflow::NoBroadcast } => Err(format!(
                "{self}: Dir_I NB needs at least 2 pointers (a read of an owned line leaves two sharers, the old \
                 owner and the reader)"
            )),
            Organisation::Limited { .. } => Ok(()),
            Organisation::Coarse { group: 0 } => Err(format!("{self}: the group size must be at least 1")),
            Organisation::Coarse { group } if group as usize > cores => {
                Err(format!("{self}: a group of {group} cores is larger than the machine ({cores} cores)"))
            }
            Organisation::Coarse { .. } => Ok(()),
            Organisation::Sparse { ways: 0, .. } => Err(format!("{self}: a sparse directory needs at least 1 way")),
            Organisation::Sparse { entries, ways } if entries < ways => {
                Err(format!("{self}: {entries} entries is smaller than one set of {ways} ways"))
            }
            Organisation::Sparse { entries, ways } if entries % ways != 0 => {
                Err(format!("{self}: {entries} entries is not a whole number of {ways}-way sets"))
            }
            Organisation::Sparse { .. } => Ok(()),
        }
    }

    /// Bits of the sharer record per directory entry with `cores` cores (state and
    /// owner pointer, the same for every organisation, not counted).
    pub fn sharer_bits(self, cores: usize) -> u32 {
        let p = pointer_bits(cores);
        match self {
            Organisation::Full | Organisation::Sparse { .. } => cores as u32,
            Organisation::Limited { pointers, overflow: Overflow::Broadcast } => pointers as u32 * p + 1,
            Organisation::Limited { pointers, overflow: Overflow::NoBroadcast } => pointers as u32 * p,
            Organisation::Coarse { group } => cores.div_ceil(group.max(1) as usize) as u32,
            Organisation::Broadcast => 1,
        }
    }

    /// The record names cache ids by arithmetic (coarse groups) or picks among them
    /// by id (NB's victim): caches are not interchangeable for the model checker.
    pub fn breaks_cache_symmetry(self) -> bool {
        matches!(
            self,
            Organisation::Coarse { group: 2.. }
                | Organisation::Limited { pointers: 2.., overflow: Overflow::NoBroadcast }
        )
    }

    /// Sharer records may name caches that hold no copy.
    pub fn imprecise(self) -> bool {
        !matches!(
            self,
            Organisation::Full
                | Organisation::Sparse { .. }
                | Organisation::Limited { overflow: Overflow::NoBroadcast, .. }
        )
    }

    /// Sets of a sparse directory slice (`None`: an entry for every line).
    pub fn sets(self) -> Option<(u64, u32)> {
        match self {
            Organisation::Sparse { entries, ways } => Some(((entries / ways) as u64, ways)),
            _ => None,
        }
    }
}

/// One directory entry's record of the caches that may hold a line, as the
/// entry stores it: `members` are the cores (full, sparse), the pointed-to cores
/// (limited) or the marked groups (coarse); `broadcast` says every cache may hold
/// one (Dir_I B after an overflow, and the only bit a broadcast directory keeps).
pub type Record<'a> = (&'a SharerSet, bool);

/// What adding a sharer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    Recorded,
    /// Dir_I NB with every pointer used: the caller must make room first.
    Full,
}

impl Organisation {
    /// Record that `core` may now hold a copy.
    #[inline]
    pub fn add(self, members: &mut SharerSet, broadcast: &mut bool, core: usize) -> Added {
        match self {
            Organisation::Full | Organisation::Sparse { .. } => members.insert(core),
            Organisation::Limited { pointers, overflow } => {
                if *broadcast || members.contains(core) {
                    return Added::Recorded;
                }
                if members.len() < pointers as usize {
                    members.insert(core);
                } else if overflow == Overflow::Broadcast {
                    members.clear();
                    *broadcast = true;
                } else {
                    return Added::Full;
                }
            }
            Organisation::Coarse { group } => members.insert(core / group as usize),
            Organisation::Broadcast => *broadcast = true,
        }
        Added::Recorded
    }

    /// The record can forget `core` exactly: nobody else is covered by what
    /// names it.
    #[inline]
    pub fn removable(self, (members, broadcast): Record, core: usize, cores: usize) -> bool {
        match self {
            Organisation::Full | Organisation::Sparse { .. } => members.contains(core),
            Organisation::Limited { .. } => !broadcast && members.contains(core),
            Organisation::Coarse { group } => {
                let g = core / group as usize;
                members.contains(g) && group_size(g, group as usize, cores) == 1
            }
            Organisation::Broadcast => false,
        }
    }

    /// Forget `core` (only when `removable`).
    #[inline]
    pub fn remove(self, members: &mut SharerSet, core: usize) {
        match self {
            Organisation::Coarse { group } => members.remove(core / group as usize),
            _ => members.remove(core),
        }
    }

    /// The record covers `core`: it may hold a copy.
    #[inline]
    pub fn covers(self, (members, broadcast): Record, core: usize) -> bool {
        if broadcast {
            return true;
        }
        match self {
            Organisation::Coarse { group } => members.contains(core / group as usize),
            _ => members.contains(core),
        }
    }

    /// Every pointer is used and `core` is not among them (Dir_I NB must make room
    /// before it can record `core`).
    #[inline]
    pub fn pointers_full_without(self, members: &SharerSet, core: usize) -> bool {
        match self {
            Organisation::Limited { pointers, overflow: Overflow::NoBroadcast } => {
                members.len() >= pointers as usize && !members.contains(core)
            }
            _ => false,
        }
    }

    /// The cores an invalidation must reach: every core the record covers, except
    /// `a` and `b` (the requester and the owner, which get other messages), in
    /// increasing order.
    pub fn targets(
        self,
        (members, broadcast): Record,
        cores: usize,
        a: Option<u16>,
        b: Option<u16>,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let keep = |c: usize| Some(c as u16) != a && Some(c as u16) != b;
        if broadcast {
            out.extend((0..cores).filter(|&c| keep(c)));
            return;
        }
        match self {
            Organisation::Coarse { group } => {
                let k = group as usize;
                for g in members.iter() {
                    out.extend((g * k..((g + 1) * k).min(cores)).filter(|&c| keep(c)));
                }
            }
            _ => out.extend(members.iter().filter(|&c| keep(c))),
        }
    }
}

fn group_size(g: usize, k: usize, cores: usize) -> usize {
    ((g + 1) * k).min(cores).saturating_sub(g * k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_parse_and_print_back() {
        for s in ["full", "limited:4:b", "limited:2:nb", "coarse:4", "sparse:1024:8", "broadcast"] {
            let o: Organisation = s.parse().unwrap();
            assert_eq!(o.to_string(), s);
        }
        assert_eq!("LIMITED:3:NB".parse(), Ok(Organisation::Limited { pointers: 3, overflow: Overflow::NoBroadcast }));
        for bad in ["", "limited", "limited:x:b", "limited:2:maybe", "coarse", "sparse:8", "snoop", "full:1"] {
            assert!(bad.parse::<Organisation>().is_err(), "{bad}");
        }
    }

    #[test]
    fn impossible_shapes_are_refused() {
        let v = |s: &str, cores| s.parse::<Organisation>().unwrap().validate(cores);
        assert!(v("limited:0:b", 4).unwrap_err().contains("at least 1 pointer"));
        assert!(v("limited:1:nb", 4).is_err());
        assert!(v("coarse:0", 4).is_err());
        assert!(v("coarse:5", 4).unwrap_err().contains("larger than the machine"));
        assert!(v("sparse:2:4", 4).unwrap_err().contains("smaller than one set"));
        assert!(v("sparse:6:4", 4).unwrap_err().contains("whole number"));
        for ok in ["full", "broadcast", "limited:1:b", "limited:2:nb", "coarse:4", "sparse:8:4", "sparse:1:1"] {
            assert_eq!(v(ok, 4), Ok(()), "{ok}");
        }
    }

    #[test]
    fn storage_per_line() {
        // 64 cores: a pointer is 6 bits.
        let b = |s: &str| s.parse::<Organisation>().unwrap().sharer_bits(64);
        assert_eq!(pointer_bits(64), 6);
        assert_eq!(pointer_bits(3), 2);
        assert_eq!(pointer_bits(1), 1);
        assert_eq!((b("full"), b("sparse:64:4")), (64, 64));
        assert_eq!((b("limited:4:b"), b("limited:4:nb")), (4 * 6 + 1, 4 * 6));
        assert_eq!((b("coarse:4"), b("coarse:3"), b("broadcast")), (16, 22, 1));
    }

    #[test]
    fn records_decode_to_a_superset_of_their_sharers() {
        let cores = 7;
        let mut out = Vec::new();
        // Coarse groups of 3: {0,1,2} {3,4,5} {6}; 6 alone is removable.
        let o = Organisation::Coarse { group: 3 };
        let (mut m, mut b) = (SharerSet::new(), false);
        o.add(&mut m, &mut b, 4);
        o.add(&mut m, &mut b, 6);
        o.targets((&m, b), cores, Some(5), None, &mut out);
        assert_eq!(out, [3, 4, 6]);
        assert!(!o.removable((&m, b), 4, cores) && o.removable((&m, b), 6, cores) && o.covers((&m, b), 3));
        // Dir_2 B: the third reader sets the broadcast bit.
        let o = Organisation::Limited { pointers: 2, overflow: Overflow::Broadcast };
        let (mut m, mut b) = (SharerSet::new(), false);
        for c in [1, 2, 2, 5] {
            o.add(&mut m, &mut b, c);
        }
        assert!(b && m.is_empty());
        o.targets((&m, b), cores, Some(0), Some(3), &mut out);
        assert_eq!(out, [1, 2, 4, 5, 6]);
        assert!(!o.removable((&m, b), 1, cores));
        // Dir_2 NB refuses the third.
        let o = Organisation::Limited { pointers: 2, overflow: Overflow::NoBroadcast };
        let (mut m, mut b) = (SharerSet::new(), false);
        let mut add = |c| o.add(&mut m, &mut b, c);
        assert_eq!((add(1), add(2), add(5)), (Added::Recorded, Added::Recorded, Added::Full));
        assert!(o.pointers_full_without(&m, 5) && !o.pointers_full_without(&m, 2));
    }
}
