//! The bully algorithm (Garcia-Molina 1982, "Elections in a Distributed
//! Computing System"): the highest live id leads. A process that starts an
//! election for epoch `e` sends `Election{e}` to every higher id; a higher
//! process answers `Ok{e}` (it will take over) and starts its own election for
//! `e`; a process with no `Ok` by its `Elect` timer, or with no higher id at
//! all, declares itself: `Coordinator{e}` to everyone. One that got an `Ok`
//! waits for the `Coordinator`, and starts over at `e + 1` if none comes.
//!
//! **Epochs** (terms) make the beliefs comparable: a process keeps the highest
//! epoch it has seen (durably: `Save` on every change, so a restarted process
//! starts above it), and believes one leader for it. A claim for an older
//! epoch is stale and ignored; for the same epoch the higher id wins; a claim
//! by a lower id than oneself makes one *bully*: start an election at the next
//! epoch. So when two processes claimed one epoch (a lost `Ok`, a slow one),
//! the higher supersedes the lower with a newer epoch, and once messages
//! settle every live process believes one leader per epoch.
//!
//! **Failure detection and workload.** The leader sends `Alive{e}` to everyone
//! every `beat`; a follower that hears nothing from its leader for `lease`
//! starts an election at `epoch + 1`. `--ops` is a number of elections: every
//! process starts the first at start-up (epoch 1), and the leader of an epoch
//! below `ops` steps down after `reign` by sending `Resign{e}`, upon which
//! everyone starts the election for `e + 1` (the highest live id wins it
//! again: the point is the election's cost, not a new face). A crashed leader
//! starts one too (through the lease), and a recovering process starts one at
//! start-up, above the epoch it saved: a higher one takes over. A process is
//! settled when it believes a leader for an epoch `>= ops` and its belief has
//! not changed for `settle`.
//!
//! **Guarantees** (synchronous model: timeouts longer than any message delay):
//! the highest live id is elected; once messages settle, every live process
//! believes it, for one epoch. Under loss, pauses and partitions, two leaders
//! may be believed for a while; epochs resolve it once faults stop.
//!
//! **Cost.** An election that every one of `N` processes starts at once (the
//! start-up, a resignation): `N(N − 1)/2` `Election`s (each to every higher
//! id), as many `Ok`s, and `N − 1` `Coordinator`s: `N² − 1`, plus `N − 1`
//! `Resign`s; started by the lowest alone, the textbook worst case, the same
//! `O(N²)`. Heartbeats: `N − 1` per `beat`.
//!
//! **Primitives**: `Election`/`Ok` is a competitive authority transfer with
//! unique tokens, the id (5b); `Coordinator` and `Resign` are coordinated
//! authority transfers (5a); epochs are locally generated ordering tokens
//! (4b); `Alive` and its lease are a silent withdrawal discovered by timeout
//! (7b).
//!
//! **The broken variant** (`broken-lower-wins`) ranks ids upside down: the
//! lowest live id is elected.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Belief, ElectionWaits, Settle};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BullyMsg {
    Election { epoch: u64 },
    Ok { epoch: u64 },
    Coordinator { epoch: u64 },
    Resign { epoch: u64 },
    Alive { epoch: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BullyTimer {
    /// No `Ok` (declare), or no `Coordinator` after one (start over).
    Elect,
    /// The leader's heartbeat.
    Beat,
    /// A follower heard nothing from its leader.
    Lease,
    /// The leader steps down.
    Reign,
    /// The belief held still long enough.
    Settle,
}

/// Where a process is in an election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Electing {
    No,
    /// Sent `Election`s, waiting for an `Ok`.
    AwaitOk,
    /// Got an `Ok`, waiting for the `Coordinator`.
    AwaitCoordinator,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BullyState {
    /// The highest epoch seen (durable).
    pub epoch: u64,
    /// The leader believed for `epoch`.
    pub leader: Option<Id>,
    pub electing: Electing,
    pub settled: bool,
}

#[derive(Clone, Debug)]
pub struct Bully {
    pub processes: usize,
    pub ops: u32,
    pub waits: ElectionWaits,
    /// Rank ids upside down (deliberately broken).
    pub broken: bool,
}

impl Bully {
    /// The order of ids: higher wins.
    fn rank(&self, id: Id) -> usize {
        let i = usize::from(id);
        if self.broken { self.processes - 1 - i } else { i }
    }

    fn above(&self, id: Id) -> Vec<Id> {
        (0..self.processes).map(Id::from).filter(|&q| self.rank(q) > self.rank(id)).collect()
    }

    fn others(&self, id: Id) -> impl Iterator<Item = Id> + '_ {
        (0..self.processes).map(Id::from).filter(move |&q| q != id)
    }

    /// A new epoch or leader: logged, not settled.
    fn moved(&self, s: &mut BullyState, o: &mut Out<Self>) {
        s.settled = false;
        o.save(s.epoch);
        o.set_timer(BullyTimer::Settle, cycles(self.waits.settle.clone()));
    }

    /// Starts (or joins) the election for `epoch`.
    fn elect(&self, id: Id, s: &mut BullyState, epoch: u64, o: &mut Out<Self>) {
        s.epoch = epoch;
        s.leader = None;
        self.moved(s, o);
        o.cancel_timer(BullyTimer::Lease);
        let above = self.above(id);
        if above.is_empty() {
            return self.declare(id, s, o);
        }
        s.electing = Electing::AwaitOk;
        for q in above {
            o.send(q, BullyMsg::Election { epoch });
        }
        o.set_timer(BullyTimer::Elect, cycles(self.waits.elect.clone()));
    }

    fn declare(&self, id: Id, s: &mut BullyState, o: &mut Out<Self>) {
        s.leader = Some(id);
        s.electing = Electing::No;
        o.cancel_timer(BullyTimer::Elect);
        for q in self.others(id) {
            o.send(q, BullyMsg::Coordinator { epoch: s.epoch });
        }
        o.set_timer(BullyTimer::Beat, cycles(self.waits.beat.clone()));
        if s.epoch < self.ops as u64 {
            o.set_timer(BullyTimer::Reign, cycles(self.waits.reign.clone()));
        }
    }

    /// `leader` claims `epoch`: accepted, or bullied.
    fn claim(&self, id: Id, s: &mut BullyState, epoch: u64, leader: Id, o: &mut Out<Self>) {
        if epoch < s.epoch {
            return;
        }
        if self.rank(leader) < self.rank(id) {
            // A lower claim: take over at a newer epoch.
            return self.elect(id, s, epoch.max(s.epoch) + 1, o);
        }
        let current = s.leader.filter(|_| epoch == s.epoch);
        if current.is_some_and(|l| self.rank(l) >= self.rank(leader)) {
            // Already believed (or a higher one for this epoch): a heartbeat.
            if current == Some(leader) {
                o.set_timer(BullyTimer::Lease, cycles(self.waits.lease.clone()));
            }
            return;
        }
        s.epoch = epoch;
        s.leader = Some(leader);
        s.electing = Electing::No;
        self.moved(s, o);
        o.cancel_timer(BullyTimer::Elect);
        o.cancel_timer(BullyTimer::Beat);
        o.cancel_timer(BullyTimer::Reign);
        o.set_timer(BullyTimer::Lease, cycles(self.waits.lease.clone()));
    }
}

impl Actor for Bully {
    type Msg = BullyMsg;
    type State = BullyState;
    type Timer = BullyTimer;
    type Random = ();
    type Storage = u64;

    fn on_start(&self, id: Id, storage: &Option<u64>, o: &mut Out<Self>) -> BullyState {
        let mut s = BullyState { epoch: storage.unwrap_or(0), leader: None, electing: Electing::No, settled: false };
        let next = s.epoch + 1;
        self.elect(id, &mut s, next, o);
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<BullyState>, src: Id, msg: BullyMsg, o: &mut Out<Self>) {
        let s = state.to_mut();
        match msg {
            BullyMsg::Election { epoch } => {
                o.send(src, BullyMsg::Ok { epoch });
                if epoch > s.epoch {
                    self.elect(id, s, epoch, o);
                } else if epoch < s.epoch && s.leader == Some(id) {
                    // A process behind the times: tell it who leads now.
                    o.send(src, BullyMsg::Coordinator { epoch: s.epoch });
                } else if epoch == s.epoch && s.electing == Electing::No && s.leader.is_none() {
                    self.elect(id, s, epoch, o);
                }
            }
            BullyMsg::Ok { epoch } if epoch == s.epoch && s.electing == Electing::AwaitOk => {
                s.electing = Electing::AwaitCoordinator;
                // Twice the wait for an Ok: the higher process may itself be
                // waiting out a dead process's Ok before it declares.
                let w = &self.waits.elect;
                o.set_timer(BullyTimer::Elect, cycles(2 * w.start..2 * w.end));
            }
            BullyMsg::Coordinator { epoch } | BullyMsg::Alive { epoch } => self.claim(id, s, epoch, src, o),
            BullyMsg::Resign { epoch } if epoch == s.epoch && s.leader == Some(src) => self.elect(id, s, epoch + 1, o),
            _ => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<BullyState>, timer: &BullyTimer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (timer, s.electing) {
            (BullyTimer::Elect, Electing::AwaitOk) => self.declare(id, s, o),
            (BullyTimer::Elect, Electing::AwaitCoordinator) => self.elect(id, s, s.epoch + 1, o),
            (BullyTimer::Beat, _) if s.leader == Some(id) => {
                for q in self.others(id) {
                    o.send(q, BullyMsg::Alive { epoch: s.epoch });
                }
                o.set_timer(BullyTimer::Beat, cycles(self.waits.beat.clone()));
            }
            (BullyTimer::Lease, Electing::No) if s.leader.is_some_and(|l| l != id) => self.elect(id, s, s.epoch + 1, o),
            (BullyTimer::Reign, _) if s.leader == Some(id) && s.epoch < self.ops as u64 => {
                for q in self.others(id) {
                    o.send(q, BullyMsg::Resign { epoch: s.epoch });
                }
                o.cancel_timer(BullyTimer::Beat);
                self.elect(id, s, s.epoch + 1, o);
            }
            (BullyTimer::Settle, _) if s.leader.is_some() => s.settled = true,
            _ => {}
        }
    }
}

impl Settle for BullyState {
    fn belief(&self) -> Belief {
        Belief { epoch: self.epoch, leader: self.leader.map(usize::from), settled: self.settled }
    }
}

impl OnCore for Bully {
    /// Never: the run goes to its deadline (see `election`'s notes).
    fn finished(&self, _s: &BullyState) -> bool {
        false
    }

    /// `leader [epoch, id]` when the belief changes to a leader.
    fn notes(&self, before: Option<&BullyState>, after: &BullyState, notes: &mut Vec<Note>) {
        super::leader_notes(before.map(Settle::belief), after.belief(), notes);
    }

    fn kind(msg: &BullyMsg) -> &'static str {
        match msg {
            BullyMsg::Election { .. } => "election",
            BullyMsg::Ok { .. } => "ok",
            BullyMsg::Coordinator { .. } => "coordinator",
            BullyMsg::Resign { .. } => "resign",
            BullyMsg::Alive { .. } => "alive",
        }
    }

    fn primitive(msg: &BullyMsg) -> Primitive {
        match msg {
            BullyMsg::Election { .. } | BullyMsg::Ok { .. } => Primitive::AuthorityUnique,
            BullyMsg::Coordinator { .. } | BullyMsg::Resign { .. } => Primitive::AuthorityCoordinated,
            BullyMsg::Alive { .. } => Primitive::SilentTimeout,
        }
    }
}
