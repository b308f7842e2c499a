//! Run statistics: counters per core, per message type and virtual network, per
//! primitive, per (controller, state, event) transition. The engine fills them
//! from the notes controllers emit and on its fast path (they are its output,
//! not an observer's); the miss classes come from the classifier, an observer,
//! when the run finishes. `stats` renders them.

use std::collections::BTreeMap;

use crate::model::{Msg, MsgKind, Primitive};
use crate::protocol::dir_table::{DirEvent, DirState};
use crate::protocol::l1_table::{L1Event, L1State};

/// Dinero-style miss classes (filled in by the miss classifier, `stats::classify`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MissClasses {
    pub compulsory: u64,
    pub capacity: u64,
    pub conflict: u64,
    pub true_sharing: u64,
    pub false_sharing: u64,
}

impl MissClasses {
    pub fn add(&mut self, o: &MissClasses) {
        self.compulsory += o.compulsory;
        self.capacity += o.capacity;
        self.conflict += o.conflict;
        self.true_sharing += o.true_sharing;
        self.false_sharing += o.false_sharing;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CoreStats {
    pub loads: u64,
    pub stores: u64,
    pub atomics: u64,
    pub hits: u64,
    pub misses: u64,
    pub read_misses: u64,
    pub write_misses: u64,
    pub upgrades: u64,
    pub compute_cycles: u64,
    pub stall_cycles: u64,
    pub miss_classes: MissClasses,
}

impl CoreStats {
    pub fn add(&mut self, o: &CoreStats) {
        self.loads += o.loads;
        self.stores += o.stores;
        self.atomics += o.atomics;
        self.hits += o.hits;
        self.misses += o.misses;
        self.read_misses += o.read_misses;
        self.write_misses += o.write_misses;
        self.upgrades += o.upgrades;
        self.compute_cycles += o.compute_cycles;
        self.stall_cycles += o.stall_cycles;
        self.miss_classes.add(&o.miss_classes);
    }
}

const L1_EVENTS: usize = L1Event::ALL.len();
const DIR_EVENTS: usize = DirEvent::ALL.len();

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub cycles: u64,
    pub cores: Vec<CoreStats>,
    pub msg_count: [u64; MsgKind::ALL.len()],
    pub msg_bytes: [u64; MsgKind::ALL.len()],
    pub data_bytes: u64,
    pub control_bytes: u64,
    /// Messages (and silent drops) per primitive tag.
    pub primitives: [u64; Primitive::ALL.len()],
    pub invalidations: u64,
    /// Sharers invalidated per GetM that invalidated any: count of GetMs by fan-out.
    pub sharers_per_invalidation: BTreeMap<u32, u64>,
    pub mem_reads: u64,
    pub mem_writes: u64,
    pub writebacks: u64,
    pub silent_drops: u64,
    /// Invs answered by a cache that held no copy (stale sharers, imprecise records).
    pub stale_invalidations: u64,
    /// Sparse directory: entries recalled, and the Invs and Fwd-GetMs they sent.
    pub recalls: u64,
    pub recall_invalidations: u64,
    /// Dir_I NB: sharers invalidated to free a pointer.
    pub pointer_evictions: u64,
    /// The directory organisation (`full` unless set) and the bits of sharer
    /// record it keeps per entry.
    pub organisation: String,
    pub sharer_bits_per_line: u64,
    pub dirty_at_end: u64,
    pub l1_transitions: Vec<u64>,
    pub dir_transitions: Vec<u64>,
    pub network_queueing_cycles: u64,
    pub memory_queueing_cycles: u64,
}

impl Stats {
    pub fn new(cores: usize) -> Self {
        Stats {
            cycles: 0,
            cores: vec![CoreStats::default(); cores],
            msg_count: [0; MsgKind::ALL.len()],
            msg_bytes: [0; MsgKind::ALL.len()],
            data_bytes: 0,
            control_bytes: 0,
            primitives: [0; Primitive::ALL.len()],
            invalidations: 0,
            sharers_per_invalidation: BTreeMap::new(),
            mem_reads: 0,
            mem_writes: 0,
            writebacks: 0,
            silent_drops: 0,
            stale_invalidations: 0,
            recalls: 0,
            recall_invalidations: 0,
            pointer_evictions: 0,
            organisation: "full".to_string(),
            sharer_bits_per_line: cores as u64,
            dirty_at_end: 0,
            l1_transitions: vec![0; L1State::ALL.len() * L1_EVENTS],
            dir_transitions: vec![0; DirState::ALL.len() * DIR_EVENTS],
            network_queueing_cycles: 0,
            memory_queueing_cycles: 0,
        }
    }

    pub fn count_message(&mut self, msg: &Msg) {
        let k = msg.kind as usize;
        let bytes = msg.bytes() as u64;
        self.msg_count[k] += 1;
        self.msg_bytes[k] += bytes;
        if msg.data.is_some() {
            self.data_bytes += bytes;
        } else {
            self.control_bytes += bytes;
        }
        for p in msg.tags.iter() {
            self.primitives[p as usize] += 1;
        }
        if msg.kind == MsgKind::InvAck && msg.tags.contains(Primitive::SilentWithdrawal) {
            self.stale_invalidations += 1;
        }
    }

    pub fn count_l1_transition(&mut self, from: L1State, event: L1Event) {
        self.l1_transitions[from as usize * L1_EVENTS + event as usize] += 1;
    }

    pub fn count_dir_transition(&mut self, from: DirState, event: DirEvent) {
        self.dir_transitions[from as usize * DIR_EVENTS + event as usize] += 1;
    }

    pub fn l1_transition_count(&self, from: L1State, event: L1Event) -> u64 {
        self.l1_transitions[from as usize * L1_EVENTS + event as usize]
    }

    pub fn dir_transition_count(&self, from: DirState, event: DirEvent) -> u64 {
        self.dir_transitions[from as usize * DIR_EVENTS + event as usize]
    }

    pub fn totals(&self) -> CoreStats {
        let mut t = CoreStats::default();
        for c in &self.cores {
            t.add(c);
        }
        t
    }

    pub fn messages(&self, kind: MsgKind) -> u64 {
        self.msg_count[kind as usize]
    }

    pub fn primitive(&self, p: Primitive) -> u64 {
        self.primitives[p as usize]
    }

    pub fn total_messages(&self) -> u64 {
        self.msg_count.iter().sum()
    }
}
