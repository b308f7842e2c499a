//! Raft (Ongaro and Ousterhout 2014, "In Search of an Understandable
//! Consensus Algorithm"): a replicated log, and a `Machine` applied in log
//! order on every server. Cores `0..servers` are the servers; the cores
//! after them are clients (`client`). Paper vocabulary throughout:
//! `currentTerm` is `term`, `votedFor` is `voted_for`, `commitIndex` is
//! `commit`, `lastApplied` is `applied`, `nextIndex`/`matchIndex` are
//! `next`/`matched`; log indices start at 1.
//!
//! **Election (§5.2).** A follower that hears no leader for a randomised
//! `election` timeout becomes a candidate: term + 1, votes for itself, asks
//! the other servers with `RequestVote(term, lastLogIndex, lastLogTerm)`. A
//! server grants at most one vote per term, and only to a candidate whose
//! log is at least as up to date as its own (§5.4.1); the term and the vote
//! are saved (`Command::Save`) before the answer is sent, so a server that
//! crashes and restarts (`crash:C@T+D`) cannot vote twice. A majority of
//! votes makes a leader; a split vote times out and retries in a higher term.
//! Any message with a higher term turns its receiver into a follower of
//! that term (a deposed leader steps down).
//!
//! **Replication (§5.3).** The leader appends a client's command to its log
//! (saved), sends `AppendEntries(prevLogIndex, prevLogTerm, entries,
//! leaderCommit)`; a follower accepts only if its log holds an entry at
//! `prevLogIndex` of `prevLogTerm` (the consistency check), deletes a
//! conflicting suffix, appends, saves, then acknowledges with its match
//! index. A refusal carries the follower's last index, and the leader backs
//! `next` up to it and resends at once. The leader commits index `n` when a
//! majority's `matched` reaches `n` and entry `n` is of its own term (§5.4.2;
//! older entries commit with it). A new leader appends a no-op entry of its
//! term so that what its predecessors left commits without waiting for a
//! client (§8). Committed entries are applied in order; the leader answers
//! the client when it applies the client's entry. A retried command is
//! applied once (`machine::Sessions`).
//!
//! **Heartbeats and retransmission.** Every `heartbeat` cycles the leader
//! sends each follower an `AppendEntries`: empty (a heartbeat) if entries to
//! it are in flight since the last beat, else the entries it lacks; entries
//! unacknowledged for a whole beat are sent again (a loss). Per follower at
//! most one batch (`MAX_BATCH` entries) is in flight.
//!
//! **Guarantees** (§5.4): election safety (at most one leader per term), log
//! matching (two logs with an entry of the same index and term are equal up
//! to it), leader completeness (an entry committed in a term is in the log
//! of every leader of a later term), state-machine safety (no two servers
//! apply different commands at one index); the clients' history is
//! linearizable (reads go through the log). Safety holds under any
//! message loss, duplication, delay and reordering, crashes and restarts.
//! Liveness needs a majority of the servers up and connected long enough
//! for an election (election timeouts well above message delays).
//!
//! **Cost**, fault-free, `N` servers, one client operation at a time: one
//! election is `N − 1` RequestVote and `N − 1` votes; each command is one
//! request and one reply (client), `N − 1` AppendEntries carrying it and
//! `N − 1` acknowledgements; each heartbeat is `N − 1` empty AppendEntries
//! and `N − 1` acknowledgements. A new leader's no-op entry costs one more
//! round of `N − 1` + `N − 1`. Durable writes: one per vote granted and per
//! candidacy, one per entry at every server (the leader's append and each
//! follower's acceptance), and one per client operation (the client's
//! sequence number).
//!
//! **Primitives**: the election is competitive authority transfer with split
//! votes (5c) keyed by the term, a monotonic ordering token (4b, every
//! receiver enforcing "higher term wins"); AppendEntries and its
//! acknowledgements are quorum broadcast-and-collect (2b); a client's
//! request and the reply or redirect are request-grant (1a).
//!
//! **Broken variants.** `DoubleVote`: a server grants up to two votes in a
//! term (forgetting it voted), so two candidates of one term can both win a
//! majority: election safety fails. `StaleRead`: every server, leader or not,
//! answers a read at once from its own copy of the machine, without the log:
//! a deposed leader cut off from the majority, or a follower behind, answers
//! with a value that a completed write has already replaced, and the
//! history is not linearizable.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::client::{self, Client};
use super::machine::{Machine, Sessions};
use super::replication::Append;
use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

/// Entries per AppendEntries at most (a message fits a ring slot of
/// `SLOT_LINES` lines).
pub const MAX_BATCH: usize = 4;

/// One log entry: its term, and the client command it carries (`None`: a
/// leader's no-op).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry<C> {
    pub term: u64,
    pub client: u32,
    pub seq: u32,
    pub command: Option<C>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg<C, O> {
    RequestVote {
        term: u64,
        last_index: u64,
        last_term: u64,
    },
    Vote {
        term: u64,
        granted: bool,
    },
    AppendEntries {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry<C>>,
        commit: u64,
    },
    /// `index`: on success the follower's match index; on refusal its last
    /// index (where the leader should back up to).
    Ack {
        term: u64,
        success: bool,
        index: u64,
    },
    /// A client's command number `seq`.
    Request {
        seq: u32,
        command: C,
    },
    Reply {
        seq: u32,
        output: O,
    },
    /// Not the leader; the one it believes in, if any.
    Redirect {
        seq: u32,
        leader: Option<u32>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    Election,
    Heartbeat,
    /// A client's first operation.
    Start,
    /// A client's operation unanswered: try the next server.
    Retry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    Correct,
    DoubleVote,
    StaleRead,
}

/// Timer ranges, in cycles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub election: Range<u64>,
    pub heartbeat: u64,
    pub retry: u64,
    /// When clients issue their first operation.
    pub start: Range<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    /// Votes received (a bit per server).
    Candidate {
        votes: u64,
    },
    /// Per server: `next`, `matched`, and the in-flight mark of entries sent
    /// (0 none, 1 sent since the last beat, 2 unacknowledged for a beat).
    Leader {
        next: Vec<u64>,
        matched: Vec<u64>,
        inflight: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Server<M: Machine> {
    pub term: u64,
    pub voted_for: Option<u32>,
    /// Votes granted in `term` (one, or two under `DoubleVote`).
    pub votes_granted: u8,
    pub log: Vec<Entry<M::Command>>,
    pub role: Role,
    pub leader: Option<u32>,
    pub commit: u64,
    pub applied: u64,
    pub machine: Sessions<M>,
}

/// What a process saves: a server its term, vote and log; a client the
/// number of its operation in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stored<C> {
    Server { term: u64, voted_for: Option<u32>, log: Vec<Entry<C>> },
    Client { seq: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftState<M: Machine> {
    Server(Server<M>),
    Client(Client<M::Command, M::Output>),
}

/// The Raft actor: servers and clients, over machine `M`.
#[derive(Clone, Debug)]
pub struct Raft<M: Machine> {
    pub servers: usize,
    /// Operations of each client (index: core − servers).
    pub ops: Vec<u32>,
    /// Client `c`'s operation number `seq` (from 1).
    pub command: fn(usize, u32) -> M::Command,
    pub variant: Variant,
    pub timing: Timing,
}

pub type Out2<M> = Out<Raft<M>>;

impl<M: Machine> Server<M> {
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    /// The term of entry `index` (0 for index 0).
    pub fn term_at(&self, index: u64) -> u64 {
        if index == 0 { 0 } else { self.log[index as usize - 1].term }
    }

    pub fn last_term(&self) -> u64 {
        self.term_at(self.last_index())
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    pub(super) fn stored(&self) -> Stored<M::Command> {
        Stored::Server { term: self.term, voted_for: self.voted_for, log: self.log.clone() }
    }
}

impl<M: Machine> Raft<M> {
    pub(super) fn others(&self, me: usize) -> impl Iterator<Item = usize> + use<M> {
        (0..self.servers).filter(move |&j| j != me)
    }

    /// A server's message: a higher term first makes it a follower of that
    /// term, then election (`election`), replication (`replication`) or a
    /// client's request (`requests`) takes it.
    pub fn on_server_msg(
        &self,
        me: usize,
        s: &mut Server<M>,
        src: usize,
        msg: Msg<M::Command, M::Output>,
        o: &mut Out2<M>,
    ) {
        let term_of = |m: &Msg<M::Command, M::Output>| match *m {
            Msg::RequestVote { term, .. }
            | Msg::Vote { term, .. }
            | Msg::AppendEntries { term, .. }
            | Msg::Ack { term, .. } => Some(term),
            _ => None,
        };
        let mut dirty = false;
        if let Some(t) = term_of(&msg)
            && t > s.term
        {
            self.adopt(s, t, o);
            dirty = true;
        }
        match msg {
            Msg::RequestVote { term, last_index, last_term } => {
                self.on_request_vote(s, src, (term, last_index, last_term), dirty, o)
            }
            Msg::Vote { term, granted } => self.on_vote(me, s, src, (term, granted), dirty, o),
            Msg::AppendEntries { term, prev_index, prev_term, entries, commit } => {
                let a = Append { term, prev_index, prev_term, entries, commit };
                self.on_append_entries(me, s, src, a, dirty, o)
            }
            Msg::Ack { term, success, index } => self.on_ack(me, s, src, (term, success, index), dirty, o),
            Msg::Request { seq, command } => self.on_request(me, s, src, seq, command, o),
            Msg::Reply { .. } | Msg::Redirect { .. } => {}
        }
    }

    /// A server (re)starts: a follower with its saved term, vote and log.
    pub fn start_server(&self, storage: &Option<Stored<M::Command>>, o: &mut Out2<M>) -> Server<M> {
        let (term, voted_for, log) = match storage {
            Some(Stored::Server { term, voted_for, log }) => (*term, *voted_for, log.clone()),
            _ => (0, None, Vec::new()),
        };
        o.set_timer(Timer::Election, cycles(self.timing.election.clone()));
        Server {
            term,
            voted_for,
            votes_granted: voted_for.is_some() as u8,
            log,
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            machine: Sessions::default(),
        }
    }

    /// A server's timer: the election timeout, or the leader's heartbeat.
    pub fn on_server_timeout(&self, me: usize, s: &mut Server<M>, timer: &Timer, o: &mut Out2<M>) {
        match timer {
            Timer::Election if !s.is_leader() => self.stand(me, s, o),
            Timer::Heartbeat if s.is_leader() => self.heartbeat(me, s, o),
            _ => {}
        }
    }
}

impl<M: Machine> Actor for Raft<M> {
    type Msg = Msg<M::Command, M::Output>;
    type State = RaftState<M>;
    type Timer = Timer;
    type Random = ();
    type Storage = Stored<M::Command>;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> RaftState<M> {
        let me = usize::from(id);
        if me >= self.servers {
            return RaftState::Client(client::start(self, me, storage, o));
        }
        RaftState::Server(self.start_server(storage, o))
    }

    fn on_msg(&self, id: Id, state: &mut Cow<RaftState<M>>, src: Id, msg: Self::Msg, o: &mut Out<Self>) {
        let me = usize::from(id);
        match state.to_mut() {
            RaftState::Server(s) => self.on_server_msg(me, s, usize::from(src), msg, o),
            RaftState::Client(c) => client::on_msg(self, me, c, usize::from(src), msg, o),
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<RaftState<M>>, timer: &Timer, o: &mut Out<Self>) {
        let me = usize::from(id);
        match state.to_mut() {
            RaftState::Server(s) => self.on_server_timeout(me, s, timer, o),
            RaftState::Client(c) => client::on_timeout(self, me, c, timer, o),
        }
    }
}

impl<M: Machine> OnCore for Raft<M> {
    fn finished(&self, state: &RaftState<M>) -> bool {
        match state {
            // Servers serve as long as anyone asks; the run ends with the clients.
            RaftState::Server(_) => true,
            RaftState::Client(c) => c.finished(),
        }
    }

    fn notes(&self, before: Option<&RaftState<M>>, after: &RaftState<M>, notes: &mut Vec<crate::exec::actor::Note>) {
        super::monitor::notes(before, after, notes);
    }

    fn kind(msg: &Self::Msg) -> &'static str {
        match msg {
            Msg::RequestVote { .. } => "request_vote",
            Msg::Vote { .. } => "vote",
            Msg::AppendEntries { entries, .. } if entries.is_empty() => "heartbeat",
            Msg::AppendEntries { .. } => "append",
            Msg::Ack { .. } => "ack",
            Msg::Request { .. } => "request",
            Msg::Reply { .. } => "reply",
            Msg::Redirect { .. } => "redirect",
        }
    }

    fn primitive(msg: &Self::Msg) -> Primitive {
        match msg {
            Msg::RequestVote { .. } | Msg::Vote { .. } => Primitive::AuthoritySplitVote,
            Msg::AppendEntries { .. } | Msg::Ack { .. } => Primitive::QuorumCollect,
            Msg::Request { .. } | Msg::Reply { .. } | Msg::Redirect { .. } => Primitive::RequestGrant,
        }
    }
}
