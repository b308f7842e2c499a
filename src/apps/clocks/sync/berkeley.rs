//! The Berkeley algorithm (Gusella and Zatti 1989, "The accuracy of the
//! clock synchronization achieved by TEMPO in Berkeley UNIX 4.3BSD").
//! Internal synchronisation: no clock is the reference. Once a round the
//! master (core 0) polls each slave in turn; a slave answers with its clock
//! reading, and the master estimates the slave's offset from its own clock
//! Cristian's way (`reading + rtt/2 - own`, within `Params::round_trip_bound`,
//! stated as a claim the monitor checks). With the answers in (or at a
//! deadline a quarter period on), the master averages the offsets, its own
//! (0) among them, leaving out every one more than `gamma` from their median
//! (a fault-tolerant average: a clock gone mad does not drag the rest), and
//! sends each slave the correction that brings it to the average, outliers
//! too, and corrects its own clock by the average.
//!
//! **Guarantees.** The clocks agree with each other to about the master's
//! estimation error, whatever true time does (the average drifts with the
//! clocks). Clocks never run backwards: every correction is a slew (at most
//! a quarter period per round; the rest waits for the next round), and a
//! slave still slewing says so in its answer and is left out of that round,
//! as is every answer while the master slews.
//!
//! **Cost.** Three messages per slave per round (Poll, Reading, Adjust), all
//! through the master, which polls one slave at a time (the next Poll goes
//! when the last Reading came, or a slot later): a Reading waiting in a ring
//! while the master sends would lengthen the round trip and skew it.
//!
//! **Primitives**: the poll and its answers are broadcast-and-collect (2a,
//! with a deadline standing in for unanimity), and so are the corrections
//! sent back with the decision.
//!
//! **The broken variant** (`SyncAlgo::BrokenBerkeley`) steps its corrections:
//! a clock told to go back jumps back, and the monotonic-clock monitor
//! catches it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::Params;
use super::discipline::{Discipline, Policy};
use crate::exec::actor::{Claim, OnCore, cycles};
use crate::exec::clock::Adjust;
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BerkeleyMsg {
    Poll { round: u32, t0: u64 },
    Reading { round: u32, t0: u64, ts: u64, slewing: bool },
    Adjust { round: u32, by: i64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    Round,
    /// Poll this slave.
    Poll(usize),
    /// Average what came and send the corrections.
    Average,
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BerkeleyState {
    pub clock: Discipline,
    pub round: u32,
    /// The master: each slave's estimated offset this round (index 0 unused),
    /// the slave it polls, and whether it has averaged.
    pub estimates: Vec<Option<i64>>,
    pub serving: usize,
    pub averaged: bool,
    pub rounds_left: u32,
}

#[derive(Clone, Debug)]
pub struct Berkeley {
    pub params: Params,
    /// Offsets further than this from the median are left out of the average.
    pub gamma: u64,
    pub broken: bool,
}

impl Berkeley {
    pub fn new(params: Params, gamma: u64, broken: bool) -> Self {
        Berkeley { params, gamma, broken }
    }

    fn policy(&self) -> Policy {
        if self.broken { Policy::Step } else { Policy::Slew }
    }

    fn slot(&self) -> u64 {
        self.params.period / (4 * self.params.cores.max(2) as u64 - 4)
    }

    /// The fault-tolerant average of the master's own offset (0) and the
    /// slaves' estimates.
    pub fn average(estimates: &[Option<i64>], gamma: u64) -> i64 {
        let mut all: Vec<i64> = std::iter::once(0).chain(estimates.iter().flatten().copied()).collect();
        all.sort_unstable();
        let median = all[(all.len() - 1) / 2];
        let kept: Vec<i64> = all.into_iter().filter(|v| v.abs_diff(median) <= gamma).collect();
        (kept.iter().map(|&v| v as f64).sum::<f64>() / kept.len() as f64).round() as i64
    }
}

impl Actor for Berkeley {
    type Msg = BerkeleyMsg;
    type State = BerkeleyState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> BerkeleyState {
        let p = &self.params;
        if usize::from(id) == 0 && p.rounds > 0 && p.cores > 1 {
            o.set_timer(Timer::Round, cycles(p.first..p.first + 1));
        }
        o.set_timer(Timer::Done, cycles(p.end()..p.end() + 1));
        BerkeleyState {
            clock: Discipline::default(),
            round: 0,
            estimates: Vec::new(),
            serving: 0,
            averaged: false,
            rounds_left: p.rounds,
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<BerkeleyState>, src: Id, msg: BerkeleyMsg, o: &mut Out<Self>) {
        let j = usize::from(src);
        match msg {
            // A slave.
            BerkeleyMsg::Poll { round, t0 } => {
                let c = &state.clock;
                o.send(src, BerkeleyMsg::Reading { round, t0, ts: c.now, slewing: c.slewing() });
            }
            BerkeleyMsg::Adjust { round, by } if round > state.round => {
                let s = state.to_mut();
                s.round = round;
                s.clock.correct(&self.params, by, self.policy());
            }
            // The master.
            BerkeleyMsg::Reading { round, t0, ts, slewing }
                if round == state.round && !state.averaged && state.estimates.get(j) == Some(&None) =>
            {
                let s = state.to_mut();
                if j == s.serving && j + 1 < self.params.cores {
                    o.set_timer(Timer::Poll(j + 1), cycles(0..1));
                }
                // A clock in motion, at either end, is not measured.
                if slewing || s.clock.slewing() {
                    return;
                }
                let t1 = s.clock.now;
                let rtt = t1.saturating_sub(t0);
                let estimate = ts as i64 + (rtt / 2) as i64 - t1 as i64;
                s.estimates[j] = Some(estimate);
                s.clock.state(j, estimate, self.params.round_trip_bound(rtt));
                if s.estimates.iter().skip(1).all(Option::is_some) {
                    o.set_timer(Timer::Average, cycles(0..1));
                }
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<BerkeleyState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        let p = &self.params;
        match *timer {
            Timer::Round => {
                s.round += 1;
                s.rounds_left -= 1;
                s.estimates = vec![None; p.cores];
                s.averaged = false;
                o.set_timer(Timer::Poll(1), cycles(0..1));
                let deadline = p.period / 4;
                o.set_timer(Timer::Average, cycles(deadline..deadline + 1));
                if s.rounds_left > 0 {
                    o.set_timer(Timer::Round, cycles(p.period..p.period + 1));
                }
            }
            Timer::Poll(j) => {
                s.serving = j;
                o.send(Id::from(j), BerkeleyMsg::Poll { round: s.round, t0: s.clock.now });
                if j + 1 < p.cores {
                    let slot = self.slot();
                    o.set_timer(Timer::Poll(j + 1), cycles(slot..slot + 1));
                }
            }
            Timer::Average if !s.averaged => {
                s.averaged = true;
                if s.estimates.iter().all(Option::is_none) {
                    return;
                }
                let average = Self::average(&s.estimates, self.gamma);
                for (j, e) in s.estimates.iter().enumerate() {
                    if let Some(e) = e {
                        o.send(Id::from(j), BerkeleyMsg::Adjust { round: s.round, by: average - e });
                    }
                }
                s.clock.correct(p, average, self.policy());
            }
            Timer::Average => {}
            Timer::Done => s.clock.done = true,
        }
    }
}

impl OnCore for Berkeley {
    fn finished(&self, state: &BerkeleyState) -> bool {
        state.clock.done
    }

    fn read_clock(&self, state: &mut BerkeleyState, reading: u64) {
        state.clock.now = reading;
    }

    fn clock_request(&self, state: &BerkeleyState) -> Option<(u32, Adjust)> {
        state.clock.request()
    }

    fn claim(&self, state: &BerkeleyState) -> Option<(u32, Claim)> {
        state.clock.claimed()
    }

    fn kind(msg: &BerkeleyMsg) -> &'static str {
        match msg {
            BerkeleyMsg::Poll { .. } => "poll",
            BerkeleyMsg::Reading { .. } => "reading",
            BerkeleyMsg::Adjust { .. } => "adjust",
        }
    }

    fn primitive(_msg: &BerkeleyMsg) -> Primitive {
        Primitive::BroadcastCollect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_leaves_out_clocks_far_from_the_median() {
        // The master (0) and three slaves; one is a million off.
        let estimates = [None, Some(300), Some(-600), Some(1_000_000)];
        // Sorted -600, 0, 300, 1,000,000: the median (the lower middle) is 0,
        // and the million, more than gamma from it, is left out.
        assert_eq!(Berkeley::average(&estimates, 20_000), -100);
        // With a wide enough gamma it drags the average.
        assert_eq!(Berkeley::average(&estimates, 2_000_000), 249_925);
        // No answers: the master's own clock alone.
        assert_eq!(Berkeley::average(&[None, None], 10), 0);
    }
}
