//! Gossip with push-pull rounds: every round (a timer of `round` cycles)
//! a process raises its own heartbeat counter, makes its next counter
//! operation if it has one left, marks as failed the members whose heartbeat
//! has not risen for `fail_after` cycles of its clock, and picks one other
//! process at random among those it believes alive. It sends that peer a
//! `Push` of its whole state (membership table and counters); the peer
//! merges it and answers with a `Pull` of its own merged state, which the
//! initiator merges. After a round both hold the join of their states.
//!
//! **Membership** (`membership.rs`): a table of `(incarnation, heartbeat)`
//! per member, merged by taking the fresher; a member whose heartbeat rose
//! is (again) alive, one whose heartbeat stalled for `fail_after` is failed
//! and leaves the view. Its entry stays as a tombstone (so older gossip
//! cannot bring it back); a fresher heartbeat re-admits it (a pause ended,
//! or a new incarnation after a restart).
//!
//! **Counters** (`crdt.rs`): a G-counter of every operation and a
//! PN-counter that operations alternately increment and decrement, merged by
//! entrywise max.
//!
//! **Durable state.** A process's own counter entries and operations made
//! are saved at each operation, and its incarnation at each start: a
//! process back from a crash-recovery must not count its own entry again
//! from zero (a lower entry would be lost under max, and later increments
//! with it), and its heartbeats must outrank its previous life's. What it
//! learned of others is volatile: gossip brings it back.
//!
//! **Randomness.** The runtime refuses `ChooseRandom`, so the peer is drawn
//! from a SplitMix64 generator kept in the state, seeded by the process's id
//! and incarnation: deterministic per run, different per process.
//!
//! **Cost.** Two messages per process per round (`Push`, `Pull`), `2N` per
//! round for the system, each of about `3N` counts (the table and both
//! counters). A member's news reaches every process in `O(log N)` rounds
//! (epidemic spreading; push-pull about `log₂ N + ln ln N`).
//!
//! **Primitives.** Push and Pull are a flush-before-handoff to the successor
//! directly (6b: the whole state goes with the message, nothing is kept back);
//! the heartbeat table is silent withdrawal discovered by timeout (7b).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::crdt::{GCounter, PnCounter};
use super::membership::{Member, Table};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;
use crate::rng::SplitMix64;

/// What a round ships: the table and both counters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Digest {
    pub table: Vec<(u32, u64)>,
    pub g: GCounter,
    pub pn: PnCounter,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GossipMsg {
    Push(Digest),
    Pull(Digest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GossipTimer {
    Round,
}

/// What survives a crash: (incarnation, operations made, own entries of the
/// G-counter, the PN-counter's increments and decrements).
pub type Saved = (u32, u32, u64, u64, u64);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GossipState {
    pub inc: u32,
    /// Rounds in this incarnation (the own heartbeat).
    pub rounds: u32,
    /// Operations made (all incarnations).
    pub done: u32,
    /// The clock reading the current handler saw (0 untimed).
    pub now: u64,
    pub rng: u64,
    pub table: Table,
    pub g: GCounter,
    pub pn: PnCounter,
}

/// The process every core runs.
#[derive(Clone, Debug)]
pub struct Gossiper {
    pub processes: usize,
    /// Cycles between rounds.
    pub round: u64,
    /// Cycles without a heartbeat rise before a member is failed.
    pub fail_after: u64,
    /// Counter operations per process.
    pub ops: Vec<u32>,
    /// The clock reading at which a process's part is done.
    pub end: u64,
    /// Merge by adding instead of max (the broken variant).
    pub sum: bool,
}

impl Gossiper {
    fn digest(&self, s: &GossipState) -> Digest {
        Digest { table: s.table.members.iter().map(|m| m.hb).collect(), g: s.g.clone(), pn: s.pn.clone() }
    }

    fn merge(&self, me: usize, s: &mut GossipState, d: &Digest) {
        s.table.merge(me, &d.table, s.now, self.sum);
        s.g.merge(&d.g, self.sum);
        s.pn.merge(&d.pn, self.sum);
    }

    fn saved(&self, me: usize, s: &GossipState) -> Saved {
        (s.inc, s.done, s.g.0[me], s.pn.p.0[me], s.pn.n.0[me])
    }
}

impl Actor for Gossiper {
    type Msg = GossipMsg;
    type State = GossipState;
    type Timer = GossipTimer;
    type Random = ();
    type Storage = Saved;

    fn on_start(&self, id: Id, storage: &Option<Saved>, o: &mut Out<Self>) -> GossipState {
        let me = usize::from(id);
        let n = self.processes;
        let (inc, done, g, p, m) = storage.map_or((0, 0, 0, 0, 0), |(inc, done, g, p, m)| (inc + 1, done, g, p, m));
        let mut s = GossipState {
            inc,
            rounds: 0,
            done,
            now: 0,
            rng: (me as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(inc),
            table: Table::new(n),
            g: GCounter::new(n),
            pn: PnCounter::new(n),
        };
        s.table.members[me].hb = (inc, 0);
        (s.g.0[me], s.pn.p.0[me], s.pn.n.0[me]) = (g, p, m);
        o.save(self.saved(me, &s));
        o.set_timer(GossipTimer::Round, cycles(self.round..self.round + 1));
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<GossipState>, src: Id, msg: GossipMsg, o: &mut Out<Self>) {
        let me = usize::from(id);
        let s = state.to_mut();
        match msg {
            GossipMsg::Push(d) => {
                self.merge(me, s, &d);
                o.send(src, GossipMsg::Pull(self.digest(s)));
            }
            GossipMsg::Pull(d) => self.merge(me, s, &d),
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<GossipState>, _timer: &GossipTimer, o: &mut Out<Self>) {
        let me = usize::from(id);
        let s = state.to_mut();
        o.set_timer(GossipTimer::Round, cycles(self.round..self.round + 1));
        s.rounds += 1;
        s.table.members[me] = Member { hb: (s.inc, u64::from(s.rounds)), seen: Some(s.now), failed: false };
        if s.done < self.ops[me] {
            s.g.increment(me);
            s.pn.add(me, s.done.is_multiple_of(2));
            s.done += 1;
            o.save(self.saved(me, s));
        }
        s.table.expire(me, s.now, self.fail_after);
        let alive: Vec<usize> = (0..self.processes).filter(|&q| q != me && !s.table.members[q].failed).collect();
        let others: Vec<usize> = (0..self.processes).filter(|&q| q != me).collect();
        let pool = if alive.is_empty() { others } else { alive };
        if pool.is_empty() {
            return;
        }
        let mut rng = SplitMix64::new(s.rng);
        let peer = pool[rng.below(pool.len() as u64) as usize];
        s.rng = rng.next_u64();
        o.send(Id::from(peer), GossipMsg::Push(self.digest(s)));
    }
}

impl OnCore for Gossiper {
    fn finished(&self, state: &GossipState) -> bool {
        state.now >= self.end
    }

    fn read_clock(&self, state: &mut GossipState, reading: u64) {
        state.now = reading;
    }

    /// `op [done]` at an operation; `view [inc, bitmask]` when the set of members believed alive changes;
    /// `counters [inc, g…, p…, n…]` when a counter changes. A restart notes its first view and counters (`before` is
    /// `None`).
    fn notes(&self, before: Option<&GossipState>, after: &GossipState, notes: &mut Vec<Note>) {
        // The operation first: the monitors read `made` before the counters.
        if before.is_some_and(|b| b.done != after.done) {
            notes.push(Note::new("op", &[u64::from(after.done)]));
        }
        let view = after.table.view();
        if before.is_none_or(|b| b.table.view() != view) {
            notes.push(Note::new("view", &[u64::from(after.inc), view]));
        }
        if before.is_none_or(|b| b.g != after.g || b.pn != after.pn) {
            let mut w = vec![u64::from(after.inc)];
            w.extend(after.g.0.iter().chain(&after.pn.p.0).chain(&after.pn.n.0));
            notes.push(Note::new("counters", &w));
        }
    }

    fn kind(msg: &GossipMsg) -> &'static str {
        match msg {
            GossipMsg::Push(_) => "push",
            GossipMsg::Pull(_) => "pull",
        }
    }

    fn primitive(_msg: &GossipMsg) -> Primitive {
        Primitive::FlushToSuccessor
    }
}
