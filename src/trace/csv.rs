//! cohsim's native CSV trace: one file, all cores, one access per row.
//!
//! ```text
//! core,op,addr,size,gap,value,expected
//! 0,W,0x1000,8,3,42,
//! 1,R,0x1000,,0,,
//! 1,CAS,0x2000,8,0,1,0
//! 0,C,,,120,,
//! ```
//!
//! The header names the columns, in any order (case-insensitive). `core`, `op`
//! and `addr` are required; `size`, `gap`, `value` and `expected` optional.
//!
//! | column     | meaning                                                           |
//! |------------|-------------------------------------------------------------------|
//! | `core`     | decimal core number, below [`MAX_CORES`] (1024)                   |
//! | `op`       | `R`, `W`, `SWAP`, `FADD`, `CAS`, or `C` (compute only)            |
//! | `addr`     | byte address, `0x` hex or decimal                                 |
//! | `size`     | bytes, decimal, 1 to 4096; empty or absent = [`DEFAULT_SIZE`]     |
//! | `gap`      | compute cycles before this access; default 0                      |
//! | `value`    | store value / atomic operand; empty = none                        |
//! | `expected` | CAS only, and required there: the compare value                   |
//!
//! An access that spans cache lines is replayed as one access per line it
//! touches, as a cache sees it (and as the Lackey reader does): the first
//! keeps the row's gap and value. An atomic may not span lines.
//!
//! Numbers other than `core` and `size` may be `0x` hex or decimal. For `C`
//! rows, `addr` may be empty (0). Rows of a core appear in that core's program
//! order; rows of different cores may interleave freely. Lines starting with
//! `#` are comments. Quoting and whitespace follow RFC 4180 via the `csv`
//! crate; the reader reuses one `ByteRecord`, so rows allocate nothing.

use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder, Trim};

use super::error::{Codec, MAX_CORES, TraceError};
use super::input::{IO_BUF, Input};
use super::lines::{parse_dec, parse_num};
use super::record::{MAX_ACCESS, TOO_MANY_CYCLES, add_cycles, needs_split, push_split};
use super::{Record, Reuse, TraceOp};

/// Size of an access whose row leaves `size` empty: one 64-bit word.
pub const DEFAULT_SIZE: u32 = 8;

/// The columns the writer emits, in order.
pub(crate) const HEADER: &str = "core,op,addr,size,gap,value,expected";

const HEADER_EXPECTED: &str = "a header naming the columns core, op and addr, and optionally \
     size, gap, value and expected, each once";

#[derive(Default)]
struct Columns {
    core: usize,
    op: usize,
    addr: usize,
    size: Option<usize>,
    gap: Option<usize>,
    value: Option<usize>,
    expected: Option<usize>,
}

impl Columns {
    fn from_header(header: &ByteRecord) -> Option<Self> {
        let mut found: [Option<usize>; 7] = [None; 7];
        for (i, name) in header.iter().enumerate() {
            let slot = match name.to_ascii_lowercase().as_slice() {
                b"core" => 0,
                b"op" => 1,
                b"addr" => 2,
                b"size" => 3,
                b"gap" => 4,
                b"value" => 5,
                b"expected" => 6,
                _ => return None,
            };
            if found[slot].replace(i).is_some() {
                return None;
            }
        }
        Some(Columns {
            core: found[0]?,
            op: found[1]?,
            addr: found[2]?,
            size: found[3],
            gap: found[4],
            value: found[5],
            expected: found[6],
        })
    }
}

pub(crate) struct CsvDecoder {
    rdr: ::csv::Reader<Box<dyn std::io::Read + Send>>,
    row: ByteRecord,
    cols: Columns,
    path: PathBuf,
    codec: Codec,
    /// Cache line size: an access that spans lines becomes one row per line.
    line: u64,
    /// The rest of a split row's pieces, last first, and their core.
    pieces: Vec<Record>,
    pieces_core: usize,
    /// Each core's compute cycles so far.
    cycles: Vec<u64>,
}

impl CsvDecoder {
    /// Reads and checks the header; accesses that span lines of `line` bytes
    /// (a power of two) come out as one record per line.
    pub fn new(path: &Path, input: Input, line: u32) -> Result<Self, TraceError> {
        let rdr = ReaderBuilder::new()
            .has_headers(false)
            .trim(Trim::All)
            .comment(Some(b'#'))
            .buffer_capacity(IO_BUF)
            .from_reader(input.reader);
        let mut d = CsvDecoder {
            rdr,
            row: ByteRecord::new(),
            cols: Columns::default(),
            path: path.to_path_buf(),
            codec: input.codec,
            line: u64::from(line.max(1)),
            pieces: Vec::new(),
            pieces_core: 0,
            cycles: Vec::new(),
        };
        match d.rdr.read_byte_record(&mut d.row) {
            Ok(true) => {}
            Ok(false) => return Err(TraceError::Empty { path: d.path }),
            Err(e) => return Err(d.error(e)),
        }
        let cols = Columns::from_header(&d.row).ok_or_else(|| d.row_error(HEADER_EXPECTED))?;
        d.cols = cols;
        Ok(d)
    }

    /// The next row as `(core, record)`, or `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<(usize, Record)>, TraceError> {
        if let Some(piece) = self.pieces.pop() {
            return Ok(Some((self.pieces_core, piece)));
        }
        match self.rdr.read_byte_record(&mut self.row) {
            Ok(true) => {
                let (core, r) = self.decode_row()?;
                if core >= self.cycles.len() {
                    self.cycles.resize(core + 1, 0);
                }
                self.cycles[core] =
                    add_cycles(self.cycles[core], r.gap).ok_or_else(|| self.row_error(TOO_MANY_CYCLES))?;
                if r.op.is_none() || !needs_split(r.addr, r.size, self.line) {
                    return Ok(Some((core, r)));
                }
                let mut pieces = std::mem::take(&mut self.pieces);
                push_split(&mut pieces, r, self.line).map_err(|e| self.row_error(e.describe()))?;
                pieces.reverse();
                let first = pieces.pop().expect("a split access has pieces");
                (self.pieces, self.pieces_core) = (pieces, core);
                Ok(Some((core, first)))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn decode_row(&self) -> Result<(usize, Record), TraceError> {
        let c = &self.cols;
        let field = |i: usize| self.row.get(i).unwrap_or_default();
        let opt = |i: Option<usize>| i.map(field).unwrap_or_default();
        let bad = |text: &[u8], expected: &'static str| self.field_error(text, expected);

        let core = parse_dec(field(c.core))
            .filter(|&n| n < MAX_CORES as u64)
            .ok_or_else(|| bad(field(c.core), "core: a decimal core number below 1024"))? as usize;
        let op_text = field(c.op);
        let op = match op_text.to_ascii_uppercase().as_slice() {
            b"R" => Some(TraceOp::Read),
            b"W" => Some(TraceOp::Write),
            b"SWAP" => Some(TraceOp::Swap),
            b"FADD" => Some(TraceOp::FetchAdd),
            b"CAS" => Some(TraceOp::Cas { expected: 0 }),
            b"C" => None,
            _ => return Err(bad(op_text, "op: R, W, SWAP, FADD, CAS or C")),
        };
        let number = |text: &[u8], default: u64, expected| {
            if text.is_empty() { Ok(default) } else { parse_num(text).ok_or_else(|| bad(text, expected)) }
        };
        let addr_text = field(c.addr);
        if addr_text.is_empty() && op.is_some() {
            return Err(bad(addr_text, "addr: 0x hex or decimal byte address"));
        }
        let addr = number(addr_text, 0, "addr: 0x hex or decimal byte address")?;
        let size_text = opt(c.size);
        let size = if size_text.is_empty() {
            if op.is_some() { DEFAULT_SIZE } else { 0 }
        } else {
            const TOO_LARGE: &str = "size: at most 4096 bytes (this one is too large)";
            let size = match parse_dec(size_text) {
                Some(size) => size,
                // All digits, yet no u64: too large, not malformed.
                None if size_text.iter().all(u8::is_ascii_digit) => return Err(bad(size_text, TOO_LARGE)),
                None => return Err(bad(size_text, "size: decimal byte count")),
            };
            if op.is_some() && size == 0 {
                return Err(bad(size_text, "size: at least 1 byte (0 is no access)"));
            }
            if size > MAX_ACCESS {
                return Err(bad(size_text, TOO_LARGE));
            }
            size as u32
        };
        let gap = number(opt(c.gap), 0, "gap: 0x hex or decimal cycle count")?;
        let value_text = opt(c.value);
        let value = if value_text.is_empty() { None } else { Some(number(value_text, 0, "value: 0x hex or decimal")?) };
        let exp_text = opt(c.expected);
        let op = match op {
            Some(TraceOp::Cas { .. }) => {
                if exp_text.is_empty() {
                    return Err(bad(exp_text, "expected: a CAS compare value (0x hex or decimal)"));
                }
                let expected = number(exp_text, 0, "expected: 0x hex or decimal")?;
                Some(TraceOp::Cas { expected })
            }
            other if exp_text.is_empty() => other,
            _ => return Err(bad(exp_text, "expected: empty except on CAS rows")),
        };
        Ok((core, Record { op, addr, size, gap, value, reuse: Reuse::UNKNOWN }))
    }

    fn line(&self) -> u64 {
        self.row.position().map_or(0, |p| p.line())
    }

    fn field_error(&self, text: &[u8], expected: &'static str) -> TraceError {
        TraceError::parse(&self.path, self.line(), expected, text)
    }

    fn row_error(&self, expected: &'static str) -> TraceError {
        TraceError::parse(&self.path, self.line(), expected, &join(&self.row))
    }

    fn error(&self, e: ::csv::Error) -> TraceError {
        let line = e.position().map_or_else(|| self.line() + 1, |p| p.line());
        match e.into_kind() {
            ErrorKind::Io(io) => TraceError::read(&self.path, self.codec, line, io),
            ErrorKind::UnequalLengths { expected_len, len, .. } => TraceError::parse(
                &self.path,
                line,
                format!("{expected_len} fields, like the header (found {len})"),
                &join(&self.row),
            ),
            other => TraceError::parse(&self.path, line, format!("a CSV row ({other:?})"), b""),
        }
    }
}

fn join(row: &ByteRecord) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in row.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
    }
    out
}

/// Validates a whole CSV trace and returns `(cores, records)`: the core count
/// is one more than the highest core named. `trace::open` uses it so the
/// stream count is known before any stream starts (the file is read twice;
/// native CSV traces are the small, hand-made or generated kind).
pub(crate) fn scan(path: &Path, input: Input, line: u32) -> Result<(usize, u64), TraceError> {
    let mut d = CsvDecoder::new(path, input, line)?;
    let (mut cores, mut records) = (0, 0u64);
    while let Some((core, _)) = d.next_row()? {
        cores = cores.max(core + 1);
        records += 1;
    }
    if records == 0 {
        return Err(TraceError::Empty { path: path.to_path_buf() });
    }
    Ok((cores, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn rows(text: &'static str) -> Result<Vec<(usize, Record)>, TraceError> {
        let input = Input { reader: Box::new(Cursor::new(text.as_bytes())), codec: Codec::Plain };
        let mut d = CsvDecoder::new(Path::new("t.csv"), input, 64)?;
        let mut out = Vec::new();
        while let Some(r) = d.next_row()? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn all_ops_and_defaults() {
        let text = "# comment\nop, ADDR ,core,gap,value,expected,size\n\
                    W,0x1000,0,3,42,,\nr,4096,1,,,,\nCAS,0x20,1,0,1,0x0,4\n\
                    SWAP,0x8,2,,7,,\nFADD,0x8,2,,1,,\nC,,0,120,,,\n";
        let got = rows(text).unwrap();
        let w = Record { value: Some(42), ..Record::access(TraceOp::Write, 0x1000, 8, 3) };
        assert_eq!(got[0], (0, w));
        assert_eq!(got[1], (1, Record::access(TraceOp::Read, 4096, 8, 0)));
        assert_eq!(got[2].1.op, Some(TraceOp::Cas { expected: 0 }));
        assert_eq!((got[2].1.size, got[2].1.value), (4, Some(1)));
        assert_eq!(got[3].1.op, Some(TraceOp::Swap));
        assert_eq!(got[4].1.op, Some(TraceOp::FetchAdd));
        assert_eq!(got[5], (0, Record::compute(120)));
    }

    #[test]
    fn errors_name_line_column_and_text() {
        let e = rows("core,op,addr\n0,R,0x10\n0,Q,0x10\n").unwrap_err();
        assert_eq!(e.to_string(), "t.csv:3: expected op: R, W, SWAP, FADD, CAS or C, found \"Q\"");
        let e = rows("core,op,addr\n0,R,0x10\n0,R\n").unwrap_err().to_string();
        assert!(e.starts_with("t.csv:3: expected 3 fields"), "{e}");
        let e = rows("core,op,address\n").unwrap_err().to_string();
        assert!(e.starts_with("t.csv:1: expected a header"), "{e}");
        assert!(rows("core,op,addr,expected\n0,CAS,0x10,\n").is_err());
        assert!(rows("core,op,addr,expected\n0,R,0x10,5\n").is_err());
        assert!(rows("core,op,addr\n1024,R,0x10\n").is_err());
        assert!(rows("core,op,addr\n0,R,\n").is_err());
        assert!(matches!(rows(""), Err(TraceError::Empty { .. })));
        let e = rows("core,op,addr,size\n0,R,0x10,0\n").unwrap_err().to_string();
        assert!(e.contains("at least 1 byte"), "{e}");
        let e = rows("core,op,addr,size\n0,R,0x10,99999999999\n").unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
        let e = rows("core,op,addr,size\n0,R,0x10,999999999999999999999999\n").unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
        let e = rows("core,op,addr,size\n0,R,0xfffffffffffffffc,8\n").unwrap_err().to_string();
        assert!(e.starts_with("t.csv:2:") && e.contains("wraps"), "{e}");
        let e = rows("core,op,addr,size,value\n0,SWAP,0x3c,8,1\n").unwrap_err().to_string();
        assert!(e.contains("spans two"), "{e}");
    }

    #[test]
    fn a_core_whose_cycles_add_up_past_2_52_is_refused_at_that_row() {
        let e = rows("core,op,addr,gap\n0,R,0x10,18446744073709551615\n").unwrap_err().to_string();
        assert!(e.starts_with("t.csv:2: expected compute cycles that add up"), "{e}");
        let two_63 = "core,op,addr,gap\n0,R,0x10,9223372036854775808\n1,R,0x10,0\n0,R,0x10,9223372036854775808\n";
        assert!(rows(two_63).unwrap_err().to_string().starts_with("t.csv:2:"));
        // Per core: two cores may each reach the bound.
        let each = "core,op,addr,gap\n0,R,0x10,4503599627370496\n1,R,0x10,4503599627370496\n0,C,,1\n";
        assert!(rows(each).unwrap_err().to_string().starts_with("t.csv:4:"));
    }

    #[test]
    fn a_row_that_spans_lines_is_one_record_per_line() {
        let got = rows("core,op,addr,size,gap,value\n1,W,0x103c,8,5,7\n0,R,0x1000,,,\n").unwrap();
        let first = Record { value: Some(7), ..Record::access(TraceOp::Write, 0x103c, 4, 5) };
        assert_eq!(
            got,
            [
                (1, first),
                (1, Record::access(TraceOp::Write, 0x1040, 4, 0)),
                (0, Record::access(TraceOp::Read, 0x1000, 8, 0))
            ]
        );
    }
}
