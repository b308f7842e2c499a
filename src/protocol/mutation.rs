//! Deliberate protocol bugs, for mutation testing: the model checker and the
//! random tester must catch every one. Most are rows of the tables that run
//! instead of the real ones (`l1_table::mutated_row`, `dir_table::mutated_row`);
//! the last two live on the L1-hit fast path, which runs no row.

/// A deliberate bug, for showing that the checkers catch broken protocols
/// (mutation testing). `None` in every real configuration.
///
/// A bug in what a controller does for a (state, event) pair is a *row
/// override*: `l1_table::mutated_row` and `dir_table::mutated_row` give the row
/// the broken controller runs instead of the table's, so the controllers hold
/// no mutation tests of their own. The last two bugs live on the L1-hit fast
/// path, which runs no table row (see `L1Controller::hit_frame`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutation {
    /// L1: a sharer invalidated in S drops the line without sending its Inv-Ack.
    SkipInvAck,
    /// Directory: forwards go to the wrong cache (owner + 1).
    ForwardToWrongOwner,
    /// Directory: the ack count in Data to a writer is one too small.
    WrongAckCount,
    /// Directory: never sends a Put-Ack.
    DropPutAck,
    /// Directory: a GetS in S does not record the new sharer.
    ForgetSharer,
    /// Directory: a GetS to an owned line is answered from (stale) memory.
    StaleMemoryData,
    /// L1: an owner answering Fwd-GetS under MESI sends no copy to the directory.
    NoDataToDirectory,
    /// L1: the data of a miss is not copied into the line.
    IgnoreData,
    /// Directory: a GetM in S invalidates nobody and asks for no acks.
    NoInvalidation,
    /// L1: a store miss completes when its data arrives, without waiting for acks.
    SkipAckWait,
    /// Directory: a GetS in S is granted exclusive (E) data.
    ExclusiveToSharer,
    /// L1: a dirty M line is dropped on replacement without a PutM.
    DropDirtyLine,
    /// Directory: a PutS removes cache `requester + 1` from the sharers instead
    /// of the requester. It treats cache ids differently, which symmetry
    /// reduction assumes no controller does: the checker must notice.
    RemoveWrongSharer,
    /// L1 fast path: the hit tags report a line in S or O writable, so a store
    /// hits it (and makes it M) without asking the directory for M.
    HitTagWritableShared,
    /// L1 fast path: a store hit that upgrades E to M silently leaves the line
    /// clean, so its data is never written back.
    SilentUpgradeStaysClean,
    /// Sparse directory: a recall frees the entry at once instead of waiting for
    /// the Inv-Acks and the owner's data it asked for.
    RecallSkipsAcks,
    /// Limited pointers: an overflow forgets a sharer. Dir_I B records nothing
    /// instead of setting the broadcast bit; Dir_I NB drops a pointer without
    /// invalidating that sharer (or waiting for its ack).
    OverflowForgetsSharer,
    /// Snooping bus (`snoop_table::mutated_row`): a cache in S ignores another
    /// cache's GetM ordered on the bus, so its stale copy outlives the new writer.
    SnoopIgnoresGetM,
    /// Snooping bus: a cache in M gives the line up to another cache's GetM
    /// without sending it the data, so the new writer waits for ever.
    SnoopOwnerSendsNoData,
}

impl Mutation {
    /// The snooping bus's mutations (apart from `ALL`, the directory machine's:
    /// they are checked on the bus).
    pub const SNOOP: [Mutation; 2] = [Mutation::SnoopIgnoresGetM, Mutation::SnoopOwnerSendsNoData];

    pub const ALL: [Mutation; 17] = [
        Mutation::SkipInvAck,
        Mutation::ForwardToWrongOwner,
        Mutation::WrongAckCount,
        Mutation::DropPutAck,
        Mutation::ForgetSharer,
        Mutation::StaleMemoryData,
        Mutation::NoDataToDirectory,
        Mutation::IgnoreData,
        Mutation::NoInvalidation,
        Mutation::SkipAckWait,
        Mutation::ExclusiveToSharer,
        Mutation::DropDirtyLine,
        Mutation::RemoveWrongSharer,
        Mutation::HitTagWritableShared,
        Mutation::SilentUpgradeStaysClean,
        Mutation::RecallSkipsAcks,
        Mutation::OverflowForgetsSharer,
    ];

    /// The directory organisation a mutation needs to do anything (the others
    /// act on every organisation).
    pub fn organisation(self) -> Option<&'static str> {
        match self {
            Mutation::RecallSkipsAcks => Some("sparse"),
            Mutation::OverflowForgetsSharer => Some("limited"),
            _ => None,
        }
    }
}
