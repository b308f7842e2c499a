//! The exhaustive model checker: every reachable state of a small system, explored
//! breadth-first on the very controllers that simulate.
//!
//! ## What it explores
//!
//! A system of `C` L1 controllers and one directory slice (node `C`), built as
//! `engine::Simulator::new` builds them, over `L` one-word lines whose words take
//! values in `0..V`. Each L1 gives every line its own set (8-byte lines, one way,
//! `L.next_power_of_two()` sets, random replacement, which keeps no state), so no
//! access ever needs a victim, and its write-back buffer has `L` entries, so a full
//! buffer never disables an eviction the protocol would allow: with `L` lines a
//! cache can have at most `L` lines waiting for a Put-Ack, and a smaller buffer
//! would only hide interleavings (with `L = 2` and one entry, a second eviction
//! could never race with the first one's Put-Ack).
//!
//! From each state the checker takes, one at a time:
//!
//! * **core accesses**: an idle core (no outstanding miss) issues `Load`, `Store(v)`,
//!   `Swap(v)` or `CompareExchange { expected, new }` on any line, the way the
//!   engine performs it: an access that hits takes the L1-hit fast path
//!   (`hit_frame`, then `hit_plain` for a store, `hit_at` for a load or an
//!   atomic), which runs no table row, so a bug there (a wrong hit tag, a
//!   silent upgrade that forgets the dirty bit) is found here too; any other
//!   access goes through `L1Controller::access`. `FetchAdd` is left out: it
//!   leaves the value domain.
//!   Accesses that compute the same function of the old word (`Store(v)` and
//!   `Swap(v)`; with two values, `CompareExchange { 0, 1 }` and `Store(1)`) are the
//!   same transition and are taken once: an access returns the old word whatever it
//!   is, so only its *new-word function* and whether it needs write permission
//!   matter, and that is also how the state records an access held in an MSHR.
//! * **evictions**: any core replaces any line it holds in a stable state, at any
//!   time, also while it waits for a miss on another line (`L1Controller::evict`;
//!   `Stalled` means not enabled). The timed world evicts only to make room for a
//!   miss; evicting at will covers that and more.
//! * **deliveries**: any in-flight message is handed to its destination's
//!   `handle`. Request and response messages form a multiset delivered in any
//!   order; forward messages travel in per-(source, destination, line) FIFOs and
//!   only a FIFO's head may be delivered — the protocols' declared assumption
//!   (`crate::protocol`). `--unordered-forward` drops that order, and
//!   `--unordered-ack-count` drops it for AckCount alone. A message the
//!   controller stalls is not deliverable in that state.
//!
//! Nothing else is bounded: values come from `0..V`, so the space is finite.
//!
//! One liberty is taken with the controllers' contents: a frame waiting for its
//! data (`IS_D`, `IS_D_I`, `IM_AD`) holds the poison word `⊥` (`state::POISON`)
//! instead of the zeros the cache array fills in or the words an upgrade left
//! behind. No correct L1 reads them; an L1 that does is caught reading `⊥`.
//!
//! ## What it checks
//!
//! In every state: SWMR (`invariants::check_swmr`), that every readable copy holds
//! the golden words (as `Checker::check_copies`), and that a state with work pending
//! (messages in flight, a miss outstanding, a line waiting for its Put-Ack, a
//! transient state at a cache or the directory) has a deliverable message —
//! otherwise it is a **deadlock**. New accesses do not count: a core that could
//! still issue does not help the one that waits. A state with no work pending is
//! *quiescent*. On
//! every transition: no `ProtocolError`, and every performed access read the golden
//! value, or, for a load the L1 marks `windowed` (finishing in `IS_D_I`), any value
//! the word held since the load was issued. After the search, **progress**: from
//! every reachable state some sequence of message deliveries alone (no new accesses
//! or evictions) reaches a quiescent state. That is computed backwards over the
//! recorded delivery edges from the quiescent states.
//!
//! ## States and symmetry
//!
//! A state is the controllers' meaningful contents, written as a compact byte
//! string (see `state`): never a derived hash of the controllers, which hold RNG
//! seeds, hash maps and their own core numbers. Visited states are stored exactly
//! (no hash compaction). Caches are interchangeable, and so are values: each state is
//! stored as the least encoding over the renamings of cache ids and values that
//! agree with a renaming-invariant pre-order (see `symmetry`). `--no-symmetry`
//! turns both off.
//!
//! Breadth-first order makes every counterexample a shortest one; `chart` replays
//! it on fresh controllers and prints it as a message-sequence chart.
//!
//! ```
//! use cohsim::protocol::Protocol;
//! use cohsim::verify::mc::{CheckOptions, check};
//!
//! let report = check(&CheckOptions::new(Protocol::Moesi, 2, 1, 2)).unwrap();
//! assert!(report.violation.is_none() && report.complete);
//! assert_eq!(report.states, 3098);
//! ```

mod bus;
mod chart;
mod encoding;
mod explore;
mod state;
mod store;
mod symmetry;

pub use chart::{Chart, ChartStep};
pub use explore::{Progress, check, check_with_progress};

use crate::config::Interconnect;
use crate::model::dir_org::Organisation;
use crate::model::{MemOp, MsgKind, Mutation, Vnet};
use crate::protocol::Protocol;

/// Largest supported system: cache ids, line numbers and values are bytes, sharer
/// sets and value sets are 8-bit masks.
pub const MAX_CACHES: usize = 8;
pub const MAX_LINES: usize = 8;
pub const MAX_VALUES: usize = 8;

/// Which interchangeable things the checker identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symmetry {
    pub caches: bool,
    pub values: bool,
}

impl Symmetry {
    pub const NONE: Symmetry = Symmetry { caches: false, values: false };
    pub const FULL: Symmetry = Symmetry { caches: true, values: true };
}

/// The order in which the forward network delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardOrder {
    /// Per-(source, destination, line) FIFO: the protocols' declared assumption.
    Fifo,
    /// Any order (`--unordered-forward`).
    Unordered,
    /// FIFO, except that AckCount is ordered with nothing, as if it travelled on
    /// the response network where PROTOCOLS.md's map puts it
    /// (`--unordered-ack-count`): shows why `MsgKind::vnet` keeps it forward.
    AckCountUnordered,
}

impl ForwardOrder {
    /// Does a message of this kind travel in a FIFO?
    #[inline]
    pub fn in_fifo(self, kind: MsgKind) -> bool {
        match self {
            ForwardOrder::Fifo => kind.vnet() == Vnet::Forward,
            ForwardOrder::Unordered => false,
            ForwardOrder::AckCountUnordered => kind.vnet() == Vnet::Forward && kind != MsgKind::AckCount,
        }
    }
}

/// What to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    pub protocol: Protocol,
    pub caches: usize,
    pub lines: usize,
    pub values: usize,
    pub silent_evict: bool,
    pub symmetry: Symmetry,
    /// The order the forward network keeps (the protocols assume `Fifo`).
    pub forward_order: ForwardOrder,
    pub mutation: Option<Mutation>,
    /// Stop after this many states (the report then says the search is partial).
    pub max_states: Option<u64>,
    /// The directory protocols on the network, or the snooping protocols on the
    /// bus (`bus`: a world of its own, same checks).
    pub interconnect: Interconnect,
    /// The directory organisation (a sparse one needs fewer entries than lines to
    /// recall anything: e.g. `sparse:1:1` with 2 lines).
    pub organisation: Organisation,
}

impl CheckOptions {
    pub fn new(protocol: Protocol, caches: usize, lines: usize, values: usize) -> Self {
        CheckOptions {
            protocol,
            caches,
            lines,
            values,
            silent_evict: false,
            symmetry: Symmetry::FULL,
            forward_order: ForwardOrder::Fifo,
            mutation: None,
            max_states: None,
            interconnect: Interconnect::Network,
            organisation: Organisation::Full,
        }
    }

    /// The first setting out of range, named.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let range = |setting: &'static str, v: usize, max: usize| {
            if v == 0 || v > max {
                Err(OptionsError { setting, message: format!("{v} is outside 1..={max}") })
            } else {
                Ok(())
            }
        };
        range("--caches", self.caches, MAX_CACHES)?;
        range("--lines", self.lines, MAX_LINES)?;
        range("--values", self.values, MAX_VALUES)?;
        if self.max_states == Some(0) {
            return Err(OptionsError { setting: "--max-states", message: "must be at least 1".into() });
        }
        if self.interconnect == Interconnect::Bus {
            if self.organisation != Organisation::Full {
                return Err(OptionsError {
                    setting: "--directory",
                    message: format!(
                        "{} makes no sense with --interconnect bus: a snooping bus has no directory",
                        self.organisation
                    ),
                });
            }
            return bus::validate(self);
        }
        if let Some(m) = self.mutation.filter(|m| Mutation::SNOOP.contains(m)) {
            return Err(OptionsError {
                setting: "--mutation",
                message: format!("{} is a snooping-bus mutation: it needs --interconnect bus", mutation_name(m)),
            });
        }
        self.organisation.validate(self.caches).map_err(|message| OptionsError { setting: "--directory", message })?;
        Ok(())
    }

    /// The symmetry actually used: `ForwardToWrongOwner` sends to cache `owner + 1`,
    /// and coarse vectors and Dir_I NB's victim choice name caches by id, which
    /// treats cache ids differently, so caches are not interchangeable under them
    /// (the search would merge states that behave differently).
    pub fn effective_symmetry(&self) -> Symmetry {
        let mut s = self.symmetry;
        if self.mutation == Some(Mutation::ForwardToWrongOwner) || self.organisation.breaks_cache_symmetry() {
            s.caches = false;
        }
        s
    }

    /// The distinct core accesses: `Load` and one write per new-word function
    /// (see the module comment). Each function is represented by the first access
    /// that computes it in the order Store, Swap, CompareExchange.
    pub fn accesses(&self) -> Vec<MemOp> {
        let v = self.values as u64;
        let mut writes: Vec<MemOp> = (0..v).map(MemOp::Store).collect();
        writes.extend((0..v).map(MemOp::Swap));
        for expected in 0..v {
            writes.extend((0..v).map(|new| MemOp::CompareExchange { expected, new }));
        }
        let mut out = vec![MemOp::Load];
        let mut seen: Vec<Vec<u64>> = Vec::new();
        for op in writes {
            let table: Vec<u64> = (0..v).map(|old| op.apply(old).1).collect();
            if !seen.contains(&table) {
                seen.push(table);
                out.push(op);
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct OptionsError {
    pub setting: &'static str,
    pub message: String,
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// Two writers, or a writer and a reader, or two owners.
    Swmr,
    /// A load (or the old word of an atomic or store) that is not the golden value,
    /// or a readable copy that differs from it.
    DataValue,
    /// A (state, event) pair the protocol calls impossible.
    Protocol,
    /// Work is pending and no message can be delivered.
    Deadlock,
    /// No sequence of deliveries from this state ever reaches quiescence.
    NoProgress,
}

impl ViolationKind {
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::Swmr => "SWMR violation",
            ViolationKind::DataValue => "data-value violation",
            ViolationKind::Protocol => "protocol error",
            ViolationKind::Deadlock => "deadlock",
            ViolationKind::NoProgress => "no progress",
        }
    }
}

/// A counterexample: the shortest path the breadth-first search found.
#[derive(Clone, Debug)]
pub struct Violation {
    pub kind: ViolationKind,
    pub detail: String,
    pub chart: Chart,
    /// The chart replays the path in the original names (false only when a
    /// search without symmetry could not be run or also failed to replay).
    pub replayed: bool,
}

/// The outcome of a search.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub options: CheckOptions,
    /// Distinct (canonical, when symmetry is on) states stored.
    pub states: u64,
    /// States whose transitions were all taken (all of them unless cut short).
    pub expanded: u64,
    /// Enabled transitions taken, including those into states already seen.
    pub transitions: u64,
    /// Breadth-first depth of the deepest state.
    pub max_depth: u32,
    pub seconds: f64,
    /// The whole reachable space was explored (no `max_states` cut, no violation).
    pub complete: bool,
    /// The progress pass ran (it needs a complete search).
    pub progress_checked: bool,
    /// How many distinct accesses each idle core may issue.
    pub accesses: usize,
    /// The symmetry the search used (see `CheckOptions::effective_symmetry`).
    pub symmetry: Symmetry,
    /// A violation found under symmetry did not replay in the original names:
    /// the controllers treat caches or values differently, so the search was
    /// run again without symmetry (and `symmetry` says so).
    pub asymmetry_found: bool,
    /// Memory held by the visited set and the delivery edges, in bytes.
    pub memory_bytes: usize,
    pub violation: Option<Violation>,
}

impl CheckReport {
    pub fn states_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.states as f64 / self.seconds } else { 0.0 }
    }
}

/// Every mutation's command-line name: `SkipInvAck` is `skip-inv-ack`.
pub fn mutation_name(m: Mutation) -> String {
    let mut s = String::new();
    for (i, ch) in format!("{m:?}").chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(ch.to_ascii_lowercase());
        } else {
            s.push(ch);
        }
    }
    s
}

/// Parse a mutation name: `skip-inv-ack`, `skip_inv_ack` or `SkipInvAck`.
pub fn parse_mutation(name: &str) -> Option<Mutation> {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let want = norm(name);
    Mutation::ALL.into_iter().chain(Mutation::SNOOP).find(|m| norm(&format!("{m:?}")) == want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_names_round_trip() {
        for m in Mutation::ALL.into_iter().chain(Mutation::SNOOP) {
            assert_eq!(parse_mutation(&mutation_name(m)), Some(m));
        }
        assert_eq!(mutation_name(Mutation::SkipInvAck), "skip-inv-ack");
        assert_eq!(parse_mutation("Skip_Inv_Ack"), Some(Mutation::SkipInvAck));
        assert_eq!(parse_mutation("skip"), None);
    }

    #[test]
    fn accesses_are_distinct_functions() {
        // Two values: Load, const 0, const 1, identity (CAS 0→0).
        let o = CheckOptions::new(Protocol::Mesi, 2, 1, 2);
        assert_eq!(
            o.accesses(),
            vec![MemOp::Load, MemOp::Store(0), MemOp::Store(1), MemOp::CompareExchange { expected: 0, new: 0 }]
        );
        // Three values: Load, 3 constants, identity, 6 single-point changes.
        let o = CheckOptions::new(Protocol::Mesi, 2, 1, 3);
        assert_eq!(o.accesses().len(), 1 + 3 + 1 + 6);
    }
}
