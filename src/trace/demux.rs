//! Demultiplexing a trace that holds every core in one file (native CSV) into
//! per-core `CoreStream`s without deadlock and with bounded memory.
//!
//! One thread parses the file in order and deals records into per-core
//! batches. The consumer may want core 1 while core 0's channel is full; a
//! thread that simply blocked on core 0 would then never reach core 1's
//! records. So a batch that does not fit its channel goes to that core's
//! *overflow queue*, and the thread blocks only when it is safe:
//!
//! * A stream that finds its channel empty sends its core number on a shared
//!   *hunger* channel before it blocks. A core is *starving* when it is hungry
//!   and has nothing in its channel or overflow.
//! * While some core starves, the thread keeps parsing (and hands the starving
//!   core its partial batch at once), since only the file's later rows can feed
//!   it.
//! * Otherwise, as soon as any overflow exists, the thread blocks until either
//!   an overflowing channel takes a batch or a hunger message arrives.
//!
//! Memory: each core's channel holds at most `CHANNEL_BATCHES` batches. The
//! overflow stays at about one batch when the file interleaves cores the way
//! the consumer reads them (the writer orders rows by issue time, so files it
//! writes do). It grows only while the consumer starves on a core whose next
//! row lies far ahead in the file: every row in between must then be held —
//! for a file written core after core, up to the whole file. That is inherent
//! to the layout, not to this reader; use per-core or `bin` traces for large
//! runs.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::thread;

use crossbeam_channel::{Receiver, Select, Sender, TrySendError, bounded, unbounded};

use super::Record;
use super::error::TraceError;
use super::stream::{BATCH, CHANNEL_BATCHES, CoreStream, Msg, StreamSummary};
use crate::reuse::ReuseTracker;

/// A decoder of a file that interleaves cores.
pub(crate) trait RowDecoder {
    fn next_row(&mut self) -> Result<Option<(usize, Record)>, TraceError>;
}

impl RowDecoder for super::csv::CsvDecoder {
    fn next_row(&mut self) -> Result<Option<(usize, Record)>, TraceError> {
        super::csv::CsvDecoder::next_row(self)
    }
}

/// Rows parsed between checks for hungry streams.
const POLL_ROWS: u32 = 256;

/// Starts the demux thread; returns one stream per core.
/// With a `tracker`, the thread also fills in each record's reuse (one tracker
/// per core).
pub(crate) fn spawn<D, F>(path: &Path, cores: usize, tracker: Option<ReuseTracker>, make: F) -> Vec<CoreStream>
where
    D: RowDecoder,
    F: FnOnce() -> Result<D, TraceError> + Send + 'static,
{
    let (hunger_tx, hunger_rx) = unbounded();
    let (recycle_tx, recycle_rx) = bounded(cores * (CHANNEL_BATCHES + 2));
    let mut streams = Vec::with_capacity(cores);
    let mut lanes = Vec::with_capacity(cores);
    for core in 0..cores {
        let (tx, rx) = bounded(CHANNEL_BATCHES);
        streams.push(CoreStream::new(core, rx, recycle_tx.clone(), Some(hunger_tx.clone())));
        lanes.push(Lane {
            tx,
            cur: Vec::new(),
            pending: VecDeque::new(),
            hungry: false,
            live: true,
            tracker: tracker.clone(),
        });
    }
    let demux = Demux { path: path.to_path_buf(), lanes, hunger: hunger_rx, recycle: recycle_rx, pending: 0 };
    let spawned = thread::Builder::new().name("trace-demux".into()).spawn(move || demux.run(make));
    if let Err(e) = spawned {
        let e = TraceError::Thread { source: std::sync::Arc::new(e) };
        // The thread never ran, so its channels are gone: give each stream the
        // reason instead of a bare "decoder lost".
        return (0..cores).map(|core| failed_stream(core, e.clone())).collect();
    }
    streams
}

fn failed_stream(core: usize, e: TraceError) -> CoreStream {
    let (tx, rx) = bounded(1);
    let (recycle, _) = bounded(1);
    let _ = tx.send(Msg::Failed(e));
    CoreStream::new(core, rx, recycle, None)
}

struct Lane {
    tx: Sender<Msg>,
    cur: Vec<Record>,
    /// Messages that did not fit the channel, oldest first.
    pending: VecDeque<Msg>,
    hungry: bool,
    /// False once the consumer dropped this core's stream.
    live: bool,
    tracker: Option<ReuseTracker>,
}

impl Lane {
    fn starving(&self) -> bool {
        self.live && self.hungry && self.pending.is_empty() && self.tx.is_empty()
    }
}

struct Demux {
    path: PathBuf,
    lanes: Vec<Lane>,
    hunger: Receiver<usize>,
    recycle: Receiver<Vec<Record>>,
    /// Messages in all overflow queues.
    pending: usize,
}

impl Demux {
    fn run<D: RowDecoder, F: FnOnce() -> Result<D, TraceError>>(mut self, make: F) {
        let last = match make() {
            Ok(mut dec) => self.deal(&mut dec),
            Err(e) => Err(e),
        };
        for core in 0..self.lanes.len() {
            self.seal(core);
            let msg = match &last {
                Ok(()) => Msg::End(StreamSummary::default()),
                Err(e) => Msg::Failed(e.clone()),
            };
            self.enqueue(core, msg);
        }
        while self.pending > 0 {
            self.block(false);
        }
    }

    /// Parses every row into the lanes; returns the decoder's verdict.
    fn deal<D: RowDecoder>(&mut self, dec: &mut D) -> Result<(), TraceError> {
        let mut rows = 0;
        while let Some((core, rec)) = dec.next_row()? {
            let Some(lane) = self.lanes.get_mut(core) else {
                return Err(TraceError::CoreOutOfRange { path: self.path.clone(), core, cores: self.lanes.len() });
            };
            rows += 1;
            let mut sealed = false;
            if lane.live {
                lane.cur.push(rec);
                if lane.cur.len() >= BATCH {
                    self.seal(core);
                    sealed = true;
                }
            }
            if rows >= POLL_ROWS || (sealed && self.pending > 0) {
                rows = 0;
                self.poll();
                while self.pending > 0 && !self.lanes.iter().any(Lane::starving) {
                    self.block(true);
                }
                if self.lanes.iter().all(|l| !l.live) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Moves a lane's partial batch to its queue and tries to send.
    fn seal(&mut self, core: usize) {
        if self.lanes[core].cur.is_empty() {
            return;
        }
        let spare = self.recycle.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let lane = &mut self.lanes[core];
        let mut batch = std::mem::replace(&mut lane.cur, spare);
        if let Some(t) = &mut lane.tracker {
            super::annotate(t, &mut batch);
        }
        let counts = StreamSummary::of(&batch);
        self.enqueue(core, Msg::Batch(batch, counts));
    }

    fn enqueue(&mut self, core: usize, msg: Msg) {
        if self.lanes[core].live {
            self.lanes[core].pending.push_back(msg);
            self.pending += 1;
            self.flush(core);
        }
    }

    /// Sends a lane's queued messages until its channel is full.
    fn flush(&mut self, core: usize) {
        let lane = &mut self.lanes[core];
        while let Some(msg) = lane.pending.pop_front() {
            match lane.tx.try_send(msg) {
                Ok(()) => {
                    self.pending -= 1;
                    lane.hungry = false;
                }
                Err(TrySendError::Full(msg)) => {
                    lane.pending.push_front(msg);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.pending -= 1 + lane.pending.len();
                    lane.pending.clear();
                    lane.cur = Vec::new();
                    lane.live = false;
                    return;
                }
            }
        }
    }

    /// Notes hungry streams, drains what fits, and hands starving lanes
    /// whatever partial batch they have.
    fn poll(&mut self) {
        while let Ok(core) = self.hunger.try_recv() {
            self.lanes[core].hungry = true;
        }
        for core in 0..self.lanes.len() {
            self.flush(core);
            let lane = &mut self.lanes[core];
            if lane.hungry && !lane.tx.is_empty() {
                lane.hungry = false; // it has data; the message was stale
            }
            if lane.starving() && !lane.cur.is_empty() {
                self.seal(core);
            }
        }
    }

    /// Blocks until an overflowing lane's channel takes a message or (when
    /// `listen`) a stream reports hunger.
    fn block(&mut self, listen: bool) {
        let waiting: Vec<(usize, Sender<Msg>)> = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.pending.is_empty())
            .map(|(i, l)| (i, l.tx.clone()))
            .collect();
        if waiting.is_empty() {
            // Only reachable if `pending` miscounted; never wait on nothing.
            debug_assert_eq!(self.pending, 0, "pending count without pending messages");
            self.pending = 0;
            return;
        }
        let hunger = self.hunger.clone();
        let mut sel = Select::new();
        for (_, tx) in &waiting {
            sel.send(tx);
        }
        let hunger_op = listen.then(|| sel.recv(&hunger));
        let op = sel.select();
        let index = op.index();
        if Some(index) == hunger_op {
            if let Ok(core) = op.recv(&hunger) {
                self.lanes[core].hungry = true;
            }
            self.poll();
            return;
        }
        let (core, tx) = &waiting[index];
        let lane = &mut self.lanes[*core];
        let Some(msg) = lane.pending.pop_front() else {
            return; // unreachable: only lanes with pending messages wait
        };
        self.pending -= 1;
        match op.send(tx, msg) {
            Ok(()) => lane.hungry = false,
            Err(_) => {
                self.pending -= lane.pending.len();
                lane.pending.clear();
                lane.cur = Vec::new();
                lane.live = false;
            }
        }
        self.flush(*core);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceOp;

    /// Rows for core 0 first, then core 1: the worst layout.
    struct Blocks {
        per_core: u64,
        cores: usize,
        next: u64,
        fail_at: Option<u64>,
    }

    impl RowDecoder for Blocks {
        fn next_row(&mut self) -> Result<Option<(usize, Record)>, TraceError> {
            if Some(self.next) == self.fail_at {
                return Err(TraceError::Empty { path: "f".into() });
            }
            if self.next == self.per_core * self.cores as u64 {
                return Ok(None);
            }
            let i = self.next;
            self.next += 1;
            let core = (i / self.per_core) as usize;
            Ok(Some((core, Record::access(TraceOp::Read, i, 8, 0))))
        }
    }

    #[test]
    fn consumer_wanting_the_last_core_first_does_not_deadlock() {
        let per_core = 10 * BATCH as u64 + 17;
        let cores = 3;
        let mut streams =
            spawn(Path::new("t"), cores, None, move || Ok(Blocks { per_core, cores, next: 0, fail_at: None }));
        for core in (0..cores).rev() {
            let s = &mut streams[core];
            let mut n = 0;
            while let Some(r) = s.next().unwrap() {
                assert_eq!(r.addr, core as u64 * per_core + n);
                n += 1;
            }
            assert_eq!(n, per_core);
        }
    }

    #[test]
    fn round_robin_consumer_and_dropped_streams() {
        let per_core = 3 * BATCH as u64;
        let mut streams =
            spawn(Path::new("t"), 4, None, move || Ok(Blocks { per_core, cores: 4, next: 0, fail_at: None }));
        drop(streams.remove(2));
        let mut counts = [0u64; 3];
        let mut live = 3;
        while live > 0 {
            live = 0;
            for (i, s) in streams.iter_mut().enumerate() {
                for _ in 0..100 {
                    if s.next().unwrap().is_some() {
                        counts[i] += 1;
                    }
                }
                live += usize::from(counts[i] < per_core);
            }
        }
        assert_eq!(counts, [per_core; 3]);
    }

    #[test]
    fn error_reaches_every_core_after_its_records() {
        let mut streams =
            spawn(Path::new("t"), 2, None, || Ok(Blocks { per_core: 100, cores: 2, next: 0, fail_at: Some(150) }));
        let mut n = 0;
        let e = loop {
            match streams[1].next() {
                Ok(Some(_)) => n += 1,
                Ok(None) => panic!("error lost"),
                Err(e) => break e,
            }
        };
        assert_eq!(n, 50);
        assert!(matches!(e, TraceError::Empty { .. }));
        let mut n = 0;
        while let Ok(Some(_)) = streams[0].next() {
            n += 1;
        }
        assert_eq!(n, 100);
        assert!(streams[0].next().is_err());
    }
}
