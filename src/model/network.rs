//! The interconnect's timing: topology, routes, link occupancy and the ordering
//! guarantee, plus the memory channel and the controller ports.
//!
//! A message reserves each link on its route in turn: it starts on a link when the
//! link is free, keeps it busy for its serialisation time (bytes / link width), and
//! its head moves on after the hop latency; the tail arrives `flits - 1` cycles after
//! the head. Links are reserved in send order, so a link is a FIFO server and
//! contention shows up as queueing. Buffers are unbounded (no credit flow control):
//! protocol deadlocks are still possible and caught by the watchdog, network
//! deadlocks are not modelled.
//!
//! Ordering: messages between the same pair of nodes follow the same route through
//! FIFO links and so arrive in order on every virtual network. The protocols rely on
//! that for the forward network only, so `stress` adds random delay to every message
//! and then restores per-(source, destination) order on the forward network alone.

use rustc_hash::FxHashMap;

use super::{Msg, NodeId, Vnet};

pub type Cycle = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    #[default]
    Crossbar,
    Ring,
    Mesh,
}

impl Topology {
    pub fn parse(s: &str) -> Option<Topology> {
        match s {
            "crossbar" => Some(Topology::Crossbar),
            "ring" => Some(Topology::Ring),
            "mesh" => Some(Topology::Mesh),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Topology::Crossbar => "crossbar",
            Topology::Ring => "ring",
            Topology::Mesh => "mesh",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    pub topology: Topology,
    pub cores: usize,
    pub dir_slices: usize,
    pub hop_latency: Cycle,
    pub link_bytes: u32,
    /// Latency between a core and a directory slice on the same tile (ring, mesh).
    pub local_latency: Cycle,
}

impl NetworkSpec {
    /// The least latency of one traversal between a core and a directory
    /// slice: a hop on a crossbar; on a ring or mesh a slice may share the
    /// core's tile, so the local latency if that is less.
    pub fn min_link(&self) -> Cycle {
        match self.topology {
            Topology::Crossbar => self.hop_latency,
            Topology::Ring | Topology::Mesh => self.hop_latency.min(self.local_latency),
        }
    }

    pub fn nodes(&self) -> usize {
        self.cores + self.dir_slices
    }

    /// The tile a node sits on: core i on tile i; directory slices spread evenly.
    pub fn tile(&self, node: NodeId) -> usize {
        let n = node as usize;
        if n < self.cores { n } else { (n - self.cores) * self.cores / self.dir_slices }
    }

    /// Mesh width: the smallest square that holds every tile.
    fn mesh_width(&self) -> usize {
        let mut w = 1;
        while w * w < self.cores {
            w += 1;
        }
        w
    }

    fn link_count(&self) -> usize {
        match self.topology {
            Topology::Crossbar => 2 * self.nodes(),
            Topology::Ring => 2 * self.cores,
            Topology::Mesh => 4 * self.cores.max(self.mesh_width() * self.mesh_width()),
        }
    }

    /// The links a message from `src` to `dst` crosses, each with its latency.
    pub fn route(&self, src: NodeId, dst: NodeId, links: &mut Vec<(usize, Cycle)>) {
        links.clear();
        match self.topology {
            Topology::Crossbar => {
                // Output port of the source, then input port of the destination: one
                // switch traversal, charged once.
                links.push((src as usize, self.hop_latency));
                links.push((self.nodes() + dst as usize, 0));
            }
            Topology::Ring => {
                let n = self.cores;
                let (a, b) = (self.tile(src), self.tile(dst));
                let cw = (b + n - a) % n;
                if cw <= n - cw {
                    for k in 0..cw {
                        links.push(((a + k) % n, self.hop_latency));
                    }
                } else {
                    for k in 0..n - cw {
                        links.push((n + (a + n - k) % n, self.hop_latency));
                    }
                }
            }
            Topology::Mesh => {
                let w = self.mesh_width();
                let (a, b) = (self.tile(src), self.tile(dst));
                let (mut x, mut y) = (a % w, a / w);
                let (bx, by) = (b % w, b / w);
                // XY routing: all the way along X, then along Y. Link ids: 4 per tile
                // (east, west, north, south), named by the tile the link leaves.
                while x != bx {
                    let dir = if bx > x { 0 } else { 1 };
                    links.push((4 * (y * w + x) + dir, self.hop_latency));
                    x = if bx > x { x + 1 } else { x - 1 };
                }
                while y != by {
                    let dir = if by > y { 3 } else { 2 };
                    links.push((4 * (y * w + x) + dir, self.hop_latency));
                    y = if by > y { y + 1 } else { y - 1 };
                }
            }
        }
    }

    /// Number of hops between two nodes (0 on the same tile of a ring or mesh).
    pub fn hops(&self, src: NodeId, dst: NodeId) -> usize {
        let mut links = Vec::new();
        self.route(src, dst, &mut links);
        links.iter().filter(|(_, lat)| *lat > 0).count()
    }
}

/// Random delay added to every message (stress testing), from a seeded generator.
#[derive(Clone, Debug)]
pub struct Jitter {
    pub max: Cycle,
    pub rng: crate::rng::SplitMix64,
}

impl Jitter {
    pub fn new(max: Cycle, seed: u64) -> Self {
        Jitter { max, rng: crate::rng::SplitMix64::new(seed) }
    }

    fn next(&mut self) -> Cycle {
        self.rng.below(self.max + 1)
    }
}

#[derive(Clone, Debug)]
pub struct Network {
    pub spec: NetworkSpec,
    link_free: Vec<Cycle>,
    route: Vec<(usize, Cycle)>,
    /// Last arrival time on the forward network per (source, destination).
    forward_last: FxHashMap<(NodeId, NodeId), Cycle>,
    jitter: Option<Jitter>,
    /// Cycles messages spent waiting for busy links.
    pub queueing_cycles: u64,
}

impl Network {
    pub fn new(spec: NetworkSpec, jitter: Option<Jitter>) -> Self {
        Network {
            link_free: vec![0; spec.link_count()],
            route: Vec::with_capacity(16),
            forward_last: FxHashMap::default(),
            jitter,
            queueing_cycles: 0,
            spec,
        }
    }

    /// Send `msg` at cycle `now`; returns the cycle its tail arrives.
    pub fn send(&mut self, msg: &Msg, now: Cycle) -> Cycle {
        let flits = msg.bytes().div_ceil(self.spec.link_bytes).max(1) as Cycle;
        let mut route = std::mem::take(&mut self.route);
        self.spec.route(msg.src, msg.dst, &mut route);
        let mut t = now;
        let mut arrival = if route.is_empty() { now + self.spec.local_latency } else { 0 };
        for &(link, latency) in &route {
            let start = t.max(self.link_free[link]);
            self.queueing_cycles += start - t;
            self.link_free[link] = start + flits;
            t = start + latency;
            arrival = t + flits - 1;
        }
        self.route = route;
        if let Some(j) = &mut self.jitter {
            arrival += j.next();
        }
        if msg.vnet() == Vnet::Forward {
            let last = self.forward_last.entry((msg.src, msg.dst)).or_insert(0);
            arrival = arrival.max(*last);
            *last = arrival;
        }
        arrival
    }
}

/// A DRAM channel: fixed access latency plus occupancy per line transferred.
#[derive(Clone, Debug)]
pub struct MemoryChannel {
    pub latency: Cycle,
    /// Cycles the channel is busy per line (line bytes / bytes per cycle).
    pub occupancy: Cycle,
    free: Cycle,
    pub queueing_cycles: u64,
}

impl MemoryChannel {
    pub fn new(latency: Cycle, occupancy: Cycle) -> Self {
        MemoryChannel { latency, occupancy, free: 0, queueing_cycles: 0 }
    }

    /// A read issued at `now`: the cycle its data is ready.
    pub fn read(&mut self, now: Cycle) -> Cycle {
        let start = now.max(self.free);
        self.queueing_cycles += start - now;
        self.free = start + self.occupancy;
        start + self.latency
    }

    /// A write issued at `now` occupies the channel; nobody waits for it.
    pub fn write(&mut self, now: Cycle) {
        let start = now.max(self.free);
        self.free = start + self.occupancy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(topology: Topology, cores: usize) -> NetworkSpec {
        NetworkSpec { topology, cores, dir_slices: 1, hop_latency: 3, link_bytes: 16, local_latency: 1 }
    }

    #[test]
    fn hop_counts_match_the_topology() {
        let ring = spec(Topology::Ring, 8);
        assert_eq!(ring.hops(0, 1), 1);
        assert_eq!(ring.hops(0, 4), 4);
        assert_eq!(ring.hops(1, 7), 2);
        let mesh = spec(Topology::Mesh, 16);
        // 4x4: tile 0 is (0,0), tile 15 is (3,3).
        assert_eq!(mesh.hops(0, 15), 6);
        assert_eq!(mesh.hops(5, 6), 1);
        // The directory slice sits on tile 0 with core 0.
        assert_eq!(mesh.hops(0, 16), 0);
        let xbar = spec(Topology::Crossbar, 4);
        assert_eq!(xbar.hops(0, 4), 1);
    }

    #[test]
    fn a_busy_link_queues_the_next_message() {
        let mut net = Network::new(spec(Topology::Crossbar, 2), None);
        let mut data = Msg::control(crate::model::MsgKind::Data, 0, 0, 2);
        data.data = Some(smallvec::smallvec![0; 8]); // 72 bytes: 5 flits
        let a = net.send(&data, 0);
        assert_eq!(a, 3 + 4);
        // Same source port, same cycle: waits 5 cycles for the port.
        let b = net.send(&data, 0);
        assert_eq!(b, 5 + 3 + 4);
    }
}
