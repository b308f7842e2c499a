//! A Raft client: the cores after the servers. Each issues its share of the
//! run's operations one at a time, each to the server it believes leads
//! (server 0 at first, then whoever answered last). A `Redirect` naming a
//! leader is followed at once (at most `servers` hops per attempt, so two
//! servers with stale beliefs cannot bounce a request forever); a redirect
//! without a name, or no answer for `retry` cycles, sends the operation to
//! the next server when the retry timer fires. A retry carries the same
//! sequence number, so the servers' sessions apply it once.
//!
//! The client saves the number of the operation in flight before sending it
//! (one durable write per operation): restarted after `crash:C@T+D`, it
//! resumes that operation (the same number, the same command) rather than
//! issuing it anew, so its history stays one operation at a time. A client
//! that crashes for good leaves its operation pending: it may or may not take
//! effect, and the linearizability check allows both. It never finishes, but
//! a crashed process does not hold the run (`finished` is about the live
//! clients).

use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};

use super::machine::Machine;
use super::node::{Msg, Raft, Stored, Timer};
use crate::exec::actor::cycles;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Client<C, O> {
    /// Operations not yet issued.
    pub left: u32,
    /// The number of the latest operation issued (from 1; 0 before any).
    pub seq: u32,
    /// Its command while it waits for the answer.
    pub current: Option<C>,
    /// The latest operation answered, and its output.
    pub last: Option<(u32, O)>,
    /// The server it believes leads.
    pub guess: u32,
    /// Redirects followed for this attempt.
    pub hops: u32,
}

impl<C, O> Client<C, O> {
    pub fn finished(&self) -> bool {
        self.left == 0 && self.current.is_none()
    }
}

fn share<M: Machine>(raft: &Raft<M>, me: usize) -> u32 {
    raft.ops.get(me - raft.servers).copied().unwrap_or(0)
}

pub fn start<M: Machine>(
    raft: &Raft<M>,
    me: usize,
    storage: &Option<Stored<M::Command>>,
    o: &mut Out<Raft<M>>,
) -> Client<M::Command, M::Output> {
    let total = share(raft, me);
    let mut c = Client { left: total, seq: 0, current: None, last: None, guess: 0, hops: 0 };
    match storage {
        // Back after a crash: the operation in flight goes again.
        Some(Stored::Client { seq }) if *seq > 0 => {
            c.seq = *seq;
            c.left = total - seq;
            c.current = Some((raft.command)(me, *seq));
            send(raft, &mut c, o);
        }
        _ if total > 0 => o.set_timer(Timer::Start, cycles(raft.timing.start.clone())),
        _ => {}
    }
    c
}

fn send<M: Machine>(raft: &Raft<M>, c: &mut Client<M::Command, M::Output>, o: &mut Out<Raft<M>>) {
    if let Some(command) = &c.current {
        o.send(Id::from(c.guess as usize), Msg::Request { seq: c.seq, command: command.clone() });
        o.set_timer(Timer::Retry, cycles(raft.timing.retry..raft.timing.retry + 1));
    }
}

fn issue<M: Machine>(raft: &Raft<M>, me: usize, c: &mut Client<M::Command, M::Output>, o: &mut Out<Raft<M>>) {
    if c.left == 0 {
        o.cancel_timer(Timer::Retry);
        return;
    }
    c.left -= 1;
    c.seq += 1;
    c.hops = 0;
    c.current = Some((raft.command)(me, c.seq));
    o.save(Stored::Client { seq: c.seq });
    send(raft, c, o);
}

pub fn on_msg<M: Machine>(
    raft: &Raft<M>,
    me: usize,
    c: &mut Client<M::Command, M::Output>,
    src: usize,
    msg: Msg<M::Command, M::Output>,
    o: &mut Out<Raft<M>>,
) {
    match msg {
        Msg::Reply { seq, output } if seq == c.seq && c.current.is_some() => {
            c.current = None;
            c.last = Some((seq, output));
            c.guess = src as u32;
            issue(raft, me, c, o);
        }
        Msg::Redirect { seq, leader: Some(l) }
            if seq == c.seq && c.current.is_some() && c.hops < raft.servers as u32 && l != c.guess =>
        {
            c.hops += 1;
            c.guess = l;
            send(raft, c, o);
        }
        // Late answers to earlier attempts, a redirect naming no one (the
        // retry timer moves on), and server-to-server messages.
        _ => {}
    }
}

pub fn on_timeout<M: Machine>(
    raft: &Raft<M>,
    me: usize,
    c: &mut Client<M::Command, M::Output>,
    timer: &Timer,
    o: &mut Out<Raft<M>>,
) {
    match timer {
        Timer::Start if c.seq == 0 => issue(raft, me, c, o),
        Timer::Retry if c.current.is_some() => {
            c.guess = (c.guess + 1) % raft.servers as u32;
            c.hops = 0;
            send(raft, c, o);
        }
        _ => {}
    }
}
