//! A lock service client (the cores after storage). It loops over its share
//! of acquisitions: `Acquire` (polled every `poll` cycles while `Busy`),
//! then, holding the lock with token `t`, works for `work` cycles sending a
//! `KeepAlive` every `keepalive` cycles, writes to storage under `t` (again
//! every `retry` cycles until answered), and releases (the last release
//! closes the session). One command is in flight at a time; a command goes
//! to the server it believes leads, follows a redirect at once (at most
//! `servers` hops an attempt) and moves to the next server after `retry`
//! cycles without an answer, with the same number (the servers' sessions
//! cache applies it once).
//!
//! An `Expired` answer ends the session: a lock held in it is lost (that
//! acquisition counts as done, unwritten or not) and the client opens the
//! next epoch. The client does not check its lease before writing: a pause
//! can fall between any check and the write, and fencing is what makes it
//! safe (`lock`). Its command numbers are `epoch · 2^20 + k`; the epoch and
//! the acquisitions done are saved at every new session and every completed
//! acquisition, so a client restarted after `crash:C@T+D` opens a session
//! never used and does not repeat finished acquisitions.
//!
//! Notes (for `lockrun`'s monitors and latencies):
//!
//! | note      | words                                                       |
//! |-----------|-------------------------------------------------------------|
//! | `start`   | epoch (a fresh or restarted process)                        |
//! | `acquire` | acquisition number (the latency starts)                     |
//! | `send`    | command number (its first send: a lease counts from here)    |
//! | `alive`   | command number answered as alive                            |
//! | `grant`   | token, acquisition number, the Acquire's command number     |
//! | `unhold`  | token (released or lost: the client stops using it)         |
//! | `written` | token, accepted (0 or 1)                                    |
//! | `done`    | acquisitions done                                           |

use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};

use super::lock::{LockCmd, LockOut};
use super::lockservice::{LMsg, LStored, LTimer, LockService};
use super::node::Msg;
use crate::exec::actor::{Note, cycles};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    Idle,
    Acquiring,
    Holding(u64),
    Writing(u64),
    Releasing(u64),
    Done,
}

impl Phase {
    /// The token the client holds and may use.
    pub fn held(&self) -> Option<u64> {
        match *self {
            Phase::Holding(t) | Phase::Writing(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockClient {
    pub total: u32,
    pub done: u32,
    /// Acquisitions begun.
    pub begun: u32,
    pub epoch: u32,
    /// Commands issued in this epoch.
    pub k: u32,
    pub current: Option<LockCmd>,
    pub phase: Phase,
    pub guess: u32,
    pub hops: u32,
    /// The latest command answered as alive (its number).
    pub acked: u32,
    /// The latest storage answer: token, accepted.
    pub write: Option<(u64, bool)>,
}

impl LockClient {
    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    pub fn seq(&self) -> u32 {
        (self.epoch << 20) | self.k
    }
}

fn share(ls: &LockService, me: usize) -> u32 {
    ls.ops.get(me - ls.servers() - 1).copied().unwrap_or(0)
}

pub fn start(ls: &LockService, me: usize, storage: &Option<LStored>, o: &mut Out<LockService>) -> LockClient {
    let total = share(ls, me);
    let (epoch, done, restarted) = match storage {
        Some(LStored::Client { epoch, done }) => (epoch + 1, *done, true),
        _ => (1, 0, false),
    };
    let mut c = LockClient {
        total,
        done,
        begun: done,
        epoch,
        k: 0,
        current: None,
        phase: Phase::Idle,
        guess: 0,
        hops: 0,
        acked: 0,
        write: None,
    };
    if done >= total {
        c.phase = Phase::Done;
    } else if restarted {
        o.save(LStored::Client { epoch, done });
        begin(ls, me, &mut c, o);
    } else {
        o.set_timer(LTimer::Start, cycles(ls.timing.start.clone()));
    }
    c
}

fn send(ls: &LockService, c: &LockClient, o: &mut Out<LockService>) {
    if let Some(command) = c.current {
        o.send(Id::from(c.guess as usize), LMsg::Raft(Msg::Request { seq: c.seq(), command }));
        o.set_timer(LTimer::Retry, cycles(ls.timing.retry..ls.timing.retry + 1));
    }
}

fn issue(ls: &LockService, c: &mut LockClient, command: LockCmd, o: &mut Out<LockService>) {
    c.k += 1;
    c.hops = 0;
    c.current = Some(command);
    send(ls, c, o);
}

fn begin(ls: &LockService, me: usize, c: &mut LockClient, o: &mut Out<LockService>) {
    c.begun += 1;
    c.phase = Phase::Acquiring;
    issue(ls, c, LockCmd::Acquire { client: me as u32, epoch: c.epoch }, o);
}

/// An acquisition is over (released or lost): the next, or done.
fn complete(ls: &LockService, me: usize, c: &mut LockClient, o: &mut Out<LockService>) {
    c.done += 1;
    o.save(LStored::Client { epoch: c.epoch, done: c.done });
    o.cancel_timer(LTimer::KeepAlive);
    o.cancel_timer(LTimer::Work);
    o.cancel_timer(LTimer::WriteRetry);
    if c.done < c.total {
        begin(ls, me, c, o);
    } else {
        c.phase = Phase::Done;
        o.cancel_timer(LTimer::Retry);
    }
}

/// A release waits for a keepalive in flight.
fn pump(ls: &LockService, me: usize, c: &mut LockClient, o: &mut Out<LockService>) {
    if let Phase::Releasing(token) = c.phase
        && c.current.is_none()
    {
        let close = c.done + 1 == c.total;
        issue(ls, c, LockCmd::Release { client: me as u32, epoch: c.epoch, token, close }, o);
    }
}

fn on_reply(ls: &LockService, me: usize, c: &mut LockClient, output: LockOut, o: &mut Out<LockService>) {
    c.current = None;
    if output == LockOut::Expired {
        // The session is over: a new epoch; a lock held in it is lost.
        let was = c.phase;
        c.epoch += 1;
        c.k = 0;
        o.save(LStored::Client { epoch: c.epoch, done: c.done });
        match was {
            Phase::Acquiring => issue(ls, c, LockCmd::Acquire { client: me as u32, epoch: c.epoch }, o),
            _ => complete(ls, me, c, o),
        }
        return;
    }
    c.acked = c.seq();
    match (c.phase, output) {
        (Phase::Acquiring, LockOut::Granted(t)) => {
            c.phase = Phase::Holding(t);
            o.set_timer(LTimer::Work, cycles(ls.timing.work..ls.timing.work + 1));
            o.set_timer(LTimer::KeepAlive, cycles(ls.timing.keepalive..ls.timing.keepalive + 1));
        }
        (Phase::Acquiring, _) => o.set_timer(LTimer::Poll, cycles(ls.timing.poll..ls.timing.poll + 1)),
        (Phase::Releasing(_), LockOut::Released | LockOut::NotHeld) => complete(ls, me, c, o),
        _ => {}
    }
    pump(ls, me, c, o);
}

pub fn on_msg(ls: &LockService, me: usize, c: &mut LockClient, src: usize, msg: LMsg, o: &mut Out<LockService>) {
    match msg {
        LMsg::Raft(Msg::Reply { seq, output }) if seq == c.seq() && c.current.is_some() => {
            c.guess = src as u32;
            on_reply(ls, me, c, output, o);
        }
        LMsg::Raft(Msg::Redirect { seq, leader: Some(l) })
            if seq == c.seq() && c.current.is_some() && c.hops < ls.servers() as u32 && l != c.guess =>
        {
            c.hops += 1;
            c.guess = l;
            send(ls, c, o);
        }
        LMsg::Written { token, accepted } if c.phase == Phase::Writing(token) => {
            c.write = Some((token, accepted));
            o.cancel_timer(LTimer::WriteRetry);
            c.phase = Phase::Releasing(token);
            pump(ls, me, c, o);
        }
        _ => {}
    }
}

fn write(ls: &LockService, token: u64, o: &mut Out<LockService>) {
    o.send(Id::from(ls.storage()), LMsg::Write { token });
    o.set_timer(LTimer::WriteRetry, cycles(ls.timing.retry..ls.timing.retry + 1));
}

pub fn on_timeout(ls: &LockService, me: usize, c: &mut LockClient, timer: &LTimer, o: &mut Out<LockService>) {
    match (timer, c.phase) {
        (LTimer::Start, Phase::Idle) => {
            o.save(LStored::Client { epoch: c.epoch, done: c.done });
            begin(ls, me, c, o);
        }
        (LTimer::Retry, _) if c.current.is_some() => {
            c.guess = (c.guess + 1) % ls.servers() as u32;
            c.hops = 0;
            send(ls, c, o);
        }
        (LTimer::Poll, Phase::Acquiring) if c.current.is_none() => {
            issue(ls, c, LockCmd::Acquire { client: me as u32, epoch: c.epoch }, o);
        }
        (LTimer::KeepAlive, Phase::Holding(_) | Phase::Writing(_)) => {
            if c.current.is_none() {
                issue(ls, c, LockCmd::KeepAlive { client: me as u32, epoch: c.epoch }, o);
            }
            o.set_timer(LTimer::KeepAlive, cycles(ls.timing.keepalive..ls.timing.keepalive + 1));
        }
        (LTimer::Work, Phase::Holding(t)) => {
            c.phase = Phase::Writing(t);
            write(ls, t, o);
        }
        (LTimer::WriteRetry, Phase::Writing(t)) => write(ls, t, o),
        _ => {}
    }
}

pub fn notes(before: Option<&LockClient>, a: &LockClient, notes: &mut Vec<Note>) {
    let blank;
    let b = match before {
        Some(b) => b,
        None => {
            notes.push(Note::new("start", &[a.epoch.into()]));
            blank = LockClient {
                begun: a.done,
                k: 0,
                current: None,
                phase: Phase::Idle,
                acked: 0,
                write: None,
                ..a.clone()
            };
            &blank
        }
    };
    if a.begun > b.begun {
        notes.push(Note::new("acquire", &[a.begun.into()]));
    }
    if a.current.is_some() && a.seq() != b.seq() {
        notes.push(Note::new("send", &[a.seq().into()]));
    }
    if let Some(t) = b.phase.held()
        && a.phase.held() != Some(t)
    {
        notes.push(Note::new("unhold", &[t]));
    }
    if let Some(t) = a.phase.held()
        && b.phase.held() != Some(t)
    {
        notes.push(Note::new("grant", &[t, a.begun.into(), a.acked.into()]));
    }
    if a.acked != b.acked {
        notes.push(Note::new("alive", &[a.acked.into()]));
    }
    if a.write != b.write
        && let Some((t, ok)) = a.write
    {
        notes.push(Note::new("written", &[t, ok.into()]));
    }
    if a.done > b.done {
        notes.push(Note::new("done", &[a.done.into()]));
    }
}
