//! The lock service in the untimed world: the same `LockService` actor,
//! model-checked by stateright with one Raft server (the election and
//! replication are checked on their own by `check`; here what matters is
//! the lock, the leases and the fencing), storage, and two clients of one
//! acquisition each. Timers fire at any moment, so the leader's heartbeat
//! ticks, and with them lease expiry, may come at any time: the untimed
//! world is where a holder loses its lock while it still means to write.
//! Leases are one tick (`lease_ticks = 1`) to keep the space small.
//!
//! Bounds (`within`): the log up to `MAX_LOG` entries, the leader's clock up
//! to `MAX_TICKS`, at most `MAX_NET` messages in flight; no crash.
//!
//! Properties:
//! - `always "fencing"`: the tokens storage accepts, in its order, never
//!   decrease.
//! - `always "token uniqueness"`: no token is granted to two clients.
//! - `sometimes "a write is accepted"` and, for the correct variant,
//!   `sometimes "a stale write is rejected"`: the scenario fencing exists
//!   for is reached (a holder expired, the lock granted on, the old holder
//!   writing late).
//!
//! `lease safety` is not checked here: it is about real time, which the
//! untimed world does not have (the run monitors check it on every run).

use std::collections::BTreeMap;

use stateright::actor::{ActorModel, ActorModelState, Envelope, Network};
use stateright::{Checker, Expectation, Model};

use super::lock::LockOut;
use super::lockrun::{lock_timing, service};
use super::lockservice::{LMsg, LState, LockService};
use super::node::Msg;
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

pub const MAX_LOG: usize = 4;
pub const MAX_TICKS: u64 = 1;
pub const MAX_NET: usize = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct History {
    /// Tokens storage accepted, in order.
    pub accepted: Vec<u64>,
    pub rejected: u32,
    /// Token to the client granted it.
    pub granted: BTreeMap<u64, usize>,
    pub twice: bool,
}

type State = ActorModelState<LockService, History>;

fn record_out(_: &(), h: &History, env: Envelope<&LMsg>) -> Option<History> {
    match env.msg {
        LMsg::Written { token, accepted } => {
            let mut h = h.clone();
            if *accepted {
                h.accepted.push(*token);
            } else {
                h.rejected += 1;
            }
            Some(h)
        }
        LMsg::Raft(Msg::Reply { output: LockOut::Granted(t), .. }) => {
            let to = usize::from(env.dst);
            match h.granted.get(t) {
                Some(&c) if c == to => None,
                Some(_) => Some(History { twice: true, ..h.clone() }),
                None => {
                    let mut h = h.clone();
                    h.granted.insert(*t, to);
                    Some(h)
                }
            }
        }
        _ => None,
    }
}

fn within(_: &(), s: &State) -> bool {
    s.network.len() <= MAX_NET
        && s.actor_states.iter().all(|a| match &**a {
            LState::Server(x) => x.raft.log.len() <= MAX_LOG && x.leases.now <= MAX_TICKS,
            _ => true,
        })
}

pub fn model(variant: &'static str) -> ActorModel<LockService, (), History> {
    let mut timing = lock_timing();
    timing.lease_ticks = 1;
    // 4 cores: server 0, storage 1, clients 2 and 3 of one acquisition each.
    let ls = service(4, 2, variant, timing);
    let m = ActorModel::new((), History::default())
        .actors(vec![ls; 4])
        .init_network(Network::new_unordered_nonduplicating([]))
        .within_boundary(within)
        .record_msg_out(record_out)
        .property(Expectation::Always, "fencing", |_, s| s.history.accepted.windows(2).all(|w| w[0] <= w[1]))
        .property(Expectation::Always, "token uniqueness", |_, s| !s.history.twice)
        .property(Expectation::Sometimes, "a write is accepted", |_, s| !s.history.accepted.is_empty());
    if variant == "correct" {
        return m.property(Expectation::Sometimes, "a stale write is rejected", |_, s| s.history.rejected > 0);
    }
    m
}

pub fn check(variant: &'static str) -> CheckSummary {
    let checker = model(variant).checker().spawn_bfs().join();
    CheckSummary {
        config: format!(
            "1 server, storage, 2 clients of one acquisition; leases of 1 tick; log <= {MAX_LOG}, clock <= {MAX_TICKS} ticks, <= {MAX_NET} messages in flight, no crash"
        ),
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}
