//! `Directory`: one home slice: per-line state, owner and full-map sharer set, and
//! the memory contents of the lines homed here. Driven by the tables in
//! `crate::protocol::dir_table`.
//!
//! Entries exist only for lines some cache holds (an entry that returns to I with
//! nobody listed is removed), so the directory's size follows the caches' contents,
//! not the trace's footprint. Memory holds only lines that were ever written back;
//! any other line reads as zeros.

use rustc_hash::FxHashMap;

use super::{
    Ctrl, Handled, LineAddr, LineData, Msg, MsgKind, Mutation, NodeId, Note, Outbox, Primitive as P, ProtocolError,
    SharerSet, Tags,
};
use crate::protocol::Protocol;
use crate::protocol::dir_table::{self, DirAction, DirEvent, DirState};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirSpec {
    pub protocol: Protocol,
    pub slice: u16,
    pub node: NodeId,
    /// Words per line.
    pub words: usize,
    /// Number of cores (node ids below it are L1s).
    pub cores: usize,
    /// A deliberate bug (mutation testing only).
    pub mutation: Option<Mutation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirEntry {
    pub state: DirState,
    pub owner: Option<u16>,
    pub sharers: SharerSet,
}

impl DirEntry {
    pub const INVALID: DirEntry = DirEntry { state: DirState::I, owner: None, sharers: SharerSet::EMPTY };
}

static INVALID_ENTRY: DirEntry = DirEntry::INVALID;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    pub spec: DirSpec,
    pub entries: FxHashMap<LineAddr, DirEntry>,
    pub memory: FxHashMap<LineAddr, LineData>,
}

impl Directory {
    pub fn new(spec: DirSpec) -> Self {
        Directory { spec, entries: FxHashMap::default(), memory: FxHashMap::default() }
    }

    pub fn entry(&self, line: LineAddr) -> &DirEntry {
        self.entries.get(&line).unwrap_or(&INVALID_ENTRY)
    }

    pub fn memory_line(&self, line: LineAddr) -> LineData {
        self.memory.get(&line).cloned().unwrap_or_else(|| LineData::from_elem(0, self.spec.words))
    }

    fn classify(&self, msg: &Msg, e: &DirEntry) -> Result<DirEvent, ProtocolError> {
        let req = msg.requester;
        let is_owner = e.owner == Some(req);
        let last = e.sharers.len() == 1 && e.owner.is_none();
        Ok(match msg.kind {
            MsgKind::GetS if is_owner => DirEvent::OwnerGetS,
            MsgKind::GetS => DirEvent::GetS,
            MsgKind::GetM if is_owner => DirEvent::OwnerGetM,
            MsgKind::GetM => DirEvent::GetM,
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO if is_owner => {
                let alone = e.sharers.is_empty();
                match (msg.kind, alone) {
                    (MsgKind::PutE, false) => DirEvent::OwnerPutE,
                    (MsgKind::PutM, false) => DirEvent::OwnerPutM,
                    (MsgKind::PutO, false) => DirEvent::OwnerPutO,
                    (MsgKind::PutE, true) => DirEvent::LastOwnerPutE,
                    (MsgKind::PutM, true) => DirEvent::LastOwnerPutM,
                    (MsgKind::PutO, true) => DirEvent::LastOwnerPutO,
                    _ => return Err(self.error(msg.line, e.state, "PutS", "PutS from the owner")),
                }
            }
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO if e.sharers.contains(req as usize) => {
                if last { DirEvent::LastPutS } else { DirEvent::PutS }
            }
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO => DirEvent::StalePut,
            MsgKind::Data if e.sharers.is_empty() => DirEvent::DataNoSharers,
            MsgKind::Data => DirEvent::Data,
            other => {
                return Err(self.error(msg.line, e.state, other.name(), "a directory never receives this message"));
            }
        })
    }

    fn error(&self, line: LineAddr, state: DirState, event: &'static str, detail: &str) -> ProtocolError {
        ProtocolError { ctrl: Ctrl::Dir(self.spec.slice), line, state: state.name(), event, detail: detail.to_string() }
    }

    /// A message from the network.
    pub fn handle(&mut self, msg: &Msg, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let line = msg.line;
        let mut e = self.entries.get(&line).cloned().unwrap_or(DirEntry::INVALID);
        let from = e.state;
        let event = self.classify(msg, &e)?;
        let protocol = self.spec.protocol;
        let row = match self.spec.mutation {
            Some(m) => {
                dir_table::mutated_row(m, protocol, from, event).or_else(|| dir_table::row(protocol, from, event))
            }
            None => dir_table::row(protocol, from, event),
        };
        let row = row.ok_or_else(|| {
            self.error(line, from, event.name(), &format!("{} directory has no row for this pair", self.spec.protocol))
        })?;
        if row.actions == [DirAction::Stall] {
            // Reported so statistics can count stalls; nothing changed.
            out.notes.push(Note::DirTransition { slice: self.spec.slice, line, from, event, to: from });
            return Ok(Handled::Stalled);
        }
        let me = self.spec.node;
        let req = msg.requester;
        for &action in row.actions {
            match action {
                DirAction::Stall => unreachable!("stall rows return before running"),
                DirAction::DataFromMemory | DirAction::ExclusiveDataFromMemory | DirAction::DataFromMemoryAckShort => {
                    let mut m = Msg::control(MsgKind::Data, line, me, req);
                    m.requester = req;
                    m.exclusive = action == DirAction::ExclusiveDataFromMemory;
                    // A writer collects an Inv-Ack from every other sharer; a reader none.
                    if msg.kind == MsgKind::GetM {
                        m.acks = e.sharers.len_without(req as usize) as u16;
                        if action == DirAction::DataFromMemoryAckShort {
                            m.acks = m.acks.saturating_sub(1);
                        }
                    }
                    m.from_memory = true;
                    m.data = Some(self.memory_line(line));
                    m.tags = Tags::of(P::RequestGrant);
                    out.notes.push(Note::MemRead { line });
                    out.msgs.push(m);
                }
                DirAction::AddSharer => e.sharers.insert(req as usize),
                DirAction::RemoveSharer => e.sharers.remove(req as usize),
                DirAction::RemoveNextSharer => e.sharers.remove(self.next_cache(req) as usize),
                DirAction::ClearSharers => e.sharers.clear(),
                DirAction::OwnerToSharers => {
                    let owner = e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner to demote"))?;
                    e.sharers.insert(owner as usize);
                }
                DirAction::SetOwner => e.owner = Some(req),
                DirAction::ClearOwner => e.owner = None,
                DirAction::FwdGetSToOwner
                | DirAction::FwdGetMToOwner
                | DirAction::FwdGetSToWrongOwner
                | DirAction::FwdGetMToWrongOwner => {
                    let owner =
                        e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner to forward to"))?;
                    let (kind, owner) = match action {
                        DirAction::FwdGetSToOwner => (MsgKind::FwdGetS, owner),
                        DirAction::FwdGetMToOwner => (MsgKind::FwdGetM, owner),
                        DirAction::FwdGetSToWrongOwner => (MsgKind::FwdGetS, self.next_cache(owner)),
                        _ => (MsgKind::FwdGetM, self.next_cache(owner)),
                    };
                    let mut m = Msg::control(kind, line, me, owner);
                    m.requester = req;
                    if kind == MsgKind::FwdGetM {
                        m.acks = e.sharers.len_without(req as usize) as u16;
                        m.tags = Tags::of(P::AuthorityCoordinated);
                    } else {
                        m.tags = Tags::of(P::RequestGrant);
                    }
                    out.msgs.push(m);
                }
                DirAction::InvSharers => {
                    let n = e.sharers.len_without(req as usize);
                    let mut tags = Tags::of(P::RevokeConfirm);
                    if n > 1 {
                        tags = tags.with(P::BroadcastCollect);
                    }
                    for s in e.sharers.iter().filter(|&s| s != req as usize) {
                        let mut m = Msg::control(MsgKind::Inv, line, me, s as NodeId);
                        m.requester = req;
                        m.tags = tags;
                        out.msgs.push(m);
                    }
                    if n > 0 {
                        out.notes.push(Note::Invalidation { line, sharers: n as u32 });
                    }
                }
                DirAction::AckCountToOwner => {
                    let owner = e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner for AckCount"))?;
                    let mut m = Msg::control(MsgKind::AckCount, line, me, owner);
                    m.requester = owner;
                    m.acks = e.sharers.len_without(owner as usize) as u16;
                    m.tags = Tags::of(P::RevokeConfirm);
                    out.msgs.push(m);
                }
                DirAction::PutAck => {
                    let mut m = Msg::control(MsgKind::PutAck, line, me, req);
                    m.requester = req;
                    m.tags = Tags::of(P::RequestGrant);
                    out.msgs.push(m);
                }
                DirAction::WriteMemory => {
                    if msg.dirty {
                        let data = msg
                            .data
                            .clone()
                            .ok_or_else(|| self.error(line, from, event.name(), "dirty message without data"))?;
                        self.memory.insert(line, data);
                        out.notes.push(Note::MemWrite { line });
                    }
                }
            }
        }
        let to = row.next.unwrap_or(from);
        e.state = to;
        out.notes.push(Note::DirTransition { slice: self.spec.slice, line, from, event, to });
        if to == DirState::I && e.owner.is_none() && e.sharers.is_empty() {
            self.entries.remove(&line);
        } else {
            self.entries.insert(line, e);
        }
        Ok(Handled::Done)
    }

    /// The cache after `cache` (mutant actions aim at it).
    fn next_cache(&self, cache: u16) -> u16 {
        ((cache as usize + 1) % self.spec.cores) as u16
    }

    /// Lines whose entry is in a transient state, for the watchdog's report.
    pub fn transients(&self) -> Vec<(LineAddr, DirState)> {
        let mut v: Vec<_> =
            self.entries.iter().filter(|(_, e)| !e.state.is_stable()).map(|(l, e)| (*l, e.state)).collect();
        v.sort();
        v
    }
}
