//! Raft's log replication (§5.3, §5.4.2): the leader's AppendEntries with
//! the consistency check, the followers' acceptance and acknowledgement,
//! commitment by a majority of the leader's own term, application in log
//! order, and the heartbeat that doubles as retransmission. The algorithm is
//! told in full in `node`.

use stateright::actor::Id;

use super::machine::Machine;
use super::node::{MAX_BATCH, Msg, Out2, Raft, Role, Server, Timer};
use crate::apps::agree::majority;
use crate::exec::actor::cycles;

/// The fields of an `AppendEntries`.
pub(super) struct Append<C> {
    pub term: u64,
    pub prev_index: u64,
    pub prev_term: u64,
    pub entries: Vec<super::node::Entry<C>>,
    pub commit: u64,
}

impl<M: Machine> Raft<M> {
    /// AppendEntries to `to` from its `next` (entries up to `MAX_BATCH`;
    /// empty if `beat_only`).
    pub(super) fn append_to(&self, to: usize, s: &mut Server<M>, beat_only: bool, o: &mut Out2<M>) {
        let Role::Leader { next, inflight, .. } = &mut s.role else { return };
        let prev_index = next[to] - 1;
        let end = if beat_only { prev_index } else { (prev_index + MAX_BATCH as u64).min(s.log.len() as u64) };
        let entries = s.log[prev_index as usize..end as usize].to_vec();
        if !entries.is_empty() {
            inflight[to] = 1;
        }
        let prev_term = if prev_index == 0 { 0 } else { s.log[prev_index as usize - 1].term };
        o.send(Id::from(to), Msg::AppendEntries { term: s.term, prev_index, prev_term, entries, commit: s.commit });
    }

    pub(super) fn send_entries(&self, to: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        self.append_to(to, s, false, o);
    }

    /// Commits the highest index of the leader's term a majority holds.
    pub(super) fn advance_commit(&self, me: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        let Role::Leader { matched, .. } = &s.role else { return };
        let need = majority(self.servers);
        let mut n = s.last_index();
        while n > s.commit && s.term_at(n) == s.term {
            if matched.iter().filter(|&&m| m >= n).count() >= need {
                s.commit = n;
                break;
            }
            n -= 1;
        }
        self.apply(me, s, o);
    }

    /// Applies the committed entries in order; the leader answers clients.
    pub(super) fn apply(&self, _me: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        while s.applied < s.commit {
            s.applied += 1;
            let e = &s.log[s.applied as usize - 1];
            if let Some(c) = &e.command {
                let output = s.machine.apply(e.client, e.seq, c);
                if s.is_leader() {
                    o.send(Id::from(e.client as usize), Msg::Reply { seq: e.seq, output });
                }
            }
        }
    }

    /// `AppendEntries` from `src` (`dirty`: the term changed already).
    pub(super) fn on_append_entries(
        &self,
        me: usize,
        s: &mut Server<M>,
        src: usize,
        a: Append<M::Command>,
        mut dirty: bool,
        o: &mut Out2<M>,
    ) {
        let Append { term, prev_index, prev_term, entries, commit } = a;
        if term < s.term {
            if dirty {
                o.save(s.stored());
            }
            o.send(Id::from(src), Msg::Ack { term: s.term, success: false, index: 0 });
            return;
        }
        // A leader of this term: follow it (a candidate gives up; a second
        // leader of one term exists only if election safety failed, and it
        // gives way too).
        if s.is_leader() {
            o.cancel_timer(Timer::Heartbeat);
        }
        s.role = Role::Follower;
        s.leader = Some(src as u32);
        o.set_timer(Timer::Election, cycles(self.timing.election.clone()));
        if prev_index > s.last_index() || s.term_at(prev_index) != prev_term {
            if dirty {
                o.save(s.stored());
            }
            let index = s.last_index().min(prev_index.saturating_sub(1));
            o.send(Id::from(src), Msg::Ack { term: s.term, success: false, index });
            return;
        }
        let count = entries.len() as u64;
        for (k, e) in entries.into_iter().enumerate() {
            let index = prev_index + 1 + k as u64;
            if index <= s.last_index() {
                if s.term_at(index) == e.term {
                    continue;
                }
                // A conflict: the suffix from here goes.
                s.log.truncate(index as usize - 1);
            }
            s.log.push(e);
            dirty = true;
        }
        if dirty {
            o.save(s.stored());
        }
        let last_new = prev_index + count;
        if commit > s.commit {
            s.commit = s.commit.max(commit.min(last_new));
        }
        self.apply(me, s, o);
        o.send(Id::from(src), Msg::Ack { term: s.term, success: true, index: last_new });
    }

    /// An `Ack` from follower `src`.
    pub(super) fn on_ack(
        &self,
        me: usize,
        s: &mut Server<M>,
        src: usize,
        (term, success, index): (u64, bool, u64),
        dirty: bool,
        o: &mut Out2<M>,
    ) {
        if dirty {
            o.save(s.stored());
        }
        if term != s.term {
            return;
        }
        let last = s.last_index();
        let Role::Leader { next, matched, inflight } = &mut s.role else { return };
        if success {
            if index > matched[src] {
                matched[src] = index;
                next[src] = index + 1;
                if next[src] <= last {
                    self.send_entries(src, s, o);
                } else {
                    inflight[src] = 0;
                }
                self.advance_commit(me, s, o);
            }
        } else {
            next[src] = (index + 1).min(next[src].saturating_sub(1)).max(1);
            self.send_entries(src, s, o);
        }
    }

    /// The heartbeat timer: an empty AppendEntries to a follower with
    /// entries in flight since the last beat, the entries it lacks to the
    /// others (a batch unacknowledged for a whole beat goes again).
    pub(super) fn heartbeat(&self, me: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        for j in self.others(me) {
            let Role::Leader { inflight, .. } = &mut s.role else { unreachable!() };
            match inflight[j] {
                1 => {
                    inflight[j] = 2;
                    self.append_to(j, s, true, o);
                }
                _ => self.send_entries(j, s, o),
            }
        }
        o.set_timer(Timer::Heartbeat, cycles(self.timing.heartbeat..self.timing.heartbeat + 1));
    }
}
