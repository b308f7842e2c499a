//! Each core's physical clock: what software reads as "the time", against the
//! true time (the cycle count) the simulator alone knows. A clock has an
//! offset, a drift rate in parts per million and an optional read jitter, and
//! software may adjust it: a step (the reading jumps, possibly backwards) or a
//! slew (the rate changes until a correction is absorbed, so the reading never
//! runs backwards). Every adjustment is kept, so the offset at any true time
//! can be read back afterwards for grading (`offset_at`).
//!
//! A clock's reading at true time `t` is `base_reading + (t - base_t) * rate`,
//! with `rate = (1 + drift) * (1 + slew)`; an adjustment starts a new segment.
//! Readings are whole cycles of the clock's own time, rounded down, plus the
//! read's jitter (a seeded draw in `0..=jitter`): jitter never moves the clock
//! itself, only what one read returns.

use crate::model::network::Cycle;
use crate::rng::SplitMix64;

/// How a core's clock is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockSpec {
    /// The reading at true time 0.
    pub offset: i64,
    /// Drift in parts per million (positive: the clock runs fast).
    pub drift_ppm: f64,
    /// Up to this many cycles added to each read.
    pub jitter: u64,
}

impl Default for ClockSpec {
    fn default() -> Self {
        ClockSpec { offset: 0, drift_ppm: 0.0, jitter: 0 }
    }
}

/// The largest drift a spec may give, in ppm (a 10% clock is broken hardware,
/// not drift).
pub const MAX_DRIFT_PPM: f64 = 100_000.0;

impl ClockSpec {
    /// `cores` specs spread by a seed: offsets uniform in `-skew..=skew`,
    /// drifts uniform in `-drift_ppm..=drift_ppm`, the same jitter for all.
    pub fn spread(cores: usize, skew: u64, drift_ppm: f64, jitter: u64, seed: u64) -> Result<Vec<ClockSpec>, String> {
        if !drift_ppm.is_finite() || !(0.0..=MAX_DRIFT_PPM).contains(&drift_ppm) {
            return Err(format!(
                "a drift of {drift_ppm} ppm is outside 0..={MAX_DRIFT_PPM} (a spread: each core gets -D..=D)"
            ));
        }
        if skew > 1 << 40 {
            return Err(format!("a skew of {skew} cycles is absurd (at most 2^40)"));
        }
        let mut rng = SplitMix64::new(seed ^ 0xc10c_c10c_c10c_c10c);
        Ok((0..cores)
            .map(|_| {
                let offset = rng.below(2 * skew + 1) as i64 - skew as i64;
                let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                ClockSpec { offset, drift_ppm: (2.0 * unit - 1.0) * drift_ppm, jitter }
            })
            .collect())
    }
}

/// A correction software asks of its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Adjust {
    /// Add this many cycles to the reading at once (negative: back).
    Step(i64),
    /// Absorb this correction over `over` cycles of true time by running
    /// faster or slower (never backwards: the rate change is capped at 50%).
    Slew { by: i64, over: u64 },
}

/// One segment of a clock's life: from true time `since`, the reading is
/// `reading + (t - since) * rate`, until `until` (then the base rate again).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    since: Cycle,
    reading: f64,
    rate: f64,
    /// A slew's end, after which the clock runs at its own rate again.
    until: Option<Cycle>,
}

/// A core's clock over a run.
#[derive(Clone, Debug)]
pub struct Clock {
    spec: ClockSpec,
    segments: Vec<Segment>,
    rng: SplitMix64,
}

impl Clock {
    pub fn new(spec: ClockSpec, seed: u64) -> Clock {
        let rate = 1.0 + spec.drift_ppm * 1e-6;
        Clock {
            spec,
            segments: vec![Segment { since: 0, reading: spec.offset as f64, rate, until: None }],
            rng: SplitMix64::new(seed),
        }
    }

    pub fn spec(&self) -> ClockSpec {
        self.spec
    }

    fn own_rate(&self) -> f64 {
        1.0 + self.spec.drift_ppm * 1e-6
    }

    /// The clock's exact value at true time `t` (no jitter).
    pub fn at(&self, t: Cycle) -> f64 {
        let i = self.segments.partition_point(|s| s.since <= t).max(1) - 1;
        let s = self.segments[i];
        match s.until {
            Some(end) if t > end => s.reading + (end - s.since) as f64 * s.rate + (t - end) as f64 * self.own_rate(),
            _ => s.reading + t.saturating_sub(s.since) as f64 * s.rate,
        }
    }

    /// The clock's offset from true time at `t`, in cycles.
    pub fn offset_at(&self, t: Cycle) -> f64 {
        self.at(t) - t as f64
    }

    /// One read at true time `t`: the value rounded down, plus jitter, never
    /// below 0.
    pub fn read(&mut self, t: Cycle) -> u64 {
        let jitter = if self.spec.jitter > 0 { self.rng.below(self.spec.jitter + 1) } else { 0 };
        (self.at(t).max(0.0) as u64).saturating_add(jitter)
    }

    /// Applies `adjust` at true time `t` (not before the last adjustment).
    pub fn adjust(&mut self, t: Cycle, adjust: Adjust) {
        let t = t.max(self.segments.last().map_or(0, |s| s.since));
        let now = self.at(t);
        let own = self.own_rate();
        let segment = match adjust {
            Adjust::Step(by) => Segment { since: t, reading: now + by as f64, rate: own, until: None },
            Adjust::Slew { by, over } => {
                let over = over.max(1);
                // Capped so the clock never runs backwards nor twice as fast.
                let extra = (by as f64 / over as f64).clamp(-0.5, 0.5);
                Segment { since: t, reading: now, rate: own + extra, until: Some(t.saturating_add(over)) }
            }
        };
        self.segments.push(segment);
    }

    /// The adjustments so far (how many segments past the first).
    pub fn adjustments(&self) -> usize {
        self.segments.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drifting_clock_gains_its_ppm() {
        // 100 ppm fast from offset -50: after 1,000,000 cycles it reads
        // 1,000,000 + 100 - 50 = 1,000,050.
        let c = Clock::new(ClockSpec { offset: -50, drift_ppm: 100.0, jitter: 0 }, 1);
        assert_eq!(c.at(1_000_000).round() as i64, 1_000_050);
        assert_eq!(c.offset_at(0), -50.0);
    }

    #[test]
    fn steps_jump_and_slews_glide_without_running_backwards() {
        let mut c = Clock::new(ClockSpec::default(), 1);
        c.adjust(1000, Adjust::Step(-300));
        assert_eq!(c.at(1000), 700.0, "a step back: the reading jumps back 300");
        assert_eq!(c.at(2000), 1700.0);
        // A slew of -400 over 1,000 cycles: the clock runs at 0.6 for 1,000
        // cycles, then at 1 again; it ends 400 behind where it would be.
        let mut s = Clock::new(ClockSpec::default(), 1);
        s.adjust(1000, Adjust::Slew { by: -400, over: 1000 });
        assert_eq!(s.at(1500), 1300.0);
        assert_eq!(s.at(2000), 1600.0);
        assert_eq!(s.at(3000), 2600.0);
        let mut last = 0.0;
        for t in (0..4000).step_by(7) {
            assert!(s.at(t) >= last, "monotonic at {t}");
            last = s.at(t);
        }
        // A slew larger than half its span is capped at half the rate.
        let mut big = Clock::new(ClockSpec::default(), 1);
        big.adjust(0, Adjust::Slew { by: -5000, over: 1000 });
        assert_eq!(big.at(1000), 500.0);
    }

    #[test]
    fn jitter_moves_reads_not_the_clock() {
        let mut c = Clock::new(ClockSpec { offset: 0, drift_ppm: 0.0, jitter: 5 }, 3);
        let reads: Vec<u64> = (0..100).map(|_| c.read(1000)).collect();
        assert!(reads.iter().all(|r| (1000..=1005).contains(r)));
        assert!(reads.iter().any(|&r| r != 1000));
        assert_eq!(c.at(1000), 1000.0);
    }

    #[test]
    fn spreads_are_seeded_and_bounded() {
        let a = ClockSpec::spread(8, 1000, 50.0, 0, 7).unwrap();
        assert_eq!(a, ClockSpec::spread(8, 1000, 50.0, 0, 7).unwrap());
        assert!(a.iter().all(|s| s.offset.abs() <= 1000 && s.drift_ppm.abs() <= 50.0));
        assert!(ClockSpec::spread(2, 0, -1.0, 0, 1).unwrap_err().contains("-1 ppm"));
        assert!(ClockSpec::spread(2, 0, 1e9, 0, 1).is_err());
        assert!(ClockSpec::spread(2, 0, f64::NAN, 0, 1).is_err());
    }
}
