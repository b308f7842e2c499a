//! Valgrind Lackey (`valgrind --tool=lackey --trace-mem=yes`) output, one
//! core per file:
//!
//! ```text
//! ==1234== Lackey, an example Valgrind tool
//! I  04000800,3
//!  L 7ff000398,8
//!  S 04016a10,8
//!  M 0421c4a0,4
//! ```
//!
//! `L` is a load, `S` a store, `M` a modify: a load then a store of the same
//! bytes. Addresses are hex without `0x`, sizes decimal (1 to [`MAX_ACCESS`]).
//! `I` lines are instruction fetches: counted in `ifetches_skipped`, not
//! replayed. Lines starting with `==` or `--` (Valgrind's own messages) and
//! blank lines are skipped.
//!
//! A cache sees an access that straddles a line boundary as one access per
//! line, so such an access becomes one record per line touched, each with the
//! bytes that fall in its line; this is why the decoder takes the line size.
//! Lackey has no timing: every gap is 0.

use std::path::{Path, PathBuf};

use super::error::TraceError;
use super::input::Input;
use super::lines::{LineReader, parse_dec, parse_hex};
use super::record::{SplitError, push_split};
use super::stream::CoreDecoder;
use super::{Record, TraceOp};

pub use super::record::MAX_ACCESS;

pub(crate) const EXPECTED: &str = "a Lackey line \"I  <hex addr>,<size>\" or \" L|S|M <hex addr>,<size>\" \
     with a size from 1 to 4096";

pub(crate) enum Line {
    Fetch,
    Data { load: bool, store: bool, addr: u64, size: u64 },
    Skip,
}

pub(crate) fn parse_line(line: &[u8]) -> Option<Line> {
    if line.starts_with(b"==") || line.starts_with(b"--") {
        return Some(Line::Skip);
    }
    let s = line.trim_ascii_start();
    let Some((&kind, rest)) = s.split_first() else {
        return Some(Line::Skip);
    };
    // Valgrind puts instruction lines at column 0 and data lines after a
    // space; either way the kind letter is followed by blanks.
    if !rest.first()?.is_ascii_whitespace() {
        return None;
    }
    let rest = rest.trim_ascii();
    let comma = rest.iter().position(|&b| b == b',')?;
    let addr = parse_hex(&rest[..comma])?;
    let size = parse_dec(&rest[comma + 1..])?;
    let (load, store) = match kind {
        b'I' => return Some(Line::Fetch),
        b'L' => (true, false),
        b'S' => (false, true),
        b'M' => (true, true),
        _ => return None,
    };
    Some(Line::Data { load, store, addr, size })
}

pub(crate) struct LackeyDecoder {
    lines: LineReader,
    path: PathBuf,
    line_size: u64,
    ifetches: u64,
    emitted: u64,
}

impl LackeyDecoder {
    /// `line_size` must be a power of two (checked by `trace::open`).
    pub fn new(path: &Path, input: Input, line_size: u32) -> Self {
        LackeyDecoder {
            lines: LineReader::new(path, input),
            path: path.to_path_buf(),
            line_size: u64::from(line_size.max(1)),
            ifetches: 0,
            emitted: 0,
        }
    }

    fn decode(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        while out.len() < max {
            let Some((no, line)) = self.lines.next_line()? else {
                return Ok(false);
            };
            match parse_line(line) {
                Some(Line::Data { load, store, addr, size }) => {
                    // A size beyond 32 bits is too large all the same.
                    let size = u32::try_from(size).unwrap_or(u32::MAX);
                    let bad = |e: SplitError| TraceError::parse(&self.path, no, e.describe(), line);
                    if load {
                        push_split(out, Record::access(TraceOp::Read, addr, size, 0), self.line_size).map_err(bad)?;
                    }
                    if store {
                        push_split(out, Record::access(TraceOp::Write, addr, size, 0), self.line_size).map_err(bad)?;
                    }
                }
                Some(Line::Fetch) => self.ifetches += 1,
                Some(Line::Skip) => {}
                None => return Err(TraceError::parse(&self.path, no, EXPECTED, line)),
            }
        }
        Ok(true)
    }
}

impl CoreDecoder for LackeyDecoder {
    fn fill(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        let start = out.len();
        let result = self.decode(out, max);
        super::stream::nonempty(&mut self.emitted, &self.path, out.len() - start, result)
    }

    fn ifetches(&self) -> u64 {
        self.ifetches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::error::Codec;
    use std::io::Cursor;

    fn decode(text: &'static str, line: u32) -> Result<(Vec<Record>, u64), TraceError> {
        let input = Input { reader: Box::new(Cursor::new(text.as_bytes())), codec: Codec::Plain };
        let mut d = LackeyDecoder::new(Path::new("t.lackey"), input, line);
        let mut out = Vec::new();
        loop {
            let max = out.len() + 2;
            if !d.fill(&mut out, max)? {
                break;
            }
        }
        Ok((out, d.ifetches()))
    }

    #[test]
    fn modify_and_line_crossing() {
        let text = "==42== Lackey\nI  04000800,3\n L 1000,8\n M 103c,8\n==42== done\n";
        let (got, fetches) = decode(text, 64).unwrap();
        let r = |a, s| Record::access(TraceOp::Read, a, s, 0);
        let w = |a, s| Record::access(TraceOp::Write, a, s, 0);
        assert_eq!(got, vec![r(0x1000, 8), r(0x103c, 4), r(0x1040, 4), w(0x103c, 4), w(0x1040, 4)]);
        assert_eq!(fetches, 1);
    }

    #[test]
    fn the_top_of_the_address_space() {
        let (got, _) = decode(" L fffffffffffffff8,8\n", 64).unwrap();
        assert_eq!(got, vec![Record::access(TraceOp::Read, u64::MAX - 7, 8, 0)]);
        let e = decode(" L fffffffffffffffc,8\n", 64).unwrap_err().to_string();
        assert!(e.starts_with("t.lackey:1: expected an access that ends within the address space"), "{e}");
        assert!(e.contains("wraps"), "{e}");
    }

    #[test]
    fn errors() {
        let e = decode(" L 10,8\n X 10,8\n", 64).unwrap_err().to_string();
        assert!(e.starts_with("t.lackey:2: expected a Lackey line"), "{e}");
        assert!(e.ends_with("found \" X 10,8\""), "{e}");
        assert!(decode(" L 10,0\n", 64).is_err());
        assert!(decode(" L 10\n", 64).is_err());
        assert!(decode(" L10,4\n", 64).is_err());
        assert!(matches!(decode("==1== only\nI  10,4\n", 64), Err(TraceError::Empty { .. })));
    }
}
