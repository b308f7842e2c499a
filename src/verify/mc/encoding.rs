//! The byte encoding of a state, and its decoding.
//!
//! Under a renaming of cache ids (`cmap`: old id → new id) and of values (`vmap`),
//! a state is written as, in order:
//!
//! * per line: the golden word; the memory word; the directory entry (state, owner
//!   or `0xFF`, sharer mask, broadcast bit | acks due to the directory << 1, and
//!   the line's place in its set's LRU order or `0xFF`: sparse directories) — an
//!   absent entry is written as I with nobody listed, which is how the directory
//!   reads it;
//! * per cache, in new-id order, per line: L1 state with the dirty bit in bit 7,
//!   and the word (0 when the line is I: an invalid frame's stale words are never
//!   read); then the MSHR (`0xFF`, or line, access, ack counter) and the window;
//! * the network: request and response messages as a sorted multiset, then the
//!   forward messages grouped by FIFO (source, destination, line) in key order,
//!   each group in FIFO order. A message packs into 7 bytes (`pack`).
//!
//! An access is written as whether it writes and, if it does, its table of new
//! words (`op.apply(old).1` for each old value), which is all the controllers and
//! the observer ever use of it. Tags and `from_memory` are left out: only the timed
//! world and statistics read them.
//!

use smallvec::{SmallVec, smallvec};

use super::ForwardOrder;
use super::Symmetry;
use super::state::{LINE_BYTES, Model, POISON, World};
use crate::model::directory::DirEntry;
use crate::model::l1::Mshr;
use crate::model::{Access, MemOp, Msg, MsgKind, SharerSet, Tags};
use crate::protocol::dir_table::DirState;
use crate::protocol::l1_table::L1State;

pub(super) const NONE: u8 = 0xFF;
pub(super) const IDENT: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

/// An in-flight message as the encoding sees it (node ids and word not renamed).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FlatMsg {
    pub(super) line: u8,
    pub(super) src: u8,
    pub(super) dst: u8,
    pub(super) kind: u8,
    pub(super) requester: u8,
    pub(super) acks: u8,
    /// exclusive | dirty << 1 | has data << 2.
    pub(super) flags: u8,
    pub(super) word: u8,
    /// Travels in a FIFO (forward network, ordered).
    pub(super) fifo: bool,
}

/// An outstanding miss: line, whether it writes, its table of new words, acks.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FlatMshr {
    pub(super) line: u8,
    pub(super) writes: bool,
    pub(super) table: [u8; 8],
    pub(super) acks: i8,
}

/// A world read once into plain arrays, so that signatures and the encodings of
/// every candidate renaming cost no hash lookups and no buffer scans.
#[derive(Clone, Debug, Default)]
pub(super) struct Flat {
    pub(super) golden: [u8; 8],
    pub(super) memory: [u8; 8],
    /// Per line: state, owner (or `NONE`), sharer mask, broadcast | pending << 1,
    /// LRU place (or `NONE`).
    pub(super) dir: [(u8, u8, u8, u8, u8); 8],
    /// Per cache, per line: state | dirty << 7, and the word (0 when I).
    pub(super) lines: [[(u8, u8); 8]; 8],
    pub(super) mshr: [Option<FlatMshr>; 8],
    pub(super) windows: [u8; 8],
    pub(super) msgs: SmallVec<[FlatMsg; 16]>,
}

/// Encoder, decoder and canonicalizer for one model; owns its scratch buffers.
pub(crate) struct Codec {
    pub(super) caches: usize,
    pub(super) lines: usize,
    pub(super) values: usize,
    pub(super) dir_node: u16,
    pub(super) symmetry: Symmetry,
    pub(super) forward_order: ForwardOrder,
    pub(super) flat: Flat,
    pub(super) scratch: Vec<u8>,
    pub(super) unordered: Vec<u64>,
    pub(super) forward: Vec<u64>,
    pub(super) vmaps: Vec<[u8; 8]>,
    pub(super) sigs: Vec<(u64, u8)>,
}

impl Codec {
    pub fn new(m: &Model) -> Self {
        Codec {
            caches: m.caches,
            lines: m.lines,
            values: m.values,
            dir_node: m.dir_node,
            symmetry: m.symmetry,
            forward_order: m.opts.forward_order,
            flat: Flat::default(),
            scratch: Vec::with_capacity(256),
            unordered: Vec::with_capacity(16),
            forward: Vec::with_capacity(16),
            vmaps: Vec::new(),
            sigs: Vec::with_capacity(8),
        }
    }

    /// Read the world into `self.flat`.
    pub(super) fn load(&mut self, w: &World) {
        let f = &mut self.flat;
        // The directory's maps hold at most one entry per line: walk them rather
        // than look every line up. An absent entry reads as I with nobody listed,
        // absent memory as zero, as the directory reads them.
        f.golden[..self.lines].copy_from_slice(&w.golden);
        f.memory = [0; 8];
        for (&line, d) in &w.dir.memory {
            f.memory[line as usize] = d[0] as u8;
        }
        f.dir = [(DirState::I as u8, NONE, 0, 0, NONE); 8];
        for (&line, e) in &w.dir.entries {
            let mask = e.sharers.iter().fold(0u8, |m, c| m | 1 << c);
            let extra = e.broadcast as u8 | (e.pending as u8) << 1;
            f.dir[line as usize] = (e.state as u8, e.owner.map_or(NONE, |o| o as u8), mask, extra, NONE);
        }
        for ways in w.dir.lru.values() {
            for (place, &line) in ways.iter().enumerate() {
                f.dir[line as usize].4 = place as u8;
            }
        }
        for c in 0..self.caches {
            let l1 = &w.l1s[c];
            for line in 0..self.lines {
                let (state, dirty, word) = World::line_view(l1, line);
                let word = if state == L1State::I { 0 } else { word as u8 };
                f.lines[c][line] = (state as u8 | (dirty as u8) << 7, word);
            }
            f.mshr[c] = l1.mshr.as_ref().map(|x| {
                let mut table = [0u8; 8];
                let writes = x.access.op.writes();
                if writes {
                    for (old, t) in table.iter_mut().enumerate().take(self.values) {
                        *t = x.access.op.apply(old as u64).1 as u8;
                    }
                }
                FlatMshr { line: x.line as u8, writes, table, acks: x.acks as i8 }
            });
            f.windows[c] = w.windows[c];
        }
        f.msgs.clear();
        for msg in &w.net {
            debug_assert!(msg.acks < 256 && msg.line < 256);
            f.msgs.push(FlatMsg {
                line: msg.line as u8,
                src: msg.src as u8,
                dst: msg.dst as u8,
                kind: msg.kind as u8,
                requester: msg.requester as u8,
                acks: msg.acks as u8,
                flags: msg.exclusive as u8 | (msg.dirty as u8) << 1 | (msg.data.is_some() as u8) << 2,
                word: msg.data.as_ref().map_or(0, |d| d[0] as u8),
                fifo: self.forward_order.in_fifo(msg.kind),
            });
        }
    }

    /// Write the loaded world renamed by (`cmap`, `vmap`) into `out`; `cinv`, `vinv`
    /// are the inverses.
    pub(super) fn encode(&mut self, cinv: &[u8; 8], cmap: &[u8; 8], vmap: &[u8; 8], vinv: &[u8; 8], out: &mut Vec<u8>) {
        let f = &self.flat;
        let id = |n: u8| if (n as usize) < self.caches { cmap[n as usize] } else { n };
        out.clear();
        for line in 0..self.lines {
            out.push(rename(vmap, f.golden[line]));
        }
        for line in 0..self.lines {
            out.push(rename(vmap, f.memory[line]));
        }
        for line in 0..self.lines {
            let (state, owner, mask, extra, place) = f.dir[line];
            out.push(state);
            out.push(if owner == NONE { NONE } else { cmap[owner as usize] });
            out.push(permute_mask(mask, cmap));
            out.push(extra);
            out.push(place);
        }
        for &c in cinv.iter().take(self.caches) {
            let c = c as usize;
            for line in 0..self.lines {
                let (state, word) = f.lines[c][line];
                out.push(state);
                out.push(if state & 0x7F == L1State::I as u8 { 0 } else { rename(vmap, word) });
            }
            match &f.mshr[c] {
                None => out.push(NONE),
                Some(x) => {
                    out.push(x.line);
                    out.push(x.writes as u8);
                    if x.writes {
                        for &old in vinv.iter().take(self.values) {
                            out.push(rename(vmap, x.table[old as usize]));
                        }
                    }
                    out.push(x.acks as u8);
                }
            }
            out.push(permute_mask(f.windows[c], vmap));
        }
        self.unordered.clear();
        self.forward.clear();
        for m in &f.msgs {
            let word = if m.flags & 4 != 0 { rename(vmap, m.word) } else { 0 };
            let p = pack(m.line, id(m.src), id(m.dst), m.kind, id(m.requester), m.acks, m.flags, word);
            if m.fifo {
                self.forward.push(p);
            } else {
                self.unordered.push(p);
            }
        }
        self.unordered.sort_unstable();
        // Stable: the FIFO order inside a (source, destination, line) group stays.
        self.forward.sort_by_key(|p| p >> FIFO_KEY_SHIFT);
        for list in [&self.unordered, &self.forward] {
            out.push(list.len() as u8);
            for p in list.iter() {
                out.extend_from_slice(&(p >> 8).to_be_bytes()[1..]);
            }
        }
    }

    fn unpack(&self, p: u64) -> Msg {
        let byte = |shift: u32| (p >> shift) & 0xFF;
        let kind = MsgKind::ALL[((p >> 36) & 0xF) as usize];
        let flags = (p >> 17) & 7;
        let src = byte(48) as u16;
        let mut msg = Msg::control(kind, byte(56), src, byte(40) as u16);
        msg.requester = byte(28) as u16;
        msg.acks = byte(20) as u16;
        msg.exclusive = flags & 1 != 0;
        msg.dirty = flags & 2 != 0;
        if flags & 4 != 0 {
            msg.data = Some(smallvec![byte(9)]);
        }
        msg.from_memory = kind == MsgKind::Data && src == self.dir_node;
        msg.tags = Tags::NONE;
        msg
    }

    /// Rebuild a world from an encoding (in the encoding's own names).
    pub fn decode(&self, bytes: &[u8], w: &mut World) {
        let mut r = Reader { bytes, at: 0 };
        for line in 0..self.lines {
            w.golden[line] = r.byte();
        }
        w.dir.memory.clear();
        for line in 0..self.lines {
            let word = r.byte() as u64;
            w.dir.memory.insert(line as u64, smallvec![word]);
        }
        w.dir.entries.clear();
        w.dir.lru.clear();
        let mut places: SmallVec<[(u8, u64); 8]> = SmallVec::new();
        for line in 0..self.lines {
            let state = DirState::ALL[r.byte() as usize];
            let owner = r.byte();
            let mask = r.byte();
            let extra = r.byte();
            let place = r.byte();
            if state != DirState::I || owner != NONE || mask != 0 || extra != 0 {
                let sharers: SharerSet = (0..8).filter(|b| mask & (1 << b) != 0).collect();
                let owner = (owner != NONE).then_some(owner as u16);
                let (broadcast, pending) = (extra & 1 != 0, (extra >> 1) as u16);
                w.dir.entries.insert(line as u64, DirEntry { state, owner, sharers, broadcast, pending });
            }
            if place != NONE {
                places.push((place, line as u64));
            }
        }
        places.sort_unstable();
        for (_, line) in places {
            let set = w.dir.set_of(line);
            w.dir.lru.entry(set).or_default().push(line);
        }
        for c in 0..self.caches {
            let l1 = &mut w.l1s[c];
            l1.wb.clear();
            for line in 0..self.lines {
                let sb = r.byte();
                let word = r.byte() as u64;
                World::set_line(l1, line, L1State::ALL[(sb & 0x7F) as usize], sb & 0x80 != 0, word);
            }
            let line = r.byte();
            l1.mshr = if line == NONE {
                None
            } else {
                let op = self.read_op(&mut r);
                let acks = r.byte() as i8 as i32;
                Some(Mshr { line: line as u64, access: Access { addr: line as u64 * LINE_BYTES, op }, acks })
            };
            w.windows[c] = r.byte();
        }
        w.net.clear();
        for _ in 0..2 {
            let n = r.byte();
            for _ in 0..n {
                let mut b = [0u8; 8];
                b[1..].copy_from_slice(&r.bytes[r.at..r.at + 7]);
                r.at += 7;
                w.net.push(self.unpack(u64::from_be_bytes(b) << 8));
            }
        }
        debug_assert_eq!(r.at, bytes.len());
    }

    /// An access from its table of new words: a constant is a store, the identity
    /// and single-point changes are compare-exchanges.
    fn read_op(&self, r: &mut Reader) -> MemOp {
        if r.byte() == 0 {
            return MemOp::Load;
        }
        let table: SmallVec<[u8; 8]> = (0..self.values).map(|_| r.byte()).collect();
        if table.iter().all(|&t| t == table[0]) {
            return MemOp::Store(table[0] as u64);
        }
        let changed: SmallVec<[usize; 8]> = (0..self.values).filter(|&v| table[v] as usize != v).collect();
        match changed.as_slice() {
            [] => MemOp::CompareExchange { expected: 0, new: 0 },
            [e] => MemOp::CompareExchange { expected: *e as u64, new: table[*e] as u64 },
            _ => unreachable!("no access computes the word table {table:?}"),
        }
    }
}

/// A message in 56 bits (shifted left by 8): line, source, destination (the FIFO
/// key, on top), kind, requester, acks, flags, word.
#[allow(clippy::too_many_arguments)]
#[inline]
fn pack(line: u8, src: u8, dst: u8, kind: u8, requester: u8, acks: u8, flags: u8, word: u8) -> u64 {
    (line as u64) << 56
        | (src as u64) << 48
        | (dst as u64) << 40
        | (kind as u64) << 36
        | (requester as u64) << 28
        | (acks as u64) << 20
        | (flags as u64) << 17
        | (word as u64) << 9
}

/// Bits 40.. of a packed message: line, source, destination.
const FIFO_KEY_SHIFT: u32 = 40;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    #[inline]
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.at];
        self.at += 1;
        b
    }
}

/// Rename a word; the poison word (see `state::POISON`) is no value and stays.
#[inline]
pub(super) fn rename(vmap: &[u8; 8], v: u8) -> u8 {
    if v == POISON { POISON } else { vmap[v as usize] }
}

/// Rename the members of an 8-bit set.
#[inline]
pub(super) fn permute_mask(mask: u8, map: &[u8; 8]) -> u8 {
    let mut out = 0u8;
    let mut m = mask;
    while m != 0 {
        let b = m.trailing_zeros() as usize;
        out |= 1 << map[b];
        m &= m - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_bytes_follow_declaration_order() {
        for (i, s) in L1State::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        for (i, s) in DirState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        assert!(L1State::ALL.len() < 0x80, "bit 7 of a line's byte is the dirty bit");
        for (i, k) in MsgKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        assert!(MsgKind::ALL.len() <= 16, "a packed message has 4 bits of kind");
    }

    #[test]
    fn messages_pack_and_unpack() {
        let opts = super::super::CheckOptions::new(crate::protocol::Protocol::Moesi, 3, 2, 2);
        let m = Model::new(&opts);
        let codec = Codec::new(&m);
        let p = pack(1, 3, 2, MsgKind::Data as u8, 0, 2, 0b110, 1);
        let msg = codec.unpack(p);
        assert_eq!((msg.kind, msg.line, msg.src, msg.dst, msg.requester, msg.acks), (MsgKind::Data, 1, 3, 2, 0, 2));
        assert!(!msg.exclusive && msg.dirty && msg.from_memory);
        assert_eq!(msg.data.as_deref(), Some(&[1u64][..]));
        assert_eq!(p >> FIFO_KEY_SHIFT, 1 << 16 | 3 << 8 | 2, "the FIFO key is line, source, destination");
    }
}
