//! What a synchronisation run measured, and its three renderings: JSON (the
//! envelope every `app` command prints, plus `offsets` and `claims`), a
//! table of offsets per core, and a CSV of offset over time per core.
//!
//! An offset is a clock's value minus true time, in cycles: `before` at cycle
//! 0 (the spec's offset), `after` at the end of the run, `worst` the largest
//! in magnitude from the end of the first round (a period after it starts)
//! to the end, sampled every `period / 32` cycles; `unsynced` is what the
//! clock would read at the end left alone. The spread is the largest clock
//! minus the smallest, at the same instants.

use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use super::{Params, SyncAlgo};
use crate::apps::json::{hardware_counts, tally};
use crate::config::SystemConfig;
use crate::exec::actor::{GradedClaim, SwMessage};
use crate::exec::clock::Clock;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;
use crate::stats::Stats;

/// Each core's offset from true time, and the clocks' spread.
#[derive(Clone, Debug, PartialEq)]
pub struct Offsets {
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    pub worst: Vec<f64>,
    pub unsynced: Vec<f64>,
    /// Largest clock minus smallest: before, after, worst.
    pub spread: [f64; 3],
    /// Every `period / 4` cycles and at the end: the cycle and each core's
    /// offset (the CSV).
    pub samples: Vec<(Cycle, Vec<f64>)>,
}

#[derive(Clone, Debug)]
pub struct SyncReport {
    pub cfg: SystemConfig,
    pub algo: SyncAlgo,
    pub params: Params,
    pub stats: Stats,
    pub offsets: Offsets,
    /// Every claim, graded.
    pub claims: Vec<GradedClaim>,
    pub violations: Vec<Finding>,
    /// Every software message, in the order sent.
    pub messages: Vec<SwMessage>,
    /// Polls that found a ring empty, and the coherence messages they caused.
    pub polls: (u64, u64),
    /// The least send-to-take delay of any message.
    pub measured_min_delay: Option<Cycle>,
    /// A hash of every message and claim: the same seed gives the same hash.
    pub events_hash: u64,
    /// The run's timeline, when one was asked for.
    pub timeline: Option<crate::stats::timeline::Timeline>,
}

fn spread(values: impl Iterator<Item = f64> + Clone) -> f64 {
    values.clone().fold(f64::MIN, f64::max) - values.fold(f64::MAX, f64::min)
}

/// Reads every clock back against true time (see the module's definitions).
pub fn offsets(clocks: &[Clock], p: &Params, end: Cycle) -> Offsets {
    let at = |t: Cycle| -> Vec<f64> { clocks.iter().map(|c| c.offset_at(t)).collect() };
    let spread_at = |t: Cycle| spread(clocks.iter().map(move |c| c.at(t)));
    let from = (p.first + p.period).min(end);
    let fine = (p.period / 32).max(1);
    let mut worst = vec![0.0f64; clocks.len()];
    let mut worst_spread = 0.0f64;
    for t in (from..=end).step_by(fine as usize).chain([end]) {
        for (w, o) in worst.iter_mut().zip(at(t)) {
            if o.abs() > w.abs() {
                *w = o;
            }
        }
        worst_spread = worst_spread.max(spread_at(t));
    }
    let coarse = (p.period / 4).max(1);
    let mut samples: Vec<(Cycle, Vec<f64>)> = (0..=end).step_by(coarse as usize).map(|t| (t, at(t))).collect();
    if samples.last().is_some_and(|(t, _)| *t != end) {
        samples.push((end, at(end)));
    }
    Offsets {
        before: at(0),
        after: at(end),
        worst,
        unsynced: clocks.iter().map(|c| c.spec().offset as f64 + c.spec().drift_ppm * 1e-6 * end as f64).collect(),
        spread: [spread_at(0), spread_at(end), worst_spread],
        samples,
    }
}

pub fn events_hash(messages: &[SwMessage], claims: &[GradedClaim]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    messages.hash(&mut h);
    for g in claims {
        (g.core, g.at, g.claim, g.truth.to_bits()).hash(&mut h);
    }
    h.finish()
}

/// Two decimals: enough for offsets in cycles, and stable in JSON.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn cents_all(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| cents(x)).collect()
}

impl SyncReport {
    /// Each claim's error: |truth - claimed offset|.
    pub fn errors(&self) -> impl Iterator<Item = f64> + '_ {
        self.claims.iter().map(|g| (g.truth - g.claim.offset as f64).abs())
    }

    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let (by_type, hardware) = hardware_counts(s);
        let msgs = &self.messages;
        let n = self.claims.len().max(1) as f64;
        let o = &self.offsets;
        let p = &self.params;
        json!({
            "app": "clock",
            "algo": self.algo.name(),
            "cores": self.cfg.cores,
            "seed": self.cfg.seed,
            "protocol": self.cfg.protocol.name(),
            "topology": self.cfg.network.topology.name(),
            "rounds": p.rounds,
            "period": p.period,
            "cycles": s.cycles,
            "violations": self.violations,
            "software": {
                "messages": msgs.len(),
                "lost": msgs.iter().filter(|m| m.copies == 0).count(),
                "bytes": msgs.iter().map(|m| m.bytes).sum::<usize>(),
                "by_kind": tally(msgs.iter().map(|m| m.kind)),
            },
            "coherence": {
                "messages": s.msg_count.iter().sum::<u64>(),
                "by_type": by_type,
                "carrying_software_messages": msgs.iter().map(|m| m.coherence()).sum::<u64>(),
                "polling_empty_mailboxes": self.polls.1,
            },
            "primitives": { "hardware": hardware, "software": tally(msgs.iter().map(|m| m.primitive.tag())) },
            "offsets": {
                "before": cents_all(&o.before),
                "after": cents_all(&o.after),
                "worst": cents_all(&o.worst),
                "unsynced": cents_all(&o.unsynced),
                "spread": { "before": cents(o.spread[0]), "after": cents(o.spread[1]), "worst": cents(o.spread[2]) },
            },
            "claims": {
                "count": self.claims.len(),
                "outside_bound": self.violations.iter().filter(|v| v.monitor == "error bound").count(),
                "max_error": cents(self.errors().fold(0.0, f64::max)),
                "mean_error": cents(self.errors().sum::<f64>() / n),
                "mean_bound": cents(self.claims.iter().map(|g| g.claim.bound as f64).sum::<f64>() / n),
            },
            "min_delay": { "assumed": p.min_delay, "measured": self.measured_min_delay },
            "drift_bound_ppm": cents(p.drift * 1e6),
            "events_hash": format!("{:016x}", self.events_hash),
        })
    }

    /// Offsets per core before and after, the spread, the claims.
    pub fn table(&self) -> String {
        let o = &self.offsets;
        let p = &self.params;
        let mut s = format!(
            "cohsim app clock: {}, {} cores, {} rounds of {} cycles, {}, {}, seed {}\n\n",
            self.algo,
            self.cfg.cores,
            p.rounds,
            p.period,
            self.cfg.protocol.name().to_ascii_uppercase(),
            self.cfg.network.topology.name(),
            self.cfg.seed
        );
        s += "  offset from true time, cycles\n";
        s += "  core      before       after       worst    unsynced\n";
        for c in 0..o.before.len() {
            s += &format!(
                "  {c:>4} {:>11.1} {:>11.1} {:>11.1} {:>11.1}\n",
                o.before[c], o.after[c], o.worst[c], o.unsynced[c]
            );
        }
        s += &format!(
            "  spread {:>9.1} {:>11.1} {:>11.1}   (largest clock minus smallest)\n\n",
            o.spread[0], o.spread[1], o.spread[2]
        );
        let n = self.claims.len().max(1) as f64;
        s += &format!(
            "  claims: {}; error mean {:.1}, max {:.1}; stated bound mean {:.1}\n",
            self.claims.len(),
            self.errors().sum::<f64>() / n,
            self.errors().fold(0.0, f64::max),
            self.claims.iter().map(|g| g.claim.bound as f64).sum::<f64>() / n
        );
        let kinds: Vec<String> =
            tally(self.messages.iter().map(|m| m.kind)).into_iter().map(|(k, n)| format!("{k} {n}")).collect();
        s += &format!(
            "  software messages: {} ({}); coherence messages {}; cycles {}\n",
            self.messages.len(),
            kinds.join(", "),
            self.stats.msg_count.iter().sum::<u64>(),
            self.stats.cycles
        );
        let measured = self.measured_min_delay.map_or("none".to_string(), |m| m.to_string());
        s += &format!("  least one-way delay: assumed {}, measured {measured}\n", p.min_delay);
        s += &format!("  violations: {}\n", self.violations.len());
        s
    }

    /// `cycle,core,offset`: every `period / 4` cycles and at the end.
    pub fn csv(&self) -> String {
        let mut s = String::from("cycle,core,offset\n");
        for (t, offsets) in &self.offsets.samples {
            for (c, o) in offsets.iter().enumerate() {
                s += &format!("{t},{c},{o:.2}\n");
            }
        }
        s
    }
}
