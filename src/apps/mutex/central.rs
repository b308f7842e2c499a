//! Central coordinator: one process (process 0) owns the right to enter and
//! lends it out. A client sends `Request` to the coordinator; the coordinator
//! answers with `Grant` when nobody holds the section, and otherwise queues the
//! client; the holder sends `Release` when it leaves, and the coordinator grants
//! the head of its queue. The coordinator never enters itself (its share of the
//! workload must be 0), so with `N` processes there are `N − 1` clients.
//!
//! **Guarantees.** Mutual exclusion: the coordinator holds at most one grant
//! out at a time, and takes it back only on the holder's `Release`. Liveness
//! and fairness: requests are granted in the order they reach the coordinator
//! (FIFO), so every request is granted once the ones ahead of it are released,
//! provided no process crashes (a crashed holder or coordinator blocks everyone).
//! Channels need only be reliable; order does not matter, because a client has
//! at most one message in flight to or from the coordinator at any time.
//!
//! **Cost.** Three messages per entry (Request, Grant, Release), whatever `N`.
//! The synchronization delay (from one holder leaving to the next entering) is
//! two message latencies: Release to the coordinator, Grant from it. The
//! coordinator is a hot spot: every message goes through it.
//!
//! **Primitives**: Request and Grant are request-grant with a single granter
//! (1a); Release hands authority back to the coordinator, which passes it on
//! (5a).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Timer, Workload};
use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

/// The coordinator is process 0.
const COORDINATOR: usize = 0;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CentralMsg {
    /// Client to coordinator: I want the section.
    Request,
    /// Coordinator to client: enter.
    Grant,
    /// Client to coordinator: I have left.
    Release,
}

/// Where a client is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientPhase {
    /// Not interested (thinking, or done).
    Thinking,
    /// Request sent, no Grant yet.
    Waiting,
    /// Granted: in the critical section.
    Holding,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CentralState {
    Coordinator {
        /// The client holding the grant.
        holder: Option<Id>,
        /// Clients waiting for the grant, oldest first.
        queue: Vec<Id>,
    },
    Client {
        phase: ClientPhase,
        /// Entries still to do.
        left: u32,
    },
}

/// The central-coordinator algorithm over a workload (process 0 coordinates).
#[derive(Clone, Debug)]
pub struct Central {
    pub workload: Workload,
}

impl Central {
    /// Panics if the workload gives the coordinator entries: it never enters.
    pub fn new(workload: Workload) -> Self {
        assert_eq!(workload.entries.len(), workload.processes, "one share of entries per process");
        assert!(
            workload.entries.get(COORDINATOR).is_none_or(|&e| e == 0),
            "central: the coordinator (process 0) never enters, but its share is {} entries",
            workload.entries[COORDINATOR]
        );
        Central { workload }
    }
}

impl Actor for Central {
    type Msg = CentralMsg;
    type State = CentralState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> CentralState {
        let i = usize::from(id);
        if i == COORDINATOR {
            return CentralState::Coordinator { holder: None, queue: Vec::new() };
        }
        let left = self.workload.entries[i];
        if left > 0 {
            o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
        }
        CentralState::Client { phase: ClientPhase::Thinking, left }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<CentralState>, src: Id, msg: CentralMsg, o: &mut Out<Self>) {
        match (state.to_mut(), msg) {
            (CentralState::Coordinator { holder, queue }, CentralMsg::Request) => {
                if holder.is_none() {
                    *holder = Some(src);
                    o.send(src, CentralMsg::Grant);
                } else {
                    queue.push(src);
                }
            }
            // A release from the holder (one from anyone else is a stale
            // copy, from a faulty network, and is dropped).
            (CentralState::Coordinator { holder, queue }, CentralMsg::Release) if *holder == Some(src) => {
                *holder = if queue.is_empty() { None } else { Some(queue.remove(0)) };
                if let Some(next) = *holder {
                    o.send(next, CentralMsg::Grant);
                }
            }
            (CentralState::Client { phase: phase @ ClientPhase::Waiting, .. }, CentralMsg::Grant) => {
                *phase = ClientPhase::Holding;
                o.set_timer(Timer::Leave, cycles(0..1));
            }
            // Anything else can come only from a faulty network (a duplicated
            // grant while thinking, a copied release): dropped. A duplicated
            // grant that finds its client waiting again is taken, and breaks
            // exclusion; the monitor shows it.
            (_, _) => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<CentralState>, timer: &Timer, o: &mut Out<Self>) {
        let coordinator = Id::from(COORDINATOR);
        match (state.to_mut(), timer) {
            (CentralState::Client { phase: phase @ ClientPhase::Thinking, .. }, Timer::Want) => {
                *phase = ClientPhase::Waiting;
                o.send(coordinator, CentralMsg::Request);
            }
            (CentralState::Client { phase: phase @ ClientPhase::Holding, left }, Timer::Leave) => {
                *phase = ClientPhase::Thinking;
                *left -= 1;
                o.send(coordinator, CentralMsg::Release);
                if *left > 0 {
                    o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
                }
            }
            (s, timer) => panic!("central: process {id:?} in {s:?} cannot take timer {timer:?}"),
        }
    }
}

impl OnCore for Central {
    fn in_section(&self, state: &CentralState) -> bool {
        matches!(state, CentralState::Client { phase: ClientPhase::Holding, .. })
    }

    fn wants(&self, state: &CentralState) -> bool {
        matches!(state, CentralState::Client { phase: ClientPhase::Waiting, .. })
    }

    fn finished(&self, state: &CentralState) -> bool {
        match state {
            CentralState::Coordinator { .. } => true,
            CentralState::Client { left, .. } => *left == 0,
        }
    }

    fn kind(msg: &CentralMsg) -> &'static str {
        match msg {
            CentralMsg::Request => "request",
            CentralMsg::Grant => "grant",
            CentralMsg::Release => "release",
        }
    }

    fn primitive(msg: &CentralMsg) -> Primitive {
        match msg {
            CentralMsg::Request | CentralMsg::Grant => Primitive::RequestGrant,
            CentralMsg::Release => Primitive::AuthorityCoordinated,
        }
    }
}
