//! # Traces: the memory-access streams cohsim replays
//!
//! A trace is, per core, a sequence of [`Record`]s: an access (load, store or
//! atomic) with the compute cycles the core spends before it. This module
//! reads five on-disk formats into that one shape, writes three of them back,
//! and generates synthetic ones.
//!
//! | format   | files               | what a line/record is                                  |
//! |----------|---------------------|--------------------------------------------------------|
//! | `csv`    | one, all cores      | `core,op,addr[,size,gap,value,expected]` ([`csv`])     |
//! | `cs4223` | one per core        | `0 ADDR` / `1 ADDR` / `2 CYCLES`, hex ([`cs4223`])      |
//! | `din`    | one per core        | Dinero IV `label addr`, fetches skipped ([`din`])      |
//! | `lackey` | one per core        | Valgrind Lackey ` L addr,size` ([`lackey`])            |
//! | `bin`    | one, all cores      | cohsim's compact binary format ([`bin`])              |
//!
//! Any file may be gzip or zstd compressed (recognised by its magic bytes).
//! Per-core traces are given as one path per core or as a prefix `P` for
//! `P_0.data`, `P_1.data`, … ([`paths`]); `--format auto` picks the format
//! by content ([`detect`]).
//!
//! ## Reading
//!
//! ```no_run
//! use cohsim::trace::{self, TraceSpec};
//! # fn main() -> Result<(), trace::TraceError> {
//! let set = trace::open(&TraceSpec::new(["../shared/traces/parsec/blackscholes/blackscholes"]))?;
//! println!("{} cores, {} format", set.cores(), set.format());
//! for mut s in set.into_streams() {
//!     while let Some(record) = s.next()? {
//!         let _ = record; // feed the core model
//!     }
//!     println!("core {}: {:?}", s.core(), s.summary());
//! }
//! # Ok(()) }
//! ```
//!
//! [`open`] checks everything that can be checked up front (files exist and
//! are readable, formats agree, a csv is valid, a bin header is sound) and
//! fixes the core count. [`TraceSet::into_streams`] then starts the decoders:
//! parsing and decompression run on their own threads, one per file (or per
//! bin section), and hand records over in recycled batches through bounded
//! channels ([`stream`]), so they overlap simulation and memory stays bounded
//! however long the trace. A single file holding every core (csv) is split
//! by one thread that cannot deadlock when cores are read at different rates
//! ([`demux`]). Errors found while decoding arrive through the stream, after
//! the records that preceded them.
//!
//! [`read_all`] decodes everything synchronously into memory, for tests and
//! small traces. [`write()`]/[`write_streams`] produce csv, cs4223, din, lackey
//! or bin files, atomically; [`generate`] makes synthetic traces (module `gen`).

pub mod record;
pub use record::{Record, Reuse, TraceOp};

/// Fills in the reuse of each access of one core's records, in order.
pub fn annotate(tracker: &mut ReuseTracker, records: &mut [Record]) {
    for r in records.iter_mut().filter(|r| r.op.is_some()) {
        r.reuse = tracker.access(r.addr);
    }
}

use crate::reuse::ReuseTracker;

pub mod bin;
mod bin_write;
pub mod cs4223;
pub mod csv;
pub mod demux;
pub mod detect;
pub mod din;
mod error;
pub mod r#gen;
mod input;
pub mod lackey;
mod lines;
pub mod paths;
pub mod replay;
pub mod stream;
pub mod valgrind;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use error::{BinErrorKind, Codec, MAX_CORES, MAX_LINE, TraceError};
pub use r#gen::{Pattern, SplitMix64, UnknownPattern, generate};
pub use stream::{CoreStream, StreamSummary};
pub use write::{Lossy, WriteOptions, WriteSummary, write, write_streams, write_streams_with, write_with};

use stream::CoreDecoder;

/// A trace file format. `Auto` asks [`open`] to detect it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Auto,
    Csv,
    Cs4223,
    Din,
    Lackey,
    Bin,
}

impl Format {
    pub const ALL: [Format; 6] = [Format::Auto, Format::Csv, Format::Cs4223, Format::Din, Format::Lackey, Format::Bin];

    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Csv => "csv",
            Format::Cs4223 => "cs4223",
            Format::Din => "din",
            Format::Lackey => "lackey",
            Format::Bin => "bin",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown trace format \"{0}\" (known: auto, csv, cs4223, din, lackey, bin)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// What to read: the TRACE arguments, their format, and the cache line size
/// (lackey splits line-crossing accesses at line boundaries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSpec {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub line_size: u32,
}

impl TraceSpec {
    pub const DEFAULT_LINE_SIZE: u32 = 64;

    /// `paths` in auto-detected format with 64-byte lines.
    pub fn new<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Self {
        TraceSpec {
            paths: paths.into_iter().map(Into::into).collect(),
            format: Format::Auto,
            line_size: Self::DEFAULT_LINE_SIZE,
        }
    }

    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    pub fn with_line_size(mut self, line_size: u32) -> Self {
        self.line_size = line_size;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PerCore {
    Cs4223,
    Din,
    Lackey,
}

#[derive(Clone, Debug)]
enum Layout {
    PerCore(PerCore),
    Csv { cores: usize, records: u64 },
    Bin(bin::Header),
}

/// An opened, validated trace, ready to stream.
#[derive(Clone, Debug)]
pub struct TraceSet {
    format: Format,
    files: Vec<PathBuf>,
    line_size: u32,
    layout: Layout,
    /// Work out each record's [`Reuse`] on the decoder threads, for an L1 of this
    /// many lines.
    reuse_lines: Option<usize>,
}

/// The largest line size a trace may be read or stored for.
pub const MAX_LINE_SIZE: u32 = 1 << 16;

/// A line size a trace may be read or stored for: a power of two up to 64 KiB.
pub fn check_line_size(line: u32) -> Result<u32, TraceError> {
    if line.is_power_of_two() && line <= MAX_LINE_SIZE { Ok(line) } else { Err(TraceError::BadLineSize(line)) }
}

/// Validates `spec`, expands a prefix, detects the format and counts cores.
pub fn open(spec: &TraceSpec) -> Result<TraceSet, TraceError> {
    let line = check_line_size(spec.line_size)?;
    let files = paths::expand(&spec.paths)?;
    let mut first: Option<Format> = None;
    for path in &files {
        let (head, _) = input::head(path, detect::HEAD_BYTES)?;
        if head.is_empty() {
            return Err(TraceError::Empty { path: path.clone() });
        }
        let found = match spec.format {
            Format::Auto => detect::detect(path, &head)?,
            f => f,
        };
        match first {
            None => first = Some(found),
            Some(expected) if expected != found => {
                return Err(TraceError::MixedFormats { path: path.clone(), found, first: files[0].clone(), expected });
            }
            Some(_) => {}
        }
    }
    let format = first.ok_or(TraceError::NoPaths)?;
    let single = |files: &[PathBuf]| match files {
        [one] => Ok(one.clone()),
        _ => Err(TraceError::FileCount { format, count: files.len() }),
    };
    let layout = match format {
        Format::Csv => {
            let path = single(&files)?;
            let (cores, records) = csv::scan(&path, input::open(&path)?, line)?;
            Layout::Csv { cores, records }
        }
        Format::Bin => {
            let path = single(&files)?;
            let header = bin::read_header(&path)?;
            if let Some(split) = header.distance_line.filter(|&l| header.split && line > l) {
                return Err(TraceError::SplitFiner { path, split, line });
            }
            if header.sections.iter().all(|s| s.records == 0) {
                return Err(TraceError::Empty { path });
            }
            Layout::Bin(header)
        }
        // (`Auto` cannot occur here: detection always names a format.)
        Format::Cs4223 | Format::Din | Format::Lackey | Format::Auto => {
            if files.len() > MAX_CORES {
                return Err(TraceError::TooManyCores { count: files.len() });
            }
            Layout::PerCore(match format {
                Format::Din => PerCore::Din,
                Format::Lackey => PerCore::Lackey,
                _ => PerCore::Cs4223,
            })
        }
    };
    Ok(TraceSet { format, files, line_size: line, layout, reuse_lines: None })
}

/// Reads the whole trace into memory, one vector per core.
pub fn read_all(spec: &TraceSpec) -> Result<Vec<Vec<Record>>, TraceError> {
    open(spec)?.read_all()
}

fn text_decoder(kind: PerCore, path: &Path, line_size: u32) -> Result<Box<dyn CoreDecoder>, TraceError> {
    let input = input::open(path)?;
    Ok(match kind {
        PerCore::Cs4223 => Box::new(cs4223::Cs4223Decoder::new(path, input)),
        PerCore::Din => Box::new(din::DinDecoder::new(path, input)),
        PerCore::Lackey => Box::new(lackey::LackeyDecoder::new(path, input, line_size)),
    })
}

impl TraceSet {
    pub fn cores(&self) -> usize {
        match &self.layout {
            Layout::PerCore(_) => self.files.len(),
            Layout::Csv { cores, .. } => *cores,
            Layout::Bin(h) => h.sections.len(),
        }
    }

    /// The format in use (never `Auto`).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The files read, after prefix expansion (per-core formats: core order).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Total records, when known without decoding (csv, bin).
    pub fn records(&self) -> Option<u64> {
        match &self.layout {
            Layout::PerCore(_) => None,
            Layout::Csv { records, .. } => Some(*records),
            Layout::Bin(h) => Some(h.sections.iter().map(|s| s.records).sum()),
        }
    }

    /// Have the decoder threads (the demux thread, for a CSV holding every core)
    /// fill in each record's [`Reuse`] for an L1 of `capacity_lines` lines of the
    /// spec's line size: the part of miss classification that depends only on each
    /// core's own accesses. A bin file whose reuse distances are for this line size
    /// supplies it as it decodes, for any capacity, with no tracking at all.
    /// It assumes what a replay is: one run of a simulator
    /// with that line size, from cold caches. (The classifier does not add
    /// known-reuse accesses to its own fully associative cache, so a later run
    /// with another front end would not see them.)
    pub fn with_reuse(mut self, capacity_lines: usize) -> Self {
        self.reuse_lines = Some(capacity_lines);
        self
    }

    fn tracker(&self) -> Option<ReuseTracker> {
        self.reuse_lines.map(|lines| ReuseTracker::new(lines, self.line_size))
    }

    /// Starts the decoder threads; one stream per core, in core order.
    pub fn into_streams(self) -> Vec<CoreStream> {
        let line_size = self.line_size;
        match self.layout {
            Layout::PerCore(kind) => {
                let tracker = self.tracker();
                self.files
                    .into_iter()
                    .enumerate()
                    .map(|(core, path)| {
                        let t = tracker.clone();
                        stream::spawn_core(core, t, move || text_decoder(kind, &path, line_size))
                    })
                    .collect()
            }
            Layout::Csv { cores, .. } => {
                let path = self.files[0].clone();
                let tracker = self.tracker();
                demux::spawn(&self.files[0], cores, tracker, move || {
                    csv::CsvDecoder::new(&path, input::open(&path)?, line_size)
                })
            }
            Layout::Bin(header) => {
                let n = header.sections.len();
                // Reuse distances for this line size answer for any capacity:
                // nothing to track on the decoder threads.
                let present = header.distance_line.is_some();
                let (dist, reuse_lines) = match self.reuse_lines {
                    Some(lines) if header.distance_line == Some(line_size) => {
                        (bin::Distances { present, capacity: Some(lines as u64) }, None)
                    }
                    lines => (bin::Distances { present, capacity: None }, lines),
                };
                header
                    .sections
                    .into_iter()
                    .enumerate()
                    .map(|(core, s)| {
                        let path = self.files[0].clone();
                        let t = reuse_lines.map(|lines| ReuseTracker::new(lines, line_size));
                        stream::spawn_core(core, t, move || {
                            let d = bin::BinCoreDecoder::open(&path, core, s, core + 1 == n, dist, line_size)?;
                            Ok(Box::new(d) as Box<dyn CoreDecoder>)
                        })
                    })
                    .collect()
            }
        }
    }

    /// Decodes everything on this thread into one vector per core.
    pub fn read_all(self) -> Result<Vec<Vec<Record>>, TraceError> {
        let drain = |mut d: Box<dyn CoreDecoder>| {
            let mut out = Vec::new();
            while d.fill(&mut out, usize::MAX)? {}
            Ok(out)
        };
        match &self.layout {
            Layout::PerCore(kind) => {
                self.files.iter().map(|path| drain(text_decoder(*kind, path, self.line_size)?)).collect()
            }
            Layout::Csv { cores, .. } => {
                let path = &self.files[0];
                let mut d = csv::CsvDecoder::new(path, input::open(path)?, self.line_size)?;
                let mut out = vec![Vec::new(); *cores];
                while let Some((core, r)) = d.next_row()? {
                    let cores = *cores;
                    out.get_mut(core)
                        .ok_or_else(|| TraceError::CoreOutOfRange { path: path.clone(), core, cores })?
                        .push(r);
                }
                Ok(out)
            }
            Layout::Bin(header) => header
                .sections
                .iter()
                .enumerate()
                .map(|(core, s)| {
                    let last = core + 1 == header.sections.len();
                    let dist = bin::Distances { present: header.distance_line.is_some(), capacity: None };
                    drain(Box::new(bin::BinCoreDecoder::open(&self.files[0], core, *s, last, dist, self.line_size)?))
                })
                .collect(),
        }
    }
}
