//! `LineReader`: the allocation-free line splitter under every text format.
//!
//! It reads the decompressed input in large blocks into one reusable buffer
//! and hands out each line as a borrowed slice (without its `\n`, and without
//! a trailing `\r`), numbered from 1. No `String`, no per-line allocation: the
//! parsers above it work on bytes. Also home to the small byte-level number
//! parsers those formats share.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::error::{Codec, MAX_LINE, TraceError};
use super::input::{IO_BUF, Input};

// A line may not outgrow the buffer (`refill` relies on room after it).
const _: () = assert!(MAX_LINE < 2 * IO_BUF);

pub(crate) struct LineReader {
    src: Box<dyn Read + Send>,
    codec: Codec,
    path: PathBuf,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    /// Number of the line most recently returned.
    line: u64,
    eof: bool,
}

impl LineReader {
    pub fn new(path: &Path, input: Input) -> Self {
        LineReader {
            src: input.reader,
            codec: input.codec,
            path: path.to_path_buf(),
            buf: vec![0; 2 * IO_BUF],
            pos: 0,
            end: 0,
            line: 0,
            eof: false,
        }
    }

    /// The unread part of the buffer, which may end mid-line: parsers with a
    /// fused fast path read a line straight from it and then `skip_line`.
    #[inline]
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Consumes a line of `n` bytes (its newline included) from `buffered`.
    #[inline]
    pub fn skip_line(&mut self, n: usize) {
        self.pos += n;
        self.line += 1;
    }

    /// The next line and its 1-based number, or `None` at the end of input.
    #[inline]
    pub fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, TraceError> {
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = avail.iter().position(|&b| b == b'\n') {
                let start = self.pos;
                self.pos += i + 1;
                self.line += 1;
                return Ok(Some((self.line, trim_cr(&self.buf[start..start + i]))));
            }
            if self.eof {
                if self.pos == self.end {
                    return Ok(None);
                }
                // Last line without a newline.
                let start = self.pos;
                self.pos = self.end;
                self.line += 1;
                return Ok(Some((self.line, trim_cr(&self.buf[start..self.end]))));
            }
            self.refill()?;
        }
    }

    /// Moves the partial line to the front and reads more after it.
    #[cold]
    fn refill(&mut self) -> Result<(), TraceError> {
        if self.end - self.pos > MAX_LINE {
            return Err(TraceError::LineTooLong { path: self.path.clone(), line: self.line + 1 });
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(TraceError::read(&self.path, self.codec, self.line + 1, e));
                }
            }
        }
    }
}

#[inline]
fn trim_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

/// Value of each byte as a hex digit, or 0xff.
pub(crate) static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Bare hex digits (no prefix) to `u64`; `None` if empty, not hex, or too big.
#[inline]
pub(crate) fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        let d = HEX[b as usize];
        if d == 0xff || v >> 60 != 0 {
            return None;
        }
        v = (v << 4) | d as u64;
    }
    Some(v)
}

/// Decimal digits to `u64`; `None` if empty, not decimal, or too big.
#[inline]
pub(crate) fn parse_dec(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

/// `0x`-prefixed hex or plain decimal.
pub(crate) fn parse_num(text: &[u8]) -> Option<u64> {
    match text {
        [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex),
        _ => parse_dec(text),
    }
}

/// Hex with an optional `0x` prefix.
#[inline]
pub(crate) fn parse_hex_opt_prefix(text: &[u8]) -> Option<u64> {
    match text {
        [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex),
        _ => parse_hex(text),
    }
}

/// Splits off the first whitespace-separated token: `(token, rest)`, with
/// leading blanks of both removed. `token` is empty if `s` is blank.
#[inline]
pub(crate) fn token(s: &[u8]) -> (&[u8], &[u8]) {
    let s = s.trim_ascii_start();
    let n = s.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(s.len());
    (&s[..n], s[n..].trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(bytes: &'static [u8]) -> LineReader {
        LineReader::new(Path::new("t"), Input { reader: Box::new(Cursor::new(bytes)), codec: Codec::Plain })
    }

    #[test]
    fn splits_lines_with_and_without_final_newline() {
        let mut r = reader(b"a\r\nbb\n\nccc");
        let mut got = Vec::new();
        while let Some((n, l)) = r.next_line().unwrap() {
            got.push((n, l.to_vec()));
        }
        assert_eq!(got, vec![(1, b"a".to_vec()), (2, b"bb".to_vec()), (3, b"".to_vec()), (4, b"ccc".to_vec())]);
    }

    #[test]
    fn overlong_line_is_an_error_not_a_hang() {
        let big: &'static [u8] = Box::leak(vec![b'x'; 3 * MAX_LINE].into_boxed_slice());
        let mut r = reader(big);
        assert!(matches!(r.next_line(), Err(TraceError::LineTooLong { line: 1, .. })));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_hex(b"817ae8"), Some(0x817ae8));
        assert_eq!(parse_hex(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_hex(b"00000000000000000001"), Some(1));
        assert_eq!(parse_hex(b"1ffffffffffffffff"), None);
        assert_eq!(parse_hex(b""), None);
        assert_eq!(parse_hex(b"g"), None);
        assert_eq!(parse_dec(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_dec(b"18446744073709551616"), None);
        assert_eq!(parse_num(b"0x10"), Some(16));
        assert_eq!(parse_num(b"10"), Some(10));
        assert_eq!(parse_num(b"0x"), None);
        assert_eq!(token(b"  ab  cd e"), (&b"ab"[..], &b"cd e"[..]));
        assert_eq!(token(b"   "), (&b""[..], &b""[..]));
    }
}
