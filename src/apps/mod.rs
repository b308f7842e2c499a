//! Software that runs on the simulated cores, built on `exec`: spin locks on
//! shared memory (`locks`), mutual exclusion by message passing through
//! mailboxes (`mutex`), physical and logical clocks (`clocks`), and ordered
//! broadcast (`broadcast`), and agreement under faults (`agree`: consensus,
//! commit, election, failure detection, gossip and CRDTs, a lock service, a
//! replicated key-value store).

pub mod agree;
pub mod broadcast;
pub mod c2c;
pub mod clocks;
pub mod harness;
pub mod json;
pub mod locks;
pub mod mutex;

/// The member of `all` whose `name` is `s` (any case); otherwise an error
/// listing every name, for a `what` ("lock algorithm").
pub fn by_name<T: Copy>(s: &str, all: &[T], name: fn(T) -> &'static str, what: &str) -> Result<T, String> {
    all.iter().copied().find(|a| name(*a).eq_ignore_ascii_case(s)).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|a| name(*a)).collect();
        format!("unknown {what} {s:?}: expected one of {}", names.join(", "))
    })
}
