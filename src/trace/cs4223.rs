//! The course (CS4223) per-core trace format: one `<label> <value>` line per
//! event, values in `0x` hex.
//!
//! | line     | meaning                                         |
//! |----------|-------------------------------------------------|
//! | `0 ADDR` | load of the word at byte address ADDR            |
//! | `1 ADDR` | store to ADDR                                    |
//! | `2 N`    | N compute cycles before the core's next record  |
//!
//! Compute lines accumulate into the next access's `gap`; a compute run at the
//! end of the file becomes one `Record::compute`. The format has no access
//! size: each record is one reference to the line holding its address, as in
//! the course's simulators, so records get [`SIZE`] = 1 byte and never span
//! lines. (A fixed wider size would be wrong where the traces record byte
//! accesses: bodytrack's core 2 walks a string through `0x7fd635fd`, `…fe`,
//! `…ff`; a 4-byte word there would invent references to the next line.)
//! The reader also
//! accepts values without `0x`, blank lines, tabs and CRLF line ends.
//!
//! Canonical lines (`d 0x…\n`) are parsed in one pass straight from the read
//! buffer; anything else (and a line cut by the buffer's end) goes line by
//! line through a general tokenising parser, which also words the errors.

use std::path::{Path, PathBuf};

use super::error::TraceError;
use super::input::Input;
use super::lines::{HEX, LineReader, parse_hex, parse_hex_opt_prefix, token};
use super::record::{TOO_MANY_CYCLES, add_cycles};
use super::stream::CoreDecoder;
use super::{Record, TraceOp};

/// Access size given to every cs4223 record: one byte, the address the line
/// names (see the module comment).
pub const SIZE: u32 = 1;

const EXPECTED: &str = "\"<label> <hex value>\" with label 0 (load), 1 (store) or 2 (compute cycles)";

enum Line {
    Access(TraceOp, u64),
    Compute(u64),
    Blank,
}

#[inline]
fn classify(label: u8, v: u64) -> Option<Line> {
    match label {
        b'0' => Some(Line::Access(TraceOp::Read, v)),
        b'1' => Some(Line::Access(TraceOp::Write, v)),
        b'2' => Some(Line::Compute(v)),
        _ => None,
    }
}

/// The fused fast path, straight from the read buffer: a complete canonical
/// line `d 0xHEX\n` (label 0–2, 1–16 digits) at the start of `buf`, as
/// `(label, value, bytes including the newline)`. Anything else, including a
/// line cut by the end of the buffer, goes to the line-by-line path.
#[inline(always)]
fn fast_line(buf: &[u8]) -> Option<(u8, u64, usize)> {
    let [label @ b'0'..=b'2', b' ', b'0', b'x', rest @ ..] = buf else {
        return None;
    };
    let mut v = 0u64;
    for (i, &b) in rest.iter().enumerate().take(17) {
        let d = HEX[b as usize];
        if d == 0xff {
            return (b == b'\n' && i > 0 && i <= 16).then_some((*label, v, i + 5));
        }
        v = (v << 4) | u64::from(d);
    }
    None
}

#[inline]
fn parse_line(line: &[u8]) -> Option<Line> {
    // Fast path: exactly "d 0xHEX".
    if let [label, b' ', b'0', b'x', hex @ ..] = line
        && let Some(v) = parse_hex(hex)
    {
        return classify(*label, v);
    }
    parse_line_slow(line)
}

#[cold]
fn parse_line_slow(line: &[u8]) -> Option<Line> {
    let (label, rest) = token(line);
    if label.is_empty() {
        return Some(Line::Blank);
    }
    let (value, rest) = token(rest);
    match (label, rest) {
        ([l], []) => classify(*l, parse_hex_opt_prefix(value)?),
        _ => None,
    }
}

pub(crate) struct Cs4223Decoder {
    lines: LineReader,
    path: PathBuf,
    gap: u64,
    /// Compute cycles so far, the pending `gap` included.
    total: u64,
    emitted: u64,
}

impl Cs4223Decoder {
    pub fn new(path: &Path, input: Input) -> Self {
        Cs4223Decoder { lines: LineReader::new(path, input), path: path.to_path_buf(), gap: 0, total: 0, emitted: 0 }
    }

    fn decode(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        while out.len() < max {
            if let Some((label, v, n)) = fast_line(self.lines.buffered()) {
                let op = match label {
                    b'0' => Some(TraceOp::Read),
                    b'1' => Some(TraceOp::Write),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(Record::access(op, v, SIZE, self.gap));
                    self.gap = 0;
                    self.lines.skip_line(n);
                    continue;
                } else if let Some(total) = add_cycles(self.total, v) {
                    (self.gap, self.total) = (self.gap + v, total);
                    self.lines.skip_line(n);
                    continue;
                }
                // Overflow: the line-by-line path below reports it.
            }
            let Some((no, line)) = self.lines.next_line()? else {
                if self.gap > 0 {
                    out.push(Record::compute(self.gap));
                    self.gap = 0;
                }
                return Ok(false);
            };
            match parse_line(line) {
                Some(Line::Access(op, addr)) => {
                    out.push(Record::access(op, addr, SIZE, self.gap));
                    self.gap = 0;
                }
                Some(Line::Compute(n)) => {
                    self.total = add_cycles(self.total, n)
                        .ok_or_else(|| TraceError::parse(&self.path, no, TOO_MANY_CYCLES, line))?;
                    self.gap += n;
                }
                Some(Line::Blank) => {}
                None => return Err(TraceError::parse(&self.path, no, EXPECTED, line)),
            }
        }
        Ok(true)
    }
}

impl CoreDecoder for Cs4223Decoder {
    fn fill(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        let start = out.len();
        let result = self.decode(out, max);
        super::stream::nonempty(&mut self.emitted, &self.path, out.len() - start, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::error::Codec;
    use std::io::Cursor;

    fn decode(text: &'static str) -> Result<Vec<Record>, TraceError> {
        let input = Input { reader: Box::new(Cursor::new(text.as_bytes())), codec: Codec::Plain };
        let mut d = Cs4223Decoder::new(Path::new("core_0.data"), input);
        let mut out = Vec::new();
        loop {
            let max = out.len() + 2;
            if !d.fill(&mut out, max)? {
                break;
            }
        }
        Ok(out)
    }

    #[test]
    fn compute_cycles_past_2_52_are_refused_at_their_line() {
        let e = decode("2 0xffffffffffffffff\n0 0x10\n").unwrap_err().to_string();
        assert!(e.starts_with("core_0.data:1: expected compute cycles that add up"), "{e}");
        let e = decode("2 0x8000000000000\n0 0x10\n2 0x8000000000000\n2 1\n").unwrap_err().to_string();
        assert!(e.starts_with("core_0.data:4:"), "{e}");
        assert_eq!(decode("2 0x10000000000000\n").unwrap(), [Record::compute(1 << 52)]);
    }

    #[test]
    fn compute_lines_fold_into_gaps_and_tail() {
        let got = decode("0 0x817ae8\n2 0x1b\n2 0x2\n1 0x10\n2 0x5\n").unwrap();
        assert_eq!(
            got,
            vec![
                Record::access(TraceOp::Read, 0x817ae8, 1, 0),
                Record::access(TraceOp::Write, 0x10, 1, 0x1d),
                Record::compute(5),
            ]
        );
    }

    #[test]
    fn lenient_spacing_crlf_and_no_prefix() {
        let got = decode("0\t0X1F \r\n\n  1   20\r\n").unwrap();
        assert_eq!(got, vec![Record::access(TraceOp::Read, 0x1f, 1, 0), Record::access(TraceOp::Write, 0x20, 1, 0),]);
    }

    #[test]
    fn bad_label_names_line_and_expectation() {
        let e = decode("0 0x1\n7 0x12\n").unwrap_err().to_string();
        assert_eq!(e, format!("core_0.data:2: expected {EXPECTED}, found \"7 0x12\""));
    }

    #[test]
    fn empty_and_overflow() {
        assert!(matches!(decode("\n\n"), Err(TraceError::Empty { .. })));
        // Past 2^52 compute cycles on its own: refused at its own line.
        let e = decode("2 0xffffffffffffffff\n2 0x1\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 1, .. }), "{e}");
        let e = decode("2 0xfffffffffffff\n2 0x1\n2 0x1\n").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 3, .. }), "{e}");
        assert!(decode("0 0x1 0x2\n").is_err());
        assert!(decode("0 0x\n").is_err());
        assert!(decode("00 0x1\n").is_err());
    }
}
