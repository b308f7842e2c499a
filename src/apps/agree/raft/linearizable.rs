//! Linearizability of the key-value clients' history (Herlihy and Wing
//! 1990), checked by the search of Wing and Gong with Lowe's memo of
//! (operations linearized, value) pairs, key by key: linearizability is
//! local (a history is linearizable iff its restriction to each object is),
//! and a key holds one value, so the memo is small.
//!
//! The history comes from the clients' `invoke` and `return` notes, each at
//! the cycle its handler started. Operation `p` precedes `o` in real time iff
//! `p` returned before `o` was invoked (`ret(p) < inv(o)`; at the same cycle
//! they are concurrent). An operation with no return (its client crashed, or
//! the run ended) is pending: it may be linearized anywhere after its
//! invocation, or not at all. The search places, one at a time, an operation
//! invoked no later than every unplaced operation's return, checking its
//! output against the sequential store (`Kv::step`); it succeeds when every
//! completed operation is placed.

use std::collections::{BTreeMap, HashSet};

use super::kv::{Kv, KvCommand};
use crate::exec::actor::Noted;
use crate::model::network::Cycle;

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub client: usize,
    pub seq: u32,
    pub command: KvCommand,
    pub invoked: Cycle,
    /// When it returned and the output's word; `None`: pending.
    pub returned: Option<(Cycle, u64)>,
}

/// The history the clients noted, in invocation order.
pub fn history(notes: &[Noted]) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut open: BTreeMap<(usize, u32), usize> = BTreeMap::new();
    for n in notes {
        let w = &n.note.words;
        match n.note.kind {
            "invoke" => {
                if let Some(command) = KvCommand::from_words(&w[1..]) {
                    open.insert((n.core, w[0] as u32), ops.len());
                    ops.push(Op { client: n.core, seq: w[0] as u32, command, invoked: n.cycle, returned: None });
                }
            }
            "return" => {
                if let Some(&i) = open.get(&(n.core, w[0] as u32)) {
                    ops[i].returned = Some((n.cycle, w[1]));
                }
            }
            _ => {}
        }
    }
    ops
}

/// Why a history is not linearizable: the key, and the completed operation
/// the longest linearization found could not place next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub key: u8,
    pub op: Op,
    pub placed: usize,
    pub ops: usize,
}

/// Checks every key's history; the first key that fails.
pub fn check(ops: &[Op]) -> Result<(), Violation> {
    let mut keys: BTreeMap<u8, Vec<&Op>> = BTreeMap::new();
    for o in ops {
        keys.entry(o.command.key()).or_default().push(o);
    }
    for (key, of) in keys {
        check_key(&of).map_err(|(op, placed)| Violation { key, op, placed, ops: of.len() })?;
    }
    Ok(())
}

struct Search<'a> {
    ops: &'a [&'a Op],
    done: Vec<bool>,
    seen: HashSet<(Vec<u64>, u8)>,
    /// The most operations placed, and which were then.
    best: (usize, Vec<bool>),
}

impl Search<'_> {
    fn key(&self, value: u8) -> (Vec<u64>, u8) {
        let mut bits = vec![0u64; self.done.len().div_ceil(64)];
        for (i, &d) in self.done.iter().enumerate() {
            if d {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        (bits, value)
    }

    fn go(&mut self, value: u8, placed: usize) -> bool {
        if placed > self.best.0 {
            self.best = (placed, self.done.clone());
        }
        let open = self.ops.iter().zip(&self.done).filter(|(o, d)| !**d && o.returned.is_some());
        let Some(first_return) = open.map(|(o, _)| o.returned.expect("completed").0).min() else {
            return true;
        };
        for i in 0..self.ops.len() {
            let o = self.ops[i];
            if self.done[i] || o.invoked > first_return {
                continue;
            }
            let mut v = value;
            let out = Kv::step(&mut v, &o.command).word();
            if o.returned.is_some_and(|(_, w)| w != out) {
                continue;
            }
            self.done[i] = true;
            let fresh = self.seen.insert(self.key(v));
            if fresh && self.go(v, placed + 1) {
                return true;
            }
            self.done[i] = false;
        }
        false
    }
}

fn check_key(ops: &[&Op]) -> Result<(), (Op, usize)> {
    let mut s = Search { ops, done: vec![false; ops.len()], seen: HashSet::new(), best: (0, vec![false; ops.len()]) };
    if s.go(0, 0) {
        return Ok(());
    }
    let (placed, done) = s.best;
    let stuck = ops
        .iter()
        .zip(&done)
        .filter(|(o, d)| !**d && o.returned.is_some())
        .min_by_key(|(o, _)| o.returned.map(|r| r.0))
        .map(|(o, _)| (*o).clone())
        .expect("a failing search leaves a completed operation");
    Err((stuck, placed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(client: usize, command: KvCommand, invoked: Cycle, returned: Option<(Cycle, u64)>) -> Op {
        Op { client, seq: 1, command, invoked, returned }
    }

    const W1: KvCommand = KvCommand::Write { key: 0, value: 1 };
    const R: KvCommand = KvCommand::Read { key: 0 };

    #[test]
    fn a_read_after_a_completed_write_must_see_it() {
        // Write 1 returns at 10; a read invoked at 20 returns the old 0.
        let stale = [op(0, W1, 0, Some((10, 0))), op(1, R, 20, Some((30, 0)))];
        let v = check(&stale).unwrap_err();
        assert_eq!((v.key, v.op.command, v.placed), (0, R, 1));
        // Overlapping, the read may go first.
        let overlapping = [op(0, W1, 0, Some((25, 0))), op(1, R, 20, Some((30, 0)))];
        assert_eq!(check(&overlapping), Ok(()));
    }

    #[test]
    fn a_pending_write_may_or_may_not_have_happened() {
        let seen = [op(0, W1, 0, None), op(1, R, 20, Some((30, 1)))];
        let unseen = [op(0, W1, 0, None), op(1, R, 20, Some((30, 0)))];
        assert_eq!(check(&seen), Ok(()));
        assert_eq!(check(&unseen), Ok(()));
        // But not before it was invoked.
        let early = [op(1, R, 0, Some((10, 1))), op(0, W1, 20, None)];
        assert!(check(&early).is_err());
    }

    #[test]
    fn compare_and_set_outcomes_are_checked_against_the_order() {
        let cas = KvCommand::Cas { key: 2, from: 0, to: 3 };
        // Two sequential successful CAS from 0 cannot both succeed.
        let twice = [op(0, cas, 0, Some((5, 1))), op(1, cas, 10, Some((15, 1)))];
        assert_eq!(check(&twice).unwrap_err().key, 2);
        let once = [op(0, cas, 0, Some((5, 1))), op(1, cas, 10, Some((15, 0)))];
        assert_eq!(check(&once), Ok(()));
    }
}
