//! Mailboxes in coherent memory: one single-producer single-consumer ring
//! per (sender, receiver) pair, so a software message is paid for in the
//! coherence traffic of the lines it is written to and read from.
//!
//! Layout (cache-line message passing, as ssmp and FastForward lay it out):
//! each ring's tail (messages written, bumped by the sender) on a line of its
//! own, its head (messages taken, bumped by the receiver) on a line of its
//! own, and `slots` slots of whole lines. A slot holds the message's length in
//! bytes in its first word and the encoded message (postcard) in the words
//! after it, so a message costs the lines its encoding takes. The tails a
//! receiver polls sit on consecutive lines (so they fall in different sets of
//! its L1, not in the one set a power-of-two stride between rings would give
//! them), and so do the heads a sender reads.
//!
//! The sender keeps its tail in a register and the head it last read; it reads
//! the head line again only when the ring looks full (Lamport's SPSC queue
//! with cached indices). The receiver does the same with the tail: a poll of
//! an empty ring is one load that hits in its L1 until the sender's write to
//! the tail invalidates it. Cores are in order and sequentially consistent,
//! so writing the slot before the tail publishes the message.
//!
//! `send` waits while the ring is full. The actor runtime (`exec::actor`)
//! never waits on one: it keeps the message in the core's outbox, in order
//! per receiver, and goes on taking messages, so two cores with full rings to
//! each other cannot deadlock.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Ctx;

/// Where every ring of a machine lives.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    base: u64,
    line: u64,
    cores: u64,
    /// Slots per ring.
    pub slots: u64,
    /// Lines per slot.
    pub slot_lines: u64,
}

impl Layout {
    /// Rings for `cores` cores from `base` (line-aligned) on lines of `line`
    /// bytes, each with `slots` slots of `slot_lines` lines.
    pub fn new(base: u64, line: u64, cores: usize, slots: u64, slot_lines: u64) -> Layout {
        assert!(line.is_power_of_two() && line >= 16 && slots > 0 && slot_lines > 0);
        Layout { base: base.next_multiple_of(line), line, cores: cores as u64, slots, slot_lines }
    }

    /// Lines of one ring's slots.
    fn ring_lines(&self) -> u64 {
        self.slots * self.slot_lines
    }

    /// The first address past every ring.
    pub fn end(&self) -> u64 {
        let n2 = self.cores * self.cores;
        self.base + (2 * n2 + n2 * self.ring_lines()) * self.line
    }

    /// Tails first, by receiver: the `n` tails core `to` polls are lines
    /// `to * n .. to * n + n`.
    fn tail(&self, from: usize, to: usize) -> u64 {
        self.base + (to as u64 * self.cores + from as u64) * self.line
    }

    /// Then heads, by sender.
    fn head(&self, from: usize, to: usize) -> u64 {
        let n2 = self.cores * self.cores;
        self.base + (n2 + from as u64 * self.cores + to as u64) * self.line
    }

    /// Then each ring's slots.
    fn slot(&self, from: usize, to: usize, index: u64) -> u64 {
        let n2 = self.cores * self.cores;
        let ring = from as u64 * self.cores + to as u64;
        self.base + (2 * n2 + ring * self.ring_lines() + (index % self.slots) * self.slot_lines) * self.line
    }

    /// The largest encoded message a slot holds, in bytes.
    pub fn capacity(&self) -> usize {
        (self.slot_lines * self.line - 8) as usize
    }
}

/// Encodes a message with postcard; the bytes are what travels.
pub fn encode<M: Serialize>(msg: &M) -> Vec<u8> {
    postcard::to_allocvec(msg).expect("a message encodes (postcard serializes any serde value to a Vec)")
}

/// Decodes what `encode` wrote.
pub fn decode<M: DeserializeOwned>(bytes: &[u8]) -> M {
    postcard::from_bytes(bytes).expect("a mailbox returns exactly the bytes that were sent")
}

/// One core's ends of its rings: for each other core, the sender's and the
/// receiver's registers.
pub struct Mailboxes {
    layout: Layout,
    me: usize,
    /// Per receiver: messages written (the tail) and the head last read.
    tx: Vec<(u64, u64)>,
    /// Per sender: messages taken (the head) and the tail last read.
    rx: Vec<(u64, u64)>,
}

impl Mailboxes {
    pub fn new(layout: Layout, me: usize) -> Mailboxes {
        let n = layout.cores as usize;
        Mailboxes { layout, me, tx: vec![(0, 0); n], rx: vec![(0, 0); n] }
    }

    /// Writes `bytes` to `to`'s ring from this core, waiting while it is full.
    /// A message longer than a slot is a bug of the algorithm: it panics,
    /// which fails the run naming the core.
    pub async fn send(&mut self, ctx: &Ctx, to: usize, bytes: &[u8]) {
        let (me, l) = (self.me, self.layout);
        assert!(to != me, "core {me} sent a message to itself (actors act on their own state directly)");
        assert!(
            bytes.len() <= l.capacity(),
            "a message of {} bytes does not fit a mailbox slot of {} bytes",
            bytes.len(),
            l.capacity()
        );
        let (tail, mut head_seen) = self.tx[to];
        while tail - head_seen >= l.slots {
            head_seen = ctx.load(l.head(me, to)).await;
        }
        let slot = l.slot(me, to, tail);
        ctx.store(slot, bytes.len() as u64).await;
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            ctx.store(slot + 8 * (i as u64 + 1), u64::from_le_bytes(word)).await;
        }
        ctx.store(l.tail(me, to), tail + 1).await;
        self.tx[to] = (tail + 1, head_seen);
    }

    /// Whether `to`'s ring has a free slot: a load of the head when the cached
    /// one says it is full.
    pub async fn has_room(&mut self, ctx: &Ctx, to: usize) -> bool {
        let (tail, head_seen) = self.tx[to];
        if tail - head_seen < self.layout.slots {
            return true;
        }
        let head = ctx.load(self.layout.head(self.me, to)).await;
        self.tx[to].1 = head;
        tail - head < self.layout.slots
    }

    /// Whether `from`'s ring to this core holds a message: a load of the tail
    /// when the cached one says it is empty.
    pub async fn ready(&mut self, ctx: &Ctx, from: usize) -> bool {
        let (head, tail_seen) = self.rx[from];
        if head < tail_seen {
            return true;
        }
        let tail = ctx.load(self.layout.tail(from, self.me)).await;
        self.rx[from].1 = tail;
        head < tail
    }

    /// Takes the next message from `from`'s ring, which `ready` said is there.
    pub async fn take(&mut self, ctx: &Ctx, from: usize) -> Vec<u8> {
        let (l, me) = (self.layout, self.me);
        let (head, tail_seen) = self.rx[from];
        assert!(head < tail_seen, "take without a message ready");
        let slot = l.slot(from, me, head);
        let len = ctx.load(slot).await as usize;
        let mut bytes = Vec::with_capacity(len.next_multiple_of(8));
        for i in 0..len.div_ceil(8) {
            bytes.extend_from_slice(&ctx.load(slot + 8 * (i as u64 + 1)).await.to_le_bytes());
        }
        bytes.truncate(len);
        ctx.store(l.head(from, me), head + 1).await;
        self.rx[from].0 = head + 1;
        bytes
    }

    /// Takes the next message from `from`'s ring if there is one (no waiting).
    pub async fn try_recv(&mut self, ctx: &Ctx, from: usize) -> Option<Vec<u8>> {
        if self.ready(ctx, from).await { Some(self.take(ctx, from).await) } else { None }
    }

    /// Takes the next message from `from`'s ring, waiting for one.
    pub async fn recv(&mut self, ctx: &Ctx, from: usize) -> Vec<u8> {
        while !self.ready(ctx, from).await {}
        self.take(ctx, from).await
    }

    /// Sends `bytes` to every other core, in core order.
    pub async fn broadcast(&mut self, ctx: &Ctx, bytes: &[u8]) {
        for to in 0..self.layout.cores as usize {
            if to != self.me {
                self.send(ctx, to, bytes).await;
            }
        }
    }

    /// The messages this core has taken from `from` (its head).
    pub fn taken_from(&self, from: usize) -> u64 {
        self.rx[from].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemConfig;
    use crate::engine::{RunOptions, Simulator};
    use crate::exec::Programs;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn rings_are_disjoint_and_line_aligned() {
        let l = Layout::new(0x1000, 64, 3, 4, 1);
        // 3 cores, 9 rings: 9 tail lines, 9 head lines, 9 x 4 slot lines.
        assert_eq!(l.end(), 0x1000 + (9 + 9 + 36) * 64);
        // Core 2 polls lines 6, 7, 8 (from 0, 1, 2): consecutive, so in
        // different sets.
        assert_eq!([l.tail(0, 2), l.tail(1, 2)], [0x1000 + 6 * 64, 0x1000 + 7 * 64]);
        assert_eq!(l.head(1, 2), 0x1000 + (9 + 5) * 64);
        // Ring (1, 2) is ring 5: its slots start at line 18 + 5 * 4.
        assert_eq!(l.slot(1, 2, 0), 0x1000 + (18 + 20) * 64);
        // Slot indices wrap around the ring.
        assert_eq!(l.slot(1, 2, 5), l.slot(1, 2, 1));
        assert_eq!(l.capacity(), 56);
        // Every line is used once.
        let mut lines = std::collections::BTreeSet::new();
        for f in 0..3 {
            for t in 0..3 {
                assert!(lines.insert(l.tail(f, t)) && lines.insert(l.head(f, t)));
                for i in 0..4 {
                    assert!(lines.insert(l.slot(f, t, i)));
                }
            }
        }
        assert_eq!(lines.len(), 54);
    }

    #[test]
    fn messages_arrive_in_order_through_a_ring_smaller_than_the_stream() {
        // 40 messages through a 4-slot ring: the sender must wait for the
        // receiver 36 times over, and every message arrives, in order.
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let layout = Layout::new(0x10_0000, 64, 2, 4, 1);
        let mut p = Programs::new(2, move |ctx| {
            let g = g.clone();
            async move {
                let mut boxes = Mailboxes::new(layout, ctx.id());
                if ctx.id() == 0 {
                    for i in 0u64..40 {
                        let msg = (i, [i as u8; 20]);
                        boxes.send(&ctx, 1, &encode(&msg)).await;
                    }
                } else {
                    for _ in 0..40 {
                        let (i, body): (u64, [u8; 20]) = decode(&boxes.recv(&ctx, 0).await);
                        assert_eq!(body, [i as u8; 20]);
                        g.borrow_mut().push(i);
                        ctx.compute(50).await;
                    }
                }
            }
        });
        let mut sim = Simulator::new(SystemConfig { cores: 2, ..SystemConfig::default() }, RunOptions::default());
        sim.run(&mut p).unwrap();
        assert_eq!(*got.borrow(), (0..40).collect::<Vec<u64>>());
        // Every message moved its slot line and the tail line from core 0 to
        // core 1: at least two misses per message on core 1.
        assert!(sim.stats.cores[1].misses >= 80, "{}", sim.stats.cores[1].misses);
    }

    #[test]
    fn a_broadcast_reaches_every_other_core_and_try_recv_does_not_wait() {
        // Core 0 broadcasts one message to cores 1 and 2. Core 1 first finds
        // its ring empty with `try_recv` (nothing sent yet at cycle 0), then
        // polls until it arrives; core 2 waits with `recv`.
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let layout = Layout::new(0x10_0000, 64, 3, 4, 1);
        let mut p = Programs::new(3, move |ctx| {
            let g = g.clone();
            async move {
                let mut boxes = Mailboxes::new(layout, ctx.id());
                match ctx.id() {
                    0 => {
                        ctx.compute(100).await;
                        boxes.broadcast(&ctx, &encode(&7u32)).await;
                    }
                    1 => {
                        assert!(boxes.try_recv(&ctx, 0).await.is_none(), "nothing is sent before cycle 100");
                        let bytes = loop {
                            if let Some(b) = boxes.try_recv(&ctx, 0).await {
                                break b;
                            }
                        };
                        g.borrow_mut().push((1, decode::<u32>(&bytes)));
                    }
                    _ => {
                        let bytes = boxes.recv(&ctx, 0).await;
                        g.borrow_mut().push((2, decode::<u32>(&bytes)));
                    }
                }
            }
        });
        let mut sim = Simulator::new(SystemConfig { cores: 3, ..SystemConfig::default() }, RunOptions::default());
        sim.run(&mut p).unwrap();
        let mut got = got.borrow().clone();
        got.sort();
        assert_eq!(got, [(1, 7), (2, 7)]);
    }
}
