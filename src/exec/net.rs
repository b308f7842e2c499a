//! The harness of an actor run: what the cores share outside simulated
//! memory (the fault plan, the clocks, when the run ends) and the record of
//! what happened (every software message with its cost, every graded clock
//! claim, every logical-clock event). The algorithms never read it; it is the
//! experimenter's notebook, filled by the runtime (`exec::actor`).

use std::any::Any;
use std::cell::{Cell, RefCell};

use super::clock::{Clock, ClockSpec};
use super::cost::Counts;
use super::fault::Plan;
use super::mailbox::Layout;
use crate::model::Primitive;
use crate::model::network::Cycle;

/// A process's claim about another's clock, at the moment it makes it: its
/// estimate of `peer`'s clock minus its own, and the error bound it states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Claim {
    pub peer: usize,
    pub offset: i64,
    pub bound: u64,
}

/// A claim with the truth beside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradedClaim {
    pub core: usize,
    pub at: Cycle,
    pub claim: Claim,
    /// `peer`'s clock minus `core`'s, exactly, at `at`.
    pub truth: f64,
}

/// One event of a process with a logical clock: its stamp, when it happened,
/// the physical reading the handler saw, and its messages (ids in the log).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stamped {
    pub core: usize,
    /// The process's event count after it (1 for its first event).
    pub index: u32,
    pub cycle: Cycle,
    pub physical: u64,
    pub stamp: Vec<u64>,
    pub sent: Vec<u32>,
    pub received: Option<u32>,
}

/// Something an actor's handler did that its app's monitors grade (a value
/// decided, a leader elected, an entry applied, a lock granted): a kind and
/// the words it needs, as the actor's `OnCore::notes` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    pub kind: &'static str,
    pub words: Vec<u64>,
}

impl Note {
    pub fn new(kind: &'static str, words: &[u64]) -> Note {
        Note { kind, words: words.to_vec() }
    }
}

/// A note with where and when: the core and the cycle its handler started.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Noted {
    pub core: usize,
    pub cycle: Cycle,
    pub note: Note,
}

/// One software message: who sent it, what it was, what became of it, and
/// what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SwMessage {
    pub from: usize,
    pub to: usize,
    pub kind: &'static str,
    pub primitive: Primitive,
    /// Its encoding's length.
    pub bytes: usize,
    /// The cycle its handler recorded it.
    pub sent_at: Cycle,
    /// Copies the fault plan let through (0: lost, 2: duplicated). The plan is
    /// applied when the handler records the send: a partition cuts messages
    /// sent in its span, and a message delayed into one still arrives.
    pub copies: u32,
    /// Cycles it waited at its sender (a delay fault).
    pub delay: Cycle,
    /// Cycles writing its copies into the ring took, and the coherence
    /// messages those writes caused.
    pub send_cycles: Cycle,
    pub send_coherence: u64,
    /// Each copy taken by the receiver: when, how long taking it took, and the
    /// coherence messages taking it caused (the tail load that found it
    /// included).
    pub received: Vec<Receipt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Receipt {
    pub at: Cycle,
    pub cycles: Cycle,
    pub coherence: u64,
}

impl SwMessage {
    /// Coherence messages sending and taking it caused.
    pub fn coherence(&self) -> u64 {
        self.send_coherence + self.received.iter().map(|r| r.coherence).sum::<u64>()
    }
}

/// What the cores share through the harness (not through simulated memory):
/// the plan, the end of the run, and the record of what happened. The
/// algorithms never read it; it is the experimenter's notebook.
pub struct Net {
    pub layout: Layout,
    pub plan: Plan,
    pub(super) seed: u64,
    /// Coherence messages by requester core (from `cost::ByCore`).
    pub(super) counts: Counts,
    /// The critical section's body: the shared counter and the cycles of work.
    pub(super) counter: u64,
    pub(super) cs_cycles: Cycle,
    pub(super) finished: Vec<Cell<bool>>,
    pub(super) crash_at: Vec<Option<Cycle>>,
    /// The run ends at this cycle even if not every process finished (the
    /// algorithms that never stop by themselves, or a liveness failure).
    pub(super) deadline: Option<Cycle>,
    /// The cycle the run ended at its deadline.
    pub at_deadline: Cell<Option<Cycle>>,
    /// Cycles a durable write (`Command::Save`) takes.
    pub(super) save_cycles: Cycle,
    /// Durable writes made.
    pub saves: Cell<u64>,
    /// Restarts after crash-recovery faults, by core.
    pub restarts: RefCell<Vec<u32>>,
    /// The run ends as stalled when no core made progress (ran a handler,
    /// wrote or took a message) for this many cycles; at least 10·cores².
    pub(super) stall: Cycle,
    pub(super) last_progress: Cell<Cycle>,
    /// The cycle the run was found stalled at.
    pub stalled: Cell<Option<Cycle>>,
    /// Every message sent, by id.
    pub log: RefCell<Vec<SwMessage>>,
    /// Per ring (`from * n + to`), the ids of the copies written, in order.
    pub(super) rings: RefCell<Vec<Vec<u32>>>,
    /// Polls of an empty ring and the coherence messages they caused.
    pub polls: Cell<(u64, u64)>,
    /// Each core's physical clock.
    pub clocks: RefCell<Vec<Clock>>,
    pub claims: RefCell<Vec<GradedClaim>>,
    pub stamps: RefCell<Vec<Stamped>>,
    /// Every note of every handler, in the order the handlers ran.
    pub notes: RefCell<Vec<Noted>>,
    /// Each process's state when the run ended (`None`: crashed for good);
    /// an app takes its own type back with `downcast_ref`.
    pub finals: RefCell<Vec<Option<Box<dyn Any>>>>,
}

impl Net {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        layout: Layout,
        cores: usize,
        plan: Plan,
        seed: u64,
        counts: Counts,
        counter: u64,
        cs_cycles: Cycle,
        stall: Cycle,
    ) -> Net {
        let crash_at = (0..cores).map(|c| plan.crash_stop(c)).collect();
        Net {
            layout,
            plan,
            seed,
            counts,
            counter,
            cs_cycles,
            finished: (0..cores).map(|_| Cell::new(false)).collect(),
            crash_at,
            deadline: None,
            at_deadline: Cell::new(None),
            save_cycles: 0,
            saves: Cell::new(0),
            restarts: RefCell::new(vec![0; cores]),
            // At least 10 cycles per ring: when every core first polls every
            // ring, the cold misses queue at the directory for about
            // cores² times its latency, with no handler running meanwhile.
            stall: stall.max(10 * (cores * cores) as Cycle),
            last_progress: Cell::new(0),
            stalled: Cell::new(None),
            log: RefCell::new(Vec::new()),
            rings: RefCell::new(vec![Vec::new(); cores * cores]),
            polls: Cell::new((0, 0)),
            clocks: RefCell::new((0..cores).map(|c| Clock::new(ClockSpec::default(), seed ^ c as u64)).collect()),
            claims: RefCell::new(Vec::new()),
            stamps: RefCell::new(Vec::new()),
            notes: RefCell::new(Vec::new()),
            finals: RefCell::new((0..cores).map(|_| None).collect()),
        }
    }

    /// The run ends at `deadline` at the latest; a durable write takes
    /// `save_cycles`.
    pub fn with_deadline(self, deadline: Option<Cycle>, save_cycles: Cycle) -> Net {
        Net { deadline, save_cycles, ..self }
    }

    /// The cores' clocks built from `specs` (one per core), their read
    /// jitter seeded from the run's seed.
    pub fn with_clocks(self, specs: &[ClockSpec]) -> Net {
        let seed = self.seed;
        let clocks = specs.iter().enumerate().map(|(c, s)| Clock::new(*s, seed ^ (c as u64 + 1) << 32)).collect();
        Net { clocks: RefCell::new(clocks), ..self }
    }

    pub(super) fn cores(&self) -> usize {
        self.finished.len()
    }

    /// Whether the run is over at `now`: every process finished or crashed,
    /// or no core made progress for `stall` cycles.
    pub(super) fn over(&self, now: Cycle) -> bool {
        if self.stalled.get().is_some() || self.at_deadline.get().is_some() {
            return true;
        }
        if let Some(d) = self.deadline
            && now >= d
        {
            self.at_deadline.set(Some(now));
            return true;
        }
        let done = (0..self.cores()).all(|c| self.finished[c].get() || self.crash_at[c].is_some_and(|t| now >= t));
        if !done && now.saturating_sub(self.last_progress.get()) > self.stall {
            self.stalled.set(Some(now));
        }
        done || self.stalled.get().is_some()
    }

    /// Something happened on a core at `now` (a handler ran, a message was
    /// written or taken): the stall window starts again.
    pub(super) fn progress(&self, now: Cycle) {
        self.last_progress.set(self.last_progress.get().max(now));
    }

    /// A finding when the run was ended for want of progress (an app whose
    /// processes are not expected to block reports it as a violation).
    pub fn stall_finding(&self) -> Option<super::monitor::Finding> {
        let at = self.stalled.get()?;
        Some(super::monitor::Finding {
            monitor: "progress",
            cycle: at,
            cores: (0..self.cores()).collect(),
            what: format!("no core made progress for the stall window before cycle {at}: the run was ended"),
        })
    }

    /// Whether every process finished (none crashed before finishing, no stall).
    pub fn all_finished(&self) -> bool {
        self.finished.iter().all(Cell::get)
    }
}
