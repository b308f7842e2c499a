//! Ring election (Chang and Roberts 1979, "An Improved Algorithm for
//! Decentralized Extrema-Finding in Circular Configurations of Processes") on
//! the logical ring of cores `0 → 1 → … → N−1 → 0`. A process that starts an
//! election for epoch `e` marks itself a participant and sends `Elect{e, me}`
//! to its successor. A process receiving `Elect{e, c}` forwards it unchanged
//! if `c` is above its id; replaces `c` by its own id and forwards if `c` is
//! below and it is not yet a participant; drops it if `c` is below and it is
//! one (its own, higher candidacy is on its way). Receiving its own id back, a
//! process knows it is the highest: it sends `Elected{e, me}` round the ring,
//! each process adopting it and passing it on until it comes home.
//!
//! **A dead successor is skipped.** Each ring message is acknowledged by its
//! receiver (`Ack{seq}`); with no `Ack` by the `Skip` timer, the sender takes
//! its successor for dead, remembers it (`skipped`) and sends the message to
//! the next process round the ring. A skipped process that is heard from again
//! (it was slow, or it recovered) is taken back.
//!
//! **Epochs, failure detection and workload** are the bully's
//! (`election::bully`): the highest epoch seen is saved; the leader sends
//! `Alive{e}` every `beat` and a follower whose lease runs out starts an
//! election at `epoch + 1`; `--ops` elections, the first started by process 0
//! at start-up, each later one by the leader stepping down after `reign` (it
//! starts the next epoch's election itself, and wins it: the point is the
//! cost); a recovering process starts one at start-up, above the epoch it
//! saved. A process is settled when it believes a leader for an epoch `>=
//! ops` and its belief held still for `settle`. A follower that hears a
//! leader lower than itself (a healed partition, or itself back from a crash)
//! takes over with an election at the next epoch, as the bully does.
//!
//! **Guarantees**: the highest live id is elected, and once messages settle
//! every live process believes it, one leader per epoch (an `Elected` of an
//! older epoch is dropped; two candidacies of one epoch cannot both come home,
//! since the higher one swallows the lower).
//!
//! **Cost**, fault-free, every ring message acknowledged: started by process 0
//! (the first election), the textbook worst case `3N − 1` ring messages
//! (`N − 1` hops to the highest, `N` more for its candidacy to come home, `N`
//! for `Elected`), `2(3N − 1)` with the acks; started by the highest (a
//! leader stepping down) `2N`, `4N` with the acks. Heartbeats: `N − 1` per
//! `beat`.
//!
//! **Primitives**: `Elect` is a competitive authority transfer with unique
//! tokens, the ids (5b); `Elected` a coordinated one (5a); epochs are locally
//! generated ordering tokens (4b); the `Ack`/`Skip` timeout and the lease are
//! silent withdrawal discovered by timeout (7b).
//!
//! **The broken variant** (`broken-no-compare`) forwards every candidacy
//! unchanged, never comparing: the initiator's own id comes home and it
//! declares itself, highest or not.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Belief, ElectionWaits, Settle};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

/// What travels round the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Hop {
    Elect { epoch: u64, candidate: u32 },
    Elected { epoch: u64, leader: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RingMsg {
    /// A ring message, numbered by its sender for the `Ack`.
    Ring {
        seq: u32,
        hop: Hop,
    },
    Ack {
        seq: u32,
    },
    Alive {
        epoch: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RingTimer {
    /// An `Ack` is overdue: skip the successor.
    Skip,
    Beat,
    Lease,
    Reign,
    Settle,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RingState {
    pub epoch: u64,
    pub leader: Option<Id>,
    /// Took part in `epoch`'s election (forwarded or started a candidacy).
    pub participant: bool,
    /// Ring messages sent and not acknowledged: seq -> (to, hop).
    pub pending: BTreeMap<u32, (Id, Hop)>,
    pub seq: u32,
    /// Processes taken for dead.
    pub skipped: BTreeSet<Id>,
    pub settled: bool,
}

#[derive(Clone, Debug)]
pub struct RingElection {
    pub processes: usize,
    pub ops: u32,
    pub waits: ElectionWaits,
    /// Forward candidacies without comparing (deliberately broken).
    pub broken: bool,
}

impl RingElection {
    /// The next process round the ring after `after` not taken for dead.
    fn successor(&self, me: Id, s: &RingState, after: Id) -> Id {
        let n = self.processes;
        (1..n)
            .map(|k| Id::from((usize::from(after) + k) % n))
            .find(|&q| q == me || !s.skipped.contains(&q))
            .unwrap_or(me)
    }

    fn pass(&self, me: Id, s: &mut RingState, hop: Hop, o: &mut Out<Self>) {
        let to = self.successor(me, s, me);
        if to == me {
            // Every other process taken for dead: a candidacy becomes this
            // process's own, and comes home at once; an Elected is done.
            if let Hop::Elect { epoch, .. } = hop {
                self.hop(me, s, Hop::Elect { epoch, candidate: usize::from(me) as u32 }, o);
            }
        } else {
            self.send_hop(s, to, hop, o);
        }
    }

    fn send_hop(&self, s: &mut RingState, to: Id, hop: Hop, o: &mut Out<Self>) {
        s.seq += 1;
        s.pending.insert(s.seq, (to, hop));
        o.send(to, RingMsg::Ring { seq: s.seq, hop });
        o.set_timer(RingTimer::Skip, cycles(self.waits.elect.clone()));
    }

    fn moved(&self, s: &mut RingState, o: &mut Out<Self>) {
        s.settled = false;
        o.save(s.epoch);
        o.set_timer(RingTimer::Settle, cycles(self.waits.settle.clone()));
    }

    /// A new epoch seen: no leader, not a participant yet.
    fn enter(&self, s: &mut RingState, epoch: u64, o: &mut Out<Self>) {
        s.epoch = epoch;
        s.leader = None;
        s.participant = false;
        o.cancel_timer(RingTimer::Lease);
        o.cancel_timer(RingTimer::Beat);
        o.cancel_timer(RingTimer::Reign);
        self.moved(s, o);
    }

    fn start(&self, me: Id, s: &mut RingState, epoch: u64, o: &mut Out<Self>) {
        self.enter(s, epoch, o);
        s.participant = true;
        self.pass(me, s, Hop::Elect { epoch, candidate: usize::from(me) as u32 }, o);
    }

    fn adopt(&self, me: Id, s: &mut RingState, epoch: u64, leader: Id, o: &mut Out<Self>) {
        s.epoch = epoch;
        s.leader = Some(leader);
        s.participant = false;
        self.moved(s, o);
        if leader == me {
            o.set_timer(RingTimer::Beat, cycles(self.waits.beat.clone()));
            if epoch < self.ops as u64 {
                o.set_timer(RingTimer::Reign, cycles(self.waits.reign.clone()));
            }
        } else {
            o.set_timer(RingTimer::Lease, cycles(self.waits.lease.clone()));
        }
    }

    fn hop(&self, me: Id, s: &mut RingState, hop: Hop, o: &mut Out<Self>) {
        let mine = usize::from(me) as u32;
        match hop {
            Hop::Elect { epoch, .. } | Hop::Elected { epoch, .. } if epoch < s.epoch => {}
            Hop::Elect { epoch, candidate } => {
                if epoch > s.epoch {
                    self.enter(s, epoch, o);
                }
                if candidate == mine {
                    self.adopt(me, s, epoch, me, o);
                    self.pass(me, s, Hop::Elected { epoch, leader: mine }, o);
                } else if self.broken || candidate > mine {
                    s.participant = true;
                    self.pass(me, s, hop, o);
                } else if !s.participant {
                    s.participant = true;
                    self.pass(me, s, Hop::Elect { epoch, candidate: mine }, o);
                }
            }
            Hop::Elected { epoch, leader } => {
                if leader < mine && !self.broken {
                    // A lower leader announced past this live process (it
                    // was cut off or down during the election): take over.
                    self.start(me, s, epoch.max(s.epoch) + 1, o);
                } else if leader != mine {
                    if s.leader != Some(Id::from(leader as usize)) || epoch > s.epoch {
                        self.adopt(me, s, epoch, Id::from(leader as usize), o);
                    }
                    self.pass(me, s, hop, o);
                }
            }
        }
    }
}

impl Actor for RingElection {
    type Msg = RingMsg;
    type State = RingState;
    type Timer = RingTimer;
    type Random = ();
    type Storage = u64;

    fn on_start(&self, id: Id, storage: &Option<u64>, o: &mut Out<Self>) -> RingState {
        let mut s = RingState {
            epoch: storage.unwrap_or(0),
            leader: None,
            participant: false,
            pending: BTreeMap::new(),
            seq: 0,
            skipped: BTreeSet::new(),
            settled: false,
        };
        if storage.is_some() || usize::from(id) == 0 {
            let next = s.epoch + 1;
            self.start(id, &mut s, next, o);
        } else {
            o.set_timer(RingTimer::Lease, cycles(self.waits.lease.clone()));
        }
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<RingState>, src: Id, msg: RingMsg, o: &mut Out<Self>) {
        let s = state.to_mut();
        s.skipped.remove(&src);
        match msg {
            RingMsg::Ring { seq, hop } => {
                o.send(src, RingMsg::Ack { seq });
                self.hop(id, s, hop, o);
            }
            RingMsg::Ack { seq } => {
                s.pending.remove(&seq);
                if s.pending.is_empty() {
                    o.cancel_timer(RingTimer::Skip);
                }
            }
            RingMsg::Alive { epoch } => {
                let better = s.leader.is_none_or(|l| src > l);
                if src < id && epoch >= s.epoch && s.leader != Some(src) {
                    // A lower leader (two sides of a healed partition, or
                    // this process back from a crash): take over, as the
                    // bully does.
                    self.start(id, s, epoch + 1, o);
                } else if epoch > s.epoch || (epoch == s.epoch && better) {
                    self.adopt(id, s, epoch, src, o);
                } else if epoch == s.epoch && s.leader == Some(src) {
                    o.set_timer(RingTimer::Lease, cycles(self.waits.lease.clone()));
                }
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<RingState>, timer: &RingTimer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match timer {
            RingTimer::Skip => {
                // Every overdue hop goes on to the process after its receiver.
                for (_, (to, hop)) in std::mem::take(&mut s.pending) {
                    if to != id {
                        s.skipped.insert(to);
                    }
                    let next = self.successor(id, s, to);
                    if next != id {
                        self.send_hop(s, next, hop, o);
                    } else {
                        self.pass(id, s, hop, o);
                    }
                }
            }
            RingTimer::Beat if s.leader == Some(id) => {
                for q in (0..self.processes).map(Id::from).filter(|&q| q != id) {
                    o.send(q, RingMsg::Alive { epoch: s.epoch });
                }
                o.set_timer(RingTimer::Beat, cycles(self.waits.beat.clone()));
            }
            RingTimer::Lease if s.leader != Some(id) => self.start(id, s, s.epoch + 1, o),
            RingTimer::Reign if s.leader == Some(id) && s.epoch < self.ops as u64 => self.start(id, s, s.epoch + 1, o),
            RingTimer::Settle if s.leader.is_some() => s.settled = true,
            _ => {}
        }
    }
}

impl Settle for RingState {
    fn belief(&self) -> Belief {
        Belief { epoch: self.epoch, leader: self.leader.map(usize::from), settled: self.settled }
    }
    fn numbered(&self) -> u32 {
        self.seq
    }
}

impl OnCore for RingElection {
    /// Never: the run goes to its deadline (see `election`'s notes).
    fn finished(&self, _s: &RingState) -> bool {
        false
    }

    fn notes(&self, before: Option<&RingState>, after: &RingState, notes: &mut Vec<Note>) {
        super::leader_notes(before.map(Settle::belief), after.belief(), notes);
    }

    fn kind(msg: &RingMsg) -> &'static str {
        match msg {
            RingMsg::Ring { hop: Hop::Elect { .. }, .. } => "elect",
            RingMsg::Ring { hop: Hop::Elected { .. }, .. } => "elected",
            RingMsg::Ack { .. } => "ack",
            RingMsg::Alive { .. } => "alive",
        }
    }

    fn primitive(msg: &RingMsg) -> Primitive {
        match msg {
            RingMsg::Ring { hop: Hop::Elect { .. }, .. } => Primitive::AuthorityUnique,
            RingMsg::Ring { hop: Hop::Elected { .. }, .. } => Primitive::AuthorityCoordinated,
            RingMsg::Ack { .. } | RingMsg::Alive { .. } => Primitive::SilentTimeout,
        }
    }
}
