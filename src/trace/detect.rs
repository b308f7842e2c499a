//! `--format auto`: telling the formats apart from a file's first bytes
//! (after decompression) and, for din, its name.
//!
//! A UTF-8 byte-order mark at the start is skipped. The rule, first match wins:
//!
//! 1. The bin magic `\xC5COHTR\r\n` at offset 0 → `bin`.
//! 2. A name ending in `.din` (before any `.gz`/`.zst`) → `din`.
//! 3. The first line that is neither blank nor a `#` comment starts with `==` or `--` (Valgrind's banner)
//!    → `lackey`; or its comma-separated fields include `core`, `op` and
//!    `addr` (any case) → `csv`.
//! 4. Otherwise each of the first 64 such lines votes: `I  <hex>,<n>` or
//!    ` L|S|M <hex>,<n>` for `lackey`; `<digit> 0x<hex>` for `cs4223`;
//!    `<digit> <hex>` (bare hex, maybe more fields) for `din`. The format
//!    with most votes wins; no votes or a tie is an error asking for
//!    `--format`. So cs4223 and din, both `<label> <value>`, are told apart
//!    by the `0x` prefix the course format always writes and Dinero never
//!    does; a din trace written with `0x` needs a `.din` name or `--format`.

use std::path::Path;

use super::Format;
use super::bin::MAGIC;
use super::error::{TraceError, excerpt};
use super::lines::{parse_dec, parse_hex, token};

/// How much decompressed input detection looks at.
pub(crate) const HEAD_BYTES: usize = 64 * 1024;
const VOTING_LINES: usize = 64;

pub(crate) fn detect(path: &Path, head: &[u8]) -> Result<Format, TraceError> {
    if head.starts_with(&MAGIC) {
        return Ok(Format::Bin);
    }
    let name = path.to_string_lossy();
    let name = name.trim_end_matches(".gz").trim_end_matches(".zst");
    if name.ends_with(".din") {
        return Ok(Format::Din);
    }
    // A UTF-8 byte-order mark (spreadsheets write one) is not part of the text.
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // Only complete lines count, unless the head is the whole file.
    let text = if head.len() == HEAD_BYTES {
        head.iter().rposition(|&b| b == b'\n').map_or(head, |i| &head[..i])
    } else {
        head
    };
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty() && !l.starts_with(b"#"));
    let fail = |reason: String| TraceError::Detect { path: path.to_path_buf(), reason };
    let Some(first) = lines.clone().next() else {
        return Err(fail("no text lines at the start of the file".into()));
    };
    if first.starts_with(b"==") || first.starts_with(b"--") {
        return Ok(Format::Lackey);
    }
    if is_csv_header(first) {
        return Ok(Format::Csv);
    }
    let mut votes = [0usize; 3]; // lackey, cs4223, din
    for line in lines.by_ref().take(VOTING_LINES) {
        if let Some(i) = vote(line) {
            votes[i] += 1;
        }
    }
    let best = *votes.iter().max().unwrap_or(&0);
    if best == 0 {
        return Err(fail(format!(
            "the first line \"{}\" is not a csv header, cs4223, din or lackey line",
            excerpt(first)
        )));
    }
    if votes.iter().filter(|&&v| v == best).count() > 1 {
        return Err(fail(format!(
            "the first lines are equally like lackey ({}), cs4223 ({}) and din ({})",
            votes[0], votes[1], votes[2]
        )));
    }
    let formats = [Format::Lackey, Format::Cs4223, Format::Din];
    Ok(formats[votes.iter().position(|&v| v == best).unwrap_or(0)])
}

fn is_csv_header(line: &[u8]) -> bool {
    let mut need = [false; 3];
    for field in line.split(|&b| b == b',') {
        match field.trim_ascii().to_ascii_lowercase().as_slice() {
            b"core" => need[0] = true,
            b"op" => need[1] = true,
            b"addr" => need[2] = true,
            _ => {}
        }
    }
    need == [true; 3]
}

/// Which format a line looks like: 0 lackey, 1 cs4223, 2 din.
fn vote(line: &[u8]) -> Option<usize> {
    if let Some(rest) = line
        .strip_prefix(b"I ")
        .or_else(|| line.strip_prefix(b" L "))
        .or_else(|| line.strip_prefix(b" S "))
        .or_else(|| line.strip_prefix(b" M "))
    {
        let rest = rest.trim_ascii();
        let comma = rest.iter().position(|&b| b == b',')?;
        parse_hex(&rest[..comma])?;
        parse_dec(&rest[comma + 1..])?;
        return Some(0);
    }
    let (label, rest) = token(line);
    if label.len() != 1 || !label[0].is_ascii_digit() {
        return None;
    }
    let (value, rest) = token(rest);
    match value {
        [b'0', b'x' | b'X', hex @ ..] if rest.is_empty() => parse_hex(hex).map(|_| 1),
        _ => parse_hex(value).map(|_| 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str, text: &str) -> Result<Format, TraceError> {
        detect(Path::new(name), text.as_bytes())
    }

    #[test]
    fn each_format() {
        assert_eq!(d("x", "0 0x817ae8\n2 0x1b\n").unwrap(), Format::Cs4223);
        assert_eq!(d("x", "2 400100\n0 7fff0010\n").unwrap(), Format::Din);
        assert_eq!(d("x.din.gz", "0 0x10\n").unwrap(), Format::Din);
        assert_eq!(d("x", "==1== Lackey\nI  0400,3\n").unwrap(), Format::Lackey);
        assert_eq!(d("x", "I  04000800,3\n L 7ff000398,8\n").unwrap(), Format::Lackey);
        assert_eq!(d("x", "\n Core, OP,addr,size\n0,R,1,4\n").unwrap(), Format::Csv);
        let mut bin = MAGIC.to_vec();
        bin.extend_from_slice(b"rest");
        assert_eq!(detect(Path::new("x"), &bin).unwrap(), Format::Bin);
    }

    #[test]
    fn majority_and_failures() {
        assert_eq!(d("x", "0 0x1\n0 0x2\n2 10\n").unwrap(), Format::Cs4223);
        assert!(d("x", "0 0x1\n0 2\n").is_err()); // tie
        let e = d("trace.txt", "hello world\n").unwrap_err().to_string();
        assert!(e.contains("trace.txt") && e.contains("hello world") && e.contains("--format"), "{e}");
        assert!(d("x", "\n\n").is_err());
    }
}
