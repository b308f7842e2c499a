//! Two-phase commit (Gray 1978; Bernstein, Hadzilacos and Goodman 1987, ch. 7).
//! Core 0 is the coordinator, cores `1..N` the participants; transactions
//! `1..=ops` run one after another. For each, the coordinator sends `Prepare`
//! to every participant; a participant logs its vote durably (`Save`) and
//! sends `Vote`. With every vote yes the coordinator decides commit, with a no
//! (or a vote missing when its `Votes` timer fires) abort; it logs the decision
//! durably before it sends `Decision` to every participant, which logs it and
//! answers `Ack`. The coordinator moves to the next transaction when every
//! participant acknowledged or its `Acks` timer fired (a late participant asks).
//!
//! **Votes.** A participant votes no on transaction `t` with probability 1/10,
//! drawn from the run's seed, `t` and its id (`votes_no`), so one seed gives
//! the same votes on every run and both outcomes appear. Under stateright each
//! vote is a free choice (`Votes::Free`): both are explored.
//!
//! **Guarantees.** Atomicity: no transaction commits at one process and aborts
//! at another, and it commits only if every participant voted yes (the
//! coordinator decides once, logged before it is sent, and a participant that
//! voted no aborts alone). Liveness only while the coordinator does not crash
//! for good: a participant that voted yes and hears no decision is *blocked*:
//! it may not decide alone (the others may have committed or aborted), so it
//! asks the coordinator again and again (`Ask` on its `Ask` timer). That is
//! 2PC's documented blocking, not a bug; the run counts such transactions as
//! `blocked`. A participant that crashed for good costs the transaction its
//! vote (the coordinator aborts on the `Votes` timer), never the run.
//! Crash-recovery: a participant restarts from its logged records (votes and
//! outcomes); the coordinator restarts from its logged decisions and prepares
//! the first undecided transaction again (the votes are logged at the
//! participants, so a second `Prepare` gets the same answer).
//!
//! **Cost.** Fault-free, `4(N − 1)` messages per transaction for `N − 1`
//! participants: a `Prepare`, a `Vote`, a `Decision` and an `Ack` per
//! participant (a participant that votes no still gets the decision and
//! acknowledges it), and two durable writes per participant (vote, outcome)
//! plus one at the coordinator. Two message delays to the decision.
//!
//! **Primitives**: `Prepare`/`Vote` is a broadcast-and-collect of unanimity
//! (2a) that also revokes each participant's right to abort alone (3a);
//! `Decision`/`Ack` is a broadcast-and-collect (2a); `Ask` is a request-grant
//! (1a) to the coordinator.
//!
//! **The broken variant** (`broken-missing-vote`) commits when its `Votes`
//! timer fires with a vote missing and no no in hand, as if silence were
//! consent: a participant whose no was lost aborted alone, the coordinator
//! commits, and atomicity fails.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use stateright::{Rewrite, RewritePlan};

use super::{Rec, Votes, Waits};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TpcMsg {
    /// Can you commit transaction `tx`?
    Prepare {
        tx: u32,
    },
    Vote {
        tx: u32,
        yes: bool,
    },
    Decision {
        tx: u32,
        commit: bool,
    },
    Ack {
        tx: u32,
    },
    /// What became of `tx`? (a participant that voted yes and heard nothing)
    Ask {
        tx: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TpcTimer {
    /// The coordinator's wait for votes is over.
    Votes,
    /// The coordinator's wait for acknowledgements is over.
    Acks,
    /// A blocked participant asks again.
    Ask,
}

/// The coordinator: the transaction under way and what it has collected.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coord {
    /// The transaction under way (`ops + 1`: all done).
    pub tx: u32,
    pub votes: BTreeMap<Id, bool>,
    pub acks: BTreeSet<Id>,
    /// The decision of transaction `t` is `decided[t - 1]` (durable).
    pub decided: Vec<bool>,
}

/// A process's state. The coordinator's variant comes first, so symmetry
/// reduction (which sorts the states) never moves it off index 0.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TpcState {
    Coord(Coord),
    /// A participant's records by transaction (all durable).
    Part(BTreeMap<u32, Rec>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TpcStorage {
    Decided(Vec<bool>),
    Records(BTreeMap<u32, Rec>),
}

/// Two-phase commit among `processes` (coordinator and participants).
#[derive(Clone, Debug)]
pub struct TwoPhase {
    pub processes: usize,
    pub ops: u32,
    pub votes: Votes,
    pub waits: Waits,
    /// Commit on a missing vote (deliberately broken).
    pub broken: bool,
}

/// The coordinator is process 0.
fn coord() -> Id {
    Id::from(0)
}

impl TwoPhase {
    fn participants(&self) -> impl Iterator<Item = Id> + '_ {
        (1..self.processes).map(Id::from)
    }

    /// Starts transaction `c.tx` (or nothing when all are done).
    fn prepare(&self, c: &mut Coord, o: &mut Out<Self>) {
        c.votes.clear();
        c.acks.clear();
        if c.tx > self.ops {
            return;
        }
        for p in self.participants() {
            o.send(p, TpcMsg::Prepare { tx: c.tx });
        }
        o.set_timer(TpcTimer::Votes, cycles(self.waits.votes.clone()));
    }

    /// Decides `c.tx`: logged, then sent to every participant.
    fn decide(&self, c: &mut Coord, commit: bool, o: &mut Out<Self>) {
        c.decided.push(commit);
        o.save(TpcStorage::Decided(c.decided.clone()));
        o.cancel_timer(TpcTimer::Votes);
        for p in self.participants() {
            o.send(p, TpcMsg::Decision { tx: c.tx, commit });
        }
        o.set_timer(TpcTimer::Acks, cycles(self.waits.acks.clone()));
    }

    fn next(&self, c: &mut Coord, o: &mut Out<Self>) {
        o.cancel_timer(TpcTimer::Acks);
        c.tx += 1;
        self.prepare(c, o);
    }

    /// A participant votes `yes` on `tx`: logged, then sent; a no is an abort
    /// at once (it may abort alone).
    fn vote(recs: &mut BTreeMap<u32, Rec>, tx: u32, yes: bool, o: &mut Out<Self>) {
        let r = recs.entry(tx).or_default();
        r.vote = Some(yes);
        if !yes {
            r.outcome = Some(false);
        }
        o.save(TpcStorage::Records(recs.clone()));
        o.send(coord(), TpcMsg::Vote { tx, yes });
    }

    fn coordinator(&self, c: &mut Coord, src: Id, msg: TpcMsg, o: &mut Out<Self>) {
        let undecided = c.decided.len() < c.tx as usize;
        match msg {
            TpcMsg::Vote { tx, yes } if tx == c.tx && undecided => {
                c.votes.insert(src, yes);
                if !yes {
                    self.decide(c, false, o);
                } else if c.votes.len() == self.processes - 1 {
                    self.decide(c, true, o);
                }
            }
            TpcMsg::Ack { tx } if tx == c.tx && !undecided => {
                c.acks.insert(src);
                if c.acks.len() == self.processes - 1 {
                    self.next(c, o);
                }
            }
            // Undecided: the decision will come when the votes are in or
            // their timer fires.
            TpcMsg::Ask { tx } => {
                if let Some(&commit) = c.decided.get(tx as usize - 1) {
                    o.send(src, TpcMsg::Decision { tx, commit })
                }
            }
            // Late votes and acknowledgements of a finished phase.
            _ => {}
        }
    }

    fn participant(&self, recs: &mut BTreeMap<u32, Rec>, id: Id, msg: TpcMsg, o: &mut Out<Self>) {
        match msg {
            TpcMsg::Prepare { tx } => match recs.get(&tx).copied().unwrap_or_default() {
                Rec { vote: None, outcome: None, .. } => match self.votes {
                    Votes::Seeded(seed) => {
                        Self::vote(recs, tx, !super::votes_no(seed, tx, usize::from(id)), o);
                        o.set_timer(TpcTimer::Ask, cycles(self.waits.ask.clone()));
                    }
                    Votes::Free => o.choose_random("vote", vec![(tx, true), (tx, false)]),
                },
                // Asked again (the coordinator restarted): the logged vote.
                Rec { vote: Some(yes), outcome: None, .. } => o.send(coord(), TpcMsg::Vote { tx, yes }),
                _ => {}
            },
            TpcMsg::Decision { tx, commit } => {
                let r = recs.entry(tx).or_default();
                if r.outcome.is_none() {
                    r.outcome = Some(commit);
                    o.save(TpcStorage::Records(recs.clone()));
                }
                o.send(coord(), TpcMsg::Ack { tx });
            }
            _ => {}
        }
    }

    /// The first transaction a participant voted yes on and has no outcome of.
    pub fn blocked_on(recs: &BTreeMap<u32, Rec>) -> Option<u32> {
        recs.iter().find(|(_, r)| r.vote == Some(true) && r.outcome.is_none()).map(|(&t, _)| t)
    }
}

impl Actor for TwoPhase {
    type Msg = TpcMsg;
    type State = TpcState;
    type Timer = TpcTimer;
    type Random = (u32, bool);
    type Storage = TpcStorage;

    fn on_start(&self, id: Id, storage: &Option<TpcStorage>, o: &mut Out<Self>) -> TpcState {
        if id == coord() {
            let decided = match storage {
                Some(TpcStorage::Decided(d)) => d.clone(),
                _ => Vec::new(),
            };
            let mut c = Coord { tx: decided.len() as u32 + 1, votes: BTreeMap::new(), acks: BTreeSet::new(), decided };
            self.prepare(&mut c, o);
            TpcState::Coord(c)
        } else {
            let recs = match storage {
                Some(TpcStorage::Records(r)) => r.clone(),
                _ => BTreeMap::new(),
            };
            if Self::blocked_on(&recs).is_some() {
                o.set_timer(TpcTimer::Ask, cycles(self.waits.ask.clone()));
            }
            TpcState::Part(recs)
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<TpcState>, src: Id, msg: TpcMsg, o: &mut Out<Self>) {
        match state.to_mut() {
            TpcState::Coord(c) => self.coordinator(c, src, msg, o),
            TpcState::Part(recs) => self.participant(recs, id, msg, o),
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<TpcState>, random: &(u32, bool), o: &mut Out<Self>) {
        if let TpcState::Part(recs) = state.to_mut() {
            let (tx, yes) = *random;
            if recs.get(&tx).is_none_or(|r| r.vote.is_none() && r.outcome.is_none()) {
                Self::vote(recs, tx, yes, o);
                o.set_timer(TpcTimer::Ask, cycles(self.waits.ask.clone()));
            }
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<TpcState>, timer: &TpcTimer, o: &mut Out<Self>) {
        match (state.to_mut(), timer) {
            (TpcState::Coord(c), TpcTimer::Votes) if c.decided.len() < c.tx as usize && c.tx <= self.ops => {
                // A vote is missing (a no decides at once): abort, or, broken,
                // take silence for consent.
                self.decide(c, self.broken, o);
            }
            (TpcState::Coord(c), TpcTimer::Acks) if c.decided.len() == c.tx as usize => self.next(c, o),
            (TpcState::Part(recs), TpcTimer::Ask) => {
                if let Some(tx) = Self::blocked_on(recs) {
                    o.send(coord(), TpcMsg::Ask { tx });
                    o.set_timer(TpcTimer::Ask, cycles(self.waits.ask.clone()));
                }
            }
            _ => {}
        }
    }
}

impl OnCore for TwoPhase {
    /// The coordinator when every transaction is decided; a participant when
    /// it is blocked on none (it voted yes on nothing undecided).
    fn finished(&self, state: &TpcState) -> bool {
        match state {
            TpcState::Coord(c) => c.decided.len() as u32 >= self.ops,
            TpcState::Part(recs) => Self::blocked_on(recs).is_none(),
        }
    }

    /// `begin [tx]` at the coordinator, `vote [tx, yes]` at a participant,
    /// `decide [tx, commit]` at both (nothing on a restart: the records were
    /// noted when first made).
    fn notes(&self, before: Option<&TpcState>, after: &TpcState, notes: &mut Vec<Note>) {
        let Some(before) = before else {
            if let TpcState::Coord(c) = after
                && c.tx <= self.ops
            {
                notes.push(Note::new("begin", &[c.tx as u64]));
            }
            return;
        };
        match (before, after) {
            (TpcState::Coord(b), TpcState::Coord(a)) => {
                for (i, &commit) in a.decided.iter().enumerate().skip(b.decided.len()) {
                    notes.push(Note::new("decide", &[i as u64 + 1, commit as u64]));
                }
                if a.tx != b.tx && a.tx <= self.ops {
                    notes.push(Note::new("begin", &[a.tx as u64]));
                }
            }
            (TpcState::Part(b), TpcState::Part(a)) => super::record_notes(b, a, notes),
            _ => {}
        }
    }

    fn kind(msg: &TpcMsg) -> &'static str {
        match msg {
            TpcMsg::Prepare { .. } => "prepare",
            TpcMsg::Vote { .. } => "vote",
            TpcMsg::Decision { .. } => "decision",
            TpcMsg::Ack { .. } => "ack",
            TpcMsg::Ask { .. } => "ask",
        }
    }

    fn primitive(msg: &TpcMsg) -> Primitive {
        match msg {
            TpcMsg::Prepare { .. } => Primitive::RevokeConfirm,
            TpcMsg::Vote { .. } | TpcMsg::Decision { .. } | TpcMsg::Ack { .. } => Primitive::BroadcastCollect,
            TpcMsg::Ask { .. } => Primitive::RequestGrant,
        }
    }
}

// Symmetry reduction (stateright's `Representative`): participants are
// interchangeable when their votes are free choices, so the checker may sort
// them; the ids the coordinator keeps are renamed with them.
impl Rewrite<Id> for TpcState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            TpcState::Coord(c) => TpcState::Coord(Coord {
                tx: c.tx,
                votes: c.votes.rewrite(plan),
                acks: c.acks.rewrite(plan),
                decided: c.decided.clone(),
            }),
            TpcState::Part(r) => TpcState::Part(r.clone()),
        }
    }
}

impl Rewrite<Id> for TpcStorage {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

impl Rewrite<Id> for TpcMsg {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}
