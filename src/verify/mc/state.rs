//! The checker's world: the controllers, the network and the observer's memory
//! (golden words and load windows), and the transitions between states.
//!
//! `World` holds live controllers, built exactly as `engine::Simulator::new` builds
//! them, so every transition runs the code that simulates. The explorer keeps one
//! `World` decoded from the state it expands and one it works on; `undo` copies
//! back the parts a transition touched, field by field, so nothing is allocated
//! per transition (the controllers' derived `Clone` would allocate their arrays).

use smallvec::smallvec;

use super::{CheckOptions, Symmetry, ViolationKind};
use crate::model::cache::{CacheGeometry, ReplacementPolicy};
use crate::model::directory::{DirSpec, Directory};
use crate::model::l1::{AccessOutcome, L1Controller, L1Spec};
use crate::model::{Access, Handled, MemOp, Msg, NodeId, Note, Outbox, ProtocolError};
use crate::protocol::l1_table::L1State;
use crate::verify::invariants::check_swmr;

/// Bytes per line: one 8-byte word, so a line's data is one value.
pub(crate) const LINE_BYTES: u64 = 8;

/// The word of a frame waiting for its data (`IS_D`, `IS_D_I`, `IM_AD`): no value
/// of `0..V`. The cache array zero-fills a fresh frame, and a frame that reaches
/// `IM_AD` from `SM_AD` or `OM_AC` keeps its old words; neither may be read before
/// the data arrives, and after every transition the checker overwrites them with
/// this word. A correct L1 overwrites them itself when the data comes (the tables
/// stall every other reader in these states), so this changes nothing for it; an
/// L1 that reads them (`IgnoreData`) reads a word no store wrote, which the
/// data-value check reports even with one cache, where a zero could pass for the
/// right value. It also keeps the transitions symmetric in values (zero-filling
/// treats value 0 differently from the others, so value symmetry could hide such a
/// read) and merges states that differ only in dead words.
pub(crate) const POISON: u8 = 0xFF;

/// The immutable shape of the checked system.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub opts: CheckOptions,
    pub symmetry: Symmetry,
    pub caches: usize,
    pub lines: usize,
    pub values: usize,
    /// Frames per cache (sets × 1 way); line `l` lives in frame `l`.
    pub frames: usize,
    pub dir_node: NodeId,
    pub accesses: Vec<MemOp>,
}

impl Model {
    pub fn new(opts: &CheckOptions) -> Self {
        Model {
            caches: opts.caches,
            lines: opts.lines,
            values: opts.values,
            frames: opts.lines.next_power_of_two(),
            dir_node: opts.caches as NodeId,
            accesses: opts.accesses(),
            symmetry: opts.effective_symmetry(),
            opts: opts.clone(),
        }
    }

    pub fn node_name(&self, node: NodeId) -> String {
        if (node as usize) < self.caches { format!("L1[{node}]") } else { "Dir".to_string() }
    }
}

/// One transition, named in the coordinates of the world it is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Access { core: u16, line: u8, op: MemOp },
    Evict { core: u16, line: u8 },
    Deliver { index: u16 },
}

impl Action {
    pub fn is_delivery(self) -> bool {
        matches!(self, Action::Deliver { .. })
    }
}

/// What a transition did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not enabled (blocked access, stalled eviction or message); nothing changed.
    Disabled,
    /// Enabled, and the state is the same (a load hit).
    Unchanged,
    Changed,
}

/// A violation found on a transition or in a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub kind: ViolationKind,
    pub detail: String,
}

impl Fault {
    fn protocol(e: ProtocolError) -> Fault {
        Fault { kind: ViolationKind::Protocol, detail: e.to_string() }
    }
}

/// The controller a transition acts on: the only one it can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Touched {
    L1(usize),
    Dir,
}

#[derive(Debug)]
pub(crate) struct World {
    pub l1s: Vec<L1Controller>,
    pub dir: Directory,
    /// In-flight messages. Forward messages with the same (source, destination,
    /// line) appear in FIFO order; nothing else about the order means anything.
    pub net: Vec<Msg>,
    /// The last value stored to each line's word.
    pub golden: Vec<u8>,
    /// Per core: the values its outstanding load's word has held since the load was
    /// issued (bit `v` for value `v`); 0 when no load is outstanding.
    pub windows: Vec<u8>,
    /// Destination of the message the last delivery handled.
    last_delivery_dst: NodeId,
    /// The last delivery was deferred: its message is still in flight.
    last_deferred: bool,
}

impl World {
    /// The initial state: caches empty, memory and golden words zero.
    pub fn new(m: &Model) -> World {
        let o = &m.opts;
        let geometry = CacheGeometry { size: m.frames as u64 * LINE_BYTES, ways: 1, line: LINE_BYTES as u32 };
        let l1s = (0..m.caches)
            .map(|c| {
                L1Controller::new(
                    L1Spec {
                        core: c as u16,
                        protocol: o.protocol,
                        geometry,
                        policy: ReplacementPolicy::Random,
                        silent_evict: o.silent_evict,
                        imprecise_dir: o.organisation.imprecise(),
                        wb_entries: m.lines,
                        mutation: o.mutation,
                        first_dir: m.dir_node,
                        dir_slices: 1,
                    },
                    1,
                )
            })
            .collect();
        let dir = Directory::new(DirSpec {
            protocol: o.protocol,
            slice: 0,
            node: m.dir_node,
            words: 1,
            cores: m.caches,
            mutation: o.mutation,
            organisation: o.organisation,
            slices: 1,
        });
        World {
            l1s,
            dir,
            net: Vec::with_capacity(16),
            golden: vec![0; m.lines],
            windows: vec![0; m.caches],
            last_delivery_dst: 0,
            last_deferred: false,
        }
    }

    /// The last delivery was deferred (its message is still in flight).
    pub fn deferred(&self) -> bool {
        self.last_deferred
    }

    /// Undo a transition that changed this world, which was equal to `base`: only
    /// the controller it acted on changed, and the network only lost the delivered
    /// message and gained messages at its end.
    pub fn undo(&mut self, m: &Model, base: &World, action: Action) {
        match base.touches(m, action) {
            Touched::L1(c) => copy_l1(&mut self.l1s[c], &base.l1s[c]),
            Touched::Dir => self.copy_dir(base),
        }
        if let Action::Deliver { index } = action
            && !self.last_deferred
        {
            self.net.truncate(base.net.len() - 1);
            self.net.insert(index as usize, base.net[index as usize].clone());
        } else {
            self.net.truncate(base.net.len());
        }
        self.golden.copy_from_slice(&base.golden);
        self.windows.copy_from_slice(&base.windows);
    }

    /// Make this world equal to `base` in every part.
    pub fn restore_all(&mut self, base: &World) {
        for c in 0..self.l1s.len() {
            copy_l1(&mut self.l1s[c], &base.l1s[c]);
        }
        self.copy_dir(base);
        self.net.clone_from(&base.net);
        self.golden.copy_from_slice(&base.golden);
        self.windows.copy_from_slice(&base.windows);
    }

    /// The directory's entries and memory (`clone_from` keeps the maps' tables).
    fn copy_dir(&mut self, base: &World) {
        self.dir.entries.clone_from(&base.dir.entries);
        self.dir.memory.clone_from(&base.dir.memory);
        self.dir.lru.clone_from(&base.dir.lru);
    }

    /// The controller a transition acts on.
    pub fn touches(&self, m: &Model, action: Action) -> Touched {
        match action {
            Action::Access { core, .. } | Action::Evict { core, .. } => Touched::L1(core as usize),
            Action::Deliver { index } => {
                let dst = self.net[index as usize].dst as usize;
                if dst < m.caches { Touched::L1(dst) } else { Touched::Dir }
            }
        }
    }

    /// The controller a transition acted on, after it ran (the delivered message
    /// is gone, so the answer comes from the action alone when it can).
    fn touches_after(&self, m: &Model, action: Action) -> Touched {
        match action {
            Action::Access { core, .. } | Action::Evict { core, .. } => Touched::L1(core as usize),
            Action::Deliver { .. } => match self.last_delivery_dst {
                d if (d as usize) < m.caches => Touched::L1(d as usize),
                _ => Touched::Dir,
            },
        }
    }

    /// The candidate transitions of this state, deliveries first. A candidate may
    /// still turn out disabled when applied (a stall).
    pub fn actions(&self, m: &Model, buf: &mut Vec<Action>) {
        buf.clear();
        for (i, msg) in self.net.iter().enumerate() {
            let earlier = &self.net[..i];
            // An identical message earlier in the list leads to the same successor.
            if earlier.contains(msg) {
                continue;
            }
            if m.opts.forward_order.in_fifo(msg.kind)
                && earlier.iter().any(|e| {
                    m.opts.forward_order.in_fifo(e.kind) && e.src == msg.src && e.dst == msg.dst && e.line == msg.line
                })
            {
                continue;
            }
            buf.push(Action::Deliver { index: i as u16 });
        }
        for (c, l1) in self.l1s.iter().enumerate() {
            if l1.mshr.is_some() {
                continue;
            }
            for line in 0..m.lines as u8 {
                for &op in &m.accesses {
                    buf.push(Action::Access { core: c as u16, line, op });
                }
            }
        }
        for (c, l1) in self.l1s.iter().enumerate() {
            for (_, f) in l1.array.valid_frames() {
                if f.state.is_stable() {
                    buf.push(Action::Evict { core: c as u16, line: f.line as u8 });
                }
            }
        }
    }

    /// Take one transition. New messages are appended to the network; `out` keeps
    /// the controller's notes for whoever wants to describe the step.
    pub fn apply(&mut self, m: &Model, action: Action, out: &mut Outbox) -> Result<Outcome, Fault> {
        out.clear();
        match action {
            Action::Access { core, line, op } => {
                let c = core as usize;
                let access = Access { addr: line as u64 * LINE_BYTES, op };
                // A hit takes the engine's fast path; anything else the table's.
                let outcome = match fast_hit(&mut self.l1s[c], access) {
                    Some((loaded, stored)) => {
                        let addr = access.addr;
                        out.notes.push(Note::Performed { core, addr, op, loaded, stored, windowed: false });
                        AccessOutcome::Hit(loaded)
                    }
                    None => self.l1s[c].access(access, out).map_err(Fault::protocol)?,
                };
                match outcome {
                    AccessOutcome::Blocked => return Ok(Outcome::Disabled),
                    AccessOutcome::Hit(_) => {
                        self.observe(out)?;
                        if !op.writes() {
                            return Ok(Outcome::Unchanged);
                        }
                    }
                    AccessOutcome::Miss => {
                        if !op.writes() {
                            self.windows[c] = 1 << self.golden[line as usize];
                        }
                        self.observe(out)?;
                    }
                }
            }
            Action::Evict { core, line } => {
                let r = self.l1s[core as usize].evict(line as u64, out).map_err(Fault::protocol)?;
                if r == Handled::Stalled {
                    return Ok(Outcome::Disabled);
                }
                self.observe(out)?;
            }
            Action::Deliver { index } => {
                let i = index as usize;
                let dst = self.net[i].dst as usize;
                let r = if dst < m.caches {
                    self.l1s[dst].handle(&self.net[i], out)
                } else {
                    self.dir.handle(&self.net[i], out)
                };
                let r = r.map_err(Fault::protocol)?;
                if r == Handled::Stalled {
                    return Ok(Outcome::Disabled);
                }
                self.last_delivery_dst = dst as NodeId;
                // A deferred message stays in flight (in its place: FIFO order holds).
                self.last_deferred = r == Handled::Deferred;
                if !self.last_deferred {
                    self.net.remove(i);
                }
                self.observe(out)?;
            }
        }
        self.net.append(&mut out.msgs);
        if let Touched::L1(c) = self.touches_after(m, action) {
            poison_waiting(&mut self.l1s[c], m.lines);
        }
        Ok(Outcome::Changed)
    }

    /// The observer (`observe_performed`).
    fn observe(&mut self, out: &Outbox) -> Result<(), Fault> {
        observe_performed(&mut self.golden, &mut self.windows, &self.l1s, out)
    }

    /// SWMR and the data value of every readable copy, on every line.
    pub fn check_invariants(&self, m: &Model) -> Result<(), Fault> {
        for line in 0..m.lines {
            let l = line as u64;
            check_swmr(l, &self.l1s)
                .map_err(|what| Fault { kind: ViolationKind::Swmr, detail: format!("line {line}: {what}") })?;
            let g = self.golden[line] as u64;
            for l1 in &self.l1s {
                let state = l1.state_of(l);
                if !state.can_read() {
                    continue;
                }
                let Some(data) = l1.data_of(l) else { continue };
                if data[0] != g {
                    return Err(Fault {
                        kind: ViolationKind::DataValue,
                        detail: format!(
                            "data value violated: core {} holds {} at {:#x} in {}, the last store performed wrote {g}",
                            l1.spec.core,
                            word_name(data[0]),
                            l * LINE_BYTES,
                            state.name()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Work is under way: a message in flight, a miss outstanding, a line waiting
    /// for its Put-Ack, or a transient state anywhere.
    pub fn pending(&self) -> bool {
        !self.net.is_empty()
            || self.l1s.iter().any(|l1| {
                l1.mshr.is_some() || !l1.wb.is_empty() || l1.array.valid_frames().any(|(_, f)| !f.state.is_stable())
            })
            || self.dir.entries.values().any(|e| !e.state.is_stable())
    }

    /// State, dirtiness and word of a line in a cache (frame or write-back buffer).
    #[inline]
    pub fn line_view(l1: &L1Controller, line: usize) -> (L1State, bool, u64) {
        let f = l1.array.frame(line);
        if f.state != L1State::I {
            return (f.state, f.dirty, l1.array.data(line)[0]);
        }
        match l1.wb.iter().find(|e| e.line as usize == line) {
            Some(e) => (e.state, e.dirty, e.data[0]),
            None => (L1State::I, false, 0),
        }
    }

    /// Put a line into a cache as `line_view` reports it.
    pub fn set_line(l1: &mut L1Controller, line: usize, state: L1State, dirty: bool, word: u64) {
        l1.array.invalidate(line);
        if state == L1State::I {
            return;
        }
        if state.in_writeback_buffer() {
            l1.wb.push(crate::model::l1::WbEntry { line: line as u64, state, dirty, data: smallvec![word] });
        } else {
            l1.array.install(line, line as u64, state);
            l1.array.set_dirty(line, dirty);
            l1.array.data_mut(line)[0] = word;
        }
    }

    /// A readable dump of the state, for the end of a chart.
    pub fn describe(&self, m: &Model) -> String {
        let mut s = String::new();
        for (c, l1) in self.l1s.iter().enumerate() {
            let lines: Vec<String> = (0..m.lines)
                .map(|l| {
                    let (st, dirty, w) = Self::line_view(l1, l);
                    if st == L1State::I {
                        format!("line {l}: I")
                    } else {
                        format!("line {l}: {} ={}{}", st.name(), word_name(w), if dirty { " dirty" } else { "" })
                    }
                })
                .collect();
            let mshr = l1
                .mshr
                .as_ref()
                .map_or("idle".to_string(), |x| format!("MSHR {:?} line {} acks {}", x.access.op, x.line, x.acks));
            s += &format!("    L1[{c}]: {}; {mshr}\n", lines.join(", "));
        }
        for l in 0..m.lines {
            let e = self.dir.entry(l as u64);
            let mem = self.dir.memory_line(l as u64)[0];
            s += &format!(
                "    Dir line {l}: {} owner {} sharers {:?}; memory ={mem}; golden ={}\n",
                e.state.name(),
                e.owner.map_or("-".to_string(), |o| format!("L1[{o}]")),
                e.sharers,
                self.golden[l]
            );
        }
        if self.net.is_empty() {
            s += "    no messages in flight\n";
        }
        for msg in &self.net {
            s += &format!("    in flight: {}\n", describe_msg(m, msg));
        }
        s
    }
}

/// A hit as the engine's fast path takes it (`Simulator::run_hits`): the frame
/// from `hit_frame`, then `hit_plain` for a plain store (what a simulation that
/// wants no values runs) or `hit_at` for a load or an atomic (what it runs
/// otherwise). `None` when the access does not hit: it goes to `access`, as in
/// the engine. The fast path runs no table row and sends no note, so the value
/// the access returned is reported by the caller.
fn fast_hit(l1: &mut L1Controller, access: Access) -> Option<(u64, Option<u64>)> {
    let idx = l1.hit_frame(access.addr, access.op.writes())?;
    Some(match access.op {
        MemOp::Store(v) => {
            let old = l1.array.data(idx)[0];
            l1.hit_plain(idx, access.addr, Some(v));
            (old, Some(v))
        }
        _ => l1.hit_at(idx, access),
    })
}

/// Replace the words of frames waiting for their data with `POISON`.
fn poison_waiting(l1: &mut L1Controller, lines: usize) {
    for line in 0..lines {
        if matches!(l1.array.frame(line).state, L1State::IS_D | L1State::IS_D_I | L1State::IM_AD) {
            l1.array.data_mut(line)[0] = POISON as u64;
        }
    }
}

/// Copy one L1's contents (frames, data, MSHR, write-back buffer) without
/// allocating; the spec and the replacement state (none, for Random) stay.
fn copy_l1(dst: &mut L1Controller, src: &L1Controller) {
    let frames = src.spec.geometry.sets();
    for i in 0..frames {
        dst.array.set_frame(i, *src.array.frame(i));
        dst.array.data_mut(i).copy_from_slice(src.array.data(i));
    }
    dst.mshr.clone_from(&src.mshr);
    dst.wb.clone_from(&src.wb);
}

/// A word as charts print it: the poison word is `⊥`.
pub(crate) fn word_name(w: u64) -> String {
    if w == POISON as u64 { "⊥".to_string() } else { w.to_string() }
}

/// `Data[=1 acks 1 excl] L1[0] → L1[1]`.
pub(crate) fn describe_msg(m: &Model, msg: &Msg) -> String {
    let mut attrs = Vec::new();
    if let Some(d) = &msg.data {
        attrs.push(format!("={}", word_name(d[0])));
    }
    if msg.acks > 0 {
        attrs.push(format!("acks {}", msg.acks));
    }
    if msg.exclusive {
        attrs.push("excl".to_string());
    }
    if msg.dirty {
        attrs.push("dirty".to_string());
    }
    if msg.requester != msg.src && msg.requester != msg.dst {
        attrs.push(format!("for {}", m.node_name(msg.requester)));
    }
    let attrs = if attrs.is_empty() { String::new() } else { format!("[{}]", attrs.join(" ")) };
    format!("{}{} line {} {} → {}", msg.kind.name(), attrs, msg.line, m.node_name(msg.src), m.node_name(msg.dst))
}

/// The observer both worlds (directory and bus) share: every performed access
/// read the golden word (or, windowed, a value of its window); stores update
/// the golden word and open the windows of the caches waiting on that line.
pub(super) fn observe_performed(
    golden: &mut [u8],
    windows: &mut [u8],
    l1s: &[L1Controller],
    out: &Outbox,
) -> Result<(), Fault> {
    for note in &out.notes {
        let Note::Performed { core, addr, op, loaded, stored, windowed } = *note else {
            continue;
        };
        let line = (addr / LINE_BYTES) as usize;
        let want = golden[line] as u64;
        let window = std::mem::take(&mut windows[core as usize]);
        if loaded != want {
            let allowed = windowed && op == MemOp::Load && loaded < 8 && window & (1 << loaded) != 0;
            if !allowed {
                return Err(Fault {
                    kind: ViolationKind::DataValue,
                    detail: format!(
                        "data value violated: core {core} {op:?} at {addr:#x} read {}, but the last store performed wrote {want}",
                        word_name(loaded)
                    ),
                });
            }
        }
        if let Some(v) = stored {
            golden[line] = v as u8;
            for (c, l1) in l1s.iter().enumerate() {
                if windows[c] != 0 && l1.mshr.as_ref().is_some_and(|x| x.line as usize == line) {
                    windows[c] |= 1 << v;
                }
            }
        }
    }
    Ok(())
}
