//! Physical clock synchronisation by message passing: Cristian, Berkeley, NTP
//! and a PTP-like exchange, each a `stateright` actor on the cores (one file
//! per algorithm, each opening with what it guarantees and costs), every
//! message a real trip through mailbox rings in coherent memory.
//!
//! **The machine's clocks.** Each core has a physical clock (`exec::clock`):
//! an offset, a drift in ppm and a read jitter. Software sees only readings;
//! the simulator knows the truth (the cycle count), so every claim an
//! algorithm makes ("the server's clock is 212 ahead of mine, give or take
//! 180") is graded as it is made, and every clock's offset is read back over
//! the whole run.
//!
//! **Roles.** Core 0 is the time server or master. For Cristian, NTP and PTP
//! its clock is the reference (external synchronisation: give it a perfect
//! spec, a GPS-fed server) and the others follow it. Berkeley is internal
//! synchronisation: core 0's clock drifts like the rest, and what is graded
//! is how close the clocks come to each other (the spread).
//!
//! **What every algorithm knows of the machine** (`Params`, its datasheet):
//! the round period, the most any clock drifts and jitters, and the minimum
//! one-way delay of a message from the sender's clock read to the
//! receiver's. That minimum must be a true lower bound or Cristian's bound is
//! a lie; by default it is derived from the machine, conservatively: the
//! receiver sees a message only through a load that misses after the
//! sender's store (the store invalidated its copy), and a miss is at least a
//! request to the directory, the directory's latency and a reply:
//! `2 * min_link + directory.latency` cycles (14 on the default crossbar,
//! against some hundreds measured). It holds in true cycles; each algorithm
//! turns its own clock's cycles into true ones with the drift bound. The
//! report carries the least one-way delay actually measured, and a monitor
//! checks the assumption against it.
//!
//! **Adjusting.** Cristian steps (the client's clock jumps, possibly back:
//! Cristian promises an accurate clock, not a monotonic one). Berkeley
//! always slews: its clocks never run backwards. NTP and PTP step at most
//! once, at their first sync when the offset is beyond what one slew absorbs,
//! and slew ever after: monotonic once synchronised (`Monotonic`). A slew
//! absorbs at most a quarter period over half a period (the clock runs at
//! most 50% fast or slow), so it is over before the next round measures.
//!
//! **Monitors** (`monitor`): every claim within its stated bound (Cristian's
//! round-trip bound, NTP's δ/2, PTP's causal interval, the Berkeley
//! master's round-trip bound); monotonic clocks where promised; the minimum-delay
//! assumption. Each broken variant (`SyncAlgo::Broken*`) is caught by one.
//!
//! No stateright check here: the algorithms' safety properties are about
//! time (bounds, monotonic readings), which the untimed model checker does
//! not have; the monitors grade them on every timed run instead.

pub mod berkeley;
pub mod cristian;
pub mod discipline;
pub mod monitor;
pub mod ntp;
pub mod ptp;
pub mod report;
mod run;

use std::fmt;

pub use report::{Offsets, SyncReport};
pub use run::{MAX_PERIOD, MIN_PERIOD, SyncRun};

/// The algorithms, and the deliberately broken variants the monitors catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncAlgo {
    Cristian,
    Berkeley,
    Ntp,
    Ptp,
    /// States Cristian's bound but estimates without the rtt/2 term: the
    /// bound monitor catches it.
    BrokenCristian,
    /// Takes the latest sample (no filtering by delay) and states the bound
    /// of the best one: the bound monitor catches it when delays vary.
    BrokenNtp,
    /// Berkeley stepping its corrections instead of slewing: the monotonic
    /// clock monitor catches it.
    BrokenBerkeley,
}

/// When an algorithm promises its clocks never run backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Monotonic {
    Never,
    /// From its first correction on (it may step once to get there).
    AfterFirstSync,
    Always,
}

impl SyncAlgo {
    pub const ALL: [SyncAlgo; 7] = [
        SyncAlgo::Cristian,
        SyncAlgo::Berkeley,
        SyncAlgo::Ntp,
        SyncAlgo::Ptp,
        SyncAlgo::BrokenCristian,
        SyncAlgo::BrokenNtp,
        SyncAlgo::BrokenBerkeley,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SyncAlgo::Cristian => "cristian",
            SyncAlgo::Berkeley => "berkeley",
            SyncAlgo::Ntp => "ntp",
            SyncAlgo::Ptp => "ptp",
            SyncAlgo::BrokenCristian => "broken-cristian",
            SyncAlgo::BrokenNtp => "broken-ntp",
            SyncAlgo::BrokenBerkeley => "broken-berkeley",
        }
    }

    /// What the algorithm promises of its clocks' monotonicity (a broken
    /// variant promises what its correct one does).
    pub fn monotonic(self) -> Monotonic {
        match self {
            SyncAlgo::Cristian | SyncAlgo::BrokenCristian => Monotonic::Never,
            SyncAlgo::Ntp | SyncAlgo::Ptp | SyncAlgo::BrokenNtp => Monotonic::AfterFirstSync,
            SyncAlgo::Berkeley | SyncAlgo::BrokenBerkeley => Monotonic::Always,
        }
    }

    /// Core 0's clock is the reference (external synchronisation); Berkeley
    /// synchronises the clocks with each other only.
    pub fn external(self) -> bool {
        !matches!(self, SyncAlgo::Berkeley | SyncAlgo::BrokenBerkeley)
    }
}

impl fmt::Display for SyncAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SyncAlgo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::apps::by_name(s, &SyncAlgo::ALL, SyncAlgo::name, "clock synchronisation algorithm")
    }
}

/// What every process knows of the machine and the schedule (its datasheet):
/// cycles of true time unless said otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub cores: usize,
    pub rounds: u32,
    /// Cycles between one process's rounds.
    pub period: u64,
    /// The cycle of the first round (late enough that no clock reads below 0).
    pub first: u64,
    /// A lower bound on any message's delay from the sender's clock read
    /// before sending to the receiver's read after taking it.
    pub min_delay: u64,
    /// The most any clock drifts, as a fraction (50 ppm: 5e-5).
    pub drift: f64,
    /// The most any clock read's jitter adds.
    pub jitter: u64,
}

impl Params {
    /// The cycle every process finishes at: a period after the last round
    /// starts, so its slews are over.
    pub fn end(&self) -> u64 {
        self.first + u64::from(self.rounds) * self.period
    }

    /// A slew's span: half a period, so it is over before the next round.
    pub fn slew_over(&self) -> u64 {
        (self.period / 2).max(1)
    }

    /// The most one slew absorbs: the clock runs at most 50% fast or slow.
    pub fn slew_most(&self) -> i64 {
        (self.slew_over() / 2) as i64
    }

    /// Error a reading adds (rounding down, jitter), on each side of an
    /// exchange, summed over the reads a formula combines.
    pub fn read_error(&self) -> f64 {
        2.0 + 2.0 * self.jitter as f64
    }

    /// How far two clocks can drift apart over `local` cycles of one of them.
    pub fn aging(&self, local: u64) -> f64 {
        2.0 * self.drift * local as f64 / (1.0 - self.drift)
    }

    /// Cristian's bound on an estimate `peer + rtt/2 - own` made from a
    /// round trip of `rtt` cycles of the reader's clock: the peer read its
    /// clock at least `min_delay` after the request left and before the reply
    /// arrived, so the reply spent between `min_delay` and `rtt - min_delay`
    /// in flight, and the midpoint is off by at most `rtt/2 - min_delay`.
    /// The round trip is turned into true cycles through the drift bound;
    /// the reads' rounding and jitter and both clocks' drift over the trip
    /// are added.
    pub fn round_trip_bound(&self, rtt: u64) -> u64 {
        let true_rtt = (rtt as f64 + 1.0 + self.jitter as f64) / (1.0 - self.drift);
        let spread = (true_rtt / 2.0 - self.min_delay as f64).max(0.0);
        (spread + 1.5 * self.drift * true_rtt + self.read_error() + 0.5).ceil() as u64
    }

    /// The phase of process `i`'s rounds within the period, so the clients
    /// of one server do not all ask at once (a request queued behind
    /// another's waits at the server, which skews the round trip).
    pub fn phase(&self, i: usize) -> u64 {
        (i as u64 * self.period / (2 * self.cores.max(1) as u64)).min(self.period / 2)
    }
}
