//! Symmetry reduction: the canonical form of a state.
//!
//! Caches are interchangeable (the directory and the tables never treat one id
//! differently), and so are values (the protocol copies them and the checks only
//! compare them). The canonical form of a state `s` is the least encoding of
//! `g(s)` over the renamings `g` whose result satisfies a renaming-invariant
//! condition: values first appear in the golden words in increasing order (values
//! absent from the golden words stay free), and caches appear sorted by a
//! signature that does not mention ids. Because the condition is a property of the
//! renamed state alone, `s` and any renaming of `s` pick from the same set of
//! candidates, so they get the same canonical form; the signature only prunes
//! candidates (a tie costs time, never soundness). The cheap signature (a hash of
//! a cache's own lines, MSHR and window, the directory's view of it, and the
//! messages it sends, receives or is named in) leaves ties only between caches
//! that look alike, typically caches that hold nothing.
//!
//! All of this rests on the transitions commuting with renamings. They do for the
//! controllers as the checker runs them; the exceptions are handled where they
//! arise: `ForwardToWrongOwner` names a cache by arithmetic on ids, so it turns
//! cache symmetry off (`CheckOptions::effective_symmetry`), and a fresh frame's
//! zeros would single out value 0, so frames waiting for data hold the poison word
//! instead (`state::POISON`), which no renaming moves.

use smallvec::SmallVec;

use super::encoding::{Codec, IDENT, NONE, permute_mask, rename};
use super::state::{POISON, World};
use crate::protocol::l1_table::L1State;

impl Codec {
    /// The canonical encoding of `w` into `out`.
    pub fn canonical(&mut self, w: &World, out: &mut Vec<u8>) {
        self.load(w);
        if !self.symmetry.caches && !self.symmetry.values {
            self.encode(&IDENT, &IDENT, &IDENT, &IDENT, out);
            return;
        }
        self.value_candidates();
        let mut first = true;
        let vmaps = std::mem::take(&mut self.vmaps);
        for vmap in &vmaps {
            let mut vinv = [0u8; 8];
            for v in 0..self.values {
                vinv[vmap[v] as usize] = v as u8;
            }
            if !self.symmetry.caches {
                self.consider(&IDENT, &IDENT, vmap, &vinv, out, &mut first);
                continue;
            }
            // Sort caches by signature; ties are enumerated.
            let mut sig = [0u64; 8];
            self.signatures(vmap, &vinv, &mut sig);
            self.sigs.clear();
            for (c, &h) in sig.iter().enumerate().take(self.caches) {
                self.sigs.push((h, c as u8));
            }
            self.sigs.sort_unstable();
            let mut cinv = [0u8; 8];
            for (p, &(_, c)) in self.sigs.iter().enumerate() {
                cinv[p] = c;
            }
            let mut groups: SmallVec<[(usize, usize); 4]> = SmallVec::new();
            let mut start = 0;
            for p in 1..=self.caches {
                if p == self.caches || self.sigs[p].0 != self.sigs[start].0 {
                    if p - start > 1 {
                        groups.push((start, p));
                    }
                    start = p;
                }
            }
            loop {
                let mut cmap = [0u8; 8];
                for p in 0..self.caches {
                    cmap[cinv[p] as usize] = p as u8;
                }
                self.consider(&cinv, &cmap, vmap, &vinv, out, &mut first);
                // Odometer over the tie groups: each segment starts ascending and
                // `next_permutation` returns to ascending when it wraps.
                let mut advanced = false;
                for &(a, b) in groups.iter().rev() {
                    if next_permutation(&mut cinv[a..b]) {
                        advanced = true;
                        break;
                    }
                }
                if !advanced {
                    break;
                }
            }
        }
        self.vmaps = vmaps;
    }

    /// Encode one candidate renaming and keep the least encoding in `out`.
    fn consider(
        &mut self,
        cinv: &[u8; 8],
        cmap: &[u8; 8],
        vmap: &[u8; 8],
        vinv: &[u8; 8],
        out: &mut Vec<u8>,
        first: &mut bool,
    ) {
        if *first {
            self.encode(cinv, cmap, vmap, vinv, out);
            *first = false;
            return;
        }
        let mut s = std::mem::take(&mut self.scratch);
        self.encode(cinv, cmap, vmap, vinv, &mut s);
        if s < *out {
            std::mem::swap(&mut s, out);
        }
        self.scratch = s;
    }

    /// The value renamings to try: golden words name values in order of first
    /// appearance; the remaining values may go to the remaining names in any order.
    fn value_candidates(&mut self) {
        self.vmaps.clear();
        if !self.symmetry.values {
            self.vmaps.push(IDENT);
            return;
        }
        let mut vmap = [NONE; 8];
        let mut next = 0u8;
        for &g in &self.flat.golden[..self.lines] {
            if g != POISON && vmap[g as usize] == NONE {
                vmap[g as usize] = next;
                next += 1;
            }
        }
        // Free values, in increasing order, and the names left for them.
        let (mut free, mut names) = ([0u8; 8], [0u8; 8]);
        let mut n = 0;
        for v in 0..self.values as u8 {
            if vmap[v as usize] == NONE {
                free[n] = v;
                names[n] = next + n as u8;
                n += 1;
            }
        }
        loop {
            let mut m = vmap;
            for i in 0..n {
                m[free[i] as usize] = names[i];
            }
            self.vmaps.push(m);
            if !next_permutation(&mut names[..n]) {
                break;
            }
        }
    }

    /// For every cache, a hash of what it looks like without naming any cache id:
    /// its lines, MSHR and window, the directory's view of it, and the messages it
    /// sends, receives or is named in (as an unordered sum).
    fn signatures(&self, vmap: &[u8; 8], vinv: &[u8; 8], sigs: &mut [u64; 8]) {
        let f = &self.flat;
        let dir = self.dir_node as u8;
        let mut msgs = [0u64; 8];
        for m in &f.msgs {
            let word = if m.flags & 4 != 0 { rename(vmap, m.word) as u64 } else { 0x1FF };
            let ends = (m.src == dir) as u64 | ((m.dst == dir) as u64) << 1;
            let body = (m.kind as u64) << 3 | (m.line as u64) << 8 | (m.acks as u64) << 16 | word << 24;
            // Each cache the message names counts it once, with its roles.
            let mut seen = 0u8;
            for me in [m.src, m.dst, m.requester] {
                if me >= dir || seen & (1 << me) != 0 {
                    continue;
                }
                seen |= 1 << me;
                let roles = (m.src == me) as u64 | ((m.dst == me) as u64) << 1 | ((m.requester == me) as u64) << 2;
                let mut x = Mix::default();
                x.add(roles | body);
                x.add(m.flags as u64 | ends << 3);
                msgs[me as usize] = msgs[me as usize].wrapping_add(x.0);
            }
        }
        for c in 0..self.caches {
            let mut h = Mix::default();
            for line in 0..self.lines {
                let (state, word) = f.lines[c][line];
                let word = if state & 0x7F == L1State::I as u8 { 0 } else { rename(vmap, word) };
                let (_, owner, mask, _, _) = f.dir[line];
                let view = (owner == c as u8) as u64 | (((mask >> c) & 1) as u64) << 1;
                h.add(state as u64 | (word as u64) << 8 | view << 16);
            }
            match &f.mshr[c] {
                None => h.add(0xFFFF),
                Some(x) => {
                    h.add(x.line as u64 | (x.acks as u8 as u64) << 8 | (x.writes as u64) << 16);
                    if x.writes {
                        for &old in vinv.iter().take(self.values) {
                            h.add(rename(vmap, x.table[old as usize]) as u64);
                        }
                    }
                }
            }
            h.add(permute_mask(f.windows[c], vmap) as u64);
            h.add(msgs[c]);
            sigs[c] = h.0;
        }
    }
}

/// A small multiplicative mixer (order-sensitive).
#[derive(Default)]
struct Mix(u64);

impl Mix {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The next permutation in lexicographic order; false (and back to ascending) after
/// the last one.
pub(crate) fn next_permutation(a: &mut [u8]) -> bool {
    if a.len() < 2 {
        return false;
    }
    let mut i = a.len() - 1;
    while i > 0 && a[i - 1] >= a[i] {
        i -= 1;
    }
    if i == 0 {
        a.reverse();
        return false;
    }
    let mut j = a.len() - 1;
    while a[j] <= a[i - 1] {
        j -= 1;
    }
    a.swap(i - 1, j);
    a[i..].reverse();
    true
}

#[cfg(test)]
mod tests {
    use super::super::state::Model;
    use super::super::{CheckOptions, Symmetry};
    use super::*;
    use crate::protocol::Protocol;

    #[test]
    fn next_permutation_enumerates_all_and_wraps() {
        let mut a = [0u8, 1, 2, 3];
        let mut n = 1;
        while next_permutation(&mut a) {
            n += 1;
        }
        assert_eq!(n, 24);
        assert_eq!(a, [0, 1, 2, 3]);
    }

    /// Up to `limit` canonical states of a system, breadth-first, with a world for
    /// each.
    fn sample(opts: &CheckOptions, limit: usize) -> (Model, Vec<Vec<u8>>) {
        use super::super::state::Outcome;
        use crate::model::Outbox;
        let m = Model::new(opts);
        let mut codec = Codec::new(&m);
        let mut seen = rustc_hash::FxHashSet::default();
        let mut queue = Vec::new();
        let mut key = Vec::new();
        codec.canonical(&World::new(&m), &mut key);
        seen.insert(key.clone());
        queue.push(key.clone());
        let (mut base, mut work) = (World::new(&m), World::new(&m));
        let (mut actions, mut out) = (Vec::new(), Outbox::default());
        let mut i = 0;
        while i < queue.len() && queue.len() < limit {
            codec.decode(&queue[i], &mut base);
            base.actions(&m, &mut actions);
            for &a in &actions {
                work.restore_all(&base);
                if work.apply(&m, a, &mut out) == Ok(Outcome::Changed) {
                    codec.canonical(&work, &mut key);
                    if seen.insert(key.clone()) {
                        queue.push(key.clone());
                    }
                }
            }
            i += 1;
        }
        (m, queue)
    }

    #[test]
    fn encodings_round_trip() {
        let opts = CheckOptions { symmetry: Symmetry::NONE, ..CheckOptions::new(Protocol::Moesi, 3, 2, 2) };
        let (m, states) = sample(&opts, 3000);
        let mut codec = Codec::new(&m);
        let mut w = World::new(&m);
        let mut again = Vec::new();
        for k in &states {
            codec.decode(k, &mut w);
            codec.canonical(&w, &mut again);
            assert_eq!(&again, k);
        }
    }

    /// Every renaming of caches and values of a state has the same canonical form:
    /// the property symmetry reduction rests on.
    #[test]
    fn canonical_form_ignores_names() {
        for protocol in [Protocol::Mesi, Protocol::Moesi] {
            let opts = CheckOptions::new(protocol, 3, 2, 3);
            let (m, states) = sample(&opts, 1500);
            let mut codec = Codec::new(&m);
            let (mut w, mut renamed) = (World::new(&m), World::new(&m));
            let (mut bytes, mut key) = (Vec::new(), Vec::new());
            for k in states.iter().step_by(7) {
                codec.decode(k, &mut w);
                codec.load(&w);
                let mut cinv = [0u8, 1, 2, 3, 4, 5, 6, 7];
                loop {
                    let mut vinv = [0u8, 1, 2, 3, 4, 5, 6, 7];
                    loop {
                        let (mut cmap, mut vmap) = (IDENT, IDENT);
                        for i in 0..3 {
                            cmap[cinv[i] as usize] = i as u8;
                            vmap[vinv[i] as usize] = i as u8;
                        }
                        codec.encode(&cinv, &cmap, &vmap, &vinv, &mut bytes);
                        codec.decode(&bytes, &mut renamed);
                        codec.canonical(&renamed, &mut key);
                        assert_eq!(&key, k, "{protocol}: renaming caches {cinv:?} values {vinv:?}");
                        codec.load(&w);
                        if !next_permutation(&mut vinv[..3]) {
                            break;
                        }
                    }
                    if !next_permutation(&mut cinv[..3]) {
                        break;
                    }
                }
            }
        }
    }
}
