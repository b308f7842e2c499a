//! A PTP-like exchange (IEEE 1588, two-step, end-to-end delay mechanism).
//! The master starts it: it sends `Sync`, then `Follow_Up` carrying the
//! precise time `t1` the Sync left; the slave stamps the Sync's arrival
//! `t2`, sends `Delay_Req` and stamps its departure `t3`; the master answers
//! with `Delay_Resp` carrying the request's arrival `t4`. Then
//!
//! ```text
//! offset from master = ((t2 - t1) - (t4 - t3)) / 2
//! mean path delay    = ((t2 - t1) + (t4 - t3)) / 2
//! ```
//!
//! Why two steps: software reads its clock before a send, not as the message
//! leaves. Here a send is a few stores into the ring, and the master reads
//! its clock again once they are done (a timer of 0 cycles after the Sync):
//! that reading, the egress time, goes in the Follow_Up. The slave stamps
//! its Delay_Req's egress the same way, and both ingress stamps are the
//! reads right after taking a message, so the two legs are measured alike.
//! The master serves one slave at a time (the next Sync goes when the last
//! Delay_Req came, or a slot later), so a Delay_Req does not wait in a ring
//! while the master is busy: that wait would be measured as path delay.
//!
//! **Guarantees.** The estimate is off by half the difference of the two
//! legs: PTP assumes a symmetric path, and an asymmetric one is a
//! systematic error. The bound the slave states is what causality
//! guarantees, not the mean path delay: the master's reading before sending
//! the Sync (its `origin`) precedes the Sync's arrival `t2`, and the slave's
//! reading before sending the Delay_Req precedes its arrival `t4`, so the
//! master's clock minus the slave's lies in `[origin - t2, t4 - before]`.
//! The precise stamps make the estimate good; they cannot make a bound: a
//! stamp read after a send is later than the message's arrival when the
//! send wrote it twice (a duplicate: the receiver takes the first copy while
//! the second is being written). The estimate is clamped into the interval
//! (which corrects exactly that case), and the bound is the distance to its
//! far end, plus the reads' error and the drift over the exchange; the
//! monitor checks it. On a mesh the asymmetry lies in the stores that write a
//! message (ownership comes from the directory slice, next to the master and
//! far from a far slave), which the two-step stamps leave out: a far core
//! is as well synchronised as a near one, where Cristian's and NTP's error
//! grows by some 4 cycles a hop. The slave steps at most once (the first
//! sync, when a slew cannot absorb the offset) and slews after: monotonic
//! once synchronised. No filtering: each exchange corrects the clock, so
//! one slow leg is a round's error of half its extra delay (a ring's wrap
//! adds a miss to one take: ~60 cycles), where NTP's filter would skip it.
//!
//! **Cost.** Four messages per slave per round, two started by the master:
//! it does the scheduling, and serves the slaves in turn.
//!
//! **Primitives**: Sync and Follow_Up hand out the master's time, a
//! centrally generated timestamp (4a); Delay_Req and Delay_Resp are
//! request-grant with a single granter (1a).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::Params;
use super::discipline::{Discipline, Policy};
use crate::exec::actor::{Claim, OnCore, cycles};
use crate::exec::clock::Adjust;
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PtpMsg {
    /// `origin`: the master's reading before sending (the imprecise time).
    Sync {
        seq: u32,
        origin: u64,
    },
    FollowUp {
        seq: u32,
        t1: u64,
    },
    DelayReq {
        seq: u32,
    },
    DelayResp {
        seq: u32,
        t4: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    Round,
    /// The master: send Sync to this slave.
    Sync(usize),
    /// The master: the Sync to this slave is written; read its egress time.
    FollowUp(usize),
    /// The slave: its Delay_Req is written; read its egress time.
    Egress,
    Done,
}

/// A slave's stamps of the current exchange: the precise four, and the
/// readings before each send (the Sync's `origin`, the Delay_Req's `before`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stamps {
    pub origin: Option<u64>,
    pub t1: Option<u64>,
    pub t2: Option<u64>,
    pub before: Option<u64>,
    pub t3: Option<u64>,
    pub answered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PtpState {
    pub clock: Discipline,
    /// The round's number (master) or the latest Sync's (slave).
    pub seq: u32,
    pub stamps: Stamps,
    /// The master: the slave it is serving.
    pub serving: usize,
    pub rounds_left: u32,
}

#[derive(Clone, Debug)]
pub struct Ptp {
    pub params: Params,
}

impl Ptp {
    pub fn new(params: Params) -> Self {
        Ptp { params }
    }

    /// A slave's slot: when a Delay_Req does not come, the master moves on.
    fn slot(&self) -> u64 {
        self.params.period / (2 * self.params.cores.max(2) as u64 - 2)
    }
}

impl Actor for Ptp {
    type Msg = PtpMsg;
    type State = PtpState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> PtpState {
        let p = &self.params;
        if usize::from(id) == 0 && p.rounds > 0 && p.cores > 1 {
            o.set_timer(Timer::Round, cycles(p.first..p.first + 1));
        }
        o.set_timer(Timer::Done, cycles(p.end()..p.end() + 1));
        PtpState { clock: Discipline::default(), seq: 0, stamps: Stamps::default(), serving: 0, rounds_left: p.rounds }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<PtpState>, src: Id, msg: PtpMsg, o: &mut Out<Self>) {
        match msg {
            // The master.
            PtpMsg::DelayReq { seq } => {
                o.send(src, PtpMsg::DelayResp { seq, t4: state.clock.now });
                let j = usize::from(src);
                if seq == state.seq && j == state.serving && j + 1 < self.params.cores {
                    o.set_timer(Timer::Sync(j + 1), cycles(0..1));
                }
            }
            // The slave.
            PtpMsg::Sync { seq, origin } if seq > state.seq => {
                let s = state.to_mut();
                s.seq = seq;
                // A Sync taken while slewing measures a clock in motion.
                let t2 = (!s.clock.slewing()).then_some(s.clock.now);
                s.stamps = Stamps { origin: Some(origin), t2, ..Stamps::default() };
            }
            PtpMsg::FollowUp { seq, t1 }
                if seq == state.seq && state.stamps.t2.is_some() && state.stamps.t1.is_none() =>
            {
                let s = state.to_mut();
                s.stamps.t1 = Some(t1);
                s.stamps.before = Some(s.clock.now);
                o.send(src, PtpMsg::DelayReq { seq });
                o.set_timer(Timer::Egress, cycles(0..1));
            }
            PtpMsg::DelayResp { seq, t4 } if seq == state.seq && !state.stamps.answered => {
                let Stamps {
                    origin: Some(origin), t1: Some(t1), t2: Some(t2), before: Some(before), t3: Some(t3), ..
                } = state.stamps
                else {
                    return;
                };
                let s = state.to_mut();
                s.stamps.answered = true;
                let p = &self.params;
                let (ms, sm) = (t2 as i64 - t1 as i64, t4 as i64 - t3 as i64);
                // Master minus slave (minus the offset from master), clamped
                // into what causality allows.
                let (lo, hi) = (origin as i64 - t2 as i64, t4 as i64 - before as i64);
                let theta = (((sm - ms) as f64 / 2.0).round() as i64).clamp(lo.min(hi), hi.max(lo));
                let reach = (theta - lo).max(hi - theta).max(0) as u64;
                // The slave's clock over the exchange, and the master's leg
                // before it (at most the reach).
                let span = s.clock.now.saturating_sub(t2) + reach + 2;
                let bound = reach as f64 + p.read_error() + p.aging(span);
                let stepped = s.clock.correct(p, theta, Policy::StepFirst);
                s.clock.state(usize::from(src), theta - stepped, bound.ceil() as u64);
            }
            // Late, duplicated or out of turn: nothing to do.
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<PtpState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match *timer {
            Timer::Round => {
                s.seq += 1;
                s.rounds_left -= 1;
                o.set_timer(Timer::Sync(1), cycles(0..1));
                if s.rounds_left > 0 {
                    let p = self.params.period;
                    o.set_timer(Timer::Round, cycles(p..p + 1));
                }
            }
            Timer::Sync(j) => {
                s.serving = j;
                o.send(Id::from(j), PtpMsg::Sync { seq: s.seq, origin: s.clock.now });
                o.set_timer(Timer::FollowUp(j), cycles(0..1));
            }
            Timer::FollowUp(j) => {
                o.send(Id::from(j), PtpMsg::FollowUp { seq: s.seq, t1: s.clock.now });
                if j + 1 < self.params.cores {
                    let slot = self.slot();
                    o.set_timer(Timer::Sync(j + 1), cycles(slot..slot + 1));
                }
            }
            Timer::Egress => {
                if s.stamps.t1.is_some() && s.stamps.t3.is_none() {
                    s.stamps.t3 = Some(s.clock.now);
                }
            }
            Timer::Done => s.clock.done = true,
        }
    }
}

impl OnCore for Ptp {
    fn finished(&self, state: &PtpState) -> bool {
        state.clock.done
    }

    fn read_clock(&self, state: &mut PtpState, reading: u64) {
        state.clock.now = reading;
    }

    fn clock_request(&self, state: &PtpState) -> Option<(u32, Adjust)> {
        state.clock.request()
    }

    fn claim(&self, state: &PtpState) -> Option<(u32, Claim)> {
        state.clock.claimed()
    }

    fn kind(msg: &PtpMsg) -> &'static str {
        match msg {
            PtpMsg::Sync { .. } => "sync",
            PtpMsg::FollowUp { .. } => "follow_up",
            PtpMsg::DelayReq { .. } => "delay_req",
            PtpMsg::DelayResp { .. } => "delay_resp",
        }
    }

    fn primitive(msg: &PtpMsg) -> Primitive {
        match msg {
            PtpMsg::Sync { .. } | PtpMsg::FollowUp { .. } => Primitive::TokenCentral,
            PtpMsg::DelayReq { .. } | PtpMsg::DelayResp { .. } => Primitive::RequestGrant,
        }
    }
}
