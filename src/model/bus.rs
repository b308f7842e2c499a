//! The snooping bus's timing: an address bus that orders requests and a data bus
//! that carries lines, each a resource held for a number of cycles per use, so
//! contention shows as waiting. Pure bookkeeping, like `network::Network`: the
//! engine asks it when things may happen; it never calls a controller.
//!
//! * **Address bus.** Each cache has a FIFO of requests waiting for the bus (a
//!   demand GetS/GetM, PutMs of lines it evicts). When the bus is free, the
//!   arbiter grants it **round-robin**: starting after the cache granted last, the
//!   first cache whose oldest request is ready wins. The grant is the request's
//!   **order point** (it is placed on the bus and every controller snoops it); the
//!   bus is then busy for `address_cycles`.
//! * **Data bus.** A line travels as one transfer, `line / word_bytes *
//!   cycles_per_word` cycles long, to one receiver or two (a requester and memory
//!   read the same beats). Transfers are taken first come, first served by the
//!   cycle their data is ready (a cache's snoop lookup, a DRAM read).

use std::collections::VecDeque;

use super::Msg;
use super::network::Cycle;

#[derive(Clone, Debug)]
pub struct Bus {
    pub address_cycles: Cycle,
    pub data_cycles: Cycle,
    /// Per cache: requests waiting for the address bus, with the cycle each is ready.
    queues: Vec<VecDeque<(Cycle, Msg)>>,
    /// The cache granted last (round-robin starts after it).
    last: usize,
    addr_free: Cycle,
    data_free: Cycle,
    /// Requests granted and cycles they waited for the bus past being ready.
    pub grants: u64,
    pub address_wait: u64,
    /// Data transfers and cycles they waited for the data bus.
    pub transfers: u64,
    pub data_wait: u64,
}

impl Bus {
    pub fn new(caches: usize, address_cycles: Cycle, data_cycles: Cycle) -> Self {
        Bus {
            address_cycles,
            data_cycles,
            queues: vec![VecDeque::new(); caches],
            last: caches - 1,
            addr_free: 0,
            data_free: 0,
            grants: 0,
            address_wait: 0,
            transfers: 0,
            data_wait: 0,
        }
    }

    /// Cache `cache` wants the bus for `msg` from cycle `ready`.
    pub fn request(&mut self, cache: usize, ready: Cycle, msg: Msg) {
        self.queues[cache].push_back((ready, msg));
    }

    /// Requests waiting for the address bus.
    pub fn waiting(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// The earliest cycle the arbiter can grant anything, if anything waits.
    pub fn next_grant(&self) -> Option<Cycle> {
        let ready = self.queues.iter().filter_map(|q| q.front().map(|&(t, _)| t)).min()?;
        Some(ready.max(self.addr_free))
    }

    /// Arbitrate at `now`: the request that wins the address bus (its order
    /// point is `now`), if the bus is free and any request is ready.
    pub fn grant(&mut self, now: Cycle) -> Option<Msg> {
        if self.addr_free > now {
            return None;
        }
        let n = self.queues.len();
        let winner =
            (1..=n).map(|i| (self.last + i) % n).find(|&c| self.queues[c].front().is_some_and(|&(t, _)| t <= now))?;
        let (ready, msg) = self.queues[winner].pop_front().expect("found");
        self.last = winner;
        self.addr_free = now + self.address_cycles;
        self.grants += 1;
        self.address_wait += now - ready;
        Some(msg)
    }

    /// A line ready at `ready` crosses the data bus: the cycle it arrives.
    /// Called in the order transfers become ready.
    pub fn transfer(&mut self, ready: Cycle) -> Cycle {
        let start = ready.max(self.data_free);
        self.data_free = start + self.data_cycles;
        self.transfers += 1;
        self.data_wait += start - ready;
        self.data_free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MsgKind;

    fn req(src: u16) -> Msg {
        Msg::control(MsgKind::GetS, 0, src, 4)
    }

    #[test]
    fn the_arbiter_goes_round_robin_among_ready_requests() {
        let mut bus = Bus::new(4, 2, 8);
        // Caches 2, 0 and 3 ask at cycle 0; cache 1 only at cycle 5.
        bus.request(2, 0, req(2));
        bus.request(0, 0, req(0));
        bus.request(3, 0, req(3));
        bus.request(1, 5, req(1));
        // Round-robin starts after the last cache (3): 0 first, then 2 (1 is
        // not ready), each holding the bus 2 cycles.
        assert_eq!(bus.grant(0).map(|m| m.src), Some(0));
        assert_eq!(bus.grant(1), None, "the address bus is busy until cycle 2");
        assert_eq!(bus.next_grant(), Some(2));
        assert_eq!(bus.grant(2).map(|m| m.src), Some(2));
        assert_eq!(bus.grant(4).map(|m| m.src), Some(3));
        // Cache 1's request is ready at 5; the bus is free from 6.
        assert_eq!(bus.next_grant(), Some(6));
        assert_eq!(bus.grant(6).map(|m| m.src), Some(1));
        // Waits: 0 + 2 + 4 + 1 cycles.
        assert_eq!((bus.grants, bus.address_wait), (4, 7));
        assert_eq!(bus.next_grant(), None);
    }

    #[test]
    fn data_transfers_queue_for_the_data_bus() {
        let mut bus = Bus::new(2, 1, 8);
        assert_eq!(bus.transfer(10), 18);
        // Ready at 12 but the bus is busy until 18.
        assert_eq!(bus.transfer(12), 26);
        assert_eq!(bus.transfer(40), 48);
        assert_eq!((bus.transfers, bus.data_wait), (3, 6));
    }
}
