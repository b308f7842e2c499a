//! Raft's leader election (§5.2, §5.4.1): a follower's timeout makes it a
//! candidate of the next term, votes are granted at most once per term (saved
//! before the answer) and only to a candidate whose log is at least as up to
//! date, a majority of votes makes a leader, and any higher term seen turns a
//! server into a follower of it. The algorithm is told in full in `node`.

use stateright::actor::Id;

use super::machine::Machine;
use super::node::{Entry, Msg, Out2, Raft, Role, Server, Timer, Variant};
use crate::apps::agree::majority;
use crate::exec::actor::cycles;

impl<M: Machine> Raft<M> {
    /// A higher term seen: a follower of it, with no vote yet.
    pub(super) fn adopt(&self, s: &mut Server<M>, term: u64, o: &mut Out2<M>) {
        let was_leader = s.is_leader();
        s.term = term;
        s.voted_for = None;
        s.votes_granted = 0;
        s.role = Role::Follower;
        s.leader = None;
        if was_leader {
            o.cancel_timer(Timer::Heartbeat);
            o.set_timer(Timer::Election, cycles(self.timing.election.clone()));
        }
    }

    /// The election timer fired: a candidate of the next term.
    pub(super) fn stand(&self, me: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        s.term += 1;
        s.voted_for = Some(me as u32);
        s.votes_granted = 1;
        s.role = Role::Candidate { votes: 1 << me };
        s.leader = None;
        o.save(s.stored());
        let (term, last_index, last_term) = (s.term, s.last_index(), s.last_term());
        for j in self.others(me) {
            o.send(Id::from(j), Msg::RequestVote { term, last_index, last_term });
        }
        o.set_timer(Timer::Election, cycles(self.timing.election.clone()));
        if self.servers == 1 {
            self.lead(me, s, o);
        }
    }

    /// Elected: the no-op entry of the new term goes to every follower.
    pub(super) fn lead(&self, me: usize, s: &mut Server<M>, o: &mut Out2<M>) {
        let n = self.servers;
        s.log.push(Entry { term: s.term, client: u32::MAX, seq: 0, command: None });
        o.save(s.stored());
        let last = s.last_index();
        let mut matched = vec![0; n];
        matched[me] = last;
        s.role = Role::Leader { next: vec![last; n], matched, inflight: vec![0; n] };
        s.leader = Some(me as u32);
        o.cancel_timer(Timer::Election);
        o.set_timer(Timer::Heartbeat, cycles(self.timing.heartbeat..self.timing.heartbeat + 1));
        for j in self.others(me) {
            self.send_entries(j, s, o);
        }
        self.advance_commit(me, s, o);
    }

    /// `RequestVote` from candidate `src` (`dirty`: the term changed already).
    pub(super) fn on_request_vote(
        &self,
        s: &mut Server<M>,
        src: usize,
        (term, last_index, last_term): (u64, u64, u64),
        mut dirty: bool,
        o: &mut Out2<M>,
    ) {
        let up_to_date = (last_term, last_index) >= (s.last_term(), s.last_index());
        let may = match self.variant {
            Variant::DoubleVote => s.voted_for == Some(src as u32) || s.votes_granted < 2,
            _ => s.voted_for.is_none() || s.voted_for == Some(src as u32),
        };
        let granted = term == s.term && up_to_date && may;
        if granted && s.voted_for != Some(src as u32) {
            s.voted_for = Some(src as u32);
            s.votes_granted += 1;
            dirty = true;
            o.set_timer(Timer::Election, cycles(self.timing.election.clone()));
        }
        if dirty {
            o.save(s.stored());
        }
        o.send(Id::from(src), Msg::Vote { term: s.term, granted });
    }

    /// A `Vote` from `src`: a majority makes a candidate the leader.
    pub(super) fn on_vote(
        &self,
        me: usize,
        s: &mut Server<M>,
        src: usize,
        (term, granted): (u64, bool),
        dirty: bool,
        o: &mut Out2<M>,
    ) {
        if dirty {
            o.save(s.stored());
        }
        if let Role::Candidate { votes } = &mut s.role
            && term == s.term
            && granted
        {
            *votes |= 1 << src;
            if votes.count_ones() as usize >= majority(self.servers) {
                self.lead(me, s, o);
            }
        }
    }
}
