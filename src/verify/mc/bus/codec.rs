//! The bus world's byte encoding, its decoding, and its canonical form.
//!
//! Under a renaming of cache ids (`cmap`: old → new, `cinv` its inverse) and
//! of values (`vmap`, `vinv`), a state is written as, in order:
//!
//! * per line: the golden word; memory's state, owner (`NONE` unless memory is
//!   in M: the owner is read only then) and word;
//! * per cache, in new-id order: per line its snooping state (the dirty bit in
//!   bit 7) and word (0 when I); its MSHR (`NONE`, or line, whether it writes,
//!   and its table of new words, as the directory checker writes it); its load
//!   window; its requests waiting for the bus, in FIFO order (kind, line);
//! * per controller (caches in new-id order, then memory), per line: its snoop
//!   queue in bus order, each message in 7 bytes (`msg`);
//! * the data bus, as a sorted multiset of messages.
//!
//! Symmetry: caches are interchangeable (the bus arbitrates among all of them
//! alike, memory names a cache only as an owner), and so are values. The
//! canonical form is the least encoding over *every* renaming of caches and
//! values: exact, with no signature to get wrong, and cheap at the sizes the
//! checker runs (3 caches and 2 values: 12 encodings per new state).

use smallvec::smallvec;

use super::super::encoding::{IDENT, NONE, permute_mask, rename};
use super::super::state::LINE_BYTES;
use super::super::symmetry::next_permutation;
use super::BusModel;
use super::world::BusWorld;
use crate::model::l1::Mshr;
use crate::model::snoop::MemLine;
use crate::model::{Access, MemOp, Msg, MsgKind};
use crate::protocol::snoop_table::{MemState, SnoopState};

/// Renamings to try and a scratch buffer.
pub(crate) struct BusCodec {
    caches: usize,
    lines: usize,
    values: usize,
    cperms: Vec<[u8; 8]>,
    vperms: Vec<[u8; 8]>,
    scratch: Vec<u8>,
}

/// Every permutation of `0..n` (just the identity when `on` is false).
fn perms(n: usize, on: bool) -> Vec<[u8; 8]> {
    let mut p = IDENT;
    let mut all = vec![p];
    while on && next_permutation(&mut p[..n]) {
        all.push(p);
    }
    all
}

impl BusCodec {
    pub fn new(m: &BusModel) -> Self {
        BusCodec {
            caches: m.caches,
            lines: m.lines,
            values: m.values,
            cperms: perms(m.caches, m.symmetry.caches),
            vperms: perms(m.values, m.symmetry.values),
            scratch: Vec::with_capacity(256),
        }
    }

    /// The least encoding of `w` over the renamings.
    pub fn canonical(&mut self, w: &BusWorld, out: &mut Vec<u8>) {
        let mut first = true;
        for ci in 0..self.cperms.len() {
            let cinv = self.cperms[ci];
            let mut cmap = IDENT;
            for (new, &old) in cinv.iter().enumerate().take(self.caches) {
                cmap[old as usize] = new as u8;
            }
            for vi in 0..self.vperms.len() {
                let vmap = self.vperms[vi];
                let mut s = std::mem::take(&mut self.scratch);
                self.encode(w, &cinv, &cmap, &vmap, &mut s);
                if first || s < *out {
                    std::mem::swap(&mut s, out);
                    first = false;
                }
                self.scratch = s;
            }
        }
    }

    /// The encoding in the world's own names.
    pub fn plain(&self, w: &BusWorld, out: &mut Vec<u8>) {
        self.encode(w, &IDENT, &IDENT, &IDENT, out);
    }

    fn encode(&self, w: &BusWorld, cinv: &[u8; 8], cmap: &[u8; 8], vmap: &[u8; 8], out: &mut Vec<u8>) {
        let node = |n: u16| if (n as usize) < self.caches { cmap[n as usize] } else { n as u8 };
        let mut vinv = [0u8; 8];
        for v in 0..self.values {
            vinv[vmap[v] as usize] = v as u8;
        }
        out.clear();
        for line in 0..self.lines {
            out.push(rename(vmap, w.golden[line]));
            match w.memory.lines.get(&(line as u64)) {
                Some(x) => {
                    out.push(x.state as u8);
                    out.push(if x.state == MemState::M { cmap[x.owner as usize] } else { NONE });
                    out.push(rename(vmap, x.data[0] as u8));
                }
                None => out.extend_from_slice(&[MemState::IorS as u8, NONE, rename(vmap, 0)]),
            }
        }
        for &c in cinv.iter().take(self.caches) {
            let c = c as usize;
            let l1 = &w.l1s[c];
            for line in 0..self.lines {
                let state = w.state(c, line);
                let (dirty, word) = match state {
                    SnoopState::I => (false, 0),
                    _ => match l1.array.find(line as u64) {
                        Some(i) => (l1.array.frame(i).dirty, rename(vmap, l1.array.data(i)[0] as u8)),
                        None => {
                            let e = l1.wb.iter().find(|e| e.line == line as u64).expect("a line not I is held");
                            (e.dirty, rename(vmap, e.data[0] as u8))
                        }
                    },
                };
                out.push(state as u8 | (dirty as u8) << 7);
                out.push(word);
            }
            match &l1.mshr {
                None => out.push(NONE),
                Some(x) => {
                    out.push(x.line as u8);
                    let writes = x.access.op.writes();
                    out.push(writes as u8);
                    if writes {
                        for &old in vinv.iter().take(self.values) {
                            out.push(rename(vmap, x.access.op.apply(old as u64).1 as u8));
                        }
                    }
                }
            }
            out.push(permute_mask(w.windows[c], vmap));
            out.push(w.queues[c].len() as u8);
            for q in &w.queues[c] {
                out.push(q.kind as u8);
                out.push(q.line as u8);
            }
        }
        let nodes = cinv.iter().take(self.caches).map(|&c| c as usize).chain([self.caches]);
        for n in nodes {
            for q in &w.stalled[n] {
                out.push(q.len() as u8);
                for msg in q {
                    out.extend_from_slice(&pack(msg, &node, vmap));
                }
            }
        }
        let mut data: smallvec::SmallVec<[[u8; 7]; 8]> = w.data.iter().map(|msg| pack(msg, &node, vmap)).collect();
        data.sort_unstable();
        out.push(data.len() as u8);
        for d in &data {
            out.extend_from_slice(d);
        }
    }

    /// Rebuild a world from an encoding, in the encoding's own names.
    pub fn decode(&self, bytes: &[u8], w: &mut BusWorld) {
        let mut at = 0usize;
        let mut byte = || {
            let b = bytes[at];
            at += 1;
            b
        };
        w.memory.lines.clear();
        for line in 0..self.lines {
            w.golden[line] = byte();
            let state = MemState::ALL[byte() as usize];
            let owner = byte();
            let word = byte();
            let owner = if owner == NONE { 0 } else { owner as u16 };
            w.memory.lines.insert(line as u64, MemLine { state, owner, data: smallvec![word as u64] });
        }
        for c in 0..self.caches {
            let (l1, side) = (&mut w.l1s[c], &mut w.sides[c]);
            l1.wb.clear();
            side.clear_transients();
            for line in 0..self.lines {
                let sb = byte();
                let word = byte() as u64;
                let state = SnoopState::ALL[(sb & 0x7F) as usize];
                super::super::state::World::set_line(l1, line, state.image(), sb & 0x80 != 0, word);
                if !state.is_stable() {
                    side.set_transient(line as u64, state);
                }
            }
            let line = byte();
            l1.mshr = (line != NONE).then(|| {
                let op = if byte() == 0 {
                    MemOp::Load
                } else {
                    let table: Vec<u8> = (0..self.values).map(|_| byte()).collect();
                    op_of_table(&table)
                };
                Mshr { line: line as u64, access: Access { addr: line as u64 * LINE_BYTES, op }, acks: 0 }
            });
            w.windows[c] = byte();
            w.queues[c].clear();
            for _ in 0..byte() {
                let kind = MsgKind::ALL[byte() as usize];
                let line = byte() as u64;
                w.queues[c].push_back(Msg::control(kind, line, c as u16, self.caches as u16));
            }
        }
        for n in 0..=self.caches {
            for line in 0..self.lines {
                w.stalled[n][line].clear();
                for _ in 0..byte() {
                    let b: [u8; 7] = std::array::from_fn(|_| byte());
                    w.stalled[n][line].push_back(unpack(&b, self.caches));
                }
            }
        }
        w.data.clear();
        for _ in 0..byte() {
            let b: [u8; 7] = std::array::from_fn(|_| byte());
            w.data.push(unpack(&b, self.caches));
        }
        debug_assert_eq!(at, bytes.len());
    }
}

/// An access from its table of new words: a constant is a store, the identity
/// and single-point changes are compare-exchanges (as `CheckOptions::accesses`
/// picks them).
fn op_of_table(table: &[u8]) -> MemOp {
    if table.iter().all(|&t| t == table[0]) {
        return MemOp::Store(table[0] as u64);
    }
    let changed: Vec<usize> = (0..table.len()).filter(|&v| table[v] as usize != v).collect();
    match changed.as_slice() {
        [] => MemOp::CompareExchange { expected: 0, new: 0 },
        [e] => MemOp::CompareExchange { expected: *e as u64, new: table[*e] as u64 },
        _ => unreachable!("no access computes the word table {table:?}"),
    }
}

/// A message in 7 bytes: kind, line, source, destination, requester, flags
/// (exclusive, dirty, has data, from memory), word.
fn pack(msg: &Msg, node: &impl Fn(u16) -> u8, vmap: &[u8; 8]) -> [u8; 7] {
    let flags =
        msg.exclusive as u8 | (msg.dirty as u8) << 1 | (msg.data.is_some() as u8) << 2 | (msg.from_memory as u8) << 3;
    let word = msg.data.as_ref().map_or(0, |d| rename(vmap, d[0] as u8));
    [msg.kind as u8, msg.line as u8, node(msg.src), node(msg.dst), node(msg.requester), flags, word]
}

fn unpack(b: &[u8; 7], caches: usize) -> Msg {
    let mut msg = Msg::control(MsgKind::ALL[b[0] as usize], b[1] as u64, b[2] as u16, b[3] as u16);
    msg.requester = b[4] as u16;
    msg.exclusive = b[5] & 1 != 0;
    msg.dirty = b[5] & 2 != 0;
    if b[5] & 4 != 0 {
        msg.data = Some(smallvec![b[6] as u64]);
    }
    msg.from_memory = b[5] & 8 != 0;
    debug_assert!(msg.src as usize <= caches && msg.dst as usize <= caches);
    msg
}

#[cfg(test)]
mod tests {
    use super::super::super::state::Outcome;
    use super::super::super::{CheckOptions, Symmetry};
    use super::*;
    use crate::config::Interconnect;
    use crate::model::Outbox;
    use crate::protocol::Protocol;

    /// Decoding then encoding gives back the same bytes, on every state a
    /// breadth-first walk of a MOESI system with 2 lines meets (up to 3,000):
    /// the world the search expands is the world it stored.
    #[test]
    fn encodings_round_trip() {
        let opts = CheckOptions {
            symmetry: Symmetry::NONE,
            interconnect: Interconnect::Bus,
            ..CheckOptions::new(Protocol::Moesi, 3, 2, 2)
        };
        let m = BusModel::new(&opts);
        let codec = BusCodec::new(&m);
        let (mut w, mut work) = (BusWorld::new(&m), BusWorld::new(&m));
        let (mut key, mut again, mut actions, mut out) = (Vec::new(), Vec::new(), Vec::new(), Outbox::default());
        codec.plain(&w, &mut key);
        let mut seen = rustc_hash::FxHashSet::default();
        let mut queue = vec![key.clone()];
        seen.insert(key.clone());
        let mut i = 0;
        while i < queue.len() && queue.len() < 3000 {
            codec.decode(&queue[i], &mut w);
            codec.plain(&w, &mut again);
            assert_eq!(again, queue[i]);
            w.actions(&m, &mut actions);
            for &a in &actions {
                codec.decode(&queue[i], &mut work);
                if work.apply(&m, a, &mut out) == Ok(Outcome::Changed) {
                    codec.plain(&work, &mut key);
                    if seen.insert(key.clone()) {
                        queue.push(key.clone());
                    }
                }
            }
            i += 1;
        }
        assert!(queue.len() >= 3000, "only {} states", queue.len());
    }
}
