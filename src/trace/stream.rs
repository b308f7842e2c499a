//! `CoreStream`: one core's records, decoded ahead of the simulator on
//! another thread.
//!
//! A decoder thread fills `Vec<Record>` batches of [`BATCH`] records and sends
//! them through a bounded channel of [`CHANNEL_BATCHES`]; the stream hands
//! records out of the current batch (an index bump, inlined) and, when it is
//! used up, sends the empty vector back through a return channel for the
//! decoder to refill. In steady state nothing is allocated, and the memory a
//! stream holds is bounded by `(CHANNEL_BATCHES + 3) · BATCH` records
//! (~1.6 MB), whatever the trace length.
//!
//! Per-core files get one decoder thread each, so a consumer that pulls cores
//! at different rates can never deadlock them. Traces holding every core in
//! one file go through `demux` instead.
//!
//! Counting (`StreamSummary`) is done by the decoder, per batch, so the
//! consumer's hot path only moves records. Errors travel down the same
//! channel, after the records that preceded them; a failed stream keeps
//! returning its error.

use std::thread;

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};

use super::error::TraceError;
use super::{Record, TraceOp};
use crate::reuse::ReuseTracker;

/// Records per batch.
pub const BATCH: usize = 4096;
/// Batches that may wait in a core's channel.
pub const CHANNEL_BATCHES: usize = 4;

/// A per-core decoder: appends records to a batch.
pub(crate) trait CoreDecoder: Send {
    /// Appends records to `out` until it holds `max` (a line may add a few
    /// more) or the input ends. Returns `Ok(false)` at the end of input.
    fn fill(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError>;

    /// Instruction fetches skipped so far.
    fn ifetches(&self) -> u64 {
        0
    }
}

/// The end of one text decoder's `fill` step: counts the records it added and
/// turns "ended without a single record" into [`TraceError::Empty`].
pub(crate) fn nonempty(
    emitted: &mut u64,
    path: &std::path::Path,
    added: usize,
    result: Result<bool, TraceError>,
) -> Result<bool, TraceError> {
    *emitted += added as u64;
    match result {
        Ok(false) if *emitted == 0 => Err(TraceError::Empty { path: path.to_path_buf() }),
        other => other,
    }
}

/// What a stream has delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StreamSummary {
    /// Records delivered (accesses plus compute-only records).
    pub records: u64,
    pub loads: u64,
    pub stores: u64,
    /// Swaps, fetch-and-adds and compare-and-swaps.
    pub atomics: u64,
    /// Records with `op == None` (a trailing compute run).
    pub compute_only: u64,
    /// Sum of all gaps.
    pub compute_cycles: u64,
    /// Instruction fetches the format carried and the reader skipped.
    pub ifetches_skipped: u64,
}

impl StreamSummary {
    #[inline]
    pub fn add(&mut self, r: &Record) {
        self.records += 1;
        self.compute_cycles = self.compute_cycles.wrapping_add(r.gap);
        match r.op {
            Some(TraceOp::Read) => self.loads += 1,
            Some(TraceOp::Write) => self.stores += 1,
            Some(_) => self.atomics += 1,
            None => self.compute_only += 1,
        }
    }

    pub fn of(records: &[Record]) -> Self {
        let mut s = StreamSummary::default();
        for r in records {
            s.add(r);
        }
        s
    }

    pub fn merge(&mut self, o: &StreamSummary) {
        self.records += o.records;
        self.loads += o.loads;
        self.stores += o.stores;
        self.atomics += o.atomics;
        self.compute_only += o.compute_only;
        self.compute_cycles = self.compute_cycles.wrapping_add(o.compute_cycles);
        self.ifetches_skipped += o.ifetches_skipped;
    }
}

pub(crate) enum Msg {
    /// Records and their counts.
    Batch(Vec<Record>, StreamSummary),
    Failed(TraceError),
    /// End of the core's records; carries counts not yet reported (fetches).
    End(StreamSummary),
}

enum State {
    Running,
    Ended,
    Failed(TraceError),
}

/// One core's record stream. Obtain with [`TraceSet::into_streams`](super::TraceSet::into_streams).
pub struct CoreStream {
    core: usize,
    batch: Vec<Record>,
    pos: usize,
    batch_counts: StreamSummary,
    /// Counts of fully consumed batches.
    done: StreamSummary,
    state: State,
    rx: Receiver<Msg>,
    recycle: Sender<Vec<Record>>,
    /// For demuxed streams: tells the demux thread this core is starving.
    hunger: Option<Sender<usize>>,
}

impl CoreStream {
    pub(crate) fn new(
        core: usize,
        rx: Receiver<Msg>,
        recycle: Sender<Vec<Record>>,
        hunger: Option<Sender<usize>>,
    ) -> Self {
        CoreStream {
            core,
            batch: Vec::new(),
            pos: 0,
            batch_counts: StreamSummary::default(),
            done: StreamSummary::default(),
            state: State::Running,
            rx,
            recycle,
            hunger,
        }
    }

    /// A stream over records already in memory (e.g. from `gen::generate`).
    pub fn from_records(core: usize, records: Vec<Record>) -> Self {
        let (tx, rx) = bounded(2);
        let (recycle, _) = bounded(1);
        let counts = StreamSummary::of(&records);
        // Cannot fail: the channel has room and `rx` is alive.
        let _ = tx.send(Msg::Batch(records, counts));
        let _ = tx.send(Msg::End(StreamSummary::default()));
        CoreStream::new(core, rx, recycle, None)
    }

    pub fn core(&self) -> usize {
        self.core
    }

    /// The next record, `Ok(None)` at the end of the core's trace.
    #[inline]
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<Option<Record>, TraceError> {
        if let Some(r) = self.batch.get(self.pos) {
            self.pos += 1;
            return Ok(Some(*r));
        }
        self.refill()
    }

    /// The next record if the current batch still holds one (the fast path of
    /// [`next`](Self::next): no channel, no error to carry).
    #[inline]
    pub fn next_in_batch(&mut self) -> Option<&Record> {
        let r = self.batch.get(self.pos)?;
        self.pos += 1;
        Some(r)
    }

    /// Records delivered so far (`summary().records`, without the counting).
    #[inline]
    pub fn delivered(&self) -> u64 {
        self.done.records + self.pos as u64
    }

    /// The records of the current batch not yet delivered: what `next` will
    /// return without waiting for the decoder.
    #[inline]
    pub fn ahead(&self) -> &[Record] {
        &self.batch[self.pos..]
    }

    /// Delivers the next `n` records of the current batch (`n` at most
    /// `ahead().len()`), as if by `n` calls to `next`.
    #[inline]
    pub fn skip(&mut self, n: usize) {
        debug_assert!(n <= self.ahead().len());
        self.pos = (self.pos + n).min(self.batch.len());
    }

    /// Counts of the records delivered so far (and, once the stream has
    /// ended, the instruction fetches it skipped).
    pub fn summary(&self) -> StreamSummary {
        let mut s = self.done;
        if self.pos == self.batch.len() {
            s.merge(&self.batch_counts);
        } else {
            s.merge(&StreamSummary::of(&self.batch[..self.pos]));
        }
        s
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Result<Option<Record>, TraceError> {
        match &self.state {
            State::Running => {}
            State::Ended => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
        }
        self.retire_batch();
        loop {
            let msg = match self.rx.try_recv() {
                Ok(m) => Ok(m),
                Err(TryRecvError::Empty) => {
                    if let Some(h) = &self.hunger {
                        let _ = h.send(self.core);
                    }
                    self.rx.recv().map_err(|_| ())
                }
                Err(TryRecvError::Disconnected) => Err(()),
            };
            match msg {
                Ok(Msg::Batch(records, counts)) => {
                    if records.is_empty() {
                        self.done.merge(&counts);
                        continue;
                    }
                    self.batch = records;
                    self.batch_counts = counts;
                    self.pos = 1;
                    return Ok(Some(self.batch[0]));
                }
                Ok(Msg::End(counts)) => {
                    self.done.merge(&counts);
                    self.state = State::Ended;
                    return Ok(None);
                }
                Ok(Msg::Failed(e)) => {
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
                Err(()) => {
                    let e = TraceError::DecoderLost { core: self.core };
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
            }
        }
    }

    fn retire_batch(&mut self) {
        self.done.merge(&self.batch_counts);
        self.batch_counts = StreamSummary::default();
        let mut old = std::mem::take(&mut self.batch);
        self.pos = 0;
        if old.capacity() > 0 {
            old.clear();
            let _ = self.recycle.try_send(old);
        }
    }
}

/// Starts a decoder thread for one core. `make` opens the decoder on that
/// thread, so opening errors arrive through the stream like any other.
/// With a `tracker`, the thread also fills in each record's reuse.
pub(crate) fn spawn_core<F>(core: usize, tracker: Option<ReuseTracker>, make: F) -> CoreStream
where
    F: FnOnce() -> Result<Box<dyn CoreDecoder>, TraceError> + Send + 'static,
{
    let (tx, rx) = bounded(CHANNEL_BATCHES);
    let (recycle_tx, recycle_rx) = bounded(CHANNEL_BATCHES + 2);
    let spawned =
        thread::Builder::new().name(format!("trace-core{core}")).spawn(move || produce(make, tracker, tx, recycle_rx));
    let mut stream = CoreStream::new(core, rx, recycle_tx, None);
    if let Err(e) = spawned {
        stream.state = State::Failed(TraceError::Thread { source: std::sync::Arc::new(e) });
    }
    stream
}

fn produce<F>(make: F, mut tracker: Option<ReuseTracker>, tx: Sender<Msg>, recycle: Receiver<Vec<Record>>)
where
    F: FnOnce() -> Result<Box<dyn CoreDecoder>, TraceError>,
{
    let mut dec = match make() {
        Ok(d) => d,
        Err(e) => {
            let _ = tx.send(Msg::Failed(e));
            return;
        }
    };
    let mut fetches_sent = 0;
    loop {
        let mut batch = recycle.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH + 64));
        let result = dec.fill(&mut batch, BATCH);
        if let Some(t) = &mut tracker {
            super::annotate(t, &mut batch);
        }
        let mut counts = StreamSummary::of(&batch);
        counts.ifetches_skipped = dec.ifetches() - fetches_sent;
        fetches_sent = dec.ifetches();
        if (!batch.is_empty() || counts.ifetches_skipped > 0) && tx.send(Msg::Batch(batch, counts)).is_err() {
            return; // the stream was dropped
        }
        let last = match result {
            Ok(true) => continue,
            Ok(false) => Msg::End(StreamSummary::default()),
            Err(e) => Msg::Failed(e),
        };
        let _ = tx.send(last);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        left: u64,
        fail: bool,
    }

    impl CoreDecoder for Counter {
        fn fill(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, TraceError> {
            while out.len() < max {
                if self.left == 0 {
                    return if self.fail { Err(TraceError::Empty { path: "x".into() }) } else { Ok(false) };
                }
                self.left -= 1;
                out.push(Record::access(TraceOp::Read, self.left, 4, 1));
            }
            Ok(true)
        }
        fn ifetches(&self) -> u64 {
            7
        }
    }

    #[test]
    fn delivers_everything_then_ends_with_counts() {
        let n = 3 * BATCH as u64 + 5;
        let mut s = spawn_core(0, None, move || Ok(Box::new(Counter { left: n, fail: false }) as _));
        let mut got = 0;
        while let Some(r) = s.next().unwrap() {
            assert_eq!(r.addr, n - 1 - got);
            got += 1;
            if got == 10 {
                assert_eq!(s.summary().records, 10);
            }
        }
        assert_eq!(got, n);
        assert!(s.next().unwrap().is_none());
        let sum = s.summary();
        assert_eq!((sum.records, sum.loads, sum.compute_cycles), (n, n, n));
        assert_eq!(sum.ifetches_skipped, 7);
    }

    #[test]
    fn error_arrives_after_records_and_sticks() {
        let mut s = spawn_core(3, None, || Ok(Box::new(Counter { left: 10, fail: true }) as _));
        for _ in 0..10 {
            assert!(s.next().unwrap().is_some());
        }
        assert!(matches!(s.next(), Err(TraceError::Empty { .. })));
        assert!(matches!(s.next(), Err(TraceError::Empty { .. })));
    }

    #[test]
    fn from_records() {
        let recs = vec![Record::compute(5); 3];
        let mut s = CoreStream::from_records(1, recs);
        assert_eq!(s.core(), 1);
        for _ in 0..3 {
            assert_eq!(s.next().unwrap(), Some(Record::compute(5)));
        }
        assert_eq!(s.next().unwrap(), None);
        assert_eq!(s.summary().compute_cycles, 15);
    }
}
