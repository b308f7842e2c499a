//! The trace front end: turns each core's decoded records into core steps.
//!
//! Records arrive from the decoder threads through `CoreStream`s; each core
//! replays its own records in order, and the engine interleaves cores by
//! simulated time. A store without a value in the trace writes a value unique to
//! the core and the store (`(core + 1) << 48 | n`), so the data-value checker has
//! something to check.

use super::{CoreStream, Record, StreamSummary, TraceOp};
use crate::model::{Access, MemOp};

use crate::engine::{Ahead, Frontend, FrontendError, Plain, Step};
use crate::model::network::Cycle;

pub struct TraceFrontend {
    streams: Vec<CoreStream>,
    stores: Vec<u64>,
    /// Called with the running total of records handed to the engine, about
    /// every 2^20 of them (progress bars); checked when a core starts a batch.
    pub progress: Option<Box<dyn FnMut(u64)>>,
    next_report: u64,
}

impl TraceFrontend {
    pub fn new(streams: Vec<CoreStream>) -> Self {
        TraceFrontend { stores: vec![0; streams.len()], streams, progress: None, next_report: PROGRESS_EVERY }
    }

    /// Records handed to the engine so far.
    pub fn records(&self) -> u64 {
        self.streams.iter().map(CoreStream::delivered).sum()
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

    /// A core started a new batch: time to tell the progress bar, perhaps.
    #[cold]
    fn new_batch(&mut self) {
        if self.progress.is_some() {
            let n = self.records();
            if n >= self.next_report {
                self.next_report = n + PROGRESS_EVERY;
                if let Some(p) = &mut self.progress {
                    p(n);
                }
            }
        }
    }
}

const PROGRESS_EVERY: u64 = 1 << 20;

impl Frontend for TraceFrontend {
    #[inline]
    fn next(&mut self, core: usize, _now: Cycle) -> Result<Step, FrontendError> {
        if let Some(r) = self.streams[core].next_in_batch() {
            return Ok(Self::step(&mut self.stores[core], core, r));
        }
        match self.streams[core].next() {
            Ok(Some(r)) => {
                self.new_batch();
                Ok(Self::step(&mut self.stores[core], core, &r))
            }
            Ok(None) => Ok(Step::Done),
            Err(e) => Err(FrontendError::Input(Box::new(e))),
        }
    }

    fn wants_values(&self) -> bool {
        false
    }

    #[inline]
    fn take_plain(&mut self, core: usize, mut take: impl FnMut(Plain) -> bool) {
        let stream = &mut self.streams[core];
        let stores = &mut self.stores[core];
        let mut n = 0;
        for r in stream.ahead() {
            let (store, numbered) = match (r.op, r.value) {
                (Some(TraceOp::Read), _) => (None, false),
                (Some(TraceOp::Write), Some(v)) => (Some(v), false),
                // The value `step` would give it.
                (Some(TraceOp::Write), None) => (Some(((core as u64 + 1) << 48) | (*stores + 1)), true),
                _ => break,
            };
            if !take(Plain { gap: r.gap, addr: r.addr, store, reuse: r.reuse }) {
                break;
            }
            *stores += u64::from(numbered);
            n += 1;
        }
        stream.skip(n);
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
