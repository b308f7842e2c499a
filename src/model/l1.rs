//! `L1Controller`: one core's private cache, its single demand MSHR and its
//! write-back buffer, driven by the L1 tables in `crate::protocol::l1_table`.
//!
//! Inputs are core accesses (`access`), replacement requests from the model checker
//! (`evict`) and messages (`handle`). Each input is classified into an `L1Event`,
//! the protocol's row is looked up, and the row's actions run in order. The
//! controller owns its cache array and buffers; it may not look at a clock, another
//! controller or global state.
//!
//! The core is in-order and blocking (sequential consistency): at most one demand
//! miss is outstanding, held in the MSHR with its pending access and ack counter.
//! Evicted owned or shared lines wait for their Put-Ack in the write-back buffer
//! (`wb_entries` deep), which frees the frame for the incoming line at once.

use super::cache::{CacheArray, CacheGeometry, Probe, ReplacementPolicy};
use super::{
    Access, Ctrl, Handled, LineAddr, LineData, MemOp, Msg, MsgKind, Mutation, NodeId, Note, Outbox, Primitive as P,
    ProtocolError, Tags,
};
use crate::protocol::Protocol;
use crate::protocol::l1_table::{self, L1Action, L1Event, L1State};

/// Immutable configuration of one L1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct L1Spec {
    pub core: u16,
    pub protocol: Protocol,
    pub geometry: CacheGeometry,
    pub policy: ReplacementPolicy,
    pub silent_evict: bool,
    /// The directory's sharer record is imprecise (`Organisation::imprecise`):
    /// Invs may reach caches that never held the line.
    pub imprecise_dir: bool,
    pub wb_entries: usize,
    /// A deliberate bug (mutation testing only).
    pub mutation: Option<Mutation>,
    /// Node id of directory slice 0; slices are interleaved by line address.
    pub first_dir: NodeId,
    pub dir_slices: u16,
}

impl L1Spec {
    #[inline]
    pub fn home(&self, line: LineAddr) -> NodeId {
        self.first_dir + (line % self.dir_slices as u64) as NodeId
    }
}

/// The outstanding demand miss.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mshr {
    pub line: LineAddr,
    pub access: Access,
    /// Inv-Acks still awaited; negative when acks beat the data or AckCount.
    pub acks: i32,
}

/// A line waiting for its Put-Ack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WbEntry {
    pub line: LineAddr,
    pub state: L1State,
    pub dirty: bool,
    pub data: LineData,
}

/// What became of a core access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessOutcome {
    /// Performed at once; the value the access returned.
    Hit(u64),
    /// A miss was issued; a `Note::Completed` will follow.
    Miss,
    /// Cannot start now (the MSHR or write-back buffer is busy, or the line is on
    /// its way out): retry after this controller handles a message.
    Blocked,
}

/// See [`L1Controller::hit_probe`].
#[derive(Clone, Copy, Debug)]
pub struct HitProbe<'a> {
    probe: Probe<'a>,
    line_shift: u32,
}

impl HitProbe<'_> {
    #[inline]
    pub fn line_of(&self, addr: u64) -> LineAddr {
        addr >> self.line_shift
    }

    /// [`L1Controller::hit_frame`].
    #[inline]
    pub fn frame(&self, addr: u64, writes: bool) -> Option<usize> {
        self.probe.frame(self.line_of(addr), writes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Absent,
    Frame(usize),
    Wb(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct L1Controller {
    pub spec: L1Spec,
    pub array: CacheArray,
    pub mshr: Option<Mshr>,
    pub wb: Vec<WbEntry>,
    line_shift: u32,
    /// Words per line minus one (a power of two): the word of an address.
    word_mask: usize,
}

impl L1Controller {
    pub fn new(spec: L1Spec, seed: u64) -> Self {
        let mut array = CacheArray::new(spec.geometry, spec.policy, seed ^ spec.core as u64);
        if spec.mutation == Some(Mutation::HitTagWritableShared) {
            array.break_write_tags_of_shared_lines();
        }
        L1Controller {
            line_shift: spec.geometry.line_shift(),
            word_mask: spec.geometry.words() - 1,
            wb: Vec::with_capacity(spec.wb_entries),
            mshr: None,
            array,
            spec,
        }
    }

    #[inline]
    pub fn line_of(&self, addr: u64) -> LineAddr {
        addr >> self.line_shift
    }

    #[inline]
    fn word_of(&self, addr: u64) -> usize {
        ((addr >> 3) as usize) & self.word_mask
    }

    /// The state of a line in this cache (I when absent).
    pub fn state_of(&self, line: LineAddr) -> L1State {
        match self.locate(line) {
            Loc::Absent => L1State::I,
            Loc::Frame(i) => self.array.frame(i).state,
            Loc::Wb(i) => self.wb[i].state,
        }
    }

    /// The line's data if the cache holds it (frame or write-back buffer).
    pub fn data_of(&self, line: LineAddr) -> Option<&[u64]> {
        match self.locate(line) {
            Loc::Absent => None,
            Loc::Frame(i) => Some(self.array.data(i)),
            Loc::Wb(i) => Some(&self.wb[i].data),
        }
    }

    /// Test and fault-injection hook: overwrite a line's state (the checker must
    /// notice). Returns false when the line is absent.
    pub fn corrupt_state(&mut self, line: LineAddr, state: L1State) -> bool {
        match self.locate(line) {
            Loc::Frame(i) => {
                self.array.set_state(i, state);
                true
            }
            Loc::Wb(i) => {
                self.wb[i].state = state;
                true
            }
            Loc::Absent => false,
        }
    }

    /// Test and fault-injection hook: overwrite one data word of a held line.
    pub fn corrupt_word(&mut self, addr: u64, value: u64) -> bool {
        let (line, word) = (self.line_of(addr), self.word_of(addr));
        match self.locate(line) {
            Loc::Frame(i) => {
                self.array.data_mut(i)[word] = value;
                true
            }
            Loc::Wb(i) => {
                self.wb[i].data[word] = value;
                true
            }
            Loc::Absent => false,
        }
    }

    #[inline]
    fn locate(&self, line: LineAddr) -> Loc {
        if let Some(i) = self.array.find(line) {
            return Loc::Frame(i);
        }
        match self.wb.iter().position(|e| e.line == line) {
            Some(i) => Loc::Wb(i),
            None => Loc::Absent,
        }
    }

    /// The L1-hit fast path: performs the access if the line is present with enough
    /// permission. No message, no note, no allocation. It must agree with the table
    /// rows `(state, Load) => Hit` and `(state, Store) => Hit` (a test checks it).
    #[inline]
    pub fn try_hit(&mut self, access: Access) -> Option<(u64, Option<u64>)> {
        let idx = self.hit_frame(access.addr, access.op.writes())?;
        Some(self.hit_at(idx, access))
    }

    /// The frame an access to `addr` would hit in now, if it would: the line is
    /// present with enough permission. Looks only.
    #[inline]
    pub fn hit_frame(&self, addr: u64, writes: bool) -> Option<usize> {
        // One pass over the set: at most one frame holds a line in a state that
        // may be read (a stale tag in I, or a transient state, grants nothing).
        self.array.hit_frame(self.line_of(addr), writes)
    }

    /// `hit_at` for a plain load (`store` is `None`) or store: the same effect,
    /// without an `Access` to dispatch on.
    #[inline(always)]
    pub fn hit_plain(&mut self, idx: usize, addr: u64, store: Option<u64>) {
        debug_assert_eq!(self.hit_frame(addr, store.is_some()), Some(idx));
        self.array.touch(idx);
        if let Some(v) = store {
            self.store_hit(idx, addr, v);
        }
    }

    /// A store hit's write: the word, and the line becomes M and dirty.
    #[inline(always)]
    fn store_hit(&mut self, idx: usize, addr: u64, value: u64) {
        let word = self.word_of(addr);
        *self.array.word_mut(idx, word) = value;
        if self.array.frame(idx).state != L1State::M {
            // The silent upgrade from E (the only other writable state). The
            // mutant's test costs nothing on the hot path: hits in M skip it.
            self.array.set_state(idx, L1State::M);
            if self.spec.mutation == Some(Mutation::SilentUpgradeStaysClean) {
                return;
            }
        }
        self.array.set_dirty(idx, true);
    }

    /// `hit_frame` for many accesses in a row, with the geometry in locals.
    #[inline]
    pub fn hit_probe(&self) -> HitProbe<'_> {
        HitProbe { probe: self.array.probe(), line_shift: self.line_shift }
    }

    /// Performs a hit in frame `idx`, which `hit_frame` chose for this access and
    /// which nothing has changed since (only a miss or a message could).
    #[inline(always)]
    pub fn hit_at(&mut self, idx: usize, access: Access) -> (u64, Option<u64>) {
        debug_assert_eq!(self.hit_frame(access.addr, access.op.writes()), Some(idx));
        self.array.touch(idx);
        let word = self.word_of(access.addr);
        let old = *self.array.word_mut(idx, word);
        if let MemOp::Load = access.op {
            return (old, None);
        }
        let (_, new) = access.op.apply(old);
        self.store_hit(idx, access.addr, new);
        (old, Some(new))
    }

    /// A core access that did not hit (or a caller that wants the table path).
    pub fn access(&mut self, access: Access, out: &mut Outbox) -> Result<AccessOutcome, ProtocolError> {
        let line = self.line_of(access.addr);
        let event = if access.op.writes() { L1Event::Store } else { L1Event::Load };
        match self.locate(line) {
            Loc::Wb(_) => Ok(AccessOutcome::Blocked),
            Loc::Frame(idx) => {
                let state = self.array.frame(idx).state;
                let row = self.row(line, state, event)?;
                if row.actions == [L1Action::Stall] {
                    return Ok(AccessOutcome::Blocked);
                }
                if row.actions == [L1Action::Hit] {
                    let (value, _) = self.perform_in_frame(idx, access, false, out);
                    self.set_state(Loc::Frame(idx), line, state, event, row.next, out);
                    return Ok(AccessOutcome::Hit(value));
                }
                // An upgrade (S → SM_AD, O → OM_AC) needs the MSHR.
                if self.mshr.is_some() {
                    return Ok(AccessOutcome::Blocked);
                }
                self.mshr = Some(Mshr { line, access, acks: 0 });
                self.array.touch(idx);
                self.run(Loc::Frame(idx), line, state, event, row.actions, row.next, None, out)?;
                Ok(AccessOutcome::Miss)
            }
            Loc::Absent => {
                if self.mshr.is_some() {
                    return Ok(AccessOutcome::Blocked);
                }
                let idx = match self.array.free_frame(line) {
                    Some(idx) => idx,
                    None => {
                        let Some(victim) = self.array.victim(line) else {
                            return Ok(AccessOutcome::Blocked);
                        };
                        let victim_line = self.array.frame(victim).line;
                        if self.evict(victim_line, out)? == Handled::Stalled {
                            return Ok(AccessOutcome::Blocked);
                        }
                        victim
                    }
                };
                self.array.install(idx, line, L1State::I);
                self.mshr = Some(Mshr { line, access, acks: 0 });
                let row = self.row(line, L1State::I, event)?;
                self.run(Loc::Frame(idx), line, L1State::I, event, row.actions, row.next, None, out)?;
                Ok(AccessOutcome::Miss)
            }
        }
    }

    /// Replace a line (chosen as a victim, or at will by the model checker). Only
    /// stable lines can be replaced; `Stalled` when the write-back buffer is full.
    pub fn evict(&mut self, line: LineAddr, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let Loc::Frame(idx) = self.locate(line) else {
            return Ok(Handled::Stalled);
        };
        let state = self.array.frame(idx).state;
        let event = if state == L1State::S && self.spec.silent_evict {
            L1Event::SilentReplacement
        } else {
            L1Event::Replacement
        };
        let row = self.row(line, state, event)?;
        if row.actions == [L1Action::Stall] {
            return Ok(Handled::Stalled);
        }
        if row.next.is_some_and(L1State::in_writeback_buffer) && self.wb.len() >= self.spec.wb_entries {
            return Ok(Handled::Stalled);
        }
        self.run(Loc::Frame(idx), line, state, event, row.actions, row.next, None, out)?;
        Ok(Handled::Done)
    }

    /// A message from the network.
    pub fn handle(&mut self, msg: &Msg, out: &mut Outbox) -> Result<Handled, ProtocolError> {
        let line = msg.line;
        let loc = self.locate(line);
        let state = match loc {
            Loc::Absent => L1State::I,
            Loc::Frame(i) => self.array.frame(i).state,
            Loc::Wb(i) => self.wb[i].state,
        };
        let event = self.classify(msg, state)?;
        let row = self.row(line, state, event)?;
        if row.actions == [L1Action::Stall] {
            // Reported so statistics can count stalls; nothing changed.
            out.notes.push(Note::L1Transition { core: self.spec.core, line, from: state, event, to: state });
            return Ok(Handled::Stalled);
        }
        self.run(loc, line, state, event, row.actions, row.next, Some(msg), out)?;
        Ok(Handled::Done)
    }

    fn classify(&self, msg: &Msg, state: L1State) -> Result<L1Event, ProtocolError> {
        let pending = self.mshr.as_ref().filter(|m| m.line == msg.line).map_or(0, |m| m.acks);
        Ok(match msg.kind {
            MsgKind::FwdGetS => L1Event::FwdGetS,
            MsgKind::FwdGetM => L1Event::FwdGetM,
            MsgKind::Inv => L1Event::Inv,
            MsgKind::PutAck => L1Event::PutAck,
            MsgKind::Data if msg.exclusive => L1Event::ExclusiveData,
            MsgKind::Data if pending + msg.acks as i32 == 0 => L1Event::Data,
            MsgKind::Data => L1Event::DataAwaitAcks,
            MsgKind::AckCount if pending + msg.acks as i32 == 0 => L1Event::AckCountLast,
            MsgKind::AckCount => L1Event::AckCount,
            MsgKind::InvAck => {
                let data_here = matches!(state, L1State::IM_A | L1State::SM_A | L1State::OM_A);
                if data_here && pending - 1 == 0 { L1Event::LastInvAck } else { L1Event::InvAck }
            }
            // Requests never reach an L1: report the pair as impossible, named
            // with the message.
            MsgKind::GetS | MsgKind::GetM | MsgKind::PutS | MsgKind::PutE | MsgKind::PutM | MsgKind::PutO => {
                return Err(ProtocolError {
                    ctrl: Ctrl::L1(self.spec.core),
                    line: msg.line,
                    state: state.name(),
                    event: msg.kind.name(),
                    detail: "an L1 never receives this message".to_string(),
                });
            }
        })
    }

    /// The row this L1 runs: a mutation's override, else the protocol's table.
    fn row(&self, line: LineAddr, state: L1State, event: L1Event) -> Result<l1_table::L1Row, ProtocolError> {
        let protocol = self.spec.protocol;
        let row = match self.spec.mutation {
            Some(m) => {
                l1_table::mutated_row(m, protocol, state, event).or_else(|| l1_table::row(protocol, state, event))
            }
            None => l1_table::row(protocol, state, event),
        };
        row.ok_or_else(|| ProtocolError {
            ctrl: Ctrl::L1(self.spec.core),
            line,
            state: state.name(),
            event: event.name(),
            detail: format!("{} L1 has no row for this pair", self.spec.protocol),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        loc: Loc,
        line: LineAddr,
        state: L1State,
        event: L1Event,
        actions: &[L1Action],
        next: Option<L1State>,
        msg: Option<&Msg>,
        out: &mut Outbox,
    ) -> Result<(), ProtocolError> {
        let me = self.spec.core;
        let home = self.spec.home(line);
        let err = |detail: &str| ProtocolError {
            ctrl: Ctrl::L1(me),
            line,
            state: state.name(),
            event: event.name(),
            detail: detail.to_string(),
        };
        let need_msg = || msg.ok_or_else(|| err("action needs a message"));
        for &action in actions {
            match action {
                L1Action::Stall => unreachable!("stall rows return before running"),
                L1Action::Hit => {
                    let Loc::Frame(idx) = loc else {
                        return Err(err("hit on a line without a frame"));
                    };
                    let access = self.mshr.as_ref().map(|m| m.access);
                    let access = access.ok_or_else(|| err("hit without an access"))?;
                    self.perform_in_frame(idx, access, false, out);
                }
                L1Action::IssueGetS | L1Action::IssueGetM => {
                    let kind = if action == L1Action::IssueGetS { MsgKind::GetS } else { MsgKind::GetM };
                    let mut m = Msg::control(kind, line, me, home);
                    m.tags = Tags::of(P::RequestGrant);
                    out.msgs.push(m);
                }
                L1Action::SendPutS | L1Action::SendPutE => {
                    let kind = if action == L1Action::SendPutS { MsgKind::PutS } else { MsgKind::PutE };
                    let mut m = Msg::control(kind, line, me, home);
                    m.tags = Tags::of(P::RequestGrant);
                    out.msgs.push(m);
                }
                L1Action::SendPutM | L1Action::SendPutO => {
                    let kind = if action == L1Action::SendPutM { MsgKind::PutM } else { MsgKind::PutO };
                    let (data, dirty) = self.line_payload(loc);
                    let mut m = Msg::control(kind, line, me, home);
                    m.data = Some(data);
                    m.dirty = dirty;
                    m.tags = Tags::of(P::RequestGrant).with(P::FlushToStore);
                    if dirty {
                        out.notes.push(Note::Writeback { core: me, line });
                    }
                    out.msgs.push(m);
                }
                L1Action::SilentDrop => {
                    out.notes.push(Note::SilentDrop { core: me, line });
                }
                L1Action::DataToRequester | L1Action::DataToRequesterAndDir => {
                    let fwd = need_msg()?;
                    let (data, dirty) = self.line_payload(loc);
                    let mut m = Msg::control(MsgKind::Data, line, me, fwd.requester);
                    m.requester = fwd.requester;
                    m.acks = fwd.acks;
                    m.dirty = dirty;
                    m.tags = match (fwd.kind, action) {
                        (MsgKind::FwdGetM, _) if dirty => Tags::of(P::AuthorityCoordinated).with(P::FlushToSuccessor),
                        (MsgKind::FwdGetM, _) => Tags::of(P::AuthorityCoordinated),
                        (_, L1Action::DataToRequester) => Tags::of(P::FlushToSuccessor),
                        _ => Tags::of(P::RequestGrant),
                    };
                    // The requester's copy goes first: it is on the critical path.
                    if action == L1Action::DataToRequesterAndDir {
                        m.data = Some(data.clone());
                        out.msgs.push(m);
                        let mut d = Msg::control(MsgKind::Data, line, me, home);
                        d.requester = fwd.requester;
                        d.dirty = dirty;
                        d.data = Some(data);
                        d.tags = Tags::of(P::FlushToStore);
                        out.msgs.push(d);
                    } else {
                        m.data = Some(data);
                        out.msgs.push(m);
                    }
                }
                L1Action::InvAckToRequester | L1Action::StaleInvAck => {
                    let inv = need_msg()?;
                    let mut m = Msg::control(MsgKind::InvAck, line, me, inv.requester);
                    m.requester = inv.requester;
                    m.tags = Tags::of(P::RevokeConfirm);
                    if action == L1Action::StaleInvAck {
                        if !self.spec.silent_evict && !self.spec.imprecise_dir {
                            return Err(err(
                                "Inv for a copy this cache never held (silent eviction is off, the directory is exact)",
                            ));
                        }
                        m.tags = m.tags.with(P::SilentWithdrawal);
                    }
                    out.msgs.push(m);
                }
                L1Action::StoreData => {
                    let m = need_msg()?;
                    let Loc::Frame(idx) = loc else {
                        return Err(err("data for a line without a frame"));
                    };
                    let Some(data) = &m.data else {
                        return Err(err("Data message without data"));
                    };
                    self.array.data_mut(idx).copy_from_slice(data);
                }
                L1Action::AddAcks => {
                    let m = need_msg()?;
                    let Some(mshr) = self.mshr.as_mut().filter(|x| x.line == line) else {
                        return Err(err("acks without a miss"));
                    };
                    mshr.acks += m.acks as i32;
                }
                L1Action::ForgetAcks => {
                    let Some(mshr) = self.mshr.as_mut().filter(|x| x.line == line) else {
                        return Err(err("acks without a miss"));
                    };
                    mshr.acks = 0;
                }
                L1Action::CountInvAck => {
                    let Some(mshr) = self.mshr.as_mut().filter(|x| x.line == line) else {
                        return Err(err("Inv-Ack without a miss"));
                    };
                    mshr.acks -= 1;
                }
                L1Action::Complete | L1Action::CompleteOnce => {
                    let Loc::Frame(idx) = loc else {
                        return Err(err("completion without a frame"));
                    };
                    let mshr = self.mshr.take().filter(|x| x.line == line);
                    let mshr = mshr.ok_or_else(|| err("completion without a miss"))?;
                    if mshr.acks != 0 {
                        return Err(err("completion with acks outstanding"));
                    }
                    let (value, _) = self.perform_in_frame(idx, mshr.access, action == L1Action::CompleteOnce, out);
                    out.notes.push(Note::Completed { core: me, value });
                }
            }
        }
        self.set_state(loc, line, state, event, next, out);
        Ok(())
    }

    /// Perform an access on a frame's data; notes it for the checker.
    fn perform_in_frame(&mut self, idx: usize, access: Access, windowed: bool, out: &mut Outbox) -> (u64, Option<u64>) {
        let word = self.word_of(access.addr);
        let data = self.array.data_mut(idx);
        let (loaded, new) = access.op.apply(data[word]);
        let stored = if access.op.writes() {
            data[word] = new;
            self.array.set_dirty(idx, true);
            Some(new)
        } else {
            None
        };
        self.array.touch(idx);
        out.notes.push(Note::Performed {
            core: self.spec.core,
            addr: access.addr,
            op: access.op,
            loaded,
            stored,
            windowed,
        });
        (loaded, stored)
    }

    fn line_payload(&self, loc: Loc) -> (LineData, bool) {
        match loc {
            Loc::Frame(i) => (LineData::from_slice(self.array.data(i)), self.array.frame(i).dirty),
            Loc::Wb(i) => (self.wb[i].data.clone(), self.wb[i].dirty),
            Loc::Absent => (LineData::new(), false),
        }
    }

    fn set_state(
        &mut self,
        loc: Loc,
        line: LineAddr,
        from: L1State,
        event: L1Event,
        next: Option<L1State>,
        out: &mut Outbox,
    ) {
        let to = next.unwrap_or(from);
        out.notes.push(Note::L1Transition { core: self.spec.core, line, from, event, to });
        if next.is_none() {
            return;
        }
        match loc {
            Loc::Frame(idx) if to == L1State::I => self.array.invalidate(idx),
            Loc::Frame(idx) if to.in_writeback_buffer() => {
                let frame = *self.array.frame(idx);
                self.wb.push(WbEntry {
                    line,
                    state: to,
                    dirty: frame.dirty,
                    data: LineData::from_slice(self.array.data(idx)),
                });
                self.array.invalidate(idx);
            }
            Loc::Frame(idx) => {
                self.array.set_state(idx, to);
                match to {
                    L1State::M => self.array.set_dirty(idx, true),
                    L1State::S | L1State::E => self.array.set_dirty(idx, false),
                    _ => {}
                }
            }
            Loc::Wb(i) if to == L1State::I => {
                self.wb.swap_remove(i);
                out.notes.push(Note::WritebackFreed { core: self.spec.core });
            }
            Loc::Wb(i) => self.wb[i].state = to,
            Loc::Absent => {
                debug_assert_eq!(to, L1State::I, "a line without a frame can only stay I");
            }
        }
    }

    /// The line the outstanding miss will leave in the cache, and whether the core
    /// may then write it (a load may be granted only S): `None` when no miss is
    /// outstanding or its line will not stay (`IS_D_I` uses the data once).
    pub fn pending_fill(&self) -> Option<(LineAddr, bool)> {
        use L1State::*;
        let m = self.mshr.as_ref()?;
        match self.state_of(m.line) {
            IS_D => Some((m.line, false)),
            IM_AD | IM_A | SM_AD | SM_A | OM_AC | OM_A => Some((m.line, true)),
            _ => None,
        }
    }

    /// Is there an access this core is waiting on?
    pub fn busy(&self) -> bool {
        self.mshr.is_some()
    }

    /// Lines held in a transient state, for the watchdog's report.
    pub fn transients(&self) -> Vec<(LineAddr, L1State)> {
        let mut v: Vec<_> =
            self.array.valid_frames().filter(|(_, f)| !f.state.is_stable()).map(|(_, f)| (f.line, f.state)).collect();
        v.extend(self.wb.iter().map(|e| (e.line, e.state)));
        v
    }

    /// The MemOp a hit would perform (for tests comparing the fast path to the table).
    pub fn table_says_hit(protocol: Protocol, state: L1State, op: MemOp) -> bool {
        let event = if op.writes() { L1Event::Store } else { L1Event::Load };
        l1_table::row(protocol, state, event).is_some_and(|r| r.actions == [L1Action::Hit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l1(protocol: Protocol) -> L1Controller {
        let spec = L1Spec {
            core: 0,
            protocol,
            geometry: CacheGeometry { size: 4 * 64, ways: 2, line: 64 },
            policy: ReplacementPolicy::Lru,
            silent_evict: false,
            imprecise_dir: false,
            wb_entries: 2,
            mutation: None,
            first_dir: 2,
            dir_slices: 1,
        };
        L1Controller::new(spec, 1)
    }

    /// A request (which only directories receive) reaching an L1 is reported as
    /// an impossible pair named with the message, in whatever state the line is.
    #[test]
    fn a_request_at_an_l1_is_named_in_the_error() {
        for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
            let mut c = l1(protocol);
            let mut out = Outbox::default();
            // Line 1 is absent (I); line 3 waits for its data (IS_D).
            assert_eq!(c.access(Access { addr: 3 * 64, op: MemOp::Load }, &mut out), Ok(AccessOutcome::Miss));
            for kind in [MsgKind::GetS, MsgKind::GetM, MsgKind::PutS, MsgKind::PutE, MsgKind::PutM, MsgKind::PutO] {
                for (line, state) in [(1, "I"), (3, "IS_D")] {
                    out.clear();
                    let msg = Msg::control(kind, line, 1, 0);
                    let e = c.handle(&msg, &mut out).expect_err("a request at an L1 is impossible");
                    assert_eq!((e.ctrl, e.line, e.state, e.event), (Ctrl::L1(0), line, state, kind.name()), "{e}");
                    assert!(e.to_string().contains(&format!("on event {}", kind.name())), "{e}");
                    assert!(out.msgs.is_empty() && out.notes.is_empty(), "nothing happened");
                }
            }
            assert_eq!(c.state_of(3), L1State::IS_D);
        }
    }
}
