//! Coherence messages, the three virtual networks, and the primitive tags each
//! message carries (the catalogue in shared/seeds/000_…: request-grant 1a,
//! broadcast-and-collect 2a, revoke-and-confirm 3a, authority transfer 5a,
//! flush-before-handoff 6a/6b, silent withdrawal 7a).

use smallvec::SmallVec;

use crate::protocol::l1_table::L1Event;

/// Node ids: cores (their L1s) are `0..cores`, directory slices follow.
pub type NodeId = u16;
/// A line address: the byte address shifted right by log2(line size).
pub type LineAddr = u64;
/// The words of one line (8-byte words; inline up to a 64-byte line).
pub type LineData = SmallVec<[u64; 8]>;

/// Bytes of a control message (header: type, address, source, destination, ack count).
pub const CONTROL_BYTES: u32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vnet {
    Request = 0,
    Forward = 1,
    Response = 2,
}

impl Vnet {
    pub const ALL: [Vnet; 3] = [Vnet::Request, Vnet::Forward, Vnet::Response];
    pub fn name(self) -> &'static str {
        match self {
            Vnet::Request => "request",
            Vnet::Forward => "forward",
            Vnet::Response => "response",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgKind {
    GetS,
    GetM,
    PutS,
    PutE,
    PutM,
    PutO,
    FwdGetS,
    FwdGetM,
    Inv,
    PutAck,
    Data,
    InvAck,
    AckCount,
}

impl MsgKind {
    /// The L1 events a message of this kind may become at an L1 (none for a
    /// request, which only directories receive).
    pub fn l1_events(self) -> &'static [L1Event] {
        use MsgKind::*;
        match self {
            GetS | GetM | PutS | PutE | PutM | PutO => &[],
            FwdGetS => &[L1Event::FwdGetS],
            FwdGetM => &[L1Event::FwdGetM],
            Inv => &[L1Event::Inv],
            PutAck => &[L1Event::PutAck],
            Data => &[L1Event::Data, L1Event::DataAwaitAcks, L1Event::ExclusiveData],
            InvAck => &[L1Event::InvAck, L1Event::LastInvAck],
            AckCount => &[L1Event::AckCount, L1Event::AckCountLast],
        }
    }

    pub const ALL: [MsgKind; 13] = [
        MsgKind::GetS,
        MsgKind::GetM,
        MsgKind::PutS,
        MsgKind::PutE,
        MsgKind::PutM,
        MsgKind::PutO,
        MsgKind::FwdGetS,
        MsgKind::FwdGetM,
        MsgKind::Inv,
        MsgKind::PutAck,
        MsgKind::Data,
        MsgKind::InvAck,
        MsgKind::AckCount,
    ];

    pub fn vnet(self) -> Vnet {
        use MsgKind::*;
        match self {
            GetS | GetM | PutS | PutE | PutM | PutO => Vnet::Request,
            // AckCount answers an owner's upgrade from O. It travels with the
            // directory's forwarded requests, not with the responses: a later
            // Fwd-GetM to the same cache must not overtake it, or the cache (in
            // OM_AC) would take the Fwd-GetM as proof that it lost the race and give
            // away a line the directory has already made its own. The random tester
            // found that race with AckCount on the response network.
            FwdGetS | FwdGetM | Inv | PutAck | AckCount => Vnet::Forward,
            Data | InvAck => Vnet::Response,
        }
    }

    pub fn name(self) -> &'static str {
        use MsgKind::*;
        match self {
            GetS => "GetS",
            GetM => "GetM",
            PutS => "PutS",
            PutE => "PutE",
            PutM => "PutM",
            PutO => "PutO",
            FwdGetS => "Fwd-GetS",
            FwdGetM => "Fwd-GetM",
            Inv => "Inv",
            PutAck => "Put-Ack",
            Data => "Data",
            InvAck => "Inv-Ack",
            AckCount => "AckCount",
        }
    }
}

/// The primitive variants of the catalogue that cohsim's hardware layer uses (and
/// that the software layer will reuse). A message carries a set of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Primitive {
    /// 1a request-grant, single granter.
    RequestGrant = 0,
    /// 1b request-grant, quorum.
    QuorumGrant,
    /// 2a broadcast-and-collect, unanimity.
    BroadcastCollect,
    /// 2b broadcast-and-collect, quorum.
    QuorumCollect,
    /// 3a revoke-and-confirm, unanimity.
    RevokeConfirm,
    /// 3b revoke-and-confirm, quorum.
    QuorumRevoke,
    /// 4a monotonic ordering token, centrally generated.
    TokenCentral,
    /// 4b monotonic ordering token, locally generated.
    TokenLocal,
    /// 4c monotonic ordering token, per-process logical clock.
    TokenLogical,
    /// 5a authority transfer, coordinated.
    AuthorityCoordinated,
    /// 5b authority transfer, competitive with unique tokens.
    AuthorityUnique,
    /// 5c authority transfer, competitive with split vote.
    AuthoritySplitVote,
    /// 6a flush-before-handoff to the shared store.
    FlushToStore,
    /// 6b flush-before-handoff to the successor directly.
    FlushToSuccessor,
    /// 7a silent withdrawal, discovered on next interaction.
    SilentWithdrawal,
    /// 7b silent withdrawal, discovered by timeout.
    SilentTimeout,
}

impl Primitive {
    pub const ALL: [Primitive; 16] = [
        Primitive::RequestGrant,
        Primitive::QuorumGrant,
        Primitive::BroadcastCollect,
        Primitive::QuorumCollect,
        Primitive::RevokeConfirm,
        Primitive::QuorumRevoke,
        Primitive::TokenCentral,
        Primitive::TokenLocal,
        Primitive::TokenLogical,
        Primitive::AuthorityCoordinated,
        Primitive::AuthorityUnique,
        Primitive::AuthoritySplitVote,
        Primitive::FlushToStore,
        Primitive::FlushToSuccessor,
        Primitive::SilentWithdrawal,
        Primitive::SilentTimeout,
    ];

    /// The catalogue's tag, e.g. `"3a"`.
    pub fn tag(self) -> &'static str {
        ["1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b", "4c", "5a", "5b", "5c", "6a", "6b", "7a", "7b"][self as usize]
    }

    pub fn name(self) -> &'static str {
        match self as usize {
            0 | 1 => "request-grant",
            2 | 3 => "broadcast-and-collect",
            4 | 5 => "revoke-and-confirm",
            6..=8 => "monotonic ordering token",
            9..=11 => "authority transfer",
            12 | 13 => "flush-before-handoff",
            _ => "silent withdrawal",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.tag() == tag)
    }
}

/// A set of primitive tags (a bit per `Primitive`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tags(pub u16);

impl Tags {
    pub const NONE: Tags = Tags(0);
    pub const fn of(p: Primitive) -> Tags {
        Tags(1 << p as u16)
    }
    pub const fn with(self, p: Primitive) -> Tags {
        Tags(self.0 | 1 << p as u16)
    }
    pub fn contains(self, p: Primitive) -> bool {
        self.0 & (1 << p as u16) != 0
    }
    /// The primitives in the set, in catalogue order (one step per set bit).
    pub fn iter(self) -> impl Iterator<Item = Primitive> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let i = bits.trailing_zeros() as usize;
            bits &= bits.wrapping_sub(1);
            Primitive::ALL.get(i).copied()
        })
    }
}

impl std::fmt::Debug for Tags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(|p| p.tag())).finish()
    }
}

/// One coherence message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msg {
    pub kind: MsgKind,
    pub line: LineAddr,
    pub src: NodeId,
    pub dst: NodeId,
    /// The core whose request this message serves (the requester of a Fwd or Inv,
    /// the sender of a Get or Put).
    pub requester: NodeId,
    /// Data: Inv-Acks the receiver must collect. AckCount and Fwd-GetM: the same.
    pub acks: u16,
    /// Data granted in E (MESI/MOESI exclusive-clean grant).
    pub exclusive: bool,
    /// The carried data differs from memory (PutM/PutO/Data to the directory).
    pub dirty: bool,
    /// Data sourced from main memory: the timed world charges DRAM time for it.
    pub from_memory: bool,
    pub data: Option<LineData>,
    pub tags: Tags,
}

impl Msg {
    pub fn control(kind: MsgKind, line: LineAddr, src: NodeId, dst: NodeId) -> Msg {
        Msg {
            kind,
            line,
            src,
            dst,
            requester: src,
            acks: 0,
            exclusive: false,
            dirty: false,
            from_memory: false,
            data: None,
            tags: Tags::NONE,
        }
    }

    pub fn vnet(&self) -> Vnet {
        self.kind.vnet()
    }

    /// Size on the wire: a header, plus the line when data travels.
    pub fn bytes(&self) -> u32 {
        CONTROL_BYTES + self.data.as_ref().map_or(0, |d| 8 * d.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_iterate_their_primitives_in_catalogue_order() {
        for bits in 0..=u16::MAX {
            let tags = Tags(bits);
            let want: Vec<Primitive> = Primitive::ALL.into_iter().filter(|&p| tags.contains(p)).collect();
            assert_eq!(tags.iter().collect::<Vec<_>>(), want);
        }
    }
}
