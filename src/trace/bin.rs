//! cohsim's binary trace format (`bin`), for fast replay of large traces.
//!
//! Version 1. All fixed-width integers are little-endian.
//!
//! ```text
//! offset      size   field
//! 0           8      magic c5 43 4f 48 54 52 0d 0a  ("\xC5COHTR\r\n")
//! 8           2      version = 1
//! 10          2      flags: bit 0 set: each access carries its reuse
//!                    distance (below), for lines of 2^(bits 8-15) bytes
//!                    (at most 2^16); bit 1 (only with bit 0): some access
//!                    that spanned lines of that size was stored as one
//!                    record per line, so the file replays exactly only with
//!                    lines of at most that size; every other bit is 0
//!                    (readers reject anything else)
//! 12          4      cores N, 1..=1024
//! 16          24·N   section table, core 0 first; per core:
//!                      u64 offset   byte offset of the core's section in the file
//!                      u64 length   section length in bytes
//!                      u64 records  records in the section
//! 16+24·N     ...    the sections, in core order, back to back: section 0
//!                    starts at 16+24·N, section i+1 where section i ends, and
//!                    the file ends where the last one ends.
//! ```
//!
//! A section is its core's records in program order, each encoded as
//!
//! ```text
//! tag        u8      bits 0-2  op: 0 compute-only, 1 read, 2 write, 3 swap,
//!                              4 fetch-add, 5 cas (6 and 7 are invalid)
//!                    bit 3     a value follows
//!                    bit 4     a gap follows (absent: gap = 0)
//!                    bits 5-7  size: code 0..=6 means 0, 1, 2, 4, 8, 16, 32
//!                              bytes; 7 means a size varint follows
//! [gap]      varint  if bit 4
//! addr       varint  zigzag(addr − previous addr), as a wrapping 64-bit
//!                    difference; the previous addr starts at 0 per section
//! [size]     varint  if size code 7 (must fit in 32 bits)
//! [value]    varint  if bit 3
//! [expected] varint  if op = cas
//! [reuse]    varint  if flags bit 0 and op ≠ 0: 0 for the core's first
//!                    reference to the line, else 1 + its LRU stack distance:
//!                    how many distinct other lines the core referenced since
//!                    it last referenced this one
//! ```
//!
//! A varint is LEB128: 7 bits per byte, low group first, high bit set on all
//! but the last byte; at most 10 bytes and no bits beyond 64.
//!
//! Why this shape: a typical access (small gap, nearby address, word size)
//! takes 3–4 bytes against ~20 of text (blackscholes: 10 M records in 38.7 MB
//! against 189 MB of text, 3.9 bytes per record), and decodes with a handful
//! of branches. The section table lets each core's stream start its own thread
//! and seek straight to its records, so replay needs no demultiplexing and
//! memory stays bounded however cores are read. The record counts let the
//! reader tell a truncated or corrupt section from a complete one. A bin file
//! may itself be gzip/zstd compressed; each stream then decompresses the file
//! from the start and skips to its section (N decompressions, bounded memory).
//!
//! Reuse distances (`convert` writes them, for its `--line`) are for replays
//! that classify misses: a fully associative LRU cache of `C` lines holds a
//! line exactly when its distance is below `C`, so a replay with that line size
//! reads its capacity-miss and first-reference tests off the file for any L1
//! size, instead of running the cache on the decoder threads. They cost about
//! one byte per access (blackscholes, 32-byte lines: 1.0). A replay with
//! another line size skips them and works reuse out itself.
//!
//! Records keep their access size. A replay splits an access that spans its
//! cache lines into one access per line (`record::push_split`), as every
//! reader does; only a file with distances stores such an access already
//! split, at the distance line size (one distance per line), and says so in
//! flags bit 1.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::{BinErrorKind, Codec, MAX_CORES, TraceError};
use super::input::{self, IO_BUF, read_full};
use super::record::{TOO_MANY_CYCLES, add_cycles, needs_split, push_split};
use super::stream::CoreDecoder;
use super::{Record, Reuse, TraceOp};

pub const MAGIC: [u8; 8] = *b"\xC5COHTR\r\n";
pub const VERSION: u16 = 1;

const FIXED: usize = 16;
const ENTRY: usize = 24;
const SIZES: [u32; 7] = [0, 1, 2, 4, 8, 16, 32];

/// Where one core's records are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    pub offset: u64,
    pub len: u64,
    pub records: u64,
}

pub(crate) fn header_len(cores: usize) -> u64 {
    (FIXED + ENTRY * cores) as u64
}

/// Flags bit 0: accesses carry reuse distances.
pub(crate) const DISTANCES: u16 = 1;
/// Flags bit 1: accesses that spanned distance lines were stored split.
pub(crate) const SPLIT: u16 = 2;

/// What a bin file's header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub sections: Vec<Section>,
    /// The line size the accesses' reuse distances are for, if they carry any.
    pub distance_line: Option<u32>,
    /// Set when some access was stored split at `distance_line`.
    pub split: bool,
}

/// How to read the reuse field: whether records carry one, and the capacity
/// (lines) to turn it into each record's [`Reuse`] for, if asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Distances {
    pub present: bool,
    pub capacity: Option<u64>,
}

impl Distances {
    #[inline(always)]
    fn reuse(self, field: u64) -> Reuse {
        match self.capacity {
            None => Reuse::UNKNOWN,
            Some(_) if field == 0 => Reuse::new(true, false),
            Some(c) => Reuse::new(false, field - 1 < c),
        }
    }
}

/// Reads and checks the header and section table of `path`.
pub(crate) fn read_header(path: &Path) -> Result<Header, TraceError> {
    let input = input::open(path)?;
    let codec = input.codec;
    let mut r = input.reader;
    let bad = |offset: u64, kind| TraceError::bin(path, offset, kind);
    let rd = |e| TraceError::read(path, codec, 0, e);
    let mut fixed = [0u8; FIXED];
    let n = read_full(&mut r, &mut fixed).map_err(rd)?;
    if n < MAGIC.len() || fixed[..8] != MAGIC {
        return Err(bad(0, BinErrorKind::BadMagic));
    }
    if n < FIXED {
        return Err(bad(n as u64, BinErrorKind::Truncated("the end of the header")));
    }
    let version = u16::from_le_bytes([fixed[8], fixed[9]]);
    if version != VERSION {
        return Err(bad(8, BinErrorKind::UnsupportedVersion(version)));
    }
    let flags = u16::from_le_bytes([fixed[10], fixed[11]]);
    let line_shift = flags >> 8;
    if flags & 0xfc != 0 || (flags & DISTANCES == 0 && (line_shift != 0 || flags & SPLIT != 0)) || line_shift > 16 {
        return Err(bad(10, BinErrorKind::UnsupportedFlags(flags)));
    }
    let distance_line = (flags & DISTANCES != 0).then(|| 1u32 << line_shift);
    let cores = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
    if cores == 0 || cores as usize > MAX_CORES {
        return Err(bad(12, BinErrorKind::BadCoreCount(cores)));
    }
    let cores = cores as usize;
    let mut table = vec![0u8; ENTRY * cores];
    let n = read_full(&mut r, &mut table).map_err(rd)?;
    if n < table.len() {
        return Err(bad((FIXED + n) as u64, BinErrorKind::Truncated("the end of the section table")));
    }
    let u64_at = |i: usize| u64::from_le_bytes(table[i..i + 8].try_into().unwrap_or_default());
    let mut sections = Vec::with_capacity(cores);
    let mut next = header_len(cores);
    for core in 0..cores {
        let e = ENTRY * core;
        let s = Section { offset: u64_at(e), len: u64_at(e + 8), records: u64_at(e + 16) };
        let end = s.offset.checked_add(s.len);
        if s.offset != next || end.is_none() {
            return Err(bad((FIXED + e) as u64, BinErrorKind::BadSectionTable { core }));
        }
        next = end.unwrap_or_default();
        sections.push(s);
    }
    if codec == Codec::Plain {
        let size = std::fs::metadata(path).map_err(|e| TraceError::open(path, e))?.len();
        if size < next {
            return Err(bad(size, BinErrorKind::Truncated("the end of the last section")));
        }
        if size > next {
            return Err(bad(next, BinErrorKind::TrailingBytes));
        }
    }
    Ok(Header { sections, distance_line, split: flags & SPLIT != 0 })
}

fn op_code(op: Option<TraceOp>) -> u8 {
    match op {
        None => 0,
        Some(TraceOp::Read) => 1,
        Some(TraceOp::Write) => 2,
        Some(TraceOp::Swap) => 3,
        Some(TraceOp::FetchAdd) => 4,
        Some(TraceOp::Cas { .. }) => 5,
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends the encoding of `r`; `prev` is the previous record's address;
/// `reuse`, the reuse field of a file with distances (accesses only).
pub(crate) fn encode(out: &mut Vec<u8>, r: &Record, prev: u64, reuse: Option<u64>) {
    let code = SIZES.iter().position(|&s| s == r.size).unwrap_or(7) as u8;
    let tag = op_code(r.op) | u8::from(r.value.is_some()) << 3 | u8::from(r.gap != 0) << 4 | code << 5;
    out.push(tag);
    if r.gap != 0 {
        put_varint(out, r.gap);
    }
    let delta = r.addr.wrapping_sub(prev) as i64;
    put_varint(out, ((delta << 1) ^ (delta >> 63)) as u64);
    if code == 7 {
        put_varint(out, u64::from(r.size));
    }
    if let Some(v) = r.value {
        put_varint(out, v);
    }
    if let Some(TraceOp::Cas { expected }) = r.op {
        put_varint(out, expected);
    }
    debug_assert!(reuse.is_none() || r.op.is_some(), "a compute record has no reuse field");
    if let Some(d) = reuse {
        put_varint(out, d);
    }
}

/// The longest possible record: a tag and six varints of at most 10 bytes.
const MAX_RECORD: usize = 1 + 6 * 10;

/// Reads a varint at `*i`. `Ok(None)`: the buffer ends inside it.
#[inline(always)]
fn varint(buf: &[u8], i: &mut usize) -> Result<Option<u64>, &'static str> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let Some(&b) = buf.get(*i) else {
            return Ok(None);
        };
        *i += 1;
        if shift == 63 && b > 1 {
            return Err("varint longer than 64 bits");
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(Some(v));
        }
        shift += 7;
    }
}

/// Decodes one record from the start of `buf`: `Ok(None)` if `buf` ends
/// inside it, else the record and its length in bytes.
#[inline(always)]
pub(crate) fn decode(buf: &[u8], prev: u64, dist: Distances) -> Result<Option<(Record, usize)>, &'static str> {
    macro_rules! need {
        ($e:expr) => {
            match $e? {
                Some(v) => v,
                None => return Ok(None),
            }
        };
    }
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    let mut i = 1;
    let gap = if tag & 0x10 != 0 { need!(varint(buf, &mut i)) } else { 0 };
    let z = need!(varint(buf, &mut i));
    let addr = prev.wrapping_add((z >> 1) ^ (z & 1).wrapping_neg());
    let code = (tag >> 5) as usize;
    let size = match SIZES.get(code) {
        Some(&s) => s,
        None => u32::try_from(need!(varint(buf, &mut i))).map_err(|_| "size above 32 bits")?,
    };
    let value = if tag & 0x08 != 0 { Some(need!(varint(buf, &mut i))) } else { None };
    // A table, not a `match`: loads and stores interleave unpredictably, and
    // a jump per record cost ~15% of decoding.
    const OPS: [Option<TraceOp>; 5] =
        [None, Some(TraceOp::Read), Some(TraceOp::Write), Some(TraceOp::Swap), Some(TraceOp::FetchAdd)];
    let op = match OPS.get(usize::from(tag & 0x07)) {
        Some(&op) => op,
        None if tag & 0x07 == 5 => Some(TraceOp::Cas { expected: need!(varint(buf, &mut i)) }),
        None => return Err("invalid op code"),
    };
    let reuse = if dist.present && op.is_some() { dist.reuse(need!(varint(buf, &mut i))) } else { Reuse::UNKNOWN };
    Ok(Some((Record { op, addr, size, gap, value, reuse }, i)))
}

/// A varint inside a window that holds a whole longest record: one compare
/// for the common one-byte case, no end-of-buffer checks.
#[inline(always)]
fn window_varint(w: &[u8; MAX_RECORD], i: &mut usize) -> Result<u64, &'static str> {
    let b = w.get(*i).copied().unwrap_or(0x80);
    if b < 0x80 {
        *i += 1;
        return Ok(u64::from(b));
    }
    window_varint_long(w, i)
}

/// A varint of two or more bytes: up to eight at once, 7-bit groups gathered
/// with masks and shifts; longer ones byte by byte.
#[inline(always)]
fn window_varint_long(w: &[u8; MAX_RECORD], i: &mut usize) -> Result<u64, &'static str> {
    let Some(Ok(bytes)) = w.get(*i..*i + 8).map(<[u8; 8]>::try_from) else {
        return varint_slow(w, i);
    };
    let x = u64::from_le_bytes(bytes);
    let stops = !x & 0x8080_8080_8080_8080;
    if stops == 0 {
        return varint_slow(w, i);
    }
    // Keep the bytes up to the first without a continuation bit.
    let x = x & (stops ^ (stops - 1)) & 0x7f7f_7f7f_7f7f_7f7f;
    *i += (stops.trailing_zeros() as usize + 1) / 8;
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    Ok((x & 0x0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4))
}

#[cold]
#[inline(never)]
fn varint_slow(w: &[u8; MAX_RECORD], i: &mut usize) -> Result<u64, &'static str> {
    match varint(w, i)? {
        Some(v) => Ok(v),
        // Six varints of at most 10 bytes and a tag always fit the window.
        None => Err("varint longer than 64 bits"),
    }
}

/// Decodes the record at the start of `w`, which holds at least a longest
/// record's bytes: the record and its length.
#[inline(always)]
fn decode_window(w: &[u8; MAX_RECORD], prev: u64, dist: Distances) -> Result<(Record, usize), &'static str> {
    let tag = w[0];
    let mut i = 1;
    let gap = if tag & 0x10 != 0 { window_varint(w, &mut i)? } else { 0 };
    let z = window_varint(w, &mut i)?;
    let addr = prev.wrapping_add((z >> 1) ^ (z & 1).wrapping_neg());
    let size = match SIZES.get(usize::from(tag >> 5)) {
        Some(&s) => s,
        None => u32::try_from(window_varint(w, &mut i)?).map_err(|_| "size above 32 bits")?,
    };
    let value = if tag & 0x08 != 0 { Some(window_varint(w, &mut i)?) } else { None };
    const OPS: [Option<TraceOp>; 5] =
        [None, Some(TraceOp::Read), Some(TraceOp::Write), Some(TraceOp::Swap), Some(TraceOp::FetchAdd)];
    let op = match OPS.get(usize::from(tag & 0x07)) {
        Some(&op) => op,
        None if tag & 0x07 == 5 => Some(TraceOp::Cas { expected: window_varint(w, &mut i)? }),
        None => return Err("invalid op code"),
    };
    let reuse = if dist.present && op.is_some() { dist.reuse(window_varint(w, &mut i)?) } else { Reuse::UNKNOWN };
    Ok((Record { op, addr, size, gap, value, reuse }, i))
}

/// Decodes up to `run` records from `buf` at `*pos` while a longest record
/// still fits, appending them to `out`; returns how many.
fn decode_run(
    buf: &[u8],
    pos: &mut usize,
    prev: &mut u64,
    run: usize,
    dist: Distances,
    out: &mut Vec<Record>,
) -> Result<usize, &'static str> {
    let (mut p, mut a) = (*pos, *prev);
    let mut n = 0;
    let result = loop {
        if n == run {
            break Ok(n);
        }
        let Some(Ok(w)) = buf.get(p..p + MAX_RECORD).map(<&[u8; MAX_RECORD]>::try_from) else {
            break Ok(n);
        };
        match decode_window(w, a, dist) {
            Ok((rec, len)) => {
                out.push(rec);
                p += len;
                a = rec.addr;
                n += 1;
            }
            Err(what) => break Err(what),
        }
    };
    (*pos, *prev) = (p, a);
    result
}

/// Decodes one core's section.
pub(crate) struct BinCoreDecoder {
    src: Box<dyn Read + Send>,
    path: PathBuf,
    core: usize,
    codec: Codec,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    /// Section bytes not yet read.
    unread: u64,
    expected: u64,
    decoded: u64,
    prev: u64,
    /// Whether to check that nothing follows this section (last core of a
    /// compressed file, where `read_header` could not check the size).
    check_end: bool,
    dist: Distances,
    /// The replay's line size: accesses that span its lines are split.
    line: u64,
    /// Compute cycles so far.
    cycles: u64,
}

impl BinCoreDecoder {
    pub fn open(
        path: &Path,
        core: usize,
        s: Section,
        last: bool,
        dist: Distances,
        line: u32,
    ) -> Result<Self, TraceError> {
        let mut f = File::open(path).map_err(|e| TraceError::open(path, e))?;
        let mut head = [0u8; 4];
        read_full(&mut f, &mut head).map_err(|e| TraceError::open(path, e))?;
        let codec = input::sniff(&head);
        let src: Box<dyn Read + Send> = if codec == Codec::Plain {
            f.seek(SeekFrom::Start(s.offset)).map_err(|e| TraceError::open(path, e))?;
            Box::new(f)
        } else {
            let mut r = input::open(path)?.reader;
            let skipped = io::copy(&mut (&mut r).take(s.offset), &mut io::sink())
                .map_err(|e| TraceError::read(path, codec, 0, e))?;
            if skipped < s.offset {
                let kind = BinErrorKind::Truncated("the start of a core's section");
                return Err(TraceError::bin(path, skipped, kind));
            }
            r
        };
        Ok(BinCoreDecoder {
            src,
            path: path.to_path_buf(),
            core,
            codec,
            buf: vec![0; IO_BUF],
            pos: 0,
            end: 0,
            buf_offset: s.offset,
            unread: s.len,
            expected: s.records,
            decoded: 0,
            prev: 0,
            check_end: last && codec != Codec::Plain,
            dist,
            line: u64::from(line.max(1)),
            cycles: 0,
        })
    }

    fn err(&self, kind: BinErrorKind) -> TraceError {
        TraceError::bin(&self.path, self.buf_offset + self.pos as u64, kind)
    }

    /// Reads more section bytes; `false` if the section has none left.
    fn refill(&mut self) -> Result<bool, TraceError> {
        if self.unread == 0 {
            return Ok(false);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.buf_offset += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        let room = (self.buf.len() - self.end).min(self.unread as usize);
        let n = read_full(&mut self.src, &mut self.buf[self.end..self.end + room])
            .map_err(|e| TraceError::read(&self.path, self.codec, 0, e))?;
        self.end += n;
        self.unread -= n as u64;
        if n < room {
            let at = self.buf_offset + self.end as u64;
            let kind = BinErrorKind::Truncated("the end of a core's section");
            return Err(TraceError::bin(&self.path, at, kind));
        }
        Ok(true)
    }

    fn finish(&mut self) -> Result<bool, TraceError> {
        if self.pos < self.end {
            return Err(self.err(BinErrorKind::Corrupt("record runs past the end of its section")));
        }
        if self.decoded != self.expected {
            return Err(self.err(BinErrorKind::CountMismatch {
                core: self.core,
                expected: self.expected,
                found: self.decoded,
            }));
        }
        if self.check_end {
            let mut byte = [0u8; 1];
            let n = read_full(&mut self.src, &mut byte).map_err(|e| TraceError::read(&self.path, self.codec, 0, e))?;
            if n > 0 {
                return Err(self.err(BinErrorKind::TrailingBytes));
            }
        }
        Ok(false)
    }
}

impl BinCoreDecoder {
    /// Splits the accesses in `out[start..]` that span lines (rare: one compare
    /// per record finds none).
    fn split_spanning(&self, out: &mut Vec<Record>, start: usize) -> Result<(), TraceError> {
        let line = self.line;
        let Some(first) = out[start..].iter().position(|r| r.op.is_some() && needs_split(r.addr, r.size, line)) else {
            return Ok(());
        };
        let tail: Vec<Record> = out.drain(start + first..).collect();
        // Records decoded before this call.
        let before = self.decoded - (out.len() - start + tail.len()) as u64;
        let first_index = before + first as u64;
        for (i, r) in tail.into_iter().enumerate() {
            let index = first_index + i as u64;
            let bad = |what| TraceError::BinRecord { path: self.path.clone(), core: self.core, index, what };
            if r.op.is_some() && needs_split(r.addr, r.size, line) && self.dist.capacity.is_some() && r.size != 0 {
                // Its one distance cannot describe several lines.
                return Err(bad("an access spanning lines of the size its reuse distances are for; convert it again"));
            }
            push_split(out, r, line).map_err(|e| bad(e.describe()))?;
        }
        Ok(())
    }

    fn fill_records(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        while out.len() < max {
            // Fast run: whole records while a longest one would still fit in
            // the buffer, up to the batch size and the section's count.
            let run = (max - out.len()).min((self.expected - self.decoded) as usize);
            let n = decode_run(&self.buf[..self.end], &mut self.pos, &mut self.prev, run, self.dist, out)
                .map_err(|what| self.err(BinErrorKind::Corrupt(what)))?;
            self.decoded += n as u64;
            if out.len() >= max {
                break;
            }
            // One record at a time near the buffer's end: refill, count
            // checks and the section's end.
            match decode(&self.buf[self.pos..self.end], self.prev, self.dist) {
                Ok(Some((rec, n))) => {
                    if self.decoded == self.expected {
                        let what = "more records than the section table says";
                        return Err(self.err(BinErrorKind::Corrupt(what)));
                    }
                    self.pos += n;
                    self.prev = rec.addr;
                    self.decoded += 1;
                    out.push(rec);
                }
                Ok(None) => {
                    if !self.refill()? {
                        return self.finish();
                    }
                }
                Err(what) => return Err(self.err(BinErrorKind::Corrupt(what))),
            }
        }
        Ok(true)
    }
}

impl CoreDecoder for BinCoreDecoder {
    fn fill(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
        let start = out.len();
        let more = self.fill_records(out, max)?;
        // The new records' compute cycles, then any access that spans lines,
        // after the decoding loop (inside it, they cost that loop more).
        let new = out.len() - start;
        for (i, r) in out[start..].iter().enumerate() {
            self.cycles = add_cycles(self.cycles, r.gap).ok_or_else(|| {
                let index = self.decoded - (new - i) as u64;
                TraceError::BinRecord { path: self.path.clone(), core: self.core, index, what: TOO_MANY_CYCLES }
            })?;
        }
        self.split_spanning(out, start)?;
        Ok(more)
    }
}

#[cfg(test)]
#[path = "bin_tests.rs"]
mod tests;
