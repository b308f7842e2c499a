//! Multi-Paxos with a stable leader (Lamport, "Paxos Made Simple", section 3):
//! a replicated log of client commands, one Paxos instance per slot, phase 1
//! run once per leadership for every open slot at once, phase 2 alone per
//! command.
//!
//! **Roles.** Every process is an acceptor and a learner of the log. Process 0
//! is the first leader. The other processes are the clients (on one core,
//! process 0 is its own client): `ops` commands shared among them round-robin,
//! each client with one command outstanding at a time (closed loop). A client
//! sends `Request(cmd)` to the process it believes leads (the owner of the
//! highest ballot it has promised) and resends it there when it is not
//! decided within `retry`; it learns the outcome as a learner does. A
//! leader that has already learned a requested command answers with its
//! `Decide` again (the client missed it). A restarted client resumes after
//! its own commands in its log, learned ones never issued again.
//!
//! **Leadership.** A process becomes leader by phase 1 with a ballot
//! `(round, id)` above every round it has used or promised: `Prepare(b,
//! from)`, where `from` is the first slot it has not learned; an acceptor
//! that promises answers with every (slot, ballot, command) it accepted from
//! `from` on. With a majority the leader re-proposes, in its own ballot, for
//! every slot up to the highest reported, the command of the highest ballot
//! reported for it, or a no-op where none was (a hole), and then assigns new
//! slots to requests. Phase 2 per command: `Accept(b, slot, cmd)`, a majority
//! of `Accepted(b, slot)`, then `Decide(slot, cmd)` to every learner. The
//! leader resends its open `Accept`s every `retry`; an acceptor with a higher
//! promise answers `Reject(promised)` and the leader steps down. A process
//! that still lacks commands suspects the leader when it hears nothing from
//! it for `suspect` cycles (the leader is never silent for that long while
//! commands are outstanding: it resends, clients retry sooner) and runs phase
//! 1 itself; a candidate whose phase 1 does not finish tries again with a
//! higher ballot at its next suspicion. A learner that missed a `Decide`
//! gets the command back the same way: its suspicion makes it leader, and
//! phase 1 brings every accepted command of its open slots back.
//!
//! **Durable state.** Promise, accepted commands, learned commands and the
//! last round used are saved before any message that reveals them; a restarted
//! process is a follower and must win a new ballot to lead (a restarted leader
//! does not know which slots it assigned in its old ballot).
//!
//! **Guarantees.** Agreement per slot, validity (a decided command was issued
//! by a client, or is a no-op filling a hole), so every two learned logs agree
//! wherever both are filled (prefix-consistent). A command a client resent to
//! a new leader can be decided in two slots; the log is applied with
//! duplicates skipped (exactly-once at the state machine, not in the log).
//! Liveness with a majority alive and connected, as for single-decree Paxos.
//!
//! **Cost, fault-free, N processes, C commands**: phase 1 once, N − 1
//! `Prepare` and N − 1 `Promise`; then per command one `Request` (none when
//! the leader is its own client) and N − 1 each of `Accept`, `Accepted` and
//! `Decide`: 2(N − 1) + C(3(N − 1) + 1) messages, three message delays from
//! request to the leader's decision.
//!
//! **Primitives.** Phase 1 is a competitive authority transfer with unique
//! tokens (5b: a higher ballot supersedes, `Reject` tells the loser); phase 2
//! and `Decide` a quorum broadcast-and-collect (2b); `Request` a request-grant
//! to the leader (1a).
//!
//! **The broken variant** `broken-lower-ballot`: an acceptor accepts an
//! `Accept` below its promise, so a deposed leader that never heard of its
//! successor can still complete a slot the successor filled otherwise. Caught
//! by stateright (`check`) and by the run monitors under an explicit plan
//! that isolates the leader while its `Accept`s are out, then hides the new
//! leader from it so its resend meets a promise it never heard of
//! (`tests/agree_paxos.rs`).

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{Ballot, Quorum};
use crate::exec::actor::{Note, OnCore, cycles};
use crate::model::Primitive;

/// A log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Cmd {
    /// Fills a hole found at a leader change.
    Noop,
    /// Client `client`'s `seq`-th command.
    Op { client: u8, seq: u32 },
}

impl Cmd {
    /// One word for the notes: 0 for a no-op.
    pub fn code(self) -> u64 {
        match self {
            Cmd::Noop => 0,
            Cmd::Op { client, seq } => ((client as u64 + 1) << 32) | seq as u64,
        }
    }

    pub fn decode(w: u64) -> Cmd {
        if w == 0 { Cmd::Noop } else { Cmd::Op { client: ((w >> 32) - 1) as u8, seq: w as u32 } }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    Request { cmd: Cmd },
    Prepare { ballot: Ballot, from: u32 },
    Promise { ballot: Ballot, accepted: Vec<(u32, Ballot, Cmd)> },
    Accept { ballot: Ballot, slot: u32, cmd: Cmd },
    Accepted { ballot: Ballot, slot: u32 },
    Reject { promised: Ballot },
    Decide { slot: u32, cmd: Cmd },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The client's next command.
    Issue,
    /// The client's outstanding command is not decided yet: resend it.
    Retry,
    /// The leader's open `Accept`s: resend them.
    Resend,
    /// Nothing heard from the leader: run phase 1.
    Suspect,
}

/// What survives a crash-recovery; slot-indexed logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Durable {
    pub round: u32,
    pub promised: Ballot,
    pub accepted: Vec<Option<(Ballot, Cmd)>>,
    pub learned: Vec<Option<Cmd>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    /// Phase 1 for every slot from `from`: promises from `granted`, the
    /// highest-ballot command reported per slot.
    Candidate {
        ballot: Ballot,
        from: u32,
        granted: Quorum,
        reported: Vec<(u32, Ballot, Cmd)>,
    },
    /// Phase 2: open slots with their command, acceptances, and whether a
    /// `Resend` tick has passed since they opened; the next slot.
    Leader {
        ballot: Ballot,
        open: Vec<(u32, Cmd, Quorum, bool)>,
        next: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub durable: Durable,
    pub role: Role,
    /// Requests waiting for this process to lead.
    pub queue: Vec<Cmd>,
    /// The client's next command and the one outstanding.
    pub next_seq: u32,
    pub outstanding: Option<Cmd>,
    /// Commands this client issues in all.
    pub share: u32,
}

/// Timer ranges in cycles (see `super::timing`).
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub start: Range<u64>,
    pub retry: Range<u64>,
    pub suspect: Range<u64>,
}

#[derive(Clone, Debug)]
pub struct MultiPaxos {
    pub processes: usize,
    /// Commands in all.
    pub ops: u32,
    pub timing: Timing,
    /// Accept below the promise (`broken-lower-ballot`).
    pub broken: bool,
}

impl MultiPaxos {
    /// The clients: every process but the first leader (or it alone).
    pub fn clients(&self) -> Vec<usize> {
        if self.processes == 1 { vec![0] } else { (1..self.processes).collect() }
    }

    /// Client `me`'s share of the commands (round-robin).
    pub fn share(&self, me: usize) -> u32 {
        let clients = self.clients();
        let Some(k) = clients.iter().position(|&c| c == me) else { return 0 };
        let n = clients.len() as u32;
        self.ops / n + u32::from((k as u32) < self.ops % n)
    }

    fn quorum(&self) -> u32 {
        super::super::majority(self.processes) as u32
    }

    fn broadcast(&self, me: Id, msg: &Msg, o: &mut Out<Self>) {
        for j in (0..self.processes).filter(|&j| j != usize::from(me)) {
            o.send(Id::from(j), msg.clone());
        }
    }

    /// The process's own commands are all learned (a client that crashes
    /// for good never issues the rest of its share, so no one can wait for
    /// them). The leader, with no share, is finished from the start and keeps
    /// serving, as every finished process keeps answering.
    pub fn finished(&self, s: &State) -> bool {
        s.next_seq == s.share && s.outstanding.is_none()
    }

    fn first_unlearned(s: &State) -> u32 {
        s.durable.learned.iter().position(Option::is_none).unwrap_or(s.durable.learned.len()) as u32
    }

    /// Runs phase 1 with a ballot above every round used or promised.
    fn campaign(&self, me: Id, s: &mut State, o: &mut Out<Self>) {
        let round = s.durable.round.max(s.durable.promised.round) + 1;
        let ballot = Ballot { round, id: usize::from(me) as u8 };
        s.durable.round = round;
        s.durable.promised = ballot;
        let from = Self::first_unlearned(s);
        let reported = accepted_from(&s.durable, from);
        s.role = Role::Candidate { ballot, from, granted: Quorum::of(me), reported };
        o.save(s.durable.clone());
        self.broadcast(me, &Msg::Prepare { ballot, from }, o);
        o.set_timer(Timer::Suspect, cycles(self.timing.suspect.clone()));
        self.elected(me, s, o);
    }

    /// A candidate with a quorum leads: re-proposes every reported slot (a
    /// no-op in a hole), then the queued requests.
    fn elected(&self, me: Id, s: &mut State, o: &mut Out<Self>) {
        let Role::Candidate { ballot, from, granted, reported } = &s.role else { return };
        if granted.count() < self.quorum() {
            return;
        }
        let (ballot, from) = (*ballot, *from);
        let top = reported.iter().map(|r| r.0 + 1).max().unwrap_or(from).max(from);
        let mut cmds = Vec::new();
        for slot in from..top {
            let best = reported.iter().filter(|r| r.0 == slot).max_by_key(|r| r.1).map(|r| r.2);
            cmds.push((slot, best.unwrap_or(Cmd::Noop)));
        }
        s.role = Role::Leader { ballot, open: Vec::new(), next: top };
        o.set_timer(Timer::Resend, cycles(self.timing.retry.clone()));
        for (slot, cmd) in cmds {
            self.propose(me, s, slot, cmd, o);
        }
        for cmd in std::mem::take(&mut s.queue) {
            self.request(me, s, cmd, o);
        }
    }

    /// The leader assigns `cmd` to `slot`: our own acceptance, then `Accept`.
    fn propose(&self, me: Id, s: &mut State, slot: u32, cmd: Cmd, o: &mut Out<Self>) {
        let Role::Leader { ballot, open, .. } = &mut s.role else { return };
        let ballot = *ballot;
        let d = &mut s.durable;
        let mut granted = Quorum::default();
        if ballot >= d.promised || self.broken {
            put(&mut d.accepted, slot, (ballot, cmd));
            granted = Quorum::of(me);
            o.save(d.clone());
        }
        open.push((slot, cmd, granted, false));
        self.broadcast(me, &Msg::Accept { ballot, slot, cmd }, o);
        self.chosen(me, s, slot, o);
    }

    /// A slot with a quorum of acceptances is decided and told.
    fn chosen(&self, me: Id, s: &mut State, slot: u32, o: &mut Out<Self>) {
        let Role::Leader { open, .. } = &mut s.role else { return };
        let Some(i) = open.iter().position(|e| e.0 == slot && e.2.count() >= self.quorum()) else { return };
        let (_, cmd, ..) = open.remove(i);
        self.learn(me, s, slot, cmd, o);
        self.broadcast(me, &Msg::Decide { slot, cmd }, o);
    }

    /// A client's request, here: proposed if we lead, else kept for when we do.
    fn request(&self, me: Id, s: &mut State, cmd: Cmd, o: &mut Out<Self>) {
        if s.durable.learned.contains(&Some(cmd)) {
            return;
        }
        match &mut s.role {
            Role::Leader { open, next, .. } => {
                if open.iter().any(|e| e.1 == cmd) {
                    return;
                }
                let slot = *next;
                *next += 1;
                self.propose(me, s, slot, cmd, o);
            }
            _ if !s.queue.contains(&cmd) => s.queue.push(cmd),
            _ => {}
        }
    }

    fn learn(&self, me: Id, s: &mut State, slot: u32, cmd: Cmd, o: &mut Out<Self>) {
        if s.durable.learned.get(slot as usize).is_some_and(Option::is_some) {
            return;
        }
        put(&mut s.durable.learned, slot, cmd);
        o.save(s.durable.clone());
        if s.outstanding.is_some_and(|c| s.durable.learned.contains(&Some(c))) {
            s.outstanding = None;
            o.cancel_timer(Timer::Retry);
            self.issue(me, s, o);
        } else if s.outstanding.is_none() {
            // A restarted client learning, before its `Issue`, a command it
            // issued before the crash: never issue it again.
            Self::skip_learned(me, s);
        }
        if self.finished(s) {
            o.cancel_timer(Timer::Suspect);
        }
    }

    /// Moves the client's next command past those of its own already
    /// learned. Commands are issued in order, so the learned ones are a
    /// prefix of its share; a restarted client finds them in the log it
    /// saved, or learns them afterwards from `Decide`s sent before it
    /// crashed (a leader drops a request for a learned command, so issuing
    /// one again would wait for ever).
    fn skip_learned(me: Id, s: &mut State) {
        let me = usize::from(me) as u8;
        while s.next_seq < s.share && s.durable.learned.contains(&Some(Cmd::Op { client: me, seq: s.next_seq })) {
            s.next_seq += 1;
        }
    }

    /// The client's next command, to the leader it believes in.
    fn issue(&self, me: Id, s: &mut State, o: &mut Out<Self>) {
        Self::skip_learned(me, s);
        if s.outstanding.is_some() || s.next_seq >= s.share {
            return;
        }
        let cmd = Cmd::Op { client: usize::from(me) as u8, seq: s.next_seq };
        s.next_seq += 1;
        s.outstanding = Some(cmd);
        self.send_request(me, s, cmd, o);
    }

    fn send_request(&self, me: Id, s: &mut State, cmd: Cmd, o: &mut Out<Self>) {
        let leader = Id::from(s.durable.promised.id as usize);
        if leader == me {
            self.request(me, s, cmd, o);
        } else {
            o.send(leader, Msg::Request { cmd });
        }
        o.set_timer(Timer::Retry, cycles(self.timing.retry.clone()));
    }

    /// A higher ballot seen: a leader or candidate of a lower one steps down.
    fn follow(&self, s: &mut State, ballot: Ballot) {
        let mine = match &s.role {
            Role::Follower => return,
            Role::Candidate { ballot, .. } | Role::Leader { ballot, .. } => *ballot,
        };
        if ballot > mine {
            if let Role::Leader { open, .. } = &s.role {
                s.queue.extend(open.iter().map(|e| e.1).filter(|&c| c != Cmd::Noop));
            }
            s.role = Role::Follower;
        }
    }
}

/// Sets `log[slot]`, growing the log.
fn put<T: Clone>(log: &mut Vec<Option<T>>, slot: u32, v: T) {
    if log.len() <= slot as usize {
        log.resize(slot as usize + 1, None);
    }
    log[slot as usize] = Some(v);
}

/// Every (slot, ballot, command) accepted from `from` on.
fn accepted_from(d: &Durable, from: u32) -> Vec<(u32, Ballot, Cmd)> {
    d.accepted.iter().enumerate().skip(from as usize).filter_map(|(i, a)| a.map(|(b, c)| (i as u32, b, c))).collect()
}

impl Actor for MultiPaxos {
    type Msg = Msg;
    type State = State;
    type Timer = Timer;
    type Random = ();
    type Storage = Durable;

    fn on_start(&self, id: Id, storage: &Option<Durable>, o: &mut Out<Self>) -> State {
        let me = usize::from(id);
        let mut s = State {
            durable: storage.clone().unwrap_or_default(),
            role: Role::Follower,
            queue: Vec::new(),
            next_seq: 0,
            outstanding: None,
            share: self.share(me),
        };
        // A restarted client finds its next command from the log it saved
        // (its outstanding one is issued again if not learned).
        Self::skip_learned(id, &mut s);
        if storage.is_none() && me == 0 {
            self.campaign(id, &mut s, o);
        } else if !self.finished(&s) {
            o.set_timer(Timer::Suspect, cycles(self.timing.suspect.clone()));
        }
        if s.share > s.next_seq {
            o.set_timer(Timer::Issue, cycles(self.timing.start.clone()));
        }
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let s = state.to_mut();
        // Anything from the process we follow shows it alive.
        if usize::from(src) == s.durable.promised.id as usize && !self.finished(s) {
            o.set_timer(Timer::Suspect, cycles(self.timing.suspect.clone()));
        }
        match msg {
            Msg::Request { cmd } => match s.durable.learned.iter().position(|&c| c == Some(cmd)) {
                // Decided already: the client missed the `Decide`; tell it
                // again rather than leave it to retry until it suspects us.
                Some(slot) => o.send(src, Msg::Decide { slot: slot as u32, cmd }),
                None => self.request(id, s, cmd, o),
            },
            Msg::Prepare { ballot, from } => {
                if ballot >= s.durable.promised {
                    s.durable.promised = ballot;
                    self.follow(s, ballot);
                    o.save(s.durable.clone());
                    o.send(src, Msg::Promise { ballot, accepted: accepted_from(&s.durable, from) });
                } else {
                    o.send(src, Msg::Reject { promised: s.durable.promised });
                }
            }
            Msg::Promise { ballot, accepted } => {
                if let Role::Candidate { ballot: mine, granted, reported, .. } = &mut s.role
                    && *mine == ballot
                    && !granted.has(src)
                {
                    granted.add(src);
                    reported.extend(accepted);
                    self.elected(id, s, o);
                }
            }
            Msg::Accept { ballot, slot, cmd } => {
                if ballot >= s.durable.promised || self.broken {
                    s.durable.promised = s.durable.promised.max(ballot);
                    self.follow(s, ballot);
                    put(&mut s.durable.accepted, slot, (ballot, cmd));
                    o.save(s.durable.clone());
                    o.send(src, Msg::Accepted { ballot, slot });
                } else {
                    o.send(src, Msg::Reject { promised: s.durable.promised });
                }
            }
            Msg::Accepted { ballot, slot } => {
                if let Role::Leader { ballot: mine, open, .. } = &mut s.role
                    && *mine == ballot
                    && let Some(e) = open.iter_mut().find(|e| e.0 == slot)
                {
                    e.2.add(src);
                    self.chosen(id, s, slot, o);
                }
            }
            Msg::Reject { promised } => {
                if promised > s.durable.promised {
                    s.durable.promised = promised;
                    o.save(s.durable.clone());
                }
                self.follow(s, promised);
            }
            Msg::Decide { slot, cmd } => self.learn(id, s, slot, cmd, o),
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<State>, timer: &Timer, o: &mut Out<Self>) {
        let s = state.to_mut();
        match timer {
            Timer::Issue => self.issue(id, s, o),
            Timer::Retry => {
                if let Some(cmd) = s.outstanding {
                    self.send_request(id, s, cmd, o);
                }
            }
            Timer::Resend => {
                // Only slots open for a whole tick: a fault-free run resends nothing.
                if let Role::Leader { ballot, open, .. } = &mut s.role {
                    for (slot, cmd, granted, stale) in open.iter_mut() {
                        if *stale {
                            for j in (0..self.processes).map(Id::from).filter(|&j| j != id && !granted.has(j)) {
                                o.send(j, Msg::Accept { ballot: *ballot, slot: *slot, cmd: *cmd });
                            }
                        }
                        *stale = true;
                    }
                    o.set_timer(Timer::Resend, cycles(self.timing.retry.clone()));
                }
            }
            Timer::Suspect => {
                if self.finished(s) {
                    return;
                }
                if matches!(s.role, Role::Leader { .. }) {
                    o.set_timer(Timer::Suspect, cycles(self.timing.suspect.clone()));
                } else {
                    self.campaign(id, s, o);
                }
            }
        }
    }
}

impl OnCore for MultiPaxos {
    fn finished(&self, state: &State) -> bool {
        MultiPaxos::finished(self, state)
    }

    /// `issue` [command] when a client issues a command; `leader` [round]
    /// when a process wins phase 1; `decide` [slot, command] when a process
    /// learns a slot (not when a restart reads its log back).
    fn notes(&self, before: Option<&State>, after: &State, notes: &mut Vec<Note>) {
        let Some(before) = before else { return };
        if let Some(c) = after.outstanding
            && before.outstanding != after.outstanding
        {
            notes.push(Note::new("issue", &[c.code()]));
        }
        if let Role::Leader { ballot, .. } = after.role
            && !matches!(before.role, Role::Leader { .. })
        {
            notes.push(Note::new("leader", &[ballot.round as u64]));
        }
        for (i, a) in after.durable.learned.iter().enumerate() {
            if let Some(c) = a
                && before.durable.learned.get(i).is_none_or(Option::is_none)
            {
                notes.push(Note::new("decide", &[i as u64, c.code()]));
            }
        }
    }

    fn kind(msg: &Msg) -> &'static str {
        match msg {
            Msg::Request { .. } => "request",
            Msg::Prepare { .. } => "prepare",
            Msg::Promise { .. } => "promise",
            Msg::Accept { .. } => "accept",
            Msg::Accepted { .. } => "accepted",
            Msg::Reject { .. } => "reject",
            Msg::Decide { .. } => "decide",
        }
    }

    fn primitive(msg: &Msg) -> Primitive {
        match msg {
            Msg::Request { .. } => Primitive::RequestGrant,
            Msg::Prepare { .. } | Msg::Promise { .. } | Msg::Reject { .. } => Primitive::AuthorityUnique,
            Msg::Accept { .. } | Msg::Accepted { .. } | Msg::Decide { .. } => Primitive::QuorumCollect,
        }
    }
}
