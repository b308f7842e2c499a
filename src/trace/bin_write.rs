//! Writing the bin format (`bin` holds the specification and the reader): a
//! core's records are encoded into its section as they come, with reuse
//! distances when asked, and the header and section table are written last.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use super::Record;
use super::bin::{DISTANCES, MAGIC, SPLIT, Section, VERSION, encode, header_len};
use super::error::TraceError;
use super::input::IO_BUF;
use super::record::{needs_split, push_split};
use super::write::TempOut;
use crate::reuse::StackDistances;

/// Writes a bin file core by core: `push` a core's records, `end_core`, and
/// after the last core `finish`, which fills in the section table and renames
/// the finished file into place.
pub(crate) struct BinWriter {
    out: io::BufWriter<File>,
    temp: TempOut,
    cores: usize,
    sections: Vec<Section>,
    start: u64,
    offset: u64,
    count: u64,
    prev: u64,
    buf: Vec<u8>,
    /// With reuse distances: the line size's log2 and the core's distances.
    distances: Option<(u32, StackDistances)>,
    /// An access spanning distance lines was stored split.
    split: bool,
    /// Records pushed for the current core (before any split).
    inputs: u64,
    pieces: Vec<Record>,
}

impl BinWriter {
    /// With `distance_line`, every access carries its reuse distance for lines
    /// of that many bytes (a power of two, at most 2^16).
    pub fn create(path: &Path, cores: usize, distance_line: Option<u32>) -> Result<Self, TraceError> {
        if let Some(line) = distance_line {
            super::check_line_size(line)?;
        }
        let (temp, file) = TempOut::create(path)?;
        let mut w = BinWriter {
            out: io::BufWriter::with_capacity(IO_BUF, file),
            temp,
            cores,
            sections: Vec::with_capacity(cores),
            start: header_len(cores),
            offset: header_len(cores),
            count: 0,
            prev: 0,
            buf: Vec::with_capacity(2 * IO_BUF),
            distances: distance_line.map(|line| (line.trailing_zeros(), StackDistances::new())),
            split: false,
            inputs: 0,
            pieces: Vec::new(),
        };
        w.buf.resize(header_len(cores) as usize, 0);
        Ok(w)
    }

    /// Appends a record to the current core. With distances, an access that
    /// spans distance lines is stored as one record per line, each with its
    /// own distance.
    pub fn push(&mut self, r: &Record) -> Result<(), TraceError> {
        self.inputs += 1;
        if let Some((shift, _)) = self.distances
            && r.op.is_some()
            && needs_split(r.addr, r.size, 1 << shift)
        {
            let mut pieces = std::mem::take(&mut self.pieces);
            pieces.clear();
            let split = push_split(&mut pieces, *r, 1 << shift);
            if let Err(e) = split {
                let (core, index) = (self.sections.len(), self.inputs - 1);
                let path = self.temp.dest().to_path_buf();
                return Err(TraceError::Unrepresentable {
                    path,
                    format: super::Format::Bin,
                    core,
                    index,
                    what: e.describe(),
                });
            }
            self.split |= pieces.len() > 1;
            for p in &pieces {
                self.push_one(p)?;
            }
            self.pieces = pieces;
            return Ok(());
        }
        self.push_one(r)
    }

    fn push_one(&mut self, r: &Record) -> Result<(), TraceError> {
        let before = self.buf.len();
        let reuse = match &mut self.distances {
            Some((shift, sd)) if r.op.is_some() => Some(sd.access(r.addr >> *shift).map_or(0, |d| d + 1)),
            _ => None,
        };
        encode(&mut self.buf, r, self.prev, reuse);
        self.offset += (self.buf.len() - before) as u64;
        self.prev = r.addr;
        self.count += 1;
        if self.buf.len() >= IO_BUF {
            self.flush()?;
        }
        Ok(())
    }

    pub fn end_core(&mut self) {
        self.sections.push(Section { offset: self.start, len: self.offset - self.start, records: self.count });
        self.start = self.offset;
        self.count = 0;
        self.inputs = 0;
        self.prev = 0;
        if let Some((_, sd)) = &mut self.distances {
            *sd = StackDistances::new();
        }
    }

    fn flush(&mut self) -> Result<(), TraceError> {
        let r = self.out.write_all(&self.buf);
        self.buf.clear();
        r.map_err(|e| TraceError::write(self.temp.dest(), e))
    }

    pub fn finish(mut self) -> Result<(), TraceError> {
        debug_assert_eq!(self.sections.len(), self.cores);
        self.flush()?;
        let mut header = Vec::with_capacity(header_len(self.cores) as usize);
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        let split = if self.split { SPLIT } else { 0 };
        let flags = self.distances.as_ref().map_or(0, |&(shift, _)| DISTANCES | split | (shift as u16) << 8);
        header.extend_from_slice(&flags.to_le_bytes());
        header.extend_from_slice(&(self.cores as u32).to_le_bytes());
        for s in &self.sections {
            for v in [s.offset, s.len, s.records] {
                header.extend_from_slice(&v.to_le_bytes());
            }
        }
        let dest = self.temp.dest().to_path_buf();
        let wr = |e| TraceError::write(&dest, e);
        self.out.seek(SeekFrom::Start(0)).map_err(wr)?;
        self.out.write_all(&header).map_err(wr)?;
        let file = self.out.into_inner().map_err(|e| wr(e.into_error()))?;
        self.temp.commit(file)
    }
}
