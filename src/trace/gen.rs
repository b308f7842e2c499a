//! Synthetic traces: small, deterministic access patterns that each produce
//! one well-known kind of sharing, for tests, demos and protocol comparisons.
//!
//! `generate(pattern, cores, ops_per_core, seed, line_size)` returns exactly
//! `ops_per_core` records per core, the same for the same arguments on every
//! machine (integer arithmetic only, one [`SplitMix64`] per core seeded from
//! `seed` and the core number). Accesses are 8-byte words, aligned; every
//! record has a small compute gap (0–7 cycles) in front of it; writes carry no
//! value (the replayer makes unique ones up).
//!
//! Memory map: shared data lives at [`SHARED_BASE`], core `c`'s private data
//! at `PRIVATE_BASE + c · 16 MiB`; addresses are derived from `line_size` so a
//! pattern means the same thing for any line size.

use std::fmt;
use std::str::FromStr;

use super::{Record, TraceOp};
pub use crate::rng::SplitMix64;

pub const SHARED_BASE: u64 = 0x1000_0000;
pub const PRIVATE_BASE: u64 = 0x4000_0000;
const PRIVATE_STRIDE: u64 = 0x100_0000;
const WORD: u64 = 8;

/// The sharing patterns `generate` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    Private,
    ProducerConsumer,
    Migratory,
    FalseSharing,
    ReadMostlyShared,
    UniformRandom,
    Zipf,
}

impl Pattern {
    pub const ALL: [Pattern; 7] = [
        Pattern::Private,
        Pattern::ProducerConsumer,
        Pattern::Migratory,
        Pattern::FalseSharing,
        Pattern::ReadMostlyShared,
        Pattern::UniformRandom,
        Pattern::Zipf,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::Private => "private",
            Pattern::ProducerConsumer => "producer-consumer",
            Pattern::Migratory => "migratory",
            Pattern::FalseSharing => "false-sharing",
            Pattern::ReadMostlyShared => "read-mostly-shared",
            Pattern::UniformRandom => "uniform-random",
            Pattern::Zipf => "zipf",
        }
    }

    /// What the pattern does and which sharing it produces.
    pub fn description(self) -> &'static str {
        match self {
            Pattern::Private => {
                "each core reads (70%) and writes words of its own 64-line region: \
                 no sharing, so only cold misses and E→M upgrades"
            }
            Pattern::ProducerConsumer => {
                "cores pair up (0→1, 2→3, …): the producer writes a 16-line ring slot \
                 then a flag line, the consumer reads the flag then the slot: \
                 written lines are read by one other core (M→S downgrades, invalidations)"
            }
            Pattern::Migratory => {
                "every core does read-then-write of one of 4 shared lines, picked at \
                 random: lines migrate from core to core, each visit a read miss \
                 followed by an upgrade"
            }
            Pattern::FalseSharing => {
                "each core mostly writes (80%) its own word of 4 shared lines: no \
                 word is shared, yet the lines ping-pong between writers"
            }
            Pattern::ReadMostlyShared => {
                "all cores read a 256-line shared table, 5% of accesses write it: \
                 many sharers, occasional invalidation storms"
            }
            Pattern::UniformRandom => {
                "uniformly random words of a 1024-line shared region, 30% writes: \
                 unstructured sharing, the protocol-neutral baseline"
            }
            Pattern::Zipf => {
                "words of a 1024-line shared region with Zipf(1) line popularity, \
                 30% writes: a few hot, heavily contended lines and a long cold tail"
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown pattern \"{0}\" (known: private, producer-consumer, migratory, false-sharing, read-mostly-shared, uniform-random, zipf)"
)]
pub struct UnknownPattern(pub String);

impl FromStr for Pattern {
    type Err = UnknownPattern;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownPattern(s.to_string()))
    }
}

/// `ops_per_core` records for each of `cores` cores (see the module docs).
/// `line_size` is in bytes; values below 8 are treated as 8.
pub fn generate(pattern: Pattern, cores: usize, ops_per_core: usize, seed: u64, line_size: u32) -> Vec<Vec<Record>> {
    let line = u64::from(line_size.max(WORD as u32));
    let zipf = (pattern == Pattern::Zipf).then(|| Zipf::new(1024));
    (0..cores)
        .map(|core| {
            let seed = seed ^ (core as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03);
            let mut g =
                Gen { rng: SplitMix64::new(seed), out: Vec::with_capacity(ops_per_core), line, core: core as u64 };
            let mut i = 0u64;
            while g.out.len() < ops_per_core {
                g.step(pattern, i, zipf.as_ref());
                i += 1;
            }
            g.out.truncate(ops_per_core);
            g.out
        })
        .collect()
}

struct Gen {
    rng: SplitMix64,
    out: Vec<Record>,
    line: u64,
    core: u64,
}

impl Gen {
    fn push(&mut self, op: TraceOp, addr: u64) {
        let gap = self.rng.below(8);
        self.out.push(Record::access(op, addr, WORD as u32, gap));
    }

    fn rw(&mut self, write_percent: u64) -> TraceOp {
        if self.rng.percent(write_percent) { TraceOp::Write } else { TraceOp::Read }
    }

    /// A random word of line `n` of the region at `base`.
    fn word(&mut self, base: u64, n: u64) -> u64 {
        base + n * self.line + self.rng.below(self.line / WORD) * WORD
    }

    /// The `i`-th step of a core's pattern: one or two records.
    fn step(&mut self, pattern: Pattern, i: u64, zipf: Option<&Zipf>) {
        let (core, line) = (self.core, self.line);
        match pattern {
            Pattern::Private => {
                let op = self.rw(30);
                let n = self.rng.below(64);
                let a = self.word(PRIVATE_BASE + core * PRIVATE_STRIDE, n);
                self.push(op, a);
            }
            Pattern::ProducerConsumer => {
                // Pair p owns a 16-line ring and a flag line after it.
                let pair_base = SHARED_BASE + (core / 2) * 17 * line;
                let slot = pair_base + (i % 16) * line;
                let flag = pair_base + 16 * line;
                if core % 2 == 0 {
                    self.push(TraceOp::Write, slot);
                    self.push(TraceOp::Write, flag);
                } else {
                    self.push(TraceOp::Read, flag);
                    self.push(TraceOp::Read, slot);
                }
            }
            Pattern::Migratory => {
                let a = SHARED_BASE + self.rng.below(4) * line;
                self.push(TraceOp::Read, a);
                self.push(TraceOp::Write, a);
            }
            Pattern::FalseSharing => {
                let words = line / WORD;
                let group = core / words; // more cores than words: next lines
                let n = self.rng.below(4);
                let a = SHARED_BASE + (group * 4 + n) * line + (core % words) * WORD;
                let op = self.rw(80);
                self.push(op, a);
            }
            Pattern::ReadMostlyShared => {
                let op = self.rw(5);
                let n = self.rng.below(256);
                let a = self.word(SHARED_BASE, n);
                self.push(op, a);
            }
            Pattern::UniformRandom => {
                let op = self.rw(30);
                let n = self.rng.below(1024);
                let a = self.word(SHARED_BASE, n);
                self.push(op, a);
            }
            Pattern::Zipf => {
                let op = self.rw(30);
                let n = zipf.map_or(0, |z| z.sample(&mut self.rng));
                let a = self.word(SHARED_BASE, n);
                self.push(op, a);
            }
        }
    }
}

/// Zipf(1) over `0..n` by inverse CDF on integer weights ⌊2³²/(k+1)⌋, so
/// sampling is exact integer arithmetic (no `powf`, identical everywhere).
struct Zipf {
    cumulative: Vec<u64>,
}

impl Zipf {
    fn new(n: u64) -> Self {
        let mut total = 0;
        let cumulative = (0..n)
            .map(|k| {
                total += (1u64 << 32) / (k + 1);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let u = rng.below(total);
        self.cumulative.partition_point(|&c| c <= u) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_exact_length_and_seed_sensitive() {
        for p in Pattern::ALL {
            let a = generate(p, 3, 101, 7, 64);
            assert_eq!(a, generate(p, 3, 101, 7, 64), "{p}");
            assert!(a.iter().all(|c| c.len() == 101), "{p}");
            assert!(a.iter().flatten().all(|r| r.addr % 8 == 0 && r.size == 8 && r.gap < 8));
            if p != Pattern::ProducerConsumer {
                assert_ne!(a, generate(p, 3, 101, 8, 64), "{p}");
            }
        }
    }

    #[test]
    fn pinned_first_records() {
        // Changing these changes every sample trace in traces/: regenerate them.
        let t = generate(Pattern::Migratory, 2, 2, 1, 64);
        assert_eq!(t[0][0].op, Some(TraceOp::Read));
        assert_eq!(t[0][1].op, Some(TraceOp::Write));
        assert_eq!(t[0][0].addr, t[0][1].addr);
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn sharing_shapes() {
        let fs = generate(Pattern::FalseSharing, 4, 200, 1, 64);
        for (c, recs) in fs.iter().enumerate() {
            assert!(recs.iter().all(|r| r.addr % 64 == c as u64 * 8));
        }
        let private = generate(Pattern::Private, 2, 200, 1, 64);
        let lines = |c: usize| private[c].iter().map(|r| r.addr / 64).collect::<Vec<_>>();
        assert!(lines(0).iter().all(|l| !lines(1).contains(l)));
        let z = generate(Pattern::Zipf, 1, 5000, 1, 64);
        let hot = z[0].iter().filter(|r| (r.addr - SHARED_BASE) / 64 == 0).count();
        assert!(hot > 400, "line 0 should be hottest: {hot}");
        assert_eq!("Zipf".parse::<Pattern>().unwrap(), Pattern::Zipf);
        assert!("nope".parse::<Pattern>().is_err());
    }
}
