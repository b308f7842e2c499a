//! The observer seam: what the engine tells whatever watches a run (the
//! invariant checker, the miss classifier, later a timeline), through one trait.
//! The engine never names an observer; observers never change the model. An
//! observer may find a run wrong (a violation): the engine stops it and reports
//! the finding with the line's states and history.
//!
//! Every hook has a default that does nothing, so an observer implements what it
//! needs. Observers compose: `()` watches nothing, `Option<T>` and `(A, B)` are
//! observers, and so is a list of boxed ones ([`Observers`], what
//! `Simulator::new` starts with and `Simulator::observe` extends). A simulator
//! whose observer is known by type (`Simulator::with_observer`) has every hook
//! inlined, as a replay's hot path needs. Hooks come in simulated-time order per core, but a core running ahead
//! (see `ahead`) reports its hits before other cores' earlier events: an
//! observer that relates events across cores orders them by the cycles given
//! (`stats::classify::order_key` is one way), never by when it is told.

use crate::model::l1::L1Controller;
use crate::model::network::Cycle;
use crate::model::{Access, LineAddr, MemOp, Msg, Note};
use crate::reuse::Reuse;

use super::counters::Stats;

/// What an observer found wrong, and on which line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub line: LineAddr,
}

/// The machine as an observer may read it after an input: every L1.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub l1s: &'a [L1Controller],
    pub line_bytes: u64,
}

/// A hit the core performed in its L1 on the engine's general path, at cycle `at`.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    pub core: u16,
    pub addr: u64,
    pub line: LineAddr,
    pub op: MemOp,
    pub writes: bool,
    /// The word the hit read and the word it wrote.
    pub loaded: u64,
    pub stored: Option<u64>,
    pub reuse: Reuse,
    pub at: Cycle,
}

pub trait Observer {
    /// Whether the observer watches anything at all (the engine skips telling
    /// one that does not: `()`, an empty list).
    fn watches(&self) -> bool {
        true
    }

    /// Whether the observer must see every access performed, with its values
    /// (the checker): the engine then takes every hit through its general path
    /// and reports each one. Otherwise it reports only hits that store or whose
    /// reuse the front end did not work out (a load hit with known reuse shows an
    /// observer nothing new), and a front end's fast path may take plain hits.
    fn sees_every_access(&self) -> bool {
        false
    }

    /// A hit on the general path, with its values (every hit, when some
    /// observer sees every access).
    fn hit(&mut self, _hit: &Hit) -> Result<(), Finding> {
        Ok(())
    }

    /// A plain load or store hit from a front end's fast path, at cycle `at`
    /// (only when no observer sees every access; then only store hits, and load
    /// hits whose reuse the front end did not work out). The hottest hook: its
    /// arguments travel in registers, and it cannot fail.
    fn plain_hit(&mut self, _core: u16, _addr: u64, _writes: bool, _reuse: Reuse, _at: Cycle) {}

    /// A core takes its turn at cycle `now`, the earliest thing left in the
    /// system (every note from now on comes at `now` or later). Its hits before
    /// cycle `ordered` come before, in simulated time, everything the engine has
    /// yet to handle; hits at `ordered` or later run ahead (see `ahead`), and an
    /// input the engine handles after them (an Inv to another L1, say) may
    /// precede them. An observer that relates hits to other cores' events can
    /// tell from it which hits to hold on to, and until when.
    fn turn(&mut self, _now: Cycle, _ordered: Cycle) {}

    /// Core `core` sent an access to its L1 that did not hit, at cycle `at`:
    /// `miss` when it found no valid copy (else an upgrade, or an access the L1
    /// could not take yet).
    fn issued(&mut self, _core: u16, _access: Access, _miss: bool, _reuse: Reuse, _at: Cycle) {}

    /// The notes a controller emitted for one input, at cycle `cycle` (its
    /// transition, accesses performed, a completion, memory accesses, ...), in
    /// the order emitted. The first finding stops the run.
    fn notes(&mut self, _cycle: Cycle, _notes: &[Note], _view: View) -> Result<(), Finding> {
        Ok(())
    }

    /// A message a controller sent at cycle `cycle`.
    fn message(&mut self, _cycle: Cycle, _msg: &Msg) {}

    /// Whether [`Observer::after_input`] checks anything (the engine skips the
    /// call otherwise).
    fn checks_lines(&self) -> bool {
        false
    }

    /// After a controller took an input for `line`: the state may be checked.
    /// Asked only of observers whose [`Observer::checks_lines`] is true.
    fn after_input(&mut self, _line: LineAddr, _view: View) -> Result<(), Finding> {
        Ok(())
    }

    /// What the observer remembers of `line`, for a violation report.
    fn history(&self, _line: LineAddr) -> Vec<String> {
        Vec::new()
    }

    /// The run finished: add what the observer measured to the statistics.
    fn finish(&mut self, _stats: &mut Stats) {}
}

/// Observers attached one by one, told in the order attached.
pub type Observers = Vec<Box<dyn Observer>>;

/// Nothing watches.
impl Observer for () {
    fn watches(&self) -> bool {
        false
    }
}

impl<T: Observer> Observer for Option<T> {
    fn watches(&self) -> bool {
        self.as_ref().is_some_and(|o| o.watches())
    }
    fn sees_every_access(&self) -> bool {
        self.as_ref().is_some_and(|o| o.sees_every_access())
    }
    #[inline]
    fn hit(&mut self, hit: &Hit) -> Result<(), Finding> {
        self.as_mut().map_or(Ok(()), |o| o.hit(hit))
    }
    #[inline(always)]
    fn plain_hit(&mut self, core: u16, addr: u64, writes: bool, reuse: Reuse, at: Cycle) {
        if let Some(o) = self {
            o.plain_hit(core, addr, writes, reuse, at);
        }
    }
    fn turn(&mut self, now: Cycle, ordered: Cycle) {
        if let Some(o) = self {
            o.turn(now, ordered);
        }
    }
    fn issued(&mut self, core: u16, access: Access, miss: bool, reuse: Reuse, at: Cycle) {
        if let Some(o) = self {
            o.issued(core, access, miss, reuse, at);
        }
    }
    #[inline]
    fn notes(&mut self, cycle: Cycle, notes: &[Note], view: View) -> Result<(), Finding> {
        self.as_mut().map_or(Ok(()), |o| o.notes(cycle, notes, view))
    }
    fn message(&mut self, cycle: Cycle, msg: &Msg) {
        if let Some(o) = self {
            o.message(cycle, msg);
        }
    }
    fn checks_lines(&self) -> bool {
        self.as_ref().is_some_and(|o| o.checks_lines())
    }
    fn after_input(&mut self, line: LineAddr, view: View) -> Result<(), Finding> {
        self.as_mut().map_or(Ok(()), |o| o.after_input(line, view))
    }
    fn history(&self, line: LineAddr) -> Vec<String> {
        self.as_ref().map_or_else(Vec::new, |o| o.history(line))
    }
    fn finish(&mut self, stats: &mut Stats) {
        if let Some(o) = self {
            o.finish(stats);
        }
    }
}

/// Two observers, told in order (the first finding wins).
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn watches(&self) -> bool {
        self.0.watches() || self.1.watches()
    }
    fn sees_every_access(&self) -> bool {
        self.0.sees_every_access() || self.1.sees_every_access()
    }
    #[inline]
    fn hit(&mut self, hit: &Hit) -> Result<(), Finding> {
        self.0.hit(hit)?;
        self.1.hit(hit)
    }
    #[inline(always)]
    fn plain_hit(&mut self, core: u16, addr: u64, writes: bool, reuse: Reuse, at: Cycle) {
        self.0.plain_hit(core, addr, writes, reuse, at);
        self.1.plain_hit(core, addr, writes, reuse, at);
    }
    fn turn(&mut self, now: Cycle, ordered: Cycle) {
        self.0.turn(now, ordered);
        self.1.turn(now, ordered);
    }
    fn issued(&mut self, core: u16, access: Access, miss: bool, reuse: Reuse, at: Cycle) {
        self.0.issued(core, access, miss, reuse, at);
        self.1.issued(core, access, miss, reuse, at);
    }
    #[inline]
    fn notes(&mut self, cycle: Cycle, notes: &[Note], view: View) -> Result<(), Finding> {
        self.0.notes(cycle, notes, view)?;
        self.1.notes(cycle, notes, view)
    }
    fn message(&mut self, cycle: Cycle, msg: &Msg) {
        self.0.message(cycle, msg);
        self.1.message(cycle, msg);
    }
    fn checks_lines(&self) -> bool {
        self.0.checks_lines() || self.1.checks_lines()
    }
    fn after_input(&mut self, line: LineAddr, view: View) -> Result<(), Finding> {
        if self.0.checks_lines() {
            self.0.after_input(line, view)?;
        }
        if self.1.checks_lines() {
            self.1.after_input(line, view)?;
        }
        Ok(())
    }
    fn history(&self, line: LineAddr) -> Vec<String> {
        let mut h = self.0.history(line);
        h.extend(self.1.history(line));
        h
    }
    fn finish(&mut self, stats: &mut Stats) {
        self.0.finish(stats);
        self.1.finish(stats);
    }
}

impl Observer for Observers {
    fn watches(&self) -> bool {
        self.iter().any(|o| o.watches())
    }
    fn sees_every_access(&self) -> bool {
        self.iter().any(|o| o.sees_every_access())
    }
    fn hit(&mut self, hit: &Hit) -> Result<(), Finding> {
        self.iter_mut().try_for_each(|o| o.hit(hit))
    }
    fn plain_hit(&mut self, core: u16, addr: u64, writes: bool, reuse: Reuse, at: Cycle) {
        for o in self {
            o.plain_hit(core, addr, writes, reuse, at);
        }
    }
    fn turn(&mut self, now: Cycle, ordered: Cycle) {
        for o in self {
            o.turn(now, ordered);
        }
    }
    fn issued(&mut self, core: u16, access: Access, miss: bool, reuse: Reuse, at: Cycle) {
        for o in self {
            o.issued(core, access, miss, reuse, at);
        }
    }
    fn notes(&mut self, cycle: Cycle, notes: &[Note], view: View) -> Result<(), Finding> {
        self.iter_mut().try_for_each(|o| o.notes(cycle, notes, view))
    }
    fn message(&mut self, cycle: Cycle, msg: &Msg) {
        for o in self {
            o.message(cycle, msg);
        }
    }
    fn checks_lines(&self) -> bool {
        self.iter().any(|o| o.checks_lines())
    }
    fn after_input(&mut self, line: LineAddr, view: View) -> Result<(), Finding> {
        self.iter_mut().filter(|o| o.checks_lines()).try_for_each(|o| o.after_input(line, view))
    }
    fn history(&self, line: LineAddr) -> Vec<String> {
        self.iter().flat_map(|o| o.history(line)).collect()
    }
    fn finish(&mut self, stats: &mut Stats) {
        for o in self {
            o.finish(stats);
        }
    }
}
