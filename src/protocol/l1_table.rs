//! The L1 cache controller's tables.
//!
//! States follow the Primer's naming: `IS_D` is "was I, going to S, waiting for
//! Data"; `IM_AD` waits for Data and Inv-Acks; `SM_A` has its data and waits for
//! acks; `MI_A` has sent a PutM and waits for the Put-Ack. Three additions:
//!
//! * `IS_D_I`: an Inv reached a line in `IS_D` (the Inv overtook the Data on another
//!   virtual network, or it is a stale Inv for a copy that was evicted silently). The
//!   cache acknowledges at once, uses the data for the one pending load when it
//!   arrives, and drops the line (gem5 Ruby's `IS_I`). Stalling the Inv instead, as
//!   the Primer's MSI table does, deadlocks once silent eviction is on: the writer
//!   waits for this cache's ack while this cache waits for data the writer owes it.
//! * `E`, `EI_A` (MESI): exclusive clean; a store upgrades silently to M.
//! * `O`, `OM_AC`, `OM_A`, `OI_A` (MOESI): the dirty (or clean, when it came from E)
//!   owner that answers reads; `OM_AC` has sent GetM from O and waits for the
//!   directory's AckCount, then for the Inv-Acks.
//!
//! Lines in `MI_A`, `EI_A`, `OI_A`, `SI_A` and `II_A` sit in the write-back buffer,
//! not in the cache array, so the frame can take the line that caused the eviction.

use super::mutation::Mutation;
use super::{Protocol, Row, go, stay};

#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L1State {
    I,
    S,
    E,
    O,
    M,
    IS_D,
    IS_D_I,
    IM_AD,
    IM_A,
    SM_AD,
    SM_A,
    OM_AC,
    OM_A,
    MI_A,
    EI_A,
    OI_A,
    SI_A,
    II_A,
}

impl L1State {
    pub const ALL: [L1State; 18] = [
        L1State::I,
        L1State::S,
        L1State::E,
        L1State::O,
        L1State::M,
        L1State::IS_D,
        L1State::IS_D_I,
        L1State::IM_AD,
        L1State::IM_A,
        L1State::SM_AD,
        L1State::SM_A,
        L1State::OM_AC,
        L1State::OM_A,
        L1State::MI_A,
        L1State::EI_A,
        L1State::OI_A,
        L1State::SI_A,
        L1State::II_A,
    ];

    /// The core may read the line's data in this state.
    #[inline]
    pub fn can_read(self) -> bool {
        use L1State::*;
        matches!(self, S | E | O | M | SM_AD | SM_A | OM_AC | OM_A)
    }

    /// The core may write the line's data in this state (E upgrades silently).
    #[inline]
    pub fn can_write(self) -> bool {
        matches!(self, L1State::E | L1State::M)
    }

    /// Stable states are the only ones a replacement may pick as a victim.
    pub fn is_stable(self) -> bool {
        use L1State::*;
        matches!(self, I | S | E | O | M)
    }

    /// The line lives in the write-back buffer while it waits for a Put-Ack.
    pub fn in_writeback_buffer(self) -> bool {
        use L1State::*;
        matches!(self, MI_A | EI_A | OI_A | SI_A | II_A)
    }

    /// States in which the cache holds the only up-to-date copy it must hand on.
    pub fn is_owner(self) -> bool {
        use L1State::*;
        matches!(self, E | O | M | OM_AC | OM_A | MI_A | EI_A | OI_A)
    }

    pub fn name(self) -> &'static str {
        use L1State::*;
        match self {
            I => "I",
            S => "S",
            E => "E",
            O => "O",
            M => "M",
            IS_D => "IS_D",
            IS_D_I => "IS_D_I",
            IM_AD => "IM_AD",
            IM_A => "IM_A",
            SM_AD => "SM_AD",
            SM_A => "SM_A",
            OM_AC => "OM_AC",
            OM_A => "OM_A",
            MI_A => "MI_A",
            EI_A => "EI_A",
            OI_A => "OI_A",
            SI_A => "SI_A",
            II_A => "II_A",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L1Event {
    /// Core load.
    Load,
    /// Core store or atomic read-modify-write (both need M).
    Store,
    /// The line is chosen as a victim.
    Replacement,
    /// The line is chosen as a victim and silent eviction of clean shared lines is on.
    SilentReplacement,
    FwdGetS,
    FwdGetM,
    Inv,
    PutAck,
    /// Data arrives and nothing more is awaited (acks already balanced).
    Data,
    /// Data arrives; Inv-Acks are still to come.
    DataAwaitAcks,
    /// Data granted exclusive-clean by the directory (answers a GetS).
    ExclusiveData,
    /// An Inv-Ack that is not the last one awaited.
    InvAck,
    /// The Inv-Ack that completes a transaction whose data is here.
    LastInvAck,
    /// The directory's ack count for an upgrade from O; acks still to come.
    AckCount,
    /// The directory's ack count for an upgrade from O; nothing more to wait for.
    AckCountLast,
}

impl L1Event {
    pub const ALL: [L1Event; 15] = [
        L1Event::Load,
        L1Event::Store,
        L1Event::Replacement,
        L1Event::SilentReplacement,
        L1Event::FwdGetS,
        L1Event::FwdGetM,
        L1Event::Inv,
        L1Event::PutAck,
        L1Event::Data,
        L1Event::DataAwaitAcks,
        L1Event::ExclusiveData,
        L1Event::InvAck,
        L1Event::LastInvAck,
        L1Event::AckCount,
        L1Event::AckCountLast,
    ];

    pub fn name(self) -> &'static str {
        use L1Event::*;
        match self {
            Load => "Load",
            Store => "Store",
            Replacement => "Replacement",
            SilentReplacement => "SilentReplacement",
            FwdGetS => "Fwd-GetS",
            FwdGetM => "Fwd-GetM",
            Inv => "Inv",
            PutAck => "Put-Ack",
            Data => "Data",
            DataAwaitAcks => "Data (acks due)",
            ExclusiveData => "Data (exclusive)",
            InvAck => "Inv-Ack",
            LastInvAck => "last Inv-Ack",
            AckCount => "AckCount",
            AckCountLast => "AckCount (none due)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L1Action {
    /// Leave the input where it is; take it again when the line's state changes.
    Stall,
    /// Perform the core's access on the line (a hit).
    Hit,
    IssueGetS,
    IssueGetM,
    SendPutS,
    SendPutE,
    SendPutM,
    SendPutO,
    /// Drop a clean shared line without telling the directory (7a).
    SilentDrop,
    /// Send the line to the requester named in the forwarded request.
    DataToRequester,
    /// Send the line to the requester and to the directory (which updates memory).
    DataToRequesterAndDir,
    InvAckToRequester,
    /// Acknowledge an Inv for a copy that was dropped silently (7a).
    StaleInvAck,
    /// Copy the message's data into the line.
    StoreData,
    /// Add the message's ack count to the acks awaited.
    AddAcks,
    /// One Inv-Ack fewer awaited (may go negative: acks can beat the data).
    CountInvAck,
    /// Perform the pending access of the miss and wake the core.
    Complete,
    /// Perform the pending load with the data just received, for this load only.
    CompleteOnce,
    /// Mutant (`Mutation::SkipAckWait`): forget the Inv-Acks still awaited, so
    /// the miss may complete without them. No table row uses it.
    ForgetAcks,
}

impl L1Action {
    pub fn name(self) -> &'static str {
        use L1Action::*;
        match self {
            Stall => "stall",
            Hit => "hit",
            IssueGetS => "send GetS",
            IssueGetM => "send GetM",
            SendPutS => "send PutS",
            SendPutE => "send PutE",
            SendPutM => "send PutM+data",
            SendPutO => "send PutO+data",
            SilentDrop => "drop silently",
            DataToRequester => "data to requester",
            DataToRequesterAndDir => "data to requester and directory",
            InvAckToRequester => "Inv-Ack to requester",
            StaleInvAck => "Inv-Ack at once (copy already dropped)",
            StoreData => "store data",
            AddAcks => "add ack count",
            CountInvAck => "acks-1",
            Complete => "perform access",
            CompleteOnce => "perform load once",
            ForgetAcks => "forget acks awaited (mutant)",
        }
    }
}

pub type L1Row = Row<L1State, L1Action>;

use L1Action::*;
use L1Event as Ev;
use L1State::*;

const STALL: L1Row = stay(&[Stall]);
const HIT: L1Row = stay(&[Hit]);

/// The table for a protocol.
pub fn row(protocol: Protocol, state: L1State, event: L1Event) -> Option<L1Row> {
    match protocol {
        // The directory never grants E under MSI, so the MESI rows are MSI's.
        Protocol::Msi | Protocol::Mesi => mesi(state, event),
        Protocol::Moesi => moesi(state, event),
    }
}

/// The row a deliberately broken L1 runs instead of the table's (mutation
/// testing), consulted before [`row`]: `None` when `mutation` leaves the pair as
/// the table has it. A mutation changes what a row does; it never makes a pair
/// the table calls impossible possible. Mutations of the hit fast path, which
/// runs no row, have none.
pub fn mutated_row(mutation: Mutation, protocol: Protocol, state: L1State, event: L1Event) -> Option<L1Row> {
    let normal = row(protocol, state, event)?;
    let actions: &'static [L1Action] = match (mutation, state, event) {
        // An invalidated sharer drops the line without its Inv-Ack.
        (Mutation::SkipInvAck, S, Ev::Inv) => &[],
        // An owner answering a read sends no copy to the directory (MSI, MESI).
        (Mutation::NoDataToDirectory, _, _) => match normal.actions {
            [DataToRequesterAndDir] => &[DataToRequester],
            _ => return None,
        },
        // The data of a miss is not copied into the line.
        (Mutation::IgnoreData, _, _) => match normal.actions {
            [StoreData, rest @ ..] => rest,
            _ => return None,
        },
        // A store miss completes with its data, acks or no acks; an upgrade
        // from O forgets the acks its AckCount announced.
        (Mutation::SkipAckWait, IM_AD | SM_AD, Ev::DataAwaitAcks) => {
            return Some(go(&[StoreData, ForgetAcks, Complete], M));
        }
        (Mutation::SkipAckWait, OM_AC, Ev::AckCount) => &[ForgetAcks],
        // A dirty line is dropped on replacement without a PutM.
        (Mutation::DropDirtyLine, M, Ev::Replacement) => return Some(go(&[], I)),
        _ => return None,
    };
    Some(Row { actions, next: normal.next })
}

/// Whether a transition from `from` to `to` narrows what the core can hit on
/// the line (it loses read or write permission), or turns a fill in flight into
/// a one-time use (`IS_D_I`: the data serves the pending load, then goes).
/// Anything that knows ahead what a core will hit must forget it then.
pub fn narrows_hits(from: L1State, to: L1State) -> bool {
    (from.can_read() && !to.can_read()) || (from.can_write() && !to.can_write()) || to == L1State::IS_D_I
}

/// What a message can make an L1 do, read off the tables: for the L1 events
/// `events` (the ones a message kind may become), over every state of
/// `protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// Some row sends a message (the L1 answers someone).
    pub sends: bool,
    /// Some row completes the core's pending access.
    pub completes: bool,
    /// Some row narrows what the core can hit (see [`narrows_hits`]).
    pub narrows_hits: bool,
}

pub fn reach(protocol: Protocol, events: &[L1Event]) -> Reach {
    use L1Action::*;
    let mut r = Reach::default();
    for &state in &L1State::ALL {
        for &event in events {
            let Some(row) = row(protocol, state, event) else { continue };
            for a in row.actions {
                match a {
                    IssueGetS
                    | IssueGetM
                    | SendPutS
                    | SendPutE
                    | SendPutM
                    | SendPutO
                    | DataToRequester
                    | DataToRequesterAndDir
                    | InvAckToRequester
                    | StaleInvAck => r.sends = true,
                    Complete | CompleteOnce => r.completes = true,
                    _ => {}
                }
            }
            r.narrows_hits |= row.next.is_some_and(|to| narrows_hits(state, to));
        }
    }
    r
}

impl L1State {
    /// What a line in this (transient) state waits for, for stuck reports.
    pub fn waits_for(self) -> &'static str {
        use L1State::*;
        match self {
            IS_D | IS_D_I => "data",
            IM_AD | SM_AD => "data and Inv-Acks",
            IM_A | SM_A | OM_A => "Inv-Acks",
            OM_AC => "the directory's AckCount",
            MI_A | EI_A | OI_A | SI_A | II_A => "a Put-Ack",
            _ => "nothing",
        }
    }
}

/// What a transition means to the miss classifier's record of coherence losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyLoss {
    /// Nothing changes.
    None,
    /// Another core's write took a copy this core would have kept: its next
    /// miss on the line is a coherence (sharing) miss.
    Lost,
    /// A loss recorded earlier was not one: the line stays after all.
    Kept,
}

/// Classifies an L1 transition for the miss classifier. A copy is lost to
/// another core's write (Inv or Fwd-GetM) when it was settled and readable, or
/// when it was still on its way (`IS_D` to `IS_D_I`: the fill serves one load
/// and is dropped). An exclusive grant to `IS_D_I` proves that Inv stale, so the
/// line is kept. Transient states that lose a copy otherwise do not count:
///
/// * an upgrade in flight (`SM_AD` + Inv, `OM_AC` + Fwd-GetM, both to `IM_AD`)
///   brings the line back with the very access that was counted as an upgrade,
///   so no later miss follows from the loss;
/// * a line in the write-back buffer (`MI_A`, `EI_A`, `OI_A`, `SI_A` to `II_A`)
///   was already given up by a replacement, so the next miss is the
///   replacement's (capacity or conflict), as if the write had come later.
pub fn copy_loss(from: L1State, event: L1Event, to: L1State) -> CopyLoss {
    use L1State::*;
    match (from, event, to) {
        (S | E | O | M, L1Event::Inv | L1Event::FwdGetM, I) => CopyLoss::Lost,
        (IS_D, L1Event::Inv, IS_D_I) => CopyLoss::Lost,
        (IS_D_I, L1Event::ExclusiveData, E) => CopyLoss::Kept,
        _ => CopyLoss::None,
    }
}

/// MESI (and MSI) L1 controller.
pub fn mesi(state: L1State, event: L1Event) -> Option<L1Row> {
    Some(match (state, event) {
        (I, Ev::Load) => go(&[IssueGetS], IS_D),
        (I, Ev::Store) => go(&[IssueGetM], IM_AD),
        (I, Ev::Inv) => stay(&[StaleInvAck]),

        (IS_D, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        // An exclusive grant makes this cache the owner at the directory at once: a
        // forwarded request can overtake the Data and waits for it.
        (IS_D, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (IS_D, Ev::Inv) => go(&[InvAckToRequester], IS_D_I),
        (IS_D, Ev::Data) => go(&[StoreData, Complete], S),
        (IS_D, Ev::ExclusiveData) => go(&[StoreData, Complete], E),

        (IS_D_I, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (IS_D_I, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (IS_D_I, Ev::Inv) => stay(&[InvAckToRequester]),
        (IS_D_I, Ev::Data) => go(&[StoreData, CompleteOnce], I),
        // An exclusive grant proves the Inv was stale: the directory grants E only
        // when it lists no other copy, so no writer can be waiting on this cache.
        (IS_D_I, Ev::ExclusiveData) => go(&[StoreData, Complete], E),

        (IM_AD, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (IM_AD, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (IM_AD, Ev::Inv) => stay(&[StaleInvAck]),
        (IM_AD, Ev::Data) => go(&[StoreData, AddAcks, Complete], M),
        (IM_AD, Ev::DataAwaitAcks) => go(&[StoreData, AddAcks], IM_A),
        (IM_AD, Ev::InvAck) => stay(&[CountInvAck]),

        (IM_A, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (IM_A, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (IM_A, Ev::InvAck) => stay(&[CountInvAck]),
        (IM_A, Ev::LastInvAck) => go(&[CountInvAck, Complete], M),

        (S, Ev::Load) => HIT,
        (S, Ev::Store) => go(&[IssueGetM], SM_AD),
        (S, Ev::Replacement) => go(&[SendPutS], SI_A),
        (S, Ev::SilentReplacement) => go(&[SilentDrop], I),
        (S, Ev::Inv) => go(&[InvAckToRequester], I),

        (SM_AD, Ev::Load) => HIT,
        (SM_AD, Ev::Store | Ev::Replacement) => STALL,
        (SM_AD, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (SM_AD, Ev::Inv) => go(&[InvAckToRequester], IM_AD),
        (SM_AD, Ev::Data) => go(&[StoreData, AddAcks, Complete], M),
        (SM_AD, Ev::DataAwaitAcks) => go(&[StoreData, AddAcks], SM_A),
        (SM_AD, Ev::InvAck) => stay(&[CountInvAck]),

        (SM_A, Ev::Load) => HIT,
        (SM_A, Ev::Store | Ev::Replacement) => STALL,
        (SM_A, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (SM_A, Ev::InvAck) => stay(&[CountInvAck]),
        (SM_A, Ev::LastInvAck) => go(&[CountInvAck, Complete], M),

        (E, Ev::Load) => HIT,
        (E, Ev::Store) => go(&[Hit], M),
        (E, Ev::Replacement) => go(&[SendPutE], EI_A),
        (E, Ev::FwdGetS) => go(&[DataToRequesterAndDir], S),
        (E, Ev::FwdGetM) => go(&[DataToRequester], I),

        (M, Ev::Load | Ev::Store) => HIT,
        (M, Ev::Replacement) => go(&[SendPutM], MI_A),
        (M, Ev::FwdGetS) => go(&[DataToRequesterAndDir], S),
        (M, Ev::FwdGetM) => go(&[DataToRequester], I),

        (MI_A | EI_A, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (MI_A | EI_A, Ev::FwdGetS) => go(&[DataToRequesterAndDir], SI_A),
        (MI_A | EI_A, Ev::FwdGetM) => go(&[DataToRequester], II_A),
        (MI_A | EI_A, Ev::PutAck) => go(&[], I),

        (SI_A, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (SI_A, Ev::Inv) => go(&[InvAckToRequester], II_A),
        (SI_A, Ev::PutAck) => go(&[], I),

        (II_A, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        // Only an imprecise directory (broadcast, coarse, Dir_I B) reaches this: a
        // line given up and then invalidated waits for its Put-Ack while a later
        // write's invalidation covers every cache. The copy is gone: ack at once.
        (II_A, Ev::Inv) => stay(&[StaleInvAck]),
        (II_A, Ev::PutAck) => go(&[], I),

        _ => return None,
    })
}

/// MOESI L1 controller: MESI plus these rows. An owner answers a Fwd-GetS itself and
/// keeps the line as O instead of writing it back (6b instead of 6a).
pub fn moesi(state: L1State, event: L1Event) -> Option<L1Row> {
    Some(match (state, event) {
        (E | M, Ev::FwdGetS) => go(&[DataToRequester], O),

        (O, Ev::Load) => HIT,
        (O, Ev::Store) => go(&[IssueGetM], OM_AC),
        (O, Ev::Replacement) => go(&[SendPutO], OI_A),
        (O, Ev::FwdGetS) => stay(&[DataToRequester]),
        (O, Ev::FwdGetM) => go(&[DataToRequester], I),

        (OM_AC, Ev::Load) => HIT,
        (OM_AC, Ev::Store | Ev::Replacement) => STALL,
        (OM_AC, Ev::FwdGetS) => stay(&[DataToRequester]),
        // Another writer's GetM reached the directory first: hand the line over and
        // wait for it to come back as an ordinary miss.
        (OM_AC, Ev::FwdGetM) => go(&[DataToRequester], IM_AD),
        (OM_AC, Ev::AckCount) => go(&[AddAcks], OM_A),
        (OM_AC, Ev::AckCountLast) => go(&[AddAcks, Complete], M),
        (OM_AC, Ev::InvAck) => stay(&[CountInvAck]),

        (OM_A, Ev::Load) => HIT,
        (OM_A, Ev::Store | Ev::Replacement) => STALL,
        (OM_A, Ev::FwdGetS | Ev::FwdGetM) => STALL,
        (OM_A, Ev::InvAck) => stay(&[CountInvAck]),
        (OM_A, Ev::LastInvAck) => go(&[CountInvAck, Complete], M),

        (MI_A | EI_A, Ev::FwdGetS) => go(&[DataToRequester], OI_A),

        (OI_A, Ev::Load | Ev::Store | Ev::Replacement) => STALL,
        (OI_A, Ev::FwdGetS) => stay(&[DataToRequester]),
        (OI_A, Ev::FwdGetM) => go(&[DataToRequester], II_A),
        (OI_A, Ev::PutAck) => go(&[], I),

        _ => return mesi(state, event),
    })
}

#[cfg(test)]
#[path = "l1_table_tests.rs"]
mod tests;
