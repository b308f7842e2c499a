//! The hardware model: cache arrays, the L1 and directory controllers, messages,
//! the interconnect and memory timing.
//!
//! Controllers are pure state machines: `handle(&mut self, input, &mut Outbox)`.
//! They never read a clock and never call each other; everything they do to the
//! outside world goes into the `Outbox`, which the timed engine (simulation) or the
//! untimed explorer (model checking) drains.

pub mod bus;
pub mod cache;
pub mod dir_org;
pub mod dir_sparse;
pub mod directory;
pub mod l1;
pub mod msg;
pub mod network;
pub mod sharers;
pub mod snoop;

pub use msg::{LineAddr, LineData, Msg, MsgKind, NodeId, Primitive, Tags, Vnet};
pub use sharers::SharerSet;

use crate::protocol::dir_table::{DirEvent, DirState};
use crate::protocol::l1_table::{L1Event, L1State};

pub use crate::protocol::mutation::Mutation;

/// What a core asks of its cache for one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemOp {
    Load,
    Store(u64),
    Swap(u64),
    FetchAdd(u64),
    CompareExchange { expected: u64, new: u64 },
}

impl MemOp {
    /// The operation needs write permission.
    #[inline]
    pub fn writes(self) -> bool {
        !matches!(self, MemOp::Load)
    }

    /// Apply to the word's current value: (value returned to the core, new word).
    #[inline]
    pub fn apply(self, old: u64) -> (u64, u64) {
        match self {
            MemOp::Load => (old, old),
            MemOp::Store(v) => (old, v),
            MemOp::Swap(v) => (old, v),
            MemOp::FetchAdd(v) => (old, old.wrapping_add(v)),
            MemOp::CompareExchange { expected, new } => (old, if old == expected { new } else { old }),
        }
    }
}

/// One core access: a byte address (the word that holds it) and an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    pub addr: u64,
    pub op: MemOp,
}

/// Which controller did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ctrl {
    L1(u16),
    Dir(u16),
}

impl std::fmt::Display for Ctrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ctrl::L1(c) => write!(f, "L1[{c}]"),
            Ctrl::Dir(d) => write!(f, "Dir[{d}]"),
        }
    }
}

/// A fact a controller reports to observers (statistics, checker, timeline).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Note {
    /// An access was performed on a word: `loaded` is what the core sees, `stored`
    /// the new word if it wrote. `windowed`: the data may predate a store performed
    /// while the request was in flight (a load finishing in IS_D_I).
    Performed {
        core: u16,
        addr: u64,
        op: MemOp,
        loaded: u64,
        stored: Option<u64>,
        windowed: bool,
    },
    /// A miss finished: the core may go on; `value` is what its access returned.
    Completed {
        core: u16,
        value: u64,
    },
    L1Transition {
        core: u16,
        line: LineAddr,
        from: L1State,
        event: L1Event,
        to: L1State,
    },
    DirTransition {
        slice: u16,
        line: LineAddr,
        from: DirState,
        event: DirEvent,
        to: DirState,
    },
    /// A clean shared copy left without a message (7a).
    SilentDrop {
        core: u16,
        line: LineAddr,
    },
    /// A write-back buffer entry was freed (a blocked core may retry).
    WritebackFreed {
        core: u16,
    },
    MemRead {
        line: LineAddr,
    },
    MemWrite {
        line: LineAddr,
    },
    /// A GetM invalidated this many sharers.
    Invalidation {
        line: LineAddr,
        sharers: u32,
    },
    /// A dirty line was written back to memory on eviction.
    Writeback {
        core: u16,
        line: LineAddr,
    },
    /// A sparse directory recalled a line to free its entry, sending this many
    /// Invs and Fwd-GetMs.
    Recall {
        line: LineAddr,
        messages: u32,
    },
    /// A sparse directory's entry was freed by a recall, or settled in a stable
    /// state (so it may be recalled): requests waiting for a way may go.
    EntryFreed {
        slice: u16,
        line: LineAddr,
    },
    /// Dir_I NB invalidated a pointed-to sharer to make room for a reader.
    PointerEviction {
        line: LineAddr,
    },
}

/// Everything a controller produced while handling one input.
#[derive(Default, Debug)]
pub struct Outbox {
    pub msgs: Vec<Msg>,
    pub notes: Vec<Note>,
}

impl Outbox {
    pub fn clear(&mut self) {
        self.msgs.clear();
        self.notes.clear();
    }
}

/// What became of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// The controller cannot take it in this state: deliver again later.
    Stalled,
    /// The controller acted on it (its outbox must be sent) but did not consume
    /// it: deliver it again later (a sparse directory's request that started a
    /// recall, Dir_I NB's read that started making room).
    Deferred,
}

/// A (state, event) pair the protocol says cannot happen, or a broken assumption.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{ctrl}: no transition for state {state} on event {event}, line {line:#x}: {detail}")]
pub struct ProtocolError {
    pub ctrl: Ctrl,
    pub line: LineAddr,
    pub state: &'static str,
    pub event: &'static str,
    pub detail: String,
}
