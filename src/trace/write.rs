//! Writing traces (for `cohsim convert` and `cohsim gen`).
//!
//! Output is written to a hidden temporary file in the destination's
//! directory and renamed into place only when complete, so an interrupted or
//! failed write never leaves a file that looks finished. Per-core formats
//! rename their files only after every core's file is written.
//!
//! Destinations: `csv` and `bin` write the one file named. The per-core text
//! formats take a *prefix* `P` and write `P_0.data`, `P_1.data`, … (`.din`
//! for din, `.lackey` for lackey) — the form `trace::open` expands back. A
//! `csv` path or prefix ending in `.gz` or `.zst` is compressed accordingly
//! (for per-core formats the suffix moves to each file: `P.gz` writes
//! `P_0.data.gz`, …). `bin` is written uncompressed (its table is patched in
//! place at the end).
//!
//! What each format keeps: `csv` and `bin` keep every field exactly. The
//! text formats cannot express atomics (an error) and silently lose what they
//! have no field for, counted in [`Lossy`]: cs4223 keeps ops, addresses and
//! gaps, and drops values and sizes other than 4; din and lackey also drop
//! gaps and compute-only records; din drops sizes other than 4, lackey
//! rejects sizes of 0 or above 4096.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::bin_write::BinWriter;
use super::error::{Codec, MAX_CORES, TraceError};
use super::input::IO_BUF;
use super::stream::CoreStream;
use super::{Format, Record, TraceOp};

/// Fields a format could not hold, counted per record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lossy {
    /// Records whose non-zero gap was dropped.
    pub gaps: u64,
    /// Records whose size was not the format's fixed size.
    pub sizes: u64,
    /// Records whose value was dropped.
    pub values: u64,
    /// Compute-only records dropped.
    pub compute_only: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub files: Vec<PathBuf>,
    pub records: u64,
    pub lossy: Lossy,
}

/// A temporary output file that becomes `dest` on `commit`, and is removed
/// if dropped uncommitted.
pub(crate) struct TempOut {
    tmp: PathBuf,
    dest: PathBuf,
    armed: bool,
}

impl TempOut {
    pub fn create(dest: &Path) -> Result<(Self, File), TraceError> {
        let name = dest.file_name().ok_or_else(|| TraceError::write(dest, io::Error::other("not a file name")))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = dest.with_file_name(tmp_name);
        let file = File::create(&tmp).map_err(|e| TraceError::write(dest, e))?;
        let out = TempOut { tmp, dest: dest.to_path_buf(), armed: true };
        Ok((out, file))
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes `file` to disk and renames it into place.
    pub fn commit(self, file: File) -> Result<(), TraceError> {
        self.sync(file)?;
        self.rename()
    }

    /// Flushes `file` to disk and closes it.
    fn sync(&self, file: File) -> Result<(), TraceError> {
        file.sync_all().map_err(|e| TraceError::write(&self.dest, e))
    }

    fn rename(mut self) -> Result<(), TraceError> {
        fs::rename(&self.tmp, &self.dest).map_err(|e| TraceError::write(&self.dest, e))?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A text output: plain, gzip or zstd over a temporary file.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Sink {
    fn new(file: File, codec: Codec) -> io::Result<Self> {
        let w = BufWriter::with_capacity(IO_BUF, file);
        Ok(match codec {
            Codec::Plain => Sink::Plain(w),
            Codec::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(w, flate2::Compression::default())),
            Codec::Zstd => Sink::Zstd(zstd::stream::write::Encoder::new(w, 3)?),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
            Sink::Zstd(w) => w,
        }
    }

    fn finish(self) -> io::Result<File> {
        let w = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Zstd(w) => w.finish()?,
        };
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// `path` without a trailing `.gz`/`.zst`, and the codec that suffix asks for.
fn split_codec(path: &Path) -> (PathBuf, Codec, &'static str) {
    for (ext, codec) in [(".gz", Codec::Gzip), (".zst", Codec::Zstd)] {
        if let Some(base) = path.to_str().and_then(|s| s.strip_suffix(ext)) {
            return (PathBuf::from(base), codec, ext);
        }
    }
    (path.to_path_buf(), Codec::Plain, "")
}

/// Where records come from: in-memory vectors or live streams.
trait CoreSource {
    fn cores(&self) -> usize;
    fn next(&mut self, core: usize) -> Result<Option<Record>, TraceError>;
}

struct Slices<'a> {
    cores: &'a [Vec<Record>],
    pos: Vec<usize>,
}

impl CoreSource for Slices<'_> {
    fn cores(&self) -> usize {
        self.cores.len()
    }
    fn next(&mut self, core: usize) -> Result<Option<Record>, TraceError> {
        let r = self.cores[core].get(self.pos[core]).copied();
        self.pos[core] += 1;
        Ok(r)
    }
}

impl CoreSource for Vec<CoreStream> {
    fn cores(&self) -> usize {
        self.len()
    }
    fn next(&mut self, core: usize) -> Result<Option<Record>, TraceError> {
        self[core].next()
    }
}

/// What to write besides the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// bin only: store each access's reuse distance for lines of this many
    /// bytes (see [`bin`](super::bin)), for replays that classify misses.
    pub distance_line: Option<u32>,
}

/// Writes in-memory per-core records to `path` in `format` (not `Auto`).
pub fn write(format: Format, path: &Path, cores: &[Vec<Record>]) -> Result<WriteSummary, TraceError> {
    write_with(format, path, cores, WriteOptions::default())
}

/// [`write`], with options.
pub fn write_with(
    format: Format,
    path: &Path,
    cores: &[Vec<Record>],
    opts: WriteOptions,
) -> Result<WriteSummary, TraceError> {
    let pos = vec![0; cores.len()];
    write_source(format, path, &mut Slices { cores, pos }, opts)
}

/// Writes everything `streams` deliver to `path` in `format`, core by core
/// (or merged by issue time, for csv), holding little in memory.
pub fn write_streams(format: Format, path: &Path, streams: Vec<CoreStream>) -> Result<WriteSummary, TraceError> {
    write_streams_with(format, path, streams, WriteOptions::default())
}

/// [`write_streams`], with options.
pub fn write_streams_with(
    format: Format,
    path: &Path,
    mut streams: Vec<CoreStream>,
    opts: WriteOptions,
) -> Result<WriteSummary, TraceError> {
    write_source(format, path, &mut streams, opts)
}

fn write_source(
    format: Format,
    path: &Path,
    src: &mut dyn CoreSource,
    opts: WriteOptions,
) -> Result<WriteSummary, TraceError> {
    let mut summary = WriteSummary::default();
    if src.cores() == 0 || src.cores() > MAX_CORES {
        let why = format!("a trace has 1 to {MAX_CORES} cores, not {}", src.cores());
        return Err(TraceError::write(path, io::Error::other(why)));
    }
    match format {
        Format::Bin => {
            let mut w = BinWriter::create(path, src.cores(), opts.distance_line)?;
            for core in 0..src.cores() {
                while let Some(r) = src.next(core)? {
                    w.push(&r)?;
                    summary.records += 1;
                }
                w.end_core();
            }
            w.finish()?;
            summary.files.push(path.to_path_buf());
        }
        Format::Csv => {
            let (_, codec, _) = split_codec(path);
            let (temp, file) = TempOut::create(path)?;
            let sink = Sink::new(file, codec).map_err(|e| TraceError::write(path, e))?;
            let sink = write_csv(sink, src, &mut summary).map_err(|e| e.at(path))?;
            let file = sink.finish().map_err(|e| TraceError::write(path, e))?;
            temp.commit(file)?;
            summary.files.push(path.to_path_buf());
        }
        Format::Cs4223 | Format::Din | Format::Lackey => {
            let (base, codec, zext) = split_codec(path);
            let ext = match format {
                Format::Cs4223 => "data",
                Format::Din => "din",
                _ => "lackey",
            };
            let mut done = Vec::new();
            for core in 0..src.cores() {
                let mut dest = base.clone().into_os_string();
                dest.push(format!("_{core}.{ext}{zext}"));
                let dest = PathBuf::from(dest);
                let (temp, file) = TempOut::create(&dest)?;
                let mut sink = Sink::new(file, codec).map_err(|e| TraceError::write(&dest, e))?;
                write_core(format, sink.writer(), src, core, &mut summary).map_err(|e| e.at(&dest))?;
                temp.sync(sink.finish().map_err(|e| TraceError::write(&dest, e))?)?;
                done.push(temp);
                summary.files.push(dest);
            }
            for temp in done {
                temp.rename()?;
            }
        }
        Format::Auto => {
            return Err(TraceError::write(path, io::Error::other("choose an output format")));
        }
    }
    Ok(summary)
}

/// A failure while writing rows, before the destination path is attached.
enum WriteFail {
    Io(io::Error),
    Trace(TraceError),
    Unrepresentable { format: Format, core: usize, index: u64, what: &'static str },
}

impl From<io::Error> for WriteFail {
    fn from(e: io::Error) -> Self {
        WriteFail::Io(e)
    }
}

impl From<TraceError> for WriteFail {
    fn from(e: TraceError) -> Self {
        WriteFail::Trace(e)
    }
}

impl WriteFail {
    fn at(self, path: &Path) -> TraceError {
        match self {
            WriteFail::Io(e) => TraceError::write(path, e),
            WriteFail::Trace(e) => e,
            WriteFail::Unrepresentable { format, core, index, what } => {
                TraceError::Unrepresentable { path: path.to_path_buf(), format, core, index, what }
            }
        }
    }
}

pub(crate) fn push_hex(line: &mut Vec<u8>, v: u64) {
    line.extend_from_slice(b"0x");
    push_bare_hex(line, v, 1);
}

fn push_bare_hex(line: &mut Vec<u8>, v: u64, min_digits: u32) {
    let digits = (16 - v.leading_zeros() / 4).max(min_digits);
    for i in (0..digits).rev() {
        line.push(b"0123456789abcdef"[(v >> (4 * i) & 0xf) as usize]);
    }
}

pub(crate) fn push_dec(line: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line.extend_from_slice(&tmp[i..]);
}

/// Native CSV, rows of all cores merged by issue time (a core's time is the
/// sum of its gaps plus one per record), so readers demultiplex with little
/// buffering.
fn write_csv(mut sink: Sink, src: &mut dyn CoreSource, summary: &mut WriteSummary) -> Result<Sink, WriteFail> {
    let w = sink.writer();
    w.write_all(super::csv::HEADER.as_bytes())?;
    w.write_all(b"\n")?;
    let mut heads: Vec<Option<Record>> = Vec::with_capacity(src.cores());
    let mut time = vec![0u64; src.cores()];
    let mut heap = BinaryHeap::new();
    for core in 0..src.cores() {
        let r = src.next(core)?;
        if let Some(r) = &r {
            heap.push(Reverse((r.gap, core)));
        }
        heads.push(r);
    }
    let mut line = Vec::with_capacity(128);
    while let Some(Reverse((t, core))) = heap.pop() {
        let Some(r) = heads[core].take() else {
            continue;
        };
        time[core] = t.saturating_add(1);
        line.clear();
        push_dec(&mut line, core as u64);
        let op: &[u8] = match r.op {
            None => b",C,",
            Some(TraceOp::Read) => b",R,",
            Some(TraceOp::Write) => b",W,",
            Some(TraceOp::Swap) => b",SWAP,",
            Some(TraceOp::FetchAdd) => b",FADD,",
            Some(TraceOp::Cas { .. }) => b",CAS,",
        };
        line.extend_from_slice(op);
        if r.op.is_some() || r.addr != 0 {
            push_hex(&mut line, r.addr);
        }
        line.push(b',');
        if r.op.is_some() || r.size != 0 {
            push_dec(&mut line, u64::from(r.size));
        }
        line.push(b',');
        push_dec(&mut line, r.gap);
        line.push(b',');
        if let Some(v) = r.value {
            push_dec(&mut line, v);
        }
        line.push(b',');
        if let Some(TraceOp::Cas { expected }) = r.op {
            push_dec(&mut line, expected);
        }
        line.push(b'\n');
        sink.writer().write_all(&line)?;
        summary.records += 1;
        if let Some(n) = src.next(core)? {
            heap.push(Reverse((time[core].saturating_add(n.gap), core)));
            heads[core] = Some(n);
        }
    }
    Ok(sink)
}

/// One core's records as cs4223, din or lackey lines.
fn write_core(
    format: Format,
    w: &mut dyn Write,
    src: &mut dyn CoreSource,
    core: usize,
    summary: &mut WriteSummary,
) -> Result<(), WriteFail> {
    let mut line = Vec::with_capacity(64);
    let mut index = 0;
    let lossy = &mut summary.lossy;
    while let Some(r) = src.next(core)? {
        line.clear();
        let fail = |what| WriteFail::Unrepresentable { format, core, index, what };
        let (load, store) = match r.op {
            Some(TraceOp::Read) => (true, false),
            Some(TraceOp::Write) => (false, true),
            None => (false, false),
            Some(_) => return Err(fail("atomic operations have no line type")),
        };
        lossy.values += u64::from(r.value.is_some());
        match format {
            Format::Cs4223 => {
                if r.gap != 0 {
                    line.extend_from_slice(b"2 ");
                    push_hex(&mut line, r.gap);
                    line.push(b'\n');
                }
                if load || store {
                    line.extend_from_slice(if load { b"0 " } else { b"1 " });
                    push_hex(&mut line, r.addr);
                    line.push(b'\n');
                    lossy.sizes += u64::from(r.size != super::cs4223::SIZE);
                }
            }
            Format::Din => {
                lossy.gaps += u64::from(r.gap != 0);
                if load || store {
                    line.extend_from_slice(if load { b"0 " } else { b"1 " });
                    push_bare_hex(&mut line, r.addr, 1);
                    line.push(b'\n');
                    lossy.sizes += u64::from(r.size != super::din::SIZE);
                } else {
                    lossy.compute_only += 1;
                }
            }
            _ => {
                lossy.gaps += u64::from(r.gap != 0);
                if load || store {
                    if r.size == 0 || u64::from(r.size) > super::lackey::MAX_ACCESS {
                        return Err(fail("lackey sizes run from 1 to 4096"));
                    }
                    line.extend_from_slice(if load { b" L " } else { b" S " });
                    push_bare_hex(&mut line, r.addr, 8);
                    line.push(b',');
                    push_dec(&mut line, u64::from(r.size));
                    line.push(b'\n');
                } else {
                    lossy.compute_only += 1;
                }
            }
        }
        w.write_all(&line)?;
        summary.records += 1;
        index += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        let mut l = Vec::new();
        push_hex(&mut l, 0);
        l.push(b' ');
        push_hex(&mut l, 0x817ae8);
        l.push(b' ');
        push_hex(&mut l, u64::MAX);
        l.push(b' ');
        push_dec(&mut l, 0);
        l.push(b' ');
        push_dec(&mut l, u64::MAX);
        l.push(b' ');
        push_bare_hex(&mut l, 0x1f, 8);
        assert_eq!(String::from_utf8(l).unwrap(), "0x0 0x817ae8 0xffffffffffffffff 0 18446744073709551615 0000001f");
    }

    #[test]
    fn split_codec_suffixes() {
        assert_eq!(split_codec(Path::new("a/b.gz")).1, Codec::Gzip);
        assert_eq!(split_codec(Path::new("a/b.zst")).0, PathBuf::from("a/b"));
        assert_eq!(split_codec(Path::new("a/b.csv")).1, Codec::Plain);
    }
}
