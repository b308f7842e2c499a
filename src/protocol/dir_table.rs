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
//!
//! The directory organisations (`crate::model::dir_org`) add rows that a full-map
//! directory never reaches: a Put from a sharer an imprecise record cannot drop
//! (`UntrackedPut`: Put-Ack, the record unchanged); Dir_I NB making room for a
//! reader (`GetSFull` → `S_P`/`O_P`, waiting for the victim's Inv-Ack addressed to
//! the directory, the read taken again afterwards); and a sparse directory's recall
//! of a line whose entry must go (`Recall` → `I_A`, waiting for every Inv-Ack and
//! the owner's data, then the entry is freed and the requests waiting for a way are
//! woken).

use super::mutation::Mutation;
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
    /// Dir_I NB, was S: a pointed-to sharer is being invalidated to make room;
    /// waiting for its Inv-Ack.
    S_P,
    /// Dir_I NB, was O: the same.
    O_P,
    /// Sparse: the entry is being recalled; waiting for every Inv-Ack and the
    /// owner's data, then the entry is freed.
    I_A,
}

impl DirState {
    pub const ALL: [DirState; 9] = [
        DirState::I,
        DirState::S,
        DirState::E,
        DirState::M,
        DirState::O,
        DirState::S_D,
        DirState::S_P,
        DirState::O_P,
        DirState::I_A,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DirState::I => "I",
            DirState::S => "S",
            DirState::E => "E",
            DirState::M => "M",
            DirState::O => "O",
            DirState::S_D => "S_D",
            DirState::S_P => "S_P",
            DirState::O_P => "O_P",
            DirState::I_A => "I_A",
        }
    }

    pub fn is_stable(self) -> bool {
        matches!(self, DirState::I | DirState::S | DirState::E | DirState::M | DirState::O)
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
    /// A Put from a cache the sharer record covers but cannot drop (imprecise
    /// organisations): the directory cannot know it was the last copy.
    UntrackedPut,
    /// Dir_I NB: a GetS from a cache with no pointer while every pointer is used.
    GetSFull,
    /// Sparse: the line's entry is chosen as the victim of an allocation.
    Recall,
    /// An Inv-Ack or the owner's data addressed to the directory, more due.
    DirAck,
    /// The last Inv-Ack or data the directory waits for.
    LastDirAck,
    /// The same, and the record then names nobody and there is no owner.
    LastDirAckNoSharers,
}

impl DirEvent {
    pub const ALL: [DirEvent; 21] = [
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
        DirEvent::UntrackedPut,
        DirEvent::GetSFull,
        DirEvent::Recall,
        DirEvent::DirAck,
        DirEvent::LastDirAck,
        DirEvent::LastDirAckNoSharers,
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
            UntrackedPut => "Put (sharer not droppable)",
            GetSFull => "GetS (pointers full)",
            Recall => "Recall (entry evicted)",
            DirAck => "Inv-Ack/Data to dir",
            LastDirAck => "last Inv-Ack/Data to dir",
            LastDirAckNoSharers => "last Inv-Ack/Data to dir (nobody left)",
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
    /// Mutant (`Mutation::WrongAckCount`): `DataFromMemory` with an ack count one
    /// too small. No table row uses the mutant actions.
    DataFromMemoryAckShort,
    /// Mutant (`Mutation::ForwardToWrongOwner`): Fwd-GetS to cache `owner + 1`.
    FwdGetSToWrongOwner,
    /// Mutant (`Mutation::ForwardToWrongOwner`): Fwd-GetM to cache `owner + 1`.
    FwdGetMToWrongOwner,
    /// Mutant (`Mutation::RemoveWrongSharer`): remove cache `requester + 1` from
    /// the sharers instead of the requester.
    RemoveNextSharer,
    /// Dir_I NB: Inv (acks to the directory) to the lowest-numbered pointed-to
    /// sharer; one ack due.
    InvVictim,
    /// Keep the request queued and take it again when the line's state changes
    /// (it triggered work that must finish first).
    Defer,
    /// Recall: Inv (acks to the directory) to every cache the record covers.
    RecallInv,
    /// Recall: Fwd-GetM (data to the directory) to the owner.
    RecallOwner,
    /// One ack (or the owner's data) fewer due.
    CountAck,
    /// Drop the acknowledging cache from the record.
    RemoveAcker,
    /// Wake the requests waiting for a free directory entry.
    Wake,
    /// Mutant (`Mutation::OverflowForgetsSharer`): add the requester, but when
    /// the pointers are full record nothing (no broadcast bit).
    AddSharerForgetOverflow,
    /// Mutant (`Mutation::OverflowForgetsSharer`): drop the lowest-numbered
    /// pointer without invalidating it.
    DropVictim,
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
            DataFromMemoryAckShort => "data from memory, one ack short (mutant)",
            FwdGetSToWrongOwner => "Fwd-GetS to owner + 1 (mutant)",
            FwdGetMToWrongOwner => "Fwd-GetM (acks) to owner + 1 (mutant)",
            RemoveNextSharer => "remove requester + 1 from sharers (mutant)",
            InvVictim => "Inv (ack to dir) to lowest pointer",
            Defer => "keep the request for later",
            RecallInv => "Inv (acks to dir) to sharers",
            RecallOwner => "Fwd-GetM (data to dir) to owner",
            CountAck => "acks-1",
            RemoveAcker => "remove acker from sharers",
            Wake => "free entry, wake waiting requests",
            AddSharerForgetOverflow => "add requester unless pointers full (mutant)",
            DropVictim => "drop lowest pointer silently (mutant)",
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

/// The row a deliberately broken directory runs instead of the table's
/// (mutation testing), consulted before [`row`]: `None` when `mutation` leaves
/// the pair as the table has it. A mutation changes what a row does; it never
/// makes a pair the table calls impossible possible.
pub fn mutated_row(mutation: Mutation, protocol: Protocol, state: DirState, event: DirEvent) -> Option<DirRow> {
    use Mutation as Mu;
    let normal = row(protocol, state, event)?;
    let actions: &'static [DirAction] = match (mutation, state, event) {
        // Forwards go to cache `owner + 1`.
        (Mu::ForwardToWrongOwner, _, _) => match normal.actions {
            [FwdGetSToOwner, OwnerToSharers, AddSharer, ClearOwner] => {
                &[FwdGetSToWrongOwner, OwnerToSharers, AddSharer, ClearOwner]
            }
            [FwdGetSToOwner, AddSharer] => &[FwdGetSToWrongOwner, AddSharer],
            [FwdGetMToOwner, SetOwner] => &[FwdGetMToWrongOwner, SetOwner],
            [FwdGetMToOwner, InvSharers, ClearSharers, SetOwner] => {
                &[FwdGetMToWrongOwner, InvSharers, ClearSharers, SetOwner]
            }
            _ => return None,
        },
        // The ack count in Data to a writer is one too small.
        (Mu::WrongAckCount, _, Ev::GetM) => match normal.actions {
            [DataFromMemory, SetOwner] => &[DataFromMemoryAckShort, SetOwner],
            [DataFromMemory, InvSharers, ClearSharers, SetOwner] => {
                &[DataFromMemoryAckShort, InvSharers, ClearSharers, SetOwner]
            }
            _ => return None,
        },
        // No Put-Ack, ever.
        (Mu::DropPutAck, _, _) => match normal.actions {
            [rest @ .., PutAck] => rest,
            _ => return None,
        },
        // A GetS in S does not record the new sharer.
        (Mu::ForgetSharer, S, _) => match normal.actions {
            [rest @ .., AddSharer] => rest,
            _ => return None,
        },
        // A GetS to an owned line is answered from (stale) memory.
        (Mu::StaleMemoryData, E | M, Ev::GetS) => return Some(stay(&[DataFromMemory, AddSharer])),
        // A GetM in S invalidates nobody and asks for no acks.
        (Mu::NoInvalidation, S, Ev::GetM) => &[ClearSharers, DataFromMemory, SetOwner],
        // A GetS in S is granted exclusive data.
        (Mu::ExclusiveToSharer, S, Ev::GetS) => return Some(go(&[ExclusiveDataFromMemory, SetOwner], E)),
        // A Put removes cache `requester + 1` from the sharers.
        (Mu::RemoveWrongSharer, _, _) => match normal.actions {
            [RemoveSharer, PutAck] => &[RemoveNextSharer, PutAck],
            _ => return None,
        },
        // A recall frees the entry at once, without waiting for its acks.
        (Mu::RecallSkipsAcks, _, Ev::Recall) => {
            let actions: &'static [DirAction] = match normal.actions {
                [RecallInv, ClearSharers] => &[RecallInv, ClearSharers, Wake],
                [RecallOwner, ClearOwner] => &[RecallOwner, ClearOwner, Wake],
                [RecallOwner, RecallInv, ClearSharers, ClearOwner] => {
                    &[RecallOwner, RecallInv, ClearSharers, ClearOwner, Wake]
                }
                _ => return None,
            };
            return Some(go(actions, I));
        }
        // A limited-pointer overflow forgets a sharer: Dir_I B records nothing
        // (no broadcast bit), Dir_I NB drops a pointer without invalidating it.
        (Mu::OverflowForgetsSharer, S, Ev::GetSFull) => return Some(stay(&[DropVictim, DataFromMemory, AddSharer])),
        (Mu::OverflowForgetsSharer, O, Ev::GetSFull) => return Some(stay(&[DropVictim, FwdGetSToOwner, AddSharer])),
        (Mu::OverflowForgetsSharer, _, _) if normal.actions.contains(&AddSharer) => {
            return Some(Row { actions: forget_overflow(normal.actions), next: normal.next });
        }
        _ => return None,
    };
    Some(Row { actions, next: normal.next })
}

/// `actions` with `AddSharer` replaced by its mutant (rows are static, so the
/// substitutions are spelled out; `mutated_rows_change_exactly_what_the_mutation_says`
/// checks that every row with `AddSharer` has one).
fn forget_overflow(actions: &'static [DirAction]) -> &'static [DirAction] {
    const F: DirAction = AddSharerForgetOverflow;
    match actions {
        [DataFromMemory, AddSharer] => &[DataFromMemory, F],
        [FwdGetSToOwner, OwnerToSharers, AddSharer, ClearOwner] => &[FwdGetSToOwner, OwnerToSharers, F, ClearOwner],
        [FwdGetSToOwner, AddSharer] => &[FwdGetSToOwner, F],
        other => other,
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
        (S, Ev::StalePut | Ev::UntrackedPut) => stay(&[PutAck]),
        (S, Ev::GetSFull) => go(&[InvVictim, Defer], S_P),
        (S, Ev::Recall) => go(&[RecallInv, ClearSharers], I_A),

        (E | M, Ev::Recall) => go(&[RecallOwner, ClearOwner], I_A),
        (E | M, Ev::GetS) => go(&[FwdGetSToOwner, OwnerToSharers, AddSharer, ClearOwner], S_D),
        (E | M, Ev::GetM) => go(&[FwdGetMToOwner, SetOwner], M),
        (E, Ev::LastOwnerPutE) => go(&[ClearOwner, PutAck], I),
        (E | M, Ev::LastOwnerPutM) => go(&[WriteMemory, ClearOwner, PutAck], I),
        (E | M, Ev::StalePut) => stay(&[PutAck]),

        (S_D, Ev::GetS | Ev::GetM | Ev::GetSFull) => stay(&[Stall]),
        (S_D, Ev::PutS | Ev::LastPutS) => stay(&[RemoveSharer, PutAck]),
        (S_D, Ev::StalePut | Ev::UntrackedPut) => stay(&[PutAck]),
        (S_D, Ev::Data) => go(&[WriteMemory], S),
        (S_D, Ev::DataNoSharers) => go(&[WriteMemory], I),

        (S_P, Ev::GetS | Ev::GetM | Ev::GetSFull) => stay(&[Stall]),
        (S_P, Ev::PutS | Ev::LastPutS) => stay(&[RemoveSharer, PutAck]),
        (S_P, Ev::StalePut | Ev::UntrackedPut) => stay(&[PutAck]),
        (S_P, Ev::LastDirAck) => go(&[CountAck, RemoveAcker], S),
        (S_P, Ev::LastDirAckNoSharers) => go(&[CountAck, RemoveAcker], I),

        (I_A, Ev::GetS | Ev::GetM) => stay(&[Stall]),
        (I_A, Ev::StalePut) => stay(&[PutAck]),
        (I_A, Ev::DirAck) => stay(&[WriteMemory, CountAck]),
        (I_A, Ev::LastDirAckNoSharers) => go(&[WriteMemory, CountAck, Wake], I),

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
        (O, Ev::StalePut | Ev::UntrackedPut) => stay(&[PutAck]),
        (O, Ev::GetSFull) => go(&[InvVictim, Defer], O_P),
        (O, Ev::Recall) => go(&[RecallOwner, RecallInv, ClearSharers, ClearOwner], I_A),

        (O_P, Ev::GetS | Ev::GetM | Ev::OwnerGetM | Ev::GetSFull) => stay(&[Stall]),
        (O_P, Ev::PutS) => stay(&[RemoveSharer, PutAck]),
        (O_P, Ev::StalePut | Ev::UntrackedPut) => stay(&[PutAck]),
        (O_P, Ev::OwnerPutE | Ev::LastOwnerPutE) => go(&[ClearOwner, PutAck], S_P),
        (O_P, Ev::OwnerPutM | Ev::OwnerPutO | Ev::LastOwnerPutM | Ev::LastOwnerPutO) => {
            go(&[WriteMemory, ClearOwner, PutAck], S_P)
        }
        (O_P, Ev::LastDirAck) => go(&[CountAck, RemoveAcker], O),

        (S_D, _) => return None,
        _ => return mesi(state, event),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `actions` with every `from` replaced by `to` (or dropped when `to` is None).
    fn substituted(actions: &[DirAction], from: DirAction, to: Option<DirAction>) -> Vec<DirAction> {
        actions.iter().filter_map(|&a| if a == from { to } else { Some(a) }).collect()
    }

    /// Every mutation's overrides, pair by pair, against what the mutation says
    /// it does to the table: an override exists exactly where the bug changes a
    /// row (so a new row the bug should reach cannot be missed), and a mutant
    /// action appears in no table row.
    #[test]
    fn mutated_rows_change_exactly_what_the_mutation_says() {
        let mutant = [
            DataFromMemoryAckShort,
            FwdGetSToWrongOwner,
            FwdGetMToWrongOwner,
            RemoveNextSharer,
            AddSharerForgetOverflow,
            DropVictim,
        ];
        for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
            for state in DirState::ALL {
                for event in DirEvent::ALL {
                    let normal = row(protocol, state, event);
                    if let Some(r) = normal {
                        assert!(!mutant.iter().any(|a| r.actions.contains(a)), "{protocol} {state:?} {event:?}");
                    }
                    for m in Mutation::ALL {
                        let got = mutated_row(m, protocol, state, event).map(|r| (r.actions.to_vec(), r.next));
                        let Some(n) = normal else {
                            assert_eq!(got, None, "{m:?} adds a row: {protocol} {state:?} {event:?}");
                            continue;
                        };
                        let has = |a: DirAction| n.actions.contains(&a);
                        let sub = |from, to| Some((substituted(n.actions, from, to), n.next));
                        let expected = match m {
                            Mutation::ForwardToWrongOwner if has(FwdGetSToOwner) => {
                                sub(FwdGetSToOwner, Some(FwdGetSToWrongOwner))
                            }
                            Mutation::ForwardToWrongOwner if has(FwdGetMToOwner) => {
                                sub(FwdGetMToOwner, Some(FwdGetMToWrongOwner))
                            }
                            Mutation::WrongAckCount if event == Ev::GetM && has(DataFromMemory) => {
                                sub(DataFromMemory, Some(DataFromMemoryAckShort))
                            }
                            Mutation::DropPutAck if has(PutAck) => sub(PutAck, None),
                            Mutation::ForgetSharer if state == S && has(AddSharer) => sub(AddSharer, None),
                            Mutation::RemoveWrongSharer if has(RemoveSharer) => {
                                sub(RemoveSharer, Some(RemoveNextSharer))
                            }
                            Mutation::StaleMemoryData if matches!(state, E | M) && event == Ev::GetS => {
                                Some((vec![DataFromMemory, AddSharer], None))
                            }
                            Mutation::NoInvalidation if state == S && event == Ev::GetM => {
                                Some((vec![ClearSharers, DataFromMemory, SetOwner], Some(M)))
                            }
                            Mutation::ExclusiveToSharer if state == S && event == Ev::GetS => {
                                Some((vec![ExclusiveDataFromMemory, SetOwner], Some(E)))
                            }
                            Mutation::RecallSkipsAcks if event == Ev::Recall => {
                                Some(([n.actions, &[Wake]].concat(), Some(I)))
                            }
                            Mutation::OverflowForgetsSharer if event == Ev::GetSFull && state == S => {
                                Some((vec![DropVictim, DataFromMemory, AddSharer], None))
                            }
                            Mutation::OverflowForgetsSharer if event == Ev::GetSFull && state == O => {
                                Some((vec![DropVictim, FwdGetSToOwner, AddSharer], None))
                            }
                            Mutation::OverflowForgetsSharer if has(AddSharer) => {
                                sub(AddSharer, Some(AddSharerForgetOverflow))
                            }
                            _ => None,
                        };
                        assert_eq!(got, expected, "{m:?}: {protocol} {state:?} {event:?}");
                    }
                }
            }
        }
    }
}
