//! The broadcast actor. A process broadcasts on a timer (`casts` times, one
//! every `period` cycles): it sends the message to each of the N − 1 others
//! and, except under total order, delivers it to itself at once (a process's
//! own message has no predecessor it has not seen). A received message goes
//! into the hold-back queue (`State::pending`) and leaves it when the order's
//! rule allows; a duplicate (already delivered or already held) is dropped,
//! which is the integrity guarantee under `dup` faults.
//!
//! **FIFO** (primitive 4b, a locally generated ordering token): each message
//! carries its sender's sequence number k; deliver (j, k) when k is one past
//! the count delivered from j.
//!
//! **Causal** (Birman, Schiper, Stephenson 1991; primitive 4c, a per-process
//! logical clock): the message carries the sender's vector V of deliveries
//! counted per sender, its own entry counting its broadcasts. Deliver m from j
//! when V[j] = delivered[j] + 1 and V[k] ≤ delivered[k] for every k ≠ j: every
//! broadcast the sender had delivered when it sent m has been delivered here.
//! N words per message.
//!
//! **Total**, by a fixed sequencer (process 0) rather than Lamport stamps
//! with acknowledgements: a sequencer costs N − 1 extra messages per
//! broadcast (the `order` carrying the global number, primitive 4a, a
//! centrally generated token) where ISIS-style acks cost N − 1 acks to the
//! sender plus N − 1 final stamps (2a broadcast-and-collect), and it needs no
//! channel ordering, which the delay faults take away. The origin sends its
//! data to all; the sequencer numbers each sender's messages in that
//! sender's order (holding back out-of-order data, so the order respects
//! FIFO) and sends `order(j, k, g)` to every other process; everyone delivers
//! by g, holding data without its number and numbers without their data. The
//! sequencer's own data carries its number. Nobody delivers its own message
//! at send: it waits for its number like anyone's. A number is given only on
//! receipt, after whatever the origin delivered before sending, so the order
//! is also causal. The sequencer is a single point of failure and a hot spot.
//!
//! Broken variants: `BrokenFifo` delivers on receipt; `BrokenCausal` checks
//! only the sender's entry of V (FIFO, not causal); `BrokenTotal` delivers a
//! numbered message without waiting for the numbers below it.
//!
//! No retransmission: a dropped message is never delivered (validity needs a
//! reliable network; `drop` faults show the loss, they are not masked).

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use crate::exec::actor::{OnCore, cycles};
use crate::model::Primitive;

/// The process that numbers messages under total order.
pub const SEQUENCER: usize = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order {
    Fifo,
    Causal,
    Total,
    /// FIFO that delivers on receipt: deliberately broken.
    BrokenFifo,
    /// Causal that checks only the sender's entry of the vector.
    BrokenCausal,
    /// Total that delivers a numbered message without the numbers below it.
    BrokenTotal,
}

impl Order {
    pub const ALL: [Order; 6] =
        [Order::Fifo, Order::Causal, Order::Total, Order::BrokenFifo, Order::BrokenCausal, Order::BrokenTotal];

    pub fn name(self) -> &'static str {
        match self {
            Order::Fifo => "fifo",
            Order::Causal => "causal",
            Order::Total => "total",
            Order::BrokenFifo => "broken-fifo",
            Order::BrokenCausal => "broken-causal",
            Order::BrokenTotal => "broken-total",
        }
    }

    /// The order a variant is a version of.
    pub fn base(self) -> Order {
        match self {
            Order::BrokenFifo => Order::Fifo,
            Order::BrokenCausal => Order::Causal,
            Order::BrokenTotal => Order::Total,
            o => o,
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::apps::by_name(s, &Order::ALL, Order::name, "broadcast order")
    }
}

/// The application: `casts` broadcasts per process, one every `period`
/// cycles. With `record`, every handler is an event reported through `stamp`
/// (the timed run's delivery record); the model checker leaves it off.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Broadcast {
    pub order: Order,
    pub processes: usize,
    pub casts: u32,
    pub period: Range<u64>,
    pub record: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg {
    /// FIFO data: the sender's sequence number (from 1).
    Seq(u32),
    /// Causal data: the sender's vector; its own entry is the sequence number.
    Vector(Vec<u32>),
    /// Total-order data: the sequence number, and the global number when the
    /// sender is the sequencer.
    Data(u32, Option<u32>),
    /// The sequencer's word: message (from, seq) is number g (from 0).
    Numbered { from: u8, seq: u32, g: u32 },
}

/// An application event in a process's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ev {
    /// The process broadcast its `seq`-th message.
    Cast(u32),
    /// It delivered sender `from`'s `seq`-th message.
    Deliver(usize, u32),
}

impl Ev {
    const CAST: u64 = 1 << 63;

    /// One word, for a stamp: the cast bit, the sender, the sequence number.
    pub fn encode(self) -> u64 {
        match self {
            Ev::Cast(k) => Ev::CAST | u64::from(k),
            Ev::Deliver(j, k) => (j as u64) << 32 | u64::from(k),
        }
    }

    pub fn decode(w: u64) -> Ev {
        let k = w as u32;
        if w & Ev::CAST != 0 { Ev::Cast(k) } else { Ev::Deliver((w >> 32) as usize, k) }
    }
}

/// A message received and not yet delivered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pending {
    pub from: usize,
    pub seq: u32,
    /// Causal: the vector it carried (empty otherwise).
    pub clock: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Broadcasts made.
    pub cast: u32,
    /// Deliveries per sender (causal: the process's vector clock).
    pub delivered: Vec<u32>,
    /// The hold-back queue, sorted.
    pub pending: Vec<Pending>,
    /// Total: numbers known and not yet used, as (g, from, seq), sorted.
    pub numbers: Vec<(u32, usize, u32)>,
    /// Total: the next global number to deliver.
    pub next: u32,
    /// The sequencer: numbers given, and per sender how many were numbered.
    pub given: u32,
    pub numbered: Vec<u32>,
    /// Casts and deliveries, in order.
    pub log: Vec<Ev>,
    /// With `record`: handlers run, where the latest one's events start in
    /// `log`, and deliveries held back (not made by the handler that took
    /// the message).
    pub events: u32,
    pub mark: u32,
    pub held: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tick;

impl Broadcast {
    fn others(&self, me: usize) -> impl Iterator<Item = Id> + '_ {
        (0..self.processes).filter(move |&p| p != me).map(Id::from)
    }

    fn begin(&self, s: &mut State) {
        if self.record {
            s.events += 1;
            s.mark = s.log.len() as u32;
        }
    }

    fn deliver(&self, s: &mut State, from: usize, seq: u32, just: Option<(usize, u32)>) {
        s.delivered[from] += 1;
        s.log.push(Ev::Deliver(from, seq));
        if self.record && just != Some((from, seq)) {
            s.held += 1;
        }
    }

    fn has_delivered(s: &State, from: usize, seq: u32) -> bool {
        s.log.contains(&Ev::Deliver(from, seq))
    }

    /// Queues a received message unless it is a duplicate.
    fn hold(&self, s: &mut State, p: Pending) {
        let dup = match self.order {
            Order::BrokenFifo | Order::BrokenTotal => Self::has_delivered(s, p.from, p.seq),
            _ => p.seq <= s.delivered[p.from],
        };
        if dup || s.pending.iter().any(|q| q.from == p.from && q.seq == p.seq) {
            return;
        }
        let at = s.pending.partition_point(|q| *q < p);
        s.pending.insert(at, p);
    }

    /// Keeps a global number unless it is stale (a duplicate).
    fn number(&self, s: &mut State, n: (u32, usize, u32)) {
        let stale = match self.order {
            Order::BrokenTotal => Self::has_delivered(s, n.1, n.2),
            _ => n.0 < s.next,
        };
        if !stale && !s.numbers.contains(&n) {
            let at = s.numbers.partition_point(|q| *q < n);
            s.numbers.insert(at, n);
        }
    }

    /// Whether the queue's message `p` may be delivered now.
    fn ready(&self, s: &State, p: &Pending) -> bool {
        let next = p.seq == s.delivered[p.from] + 1;
        match self.order {
            Order::Fifo => next,
            Order::BrokenFifo => true,
            Order::Causal => next && p.clock.iter().enumerate().all(|(k, &v)| k == p.from || v <= s.delivered[k]),
            Order::BrokenCausal => next,
            Order::Total | Order::BrokenTotal => unreachable!("total order delivers by number"),
        }
    }

    /// Empties what the hold-back queue allows; the sequencer first numbers
    /// what it can (telling the others). `just` is the message just taken.
    fn drain(&self, me: usize, s: &mut State, just: Option<(usize, u32)>, o: &mut Out<Self>) {
        if self.order.base() != Order::Total {
            while let Some(i) = s.pending.iter().position(|p| self.ready(s, p)) {
                let p = s.pending.remove(i);
                self.deliver(s, p.from, p.seq, just);
            }
            return;
        }
        if me == SEQUENCER {
            while let Some(p) = s.pending.iter().find(|p| p.seq == s.numbered[p.from] + 1).cloned() {
                let g = s.given;
                s.given += 1;
                s.numbered[p.from] += 1;
                self.number(s, (g, p.from, p.seq));
                for to in self.others(me) {
                    o.send(to, Msg::Numbered { from: p.from as u8, seq: p.seq, g });
                }
            }
        }
        loop {
            let found = s.numbers.iter().enumerate().find(|(_, (g, from, seq))| {
                (*g == s.next || self.order == Order::BrokenTotal)
                    && s.pending.iter().any(|p| p.from == *from && p.seq == *seq)
            });
            let Some((i, &(g, from, seq))) = found else { break };
            s.numbers.remove(i);
            s.pending.retain(|p| !(p.from == from && p.seq == seq));
            s.next = s.next.max(g + 1);
            if !(self.order == Order::BrokenTotal && Self::has_delivered(s, from, seq)) {
                self.deliver(s, from, seq, just);
            }
        }
    }

    fn cast(&self, me: usize, s: &mut State, o: &mut Out<Self>) {
        s.cast += 1;
        let seq = s.cast;
        s.log.push(Ev::Cast(seq));
        let msg = match self.order.base() {
            Order::Fifo => {
                self.deliver(s, me, seq, Some((me, seq)));
                Msg::Seq(seq)
            }
            Order::Causal => {
                self.deliver(s, me, seq, Some((me, seq)));
                Msg::Vector(s.delivered.clone())
            }
            _ => {
                let own = Pending { from: me, seq, clock: Vec::new() };
                let at = s.pending.partition_point(|q| *q < own);
                s.pending.insert(at, own);
                let g = (me == SEQUENCER).then(|| {
                    // Numbered at once, and told by the data itself.
                    s.given += 1;
                    s.numbered[me] += 1;
                    self.number(s, (s.given - 1, me, seq));
                    s.given - 1
                });
                Msg::Data(seq, g)
            }
        };
        for to in self.others(me) {
            o.send(to, msg.clone());
        }
        self.drain(me, s, Some((me, seq)), o);
    }

    fn total_delivered(s: &State) -> u32 {
        s.delivered.iter().sum()
    }
}

impl Actor for Broadcast {
    type Msg = Msg;
    type State = State;
    type Timer = Tick;
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        if self.casts > 0 {
            o.set_timer(Tick, cycles(self.period.clone()));
        }
        let n = self.processes;
        State {
            cast: 0,
            delivered: vec![0; n],
            pending: Vec::new(),
            numbers: Vec::new(),
            next: 0,
            given: 0,
            numbered: vec![0; n],
            log: Vec::new(),
            events: 0,
            mark: 0,
            held: 0,
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let (me, from) = (usize::from(id), usize::from(src));
        let s = state.to_mut();
        self.begin(s);
        let just = match msg {
            Msg::Seq(seq) => {
                self.hold(s, Pending { from, seq, clock: Vec::new() });
                Some((from, seq))
            }
            Msg::Vector(clock) => {
                let seq = clock[from];
                self.hold(s, Pending { from, seq, clock });
                Some((from, seq))
            }
            Msg::Data(seq, g) => {
                self.hold(s, Pending { from, seq, clock: Vec::new() });
                if let Some(g) = g {
                    self.number(s, (g, from, seq));
                }
                Some((from, seq))
            }
            Msg::Numbered { from, seq, g } => {
                self.number(s, (g, from as usize, seq));
                None
            }
        };
        self.drain(me, s, just, o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<State>, _timer: &Tick, o: &mut Out<Self>) {
        let s = state.to_mut();
        self.begin(s);
        self.cast(usize::from(id), s, o);
        if s.cast < self.casts {
            o.set_timer(Tick, cycles(self.period.clone()));
        }
    }
}

impl OnCore for Broadcast {
    /// Cast all its messages and delivered everyone's.
    fn finished(&self, s: &State) -> bool {
        s.cast >= self.casts && Self::total_delivered(s) >= self.casts * self.processes as u32
    }

    fn kind(msg: &Msg) -> &'static str {
        match msg {
            Msg::Seq(_) => "fifo",
            Msg::Vector(_) => "causal",
            Msg::Data(..) => "data",
            Msg::Numbered { .. } => "order",
        }
    }

    fn primitive(msg: &Msg) -> Primitive {
        match msg {
            Msg::Seq(_) | Msg::Data(..) => Primitive::TokenLocal,
            Msg::Vector(_) => Primitive::TokenLogical,
            Msg::Numbered { .. } => Primitive::TokenCentral,
        }
    }

    /// [held so far, the handler's casts and deliveries...] (with `record`).
    fn stamp(&self, s: &State) -> Option<(u32, Vec<u64>)> {
        (self.record && s.events > 0).then(|| {
            let evs = s.log[s.mark as usize..].iter().map(|e| e.encode());
            (s.events, std::iter::once(u64::from(s.held)).chain(evs).collect())
        })
    }
}
