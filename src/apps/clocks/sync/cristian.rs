//! Cristian's algorithm (Cristian 1989, "Probabilistic clock
//! synchronization"). Once a round, a client reads its clock (`T0`) and asks
//! the time server; the server answers with its clock reading `Ts`; the
//! client reads its clock again when the answer arrives (`T1`) and takes the
//! server's time to be `Ts + (T1 - T0)/2`, then steps its clock to it.
//!
//! **Guarantees.** The server read its clock after the request's least
//! one-way delay `min` and before the reply's, so with a round trip of `rtt`
//! the estimate is off by at most `rtt/2 - min` (plus the reads' rounding
//! and jitter and the clocks' drift over the trip: `Params::round_trip_bound`).
//! The client states that bound with every sync, and the monitor checks it
//! against the truth. A client knows how good each sync was; it does not
//! promise a monotonic clock: a step may go back.
//!
//! **Cost.** Two messages per client per round, all through the server
//! (core 0), whose queue grows with the clients: a request waiting behind
//! another's skews the round trip, so clients ask at staggered phases.
//!
//! **Primitives**: Request and Reply are request-grant with a single granter
//! (1a); the grant carries a centrally generated timestamp.
//!
//! **The broken variant** (`SyncAlgo::BrokenCristian`) takes the server's
//! reading as the time at `T1`, dropping the `rtt/2` term, but states the
//! same bound: its error is the reply's one-way delay, about `rtt/2`, which
//! exceeds `rtt/2 - min`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::Params;
use super::discipline::{Discipline, Policy};
use crate::exec::actor::{Claim, OnCore, cycles};
use crate::exec::clock::Adjust;
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CristianMsg {
    /// What is the time? (`t0`: the client's reading, echoed back.)
    Request { seq: u32, t0: u64 },
    /// It was `ts` when I read it.
    Reply { seq: u32, t0: u64, ts: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    Round,
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CristianState {
    pub clock: Discipline,
    /// The latest request's number and whether its reply came.
    pub seq: u32,
    pub answered: bool,
    pub rounds_left: u32,
}

#[derive(Clone, Debug)]
pub struct Cristian {
    pub params: Params,
    pub broken: bool,
}

impl Cristian {
    pub fn new(params: Params, broken: bool) -> Self {
        Cristian { params, broken }
    }
}

impl Actor for Cristian {
    type Msg = CristianMsg;
    type State = CristianState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> CristianState {
        let p = &self.params;
        let me = usize::from(id);
        let at = p.first + p.phase(me);
        if me != 0 && p.rounds > 0 {
            o.set_timer(Timer::Round, cycles(at..at + 1));
        }
        o.set_timer(Timer::Done, cycles(p.end()..p.end() + 1));
        CristianState { clock: Discipline::default(), seq: 0, answered: false, rounds_left: p.rounds }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<CristianState>, src: Id, msg: CristianMsg, o: &mut Out<Self>) {
        match msg {
            CristianMsg::Request { seq, t0 } => o.send(src, CristianMsg::Reply { seq, t0, ts: state.clock.now }),
            CristianMsg::Reply { seq, t0, ts } => {
                // Only the latest request's first reply: a late or duplicated
                // one measured a round trip the client has moved on from.
                if seq != state.seq || state.answered {
                    return;
                }
                let s = state.to_mut();
                s.answered = true;
                let t1 = s.clock.now;
                let rtt = t1.saturating_sub(t0);
                let half = if self.broken { 0 } else { (rtt / 2) as i64 };
                let estimate = ts as i64 + half - t1 as i64;
                let bound = self.params.round_trip_bound(rtt);
                let stepped = s.clock.correct(&self.params, estimate, Policy::Step);
                s.clock.state(usize::from(src), estimate - stepped, bound);
            }
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<CristianState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match timer {
            Timer::Round => {
                s.seq += 1;
                s.answered = false;
                s.rounds_left -= 1;
                o.send(Id::from(0), CristianMsg::Request { seq: s.seq, t0: s.clock.now });
                if s.rounds_left > 0 {
                    let p = self.params.period;
                    o.set_timer(Timer::Round, cycles(p..p + 1));
                }
            }
            Timer::Done => s.clock.done = true,
        }
    }
}

impl OnCore for Cristian {
    fn finished(&self, state: &CristianState) -> bool {
        state.clock.done
    }

    fn read_clock(&self, state: &mut CristianState, reading: u64) {
        state.clock.now = reading;
    }

    fn clock_request(&self, state: &CristianState) -> Option<(u32, Adjust)> {
        state.clock.request()
    }

    fn claim(&self, state: &CristianState) -> Option<(u32, Claim)> {
        state.clock.claimed()
    }

    fn kind(msg: &CristianMsg) -> &'static str {
        match msg {
            CristianMsg::Request { .. } => "request",
            CristianMsg::Reply { .. } => "reply",
        }
    }

    fn primitive(_msg: &CristianMsg) -> Primitive {
        Primitive::RequestGrant
    }
}
