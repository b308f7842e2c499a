//! Programs on the simulated cores: each core runs an `async` Rust function
//! given a [`Ctx`] for its core. Every memory operation it awaits goes through
//! that core's L1 exactly as a trace record does (same engine, same protocol),
//! and the future resumes with the value when the model completes it. Locals
//! are registers; anything shared lives in simulated memory, so every hand-off
//! between cores is coherence traffic.
//!
//! The executor is cohsim's own, deterministic and single-threaded: the engine
//! asks a core for its next step (`Frontend::next`), and the executor polls that
//! core's future once, with a waker that does nothing, until the future asks for
//! one operation (the step) or finishes. No host time, no runtime crate, no
//! hash-order iteration: the same program and seed replay bit for bit.
//!
//! A program that panics fails the run (`FrontendError::Failed`, naming the
//! core and cycle), never the host. A program that awaits anything but its
//! context's operations, or two of them at once (`join!`), is refused the same
//! way.
//!
//! Programs also report software events (a lock acquired, released) with
//! [`Ctx::event`]; they cost nothing in simulated time and feed the monitors
//! (`exec::monitor`) that check software properties on every run.

pub mod actor;
pub mod alloc;
pub mod clock;
pub mod cost;
pub mod fault;
pub mod mailbox;
pub mod monitor;
pub mod net;
pub mod untimed;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::engine::{Frontend, FrontendError, Step};
use crate::model::network::Cycle;
use crate::model::{Access, MemOp};
use crate::trace::{Record, TraceOp};
use fault::{Plan, Verdict};

/// What a program said happened in software, at a simulated cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SwEvent {
    pub core: usize,
    pub cycle: Cycle,
    pub kind: SwEventKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwEventKind {
    /// The core starts to acquire the lock.
    Acquiring,
    /// The core holds the lock from now on (its acquire completed).
    Acquired,
    /// The core gives the lock up (its release is about to be issued).
    Releasing,
    /// The core's release is done.
    Released,
}

/// One core's side of the executor: the operation its future asked for, the
/// value it is waiting for, its clock. Cells, not a `RefCell`: each operation
/// reads and writes a few words, and borrow flags would cost as much again.
#[derive(Debug, Default)]
struct Port {
    /// The step the future asked for and the executor has not handed out.
    asked: Cell<Option<Step>>,
    /// `asked` holds a step (a flag, so checking it copies no step).
    busy: Cell<bool>,
    /// The value of the core's last completed access, not yet taken.
    value: Cell<Option<u64>>,
    now: Cell<Cycle>,
    /// Events reported since the engine last asked (drained into the log).
    events: RefCell<Vec<(Cycle, SwEventKind)>>,
}

/// A program's view of its core: memory operations, time, its identity.
#[derive(Clone)]
pub struct Ctx {
    port: Rc<Port>,
    id: usize,
    cores: usize,
    /// Where the core's coherence messages are charged (see `cost`).
    phases: Option<cost::Phases>,
}

impl Ctx {
    /// This core's index.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many cores run programs.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// The core's clock: the cycle its current step started at.
    pub fn now(&self) -> Cycle {
        self.port.now.get()
    }

    /// Reports a software event at the current cycle (costs no time).
    pub fn event(&self, kind: SwEventKind) {
        if let Some(p) = &self.phases {
            p[self.id].set(cost::Phase::after(kind));
        }
        self.port.events.borrow_mut().push((self.port.now.get(), kind));
    }

    fn op(&self, step: Step) -> Op<'_> {
        Op { port: &self.port, step: Some(step) }
    }

    fn access(&self, addr: u64, op: MemOp) -> Op<'_> {
        self.op(Step::access(0, Access { addr, op }))
    }

    /// Loads the 8-byte word at `addr`.
    pub fn load(&self, addr: u64) -> Op<'_> {
        self.access(addr, MemOp::Load)
    }

    /// Stores `value` to the word at `addr`.
    pub fn store(&self, addr: u64, value: u64) -> Op<'_> {
        self.access(addr, MemOp::Store(value))
    }

    /// Atomically writes `value`; returns the old word.
    pub fn swap(&self, addr: u64, value: u64) -> Op<'_> {
        self.access(addr, MemOp::Swap(value))
    }

    /// Atomically adds `value`; returns the old word.
    pub fn fetch_add(&self, addr: u64, value: u64) -> Op<'_> {
        self.access(addr, MemOp::FetchAdd(value))
    }

    /// Atomically writes `new` if the word is `expected`; returns the old word
    /// (the exchange happened when it equals `expected`).
    pub fn compare_exchange(&self, addr: u64, expected: u64, new: u64) -> Op<'_> {
        self.access(addr, MemOp::CompareExchange { expected, new })
    }

    /// An ordering fence (free: cores are in order and sequentially consistent).
    pub fn fence(&self) -> Op<'_> {
        self.op(Step::Fence)
    }

    /// Spends `cycles` cycles without touching memory.
    pub fn compute(&self, cycles: Cycle) -> Op<'_> {
        self.op(Step::Compute(cycles))
    }
}

/// One operation a program awaits: it asks once, then resolves with the value
/// (0 for a fence or compute) when the core takes it up again.
pub struct Op<'a> {
    port: &'a Port,
    step: Option<Step>,
}

impl Future for Op<'_> {
    type Output = u64;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u64> {
        let this = &mut *self;
        if let Some(step) = this.step.take() {
            // One operation at a time: a core does one thing at once.
            assert!(!this.port.busy.replace(true), "two operations awaited at once (a core issues one at a time)");
            this.port.asked.set(Some(step));
            this.port.value.set(None);
            return Poll::Pending;
        }
        // Asked before: the engine took the step and polled again, so it is
        // done (an access's value arrived with its completion).
        Poll::Ready(this.port.value.take().unwrap_or(0))
    }
}

/// A program: an async function of its core's context. Every core's program
/// has one type `P` (the future its maker returns), so the executor polls it
/// without dynamic dispatch.
pub type Program<P> = Pin<Box<P>>;

/// The programs of every core as the engine's front end.
pub struct Programs<P: Future<Output = ()>> {
    cores: Vec<Slot<P>>,
    /// Every software event, in the order the engine reached them.
    pub events: Vec<SwEvent>,
    /// The faults injected into the programs.
    pub faults: Plan,
    /// With `record`: each core's accesses as trace records (compute folded
    /// into the next access's gap), ready for a native CSV trace.
    recorded: Option<Vec<Vec<Record>>>,
    /// Compute cycles each core spent since its last recorded access.
    pending_gap: Vec<Cycle>,
}

struct Slot<P> {
    program: Option<Program<P>>,
    port: Rc<Port>,
}

impl<P: Future<Output = ()>> Programs<P> {
    /// `make(ctx)` builds core `c`'s program, for `cores` cores.
    pub fn new<F>(cores: usize, make: F) -> Self
    where
        F: FnMut(Ctx) -> P,
    {
        Programs::with_phases(cores, None, make)
    }

    /// `new`, with each core's events setting its phase in `phases` (for
    /// charging coherence messages to software operations, `cost::OpCost`).
    pub fn with_phases<F>(cores: usize, phases: Option<cost::Phases>, mut make: F) -> Self
    where
        F: FnMut(Ctx) -> P,
    {
        let cores: Vec<Slot<P>> = (0..cores)
            .map(|id| {
                let port = Rc::new(Port::default());
                let ctx = Ctx { port: port.clone(), id, cores, phases: phases.clone() };
                Slot { program: Some(Box::pin(make(ctx))), port }
            })
            .collect();
        let n = cores.len();
        Programs { cores, events: Vec::new(), faults: Plan::default(), recorded: None, pending_gap: vec![0; n] }
    }

    /// Keeps every access the programs make, for [`Programs::recording`].
    pub fn record(&mut self) {
        self.recorded = Some(vec![Vec::new(); self.cores.len()]);
    }

    /// What `record` kept: per core, its accesses with their values and gaps,
    /// then any compute at the end. Replayed (`cohsim run`), they give the same
    /// per-core counts and timing as the program run.
    pub fn recording(&self) -> Option<Vec<Vec<Record>>> {
        let mut cores = self.recorded.clone()?;
        for (c, records) in cores.iter_mut().enumerate() {
            if self.pending_gap[c] > 0 {
                records.push(Record::compute(self.pending_gap[c]));
            }
        }
        Some(cores)
    }

    #[inline]
    fn keep(&mut self, core: usize, step: &Step) {
        if self.recorded.is_some() {
            self.keep_slow(core, step);
        }
    }

    #[cold]
    fn keep_slow(&mut self, core: usize, step: &Step) {
        let Some(recorded) = self.recorded.as_mut() else { return };
        match *step {
            Step::Compute(c) => self.pending_gap[core] += c,
            Step::Access { gap, access, .. } => {
                let (op, value) = match access.op {
                    MemOp::Load => (TraceOp::Read, None),
                    MemOp::Store(v) => (TraceOp::Write, Some(v)),
                    MemOp::Swap(v) => (TraceOp::Swap, Some(v)),
                    MemOp::FetchAdd(v) => (TraceOp::FetchAdd, Some(v)),
                    MemOp::CompareExchange { expected, new } => (TraceOp::Cas { expected }, Some(new)),
                };
                let gap = std::mem::take(&mut self.pending_gap[core]) + gap;
                recorded[core].push(Record { value, ..Record::access(op, access.addr, 8, gap) });
            }
            Step::Fence | Step::Done => {}
        }
    }
}

impl<P: Future<Output = ()>> Frontend for Programs<P> {
    fn next(&mut self, core: usize, now: Cycle) -> Result<Step, FrontendError> {
        match self.faults.verdict(core, now) {
            Verdict::Run => {}
            // The program stops; the core's cache stays in the machine.
            Verdict::Crashed => {
                self.cores[core].program = None;
                return Ok(Step::Done);
            }
            Verdict::Wait(cycles) => {
                let step = Step::Compute(cycles);
                self.keep(core, &step);
                return Ok(step);
            }
        }
        let step = self.poll(core, now)?;
        self.keep(core, &step);
        Ok(step)
    }

    fn completed(&mut self, core: usize, value: u64) {
        self.cores[core].port.value.set(Some(value));
    }
}

impl<P: Future<Output = ()>> Programs<P> {
    /// Polls core `core`'s program once: the step it asks for, or `Done`.
    fn poll(&mut self, core: usize, now: Cycle) -> Result<Step, FrontendError> {
        let slot = &mut self.cores[core];
        slot.port.now.set(now);
        let Some(program) = slot.program.as_mut() else {
            return Ok(Step::Done);
        };
        // Nothing to wake: the engine polls a core again when it takes it up.
        let mut cx = Context::from_waker(Waker::noop());
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| program.as_mut().poll(&mut cx)));
        let port = &slot.port;
        let mut events = port.events.borrow_mut();
        if !events.is_empty() {
            self.events.extend(events.drain(..).map(|(cycle, kind)| SwEvent { core, cycle, kind }));
        }
        drop(events);
        match polled {
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string());
                slot.program = None;
                Err(FrontendError::Failed { core, cycle: now, what: format!("the program panicked: {what}") })
            }
            Ok(Poll::Ready(())) => {
                slot.program = None;
                Ok(Step::Done)
            }
            Ok(Poll::Pending) => match port.busy.replace(false).then(|| port.asked.take()).flatten() {
                Some(step) => Ok(step),
                None => {
                    let what = "the program awaited something other than its core's operations".to_string();
                    Err(FrontendError::Failed { core, cycle: now, what })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemConfig;
    use crate::engine::{RunOptions, SimError, Simulator};

    fn machine(cores: usize) -> Simulator {
        Simulator::new(SystemConfig { cores, ..SystemConfig::default() }, RunOptions::default())
    }

    #[test]
    fn programs_see_memory_values_and_their_clock() {
        // Core 0 stores 41 and then fetch-adds 1; core 1 waits until it reads
        // 42, then records how long it waited. The values come from the model.
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let mut p = Programs::new(2, move |ctx| {
            let s = s.clone();
            async move {
                if ctx.id() == 0 {
                    ctx.store(0x40, 41).await;
                    let old = ctx.fetch_add(0x40, 1).await;
                    s.borrow_mut().push(("old", old));
                } else {
                    let start = ctx.now();
                    while ctx.load(0x40).await != 42 {
                        ctx.compute(10).await;
                    }
                    assert!(ctx.now() > start);
                    s.borrow_mut().push(("read", 42));
                    assert_eq!(ctx.cores(), 2);
                }
            }
        });
        let mut sim = machine(2);
        sim.run(&mut p).unwrap();
        let mut got = seen.borrow().clone();
        got.sort();
        assert_eq!(got, [("old", 41), ("read", 42)]);
        assert!(sim.stats.cores[1].loads > 1, "core 1 spun");
    }

    #[test]
    fn a_panicking_program_fails_the_run_naming_core_and_cycle() {
        let mut p = Programs::new(2, |ctx| async move {
            ctx.compute(5).await;
            if ctx.id() == 1 {
                panic!("boom");
            }
        });
        match machine(2).run(&mut p) {
            Err(SimError::Frontend(FrontendError::Failed { core: 1, cycle: 5, what })) => {
                assert!(what.contains("boom"), "{what}")
            }
            other => panic!("expected core 1's failure, got {other:?}"),
        }
    }

    #[test]
    fn two_operations_at_once_are_refused() {
        // A core issues one operation at a time: polling two together would
        // lose one of them, so the run fails instead.
        let mut p = Programs::new(1, |ctx| async move {
            let mut a = std::pin::pin!(ctx.load(0x40));
            let mut b = std::pin::pin!(ctx.load(0x80));
            std::future::poll_fn(|cx| {
                let _ = a.as_mut().poll(cx);
                b.as_mut().poll(cx)
            })
            .await;
        });
        assert!(matches!(machine(1).run(&mut p), Err(SimError::Frontend(FrontendError::Failed { core: 0, .. }))));
    }

    #[test]
    fn awaiting_anything_else_is_refused() {
        let mut p = Programs::new(1, |_ctx| async move {
            std::future::pending::<()>().await;
        });
        assert!(matches!(machine(1).run(&mut p), Err(SimError::Frontend(FrontendError::Failed { core: 0, .. }))));
    }
}
