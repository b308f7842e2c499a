//! `TraceError`: every way reading or writing a trace can fail, each with the
//! file it concerns and, where there is one, the position (1-based line for
//! text, byte offset for the binary format) and what was expected there.
//!
//! Errors are `Clone` (I/O causes are shared through `Arc`) because a decoder
//! thread hands its error to every core stream it feeds, and a stream that has
//! failed keeps returning the same error instead of looking finished.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Format;

/// The most cores a trace may name. Far beyond any machine cohsim models; it
/// only stops a corrupt core column from allocating millions of streams.
pub const MAX_CORES: usize = 1024;

/// Longest text line accepted (bytes). Real lines are ~10–40 bytes; this only
/// bounds memory when a binary file is read as text.
pub const MAX_LINE: usize = 1 << 16;

/// Compression layer of an input file, detected from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Plain,
    Gzip,
    Zstd,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Plain => "plain",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        })
    }
}

/// What is wrong at a byte offset of a binary (`bin`) trace.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BinErrorKind {
    #[error("not a cohsim binary trace (bad magic)")]
    BadMagic,
    #[error("unsupported binary trace version {0} (this build reads version 1)")]
    UnsupportedVersion(u16),
    #[error(
        "unsupported flags {0:#06x} (known: bit 0, reuse distances, with bits 8-15 their line size's log2, at most 16; bit 1, with bit 0: accesses split at that line size)"
    )]
    UnsupportedFlags(u16),
    #[error("core count {0} is not between 1 and {MAX_CORES}")]
    BadCoreCount(u32),
    #[error("core {core}'s section does not start where the previous one ends")]
    BadSectionTable { core: usize },
    #[error("truncated: file ends before {0}")]
    Truncated(&'static str),
    #[error("trailing bytes after the last core's section")]
    TrailingBytes,
    #[error("corrupt record: {0}")]
    Corrupt(&'static str),
    #[error("core {core}'s section holds {found} records, the header says {expected}")]
    CountMismatch { core: usize, expected: u64, found: u64 },
}

#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    #[error("no trace files given")]
    NoPaths,

    #[error("line size {0} is not a power of two between 1 and 65536")]
    BadLineSize(u32),

    #[error("{}: cannot open: {source}", path.display())]
    Open { path: PathBuf, source: Arc<io::Error> },

    #[error(
        "{p}: no such file, and no per-core files {p}_0.data, {p}_1.data, ... \
         (optionally .gz or .zst) either",
        p = prefix.display()
    )]
    NoTraceFiles { prefix: PathBuf },

    #[error(
        "{}: is a directory, not a trace file, and holds no per-core files {p}_0.data, {p}_1.data, ... \
         (optionally .gz or .zst) to read as one",
        dir.display(),
        p = prefix.display()
    )]
    DirectoryWithoutTraces { dir: PathBuf, prefix: PathBuf },

    #[error("{}: per-core files found for cores up to {last}, but core {missing}'s is missing", prefix.display())]
    PrefixGap { prefix: PathBuf, missing: usize, last: usize },

    #[error("{}: core {core} has several files ({first} and {second}); keep one", prefix.display())]
    PrefixAmbiguous { prefix: PathBuf, core: usize, first: String, second: String },

    #[error("{}: read error near line {line}: {source}", path.display())]
    Read { path: PathBuf, line: u64, source: Arc<io::Error> },

    #[error("{}: corrupt or truncated {codec} stream near line {line}: {source}", path.display())]
    Decompress { path: PathBuf, codec: Codec, line: u64, source: Arc<io::Error> },

    #[error("{}:{line}: expected {expected}, found \"{found}\"", path.display())]
    Parse { path: PathBuf, line: u64, expected: Cow<'static, str>, found: String },

    #[error("{}:{line}: line longer than {MAX_LINE} bytes (is this really a text trace?)", path.display())]
    LineTooLong { path: PathBuf, line: u64 },

    #[error("{}: empty trace: no records", path.display())]
    Empty { path: PathBuf },

    #[error("{}: cannot detect the trace format: {reason}; pass --format", path.display())]
    Detect { path: PathBuf, reason: String },

    #[error("{}: looks like {found}, but {} looks like {expected}; all files must share one format", path.display(), first.display())]
    MixedFormats { path: PathBuf, found: Format, first: PathBuf, expected: Format },

    #[error(
        "{}: its accesses that spanned {split}-byte lines were stored split, so it replays exactly only with \
         lines of at most {split} bytes, not {line}; convert the original trace again with --line {line}",
        path.display()
    )]
    SplitFiner { path: PathBuf, split: u32, line: u32 },

    #[error("{format} traces are one file holding every core, but {count} files were given")]
    FileCount { format: Format, count: usize },

    #[error("{count} per-core files given; a trace has at most {MAX_CORES} cores")]
    TooManyCores { count: usize },

    #[error("{}: byte {offset}: {kind}", path.display())]
    Bin { path: PathBuf, offset: u64, kind: BinErrorKind },

    /// A well-formed bin record a replay cannot take (its byte offset is not
    /// kept once decoded, so the record is named by its place in its core).
    #[error("{}: core {core}'s record {index} (counting from 0): expected {what}", path.display())]
    BinRecord { path: PathBuf, core: usize, index: u64, what: &'static str },

    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: Arc<io::Error> },

    #[error("{}: {format} cannot represent core {core}'s record {index}: {what}", path.display())]
    Unrepresentable { path: PathBuf, format: Format, core: usize, index: u64, what: &'static str },

    #[error("{}: core {core} appeared after the trace was opened with {cores} cores (file changed?)", path.display())]
    CoreOutOfRange { path: PathBuf, core: usize, cores: usize },

    #[error("cannot start a trace decoder thread: {source}")]
    Thread { source: Arc<io::Error> },

    #[error("core {core}: the trace decoder stopped without reporting an error (bug)")]
    DecoderLost { core: usize },
}

impl TraceError {
    pub(crate) fn open(path: &Path, e: io::Error) -> Self {
        TraceError::Open { path: path.to_path_buf(), source: Arc::new(e) }
    }

    pub(crate) fn write(path: &Path, e: io::Error) -> Self {
        TraceError::Write { path: path.to_path_buf(), source: Arc::new(e) }
    }

    /// A read failure while decoding: blamed on the compressed stream when
    /// there is one (that is nearly always the cause), on the file otherwise.
    pub(crate) fn read(path: &Path, codec: Codec, line: u64, e: io::Error) -> Self {
        let path = path.to_path_buf();
        let source = Arc::new(e);
        match codec {
            Codec::Plain => TraceError::Read { path, line, source },
            codec => TraceError::Decompress { path, codec, line, source },
        }
    }

    pub(crate) fn parse(path: &Path, line: u64, expected: impl Into<Cow<'static, str>>, found: &[u8]) -> Self {
        TraceError::Parse { path: path.to_path_buf(), line, expected: expected.into(), found: excerpt(found) }
    }

    pub(crate) fn bin(path: &Path, offset: u64, kind: BinErrorKind) -> Self {
        TraceError::Bin { path: path.to_path_buf(), offset, kind }
    }
}

/// The offending text as it will be quoted in a message: at most 60
/// characters, invalid UTF-8 replaced, control characters escaped.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * MAX)]);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX {
            out.push('…');
            return out;
        }
        if c.is_control() || c == '"' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if bytes.len() > 4 * MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_truncates_and_escapes() {
        assert_eq!(excerpt(b"7 0x12"), "7 0x12");
        assert_eq!(excerpt(b"a\tb\"\xff"), "a\\tb\\\"\u{fffd}");
        let long = [b'x'; 100];
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), 61);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn parse_error_names_file_line_and_expectation() {
        let e = TraceError::parse(
            Path::new("blackscholes_0.data"),
            1234,
            "\"<label> <hex value>\" with label 0, 1 or 2",
            b"7 0x12",
        );
        assert_eq!(
            e.to_string(),
            "blackscholes_0.data:1234: expected \"<label> <hex value>\" with label 0, 1 or 2, found \"7 0x12\""
        );
    }
}
