//! Dinero IV's `din` format, one core per file: `<label> <address>` lines with
//! the address in hex (no `0x` needed, one accepted).
//!
//! | label | meaning                                                   |
//! |-------|-----------------------------------------------------------|
//! | 0     | data read                                                 |
//! | 1     | data write                                                |
//! | 2     | instruction fetch: skipped, counted in `ifetches_skipped` |
//!
//! Labels 3 and 4 (Dinero's "escape" and "flush" records) are rejected: cohsim
//! has nothing faithful to turn them into. As in Dinero, anything after the
//! address is ignored. The format has no sizes and no timing: each record is
//! one reference to the line holding its address, as Dinero makes of it, so
//! records get [`SIZE`] = 1 byte (they never span lines) and a gap of 0.

use std::path::{Path, PathBuf};

use super::error::TraceError;
use super::input::Input;
use super::lines::{LineReader, parse_hex_opt_prefix, token};
use super::stream::CoreDecoder;
use super::{Record, TraceOp};

/// Access size given to every din record: the one byte its address names.
pub const SIZE: u32 = 1;

const EXPECTED: &str = "\"<label> <hex address>\" with label 0 (read), 1 (write) or 2 (instruction fetch)";

pub(crate) struct DinDecoder {
    lines: LineReader,
    path: PathBuf,
    ifetches: u64,
    emitted: u64,
}

impl DinDecoder {
    pub fn new(path: &Path, input: Input) -> Self {
        DinDecoder { lines: LineReader::new(path, input), path: path.to_path_buf(), ifetches: 0, emitted: 0 }
    }

    fn decode(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        while out.len() < max {
            let Some((no, line)) = self.lines.next_line()? else {
                return Ok(false);
            };
            let (label, rest) = token(line);
            if label.is_empty() {
                continue;
            }
            let (addr, _ignored) = token(rest);
            let op = match (label, parse_hex_opt_prefix(addr)) {
                (b"0", Some(a)) => Some((TraceOp::Read, a)),
                (b"1", Some(a)) => Some((TraceOp::Write, a)),
                (b"2", Some(_)) => None,
                _ => return Err(TraceError::parse(&self.path, no, EXPECTED, line)),
            };
            match op {
                Some((op, a)) => out.push(Record::access(op, a, SIZE, 0)),
                None => self.ifetches += 1,
            }
        }
        Ok(true)
    }
}

impl CoreDecoder for DinDecoder {
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

    fn decode(text: &'static str) -> Result<(Vec<Record>, u64), TraceError> {
        let input = Input { reader: Box::new(Cursor::new(text.as_bytes())), codec: Codec::Plain };
        let mut d = DinDecoder::new(Path::new("t.din"), input);
        let mut out = Vec::new();
        loop {
            let max = out.len() + 3;
            if !d.fill(&mut out, max)? {
                break;
            }
        }
        Ok((out, d.ifetches()))
    }

    #[test]
    fn reads_writes_and_skipped_fetches() {
        let (got, fetches) = decode("2 400100\n0 7fff0010 extra\n2 400104\n1 0x20\n").unwrap();
        assert_eq!(
            got,
            vec![Record::access(TraceOp::Read, 0x7fff0010, 1, 0), Record::access(TraceOp::Write, 0x20, 1, 0),]
        );
        assert_eq!(fetches, 2);
    }

    #[test]
    fn errors() {
        let e = decode("0 10\n4 10\n").unwrap_err().to_string();
        assert_eq!(e, format!("t.din:2: expected {EXPECTED}, found \"4 10\""));
        assert!(matches!(decode("0 zz"), Err(TraceError::Parse { line: 1, .. })));
        assert!(matches!(decode("2 10\n"), Err(TraceError::Empty { .. })));
    }
}
