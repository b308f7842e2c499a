//! Single-decree Paxos (Lamport, "Paxos Made Simple", 2001), run for a
//! sequence of independent decrees (instances) decided one after another.
//!
//! **Roles.** Every process is an acceptor and a learner. The first
//! `proposers(N)` processes are also proposers (`Paxos::proposers`: two, or a
//! majority when that is more, so that a crash of any minority leaves one);
//! proposer `p` proposes its own value `p + 1` in every instance.
//!
//! **The algorithm, per instance.** A proposer picks a ballot `(round, id)`
//! above every round it has seen (ballots are unique: the id breaks ties, and
//! the round it used is saved before use, so a restarted proposer never reuses
//! one). Phase 1: `Prepare(b)` to every acceptor; an acceptor whose promise is
//! not above `b` promises `b` and answers `Promise(b, accepted)` with the
//! ballot and value it last accepted (piggybacked state). With a majority of
//! promises the proposer adopts the value of the highest accepted ballot among
//! them, or its own if none. Phase 2: `Accept(b, v)`; an acceptor whose
//! promise is not above `b` accepts and answers `Accepted(b)`. A majority of
//! those decides `v`: the proposer tells every learner `Decide(v)` and, once
//! it knows the instance decided (by its own quorum or a `Decide`), starts the
//! next instance after a short random back-off. An acceptor that refuses says
//! `Reject(promised)` so that the proposer's next ballot jumps above it; a
//! proposer that has not decided when its retry timer (randomised) fires
//! starts again with a higher ballot, so it finishes once drops and
//! partitions stop. An acceptor that already knows an instance's decision
//! answers a `Prepare` or `Accept` of it with `Decide`. A process that hears
//! nothing for a while asks every other process (`Query`) for the first
//! decision it lacks; one that knows answers `Decide`.
//!
//! A process acts as acceptor for itself without messages (cohsim's rings
//! carry no message to oneself): a proposer's own promise and acceptance count
//! towards its quorums.
//!
//! **Durable state.** The acceptor's promised ballot and accepted (ballot,
//! value) per instance, the proposer's last round, and the learner's
//! decisions are written with `Command::Save` before any message that reveals
//! them is sent, so a crash-recovery (`crash:C@T+D`) loses none of them: a
//! process never breaks a promise it made, never reuses a ballot, and never
//! decides an instance twice.
//!
//! **Guarantees.** Agreement (no two learners decide differently in an
//! instance) and validity (a decided value was proposed) always, under any
//! loss, duplication, delay, partition and crash; integrity (a process
//! decides an instance at most once). Termination when a majority is alive
//! and connected long enough for one proposer to run both phases undisturbed
//! (the random retries make that happen eventually; FLP says it cannot be
//! promised in every execution).
//!
//! **Cost, fault-free, one proposer, N processes**: N − 1 each of `Prepare`,
//! `Promise`, `Accept`, `Accepted` and `Decide`: 5(N − 1) messages per
//! instance (every acceptor answers, even after the quorum is in), four
//! message delays to the proposer's decision, five to the others'. With two
//! proposers in contention, `Reject`s and retries add to it.
//!
//! **Primitives.** Phase 1 is a quorum grant (1b), phase 2 and the decision a
//! quorum broadcast-and-collect (2b), ballots a locally generated monotonic
//! ordering token (4b, carried by the messages of 1b and 2b); `Query` is a
//! request-grant to any one who knows (1a).
//!
//! **The broken variant** `broken-lower-ballot`: an acceptor accepts an
//! `Accept` whose ballot is below its promise. Two proposers that both
//! complete phase 1 then both complete phase 2 with different values.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Ballot, Quorum};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

pub type Value = u64;

/// The value proposer `p` proposes.
pub fn value_of(p: usize) -> Value {
    p as Value + 1
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    Prepare {
        inst: u32,
        ballot: Ballot,
    },
    Promise {
        inst: u32,
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
    },
    Accept {
        inst: u32,
        ballot: Ballot,
        value: Value,
    },
    Accepted {
        inst: u32,
        ballot: Ballot,
    },
    /// `ballot` was refused: the acceptor has promised `promised`.
    Reject {
        inst: u32,
        ballot: Ballot,
        promised: Ballot,
    },
    Decide {
        inst: u32,
        value: Value,
    },
    Query {
        inst: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Start (or retry with a higher ballot) the proposer's instance.
    Propose,
    /// Nothing heard for a while: ask for the first missing decision.
    CatchUp,
}

/// One instance's acceptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Acceptor {
    pub promised: Ballot,
    pub accepted: Option<(Ballot, Value)>,
}

/// What survives a crash-recovery.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Durable {
    /// The proposer's last round used.
    pub round: u32,
    pub acceptors: Vec<Acceptor>,
    pub decided: Vec<Option<Value>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the `Propose` timer (or done).
    Idle,
    /// Phase 1: promises from `granted`; the highest accepted among them.
    Preparing { granted: Quorum, best: Option<(Ballot, Value)> },
    /// Phase 2: proposing `value`; acceptances from `granted`.
    Accepting { granted: Quorum, value: Value },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proposer {
    /// The instance it works on (`ops` when all are decided).
    pub inst: u32,
    pub ballot: Ballot,
    pub phase: Phase,
    /// The highest round seen in any message (volatile: the saved round
    /// keeps ballots unique, this only makes the next one win sooner).
    pub seen: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub durable: Durable,
    pub proposer: Option<Proposer>,
    /// Queries sent (bounded in the model checker).
    pub queries: u32,
}

impl State {
    pub fn finished(&self) -> bool {
        self.durable.decided.iter().all(Option::is_some)
    }

    fn first_undecided(&self) -> u32 {
        self.durable.decided.iter().position(Option::is_none).unwrap_or(self.durable.decided.len()) as u32
    }
}

/// Timer ranges in cycles (see `super::timing`).
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// The first instance's start.
    pub start: Range<u64>,
    /// Between learning a decision and proposing the next instance.
    pub backoff: Range<u64>,
    /// A ballot's time to finish before the next one.
    pub retry: Range<u64>,
    /// Silence before a `Query`.
    pub catch_up: Range<u64>,
}

#[derive(Clone, Debug)]
pub struct Paxos {
    pub processes: usize,
    pub proposers: usize,
    /// Instances to decide.
    pub instances: u32,
    pub timing: Timing,
    /// Accept below the promise (`broken-lower-ballot`).
    pub broken: bool,
}

impl Paxos {
    /// Proposers on `n` processes: two, or a majority when more (so a crash
    /// of any minority leaves one), never more than `n`.
    pub fn proposers(n: usize) -> usize {
        n.min(2.max(super::super::majority(n)))
    }

    fn quorum(&self) -> u32 {
        super::super::majority(self.processes) as u32
    }

    fn others(&self, me: Id) -> impl Iterator<Item = Id> + '_ {
        (0..self.processes).filter(move |&j| j != usize::from(me)).map(Id::from)
    }

    fn broadcast(&self, me: Id, msg: Msg, o: &mut Out<Self>) {
        for j in self.others(me) {
            o.send(j, msg.clone());
        }
    }

    /// Starts (or restarts) a ballot for the proposer's instance.
    fn propose(&self, me: Id, s: &mut State, o: &mut Out<Self>) {
        let p = s.proposer.as_mut().expect("a proposer");
        let inst = p.inst;
        let acc = &mut s.durable.acceptors[inst as usize];
        // Above every round used, seen, or promised by our own acceptor (its
        // promise is durable, what we saw is not), so our own acceptor
        // promises it without a message.
        let round = s.durable.round.max(p.seen).max(acc.promised.round) + 1;
        s.durable.round = round;
        let ballot = Ballot { round, id: usize::from(me) as u8 };
        p.ballot = ballot;
        p.seen = round;
        acc.promised = ballot;
        p.phase = Phase::Preparing { granted: Quorum::of(me), best: acc.accepted };
        o.save(s.durable.clone());
        self.broadcast(me, Msg::Prepare { inst, ballot }, o);
        o.set_timer(Timer::Propose, cycles(self.timing.retry.clone()));
        self.advance(me, s, o);
    }

    /// Moves the proposer on when a quorum is in.
    fn advance(&self, me: Id, s: &mut State, o: &mut Out<Self>) {
        let Some(p) = s.proposer.as_mut() else { return };
        let inst = p.inst;
        match p.phase {
            Phase::Preparing { granted, best } if granted.count() >= self.quorum() => {
                let value = best.map_or(value_of(usize::from(me)), |(_, v)| v);
                let ballot = p.ballot;
                let acc = &mut s.durable.acceptors[inst as usize];
                let mut granted = Quorum::default();
                if ballot >= acc.promised || self.broken {
                    acc.promised = acc.promised.max(ballot);
                    acc.accepted = Some((ballot, value));
                    granted = Quorum::of(me);
                    o.save(s.durable.clone());
                }
                p.phase = Phase::Accepting { granted, value };
                self.broadcast(me, Msg::Accept { inst, ballot, value }, o);
                self.advance(me, s, o);
            }
            Phase::Accepting { granted, value } if granted.count() >= self.quorum() => {
                if self.learn(s, inst, value, o) {
                    self.broadcast(me, Msg::Decide { inst, value }, o);
                }
                self.next_instance(s, o);
            }
            _ => {}
        }
    }

    /// Learns `value` for `inst`; whether it was news.
    fn learn(&self, s: &mut State, inst: u32, value: Value, o: &mut Out<Self>) -> bool {
        let d = &mut s.durable.decided[inst as usize];
        if d.is_some() {
            return false;
        }
        *d = Some(value);
        o.save(s.durable.clone());
        if s.finished() {
            o.cancel_timer(Timer::CatchUp);
        }
        true
    }

    /// The proposer's instance is decided: on to the next undecided one.
    fn next_instance(&self, s: &mut State, o: &mut Out<Self>) {
        let first = s.first_undecided();
        let Some(p) = s.proposer.as_mut() else { return };
        if s.durable.decided.get(p.inst as usize).is_some_and(Option::is_none) {
            return;
        }
        p.inst = first;
        p.phase = Phase::Idle;
        if first < self.instances {
            o.set_timer(Timer::Propose, cycles(self.timing.backoff.clone()));
        } else {
            o.cancel_timer(Timer::Propose);
        }
    }
}

impl Actor for Paxos {
    type Msg = Msg;
    type State = State;
    type Timer = Timer;
    type Random = ();
    type Storage = Durable;

    fn on_start(&self, id: Id, storage: &Option<Durable>, o: &mut Out<Self>) -> State {
        let n = self.instances as usize;
        let durable = storage.clone().unwrap_or(Durable {
            round: 0,
            acceptors: vec![Acceptor::default(); n],
            decided: vec![None; n],
        });
        let mut s = State { durable, proposer: None, queries: 0 };
        if usize::from(id) < self.proposers {
            let inst = s.first_undecided();
            let round = s.durable.round;
            s.proposer = Some(Proposer { inst, ballot: Ballot::ZERO, phase: Phase::Idle, seen: round });
            if inst < self.instances {
                o.set_timer(Timer::Propose, cycles(self.timing.start.clone()));
            }
        }
        if !s.finished() {
            o.set_timer(Timer::CatchUp, cycles(self.timing.catch_up.clone()));
        }
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let s = state.to_mut();
        if !s.finished() {
            o.set_timer(Timer::CatchUp, cycles(self.timing.catch_up.clone()));
        }
        match msg {
            Msg::Prepare { inst, .. } | Msg::Accept { inst, .. } if s.durable.decided[inst as usize].is_some() => {
                let value = s.durable.decided[inst as usize].expect("decided");
                o.send(src, Msg::Decide { inst, value });
            }
            Msg::Prepare { inst, ballot } => {
                if let Some(p) = s.proposer.as_mut() {
                    p.seen = p.seen.max(ballot.round);
                }
                let acc = &mut s.durable.acceptors[inst as usize];
                if ballot >= acc.promised {
                    acc.promised = ballot;
                    let accepted = acc.accepted;
                    o.save(s.durable.clone());
                    o.send(src, Msg::Promise { inst, ballot, accepted });
                } else {
                    o.send(src, Msg::Reject { inst, ballot, promised: acc.promised });
                }
            }
            Msg::Accept { inst, ballot, value } => {
                if let Some(p) = s.proposer.as_mut() {
                    p.seen = p.seen.max(ballot.round);
                }
                let acc = &mut s.durable.acceptors[inst as usize];
                if ballot >= acc.promised || self.broken {
                    acc.promised = acc.promised.max(ballot);
                    acc.accepted = Some((ballot, value));
                    o.save(s.durable.clone());
                    o.send(src, Msg::Accepted { inst, ballot });
                } else {
                    o.send(src, Msg::Reject { inst, ballot, promised: acc.promised });
                }
            }
            Msg::Promise { inst, ballot, accepted } => {
                if let Some(p) = s.proposer.as_mut()
                    && p.inst == inst
                    && p.ballot == ballot
                    && let Phase::Preparing { granted, best } = &mut p.phase
                {
                    granted.add(src);
                    if accepted.is_some_and(|(b, _)| best.is_none_or(|(bb, _)| b > bb)) {
                        *best = accepted;
                    }
                    self.advance(id, s, o);
                }
            }
            Msg::Accepted { inst, ballot } => {
                if let Some(p) = s.proposer.as_mut()
                    && p.inst == inst
                    && p.ballot == ballot
                    && let Phase::Accepting { granted, .. } = &mut p.phase
                {
                    granted.add(src);
                    self.advance(id, s, o);
                }
            }
            Msg::Reject { promised, .. } => {
                if let Some(p) = s.proposer.as_mut() {
                    p.seen = p.seen.max(promised.round);
                }
            }
            Msg::Decide { inst, value } => {
                self.learn(s, inst, value, o);
                self.next_instance(s, o);
            }
            Msg::Query { inst } => {
                if let Some(value) = s.durable.decided[inst as usize] {
                    o.send(src, Msg::Decide { inst, value });
                }
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<State>, timer: &Timer, o: &mut Out<Self>) {
        match timer {
            Timer::Propose => {
                let s = state.to_mut();
                if s.proposer.is_some_and(|p| p.inst < self.instances) {
                    self.propose(id, s, o);
                }
            }
            Timer::CatchUp => {
                if state.finished() {
                    return;
                }
                let s = state.to_mut();
                let inst = s.first_undecided();
                s.queries += 1;
                self.broadcast(id, Msg::Query { inst }, o);
                o.set_timer(Timer::CatchUp, cycles(self.timing.catch_up.clone()));
            }
        }
    }
}

impl OnCore for Paxos {
    fn finished(&self, state: &State) -> bool {
        state.finished()
    }

    /// `ballot` [instance, round, own value] when a proposer starts a ballot;
    /// `decide` [instance, value] when a process learns a decision (not when a
    /// restart reads its decisions back).
    fn notes(&self, before: Option<&State>, after: &State, notes: &mut Vec<Note>) {
        let Some(before) = before else { return };
        if let (Some(b), Some(a)) = (before.proposer, after.proposer)
            && a.ballot != b.ballot
        {
            let own = value_of(a.ballot.id as usize);
            notes.push(Note::new("ballot", &[a.inst as u64, a.ballot.round as u64, own]));
        }
        for (i, (b, a)) in before.durable.decided.iter().zip(&after.durable.decided).enumerate() {
            if let (None, Some(v)) = (b, a) {
                notes.push(Note::new("decide", &[i as u64, *v]));
            }
        }
    }

    fn kind(msg: &Msg) -> &'static str {
        match msg {
            Msg::Prepare { .. } => "prepare",
            Msg::Promise { .. } => "promise",
            Msg::Accept { .. } => "accept",
            Msg::Accepted { .. } => "accepted",
            Msg::Reject { .. } => "reject",
            Msg::Decide { .. } => "decide",
            Msg::Query { .. } => "query",
        }
    }

    fn primitive(msg: &Msg) -> Primitive {
        match msg {
            Msg::Prepare { .. } | Msg::Promise { .. } | Msg::Reject { .. } => Primitive::QuorumGrant,
            Msg::Accept { .. } | Msg::Accepted { .. } | Msg::Decide { .. } => Primitive::QuorumCollect,
            Msg::Query { .. } => Primitive::RequestGrant,
        }
    }
}
