//! The on-core actor runtime: a distributed algorithm written as a
//! `stateright` actor (handlers that record sends and timers into `Out`, never
//! act) runs here as one program per core. The program takes messages out of
//! its mailboxes (`exec::mailbox`, rings in coherent memory), calls the
//! handler, and carries out what the handler recorded: sends go into the
//! receivers' rings, timers are set in cycles of true time (the core's cycle
//! count; the drifting clock of `exec::clock` is what handlers read). The
//! same actor value is model-checked by stateright (untimed world); here it
//! is timed, and every message it sends is paid for in coherence traffic.
//!
//! Conventions shared by both worlds:
//! - Actor `Id(i)` is core `i`.
//! - A timer's duration is read in cycles: `Duration::from_nanos(c)` is `c`
//!   cycles (`cycles(a..b)` builds one). The runtime picks a seeded value in
//!   the range; stateright fires a timer at any time.
//! - `ChooseRandom` is not used by cohsim's actors (the runtime refuses it).
//! - `Save(storage)` is a durable write: it takes the harness's save cycles,
//!   and a process restarting after a crash-recovery fault (`crash:C@T+D`)
//!   starts again by `on_start` with the last storage it saved; its state,
//!   timers and unsent messages are lost. Messages already written into its
//!   rings wait there (they look delayed), and a ring write under way when the
//!   core stopped completes when it restarts.

use std::borrow::Cow;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use stateright::actor::{Actor, Command, Id, Out};

use super::clock::Adjust;
use super::mailbox::{self, Mailboxes};
pub use super::net::{Claim, GradedClaim, Net, Note, Noted, Receipt, Stamped, SwMessage};
use super::{Ctx, SwEventKind};
use crate::model::Primitive;
use crate::model::network::Cycle;
use crate::rng::SplitMix64;

/// What the runtime needs to know of an actor beyond `stateright`'s trait.
pub trait OnCore: Actor
where
    Self::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    /// The process is in its critical section in `state` (for mutual
    /// exclusion; other algorithms keep the default). When a handler moves the
    /// state in, the runtime reports `Acquired` and starts the section's body:
    /// it loads a shared counter in simulated memory and stores its increment
    /// `cs_cycles` later, taking messages meanwhile but firing no timer until
    /// the store is done (so a `Leave` timer ends the section after its work).
    /// When a handler moves the state out, the runtime reports `Releasing`
    /// before carrying out any send the handler recorded.
    fn in_section(&self, state: &Self::State) -> bool {
        let _ = state;
        false
    }

    /// The process wants the section and is not yet in it (reported as
    /// `Acquiring` when it starts wanting).
    fn wants(&self, state: &Self::State) -> bool {
        let _ = state;
        false
    }

    /// The process has done its part of the workload; the run ends when every
    /// process has (or has crashed). A finished process keeps answering.
    fn finished(&self, state: &Self::State) -> bool;

    /// Called before every handler with a read of the core's physical clock
    /// (`exec::clock`); an actor that uses time keeps the reading in its state.
    /// (Stateright never calls it: the untimed world has no clock.)
    fn read_clock(&self, state: &mut Self::State, reading: u64) {
        let _ = (state, reading);
    }

    /// The clock adjustments the state asks for: how many so far and the
    /// latest; the runtime applies each once, when the count grows.
    fn clock_request(&self, state: &Self::State) -> Option<(u32, Adjust)> {
        let _ = state;
        None
    }

    /// What a synchronising process claims of another's clock: how many
    /// claims so far and the latest; the runtime grades each against the truth.
    fn claim(&self, state: &Self::State) -> Option<(u32, Claim)> {
        let _ = state;
        None
    }

    /// The logical timestamp of the process's latest event and how many
    /// events it has made; the runtime records each event once, with the
    /// messages the handler sent and the one it took (the true happens-before).
    fn stamp(&self, state: &Self::State) -> Option<(u32, Vec<u64>)> {
        let _ = state;
        None
    }

    /// What the handler that moved `before` to `after` did that the app's
    /// monitors grade (`before` is `None` for `on_start`): pushed into
    /// `notes`, recorded with the core and the handler's cycle.
    fn notes(&self, before: Option<&Self::State>, after: &Self::State, notes: &mut Vec<Note>) {
        let _ = (before, after, notes);
    }

    /// A short name of the message's kind ("request", "grant", ...).
    fn kind(msg: &Self::Msg) -> &'static str;

    /// The primitive (`model::Primitive`) the message is part of.
    fn primitive(msg: &Self::Msg) -> Primitive;
}

/// A timer duration of `range` cycles (see the module's conventions).
pub fn cycles(range: Range<u64>) -> Range<Duration> {
    Duration::from_nanos(range.start)..Duration::from_nanos(range.end)
}

/// The cycles a timer range stands for.
pub fn in_cycles(range: &Range<Duration>) -> Range<u64> {
    range.start.as_nanos() as u64..range.end.as_nanos() as u64
}

/// Core `ctx.id()`'s program: runs `actor` with mailboxes, timers against
/// the core's clock, and the plan's message faults, until the run is over.
pub async fn run<A>(ctx: Ctx, actor: Rc<A>, net: Rc<Net>)
where
    A: OnCore + 'static,
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    let me = ctx.id();
    let n = net.cores();
    let mut core = Core {
        rng: SplitMix64::new(net.seed ^ (me as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03)),
        boxes: Mailboxes::new(net.layout, me),
        timers: Vec::new(),
        held: Vec::new(),
        outbox: vec![std::collections::VecDeque::new(); n],
        waiting: 0,
        section: None,
        reading: 0,
        seen: (0, 0, 0),
        sent: vec![0; n],
        saved: None,
        ctx,
        net,
        actor,
    };
    let mut out = Out::new();
    let state = core.actor.on_start(Id::from(me), &None, &mut out);
    let mut state = core.after(None, state, out, None).await;
    let mut next_from = 0;
    let mut last = core.ctx.now();
    while !core.net.over(core.ctx.now()) {
        let now = core.ctx.now();
        // Back from a crash-recovery fault: everything volatile is gone; the
        // process starts again from what it saved.
        if core.net.plan.restarted(me, last, now) {
            last = now;
            core.net.restarts.borrow_mut()[me] += 1;
            core.timers.clear();
            core.held.clear();
            core.outbox.iter_mut().for_each(std::collections::VecDeque::clear);
            core.waiting = 0;
            core.section = None;
            core.read_clock_only();
            let mut out = Out::new();
            let fresh = core.actor.on_start(Id::from(me), &core.saved, &mut out);
            state = core.after(None, fresh, out, None).await;
            continue;
        }
        last = now;
        // The section's work done: store the counter's increment.
        if let Some((value, end)) = core.section
            && now >= end
        {
            core.ctx.store(core.net.counter, value + 1).await;
            core.section = None;
            continue;
        }
        // A timer that is due, earliest first; none while the section's work
        // goes on (the process is busy in it; its messages are still taken).
        let due = (0..core.timers.len()).filter(|&i| core.timers[i].1 <= now).min_by_key(|&i| core.timers[i].1);
        if let Some(i) = due.filter(|_| core.section.is_none()) {
            let (timer, _) = core.timers.remove(i);
            core.read_clock(&mut state);
            let mut out = Out::new();
            let mut cow = Cow::Borrowed(&state);
            core.actor.on_timeout(Id::from(me), &mut cow, &timer, &mut out);
            let next = into_owned(cow);
            state = core.after(Some(&state), next.unwrap_or_else(|| state.clone()), out, None).await;
            continue;
        }
        // Messages held back by a delay whose time has come: sent now.
        if let Some(i) = core.held.iter().position(|h| h.0 <= now) {
            let (_, to, bytes, id) = core.held.remove(i);
            core.queue(to, bytes, id, 1).await;
            continue;
        }
        // Messages waiting for room in a full ring: one goes if its ring has
        // room now (a load of the ring's head).
        if core.waiting > 0 && core.drain_one().await {
            continue;
        }
        // One message from the next ring that holds one.
        let mut took = false;
        for k in 0..n {
            let from = (next_from + k) % n;
            if from == me {
                continue;
            }
            let before = (core.ctx.now(), core.count());
            if !core.boxes.ready(&core.ctx, from).await {
                let (polls, coherence) = core.net.polls.get();
                core.net.polls.set((polls + 1, coherence + core.count() - before.1));
                continue;
            }
            let index = core.boxes.taken_from(from) as usize;
            let bytes = core.boxes.take(&core.ctx, from).await;
            let id = core.net.rings.borrow()[from * n + me][index];
            core.net.progress(core.ctx.now());
            let receipt =
                Receipt { at: core.ctx.now(), cycles: core.ctx.now() - before.0, coherence: core.count() - before.1 };
            core.net.log.borrow_mut()[id as usize].received.push(receipt);
            let msg: A::Msg = mailbox::decode(&bytes);
            core.read_clock(&mut state);
            let mut out = Out::new();
            let mut cow = Cow::Borrowed(&state);
            core.actor.on_msg(Id::from(me), &mut cow, Id::from(from), msg, &mut out);
            let next = into_owned(cow);
            state = core.after(Some(&state), next.unwrap_or_else(|| state.clone()), out, Some(id)).await;
            next_from = (from + 1) % n;
            took = true;
            break;
        }
        if !took {
            // Nothing to do: one cycle's pause before polling again.
            core.ctx.compute(1).await;
        }
    }
    core.net.finals.borrow_mut()[me] = Some(Box::new(state));
}

fn into_owned<T: Clone>(cow: Cow<'_, T>) -> Option<T> {
    match cow {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    }
}

/// One core's runtime: its mailboxes, timers, held-back messages.
struct Core<A: Actor> {
    ctx: Ctx,
    net: Rc<Net>,
    actor: Rc<A>,
    boxes: Mailboxes,
    /// Timers set, with the cycle each is due.
    timers: Vec<(<A as Actor>::Timer, Cycle)>,
    /// Messages a delay holds back: (due, to, bytes, id).
    held: Vec<(Cycle, usize, Vec<u8>, u32)>,
    /// Per receiver, messages waiting for room in its ring, in order: a
    /// full ring never blocks the core (it keeps taking messages, so two
    /// cores with full rings to each other cannot deadlock).
    outbox: Vec<std::collections::VecDeque<(Vec<u8>, u32)>>,
    /// Messages in all the outboxes.
    waiting: usize,
    /// In the section: the counter's value loaded, and the cycle its work ends.
    section: Option<(u64, Cycle)>,
    /// The clock reading the current handler saw.
    reading: u64,
    /// Clock requests, claims and events already taken from the state.
    seen: (u32, u32, u32),
    /// Messages sent to each core so far (numbering them for the plan).
    sent: Vec<u64>,
    /// The last durable write (what a restart starts from).
    saved: Option<<A as Actor>::Storage>,
    rng: SplitMix64,
}

impl<A> Core<A>
where
    A: OnCore,
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    fn count(&self) -> u64 {
        self.net.counts[self.ctx.id()].get()
    }

    /// Reads the core's clock for the records, without a state to give it to.
    fn read_clock_only(&mut self) {
        self.reading = self.net.clocks.borrow_mut()[self.ctx.id()].read(self.ctx.now());
    }

    /// Reads the core's clock and hands the reading to the actor.
    fn read_clock(&mut self, state: &mut A::State) {
        self.reading = self.net.clocks.borrow_mut()[self.ctx.id()].read(self.ctx.now());
        self.actor.read_clock(state, self.reading);
    }

    /// Takes the clock requests, claims and events the handler left in the
    /// state; `sent` and `received` are the handler's messages.
    fn take_records(&mut self, state: &A::State, sent: Vec<u32>, received: Option<u32>, start: Cycle) {
        let (me, now) = (self.ctx.id(), self.ctx.now());
        if let Some((n, adjust)) = self.actor.clock_request(state)
            && n > self.seen.0
        {
            self.seen.0 = n;
            self.net.clocks.borrow_mut()[me].adjust(now, adjust);
        }
        if let Some((n, claim)) = self.actor.claim(state)
            && n > self.seen.1
        {
            self.seen.1 = n;
            let clocks = self.net.clocks.borrow();
            let truth = clocks[claim.peer].at(now) - clocks[me].at(now);
            self.net.claims.borrow_mut().push(GradedClaim { core: me, at: now, claim, truth });
        }
        if let Some((index, stamp)) = self.actor.stamp(state)
            && index > self.seen.2
        {
            self.seen.2 = index;
            let physical = self.reading;
            // The event happened when its handler ran (its sends take longer).
            let cycle = start;
            self.net.stamps.borrow_mut().push(Stamped { core: me, index, cycle, physical, stamp, sent, received });
        }
    }

    /// Reports what the handler changed, runs a section's body, and carries
    /// out the commands; returns the state to keep.
    async fn after(
        &mut self,
        before: Option<&A::State>,
        state: A::State,
        out: Out<A>,
        received: Option<u32>,
    ) -> A::State {
        let start = self.ctx.now();
        self.net.progress(self.ctx.now());
        let a = &self.actor;
        let (wanted, was_in) = before.map_or((false, false), |s| (a.wants(s), a.in_section(s)));
        let (wants, is_in) = (a.wants(&state), a.in_section(&state));
        if wants && !wanted {
            self.ctx.event(SwEventKind::Acquiring);
        }
        if is_in && !was_in {
            self.ctx.event(SwEventKind::Acquired);
            // The section's body: load the counter now, store its increment
            // `cs_cycles` later (the run loop does, taking messages meanwhile).
            let v = self.ctx.load(self.net.counter).await;
            self.section = Some((v, self.ctx.now().saturating_add(self.net.cs_cycles)));
        }
        let mut notes = Vec::new();
        a.notes(before, &state, &mut notes);
        if !notes.is_empty() {
            let core = self.ctx.id();
            self.net.notes.borrow_mut().extend(notes.into_iter().map(|note| Noted { core, cycle: start, note }));
        }
        let leaving = was_in && !is_in;
        if leaving {
            self.ctx.event(SwEventKind::Releasing);
        }
        let mut sent = Vec::new();
        for command in out {
            match command {
                Command::Send(to, msg) => sent.push(self.send(usize::from(to), &msg).await),
                Command::SetTimer(timer, range) => {
                    let r = in_cycles(&range);
                    let wait = r.start + if r.end > r.start { self.rng.below(r.end - r.start) } else { 0 };
                    self.timers.retain(|(t, _)| *t != timer);
                    self.timers.push((timer, self.ctx.now().saturating_add(wait)));
                }
                Command::CancelTimer(timer) => self.timers.retain(|(t, _)| *t != timer),
                Command::Save(storage) => {
                    self.saved = Some(storage);
                    self.net.saves.set(self.net.saves.get() + 1);
                    if self.net.save_cycles > 0 {
                        self.ctx.compute(self.net.save_cycles).await;
                    }
                }
                Command::ChooseRandom(..) => panic!("cohsim's actor runtime does not run ChooseRandom"),
            }
        }
        if leaving {
            self.ctx.event(SwEventKind::Released);
        }
        self.take_records(&state, sent, received, start);
        self.net.finished[self.ctx.id()].set(self.actor.finished(&state));
        state
    }

    /// Sends one message: the plan decides its copies and delay.
    async fn send(&mut self, to: usize, msg: &A::Msg) -> u32 {
        let me = self.ctx.id();
        let bytes = mailbox::encode(msg);
        self.sent[to] += 1;
        let now = self.ctx.now();
        let fate = self.net.plan.fate(me, to, self.sent[to], now, &mut self.rng);
        let id = {
            let mut log = self.net.log.borrow_mut();
            log.push(SwMessage {
                from: me,
                to,
                kind: A::kind(msg),
                primitive: A::primitive(msg),
                bytes: bytes.len(),
                sent_at: now,
                copies: fate.copies,
                delay: fate.delay,
                send_cycles: 0,
                send_coherence: 0,
                received: Vec::new(),
            });
            (log.len() - 1) as u32
        };
        if fate.copies == 0 {
            return id;
        }
        if fate.delay > 0 {
            for _ in 0..fate.copies {
                self.held.push((now.saturating_add(fate.delay), to, bytes.clone(), id));
            }
            return id;
        }
        self.queue(to, bytes, id, fate.copies).await;
        id
    }

    /// Sends `copies` copies of message `id` to `to`: written now if nothing
    /// waits before them and the ring has room, else put in the outbox.
    async fn queue(&mut self, to: usize, bytes: Vec<u8>, id: u32, copies: u32) {
        for _ in 0..copies {
            if self.outbox[to].is_empty() && self.room(to).await {
                self.write(to, &bytes, id).await;
            } else {
                self.outbox[to].push_back((bytes.clone(), id));
                self.waiting += 1;
            }
        }
    }

    /// Whether `to`'s ring has room; a load of its head when it looked full,
    /// counted with the polls (it carries no message).
    async fn room(&mut self, to: usize) -> bool {
        let before = self.count();
        let room = self.boxes.has_room(&self.ctx, to).await;
        let (polls, coherence) = self.net.polls.get();
        self.net.polls.set((polls, coherence + self.count() - before));
        room
    }

    /// Writes the oldest waiting message of the first receiver whose ring has
    /// room; whether one went.
    async fn drain_one(&mut self) -> bool {
        for to in 0..self.outbox.len() {
            if !self.outbox[to].is_empty() && self.room(to).await {
                let (bytes, id) = self.outbox[to].pop_front().expect("not empty");
                self.waiting -= 1;
                self.write(to, &bytes, id).await;
                return true;
            }
        }
        false
    }

    /// Writes one copy of message `id` into `to`'s ring, which has room,
    /// charging it the time and the coherence traffic.
    async fn write(&mut self, to: usize, bytes: &[u8], id: u32) {
        let n = self.net.cores();
        let (start, before) = (self.ctx.now(), self.count());
        self.net.rings.borrow_mut()[self.ctx.id() * n + to].push(id);
        self.boxes.send(&self.ctx, to, bytes).await;
        self.net.progress(self.ctx.now());
        let mut log = self.net.log.borrow_mut();
        let m = &mut log[id as usize];
        m.send_cycles += self.ctx.now() - start;
        m.send_coherence += self.count() - before;
    }
}
