//! Three-phase commit (Skeen 1981, "Nonblocking Commit Protocols"; Bernstein,
//! Hadzilacos and Goodman 1987, §7.5). Core 0 coordinates transactions
//! `1..=ops` one after another; cores `1..N` participate. Phase one is 2PC's:
//! `Prepare`, a durably logged `Vote`. With every vote yes the coordinator logs
//! "pre-committed" and sends `PreCommit`; a participant logs that it is
//! *prepared* (committable) and answers `PreAck`. With every `PreAck` in (or
//! its `PreAcks` timer fired: the textbook treats a silent participant as
//! crashed) the coordinator logs commit and sends `Decision`, acknowledged by
//! `Ack`. A no, or a missing vote, aborts as in 2PC.
//!
//! **Termination.** A participant that voted yes and hears nothing for `wait`
//! starts the termination protocol: it asks every other participant for its
//! state (`StateReq`), and after `collect` the *lowest id among those that
//! answered* (the new coordinator among the live participants) decides by
//! Skeen's rule: anyone committed or aborted: that; anyone prepared: send
//! `PreCommit` to the uncertain ones, collect their `PreAck`s, then commit;
//! all uncertain: abort (nobody can have committed, since the coordinator
//! commits only after pre-committing everyone it heard from). A participant
//! asked for its state before it ever voted aborts alone first (it may: no one
//! can be prepared). A terminator that is not the lowest responder waits and
//! asks again. The terminator's decision goes to every participant and to the
//! coordinator, which adopts it. A coordinator that restarts before
//! pre-committing aborts; after pre-committing, it asks the participants
//! (`StateReq`) and adopts what their termination decides.
//!
//! **Guarantees.** Atomicity when failures are crashes and the timeouts are
//! right (a silent process has crashed): no blocking, so liveness even when the
//! coordinator crashes for good. **Under a partition it fails, by design of the
//! protocol**: if the coordinator's side has pre-committed a participant and
//! the other side is all uncertain, the coordinator commits (its `PreAcks`
//! timer takes the other side for crashed) while the other side's
//! termination, hearing only uncertain states, aborts: one transaction
//! commits on one side and aborts on the other. The run monitor reports such a
//! split under its own name (`SPLIT_UNDER_PARTITION`) when the plan has a
//! partition; `tests/agree_commit.rs` shows it with an explicit plan. Pauses
//! and long delays break the same assumption (a slow process looks crashed).
//!
//! **Cost.** Fault-free, `6(N − 1)` messages per committed transaction for
//! `N − 1` participants (`Prepare`, `Vote`, `PreCommit`, `PreAck`, `Decision`,
//! `Ack` each) and `4(N − 1)` per aborted one; three durable writes per
//! participant on a commit (vote, prepared, outcome). Three message delays to
//! the decision, one more than 2PC: the price of not blocking.
//!
//! **Primitives**: `Prepare`/`Vote` revoke the right to abort alone (3a);
//! `PreCommit`/`PreAck` and `Decision`/`Ack` are broadcast-and-collect of
//! unanimity (2a); `StateReq`/`State` is a broadcast-and-collect that takes
//! silence for a crash (7b).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Rec, Votes, Waits};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TpcMsg3 {
    Prepare {
        tx: u32,
    },
    Vote {
        tx: u32,
        yes: bool,
    },
    PreCommit {
        tx: u32,
    },
    PreAck {
        tx: u32,
    },
    Decision {
        tx: u32,
        commit: bool,
    },
    Ack {
        tx: u32,
    },
    /// Termination: what is your state on `tx`?
    StateReq {
        tx: u32,
    },
    State {
        tx: u32,
        rec: Rec,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer3 {
    Votes,
    PreAcks,
    Acks,
    /// A participant's (or a restarted coordinator's) wait for a decision.
    Wait,
    /// A terminator's collection of states (then of `PreAck`s).
    Collect,
}

/// The coordinator's phase of the transaction under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Voting,
    PreCommitting,
    /// Decided; collecting `Ack`s.
    Decided,
    /// Restarted after pre-committing: waiting for the termination's decision.
    Recovering,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coord3 {
    pub tx: u32,
    pub phase: Phase,
    /// Votes, then `PreAck`s, then `Ack`s of the current phase.
    pub heard: BTreeSet<Id>,
    /// Decisions by transaction (durable).
    pub decided: Vec<bool>,
}

/// A terminator's collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term {
    pub tx: u32,
    pub reports: BTreeMap<Id, Rec>,
    /// Pre-committing the uncertain responders: those whose `PreAck` is due.
    pub precommitting: Option<BTreeSet<Id>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State3 {
    Coord(Coord3),
    Part { recs: BTreeMap<u32, Rec>, term: Option<Term> },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Storage3 {
    /// Decisions, and the transaction pre-committed and not yet decided.
    Coord {
        decided: Vec<bool>,
        precommitted: Option<u32>,
    },
    Records(BTreeMap<u32, Rec>),
}

#[derive(Clone, Debug)]
pub struct ThreePhase {
    pub processes: usize,
    pub ops: u32,
    pub votes: Votes,
    pub waits: Waits,
}

fn coord() -> Id {
    Id::from(0)
}

impl ThreePhase {
    fn participants(&self) -> impl Iterator<Item = Id> + '_ {
        (1..self.processes).map(Id::from)
    }

    fn everyone(&self, o: &mut Out<Self>, msg: TpcMsg3) {
        for p in self.participants() {
            o.send(p, msg.clone());
        }
    }

    fn prepare(&self, c: &mut Coord3, o: &mut Out<Self>) {
        c.heard.clear();
        c.phase = Phase::Voting;
        if c.tx <= self.ops {
            self.everyone(o, TpcMsg3::Prepare { tx: c.tx });
            o.set_timer(Timer3::Votes, cycles(self.waits.votes.clone()));
        }
    }

    fn decide(&self, c: &mut Coord3, commit: bool, o: &mut Out<Self>) {
        c.decided.push(commit);
        c.heard.clear();
        c.phase = Phase::Decided;
        o.save(Storage3::Coord { decided: c.decided.clone(), precommitted: None });
        for t in [Timer3::Votes, Timer3::PreAcks, Timer3::Wait] {
            o.cancel_timer(t);
        }
        self.everyone(o, TpcMsg3::Decision { tx: c.tx, commit });
        o.set_timer(Timer3::Acks, cycles(self.waits.acks.clone()));
    }

    fn next(&self, c: &mut Coord3, o: &mut Out<Self>) {
        o.cancel_timer(Timer3::Acks);
        c.tx += 1;
        self.prepare(c, o);
    }

    fn coordinator(&self, c: &mut Coord3, src: Id, msg: TpcMsg3, o: &mut Out<Self>) {
        let n = self.processes - 1;
        match (c.phase, msg) {
            (Phase::Voting, TpcMsg3::Vote { tx, yes }) if tx == c.tx => {
                if !yes {
                    return self.decide(c, false, o);
                }
                c.heard.insert(src);
                if c.heard.len() == n {
                    c.heard.clear();
                    c.phase = Phase::PreCommitting;
                    o.save(Storage3::Coord { decided: c.decided.clone(), precommitted: Some(c.tx) });
                    o.cancel_timer(Timer3::Votes);
                    self.everyone(o, TpcMsg3::PreCommit { tx });
                    o.set_timer(Timer3::PreAcks, cycles(self.waits.acks.clone()));
                }
            }
            (Phase::PreCommitting, TpcMsg3::PreAck { tx }) if tx == c.tx => {
                c.heard.insert(src);
                if c.heard.len() == n {
                    self.decide(c, true, o);
                }
            }
            (Phase::Decided, TpcMsg3::Ack { tx }) if tx == c.tx => {
                c.heard.insert(src);
                if c.heard.len() == n {
                    self.next(c, o);
                }
            }
            // A terminator decided the transaction under way: adopted.
            (Phase::Voting | Phase::PreCommitting | Phase::Recovering, TpcMsg3::Decision { tx, commit })
            | (Phase::Recovering, TpcMsg3::State { tx, rec: Rec { outcome: Some(commit), .. } })
                if tx == c.tx =>
            {
                self.decide(c, commit, o)
            }
            _ => {}
        }
    }

    /// A participant's record changed: logged.
    fn log(recs: &BTreeMap<u32, Rec>, o: &mut Out<Self>) {
        o.save(Storage3::Records(recs.clone()));
    }

    /// `tx`'s outcome learnt: logged, and the termination of it ended.
    fn learn(recs: &mut BTreeMap<u32, Rec>, term: &mut Option<Term>, tx: u32, commit: bool, o: &mut Out<Self>) {
        let r = recs.entry(tx).or_default();
        if r.outcome.is_none() {
            r.outcome = Some(commit);
            Self::log(recs, o);
        }
        if term.as_ref().is_some_and(|t| t.tx == tx) {
            *term = None;
            o.cancel_timer(Timer3::Collect);
        }
    }

    fn cast(&self, recs: &mut BTreeMap<u32, Rec>, tx: u32, yes: bool, o: &mut Out<Self>) {
        let r = recs.entry(tx).or_default();
        r.vote = Some(yes);
        if !yes {
            r.outcome = Some(false);
        }
        Self::log(recs, o);
        o.send(coord(), TpcMsg3::Vote { tx, yes });
        if yes {
            o.set_timer(Timer3::Wait, cycles(self.waits.wait.clone()));
        }
    }

    /// The terminator decides `t.tx` (Skeen's rule), or, with a prepared
    /// responder and uncertain ones, pre-commits them first.
    fn terminate(&self, id: Id, recs: &mut BTreeMap<u32, Rec>, term: &mut Option<Term>, o: &mut Out<Self>) {
        let Some(t) = term.as_mut() else { return };
        let tx = t.tx;
        let mine = recs.get(&tx).copied().unwrap_or_default();
        let prepared = mine.prepared || t.reports.values().any(|r| r.prepared);
        let commit = match &t.precommitting {
            Some(_) => true,
            None if prepared => {
                let uncertain: BTreeSet<Id> = t.reports.iter().filter(|(_, r)| !r.prepared).map(|(&q, _)| q).collect();
                if !mine.prepared {
                    recs.entry(tx).or_default().prepared = true;
                    Self::log(recs, o);
                }
                if !uncertain.is_empty() {
                    for &q in &uncertain {
                        o.send(q, TpcMsg3::PreCommit { tx });
                    }
                    term.as_mut().expect("terminating").precommitting = Some(uncertain);
                    o.set_timer(Timer3::Collect, cycles(self.waits.collect.clone()));
                    return;
                }
                true
            }
            None => false,
        };
        Self::learn(recs, term, tx, commit, o);
        for p in self.participants().filter(|&p| p != id) {
            o.send(p, TpcMsg3::Decision { tx, commit });
        }
        o.send(coord(), TpcMsg3::Decision { tx, commit });
    }

    fn participant(
        &self,
        id: Id,
        recs: &mut BTreeMap<u32, Rec>,
        term: &mut Option<Term>,
        src: Id,
        msg: TpcMsg3,
        o: &mut Out<Self>,
    ) {
        match msg {
            TpcMsg3::Prepare { tx } => match recs.get(&tx).copied().unwrap_or_default() {
                Rec { vote: None, outcome: None, .. } => match self.votes {
                    Votes::Seeded(seed) => self.cast(recs, tx, !super::votes_no(seed, tx, usize::from(id)), o),
                    Votes::Free => o.choose_random("vote", vec![(tx, true), (tx, false)]),
                },
                // Aborted alone before voting (asked by a terminator): no.
                Rec { vote: None, outcome: Some(false), .. } => o.send(coord(), TpcMsg3::Vote { tx, yes: false }),
                _ => {}
            },
            TpcMsg3::PreCommit { tx } => {
                let r = recs.entry(tx).or_default();
                if r.outcome.is_none() {
                    if !r.prepared {
                        r.prepared = true;
                        Self::log(recs, o);
                    }
                    o.send(src, TpcMsg3::PreAck { tx });
                    o.set_timer(Timer3::Wait, cycles(self.waits.wait.clone()));
                }
            }
            TpcMsg3::Decision { tx, commit } => {
                Self::learn(recs, term, tx, commit, o);
                if src == coord() {
                    o.send(coord(), TpcMsg3::Ack { tx });
                }
            }
            TpcMsg3::StateReq { tx } => {
                let r = recs.entry(tx).or_default();
                if r.vote.is_none() && r.outcome.is_none() {
                    // Never voted: abort alone, so no one can commit.
                    r.outcome = Some(false);
                    Self::log(recs, o);
                }
                o.send(src, TpcMsg3::State { tx, rec: recs[&tx] });
            }
            TpcMsg3::State { tx, rec } => match rec.outcome {
                Some(commit) => Self::learn(recs, term, tx, commit, o),
                None => {
                    if let Some(t) = term.as_mut().filter(|t| t.tx == tx && t.precommitting.is_none()) {
                        t.reports.insert(src, rec);
                    }
                }
            },
            TpcMsg3::PreAck { tx } => {
                let t = term.as_mut().filter(|t| t.tx == tx);
                if let Some(waiting) = t.and_then(|t| t.precommitting.as_mut()) {
                    waiting.remove(&src);
                    if waiting.is_empty() {
                        self.terminate(id, recs, term, o);
                    }
                }
            }
            TpcMsg3::Vote { .. } | TpcMsg3::Ack { .. } => {}
        }
    }

    /// The first transaction a participant voted yes on and has no outcome of.
    pub fn blocked(state: &State3) -> Option<u32> {
        match state {
            State3::Part { recs, .. } => {
                recs.iter().find(|(_, r)| r.vote == Some(true) && r.outcome.is_none()).map(|(&t, _)| t)
            }
            State3::Coord(_) => None,
        }
    }
}

impl Actor for ThreePhase {
    type Msg = TpcMsg3;
    type State = State3;
    type Timer = Timer3;
    type Random = (u32, bool);
    type Storage = Storage3;

    fn on_start(&self, id: Id, storage: &Option<Storage3>, o: &mut Out<Self>) -> State3 {
        if id == coord() {
            let (decided, precommitted) = match storage {
                Some(Storage3::Coord { decided, precommitted }) => (decided.clone(), *precommitted),
                _ => (Vec::new(), None),
            };
            let mut c = Coord3 { tx: decided.len() as u32 + 1, phase: Phase::Voting, heard: BTreeSet::new(), decided };
            match precommitted {
                // It may have pre-committed someone: the participants decide.
                Some(tx) if tx == c.tx => {
                    c.phase = Phase::Recovering;
                    self.everyone(o, TpcMsg3::StateReq { tx });
                    o.set_timer(Timer3::Wait, cycles(self.waits.collect.clone()));
                }
                // Undecided and not pre-committed: no one can have committed.
                _ if c.tx <= self.ops && storage.is_some() => self.decide(&mut c, false, o),
                _ => self.prepare(&mut c, o),
            }
            State3::Coord(c)
        } else {
            let recs = match storage {
                Some(Storage3::Records(r)) => r.clone(),
                _ => BTreeMap::new(),
            };
            let state = State3::Part { recs, term: None };
            if Self::blocked(&state).is_some() {
                o.set_timer(Timer3::Wait, cycles(self.waits.wait.clone()));
            }
            state
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State3>, src: Id, msg: TpcMsg3, o: &mut Out<Self>) {
        match state.to_mut() {
            State3::Coord(c) => self.coordinator(c, src, msg, o),
            State3::Part { recs, term } => self.participant(id, recs, term, src, msg, o),
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<State3>, random: &(u32, bool), o: &mut Out<Self>) {
        if let State3::Part { recs, .. } = state.to_mut() {
            let (tx, yes) = *random;
            if recs.get(&tx).is_none_or(|r| r.vote.is_none() && r.outcome.is_none()) {
                self.cast(recs, tx, yes, o);
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<State3>, timer: &Timer3, o: &mut Out<Self>) {
        match (state.to_mut(), timer) {
            (State3::Coord(c), Timer3::Votes) if c.phase == Phase::Voting && c.tx <= self.ops => {
                self.decide(c, false, o)
            }
            // Textbook 3PC: a participant silent after `PreCommit` has crashed.
            (State3::Coord(c), Timer3::PreAcks) if c.phase == Phase::PreCommitting => self.decide(c, true, o),
            (State3::Coord(c), Timer3::Acks) if c.phase == Phase::Decided => self.next(c, o),
            (State3::Coord(c), Timer3::Wait) if c.phase == Phase::Recovering => {
                self.everyone(o, TpcMsg3::StateReq { tx: c.tx });
                o.set_timer(Timer3::Wait, cycles(self.waits.collect.clone()));
            }
            (s @ State3::Part { .. }, Timer3::Wait) => {
                let Some(tx) = Self::blocked(s) else { return };
                let State3::Part { term, .. } = s else { return };
                if term.is_none() {
                    *term = Some(Term { tx, reports: BTreeMap::new(), precommitting: None });
                    for p in self.participants().filter(|&p| p != id) {
                        o.send(p, TpcMsg3::StateReq { tx });
                    }
                    o.set_timer(Timer3::Collect, cycles(self.waits.collect.clone()));
                }
                o.set_timer(Timer3::Wait, cycles(self.waits.wait.clone()));
            }
            (State3::Part { recs, term }, Timer3::Collect) => {
                let Some(t) = term.as_ref() else { return };
                let lowest = t.reports.keys().next().is_none_or(|&q| id < q);
                if t.precommitting.is_some() || lowest {
                    // Silent responders of a pre-commit are taken for crashed.
                    self.terminate(id, recs, term, o);
                } else {
                    // A lower participant answered: it terminates; ask again later.
                    *term = None;
                }
            }
            _ => {}
        }
    }
}

impl OnCore for ThreePhase {
    fn finished(&self, state: &State3) -> bool {
        match state {
            State3::Coord(c) => c.decided.len() as u32 >= self.ops,
            State3::Part { .. } => Self::blocked(state).is_none(),
        }
    }

    fn notes(&self, before: Option<&State3>, after: &State3, notes: &mut Vec<Note>) {
        let Some(before) = before else {
            if let State3::Coord(c) = after
                && c.tx <= self.ops
                && c.phase == Phase::Voting
            {
                notes.push(Note::new("begin", &[c.tx as u64]));
            }
            return;
        };
        match (before, after) {
            (State3::Coord(b), State3::Coord(a)) => {
                for (i, &commit) in a.decided.iter().enumerate().skip(b.decided.len()) {
                    notes.push(Note::new("decide", &[i as u64 + 1, commit as u64]));
                }
                if a.tx != b.tx && a.tx <= self.ops {
                    notes.push(Note::new("begin", &[a.tx as u64]));
                }
            }
            (State3::Part { recs: b, .. }, State3::Part { recs: a, .. }) => super::record_notes(b, a, notes),
            _ => {}
        }
    }

    fn kind(msg: &TpcMsg3) -> &'static str {
        match msg {
            TpcMsg3::Prepare { .. } => "prepare",
            TpcMsg3::Vote { .. } => "vote",
            TpcMsg3::PreCommit { .. } => "precommit",
            TpcMsg3::PreAck { .. } => "preack",
            TpcMsg3::Decision { .. } => "decision",
            TpcMsg3::Ack { .. } => "ack",
            TpcMsg3::StateReq { .. } => "state-req",
            TpcMsg3::State { .. } => "state",
        }
    }

    fn primitive(msg: &TpcMsg3) -> Primitive {
        match msg {
            TpcMsg3::Prepare { .. } | TpcMsg3::Vote { .. } => Primitive::RevokeConfirm,
            TpcMsg3::StateReq { .. } | TpcMsg3::State { .. } => Primitive::SilentTimeout,
            _ => Primitive::BroadcastCollect,
        }
    }
}
