//! Mutual exclusion by message passing: four classic algorithms written as
//! `stateright` actors (`exec::actor`), run on the simulated cores with
//! mailboxes in coherent memory (`run`) and model-checked by stateright
//! (`check`). One file per algorithm, each opening with what it guarantees,
//! what it costs and which primitives it is made of.
//!
//! Every algorithm shares one workload: process `i` enters its critical
//! section `entries[i]` times; before each request it thinks (timer `Want`),
//! and once in, it leaves when timer `Leave` fires (the on-core runtime runs
//! the section's body first: a read-modify-write of a shared counter).

pub mod central;
pub mod check;
pub mod lamport;
pub mod ricart_agrawala;
pub mod run;
pub mod token_ring;

use std::fmt;
use std::ops::Range;

/// The timers every mutex actor uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Thinking is over: request the section.
    Want,
    /// The section's body is done: leave.
    Leave,
}

/// What every process is told: how many there are and its share of the work.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Workload {
    /// Processes, one per core: `Id(i)` is core `i`.
    pub processes: usize,
    /// Critical-section entries of each process (index = process).
    pub entries: Vec<u32>,
    /// Think time before each request, in cycles (a seeded pick in the range
    /// on the cores; any time under stateright).
    pub think: Range<u64>,
}

/// The algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algo {
    Central,
    Lamport,
    RicartAgrawala,
    TokenRing,
    /// Ricart–Agrawala replying at once even from inside the section:
    /// deliberately broken, for showing the monitor and stateright catch it.
    BrokenRicartAgrawala,
}

impl Algo {
    pub const ALL: [Algo; 5] =
        [Algo::Central, Algo::Lamport, Algo::RicartAgrawala, Algo::TokenRing, Algo::BrokenRicartAgrawala];

    pub fn name(self) -> &'static str {
        match self {
            Algo::Central => "central",
            Algo::Lamport => "lamport",
            Algo::RicartAgrawala => "ricart-agrawala",
            Algo::TokenRing => "token-ring",
            Algo::BrokenRicartAgrawala => "broken-ricart-agrawala",
        }
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::apps::by_name(s, &Algo::ALL, Algo::name, "mutex algorithm")
    }
}
