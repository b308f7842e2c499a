//! What each software operation cost in coherence: an observer that charges
//! every coherence message to the software operation its requester core was in
//! when the message was sent (a core blocks on its miss, so a transaction's
//! messages all belong to the operation that started it). Programs say which
//! operation they are in through their events (`Ctx::event`): acquiring,
//! holding, releasing, or anything else.

use std::cell::Cell;
use std::rc::Rc;

use super::SwEventKind;
use crate::engine::observe::Observer;
use crate::model::Msg;
use crate::model::network::Cycle;

/// The phases a core's messages are charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Other = 0,
    Acquire = 1,
    Held = 2,
    Release = 3,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Other, Phase::Acquire, Phase::Held, Phase::Release];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Other => "other",
            Phase::Acquire => "acquire",
            Phase::Held => "critical section",
            Phase::Release => "release",
        }
    }

    /// The phase an event starts.
    pub fn after(kind: SwEventKind) -> Phase {
        match kind {
            SwEventKind::Acquiring => Phase::Acquire,
            SwEventKind::Acquired => Phase::Held,
            SwEventKind::Releasing => Phase::Release,
            SwEventKind::Released => Phase::Other,
        }
    }
}

/// Each core's current phase, shared by the programs (which set it) and the
/// observer (which reads it).
pub type Phases = Rc<Vec<Cell<Phase>>>;

pub fn phases(cores: usize) -> Phases {
    Rc::new(vec![Cell::new(Phase::Other); cores])
}

/// Counts coherence messages by requester core and phase.
pub struct OpCost {
    phases: Phases,
    /// Messages per phase (indexed by `Phase as usize`).
    pub messages: [u64; 4],
}

impl OpCost {
    pub fn new(phases: Phases) -> Self {
        OpCost { phases, messages: [0; 4] }
    }
}

impl Observer for OpCost {
    fn message(&mut self, _cycle: Cycle, msg: &Msg) {
        if let Some(p) = self.phases.get(msg.requester as usize) {
            self.messages[p.get() as usize] += 1;
        }
    }
}

/// Coherence messages so far by requester core: programs read their core's
/// count around an operation to charge it what it caused (`exec::actor`
/// charges each software message its sending and its taking).
pub type Counts = Rc<Vec<Cell<u64>>>;

pub fn counts(cores: usize) -> Counts {
    Rc::new(vec![Cell::new(0); cores])
}

/// Counts coherence messages into `Counts` by requester core.
pub struct ByCore(pub Counts);

impl Observer for ByCore {
    fn message(&mut self, _cycle: Cycle, msg: &Msg) {
        if let Some(c) = self.0.get(msg.requester as usize) {
            c.set(c.get() + 1);
        }
    }
}
