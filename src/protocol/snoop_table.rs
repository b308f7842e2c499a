//! The snooping protocols' tables: MSI, MESI and MOESI on a totally ordered,
//! split-transaction broadcast bus (`network.interconnect = "bus"`), for the
//! snooping cache controller and the memory controller of `model::snoop`.
//!
//! ## What the mechanism guarantees
//!
//! The address bus is the protocol's **order point**: a request is ordered at the
//! cycle it wins arbitration and is placed on the bus, and every controller (every
//! cache and memory) sees every request in that one total order. A cache changes
//! its permission for a line when a request for that line is *ordered*, not when
//! data moves: a GetM invalidates every S copy at its order point, so there are no
//! Inv-Acks to collect, and the line's owner (a cache in M, E or O, or memory
//! otherwise) answers with the data. That is SWMR by construction (the Primer,
//! ch. 7). The bus is **split-transaction**: after a request is ordered the address
//! bus is free for the next one while the data travels later on a separate data
//! bus, so a cache sees requests for a line whose data has not reached it yet.
//!
//! ## Transient states
//!
//! In the Primer's naming, `A` means "waiting for my own request to be ordered on
//! the bus" and `D` "waiting for the data": `IS_AD`, `IM_AD`, `SM_AD` and `OM_A`
//! (MOESI: the owner already has the data) wait for their own request; `IS_D`,
//! `IM_D` and `SM_D` were ordered and wait for data; `MI_A`, `OI_A` and `II_A` wait
//! for their own PutM (in `II_A` another request took the line first: the PutM is
//! ordered to no effect). `IS_D_I` is `IS_D` after another cache's GetM was
//! ordered: the data will serve the one load and be dropped (the Primer's
//! `IS^D_I`). A cache that sees another's request for a line in `IM_D` or `SM_D`
//! (the owner-to-be) **stalls it** in a per-line snoop queue until the data arrives: the line's
//! requests are then taken in bus order, and nothing waits in a cycle (the data a
//! `D` state waits for is owed by the owner at an *earlier* order point). Memory
//! stalls its requests for a line while it waits for the data of an owner that
//! gave the line back (`IorS_D`).
//!
//! ## Choices (and why)
//!
//! * S copies are dropped silently (no PutS on a snooping bus: nobody tracks them).
//! * Every owner (M, E, O) replaces with a PutM whose data follows on the data
//!   bus; for a clean E or O line the write to DRAM is skipped but the data bus is
//!   still used (an E eviction without data would need memory to know E from M).
//! * MESI: the E grant uses the bus's wired-OR *shared* line, sampled at the order
//!   point of a GetS (`SnoopState::shares`); memory grants E when nobody asserts it.
//! * MOESI: E or M answering a GetS becomes O (data to the requester only; memory
//!   stays stale and is not written: the traffic MOESI saves).
//! * Memory keeps per line the owner's identity while a cache owns it (as the
//!   Primer's memory does to tell an owner's PutM from a stale one).
//!
//! ## What it costs
//!
//! Per cache line: 2 bits of stable state (MSI) or 3 (MESI, MOESI) in each cache;
//! per line at memory, 2 bits of state and log2(cores) bits of owner. Per miss:
//! one address-bus request seen by every cache (N-1 snoop lookups), and one
//! data-bus transfer of a line (two receivers when MSI/MESI also write memory);
//! no acknowledgements.
//!
//! ## Primitives (the catalogue in shared/seeds/000_…)
//!
//! The bus's total order is a centrally generated **ordering token** (4a: the
//! arbiter's grant sequence); GetS/GetM → Data is **request-grant** (1a); a GetM
//! ordered on the bus is **broadcast** to every cache and its invalidation needs no
//! collection because the order itself is the barrier (2a without the collect); an
//! owner handing M to another's GetM is **authority transfer** (5a, coordinated by
//! the bus order); PutM and M → S writing memory are **flush-before-handoff** (6a),
//! MOESI's owner feeding the requester directly 6b; S dropped silently is
//! **silent withdrawal** (7a).

use super::mutation::Mutation;
use super::{Protocol, Row, go, stay};
use crate::protocol::l1_table::L1State;

/// A snooping cache's state for one line.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SnoopState {
    I,
    S,
    E,
    O,
    M,
    IS_AD,
    IS_D,
    IS_D_I,
    IE_D,
    IM_AD,
    IM_D,
    SM_AD,
    SM_D,
    OM_A,
    MI_A,
    OI_A,
    II_A,
}

impl SnoopState {
    pub const ALL: [SnoopState; 17] = {
        use SnoopState::*;
        [I, S, E, O, M, IS_AD, IS_D, IS_D_I, IE_D, IM_AD, IM_D, SM_AD, SM_D, OM_A, MI_A, OI_A, II_A]
    };

    pub fn name(self) -> &'static str {
        use SnoopState::*;
        match self {
            I => "I",
            S => "S",
            E => "E",
            O => "O",
            M => "M",
            IS_AD => "IS_AD",
            IS_D => "IS_D",
            IS_D_I => "IS_D_I",
            IE_D => "IE_D",
            IM_AD => "IM_AD",
            IM_D => "IM_D",
            SM_AD => "SM_AD",
            SM_D => "SM_D",
            OM_A => "OM_A",
            MI_A => "MI_A",
            OI_A => "OI_A",
            II_A => "II_A",
        }
    }

    /// The directory L1 state with the same permissions, which the cache array
    /// holds so that the hit path, the replacement choice and the invariant
    /// checker read a snooping cache exactly as they read a directory one:
    /// readable (`S`, `SM_*`, `OM_A`), writable (`E`, `M`), owner (`O`, `OM_A`,
    /// `MI_A`, `OI_A`), in the write-back buffer (`*I_A`), or nothing.
    pub fn image(self) -> L1State {
        use SnoopState::*;
        match self {
            I => L1State::I,
            S => L1State::S,
            E => L1State::E,
            O => L1State::O,
            M => L1State::M,
            IS_AD | IS_D | IE_D => L1State::IS_D,
            IS_D_I => L1State::IS_D_I,
            IM_AD => L1State::IM_AD,
            IM_D => L1State::IM_A,
            SM_AD => L1State::SM_AD,
            SM_D => L1State::SM_A,
            OM_A => L1State::OM_A,
            MI_A => L1State::MI_A,
            OI_A => L1State::OI_A,
            II_A => L1State::II_A,
        }
    }

    /// The stable state a cache array's image stands for.
    pub fn from_stable(s: L1State) -> Option<SnoopState> {
        Some(match s {
            L1State::I => SnoopState::I,
            L1State::S => SnoopState::S,
            L1State::E => SnoopState::E,
            L1State::O => SnoopState::O,
            L1State::M => SnoopState::M,
            _ => return None,
        })
    }

    pub fn is_stable(self) -> bool {
        use SnoopState::*;
        matches!(self, I | S | E | O | M)
    }

    /// A readable copy that is not the line's owner's: what another cache's
    /// GetM invalidates at its order point (counted as the network counts the
    /// sharers a directory invalidates; an owner hands its copy over instead).
    pub fn is_sharer(self) -> bool {
        matches!(self, SnoopState::S | SnoopState::SM_AD)
    }

    /// Whether this cache asserts the bus's *shared* line when another cache's
    /// GetS is ordered: it has, or is owed at an earlier order point, a copy it
    /// will keep, or it owns the line (an owner that is evicting, `MI_A`/`OI_A`,
    /// too). So a GetS nobody shares is one memory answers, and it grants E:
    /// the requester knows at its own order point that its data will be
    /// exclusive (`IE_D`), and that it is the line's owner-to-be.
    pub fn shares(self) -> bool {
        use SnoopState::*;
        matches!(self, S | E | O | M | IS_D | IE_D | IM_D | SM_AD | SM_D | OM_A | MI_A | OI_A)
    }
}

/// What a snooping cache reacts to: its core, its own requests as the bus
/// orders them, other caches' requests, and data from the data bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SnoopEvent {
    Load,
    Store,
    Replacement,
    OwnGetS,
    /// Own GetS ordered with the shared line quiet (MESI, MOESI): E is coming.
    OwnGetSAlone,
    OwnGetM,
    OwnPutM,
    OtherGetS,
    OtherGetM,
    OtherPutM,
    Data,
    ExclusiveData,
}

impl SnoopEvent {
    pub const ALL: [SnoopEvent; 12] = {
        use SnoopEvent::*;
        [
            Load,
            Store,
            Replacement,
            OwnGetS,
            OwnGetSAlone,
            OwnGetM,
            OwnPutM,
            OtherGetS,
            OtherGetM,
            OtherPutM,
            Data,
            ExclusiveData,
        ]
    };

    pub fn name(self) -> &'static str {
        use SnoopEvent::*;
        match self {
            Load => "Load",
            Store => "Store",
            Replacement => "Replacement",
            OwnGetS => "Own-GetS",
            OwnGetSAlone => "Own-GetS (unshared)",
            OwnGetM => "Own-GetM",
            OwnPutM => "Own-PutM",
            OtherGetS => "Other-GetS",
            OtherGetM => "Other-GetM",
            OtherPutM => "Other-PutM",
            Data => "Data",
            ExclusiveData => "Data (exclusive)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnoopAction {
    /// Wait in the line's snoop queue (or block the core) until the data arrives.
    Stall,
    /// Perform the core's access now.
    Hit,
    /// Queue a request for the address bus.
    IssueGetS,
    IssueGetM,
    IssuePutM,
    /// Send the line on the data bus to the snooped request's requester.
    DataToRequester,
    /// ... to the requester and to memory (one transfer, two receivers).
    DataToRequesterAndMemory,
    /// Own PutM ordered: the line to memory.
    DataToMemory,
    /// Copy the arriving data into the line.
    StoreData,
    /// Perform the pending access and tell the core.
    Complete,
    /// The same, for a load whose copy is not kept (`IS_D_I`): its value may
    /// predate a store ordered after its GetS and performed before its data came.
    CompleteOnce,
    /// An S copy leaves without a message.
    SilentDrop,
}

impl SnoopAction {
    pub fn name(self) -> &'static str {
        use SnoopAction::*;
        match self {
            Stall => "stall",
            Hit => "hit",
            IssueGetS => "issue GetS",
            IssueGetM => "issue GetM",
            IssuePutM => "issue PutM",
            DataToRequester => "data to requester",
            DataToRequesterAndMemory => "data to requester and memory",
            DataToMemory => "data to memory",
            StoreData => "copy data",
            Complete => "perform, complete",
            CompleteOnce => "perform once, complete",
            SilentDrop => "drop silently",
        }
    }
}

pub type SnoopRow = Row<SnoopState, SnoopAction>;

/// The snooping cache's row for `(state, event)` under `protocol`.
pub fn row(protocol: Protocol, state: SnoopState, event: SnoopEvent) -> Option<SnoopRow> {
    match protocol {
        Protocol::Msi => msi(state, event),
        Protocol::Mesi => mesi(state, event),
        Protocol::Moesi => moesi(state, event),
    }
}

/// The row a deliberately broken cache runs instead (mutation testing).
pub fn mutated_row(mutation: Mutation, state: SnoopState, event: SnoopEvent) -> Option<SnoopRow> {
    use SnoopEvent::*;
    use SnoopState as St;
    match (mutation, state, event) {
        // A snooper that ignores a bus request: its S copy survives another
        // cache's GetM, so a reader and a writer coexist.
        (Mutation::SnoopIgnoresGetM, St::S, OtherGetM) => Some(stay(&[])),
        // An owner that does not supply the data: it gives M up at the order
        // point of another's GetM, as it must, but sends nothing.
        (Mutation::SnoopOwnerSendsNoData, St::M, OtherGetM) => Some(go(&[], St::I)),
        _ => None,
    }
}

const STALL: SnoopRow = stay(&[SnoopAction::Stall]);
const NOTHING: SnoopRow = stay(&[]);

/// MSI: the Primer's split-transaction snooping protocol, with S dropped silently.
pub fn msi(state: SnoopState, event: SnoopEvent) -> Option<SnoopRow> {
    use SnoopAction::*;
    use SnoopEvent::*;
    use SnoopState as St;
    Some(match (state, event) {
        (St::I, Load) => go(&[IssueGetS], St::IS_AD),
        (St::I, Store) => go(&[IssueGetM], St::IM_AD),
        (St::I, OtherGetS | OtherGetM | OtherPutM) => NOTHING,

        (St::IS_AD, Load | Store | Replacement) => STALL,
        (St::IS_AD, OwnGetS) => go(&[], St::IS_D),
        (St::IS_AD, OtherGetS | OtherGetM | OtherPutM) => NOTHING,
        (St::IS_D, Load | Store | Replacement) => STALL,
        (St::IS_D, OtherGetS | OtherPutM) => NOTHING,
        // A writer ordered after this GetS: the data, when it comes, serves the
        // one load and is dropped (stalling instead would leave a reader holding
        // S beside a MOESI owner that upgraded without waiting for data).
        (St::IS_D, OtherGetM) => go(&[], St::IS_D_I),
        (St::IS_D, Data) => go(&[StoreData, Complete], St::S),
        (St::IS_D_I, Load | Store | Replacement) => STALL,
        (St::IS_D_I, OtherGetS | OtherGetM | OtherPutM) => NOTHING,
        (St::IS_D_I, Data) => go(&[StoreData, CompleteOnce], St::I),

        (St::IM_AD, Load | Store | Replacement) => STALL,
        (St::IM_AD, OwnGetM) => go(&[], St::IM_D),
        (St::IM_AD, OtherGetS | OtherGetM | OtherPutM) => NOTHING,
        (St::IM_D, Load | Store | Replacement) => STALL,
        (St::IM_D, OtherGetS | OtherGetM | OtherPutM) => STALL,
        (St::IM_D, Data) => go(&[StoreData, Complete], St::M),

        (St::S, Load) => stay(&[Hit]),
        (St::S, Store) => go(&[IssueGetM], St::SM_AD),
        (St::S, Replacement) => go(&[SilentDrop], St::I),
        (St::S, OtherGetS | OtherPutM) => NOTHING,
        (St::S, OtherGetM) => go(&[], St::I),

        (St::SM_AD, Load) => stay(&[Hit]),
        (St::SM_AD, Store | Replacement) => STALL,
        (St::SM_AD, OwnGetM) => go(&[], St::SM_D),
        (St::SM_AD, OtherGetS | OtherPutM) => NOTHING,
        (St::SM_AD, OtherGetM) => go(&[], St::IM_AD),
        (St::SM_D, Load) => stay(&[Hit]),
        (St::SM_D, Store | Replacement) => STALL,
        (St::SM_D, OtherGetS | OtherGetM | OtherPutM) => STALL,
        (St::SM_D, Data) => go(&[StoreData, Complete], St::M),

        (St::M, Load | Store) => stay(&[Hit]),
        (St::M, Replacement) => go(&[IssuePutM], St::MI_A),
        (St::M, OtherGetS) => go(&[DataToRequesterAndMemory], St::S),
        (St::M, OtherGetM) => go(&[DataToRequester], St::I),
        (St::M, OtherPutM) => NOTHING,

        (St::MI_A, Load | Store | Replacement) => STALL,
        (St::MI_A, OwnPutM) => go(&[DataToMemory], St::I),
        (St::MI_A, OtherGetS) => go(&[DataToRequesterAndMemory], St::II_A),
        (St::MI_A, OtherGetM) => go(&[DataToRequester], St::II_A),
        (St::MI_A, OtherPutM) => NOTHING,
        (St::II_A, Load | Store | Replacement) => STALL,
        (St::II_A, OwnPutM) => go(&[], St::I),
        (St::II_A, OtherGetS | OtherGetM | OtherPutM) => NOTHING,
        _ => return None,
    })
}

/// MESI = MSI + E: an unshared GetS is granted E; E writes silently (→ M),
/// replaces with a PutM (clean data), and answers like M.
pub fn mesi(state: SnoopState, event: SnoopEvent) -> Option<SnoopRow> {
    use SnoopAction::*;
    use SnoopEvent::*;
    use SnoopState as St;
    Some(match (state, event) {
        // E is coming: this cache is the owner-to-be, and others' requests
        // wait for the data as they do in IM_D.
        (St::IS_AD, OwnGetSAlone) => go(&[], St::IE_D),
        (St::IE_D, Load | Store | Replacement) => STALL,
        (St::IE_D, OtherGetS | OtherGetM | OtherPutM) => STALL,
        (St::IE_D, ExclusiveData) => go(&[StoreData, Complete], St::E),
        (St::E, Load) => stay(&[Hit]),
        (St::E, Store) => go(&[Hit], St::M),
        (St::E, Replacement) => go(&[IssuePutM], St::MI_A),
        (St::E, OtherGetS) => go(&[DataToRequesterAndMemory], St::S),
        (St::E, OtherGetM) => go(&[DataToRequester], St::I),
        (St::E, OtherPutM) => NOTHING,
        _ => return msi(state, event),
    })
}

/// MOESI = MESI + O: E or M answering a GetS keeps the line as its owner (O),
/// feeding readers without writing memory; O upgrades without data (`OM_A`).
pub fn moesi(state: SnoopState, event: SnoopEvent) -> Option<SnoopRow> {
    use SnoopAction::*;
    use SnoopEvent::*;
    use SnoopState as St;
    Some(match (state, event) {
        (St::E | St::M, OtherGetS) => go(&[DataToRequester], St::O),
        (St::O, Load) => stay(&[Hit]),
        (St::O, Store) => go(&[IssueGetM], St::OM_A),
        (St::O, Replacement) => go(&[IssuePutM], St::OI_A),
        (St::O, OtherGetS) => stay(&[DataToRequester]),
        (St::O, OtherGetM) => go(&[DataToRequester], St::I),
        (St::O, OtherPutM) => NOTHING,
        (St::OM_A, Load) => stay(&[Hit]),
        (St::OM_A, Store | Replacement) => STALL,
        (St::OM_A, OwnGetM) => go(&[Complete], St::M),
        (St::OM_A, OtherGetS) => stay(&[DataToRequester]),
        (St::OM_A, OtherGetM) => go(&[DataToRequester], St::IM_AD),
        (St::OM_A, OtherPutM) => NOTHING,
        (St::MI_A, OtherGetS) => go(&[DataToRequester], St::OI_A),
        (St::OI_A, Load | Store | Replacement) => STALL,
        (St::OI_A, OwnPutM) => go(&[DataToMemory], St::I),
        (St::OI_A, OtherGetS) => stay(&[DataToRequester]),
        (St::OI_A, OtherGetM) => go(&[DataToRequester], St::II_A),
        (St::OI_A, OtherPutM) => NOTHING,
        _ => return mesi(state, event),
    })
}

/// Memory's state for one line on the bus.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemState {
    /// Memory owns the line (no cache in M/E/O): it answers requests.
    IorS,
    /// A cache owns the line (memory records which): it stays quiet.
    M,
    /// The owner gave the line back at an earlier order point; its data is on
    /// the way. Requests for the line wait.
    IorS_D,
}

impl MemState {
    pub const ALL: [MemState; 3] = [MemState::IorS, MemState::M, MemState::IorS_D];
    pub fn name(self) -> &'static str {
        match self {
            MemState::IorS => "IorS",
            MemState::M => "M",
            MemState::IorS_D => "IorS_D",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemEvent {
    /// A GetS with the shared line asserted (or under MSI).
    GetS,
    /// A GetS nobody else shares (MESI, MOESI: the E grant).
    GetSUnshared,
    /// A GetM from a cache other than the owner.
    GetM,
    /// A GetM from the owner itself (MOESI `OM_A`).
    OwnerGetM,
    /// The owner's PutM: its data follows.
    OwnerPutM,
    /// A PutM from a cache that lost the line before its PutM was ordered.
    StalePutM,
    /// Data for memory (a write-back, or MSI/MESI's copy on M → S).
    Data,
}

impl MemEvent {
    pub const ALL: [MemEvent; 7] = {
        use MemEvent::*;
        [GetS, GetSUnshared, GetM, OwnerGetM, OwnerPutM, StalePutM, Data]
    };
    pub fn name(self) -> &'static str {
        use MemEvent::*;
        match self {
            GetS => "GetS",
            GetSUnshared => "GetS (unshared)",
            GetM => "GetM",
            OwnerGetM => "GetM (owner)",
            OwnerPutM => "PutM (owner)",
            StalePutM => "PutM (stale)",
            Data => "Data",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemAction {
    Stall,
    /// Read DRAM and send the line to the requester.
    DataToRequester,
    /// ... granted exclusive (E).
    ExclusiveDataToRequester,
    /// The requester becomes the recorded owner.
    SetOwner,
    ClearOwner,
    /// Copy the arriving line into memory (a DRAM write when it is dirty).
    WriteData,
}

impl MemAction {
    pub fn name(self) -> &'static str {
        use MemAction::*;
        match self {
            Stall => "stall",
            DataToRequester => "data to requester",
            ExclusiveDataToRequester => "exclusive data to requester",
            SetOwner => "owner = requester",
            ClearOwner => "no owner",
            WriteData => "write data",
        }
    }
}

pub type MemRow = Row<MemState, MemAction>;

/// Memory's row for `(state, event)` under `protocol`.
pub fn mem_row(protocol: Protocol, state: MemState, event: MemEvent) -> Option<MemRow> {
    use MemAction::*;
    use MemEvent::*;
    use MemState as St;
    let moesi = protocol == Protocol::Moesi;
    Some(match (state, event) {
        (St::IorS, GetS) => stay(&[DataToRequester]),
        (St::IorS, GetSUnshared) if protocol != Protocol::Msi => go(&[ExclusiveDataToRequester, SetOwner], St::M),
        (St::IorS, GetM) => go(&[DataToRequester, SetOwner], St::M),
        (St::IorS, StalePutM) => NOTHING_MEM,
        // The owner answers. Under MOESI it stays the owner (O); otherwise it
        // also sends memory the line, and memory waits for it.
        (St::M, GetS) if moesi => NOTHING_MEM,
        (St::M, GetS) => go(&[ClearOwner], St::IorS_D),
        (St::M, GetM) => stay(&[SetOwner]),
        (St::M, OwnerGetM) if moesi => NOTHING_MEM,
        (St::M, OwnerPutM) => go(&[ClearOwner], St::IorS_D),
        (St::M, StalePutM) => NOTHING_MEM,
        (St::IorS_D, GetS | GetSUnshared | GetM | StalePutM) => stay(&[Stall]),
        (St::IorS_D, Data) => go(&[WriteData], St::IorS),
        _ => return None,
    })
}

const NOTHING_MEM: MemRow = stay(&[]);
