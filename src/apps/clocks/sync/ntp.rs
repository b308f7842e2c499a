//! NTP-style synchronisation (Mills, RFC 5905, client-server mode, one
//! server). A client's request carries its transmit reading `T1`; the
//! server stamps its receive and transmit readings `T2`, `T3` (here one read:
//! the server answers in the handler that took the request, so `T2 = T3`);
//! the client stamps the reply's arrival `T4`. Then
//!
//! ```text
//! offset θ = ((T2 - T1) + (T3 - T4)) / 2      (server minus client)
//! delay  δ = (T4 - T1) - (T3 - T2)            (the round trip in flight)
//! ```
//!
//! **Guarantees.** Both one-way delays are at least 0, so θ is off by at most
//! δ/2: half the difference of the two legs. The client keeps its last
//! `WINDOW` (8) samples and trusts the one of least δ (NTP's clock filter: a
//! sample whose request or reply waited somewhere is worse, and δ says so),
//! corrected for the corrections made since and aged by the drift bound
//! (NTP's dispersion). It states δ/2 plus those terms as its bound; the
//! monitor checks every claim. The clock steps at most once (the first sync,
//! when a slew cannot absorb the offset) and slews after: monotonic once
//! synchronised. A sample is kept only if no correction happened or was
//! still slewing while it was taken (the request carries the correction
//! count, the reply echoes it).
//!
//! **Cost.** Two messages per client per round, like Cristian, at staggered
//! phases; four timestamps ride in the reply (≤ 40 bytes).
//!
//! **Primitives**: Request and Reply are request-grant with a single granter
//! (1a).
//!
//! **The broken variant** (`SyncAlgo::BrokenNtp`) uses the latest sample,
//! not the least-delayed, but states the best sample's bound: when a message
//! is delayed on one leg (a `delay` fault), its error is half that delay and
//! the bound it states is far smaller.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::Params;
use super::discipline::{Discipline, Policy};
use crate::exec::actor::{Claim, OnCore, cycles};
use crate::exec::clock::Adjust;
use crate::model::Primitive;

/// Samples the clock filter keeps.
pub const WINDOW: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NtpMsg {
    Request { epoch: u32, t1: u64 },
    Reply { epoch: u32, t1: u64, t2: u64, t3: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    Round,
    Done,
}

/// One exchange: twice θ (exact in whole cycles), δ, when it ended, and the
/// corrections made before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sample {
    pub twice_theta: i64,
    pub delta: i64,
    pub t1: u64,
    pub t4: u64,
    pub applied: i64,
    pub moved: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NtpState {
    pub clock: Discipline,
    pub samples: Vec<Sample>,
    pub rounds_left: u32,
}

#[derive(Clone, Debug)]
pub struct Ntp {
    pub params: Params,
    pub broken: bool,
}

impl Ntp {
    pub fn new(params: Params, broken: bool) -> Self {
        Ntp { params, broken }
    }

    /// The estimate now and its bound from sample `s`: θ less the
    /// corrections made since, within δ/2 plus the reads' error, the drift
    /// over the exchange and the drift since (true cycles bounded through
    /// the drift bound and the corrections' sizes).
    fn estimate(&self, c: &Discipline, s: &Sample) -> (i64, f64) {
        let p = &self.params;
        let theta = (s.twice_theta as f64 / 2.0).round() as i64 - (c.applied - s.applied);
        let exchange = s.t4.saturating_sub(s.t1);
        let since = c.now.saturating_sub(s.t4) + (c.moved - s.moved);
        let bound = s.delta.max(0) as f64 / 2.0 + 0.5 + p.read_error() + p.aging(exchange) + p.aging(since);
        (theta, bound)
    }
}

impl Actor for Ntp {
    type Msg = NtpMsg;
    type State = NtpState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> NtpState {
        let p = &self.params;
        let me = usize::from(id);
        let at = p.first + p.phase(me);
        if me != 0 && p.rounds > 0 {
            o.set_timer(Timer::Round, cycles(at..at + 1));
        }
        o.set_timer(Timer::Done, cycles(p.end()..p.end() + 1));
        NtpState { clock: Discipline::default(), samples: Vec::new(), rounds_left: p.rounds }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<NtpState>, src: Id, msg: NtpMsg, o: &mut Out<Self>) {
        match msg {
            NtpMsg::Request { epoch, t1 } => {
                let now = state.clock.now;
                o.send(src, NtpMsg::Reply { epoch, t1, t2: now, t3: now });
            }
            NtpMsg::Reply { epoch, t1, t2, t3 } => {
                let c = &state.clock;
                // Taken across a correction, during a slew, or seen before:
                // not a sample of the clock as it is.
                if epoch != c.adjusts || t1 < c.quiet_from || state.samples.iter().any(|s| s.t1 == t1) {
                    return;
                }
                let s = state.to_mut();
                let t4 = s.clock.now;
                let (t1i, t2i, t3i, t4i) = (t1 as i64, t2 as i64, t3 as i64, t4 as i64);
                let sample = Sample {
                    twice_theta: (t2i - t1i) + (t3i - t4i),
                    delta: (t4i - t1i) - (t3i - t2i),
                    t1,
                    t4,
                    applied: s.clock.applied,
                    moved: s.clock.moved,
                };
                if s.samples.len() == WINDOW {
                    s.samples.remove(0);
                }
                s.samples.push(sample);
                // The least δ, the latest of equals.
                let best = *s.samples.iter().rev().min_by_key(|x| x.delta).expect("a sample was just kept");
                let (theta, bound) = if self.broken {
                    let (theta, _) = self.estimate(&s.clock, &sample);
                    (theta, self.estimate(&s.clock, &best).1)
                } else {
                    self.estimate(&s.clock, &best)
                };
                let stepped = s.clock.correct(&self.params, theta, Policy::StepFirst);
                s.clock.state(usize::from(src), theta - stepped, bound.ceil() as u64);
            }
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<NtpState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match timer {
            Timer::Round => {
                s.rounds_left -= 1;
                o.send(Id::from(0), NtpMsg::Request { epoch: s.clock.adjusts, t1: s.clock.now });
                if s.rounds_left > 0 {
                    let p = self.params.period;
                    o.set_timer(Timer::Round, cycles(p..p + 1));
                }
            }
            Timer::Done => s.clock.done = true,
        }
    }
}

impl OnCore for Ntp {
    fn finished(&self, state: &NtpState) -> bool {
        state.clock.done
    }

    fn read_clock(&self, state: &mut NtpState, reading: u64) {
        state.clock.now = reading;
    }

    fn clock_request(&self, state: &NtpState) -> Option<(u32, Adjust)> {
        state.clock.request()
    }

    fn claim(&self, state: &NtpState) -> Option<(u32, Claim)> {
        state.clock.claimed()
    }

    fn kind(msg: &NtpMsg) -> &'static str {
        match msg {
            NtpMsg::Request { .. } => "request",
            NtpMsg::Reply { .. } => "reply",
        }
    }

    fn primitive(_msg: &NtpMsg) -> Primitive {
        Primitive::RequestGrant
    }
}
