//! The trace record: one memory access (or atomic) by one core, with the compute
//! cycles that precede it. Every trace format decodes into this type; the engine's
//! trace front end turns it into core operations.

/// What a record asks the core to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceOp {
    /// Load of `size` bytes at `addr`.
    Read,
    /// Store of `size` bytes at `addr`; `value` is the word written when the
    /// trace gives one (otherwise the replayer makes a unique value up).
    Write,
    /// Atomic exchange: writes `value`, returns the old word.
    Swap,
    /// Atomic fetch-and-add of `value`.
    FetchAdd,
    /// Atomic compare-and-swap: `expected` → `value`.
    Cas { expected: u64 },
}

/// What the core's own earlier accesses say about a record's line, worked out
/// on the decoder thread when the replay classifies misses (see
/// [`TraceSet::with_reuse`](super::TraceSet::with_reuse)): whether this is the
/// core's first reference to the line, and whether a fully associative LRU cache
/// of the L1's capacity, fed with the core's accesses in order, holds the line.
/// Both depend on nothing but the core's own access order, so they need not wait
/// for the simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reuse(u8);

impl Reuse {
    const KNOWN: u8 = 1;
    const FIRST: u8 = 2;
    const FA_HIT: u8 = 4;

    /// Not worked out (the simulator's classifier does it itself).
    pub const UNKNOWN: Reuse = Reuse(0);

    pub const fn new(first: bool, fa_hit: bool) -> Self {
        Reuse(Self::KNOWN | if first { Self::FIRST } else { 0 } | if fa_hit { Self::FA_HIT } else { 0 })
    }

    #[inline]
    pub const fn is_known(self) -> bool {
        self.0 & Self::KNOWN != 0
    }

    #[inline]
    pub const fn first(self) -> bool {
        self.0 & Self::FIRST != 0
    }

    #[inline]
    pub const fn fa_hit(self) -> bool {
        self.0 & Self::FA_HIT != 0
    }
}

/// One decoded record. `gap` is the number of compute cycles the core spends
/// before issuing this access (format 2's `2 N` lines fold into the next record's
/// gap; a trailing compute run becomes a record with `op == None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    pub op: Option<TraceOp>,
    pub addr: u64,
    pub size: u32,
    pub gap: u64,
    pub value: Option<u64>,
    /// Filled in on the decoder thread when asked, from a bin file's reuse
    /// distances or by tracking; no writer stores it as such.
    pub reuse: Reuse,
}

impl Record {
    pub const fn access(op: TraceOp, addr: u64, size: u32, gap: u64) -> Self {
        Record { op: Some(op), addr, size, gap, value: None, reuse: Reuse::UNKNOWN }
    }

    /// A record that only burns compute cycles (the tail of a per-core trace).
    pub const fn compute(gap: u64) -> Self {
        Record { op: None, addr: 0, size: 0, gap, value: None, reuse: Reuse::UNKNOWN }
    }
}
