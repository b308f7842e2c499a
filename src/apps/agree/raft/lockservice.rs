//! The lock service's actor (design in `lock`): cores `0..servers` are Raft
//! servers replicating a `Lock` (the very `Raft<Lock>` of `node`, wrapped),
//! core `servers` is the storage server (`storage`), the cores after it are
//! clients (`lockclient`). The wrapper adds to a Raft server only the
//! leader's lease table: it hears a session on every request that reaches
//! it, counts its own heartbeat ticks, and proposes `Expire(session)` once
//! `lease_ticks` ticks pass without hearing a live session.
//!
//! Raft's handlers write into an `Out<Raft<Lock>>`; `relay` moves each
//! command into this actor's `Out`, wrapping messages, timers and saves
//! (and dropping the replies a leader addresses to the server that proposed
//! an `Expire`: no client waits for them).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Command, Id, Out};

use super::lock::{Lock, LockCmd, LockOut, Session};
use super::lockclient::{self, LockClient};
use super::monitor;
use super::node::{Msg, Raft, Server, Stored, Timer};
use super::storage::{self, StorageState};
use crate::exec::actor::{Note, OnCore};
use crate::model::Primitive;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LMsg {
    Raft(Msg<LockCmd, LockOut>),
    /// A client's write to storage under its fencing token.
    Write {
        token: u64,
    },
    Written {
        token: u64,
        accepted: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LTimer {
    Raft(Timer),
    /// A client's first acquisition.
    Start,
    /// A client's command unanswered: the next server.
    Retry,
    /// `Busy`: ask again.
    Poll,
    /// Holding: renew the session.
    KeepAlive,
    /// Holding: the work is done, write.
    Work,
    /// A write unanswered: again.
    WriteRetry,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LStored {
    Raft(Stored<LockCmd>),
    /// A client's epoch and acquisitions completed.
    Client {
        epoch: u32,
        done: u32,
    },
    /// The highest token storage accepted.
    Storage {
        max: u64,
    },
}

/// The leader's lease table: its clock (heartbeat ticks in `term`) and per
/// live session the tick it was last heard and whether `Expire` is proposed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Leases {
    pub term: u64,
    pub now: u64,
    pub heard: BTreeMap<Session, (u64, bool)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockServer {
    pub raft: Server<Lock>,
    pub leases: Leases,
}

// A server's state is the larger (its log); every core holds one state.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LState {
    Server(LockServer),
    Storage(StorageState),
    Client(LockClient),
}

/// The lock service's timers (cycles), beyond Raft's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockTiming {
    /// Heartbeat ticks without hearing a session before the leader expires it.
    pub lease_ticks: u64,
    /// How long a client counts on its session after the first send of a
    /// command answered alive (at most `(lease_ticks − 1) · heartbeat`).
    pub client_lease: u64,
    pub keepalive: u64,
    pub work: u64,
    pub poll: u64,
    pub retry: u64,
    pub start: Range<u64>,
}

#[derive(Clone, Debug)]
pub struct LockService {
    pub raft: Raft<Lock>,
    /// Acquisitions of each client (index: core − servers − 1).
    pub ops: Vec<u32>,
    /// Storage refuses stale tokens (false: `broken-no-fencing`).
    pub fencing: bool,
    pub timing: LockTiming,
}

impl LockService {
    pub fn servers(&self) -> usize {
        self.raft.servers
    }

    /// The storage server's core.
    pub fn storage(&self) -> usize {
        self.raft.servers
    }

    fn relay(&self, inner: Out<Raft<Lock>>, o: &mut Out<Self>) {
        for c in inner {
            match c {
                Command::Send(to, Msg::Reply { .. }) if usize::from(to) < self.servers() => {}
                Command::Send(to, m) => o.send(to, LMsg::Raft(m)),
                Command::SetTimer(t, d) => o.set_timer(LTimer::Raft(t), d),
                Command::CancelTimer(t) => o.cancel_timer(LTimer::Raft(t)),
                Command::Save(s) => o.save(LStored::Raft(s)),
                Command::ChooseRandom(..) => {}
            }
        }
    }

    /// The table belongs to the leader of its term; a new leadership starts
    /// it empty (every live session gets a full lease).
    fn sync(ls: &mut LockServer) {
        if !ls.raft.is_leader() {
            ls.leases = Leases::default();
        } else if ls.leases.term != ls.raft.term {
            ls.leases = Leases { term: ls.raft.term, ..Leases::default() };
        }
    }

    fn server_msg(&self, me: usize, ls: &mut LockServer, src: usize, msg: Msg<LockCmd, LockOut>, o: &mut Out<Self>) {
        Self::sync(ls);
        if let Msg::Request { command, .. } = &msg
            && ls.raft.is_leader()
        {
            let now = ls.leases.now;
            ls.leases.heard.entry(command.session()).or_insert((now, false)).0 = now;
        }
        let mut inner = Out::new();
        self.raft.on_server_msg(me, &mut ls.raft, src, msg, &mut inner);
        Self::sync(ls);
        self.relay(inner, o);
    }

    fn server_timeout(&self, me: usize, ls: &mut LockServer, timer: &Timer, o: &mut Out<Self>) {
        let mut inner = Out::new();
        self.raft.on_server_timeout(me, &mut ls.raft, timer, &mut inner);
        Self::sync(ls);
        if *timer == Timer::Heartbeat && ls.raft.is_leader() {
            self.tick(me, ls, &mut inner);
        }
        self.relay(inner, o);
    }

    /// A leader's heartbeat tick: sessions silent for `lease_ticks` ticks
    /// are expired through the log. An `Expire` is proposed as from the
    /// leader itself, numbered by its log index (so the sessions cache never
    /// takes a later one for a retry of an earlier one).
    fn tick(&self, me: usize, ls: &mut LockServer, o: &mut Out<Raft<Lock>>) {
        ls.leases.now += 1;
        let now = ls.leases.now;
        let live = ls.raft.machine.machine.live.clone();
        ls.leases.heard.retain(|s, _| live.contains(s));
        for s in live {
            let (heard, proposed) = ls.leases.heard.entry(s).or_insert((now, false));
            if !*proposed && now - *heard >= self.timing.lease_ticks {
                *proposed = true;
                let seq = ls.raft.last_index() as u32 + 1;
                self.raft.propose(me, &mut ls.raft, me as u32, seq, LockCmd::Expire { client: s.0, epoch: s.1 }, o);
            }
        }
    }
}

impl Actor for LockService {
    type Msg = LMsg;
    type State = LState;
    type Timer = LTimer;
    type Random = ();
    type Storage = LStored;

    fn on_start(&self, id: Id, storage: &Option<LStored>, o: &mut Out<Self>) -> LState {
        let me = usize::from(id);
        if me < self.servers() {
            let saved = match storage {
                Some(LStored::Raft(s)) => Some(s.clone()),
                _ => None,
            };
            let mut inner = Out::new();
            let raft = self.raft.start_server(&saved, &mut inner);
            self.relay(inner, o);
            LState::Server(LockServer { raft, leases: Leases::default() })
        } else if me == self.storage() {
            LState::Storage(storage::start(storage))
        } else {
            LState::Client(lockclient::start(self, me, storage, o))
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<LState>, src: Id, msg: LMsg, o: &mut Out<Self>) {
        let (me, src) = (usize::from(id), usize::from(src));
        match (state.to_mut(), msg) {
            (LState::Server(ls), LMsg::Raft(m)) => self.server_msg(me, ls, src, m, o),
            (LState::Storage(s), LMsg::Write { token }) => storage::on_write(self, s, src, token, o),
            (LState::Client(c), m) => lockclient::on_msg(self, me, c, src, m, o),
            _ => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<LState>, timer: &LTimer, o: &mut Out<Self>) {
        let me = usize::from(id);
        match (state.to_mut(), timer) {
            (LState::Server(ls), LTimer::Raft(t)) => self.server_timeout(me, ls, t, o),
            (LState::Client(c), t) => lockclient::on_timeout(self, me, c, t, o),
            _ => {}
        }
    }
}

impl OnCore for LockService {
    fn finished(&self, state: &LState) -> bool {
        match state {
            LState::Client(c) => c.finished(),
            // Servers and storage serve as long as anyone asks.
            _ => true,
        }
    }

    fn notes(&self, before: Option<&LState>, after: &LState, notes: &mut Vec<Note>) {
        match (before, after) {
            (b, LState::Server(s)) => {
                let b = match b {
                    Some(LState::Server(b)) => Some(&b.raft),
                    _ => None,
                };
                monitor::server_notes(b, &s.raft, notes);
            }
            (b, LState::Storage(s)) => storage::notes(
                match b {
                    Some(LState::Storage(b)) => Some(b),
                    _ => None,
                },
                s,
                notes,
            ),
            (b, LState::Client(c)) => lockclient::notes(
                match b {
                    Some(LState::Client(b)) => Some(b),
                    _ => None,
                },
                c,
                notes,
            ),
        }
    }

    fn kind(msg: &LMsg) -> &'static str {
        match msg {
            LMsg::Raft(Msg::Request { command, .. }) => match command {
                LockCmd::Acquire { .. } => "acquire",
                LockCmd::Release { .. } => "release",
                LockCmd::KeepAlive { .. } => "keepalive",
                LockCmd::Expire { .. } => "expire",
            },
            LMsg::Raft(Msg::Reply { output: LockOut::Granted(_), .. }) => "grant",
            LMsg::Raft(Msg::Reply { output: LockOut::Busy, .. }) => "busy",
            LMsg::Raft(m) => <Raft<Lock> as OnCore>::kind(m),
            LMsg::Write { .. } => "write",
            LMsg::Written { .. } => "written",
        }
    }

    fn primitive(msg: &LMsg) -> Primitive {
        match msg {
            LMsg::Raft(Msg::Request { command: LockCmd::KeepAlive { .. }, .. })
            | LMsg::Raft(Msg::Reply { output: LockOut::Alive | LockOut::Expired, .. }) => Primitive::SilentTimeout,
            LMsg::Raft(m) => <Raft<Lock> as OnCore>::primitive(m),
            LMsg::Write { .. } | LMsg::Written { .. } => Primitive::TokenCentral,
        }
    }
}
