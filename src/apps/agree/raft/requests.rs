//! Raft's client requests (§8): a follower redirects to the leader it
//! believes in; the leader answers a retried command from the session cache
//! or waits for the copy already in its log, and otherwise appends the
//! command (`propose`) and replicates it at once to the idle followers. The
//! answer goes out when the entry is applied (`replication`).

use stateright::actor::Id;

use super::machine::Machine;
use super::node::{Entry, Msg, Out2, Raft, Role, Server, Variant};

impl<M: Machine> Raft<M> {
    /// Client `src`'s command number `seq`.
    pub(super) fn on_request(
        &self,
        me: usize,
        s: &mut Server<M>,
        src: usize,
        seq: u32,
        command: M::Command,
        o: &mut Out2<M>,
    ) {
        let client = src as u32;
        if self.variant == Variant::StaleRead
            && let Some(output) = s.machine.machine.read_only(&command)
        {
            o.send(Id::from(src), Msg::Reply { seq, output });
            return;
        }
        if !s.is_leader() {
            o.send(Id::from(src), Msg::Redirect { seq, leader: s.leader });
            return;
        }
        // Applied already: the cached output; in the log already: it will
        // be answered when applied.
        if let Some((last, output)) = s.machine.last.get(&client)
            && *last == seq
        {
            o.send(Id::from(src), Msg::Reply { seq, output: output.clone() });
            return;
        }
        if s.machine.last.get(&client).is_some_and(|(last, _)| *last > seq)
            || s.log.iter().any(|e| e.client == client && e.seq == seq)
        {
            return;
        }
        self.propose(me, s, client, seq, command, o);
    }

    /// The leader appends `client`'s command number `seq` to its log (saved)
    /// and sends it to every follower with nothing in flight.
    pub fn propose(&self, me: usize, s: &mut Server<M>, client: u32, seq: u32, command: M::Command, o: &mut Out2<M>) {
        s.log.push(Entry { term: s.term, client, seq, command: Some(command) });
        o.save(s.stored());
        let last = s.last_index();
        if let Role::Leader { matched, inflight, .. } = &mut s.role {
            matched[me] = last;
            let idle: Vec<usize> = self.others(me).filter(|&j| inflight[j] == 0).collect();
            for j in idle {
                self.send_entries(j, s, o);
            }
        }
        self.advance_commit(me, s, o);
    }
}
