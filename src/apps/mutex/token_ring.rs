//! Token ring (Le Lann 1977): the processes form a logical ring `0 → 1 → … →
//! N−1 → 0` and one token circulates on it; only its holder may enter. Process
//! 0 holds the token at start. A process that receives the token enters if it
//! wants the section and otherwise passes it straight to its successor; after
//! leaving it passes it on. The token never stops: it keeps circulating while
//! nobody wants it (the run ends when every process is finished).
//!
//! **Guarantees.** Mutual exclusion: there is exactly one token, and a process
//! enters only while it holds it. Liveness and fairness: a waiting process
//! enters within one turn of the ring, and waits for at most `N − 1` others'
//! sections (round-robin order, not request order); this needs the token to
//! keep moving, i.e. every message delivered and no process crashed (a lost
//! token, or a crash of its holder, stops everyone; regenerating it is another
//! algorithm). Channels must be reliable; order does not matter, as only one
//! message exists at a time.
//!
//! **Cost.** Under full load one message per entry (the token goes to the next
//! process, which wants it); a lone requester waits for between 1 and `N − 1`
//! hops. The token also costs messages when nobody wants it: idle circulation
//! is unbounded. Synchronization delay: from one to `N − 1` message latencies.
//!
//! **Primitives**: passing the token is a coordinated authority transfer (5a).
//!
//! With one process the token never leaves process 0: it enters and leaves
//! without a message (a process never sends to itself).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Timer, Workload};
use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TokenMsg {
    /// The right to enter.
    Token,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Thinking,
    /// Wants the section, waiting for the token.
    Wanting,
    /// Holds the token and is in the section.
    InSection,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenRingState {
    /// This process holds the token.
    pub token: bool,
    pub phase: Phase,
    /// Entries still to do.
    pub left: u32,
}

/// The token ring over a workload.
#[derive(Clone, Debug)]
pub struct TokenRing {
    pub workload: Workload,
}

impl TokenRing {
    pub fn new(workload: Workload) -> Self {
        assert_eq!(workload.entries.len(), workload.processes, "one share of entries per process");
        TokenRing { workload }
    }

    /// Gives the token to the successor, if there is one other than us.
    fn pass(&self, id: Id, s: &mut TokenRingState, o: &mut Out<Self>) {
        let next = (usize::from(id) + 1) % self.workload.processes;
        if next != usize::from(id) {
            s.token = false;
            o.send(Id::from(next), TokenMsg::Token);
        }
    }

    fn enter(s: &mut TokenRingState, o: &mut Out<Self>) {
        s.phase = Phase::InSection;
        o.set_timer(Timer::Leave, cycles(0..1));
    }
}

impl Actor for TokenRing {
    type Msg = TokenMsg;
    type State = TokenRingState;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> TokenRingState {
        let left = self.workload.entries[usize::from(id)];
        if left > 0 {
            o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
        }
        let mut s = TokenRingState { token: usize::from(id) == 0, phase: Phase::Thinking, left };
        if s.token {
            // Nobody wants the section yet: the token starts its round.
            self.pass(id, &mut s, o);
        }
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<TokenRingState>, _src: Id, msg: TokenMsg, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (s.phase, s.token, msg) {
            (Phase::Thinking, false, TokenMsg::Token) => {
                s.token = true;
                self.pass(id, s, o);
            }
            (Phase::Wanting, false, TokenMsg::Token) => {
                s.token = true;
                Self::enter(s, o);
            }
            // A second token while holding one (a duplicate from a faulty
            // network): the two merge. A duplicate that reaches another
            // process lets two hold a token at once, and breaks exclusion.
            (_, _, TokenMsg::Token) => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<TokenRingState>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match (s.phase, timer) {
            (Phase::Thinking, Timer::Want) => {
                s.phase = Phase::Wanting;
                // Only a lone process keeps the token while not wanting it.
                if s.token {
                    Self::enter(s, o);
                }
            }
            (Phase::InSection, Timer::Leave) => {
                s.phase = Phase::Thinking;
                s.left -= 1;
                self.pass(id, s, o);
                if s.left > 0 {
                    o.set_timer(Timer::Want, cycles(self.workload.think.clone()));
                }
            }
            (phase, timer) => panic!("token-ring: process {id:?} in {phase:?} cannot take timer {timer:?}"),
        }
    }
}

impl OnCore for TokenRing {
    fn in_section(&self, state: &TokenRingState) -> bool {
        state.phase == Phase::InSection
    }

    fn wants(&self, state: &TokenRingState) -> bool {
        state.phase == Phase::Wanting
    }

    fn finished(&self, state: &TokenRingState) -> bool {
        state.left == 0
    }

    fn kind(_msg: &TokenMsg) -> &'static str {
        "token"
    }

    fn primitive(_msg: &TokenMsg) -> Primitive {
        Primitive::AuthorityCoordinated
    }
}
