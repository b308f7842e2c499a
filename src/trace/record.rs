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
}

impl Record {
    pub const fn access(op: TraceOp, addr: u64, size: u32, gap: u64) -> Self {
        Record { op: Some(op), addr, size, gap, value: None }
    }

    /// A record that only burns compute cycles (the tail of a per-core trace).
    pub const fn compute(gap: u64) -> Self {
        Record { op: None, addr: 0, size: 0, gap, value: None }
    }
}
