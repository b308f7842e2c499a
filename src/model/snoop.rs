//! The snooping bus's controllers: `SnoopCache`, one core's private cache on the
//! bus, and `SnoopMemory`, the memory controller that snoops the same bus. Both
//! run the tables of `crate::protocol::snoop_table` (its opening comment is the
//! protocol's essay) and are pure: `handle(&mut self, input, &mut Outbox)`, no
//! clock, no other controller. The timed engine (`engine::bus`) and the tests
//! drive them.
//!
//! A `SnoopCache` is a view over an `L1Controller`'s storage (its cache array,
//! MSHR and write-back buffer, so the hit path, the replacement policy and the
//! invariant checker are the directory machine's own) plus `SnoopSide`, which
//! holds the snooping state of lines in transient states. The array keeps, for
//! every line, the directory L1 state with the same permissions
//! (`SnoopState::image`); stable states are the same in both.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use super::l1::{AccessOutcome, L1Controller, Mshr, WbEntry};
use super::{
    Access, Ctrl, Handled, LineAddr, LineData, Msg, MsgKind, Mutation, NodeId, Note, Outbox, Primitive as P,
    ProtocolError, Tags,
};
use crate::protocol::Protocol;
use crate::protocol::snoop_table::{
    self, MemAction, MemEvent, MemState, SnoopAction, SnoopEvent, SnoopRow, SnoopState,
};

/// What a snooping cache is, apart from its storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnoopSide {
    pub core: u16,
    pub protocol: Protocol,
    /// The memory controller's node id (where write-backs go).
    pub memory: NodeId,
    pub mutation: Option<Mutation>,
    /// Lines in transient states and their snooping state (at most the MSHR's
    /// line and the write-back buffer's).
    transient: SmallVec<[(LineAddr, SnoopState); 4]>,
}

impl SnoopSide {
    pub fn new(core: u16, protocol: Protocol, memory: NodeId, mutation: Option<Mutation>) -> Self {
        SnoopSide { core, protocol, memory, mutation, transient: SmallVec::new() }
    }

    /// Forget every transient line (the model checker rebuilds a cache from its
    /// encoding with `set_transient`).
    pub fn clear_transients(&mut self) {
        self.transient.clear();
    }

    /// Record `line` as being in the transient state `state` (its storage is the
    /// caller's to set, to `state.image()`).
    pub fn set_transient(&mut self, line: LineAddr, state: SnoopState) {
        debug_assert!(!state.is_stable());
        self.transient.retain(|(l, _)| *l != line);
        self.transient.push((line, state));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Absent,
    Frame(usize),
    Wb(usize),
}

/// One snooping cache: its storage and its snooping side, borrowed together.
pub struct SnoopCache<'a> {
    pub l1: &'a mut L1Controller,
    pub side: &'a mut SnoopSide,
}

/// The state of `line` in a snooping cache.
pub fn state_of(l1: &L1Controller, side: &SnoopSide, line: LineAddr) -> SnoopState {
    if let Some(&(_, s)) = side.transient.iter().find(|(l, _)| *l == line) {
        return s;
    }
    SnoopState::from_stable(l1.state_of(line)).unwrap_or(SnoopState::I)
}

impl SnoopCache<'_> {
    fn me(&self) -> u16 {
        self.side.core
    }

    fn locate(&self, line: LineAddr) -> Loc {
        if let Some(i) = self.l1.array.find(line) {
            return Loc::Frame(i);
        }
        match self.l1.wb.iter().position(|e| e.line == line) {
            Some(i) => Loc::Wb(i),
            None => Loc::Absent,
        }
    }

    pub fn state_of(&self, line: LineAddr) -> SnoopState {
        state_of(self.l1, self.side, line)
    }

    fn error(&self, line: LineAddr, state: SnoopState, event: SnoopEvent, detail: impl Into<String>) -> ProtocolError {
        ProtocolError {
            ctrl: Ctrl::L1(self.me()),
            line,
            state: state.name(),
            event: event.name(),
            detail: detail.into(),
        }
    }

    fn row(&self, line: LineAddr, state: SnoopState, event: SnoopEvent) -> Result<SnoopRow, ProtocolError> {
        let mutated = self.side.mutation.and_then(|m| snoop_table::mutated_row(m, state, event));
        mutated.or_else(|| snoop_table::row(self.side.protocol, state, event)).ok_or_else(|| {
            self.error(line, state, event, format!("{} snooping cache has no row for this pair", self.side.protocol))
        })
    }

    /// A core access that did not hit on the fast path (see `L1Controller::access`,
    /// whose frame handling this follows step for step, so one core sees the
    /// same hits and misses on the bus as on the network).
    pub fn access(&mut self, access: Access, out: &mut Outbox) -> Result<AccessOutcome, ProtocolError> {
        let line = self.l1.line_of(access.addr);
        let event = if access.op.writes() { SnoopEvent::Store } else { SnoopEvent::Load };
        match self.locate(line) {
            Loc::Wb(_) => Ok(AccessOutcome::Blocked),
            Loc::Frame(idx) => {
                let state = self.state_of(line);
                let row = self.row(line, state, event)?;
                if row.actions == [SnoopAction::Stall] {
                    return Ok(AccessOutcome::Blocked);
                }
                if row.actions == [SnoopAction::Hit] {
                    let (value, _) = self.perform(idx, access, false, out);
                    self.set_state(Loc::Frame(idx), line, state, row.next, out);
                    return Ok(AccessOutcome::Hit(value));
                }
                if self.l1.mshr.is_some() {
                    return Ok(AccessOutcome::Blocked);
                }
                self.l1.mshr = Some(Mshr { line, access, acks: 0 });
                self.l1.array.touch(idx);
                self.run(Loc::Frame(idx), line, state, event, row, None, out)?;
                Ok(AccessOutcome::Miss)
            }
            Loc::Absent => {
                if self.l1.mshr.is_some() {
                    return Ok(AccessOutcome::Blocked);
                }
                let idx = match self.l1.array.free_frame(line) {
                    Some(idx) => idx,
                    None => {
                        let Some(victim) = self.l1.array.victim(line) else {
                            return Ok(AccessOutcome::Blocked);
                        };
                        let victim_line = self.l1.array.frame(victim).line;
                        if self.evict(victim_line, out)? == Handled::Stalled {
                            return Ok(AccessOutcome::Blocked);
                        }
                        victim
                    }
                };
                self.l1.array.install(idx, line, crate::protocol::l1_table::L1State::I);
                self.l1.mshr = Some(Mshr { line, access, acks: 0 });
                let row = self.row(line, SnoopState::I, event)?;
                self.run(Loc::Frame(idx), line, SnoopState::I, event, row, None, out)?;
                Ok(AccessOutcome::Miss)
            }
        }
    }

    /// Replace a stable line; `Stalled` when the write-back buffer is full.
    pub fn evict(&mut self, line: LineAddr, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let Loc::Frame(idx) = self.locate(line) else {
            return Ok(Handled::Stalled);
        };
        let state = self.state_of(line);
        let event = SnoopEvent::Replacement;
        let row = self.row(line, state, event)?;
        if row.actions == [SnoopAction::Stall] {
            return Ok(Handled::Stalled);
        }
        let to_wb = row.next.is_some_and(|s| s.image().in_writeback_buffer());
        if to_wb && self.l1.wb.len() >= self.l1.spec.wb_entries {
            return Ok(Handled::Stalled);
        }
        self.run(Loc::Frame(idx), line, state, event, row, None, out)?;
        Ok(Handled::Done)
    }

    /// A request the bus ordered (this cache's own or another's), or data from
    /// the data bus.
    pub fn handle(&mut self, msg: &Msg, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let line = msg.line;
        let state = self.state_of(line);
        let own = msg.src == self.me();
        let event = match msg.kind {
            MsgKind::Data if msg.exclusive => SnoopEvent::ExclusiveData,
            MsgKind::Data => SnoopEvent::Data,
            MsgKind::GetS if own && msg.exclusive && self.side.protocol != Protocol::Msi => SnoopEvent::OwnGetSAlone,
            MsgKind::GetS if own => SnoopEvent::OwnGetS,
            MsgKind::GetM if own => SnoopEvent::OwnGetM,
            MsgKind::PutM if own => SnoopEvent::OwnPutM,
            MsgKind::GetS => SnoopEvent::OtherGetS,
            MsgKind::GetM => SnoopEvent::OtherGetM,
            MsgKind::PutM => SnoopEvent::OtherPutM,
            other => {
                return Err(ProtocolError {
                    ctrl: Ctrl::L1(self.me()),
                    line,
                    state: state.name(),
                    event: other.name(),
                    detail: "a snooping cache never receives this message".into(),
                });
            }
        };
        let row = self.row(line, state, event)?;
        if row.actions == [SnoopAction::Stall] {
            return Ok(Handled::Stalled);
        }
        let loc = self.locate(line);
        self.run(loc, line, state, event, row, Some(msg), out)?;
        Ok(Handled::Done)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        loc: Loc,
        line: LineAddr,
        state: SnoopState,
        event: SnoopEvent,
        row: SnoopRow,
        msg: Option<&Msg>,
        out: &mut Outbox,
    ) -> Result<(), ProtocolError> {
        let me = self.me();
        let memory = self.side.memory;
        let need_msg = |c: &Self| msg.ok_or_else(|| c.error(line, state, event, "action needs a bus message"));
        for &action in row.actions {
            match action {
                SnoopAction::Stall => unreachable!("stall rows return before running"),
                SnoopAction::Hit => {
                    let Loc::Frame(idx) = loc else {
                        return Err(self.error(line, state, event, "hit on a line without a frame"));
                    };
                    let access = self.l1.mshr.as_ref().map(|m| m.access);
                    let access = access.ok_or_else(|| self.error(line, state, event, "hit without an access"))?;
                    self.perform(idx, access, false, out);
                }
                SnoopAction::IssueGetS | SnoopAction::IssueGetM | SnoopAction::IssuePutM => {
                    let kind = match action {
                        SnoopAction::IssueGetS => MsgKind::GetS,
                        SnoopAction::IssueGetM => MsgKind::GetM,
                        _ => MsgKind::PutM,
                    };
                    let mut m = Msg::control(kind, line, me, memory);
                    m.tags = Tags::of(P::TokenCentral).with(P::RequestGrant);
                    if kind == MsgKind::PutM {
                        m.tags = m.tags.with(P::FlushToStore);
                    }
                    out.msgs.push(m);
                }
                SnoopAction::DataToRequester | SnoopAction::DataToRequesterAndMemory | SnoopAction::DataToMemory => {
                    let (data, dirty) = self.payload(loc);
                    let to_memory = action != SnoopAction::DataToRequester;
                    if action != SnoopAction::DataToMemory {
                        let req = need_msg(self)?;
                        let mut d = Msg::control(MsgKind::Data, line, me, req.src);
                        d.requester = req.src;
                        d.dirty = dirty;
                        d.data = Some(data.clone());
                        d.tags = match (req.kind, to_memory) {
                            (MsgKind::GetM, _) => Tags::of(P::AuthorityCoordinated),
                            (_, false) => Tags::of(P::FlushToSuccessor),
                            _ => Tags::of(P::RequestGrant),
                        };
                        out.msgs.push(d);
                    }
                    if to_memory {
                        let mut d = Msg::control(MsgKind::Data, line, me, memory);
                        d.requester = msg.map_or(me, |m| m.src);
                        d.dirty = dirty;
                        d.data = Some(data);
                        d.tags = Tags::of(P::FlushToStore);
                        if action == SnoopAction::DataToMemory && dirty {
                            out.notes.push(Note::Writeback { core: me, line });
                        }
                        out.msgs.push(d);
                    }
                }
                SnoopAction::StoreData => {
                    let m = need_msg(self)?;
                    let Loc::Frame(idx) = loc else {
                        return Err(self.error(line, state, event, "data for a line without a frame"));
                    };
                    let Some(data) = &m.data else {
                        return Err(self.error(line, state, event, "Data message without data"));
                    };
                    self.l1.array.data_mut(idx).copy_from_slice(data);
                    self.l1.array.set_dirty(idx, m.dirty);
                }
                SnoopAction::Complete | SnoopAction::CompleteOnce => {
                    let Loc::Frame(idx) = loc else {
                        return Err(self.error(line, state, event, "completion without a frame"));
                    };
                    let mshr = self.l1.mshr.take().filter(|x| x.line == line);
                    let mshr = mshr.ok_or_else(|| self.error(line, state, event, "completion without a miss"))?;
                    let once = action == SnoopAction::CompleteOnce;
                    let (value, _) = self.perform(idx, mshr.access, once, out);
                    out.notes.push(Note::Completed { core: me, value });
                }
                SnoopAction::SilentDrop => out.notes.push(Note::SilentDrop { core: me, line }),
            }
        }
        self.set_state(loc, line, state, row.next, out);
        Ok(())
    }

    /// Perform an access on a frame's data; noted for the checker.
    fn perform(&mut self, idx: usize, access: Access, windowed: bool, out: &mut Outbox) -> (u64, Option<u64>) {
        let word = ((access.addr >> 3) as usize) & (self.l1.array.data(idx).len() - 1);
        let data = self.l1.array.data_mut(idx);
        let (loaded, new) = access.op.apply(data[word]);
        let stored = access.op.writes().then(|| {
            data[word] = new;
            new
        });
        if stored.is_some() {
            self.l1.array.set_dirty(idx, true);
        }
        self.l1.array.touch(idx);
        out.notes.push(Note::Performed { core: self.me(), addr: access.addr, op: access.op, loaded, stored, windowed });
        (loaded, stored)
    }

    fn payload(&self, loc: Loc) -> (LineData, bool) {
        match loc {
            Loc::Frame(i) => (LineData::from_slice(self.l1.array.data(i)), self.l1.array.frame(i).dirty),
            Loc::Wb(i) => (self.l1.wb[i].data.clone(), self.l1.wb[i].dirty),
            Loc::Absent => (LineData::new(), false),
        }
    }

    /// Move the line to `next`: the side table for transient states, the
    /// array's image (or the write-back buffer) for everything.
    fn set_state(&mut self, loc: Loc, line: LineAddr, from: SnoopState, next: Option<SnoopState>, out: &mut Outbox) {
        let Some(to) = next else { return };
        self.side.transient.retain(|(l, _)| *l != line);
        if !to.is_stable() {
            self.side.transient.push((line, to));
        }
        let image = to.image();
        match loc {
            Loc::Frame(idx) if to == SnoopState::I => self.l1.array.invalidate(idx),
            Loc::Frame(idx) if image.in_writeback_buffer() => {
                let frame = *self.l1.array.frame(idx);
                let data = LineData::from_slice(self.l1.array.data(idx));
                self.l1.wb.push(WbEntry { line, state: image, dirty: frame.dirty, data });
                self.l1.array.invalidate(idx);
            }
            Loc::Frame(idx) => {
                self.l1.array.set_state(idx, image);
                match to {
                    SnoopState::M => self.l1.array.set_dirty(idx, true),
                    // Clean only when the line came clean (data from memory);
                    // an O copy keeps its dirtiness.
                    SnoopState::S | SnoopState::E if from != SnoopState::O => {
                        self.l1.array.set_dirty(idx, false);
                    }
                    _ => {}
                }
            }
            Loc::Wb(i) if to == SnoopState::I => {
                self.l1.wb.swap_remove(i);
                out.notes.push(Note::WritebackFreed { core: self.me() });
            }
            Loc::Wb(i) => self.l1.wb[i].state = image,
            Loc::Absent => debug_assert_eq!(to, SnoopState::I, "a line without a frame can only stay I"),
        }
    }
}

/// Memory's knowledge of one line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemLine {
    pub state: MemState,
    /// The owning cache while `state` is M.
    pub owner: u16,
    pub data: LineData,
}

/// The memory controller on the bus: answers requests for lines no cache owns,
/// takes write-backs. Lines never touched are `IorS` with zero words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnoopMemory {
    pub protocol: Protocol,
    pub node: NodeId,
    pub words: usize,
    pub lines: BTreeMap<LineAddr, MemLine>,
}

impl SnoopMemory {
    pub fn new(protocol: Protocol, node: NodeId, words: usize) -> Self {
        SnoopMemory { protocol, node, words, lines: BTreeMap::new() }
    }

    pub fn state_of(&self, line: LineAddr) -> MemState {
        self.lines.get(&line).map_or(MemState::IorS, |l| l.state)
    }

    /// An ordered request (`msg.exclusive`: nobody asserted the shared line), or data.
    pub fn handle(&mut self, msg: &Msg, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let line = msg.line;
        let words = self.words;
        let entry = self.lines.entry(line).or_insert_with(|| MemLine {
            state: MemState::IorS,
            owner: 0,
            data: std::iter::repeat_n(0, words).collect(),
        });
        let state = entry.state;
        let owned_by_src = state == MemState::M && entry.owner == msg.src;
        let event = match msg.kind {
            MsgKind::Data => MemEvent::Data,
            MsgKind::GetS if msg.exclusive && self.protocol != Protocol::Msi => MemEvent::GetSUnshared,
            MsgKind::GetS => MemEvent::GetS,
            MsgKind::GetM if owned_by_src => MemEvent::OwnerGetM,
            MsgKind::GetM => MemEvent::GetM,
            MsgKind::PutM if owned_by_src => MemEvent::OwnerPutM,
            MsgKind::PutM => MemEvent::StalePutM,
            _ => MemEvent::Data,
        };
        let err = |detail: String| ProtocolError {
            ctrl: Ctrl::Dir(0),
            line,
            state: state.name(),
            event: event.name(),
            detail,
        };
        let row = snoop_table::mem_row(self.protocol, state, event)
            .ok_or_else(|| err(format!("{} memory has no row for this pair", self.protocol)))?;
        if row.actions == [MemAction::Stall] {
            return Ok(Handled::Stalled);
        }
        for &action in row.actions {
            match action {
                MemAction::Stall => unreachable!("stall rows return before running"),
                MemAction::DataToRequester | MemAction::ExclusiveDataToRequester => {
                    let mut d = Msg::control(MsgKind::Data, line, self.node, msg.src);
                    d.requester = msg.src;
                    d.exclusive = action == MemAction::ExclusiveDataToRequester;
                    d.from_memory = true;
                    d.data = Some(entry.data.clone());
                    d.tags = Tags::of(P::RequestGrant);
                    out.notes.push(Note::MemRead { line });
                    out.msgs.push(d);
                }
                MemAction::SetOwner => entry.owner = msg.src,
                MemAction::ClearOwner => entry.owner = 0,
                MemAction::WriteData => {
                    let Some(data) = &msg.data else {
                        return Err(err("Data message without data".into()));
                    };
                    entry.data.copy_from_slice(data);
                    if msg.dirty {
                        out.notes.push(Note::MemWrite { line });
                    }
                }
            }
        }
        if let Some(next) = row.next {
            entry.state = next;
        }
        Ok(Handled::Done)
    }
}
