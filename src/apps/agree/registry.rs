//! Every app of the agreement family, by name (`cohsim app NAME`).

use super::App;

/// The apps, in the order `cohsim app --help` lists them.
pub fn all() -> Vec<&'static dyn App> {
    vec![
        &super::paxos::PAXOS,
        &super::paxos::MULTIPAXOS,
        &super::raft::RAFT,
        &super::raft::KV,
        &super::detect::HEARTBEAT,
        &super::detect::PHI,
        &super::gossip::GOSSIP,
        &super::gossip::CRDT,
        &super::raft::LOCKSERVICE,
        &super::commit::TwoPc,
        &super::commit::ThreePc,
        &super::election::Bully,
        &super::election::Ring,
    ]
}

/// The app called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn App> {
    all().into_iter().find(|a| a.name() == name)
}
