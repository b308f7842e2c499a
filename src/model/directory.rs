//! `Directory`: one home slice: per-line state, owner and full-map sharer set, and
//! the memory contents of the lines homed here. Driven by the tables in
//! `crate::protocol::dir_table`.
//!
//! Entries exist only for lines some cache holds (an entry that returns to I with
//! nobody listed is removed), so the directory's size follows the caches' contents,
//! not the trace's footprint. Memory holds only lines that were ever written back;
//! any other line reads as zeros.
//!
//! What an entry's sharer record means is the organisation's (`dir_org`): the
//! default full map keeps its own branch-free path; the others decode the record
//! into the superset of cores to invalidate. A sparse directory also bounds the
//! number of entries per set (`dir_sparse`).

use rustc_hash::FxHashMap;

use super::dir_org::{Added, Organisation};
use super::{
    Ctrl, Handled, LineAddr, LineData, Msg, MsgKind, Mutation, NodeId, Note, Outbox, Primitive as P, ProtocolError,
    SharerSet, Tags,
};
use crate::protocol::Protocol;
use crate::protocol::dir_table::{self, DirAction, DirEvent, DirRow, DirState};

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
    /// How sharers are recorded, and whether entries are finite.
    pub organisation: Organisation,
    /// Number of slices (a sparse directory indexes its sets past the slice bits).
    pub slices: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirEntry {
    pub state: DirState,
    pub owner: Option<u16>,
    /// The sharer record's members, as the organisation defines them (cores,
    /// pointers or groups); never the owner in a full map.
    pub sharers: SharerSet,
    /// Every cache may hold a copy (Dir_I B overflow, broadcast directory).
    pub broadcast: bool,
    /// Inv-Acks (and owner data) addressed to the directory still due.
    pub pending: u16,
}

impl DirEntry {
    pub const INVALID: DirEntry =
        DirEntry { state: DirState::I, owner: None, sharers: SharerSet::EMPTY, broadcast: false, pending: 0 };

    /// The record names nobody.
    #[inline]
    pub fn no_sharers(&self) -> bool {
        self.sharers.is_empty() && !self.broadcast
    }
}

static INVALID_ENTRY: DirEntry = DirEntry::INVALID;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    pub spec: DirSpec,
    pub entries: FxHashMap<LineAddr, DirEntry>,
    pub memory: FxHashMap<LineAddr, LineData>,
    /// Sparse: per set, the lines holding an entry, least recently used first.
    pub lru: FxHashMap<u64, Vec<LineAddr>>,
}

impl Directory {
    pub fn new(spec: DirSpec) -> Self {
        Directory { spec, entries: FxHashMap::default(), memory: FxHashMap::default(), lru: FxHashMap::default() }
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
        let org = self.spec.organisation;
        let cores = self.spec.cores;
        let last = e.sharers.len() == 1 && e.owner.is_none() && !e.broadcast;
        Ok(match msg.kind {
            MsgKind::InvAck | MsgKind::Data if e.pending > 0 => {
                if e.pending > 1 {
                    DirEvent::DirAck
                } else {
                    let src = msg.src as usize;
                    let acker_only = e.sharers.len() == 1 && org.removable((&e.sharers, e.broadcast), src, cores);
                    if e.owner.is_none() && (e.no_sharers() || acker_only) {
                        DirEvent::LastDirAckNoSharers
                    } else {
                        DirEvent::LastDirAck
                    }
                }
            }
            MsgKind::GetS if is_owner => DirEvent::OwnerGetS,
            MsgKind::GetS if org.pointers_full_without(&e.sharers, req as usize) => DirEvent::GetSFull,
            MsgKind::GetS => DirEvent::GetS,
            MsgKind::GetM if is_owner => DirEvent::OwnerGetM,
            MsgKind::GetM => DirEvent::GetM,
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO if is_owner => {
                let alone = e.no_sharers();
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
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO
                if org.removable((&e.sharers, e.broadcast), req as usize, cores) =>
            {
                if last {
                    DirEvent::LastPutS
                } else {
                    DirEvent::PutS
                }
            }
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO
                if org.covers((&e.sharers, e.broadcast), req as usize) =>
            {
                DirEvent::UntrackedPut
            }
            MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO => DirEvent::StalePut,
            MsgKind::Data if e.no_sharers() => DirEvent::DataNoSharers,
            MsgKind::Data => DirEvent::Data,
            other => {
                return Err(self.error(msg.line, e.state, other.name(), "a directory never receives this message"));
            }
        })
    }

    fn error(&self, line: LineAddr, state: DirState, event: &'static str, detail: &str) -> ProtocolError {
        ProtocolError { ctrl: Ctrl::Dir(self.spec.slice), line, state: state.name(), event, detail: detail.to_string() }
    }

    /// The row this directory runs: a mutation's override, else the table's.
    pub(super) fn row(&self, line: LineAddr, from: DirState, event: DirEvent) -> Result<DirRow, ProtocolError> {
        let protocol = self.spec.protocol;
        let row = match self.spec.mutation {
            Some(m) => {
                dir_table::mutated_row(m, protocol, from, event).or_else(|| dir_table::row(protocol, from, event))
            }
            None => dir_table::row(protocol, from, event),
        };
        row.ok_or_else(|| {
            self.error(line, from, event.name(), &format!("{} directory has no row for this pair", self.spec.protocol))
        })
    }

    /// A message from the network.
    pub fn handle(&mut self, msg: &Msg, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let line = msg.line;
        let sparse = self.spec.organisation.sets().is_some();
        if sparse && matches!(msg.kind, MsgKind::GetS | MsgKind::GetM) && !self.entries.contains_key(&line) {
            match self.make_room(line, msg, out)? {
                super::dir_sparse::Room::Free => {}
                super::dir_sparse::Room::Recalling => return Ok(Handled::Deferred),
                super::dir_sparse::Room::Busy => return Ok(Handled::Stalled),
            }
        }
        let mut e = self.entries.get(&line).cloned().unwrap_or(DirEntry::INVALID);
        let from = e.state;
        let event = self.classify(msg, &e)?;
        let row = self.row(line, from, event)?;
        if row.actions == [DirAction::Stall] {
            // Reported so statistics can count stalls; nothing changed.
            out.notes.push(Note::DirTransition { slice: self.spec.slice, line, from, event, to: from });
            return Ok(Handled::Stalled);
        }
        let deferred = self.run(line, &mut e, event, row, msg, out)?;
        if sparse && !from.is_stable() && e.state.is_stable() && e.state != DirState::I {
            // An entry that settled may now be recalled: a request waiting for a
            // way in this set (which found every entry busy) may go. (A recall
            // that ends in I wakes them through its own row.)
            out.notes.push(Note::EntryFreed { slice: self.spec.slice, line });
        }
        let kept = self.store(line, e);
        if sparse && kept && matches!(msg.kind, MsgKind::GetS | MsgKind::GetM) {
            self.touch(line);
        }
        Ok(if deferred { Handled::Deferred } else { Handled::Done })
    }

    /// Keep `e` as the line's entry, or drop it when it records nothing; whether
    /// it was kept.
    pub(super) fn store(&mut self, line: LineAddr, e: DirEntry) -> bool {
        if e.state == DirState::I && e.owner.is_none() && e.no_sharers() && e.pending == 0 {
            if self.entries.remove(&line).is_some() && self.spec.organisation.sets().is_some() {
                self.forget_way(line);
            }
            false
        } else {
            self.entries.insert(line, e);
            true
        }
    }

    /// Run a row's actions on `e` (which becomes the row's next state) for the
    /// message `msg`; whether the row deferred the message.
    pub(super) fn run(
        &mut self,
        line: LineAddr,
        e: &mut DirEntry,
        event: DirEvent,
        row: DirRow,
        msg: &Msg,
        out: &mut Outbox,
    ) -> Result<bool, ProtocolError> {
        let from = e.state;
        let me = self.spec.node;
        let req = msg.requester;
        let org = self.spec.organisation;
        let cores = self.spec.cores;
        let mut deferred = false;
        for &action in row.actions {
            match action {
                DirAction::Stall => unreachable!("stall rows return before running"),
                DirAction::DataFromMemory | DirAction::ExclusiveDataFromMemory | DirAction::DataFromMemoryAckShort => {
                    let mut m = Msg::control(MsgKind::Data, line, me, req);
                    m.requester = req;
                    m.exclusive = action == DirAction::ExclusiveDataFromMemory;
                    // A writer collects an Inv-Ack from every other sharer; a reader none.
                    if msg.kind == MsgKind::GetM {
                        m.acks = self.others(e, req, e.owner) as u16;
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
                DirAction::AddSharer | DirAction::OwnerToSharers => {
                    let who = if action == DirAction::AddSharer {
                        req
                    } else {
                        e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner to demote"))?
                    };
                    if org.add(&mut e.sharers, &mut e.broadcast, who as usize) == Added::Full {
                        return Err(self.error(line, from, event.name(), "every pointer is used"));
                    }
                }
                DirAction::AddSharerForgetOverflow => {
                    let overflows = matches!(org, Organisation::Limited { pointers, .. }
                        if !e.broadcast && !e.sharers.contains(req as usize) && e.sharers.len() >= pointers as usize);
                    if !overflows {
                        org.add(&mut e.sharers, &mut e.broadcast, req as usize);
                    }
                }
                DirAction::RemoveSharer => org.remove(&mut e.sharers, req as usize),
                DirAction::RemoveNextSharer => e.sharers.remove(self.next_cache(req) as usize),
                DirAction::RemoveAcker => {
                    if org.removable((&e.sharers, e.broadcast), msg.src as usize, cores) {
                        org.remove(&mut e.sharers, msg.src as usize);
                    }
                }
                DirAction::ClearSharers => {
                    e.sharers.clear();
                    e.broadcast = false;
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
                        m.acks = self.others(e, req, e.owner) as u16;
                        m.tags = Tags::of(P::AuthorityCoordinated);
                    } else {
                        m.tags = Tags::of(P::RequestGrant);
                    }
                    out.msgs.push(m);
                }
                DirAction::InvSharers => {
                    let n = self.invalidate(line, e, req, e.owner, out);
                    if n > 0 {
                        out.notes.push(Note::Invalidation { line, sharers: n as u32 });
                    }
                }
                DirAction::AckCountToOwner => {
                    let owner = e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner for AckCount"))?;
                    let mut m = Msg::control(MsgKind::AckCount, line, me, owner);
                    m.requester = owner;
                    m.acks = self.others(e, owner, None) as u16;
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
                DirAction::InvVictim | DirAction::DropVictim => {
                    let victim = e
                        .sharers
                        .iter()
                        .next()
                        .ok_or_else(|| self.error(line, from, event.name(), "no pointer to free"))?;
                    if action == DirAction::DropVictim {
                        e.sharers.remove(victim);
                    } else {
                        let mut m = Msg::control(MsgKind::Inv, line, me, victim as NodeId);
                        m.requester = me;
                        m.tags = Tags::of(P::RevokeConfirm);
                        out.msgs.push(m);
                        e.pending += 1;
                        out.notes.push(Note::PointerEviction { line });
                    }
                }
                DirAction::Defer => deferred = true,
                DirAction::RecallInv => {
                    let n = self.invalidate(line, e, me, e.owner, out);
                    e.pending += n as u16;
                }
                DirAction::RecallOwner => {
                    let owner = e.owner.ok_or_else(|| self.error(line, from, event.name(), "no owner to recall"))?;
                    let mut m = Msg::control(MsgKind::FwdGetM, line, me, owner);
                    m.requester = me;
                    m.tags = Tags::of(P::RevokeConfirm).with(P::FlushToStore);
                    out.msgs.push(m);
                    e.pending += 1;
                }
                DirAction::CountAck => {
                    e.pending = e
                        .pending
                        .checked_sub(1)
                        .ok_or_else(|| self.error(line, from, event.name(), "an ack nobody waits for"))?;
                }
                DirAction::Wake => {
                    // Freed: nothing is awaited any more (a correct row has
                    // counted every ack by now; a broken one forgets them).
                    e.pending = 0;
                    out.notes.push(Note::EntryFreed { slice: self.spec.slice, line });
                }
            }
        }
        let to = row.next.unwrap_or(from);
        e.state = to;
        out.notes.push(Note::DirTransition { slice: self.spec.slice, line, from, event, to });
        Ok(deferred)
    }

    /// How many caches other than `a` and `b` an invalidation reaches.
    #[inline]
    fn others(&self, e: &DirEntry, a: u16, b: Option<u16>) -> usize {
        match self.spec.organisation {
            // The full map never lists the owner among the sharers.
            Organisation::Full | Organisation::Sparse { .. } => e.sharers.len_without(a as usize),
            org => {
                let mut v = Vec::new();
                org.targets((&e.sharers, e.broadcast), self.spec.cores, Some(a), b, &mut v);
                v.len()
            }
        }
    }

    /// Inv to every cache the record covers but `requester` and `owner`, the
    /// acks to `requester` (a cache, or this directory for a recall); how many
    /// were sent.
    fn invalidate(
        &self,
        line: LineAddr,
        e: &DirEntry,
        requester: NodeId,
        owner: Option<u16>,
        out: &mut Outbox,
    ) -> usize {
        let me = self.spec.node;
        let send = |s: usize, n: usize, out: &mut Outbox| {
            let mut m = Msg::control(MsgKind::Inv, line, me, s as NodeId);
            m.requester = requester;
            m.tags =
                if n > 1 { Tags::of(P::RevokeConfirm).with(P::BroadcastCollect) } else { Tags::of(P::RevokeConfirm) };
            out.msgs.push(m);
        };
        match self.spec.organisation {
            // The full map never lists the owner among the sharers.
            Organisation::Full | Organisation::Sparse { .. } => {
                let n = e.sharers.len_without(requester as usize);
                for s in e.sharers.iter().filter(|&s| s != requester as usize) {
                    send(s, n, out);
                }
                n
            }
            org => {
                let mut v = Vec::new();
                org.targets((&e.sharers, e.broadcast), self.spec.cores, Some(requester), owner, &mut v);
                for &s in &v {
                    send(s, v.len(), out);
                }
                v.len()
            }
        }
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
