//! The trace record: one memory access (or atomic) by one core, with the compute
//! cycles that precede it. Every trace format decodes into this type; the engine's
//! trace front end turns it into core operations.

pub use crate::reuse::Reuse;

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

/// The most compute cycles one core's trace may add up to: 2^52, about 52 days
/// at 1 GHz. Simulated time (gaps plus hits and stalls) must stay below 2^53
/// (see `stats::classify::order_key`), and no sum of cycles may wrap; a trace
/// past this is refused, naming the file and line, rather than run.
pub const MAX_TRACE_CYCLES: u64 = 1 << 52;

/// What a decoder says when a core's compute cycles add up past [`MAX_TRACE_CYCLES`].
pub const TOO_MANY_CYCLES: &str =
    "compute cycles that add up, over the core's trace, to at most 2^52 (this trace's time would overflow)";

/// Adds a record's gap to a core's running total; `None` past [`MAX_TRACE_CYCLES`].
#[inline(always)]
pub fn add_cycles(total: u64, gap: u64) -> Option<u64> {
    total.checked_add(gap).filter(|&t| t <= MAX_TRACE_CYCLES)
}

/// Largest access size a trace may give (bytes). Real accesses are at most a
/// vector register (64 bytes); the bound keeps one corrupt field from becoming
/// millions of per-line records.
pub const MAX_ACCESS: u64 = 4096;

/// Why an access cannot be replayed as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A size of 0 bytes.
    Empty,
    /// Larger than [`MAX_ACCESS`].
    TooLarge,
    /// Its last byte would be past the top of the 64-bit address space.
    Wraps,
    /// An atomic that spans two lines (a split lock), which no cache line can
    /// perform atomically.
    AtomicSpansLines,
}

impl SplitError {
    pub fn describe(self) -> &'static str {
        match self {
            SplitError::Empty => "an access size of at least 1 byte (0 is no access)",
            SplitError::TooLarge => "an access size of at most 4096 bytes",
            SplitError::Wraps => "an access that ends within the address space (this one wraps past the top)",
            SplitError::AtomicSpansLines => "an atomic within one cache line (this one spans two)",
        }
    }
}

/// Whether an access of `size` bytes at `addr` needs [`push_split`] for lines
/// of `line` bytes (a power of two): it spans a line boundary, or its size is
/// 0 (an error). One compare: the common case costs nothing more.
#[inline(always)]
pub fn needs_split(addr: u64, size: u32, line: u64) -> bool {
    u64::from(size).wrapping_sub(1) >= line - (addr & (line - 1))
}

/// Pushes `r` as one record per cache line of `line` bytes its bytes
/// `[addr, addr + size)` touch: a cache sees a line-crossing access as one
/// access per line, and counts it so (as Dinero IV and Lackey-driven cache
/// models do). The first piece keeps the record's gap and store value; the
/// others follow at once with none. Compute-only records pass unchanged.
/// Returns the number of records pushed.
pub fn push_split(out: &mut Vec<Record>, r: Record, line: u64) -> Result<usize, SplitError> {
    let Some(op) = r.op else {
        out.push(r);
        return Ok(1);
    };
    let size = u64::from(r.size);
    if size == 0 {
        return Err(SplitError::Empty);
    }
    if size > MAX_ACCESS {
        return Err(SplitError::TooLarge);
    }
    let last = r.addr.checked_add(size - 1).ok_or(SplitError::Wraps)?;
    if !needs_split(r.addr, r.size, line) {
        out.push(r);
        return Ok(1);
    }
    if !matches!(op, TraceOp::Read | TraceOp::Write) {
        return Err(SplitError::AtomicSpansLines);
    }
    let mut a = r.addr;
    let mut first = true;
    let mut n = 0;
    loop {
        // The last byte of this piece: the line's last byte, or the access's.
        let piece_last = (a | (line - 1)).min(last);
        let mut piece = Record::access(op, a, (piece_last - a + 1) as u32, 0);
        if first {
            piece.gap = r.gap;
            piece.value = r.value;
            first = false;
        }
        out.push(piece);
        n += 1;
        if piece_last == last {
            return Ok(n);
        }
        a = piece_last + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_crossing_accesses_split_into_one_record_per_line() {
        let mut out = Vec::new();
        let mut w = Record::access(TraceOp::Write, 0x103c, 8, 7);
        w.value = Some(9);
        assert_eq!(push_split(&mut out, w, 64), Ok(2));
        let mut first = Record::access(TraceOp::Write, 0x103c, 4, 7);
        first.value = Some(9);
        assert_eq!(out, [first, Record::access(TraceOp::Write, 0x1040, 4, 0)]);
        // 100 bytes from the middle of a 32-byte line: 16 + 32 + 32 + 20.
        out.clear();
        assert_eq!(push_split(&mut out, Record::access(TraceOp::Read, 0x10, 100, 0), 32), Ok(4));
        let sizes: Vec<u32> = out.iter().map(|r| r.size).collect();
        assert_eq!(sizes, [16, 32, 32, 20]);
        // Within a line: unchanged.
        out.clear();
        assert_eq!(push_split(&mut out, Record::access(TraceOp::Read, 0x1038, 8, 3), 64), Ok(1));
        assert!(!needs_split(0x1038, 8, 64) && needs_split(0x1039, 8, 64) && needs_split(0x1000, 0, 64));
    }

    #[test]
    fn the_top_of_the_address_space_is_usable_but_not_past_it() {
        let mut out = Vec::new();
        let top = Record::access(TraceOp::Read, u64::MAX - 7, 8, 0);
        assert_eq!(push_split(&mut out, top, 64), Ok(1));
        let past = Record::access(TraceOp::Read, u64::MAX - 3, 8, 0);
        assert_eq!(push_split(&mut out, past, 64), Err(SplitError::Wraps));
        // Split across the last two lines, the last piece ends at the top.
        out.clear();
        assert_eq!(push_split(&mut out, Record::access(TraceOp::Read, u64::MAX - 35, 36, 0), 32), Ok(2));
        assert_eq!(out[1].addr + u64::from(out[1].size) - 1, u64::MAX);
    }

    #[test]
    fn bad_sizes_and_split_atomics_are_errors() {
        let mut out = Vec::new();
        assert_eq!(push_split(&mut out, Record::access(TraceOp::Read, 0, 0, 0), 64), Err(SplitError::Empty));
        assert_eq!(push_split(&mut out, Record::access(TraceOp::Read, 0, 4097, 0), 64), Err(SplitError::TooLarge));
        let swap = Record::access(TraceOp::Swap, 0x3c, 8, 0);
        assert_eq!(push_split(&mut out, swap, 64), Err(SplitError::AtomicSpansLines));
        assert!(out.is_empty());
    }
}
