//! The untimed world: the same `Raft<M>` the cores run, model-checked by
//! stateright with 3 servers and clients. Any timer may fire at any moment
//! (so elections start whenever they may), messages are delivered in any
//! order (`Network::new_unordered_nonduplicating`), and one process at a time
//! may crash and later recover from what it saved (`max_crashes(1)`).
//!
//! The state space is infinite (terms grow, heartbeats are sent forever), so
//! it is bounded (`within_boundary`): terms up to `max_term`, logs up to
//! `max_log` entries, at most `max_net` messages in flight. Within it every
//! state is explored.
//!
//! The history (`History`) keeps what the properties need beyond the
//! states: every (term, server) that sent AppendEntries (a leader: a leader
//! sends its no-op at once), and the clients' operations fed to stateright's
//! `LinearizabilityTester` against the machine itself as the sequential
//! specification (a request's first send is the invocation, the reply the
//! client takes is the return).
//!
//! Properties:
//! - `always "election safety"`: no term has two leaders (over the whole
//!   history, not only the current states).
//! - `always "log matching"`: two servers' logs with entries of one term at
//!   an index are equal up to it.
//! - `always "leader completeness"`: a leader of a term above server `a`'s
//!   current term holds `a`'s committed prefix.
//! - `always "state-machine safety"`: two servers' applied prefixes agree.
//! - `always "linearizable"`: the clients' history so far linearizes.
//! - `sometimes "a command is applied"`: guards against a vacuous pass.

use std::collections::BTreeSet;

use stateright::actor::{ActorModel, ActorModelState, Envelope, Network};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::{Checker, Expectation, Model};

use super::kv::{Kv, KvCommand};
use super::machine::{Appender, Machine};
use super::node::{Msg, Raft, RaftState, Server, Variant};
use super::run;
use crate::apps::agree::CheckSummary;
use crate::exec::untimed::properties;

/// A machine as stateright's sequential specification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsSpec<M>(pub M);

impl<M: Machine> SequentialSpec for AsSpec<M> {
    type Op = M::Command;
    type Ret = M::Output;
    fn invoke(&mut self, op: &M::Command) -> M::Output {
        self.0.apply(op)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct History<M: Machine> {
    /// (term, server) of every AppendEntries sent.
    pub leaders: BTreeSet<(u64, usize)>,
    pub invoked: BTreeSet<(usize, u32)>,
    pub returned: BTreeSet<(usize, u32)>,
    pub tester: LinearizabilityTester<usize, AsSpec<M>>,
}

/// The bounds of a check.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_term: u64,
    pub max_log: usize,
    pub max_net: usize,
    pub max_crashes: usize,
}

type Model_<M> = ActorModel<Raft<M>, Bounds, History<M>>;
type State<M> = ActorModelState<Raft<M>, History<M>>;

fn servers_of<M: Machine>(s: &State<M>) -> impl Iterator<Item = &Server<M>> {
    s.actor_states.iter().filter_map(|a| match &**a {
        RaftState::Server(s) => Some(s),
        RaftState::Client(_) => None,
    })
}

fn record_out<M: Machine>(
    _: &Bounds,
    h: &History<M>,
    env: Envelope<&Msg<M::Command, M::Output>>,
) -> Option<History<M>> {
    match env.msg {
        Msg::AppendEntries { term, .. } if !h.leaders.contains(&(*term, usize::from(env.src))) => {
            let mut h = h.clone();
            h.leaders.insert((*term, usize::from(env.src)));
            Some(h)
        }
        Msg::Request { seq, command } if !h.invoked.contains(&(usize::from(env.src), *seq)) => {
            let mut h = h.clone();
            h.invoked.insert((usize::from(env.src), *seq));
            let _ = h.tester.on_invoke(usize::from(env.src), command.clone());
            Some(h)
        }
        _ => None,
    }
}

fn record_in<M: Machine>(_: &Bounds, h: &History<M>, env: Envelope<&Msg<M::Command, M::Output>>) -> Option<History<M>> {
    match env.msg {
        Msg::Reply { seq, output }
            if h.invoked.contains(&(usize::from(env.dst), *seq))
                && !h.returned.contains(&(usize::from(env.dst), *seq)) =>
        {
            let mut h = h.clone();
            h.returned.insert((usize::from(env.dst), *seq));
            let _ = h.tester.on_return(usize::from(env.dst), output.clone());
            Some(h)
        }
        _ => None,
    }
}

fn within<M: Machine>(b: &Bounds, s: &State<M>) -> bool {
    s.network.len() <= b.max_net && servers_of(s).all(|x| x.term <= b.max_term && x.log.len() <= b.max_log)
}

fn election_safety<M: Machine>(_: &Model_<M>, s: &State<M>) -> bool {
    let l = &s.history.leaders;
    l.iter().zip(l.iter().skip(1)).all(|(a, b)| a.0 != b.0)
}

fn log_matching<M: Machine>(_: &Model_<M>, s: &State<M>) -> bool {
    let v: Vec<&Server<M>> = servers_of(s).collect();
    v.iter().enumerate().all(|(i, a)| {
        v[i + 1..].iter().all(|b| {
            let n = a.log.len().min(b.log.len());
            match (0..n).rev().find(|&k| a.log[k].term == b.log[k].term) {
                Some(k) => a.log[..=k] == b.log[..=k],
                None => true,
            }
        })
    })
}

fn leader_completeness<M: Machine>(_: &Model_<M>, s: &State<M>) -> bool {
    let v: Vec<&Server<M>> = servers_of(s).collect();
    v.iter().all(|l| {
        !l.is_leader()
            || v.iter().all(|a| {
                let c = a.commit as usize;
                l.term <= a.term || (l.log.len() >= c && l.log[..c] == a.log[..c])
            })
    })
}

fn machine_safety<M: Machine>(_: &Model_<M>, s: &State<M>) -> bool {
    let v: Vec<&Server<M>> = servers_of(s).collect();
    v.iter().enumerate().all(|(i, a)| {
        v[i + 1..].iter().all(|b| {
            let n = a.applied.min(b.applied) as usize;
            a.log[..n] == b.log[..n]
        })
    })
}

/// The model: 3 servers and `clients` clients of `ops` operations each.
pub fn model<M: Machine>(
    variant: Variant,
    command: fn(usize, u32) -> M::Command,
    clients: usize,
    ops: u32,
    bounds: Bounds,
) -> Model_<M> {
    let raft = Raft::<M> { servers: 3, ops: vec![ops; clients], command, variant, timing: run::timing() };
    let history = History {
        leaders: BTreeSet::new(),
        invoked: BTreeSet::new(),
        returned: BTreeSet::new(),
        tester: LinearizabilityTester::new(AsSpec(M::default())),
    };
    let m = ActorModel::new(bounds, history)
        .actors(vec![raft; 3 + clients])
        .init_network(Network::new_unordered_nonduplicating([]))
        .max_crashes(bounds.max_crashes)
        .within_boundary(within::<M>)
        .record_msg_out(record_out::<M>)
        .record_msg_in(record_in::<M>)
        .property(Expectation::Always, "election safety", election_safety::<M>)
        .property(Expectation::Always, "log matching", log_matching::<M>)
        .property(Expectation::Always, "leader completeness", leader_completeness::<M>)
        .property(Expectation::Always, "state-machine safety", machine_safety::<M>)
        .property(Expectation::Always, "linearizable", |_, s| s.history.tester.serialized_history().is_some())
        .property(Expectation::Sometimes, "an entry is committed", |_, s| servers_of(s).any(|x| x.commit > 0));
    if clients == 0 {
        return m;
    }
    m.property(Expectation::Sometimes, "a client is answered", |_, s| !s.history.returned.is_empty())
}

/// Runs the BFS; the summary.
pub fn summarize<M: Machine + Send + Sync + 'static>(
    m: Model_<M>,
    depth: Option<usize>,
    config: String,
    variant: &'static str,
) -> CheckSummary
where
    M::Command: Send + Sync,
    M::Output: Send + Sync,
{
    let mut builder = m.checker();
    if let Some(d) = depth {
        builder = builder.target_max_depth(d);
    }
    let checker = builder.spawn_bfs().join();
    CheckSummary {
        config,
        variant,
        states: checker.unique_state_count(),
        depth: checker.max_depth(),
        properties: properties(&checker),
    }
}

/// The `raft` app's check: 3 servers and no client (every leader appends
/// a no-op entry, so logs, commits and applications happen all the same),
/// one election's term, a server may crash and restart from what it saved
/// (a voter that forgot its vote would vote twice).
pub const RAFT_BOUNDS: Bounds = Bounds { max_term: 1, max_log: 2, max_net: 3, max_crashes: 1 };

/// A broken variant's check: more messages in flight (two candidates'
/// RequestVotes and a leader's AppendEntries), depth-bounded instead.
pub const BROKEN_BOUNDS: Bounds = Bounds { max_term: 1, max_log: 2, max_net: 6, max_crashes: 0 };
pub const BROKEN_DEPTH: usize = 10;

pub fn check(variant: &'static str) -> CheckSummary {
    let v = run::variant(variant);
    let append = |c: usize, s: u32| 1000 * c as u64 + u64::from(s);
    if v == Variant::Correct {
        let b = RAFT_BOUNDS;
        summarize(model::<Appender>(v, append, 0, 0, b), None, describe("no client", b, None), variant)
    } else {
        let b = BROKEN_BOUNDS;
        let d = Some(BROKEN_DEPTH);
        summarize(model::<Appender>(v, append, 0, 0, b), d, describe("no client", b, d), variant)
    }
}

/// The `kv` app's check: 3 servers, one client writing key 0 then reading
/// it, one term, no crash (the client's retries and redirects make the space
/// larger; two clients at these bounds are 2.4 million states, 105 s).
pub const KV_BOUNDS: Bounds = Bounds { max_term: 1, max_log: 3, max_net: 3, max_crashes: 0 };

pub fn kv_command(_client: usize, seq: u32) -> KvCommand {
    if seq == 1 { KvCommand::Write { key: 0, value: 1 } } else { KvCommand::Read { key: 0 } }
}

pub fn check_kv(variant: &'static str) -> CheckSummary {
    let v = run::variant(variant);
    if v == Variant::DoubleVote {
        let (b, d) = (BROKEN_BOUNDS, Some(BROKEN_DEPTH));
        return summarize(model::<Kv>(v, kv_command, 0, 0, b), d, describe("no client", b, d), variant);
    }
    let b = KV_BOUNDS;
    summarize(
        model::<Kv>(v, kv_command, 1, 2, b),
        None,
        describe("one client writing key 0, then reading it", b, None),
        variant,
    )
}

fn describe(clients: &str, b: Bounds, depth: Option<usize>) -> String {
    let mut s = format!(
        "3 servers, {clients}; terms <= {}, logs <= {} entries, <= {} messages in flight, {} crash(es) at a time",
        b.max_term, b.max_log, b.max_net, b.max_crashes
    );
    if let Some(d) = depth {
        s += &format!(", depth <= {d}");
    }
    s
}
