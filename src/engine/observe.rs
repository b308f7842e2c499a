//! The observer seam: what the engine tells whatever watches a run (the
//! invariant checker, the miss classifier, later a timeline), through one trait.
//! The engine never names an observer; observers never change the model. An
//! observer may find a run wrong (a violation): the engine stops it and reports
//! the finding with the line's states and history.
//!
//! Every hook has a default that does nothing, so an observer implements what it
//! needs. Hooks come in simulated-time order per core, but a core running ahead
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

/// A hit the core performed in its L1, at cycle `at`.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    pub core: u16,
    pub addr: u64,
    pub line: LineAddr,
    /// The operation, when the engine took the hit through its general path; a
    /// plain load or store from a front end's fast path has `None`.
    pub op: Option<MemOp>,
    pub writes: bool,
    /// The word the hit read and the word it wrote, on the general path.
    pub loaded: u64,
    pub stored: Option<u64>,
    pub reuse: Reuse,
    pub at: Cycle,
}

pub trait Observer {
    /// Whether the observer must see every access performed, with its values
    /// (the checker): the engine then takes every hit through its general path
    /// and reports each one. Otherwise it reports only hits that store or whose
    /// reuse the front end did not work out (a load hit with known reuse shows an
    /// observer nothing new), and a front end's fast path may take plain hits.
    fn sees_every_access(&self) -> bool {
        false
    }

    /// A hit (see [`Observer::sees_every_access`] for which).
    fn hit(&mut self, _hit: &Hit) -> Result<(), Finding> {
        Ok(())
    }

    /// Core `core` sent an access to its L1 that did not hit, at cycle `at`:
    /// `miss` when it found no valid copy (else an upgrade, or an access the L1
    /// could not take yet).
    fn issued(&mut self, _core: u16, _access: Access, _miss: bool, _reuse: Reuse, _at: Cycle) {}

    /// A note a controller emitted at cycle `cycle` (a transition, an access
    /// performed, a completion, a memory access, ...), in the order emitted.
    fn note(&mut self, _cycle: Cycle, _note: &Note, _view: View) -> Result<(), Finding> {
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
