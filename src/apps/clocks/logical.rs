//! Logical clocks carried on an application's messages: Lamport timestamps,
//! vector clocks and hybrid logical clocks, as one `stateright` actor whose
//! clock rule is chosen by `LogicalAlgo`. The application is a seeded random
//! workload: every period each process makes one event, either local or a
//! send to a peer, and every message it takes is a receive event. The clock
//! rides on every message (piggybacked; primitive 4c, an ordering token from
//! a per-process logical clock), so it costs what its bytes cost in the slot.
//!
//! **Lamport (1978).** One counter: tick before every event; on receive take
//! the maximum of one's own and the message's, then tick. Guarantees the clock
//! condition (e → f implies L(e) < L(f)) and, with the process id as a
//! tie-break, a total order consistent with causality. The converse fails: a
//! smaller stamp says nothing about causality. One word per message.
//!
//! **Vector clocks (Fidge, Mattern 1988).** One counter per process: tick
//! one's own entry at every event; on receive take the entry-wise maximum
//! first. Characterises happens-before exactly: V(e) < V(f) if and only if
//! e → f, and incomparable vectors mean concurrent events. N words per
//! message.
//!
//! **Hybrid logical clocks (Kulkarni et al. 2014).** A pair (l, c): l is the
//! largest physical time the process has heard of, c counts events within
//! one l. Guarantees e → f implies (l, c)(e) < (l, c)(f), l ≥ the local
//! physical time, l − pt bounded by the clocks' skew ε, and c bounded; two
//! words per message, close to physical time.
//!
//! Broken variants, which their monitors must catch: `BrokenLamport` ticks on
//! receive without taking the maximum; `BrokenVector` takes only the sender's
//! own entry from the message (so causality through a third process is lost);
//! `BrokenHlc` ignores the message's (l, c) on receive.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogicalAlgo {
    Lamport,
    Vector,
    Hlc,
    /// Lamport without the maximum on receive: deliberately broken.
    BrokenLamport,
    /// Vector clocks that take only the sender's own entry on receive.
    BrokenVector,
    /// HLC that ignores the message's (l, c) on receive.
    BrokenHlc,
}

impl LogicalAlgo {
    pub const ALL: [LogicalAlgo; 6] = [
        LogicalAlgo::Lamport,
        LogicalAlgo::Vector,
        LogicalAlgo::Hlc,
        LogicalAlgo::BrokenLamport,
        LogicalAlgo::BrokenVector,
        LogicalAlgo::BrokenHlc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LogicalAlgo::Lamport => "lamport",
            LogicalAlgo::Vector => "vector",
            LogicalAlgo::Hlc => "hlc",
            LogicalAlgo::BrokenLamport => "broken-lamport",
            LogicalAlgo::BrokenVector => "broken-vector",
            LogicalAlgo::BrokenHlc => "broken-hlc",
        }
    }

    /// The clock a variant is a version of.
    pub fn base(self) -> LogicalAlgo {
        match self {
            LogicalAlgo::BrokenLamport => LogicalAlgo::Lamport,
            LogicalAlgo::BrokenVector => LogicalAlgo::Vector,
            LogicalAlgo::BrokenHlc => LogicalAlgo::Hlc,
            a => a,
        }
    }
}

impl std::str::FromStr for LogicalAlgo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::apps::by_name(s, &LogicalAlgo::ALL, LogicalAlgo::name, "logical clock")
    }
}

/// The application: `events` local-or-send events per process, one every
/// `period` cycles (a seeded pick in the range).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogicalApp {
    pub algo: LogicalAlgo,
    pub processes: usize,
    pub events: u32,
    pub period: Range<u64>,
    pub seed: u64,
}

/// A message: the application's payload is immaterial; the clock rides on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Clocked(pub Vec<u64>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Lamport: [L]; vector: one entry per process; HLC: [l, c].
    pub clock: Vec<u64>,
    /// The latest physical reading (HLC's pt; set before every handler).
    pub pt: u64,
    /// Local and send events made (the workload's count).
    pub made: u32,
    /// All events, receives included.
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tick;

impl LogicalApp {
    /// What process `me`'s `k`-th made event is: `None` local, or a send to
    /// a peer: a seeded function of (seed, me, k), so both worlds agree.
    fn action(&self, me: usize, k: u32) -> Option<usize> {
        if self.processes < 2 {
            return None;
        }
        let mut rng = SplitMix64::new(self.seed ^ ((me as u64) << 32 | u64::from(k)).wrapping_mul(0x9e37_79b9));
        let roll = rng.below(3);
        (roll > 0).then(|| {
            let peer = rng.below(self.processes as u64 - 1) as usize;
            if peer >= me { peer + 1 } else { peer }
        })
    }

    /// The clock's rule for a local or send event.
    fn tick(&self, me: usize, s: &mut State) {
        match self.algo.base() {
            LogicalAlgo::Vector => s.clock[me] += 1,
            LogicalAlgo::Hlc => {
                let l = s.clock[0];
                s.clock[0] = l.max(s.pt);
                s.clock[1] = if s.clock[0] == l { s.clock[1] + 1 } else { 0 };
            }
            _ => s.clock[0] += 1,
        }
        s.count += 1;
    }

    /// The clock's rule for receiving `m` from `from`.
    fn receive(&self, me: usize, from: usize, s: &mut State, m: &[u64]) {
        match self.algo {
            LogicalAlgo::BrokenVector => {
                s.clock[from] = s.clock[from].max(m[from]);
                s.clock[me] += 1;
            }
            LogicalAlgo::BrokenHlc => {
                let l = s.clock[0];
                s.clock[0] = l.max(s.pt);
                s.clock[1] = if s.clock[0] == l { s.clock[1] + 1 } else { 0 };
            }
            LogicalAlgo::Lamport => s.clock[0] = s.clock[0].max(m[0]) + 1,
            LogicalAlgo::BrokenLamport => s.clock[0] += 1,
            LogicalAlgo::Vector => {
                for (mine, theirs) in s.clock.iter_mut().zip(m) {
                    *mine = (*mine).max(*theirs);
                }
                s.clock[me] += 1;
            }
            LogicalAlgo::Hlc => {
                let (l, c) = (s.clock[0], s.clock[1]);
                let (lm, cm) = (m[0], m[1]);
                let nl = l.max(lm).max(s.pt);
                s.clock[1] = if nl == l && nl == lm {
                    c.max(cm) + 1
                } else if nl == l {
                    c + 1
                } else if nl == lm {
                    cm + 1
                } else {
                    0
                };
                s.clock[0] = nl;
            }
        }
        s.count += 1;
    }
}

impl Actor for LogicalApp {
    type Msg = Clocked;
    type State = State;
    type Timer = Tick;
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        if self.events > 0 {
            o.set_timer(Tick, cycles(self.period.clone()));
        }
        let width = match self.algo.base() {
            LogicalAlgo::Vector => self.processes,
            LogicalAlgo::Hlc => 2,
            _ => 1,
        };
        State { clock: vec![0; width], pt: 0, made: 0, count: 0 }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State>, src: Id, msg: Clocked, _o: &mut Out<Self>) {
        self.receive(usize::from(id), usize::from(src), state.to_mut(), &msg.0);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<State>, _timer: &Tick, o: &mut Out<Self>) {
        let me = usize::from(id);
        let s = state.to_mut();
        self.tick(me, s);
        if let Some(peer) = self.action(me, s.made) {
            o.send(Id::from(peer), Clocked(s.clock.clone()));
        }
        s.made += 1;
        if s.made < self.events {
            o.set_timer(Tick, cycles(self.period.clone()));
        }
    }
}

impl OnCore for LogicalApp {
    fn finished(&self, state: &State) -> bool {
        state.made >= self.events
    }

    fn kind(_msg: &Clocked) -> &'static str {
        "app"
    }

    fn primitive(_msg: &Clocked) -> Primitive {
        Primitive::TokenLogical
    }

    fn read_clock(&self, state: &mut State, reading: u64) {
        state.pt = reading;
    }

    fn stamp(&self, state: &State) -> Option<(u32, Vec<u64>)> {
        (state.count > 0).then(|| (state.count, state.clock.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(algo: LogicalAlgo) -> LogicalApp {
        LogicalApp { algo, processes: 3, events: 4, period: 10..20, seed: 1 }
    }

    fn fresh(a: &LogicalApp) -> State {
        a.on_start(Id::from(0), &None, &mut Out::new())
    }

    #[test]
    fn the_rules_are_the_textbooks() {
        // Lamport: receive 7 at clock 2 -> max(2, 7) + 1 = 8.
        let a = app(LogicalAlgo::Lamport);
        let mut s = fresh(&a);
        s.clock[0] = 2;
        a.receive(0, 1, &mut s, &[7]);
        assert_eq!(s.clock, [8]);
        // Broken: 2 + 1 = 3, whatever the message says.
        let b = app(LogicalAlgo::BrokenLamport);
        let mut s = fresh(&b);
        s.clock[0] = 2;
        b.receive(0, 1, &mut s, &[7]);
        assert_eq!(s.clock, [3]);
        // Vector at process 1: [1,2,0] receives [3,0,1] -> max [3,2,1], then own +1.
        let v = app(LogicalAlgo::Vector);
        let mut s = fresh(&v);
        s.clock = vec![1, 2, 0];
        v.receive(1, 0, &mut s, &[3, 0, 1]);
        assert_eq!(s.clock, [3, 3, 1]);
        // HLC (Kulkarni et al., figure 5): l=10,c=2, pt=5, message (10,4):
        // l stays 10, equal to both -> c = max(2,4)+1 = 5.
        let h = app(LogicalAlgo::Hlc);
        let mut s = fresh(&h);
        s.clock = vec![10, 2];
        s.pt = 5;
        h.receive(0, 1, &mut s, &[10, 4]);
        assert_eq!(s.clock, [10, 5]);
        // Physical time ahead of both: l = pt, c = 0.
        s.pt = 50;
        h.receive(0, 1, &mut s, &[12, 9]);
        assert_eq!(s.clock, [50, 0]);
        // A local event with pt behind l: l stays, c ticks.
        s.pt = 40;
        h.tick(0, &mut s);
        assert_eq!(s.clock, [50, 1]);
    }

    #[test]
    fn the_workload_is_a_seeded_function_of_process_and_event() {
        let a = app(LogicalAlgo::Lamport);
        let picks: Vec<Option<usize>> = (0..200).map(|k| a.action(1, k)).collect();
        assert_eq!(picks, (0..200).map(|k| a.action(1, k)).collect::<Vec<_>>());
        assert!(picks.iter().all(|p| *p != Some(1)), "never to itself");
        let sends = picks.iter().filter(|p| p.is_some()).count();
        assert!((100..170).contains(&sends), "about two thirds are sends: {sends}");
    }
}
