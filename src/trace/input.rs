//! Opening trace files: the compression layer is chosen from the file's first
//! bytes (gzip `1f 8b`, zstd `28 b5 2f fd`), never from its name, so a renamed
//! or extension-less compressed trace still reads, and a `.gz` that is really
//! plain text does too. Everything above this module sees plain bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::error::{Codec, TraceError};

/// Size of the buffer between the file and the decompressor (or the line
/// reader, for plain files). Large enough that a read syscall costs little per
/// record; small enough that four streams stay far below the memory target.
pub(crate) const IO_BUF: usize = 64 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A trace file's decompressed bytes.
pub(crate) struct Input {
    pub reader: Box<dyn Read + Send>,
    pub codec: Codec,
}

/// Which codec a file starting with `head` uses.
pub(crate) fn sniff(head: &[u8]) -> Codec {
    if head.starts_with(&GZIP_MAGIC) {
        Codec::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Codec::Zstd
    } else {
        Codec::Plain
    }
}

/// Opens `path` and stacks the right decompressor on it.
pub(crate) fn open(path: &Path) -> Result<Input, TraceError> {
    let file = File::open(path).map_err(|e| TraceError::open(path, e))?;
    let meta = file.metadata().map_err(|e| TraceError::open(path, e))?;
    if meta.is_dir() {
        return Err(TraceError::open(path, io::Error::other("is a directory, not a trace file")));
    }
    let mut buf = BufReader::with_capacity(IO_BUF, file);
    let codec = sniff(buf.fill_buf().map_err(|e| TraceError::open(path, e))?);
    let reader: Box<dyn Read + Send> = match codec {
        Codec::Plain => Box::new(buf),
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf).map_err(|e| TraceError::open(path, e))?),
    };
    Ok(Input { reader, codec })
}

/// The first `max` decompressed bytes of `path` (fewer if the file is
/// shorter), for format detection and header checks.
pub(crate) fn head(path: &Path, max: usize) -> Result<(Vec<u8>, Codec), TraceError> {
    let input = open(path)?;
    let mut out = Vec::with_capacity(max.min(IO_BUF));
    input.reader.take(max as u64).read_to_end(&mut out).map_err(|e| TraceError::read(path, input.codec, 1, e))?;
    Ok((out, input.codec))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
/// (`read_exact` would not tell how far a truncated file got.)
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
