//! Lamport's mutual exclusion (Lamport 1978, "Time, Clocks, and the Ordering
//! of Events in a Distributed System"). Every process keeps a logical clock and
//! a copy of one request queue, ordered by `(timestamp, id)`. To enter, a
//! process stamps a `Request`, puts it in its own queue and sends it to every
//! other process; each receiver queues it and answers with a timestamped
//! `Reply`. The requester enters when its request heads its queue and it has
//! received, from every other process, a message stamped later than its request.
//! On leaving it removes its request and sends `Release` to everyone, who remove
//! it too.
//!
//! **Guarantees.** Mutual exclusion: `(timestamp, id)` is a total order, and
//! the "later message from everyone" rule means that, with FIFO channels, every
//! request stamped earlier than ours is already in our queue when we look at its
//! head. Liveness and fairness: requests are served in timestamp order, so one
//! that happened before another (in Lamport's sense) enters first, and every
//! request is eventually served, provided no process crashes (a silent process
//! blocks everyone, since everyone waits for its message). Channels must be
//! reliable **and FIFO**: a later-stamped message from `j` overtaking `j`'s own
//! earlier Request would let us enter before that Request is in our queue, and
//! `j`'s next Request overtaking its Release would have the wrong entry deleted.
//! A lost message is worse than a blocked run: if `j`'s Request to `i` is
//! lost, `j`'s Reply to `i`'s own request still passes for the later-stamped
//! message, and both enter (`tests/mutex.rs` shows it).
//!
//! **Cost.** `3(N − 1)` messages per entry: `N − 1` each of Request, Reply and
//! Release. Synchronization delay: one message latency (the Release reaching the
//! next in line). Every process's queue is touched by every entry.
//!
//! **Primitives**: all three messages are a broadcast-and-collect ordered by a
//! per-process logical clock (4c).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Timer, Workload};
use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LamportMsg {
    /// I request the section; my request is stamped `ts`.
    Request { ts: u64 },
    /// Acknowledges a Request; the sender's clock was `ts`.
    Reply { ts: u64 },
    /// I have left; remove my request. The sender's clock was `ts`.
    Release { ts: u64 },
}

impl LamportMsg {
    fn ts(&self) -> u64 {
        match *self {
            LamportMsg::Request { ts } | LamportMsg::Reply { ts } | LamportMsg::Release { ts } => ts,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No request of ours is queued.
    Idle,
    /// Our request, stamped `ts`, is queued; not yet entered.
    Requesting { ts: u64 },
    /// In the critical section under the request stamped `ts`.
    InSection { ts: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LamportState {
    /// The logical clock.
    pub clock: u64,
    /// The request queue: `(timestamp, process)`, least first.
    pub queue: BTreeSet<(u64, Id)>,
    /// While requesting: `later[j]` when a message stamped later than our
    /// request (in `(timestamp, id)` order) has come from `j`. Any message
    /// received before the request is stamped earlier (the clock caught up with
    /// it, then ticked to stamp the request), so it is enough to look at
    /// messages received since.
    pub later: Vec<bool>,
    pub phase: Phase,
    /// Entries still to do.
    pub left: u32,
}

/// Lamport's algorithm over a workload.
#[derive(Clone, Debug)]
pub struct Lamport {
    pub workload: Workload,
}

impl Lamport {
    pub fn new(workload: Workload) -> Self {
        assert_eq!(workload.entries.len(), workload.processes, "one share of entries per process");
        Lamport { workload }
    }

    fn others(&self, id: Id) -> impl Iterator<Item = Id> {
        (0..self.workload.processes).filter(move |&j| j != usize::from(id)).map(Id::from)
    }

    /// Enters if our request heads the queue and everyone else has sent a later
    /// message.
    fn try_enter(&self, id: Id, s: &mut LamportState, o: &mut Out<Self>) {
        let Phase::Requesting { ts } = s.phase else { return };
        let heads = s.queue.first() == Some(&(ts, id));
        let all_later = s.later.iter().enumerate().all(|(j, &later)| later || j == usize::from(id));
        if heads && all_later {
            s.phase = Phase::InSection { ts };
            o.set_timer(Timer::Leave, cycles(0..1));
        }
    }
}

impl Actor for Lamport {
    type Msg = LamportMsg;
    type State = LamportState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> LamportState {
        let left = self.workload.entries[usize::from(id)];
        if left > 0 {
            o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
        }
        let later = vec![false; self.workload.processes];
        LamportState { clock: 0, queue: BTreeSet::new(), later, phase: Phase::Idle, left }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<LamportState>, src: Id, msg: LamportMsg, o: &mut Out<Self>) {
        let s = state.to_mut();
        // Receive rule: the clock catches up with the message's stamp (it ticks
        // before each send, so whatever we send next is stamped later).
        s.clock = s.clock.max(msg.ts());
        if let Phase::Requesting { ts } = s.phase
            && (msg.ts(), src) > (ts, id)
        {
            s.later[usize::from(src)] = true;
        }
        match msg {
            LamportMsg::Request { ts } => {
                s.queue.insert((ts, src));
                s.clock += 1;
                o.send(src, LamportMsg::Reply { ts: s.clock });
            }
            LamportMsg::Reply { .. } => {}
            LamportMsg::Release { .. } => {
                // The release is of `src`'s oldest request: with FIFO channels its
                // only one here. Without FIFO (which this algorithm assumes), a
                // Release can overtake its own Request; it is then dropped, and the
                // stale Request blocks the queue when it comes. `check` over
                // unordered channels shows that outcome rather than stop here.
                if let Some(&oldest) = s.queue.iter().find(|&&(_, j)| j == src) {
                    s.queue.remove(&oldest);
                }
            }
        }
        self.try_enter(id, s, o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<LamportState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (s.phase, timer) {
            (Phase::Idle, Timer::Want) => {
                s.clock += 1;
                let ts = s.clock;
                s.queue.insert((ts, id));
                s.later.fill(false);
                s.phase = Phase::Requesting { ts };
                for j in self.others(id) {
                    o.send(j, LamportMsg::Request { ts });
                }
                self.try_enter(id, s, o);
            }
            (Phase::InSection { ts }, Timer::Leave) => {
                s.clock += 1;
                s.queue.remove(&(ts, id));
                s.phase = Phase::Idle;
                s.left -= 1;
                for j in self.others(id) {
                    o.send(j, LamportMsg::Release { ts: s.clock });
                }
                if s.left > 0 {
                    o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
                }
            }
            (phase, timer) => panic!("lamport: process {id:?} in {phase:?} cannot take timer {timer:?}"),
        }
    }
}

impl OnCore for Lamport {
    fn in_section(&self, state: &LamportState) -> bool {
        matches!(state.phase, Phase::InSection { .. })
    }

    fn wants(&self, state: &LamportState) -> bool {
        matches!(state.phase, Phase::Requesting { .. })
    }

    fn finished(&self, state: &LamportState) -> bool {
        state.left == 0
    }

    fn kind(msg: &LamportMsg) -> &'static str {
        match msg {
            LamportMsg::Request { .. } => "request",
            LamportMsg::Reply { .. } => "reply",
            LamportMsg::Release { .. } => "release",
        }
    }

    fn primitive(_msg: &LamportMsg) -> Primitive {
        Primitive::TokenLogical
    }
}
