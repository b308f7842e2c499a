//! The trace front end: turns each core's decoded records into core steps.
//!
//! Records arrive from the decoder threads through `CoreStream`s; each core
//! replays its own records in order, and the engine interleaves cores by
//! simulated time. A store without a value in the trace writes a value unique to
//! the core and the store (`(core + 1) << 48 | n`), so the data-value checker has
//! something to check.

use crate::model::{Access, MemOp};
use crate::trace::{CoreStream, Record, StreamSummary, TraceOp};

use super::{Ahead, Frontend, Step};

pub struct TraceFrontend {
    streams: Vec<CoreStream>,
    stores: Vec<u64>,
    /// Records handed to the engine so far.
    pub records: u64,
    /// Called every 2^20 records with the running total (progress bars).
    pub progress: Option<Box<dyn FnMut(u64)>>,
}

impl TraceFrontend {
    pub fn new(streams: Vec<CoreStream>) -> Self {
        TraceFrontend { stores: vec![0; streams.len()], streams, records: 0, progress: None }
    }

    /// What each core's stream delivered.
    pub fn summaries(&self) -> Vec<StreamSummary> {
        self.streams.iter().map(CoreStream::summary).collect()
    }

    #[inline]
    fn step(stores: &mut u64, core: usize, r: &Record) -> Step {
        let Some(op) = r.op else {
            return Step::Compute(r.gap);
        };
        let op = match op {
            TraceOp::Read => MemOp::Load,
            TraceOp::Write => MemOp::Store(match r.value {
                Some(v) => v,
                None => {
                    *stores += 1;
                    ((core as u64 + 1) << 48) | *stores
                }
            }),
            TraceOp::Swap => MemOp::Swap(r.value.unwrap_or(0)),
            TraceOp::FetchAdd => MemOp::FetchAdd(r.value.unwrap_or(1)),
            TraceOp::Cas { expected } => MemOp::CompareExchange { expected, new: r.value.unwrap_or(0) },
        };
        Step::Access { gap: r.gap, access: Access { addr: r.addr, op }, reuse: r.reuse }
    }

    #[inline]
    fn delivered(&mut self) {
        self.records += 1;
        if self.records & 0xF_FFFF == 0
            && let Some(p) = &mut self.progress
        {
            p(self.records);
        }
    }
}

impl Frontend for TraceFrontend {
    #[inline]
    fn next(&mut self, core: usize) -> Result<Step, String> {
        if let Some(r) = self.streams[core].next_in_batch() {
            let step = Self::step(&mut self.stores[core], core, r);
            self.delivered();
            return Ok(step);
        }
        match self.streams[core].next() {
            Ok(Some(r)) => {
                self.delivered();
                Ok(Self::step(&mut self.stores[core], core, &r))
            }
            Ok(None) => Ok(Step::Done),
            Err(e) => Err(e.to_string()),
        }
    }

    fn wants_values(&self) -> bool {
        false
    }

    #[inline]
    fn ahead(&self, core: usize, i: usize) -> Option<Ahead> {
        self.streams[core].ahead().get(i).map(ahead_of)
    }

    #[inline]
    fn ahead_from(&self, core: usize, from: usize) -> impl Iterator<Item = Ahead> {
        self.streams[core].ahead().get(from..).unwrap_or_default().iter().map(ahead_of)
    }
}

#[inline]
fn ahead_of(r: &Record) -> Ahead {
    match r.op {
        None => Ahead::Compute(r.gap),
        Some(op) => Ahead::Access { gap: r.gap, addr: r.addr, writes: op != TraceOp::Read },
    }
}
