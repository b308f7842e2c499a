//! The seam between the engine and what drives the cores (a trace, a program,
//! a random tester): each core's next step, what the engine may see of its
//! future, and the fast path for plain loads and stores.

use crate::model::Access;
use crate::model::network::Cycle;
use crate::reuse::Reuse;

/// What a core does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Spend `gap` compute cycles, then perform the access. `reuse` is what the
    /// front end knows of the core's own earlier accesses to the line (for the
    /// miss classifier; `Reuse::UNKNOWN` leaves it to the classifier).
    Access { gap: Cycle, access: Access, reuse: Reuse },
    /// Spend cycles without touching memory.
    Compute(Cycle),
    /// An ordering fence. Cores are in-order and block on every miss (sequential
    /// consistency), so a fence costs nothing more; it is counted.
    Fence,
    /// The core has finished.
    Done,
}

impl Step {
    /// An access with nothing known of its reuse.
    pub const fn access(gap: Cycle, access: Access) -> Self {
        Step::Access { gap, access, reuse: Reuse::UNKNOWN }
    }
}

/// A step the front end will hand out later, as much of it as the engine needs in
/// advance: whether an access could miss, and how many cycles precede it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ahead {
    Access { gap: Cycle, addr: u64, writes: bool },
    Compute(Cycle),
    Fence,
    Done,
}

/// A plain load or store, as a front end's fast path offers it (see
/// [`Frontend::take_plain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plain {
    /// Compute cycles before the access.
    pub gap: Cycle,
    pub addr: u64,
    /// The value a store writes; `None` for a load.
    pub store: Option<u64>,
    pub reuse: Reuse,
}

/// Why a front end cannot say what a core does next.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// Its input is bad (a trace that cannot be read): the user's to fix.
    #[error(transparent)]
    Input(Box<dyn std::error::Error + Send + Sync>),
    /// What runs on the core failed (a program that panicked, ...): a failed run.
    #[error("core {core} at cycle {cycle}: {what}")]
    Failed { core: usize, cycle: Cycle, what: String },
}

/// The source of each core's operations: a trace, a program, a random tester.
///
/// Completions reach it between events, never from inside a controller: after
/// the engine delivers a message (or issues a miss) it tells the front end of
/// every access that completed, in order, before any core moves again.
pub trait Frontend {
    /// What `core` does next; `now` is the core's clock (the cycle the step
    /// starts at, before its compute gap).
    fn next(&mut self, core: usize, now: Cycle) -> Result<Step, FrontendError>;
    /// The value the core's last access returned (loads, atomics).
    fn completed(&mut self, _core: usize, _value: u64) {}
    /// Whether `completed` matters (programs read values; traces do not).
    fn wants_values(&self) -> bool {
        true
    }
    /// The `i`-th step after the last one `next` returned for `core`, if it is
    /// already known (a trace's decoded batch). Lets the engine see how far a core
    /// will go on hits; a front end whose future depends on loaded values says
    /// `None`.
    fn ahead(&self, _core: usize, _i: usize) -> Option<Ahead> {
        None
    }
    /// The known steps from the `from`-th after the last one `next` returned, in
    /// order (what `ahead` gives for `from`, `from + 1`, … until `None`).
    fn ahead_from(&self, core: usize, from: usize) -> impl Iterator<Item = Ahead> {
        (from..).map_while(move |i| self.ahead(core, i))
    }
    /// A fast path for front ends that hold a core's future as plain loads and
    /// stores (a trace's decoded batch): offers `core`'s next steps to `take`, in
    /// order, while they are loads and stores it holds and `take` accepts them
    /// (returns `true`). Each accepted step counts as returned by `next`; the
    /// step `take` refuses is still the next one. Only for front ends that do
    /// not want values. The default offers nothing: every step goes through
    /// `next`.
    #[inline]
    fn take_plain(&mut self, _core: usize, _take: impl FnMut(Plain) -> bool) {}
}
