//! The directory (home) controller's tables.
//!
//! The directory keeps, per line, a state, an owner (the cache in E, M or O) and a
//! full-map sharer set that never includes the owner. Memory contents belong to the
//! home node: reads and writes happen as the directory performs an action, and the
//! timed world charges DRAM latency and channel occupancy for them. That is
//! equivalent to a separate memory controller behind a FIFO channel that nobody else
//! uses: every read then sees exactly the writes issued before it.
//!
//! Events are classified from the message and the entry: a Put from the owner, from a
//! sharer, or from a cache that is neither (a *stale* Put that lost a race with a
//! forwarded request or an invalidation, answered with a Put-Ack only).

use super::{Protocol, Row, go, stay};

#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirState {
    I,
    S,
    /// Granted exclusive-clean; the owner may have upgraded to M silently.
    E,
    M,
    /// MOESI: an owner with (possibly) sharers.
    O,
    /// MSI/MESI: M → S in progress, waiting for the old owner's data.
    S_D,
}

impl DirState {
    pub const ALL: [DirState; 6] = [DirState::I, DirState::S, DirState::E, DirState::M, DirState::O, DirState::S_D];

    pub fn name(self) -> &'static str {
        match self {
            DirState::I => "I",
            DirState::S => "S",
            DirState::E => "E",
            DirState::M => "M",
            DirState::O => "O",
            DirState::S_D => "S_D",
        }
    }

    pub fn is_stable(self) -> bool {
        self != DirState::S_D
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirEvent {
    GetS,
    /// GetM from a cache that is not the owner.
    GetM,
    /// GetM from the owner (MOESI upgrade from O).
    OwnerGetM,
    /// GetS from the owner: never legal, kept so the error names it.
    OwnerGetS,
    /// A Put of any kind from a sharer that leaves other copies.
    PutS,
    /// A Put from the last sharer (no owner, no other sharer).
    LastPutS,
    /// A Put from a cache that is neither owner nor sharer.
    StalePut,
    OwnerPutE,
    OwnerPutM,
    OwnerPutO,
    LastOwnerPutE,
    LastOwnerPutM,
    LastOwnerPutO,
    /// The old owner's data, answering a Fwd-GetS (MSI/MESI).
    Data,
    /// The same, when every sharer has left in the meantime.
    DataNoSharers,
}

impl DirEvent {
    pub const ALL: [DirEvent; 15] = [
        DirEvent::GetS,
        DirEvent::GetM,
        DirEvent::OwnerGetM,
        DirEvent::OwnerGetS,
        DirEvent::PutS,
        DirEvent::LastPutS,
        DirEvent::StalePut,
        DirEvent::OwnerPutE,
        DirEvent::OwnerPutM,
        DirEvent::OwnerPutO,
        DirEvent::LastOwnerPutE,
        DirEvent::LastOwnerPutM,
        DirEvent::LastOwnerPutO,
        DirEvent::Data,
        DirEvent::DataNoSharers,
    ];

    pub fn name(self) -> &'static str {
        use DirEvent::*;
        match self {
            GetS => "GetS",
            GetM => "GetM",
            OwnerGetM => "GetM (owner)",
            OwnerGetS => "GetS (owner)",
            PutS => "Put (sharer)",
            LastPutS => "Put (last sharer)",
            StalePut => "Put (stale)",
            OwnerPutE => "PutE (owner)",
            OwnerPutM => "PutM (owner)",
            OwnerPutO => "PutO (owner)",
            LastOwnerPutE => "PutE (owner, no sharers)",
            LastOwnerPutM => "PutM (owner, no sharers)",
            LastOwnerPutO => "PutO (owner, no sharers)",
            Data => "Data",
            DataNoSharers => "Data (no sharers left)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirAction {
    Stall,
    /// Data from memory to the requester, with the number of sharers other than the
    /// requester as its ack count.
    DataFromMemory,
    /// Exclusive-clean data from memory to the requester.
    ExclusiveDataFromMemory,
    AddSharer,
    RemoveSharer,
    ClearSharers,
    /// The owner joins the sharers (M → S in MSI/MESI).
    OwnerToSharers,
    SetOwner,
    ClearOwner,
    FwdGetSToOwner,
    /// Fwd-GetM to the owner, carrying the acks the requester must collect.
    FwdGetMToOwner,
    /// Inv to every sharer but the requester; the acks go to the requester.
    InvSharers,
    /// AckCount (number of sharers) to the owner upgrading from O.
    AckCountToOwner,
    PutAck,
    /// Write the message's data to memory when it is dirty.
    WriteMemory,
}

impl DirAction {
    pub fn name(self) -> &'static str {
        use DirAction::*;
        match self {
            Stall => "stall",
            DataFromMemory => "data from memory to requester",
            ExclusiveDataFromMemory => "exclusive data from memory to requester",
            AddSharer => "add requester to sharers",
            RemoveSharer => "remove requester from sharers",
            ClearSharers => "clear sharers",
            OwnerToSharers => "owner joins sharers",
            SetOwner => "owner = requester",
            ClearOwner => "no owner",
            FwdGetSToOwner => "Fwd-GetS to owner",
            FwdGetMToOwner => "Fwd-GetM (acks) to owner",
            InvSharers => "Inv to sharers but requester",
            AckCountToOwner => "AckCount to owner",
            PutAck => "Put-Ack",
            WriteMemory => "write data to memory if dirty",
        }
    }
}

pub type DirRow = Row<DirState, DirAction>;

use DirAction::*;
use DirEvent as Ev;
use DirState::*;

pub fn row(protocol: Protocol, state: DirState, event: DirEvent) -> Option<DirRow> {
    match protocol {
        Protocol::Msi => msi(state, event),
        Protocol::Mesi => mesi(state, event),
        Protocol::Moesi => moesi(state, event),
    }
}

/// MESI directory.
pub fn mesi(state: DirState, event: DirEvent) -> Option<DirRow> {
    Some(match (state, event) {
        (I, Ev::GetS) => go(&[ExclusiveDataFromMemory, SetOwner], E),
        (I, Ev::GetM) => go(&[DataFromMemory, SetOwner], M),
        (I, Ev::StalePut) => stay(&[PutAck]),

        (S, Ev::GetS) => stay(&[DataFromMemory, AddSharer]),
        (S, Ev::GetM) => go(&[DataFromMemory, InvSharers, ClearSharers, SetOwner], M),
        (S, Ev::PutS) => stay(&[RemoveSharer, PutAck]),
        (S, Ev::LastPutS) => go(&[RemoveSharer, PutAck], I),
        (S, Ev::StalePut) => stay(&[PutAck]),

        (E | M, Ev::GetS) => go(&[FwdGetSToOwner, OwnerToSharers, AddSharer, ClearOwner], S_D),
        (E | M, Ev::GetM) => go(&[FwdGetMToOwner, SetOwner], M),
        (E, Ev::LastOwnerPutE) => go(&[ClearOwner, PutAck], I),
        (E | M, Ev::LastOwnerPutM) => go(&[WriteMemory, ClearOwner, PutAck], I),
        (E | M, Ev::StalePut) => stay(&[PutAck]),

        (S_D, Ev::GetS | Ev::GetM) => stay(&[Stall]),
        (S_D, Ev::PutS | Ev::LastPutS) => stay(&[RemoveSharer, PutAck]),
        (S_D, Ev::StalePut) => stay(&[PutAck]),
        (S_D, Ev::Data) => go(&[WriteMemory], S),
        (S_D, Ev::DataNoSharers) => go(&[WriteMemory], I),

        _ => return None,
    })
}

/// MSI directory: MESI without the exclusive grant.
pub fn msi(state: DirState, event: DirEvent) -> Option<DirRow> {
    match (state, event) {
        (I, Ev::GetS) => Some(go(&[DataFromMemory, AddSharer], S)),
        (E, _) => None,
        _ => mesi(state, event),
    }
}

/// MOESI directory: MESI plus these rows. A read of an owned line is forwarded and
/// the owner keeps the line (O): memory is not written.
pub fn moesi(state: DirState, event: DirEvent) -> Option<DirRow> {
    Some(match (state, event) {
        (E | M, Ev::GetS) => go(&[FwdGetSToOwner, AddSharer], O),

        (O, Ev::GetS) => stay(&[FwdGetSToOwner, AddSharer]),
        (O, Ev::GetM) => go(&[FwdGetMToOwner, InvSharers, ClearSharers, SetOwner], M),
        (O, Ev::OwnerGetM) => go(&[AckCountToOwner, InvSharers, ClearSharers], M),
        (O, Ev::PutS) => stay(&[RemoveSharer, PutAck]),
        (O, Ev::OwnerPutE) => go(&[ClearOwner, PutAck], S),
        (O, Ev::OwnerPutM | Ev::OwnerPutO) => go(&[WriteMemory, ClearOwner, PutAck], S),
        (O, Ev::LastOwnerPutE) => go(&[ClearOwner, PutAck], I),
        (O, Ev::LastOwnerPutM | Ev::LastOwnerPutO) => go(&[WriteMemory, ClearOwner, PutAck], I),
        (O, Ev::StalePut) => stay(&[PutAck]),

        (S_D, _) => return None,
        _ => return mesi(state, event),
    })
}
