//! Ricart–Agrawala mutual exclusion (Ricart and Agrawala 1981, "An Optimal
//! Algorithm for Mutual Exclusion in Computer Networks"). A process that wants
//! the section stamps a `Request` with a sequence number one above the highest
//! it has seen and sends it to every other process. A receiver replies at once
//! unless it is in the section, or wants it with a request that goes first in
//! `(sequence number, id)` order; then it defers the reply until it leaves. The
//! requester enters with `N − 1` replies in hand. Lamport's Release is folded
//! into the deferred replies: permission is given only when it is no longer
//! needed.
//!
//! **Guarantees.** Mutual exclusion: of two concurrent requesters, the one with
//! the later `(number, id)` defers to the other, so both cannot hold all
//! replies. Liveness and fairness: requests are served in `(number, id)` order,
//! and a request's number is above every number its sender has seen, so no
//! process is overtaken forever; provided no process crashes (one silent process
//! blocks every requester). Channels must be reliable; they need not be FIFO:
//! a requester collects every Reply to its request before it requests again, so
//! no Reply is ever mistaken for one to a later request (`check` verifies this
//! over an unordered network too).
//!
//! **Cost.** `2(N − 1)` messages per entry (Request to all others, a Reply from
//! each), optimal among algorithms that ask everyone. Synchronization delay: one
//! message latency (the leaver's deferred Reply).
//!
//! **Primitives**: Request and Reply are a broadcast-and-collect ordered by a
//! per-process logical clock (4c).
//!
//! **The broken variant** (`RicartAgrawala::broken`, `Algo::BrokenRicartAgrawala`)
//! replies at once even from inside the section: a second requester collects all
//! its replies while the first is still in, and mutual exclusion fails.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Timer, Workload};
use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RaMsg {
    /// I want the section; my request's sequence number is `ts`.
    Request { ts: u64 },
    /// You may go as far as I am concerned.
    Reply,
}

/// The paper's three states of a process towards the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Released,
    /// Requested with number `ts`; `replies` received so far.
    Wanted {
        ts: u64,
        replies: u32,
    },
    Held,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaState {
    /// The highest sequence number seen (own or received).
    pub highest: u64,
    pub phase: Phase,
    /// Processes whose Request awaits our Reply until we leave.
    pub deferred: BTreeSet<Id>,
    /// Entries still to do.
    pub left: u32,
}

/// Ricart–Agrawala over a workload.
#[derive(Clone, Debug)]
pub struct RicartAgrawala {
    pub workload: Workload,
    /// Reply at once even while in the section (violates mutual exclusion).
    pub broken: bool,
}

impl RicartAgrawala {
    pub fn new(workload: Workload) -> Self {
        assert_eq!(workload.entries.len(), workload.processes, "one share of entries per process");
        RicartAgrawala { workload, broken: false }
    }

    /// The deliberately broken variant (see the module's essay).
    pub fn broken(workload: Workload) -> Self {
        RicartAgrawala { broken: true, ..Self::new(workload) }
    }

    fn enter(s: &mut RaState, o: &mut Out<Self>) {
        s.phase = Phase::Held;
        o.set_timer(Timer::Leave, cycles(0..1));
    }
}

impl Actor for RicartAgrawala {
    type Msg = RaMsg;
    type State = RaState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> RaState {
        let left = self.workload.entries[usize::from(id)];
        if left > 0 {
            o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
        }
        RaState { highest: 0, phase: Phase::Released, deferred: BTreeSet::new(), left }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<RaState>, src: Id, msg: RaMsg, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (s.phase, msg) {
            (phase, RaMsg::Request { ts }) => {
                s.highest = s.highest.max(ts);
                let defer = match phase {
                    Phase::Released => false,
                    Phase::Wanted { ts: mine, .. } => (mine, id) < (ts, src),
                    Phase::Held => !self.broken,
                };
                if defer {
                    s.deferred.insert(src);
                } else {
                    o.send(src, RaMsg::Reply);
                }
            }
            (Phase::Wanted { ts, replies }, RaMsg::Reply) => {
                let replies = replies + 1;
                s.phase = Phase::Wanted { ts, replies };
                if replies as usize == self.workload.processes - 1 {
                    Self::enter(s, o);
                }
            }
            // A reply when not waiting for one can come only from a faulty
            // network (a duplicate): dropped. A duplicate that arrives while
            // waiting counts twice and may let the process in early; the
            // monitor shows it.
            (_, RaMsg::Reply) => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<RaState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (s.phase, timer) {
            (Phase::Released, Timer::Want) => {
                s.highest += 1;
                let ts = s.highest;
                s.phase = Phase::Wanted { ts, replies: 0 };
                let me = usize::from(id);
                for j in (0..self.workload.processes).filter(|&j| j != me) {
                    o.send(Id::from(j), RaMsg::Request { ts });
                }
                if self.workload.processes == 1 {
                    Self::enter(s, o);
                }
            }
            (Phase::Held, Timer::Leave) => {
                s.phase = Phase::Released;
                s.left -= 1;
                for j in std::mem::take(&mut s.deferred) {
                    o.send(j, RaMsg::Reply);
                }
                if s.left > 0 {
                    o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
                }
            }
            (phase, timer) => panic!("ricart-agrawala: process {id:?} in {phase:?} cannot take timer {timer:?}"),
        }
    }
}

impl OnCore for RicartAgrawala {
    fn in_section(&self, state: &RaState) -> bool {
        state.phase == Phase::Held
    }

    fn wants(&self, state: &RaState) -> bool {
        matches!(state.phase, Phase::Wanted { .. })
    }

    fn finished(&self, state: &RaState) -> bool {
        state.left == 0
    }

    fn kind(msg: &RaMsg) -> &'static str {
        match msg {
            RaMsg::Request { .. } => "request",
            RaMsg::Reply => "reply",
        }
    }

    fn primitive(_msg: &RaMsg) -> Primitive {
        Primitive::TokenLogical
    }
}
