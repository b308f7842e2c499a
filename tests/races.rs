//! Transition tests for the races a non-atomic interconnect produces, driven by
//! hand: the test holds every message in flight and delivers them in the order
//! the scenario needs, then checks states, messages and values against what the
//! Primer's protocols (and cohsim's documented additions) say should happen.

mod common;
use cohsim::model::directory::Directory;
use cohsim::model::l1::{AccessOutcome, L1Controller};
use cohsim::model::{Access, Handled, MemOp, Msg, MsgKind, Note, Outbox};
use cohsim::protocol::Protocol;
use cohsim::protocol::dir_table::DirState;
use cohsim::protocol::l1_table::L1State;

struct Bench {
    l1s: Vec<L1Controller>,
    dir: Directory,
    net: Vec<Msg>,
    notes: Vec<Note>,
}

const LINE: u64 = 0;

impl Bench {
    fn new(protocol: Protocol, cores: usize) -> Bench {
        let (l1s, dir) = common::hand_driven(protocol, cores, false);
        Bench { l1s, dir, net: Vec::new(), notes: Vec::new() }
    }

    fn absorb(&mut self, out: Outbox) {
        self.net.extend(out.msgs);
        self.notes.extend(out.notes);
    }

    fn access(&mut self, core: usize, op: MemOp) -> AccessOutcome {
        let mut out = Outbox::default();
        let r = self.l1s[core].access(Access { addr: 8, op }, &mut out).unwrap();
        self.absorb(out);
        r
    }

    fn evict(&mut self, core: usize) {
        let mut out = Outbox::default();
        assert_eq!(self.l1s[core].evict(LINE, &mut out).unwrap(), Handled::Done);
        self.absorb(out);
    }

    /// Deliver the oldest message of this kind to this node.
    fn deliver(&mut self, kind: MsgKind, dst: u16) -> Handled {
        let i = self
            .net
            .iter()
            .position(|m| m.kind == kind && m.dst == dst)
            .unwrap_or_else(|| panic!("no {} to node {dst} in flight: {:?}", kind.name(), self.net));
        let m = self.net.remove(i);
        let mut out = Outbox::default();
        let r = if (dst as usize) < self.l1s.len() {
            self.l1s[dst as usize].handle(&m, &mut out).unwrap()
        } else {
            self.dir.handle(&m, &mut out).unwrap()
        };
        if r == Handled::Stalled {
            self.net.insert(i, m);
        }
        self.absorb(out);
        r
    }

    fn in_flight(&self, kind: MsgKind, dst: u16) -> Vec<&Msg> {
        self.net.iter().filter(|m| m.kind == kind && m.dst == dst).collect()
    }

    fn state(&self, core: usize) -> L1State {
        self.l1s[core].state_of(LINE)
    }

    fn completed(&self, core: u16) -> Vec<u64> {
        common::completed(&self.notes, core)
    }

    /// Deliver everything until nothing moves (any order the bench picks: oldest first).
    fn drain(&mut self) {
        let mut guard = 0;
        while let Some(i) = (0..self.net.len()).find(|_| true) {
            let m = self.net[i].clone();
            self.deliver(m.kind, m.dst);
            guard += 1;
            assert!(guard < 1000, "drain did not settle");
        }
    }
}

const DIR: u16 = 3;

#[test]
fn inv_overtaking_data_in_is_d_acks_at_once_and_uses_the_data_once() {
    // MSI, 3 cores. Core 0 reads (S). Core 1 reads: the directory adds it and sends
    // data from memory. Core 2 writes: Data(acks = 2) to core 2, Inv to cores 0, 1.
    // Core 1's Inv overtakes its Data: core 1 must ack at once (IS_D_I) so core 2
    // can finish, and its load must still complete, with the value before the store.
    let mut b = Bench::new(Protocol::Msi, 3);
    b.access(0, MemOp::Load);
    b.drain();
    assert_eq!(b.state(0), L1State::S);
    b.access(1, MemOp::Load);
    assert_eq!(b.deliver(MsgKind::GetS, DIR), Handled::Done);
    b.access(2, MemOp::Store(77));
    b.deliver(MsgKind::GetM, DIR);
    let data = b.in_flight(MsgKind::Data, 2);
    assert_eq!(data[0].acks, 2);
    b.deliver(MsgKind::Inv, 1);
    assert_eq!(b.state(1), L1State::IS_D_I);
    assert_eq!(b.in_flight(MsgKind::InvAck, 2).len(), 1, "acked at once");
    b.deliver(MsgKind::Inv, 0);
    b.deliver(MsgKind::Data, 2);
    assert_eq!(b.state(2), L1State::IM_A);
    b.deliver(MsgKind::InvAck, 2);
    b.deliver(MsgKind::InvAck, 2);
    assert_eq!(b.state(2), L1State::M, "the store performed before core 1's data arrived");
    b.deliver(MsgKind::Data, 1);
    assert_eq!(b.state(1), L1State::I, "the data is used once, not kept");
    assert_eq!(b.completed(1), vec![0], "the load returns the value from before the store");
    assert!(b.notes.iter().any(|n| matches!(n, Note::Performed { core: 1, windowed: true, .. })));
}

#[test]
fn forwarded_request_waits_for_an_exclusive_grant_in_flight() {
    // MESI: core 0's GetS is granted E; the directory makes core 0 the owner at once.
    // Core 1's GetM is forwarded to core 0 before core 0's data arrives: the
    // Fwd-GetM must stall in IS_D, then be answered from E.
    let mut b = Bench::new(Protocol::Mesi, 3);
    b.access(0, MemOp::Load);
    b.deliver(MsgKind::GetS, DIR);
    assert!(b.in_flight(MsgKind::Data, 0)[0].exclusive);
    b.access(1, MemOp::Store(5));
    b.deliver(MsgKind::GetM, DIR);
    assert_eq!(b.dir.entry(LINE).owner, Some(1));
    assert_eq!(b.deliver(MsgKind::FwdGetM, 0), Handled::Stalled);
    b.deliver(MsgKind::Data, 0);
    assert_eq!(b.state(0), L1State::E);
    assert_eq!(b.deliver(MsgKind::FwdGetM, 0), Handled::Done);
    assert_eq!(b.state(0), L1State::I);
    b.deliver(MsgKind::Data, 1);
    assert_eq!(b.state(1), L1State::M);
}

#[test]
fn owner_evicting_while_a_read_is_forwarded_mesi() {
    // MESI: core 0 holds M and evicts (PutM, MI_A). Core 1's GetS reaches the
    // directory first: Fwd-GetS to core 0, directory S_D. Core 0 answers from MI_A
    // (data to core 1 and to the directory) → SI_A. The PutM then arrives from a
    // sharer: treated as a PutS (remove, Put-Ack). Memory ends with the new value.
    let mut b = Bench::new(Protocol::Mesi, 3);
    b.access(0, MemOp::Store(42));
    b.drain();
    assert_eq!(b.state(0), L1State::M);
    b.evict(0);
    assert_eq!(b.state(0), L1State::MI_A);
    b.access(1, MemOp::Load);
    b.deliver(MsgKind::GetS, DIR);
    assert_eq!(b.dir.entry(LINE).state, DirState::S_D);
    b.deliver(MsgKind::FwdGetS, 0);
    assert_eq!(b.state(0), L1State::SI_A);
    b.deliver(MsgKind::PutM, DIR);
    assert_eq!(b.dir.entry(LINE).state, DirState::S_D, "still waiting for the owner's data");
    b.deliver(MsgKind::Data, DIR);
    assert_eq!(b.dir.entry(LINE).state, DirState::S);
    assert_eq!(b.dir.entry(LINE).sharers.iter().collect::<Vec<_>>(), vec![1]);
    b.deliver(MsgKind::PutAck, 0);
    assert_eq!(b.state(0), L1State::I);
    b.deliver(MsgKind::Data, 1);
    assert_eq!(b.completed(1), vec![42]);
    assert_eq!(b.dir.memory_line(LINE)[1], 42, "the flush reached memory (6a)");
}

#[test]
fn owner_upgrade_loses_the_race_moesi() {
    // MOESI: core 0 is O with core 1 sharing. Core 0 stores (GetM, OM_AC) while
    // core 2's GetM reaches the directory first: Fwd-GetM(acks = 1) to core 0 and
    // Inv to core 1. Core 0 hands the line over and falls back to IM_AD; its own
    // GetM is then an ordinary GetM from a non-owner, forwarded to core 2.
    let mut b = Bench::new(Protocol::Moesi, 3);
    b.access(0, MemOp::Store(1));
    b.drain();
    b.access(1, MemOp::Load);
    b.drain();
    assert_eq!((b.state(0), b.state(1)), (L1State::O, L1State::S));
    assert_eq!(b.dir.memory_line(LINE)[1], 0, "O kept the dirty line: no write-back");
    b.access(0, MemOp::Store(2));
    assert_eq!(b.state(0), L1State::OM_AC);
    b.access(2, MemOp::Store(3));
    // Core 2's GetM reaches the directory first.
    let i = b.net.iter().position(|m| m.kind == MsgKind::GetM && m.src == 2).unwrap();
    let m = b.net.remove(i);
    let mut out = Outbox::default();
    b.dir.handle(&m, &mut out).unwrap();
    b.absorb(out);
    assert_eq!(b.in_flight(MsgKind::FwdGetM, 0)[0].acks, 1);
    b.deliver(MsgKind::FwdGetM, 0);
    assert_eq!(b.state(0), L1State::IM_AD);
    let data = b.in_flight(MsgKind::Data, 2);
    assert_eq!((data[0].acks, data[0].data.as_ref().unwrap()[1]), (1, 1));
    b.deliver(MsgKind::Inv, 1);
    b.deliver(MsgKind::InvAck, 2);
    b.deliver(MsgKind::Data, 2);
    assert_eq!(b.state(2), L1State::M);
    b.deliver(MsgKind::GetM, DIR);
    b.deliver(MsgKind::FwdGetM, 2);
    b.deliver(MsgKind::Data, 0);
    assert_eq!((b.state(0), b.state(2)), (L1State::M, L1State::I));
    assert_eq!(b.completed(0), vec![0, 3], "core 0's store came after core 2's");
}

#[test]
fn ack_count_upgrade_from_o_moesi() {
    // MOESI: O with two sharers upgrades: AckCount(2) from the directory, the two
    // Inv-Acks may come before it (the counter goes negative) — finish on the last.
    let mut b = Bench::new(Protocol::Moesi, 3);
    b.access(0, MemOp::Store(1));
    b.drain();
    b.access(1, MemOp::Load);
    b.drain();
    b.access(2, MemOp::Load);
    b.drain();
    b.access(0, MemOp::Store(9));
    b.deliver(MsgKind::GetM, DIR);
    assert_eq!(b.in_flight(MsgKind::AckCount, 0)[0].acks, 2);
    b.deliver(MsgKind::Inv, 1);
    b.deliver(MsgKind::Inv, 2);
    b.deliver(MsgKind::InvAck, 0);
    b.deliver(MsgKind::InvAck, 0);
    assert_eq!(b.state(0), L1State::OM_AC, "acks before the count do not finish it");
    assert_eq!(b.l1s[0].mshr.as_ref().unwrap().acks, -2);
    b.deliver(MsgKind::AckCount, 0);
    assert_eq!(b.state(0), L1State::M);
    assert!(b.net.is_empty());
}
