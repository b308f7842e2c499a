//! A process's clock discipline: the latest reading, the corrections it has
//! asked of its clock (`OnCore::clock_request`), the claims it has made
//! (`OnCore::claim`), and whether a slew is still going on. Every algorithm's
//! state holds one; the runtime takes each new correction and claim once.
//!
//! A claim is graded after the handler's correction is applied, so a claim
//! made with a step states the residual: the estimate minus the step.

use crate::exec::actor::Claim;
use crate::exec::clock::Adjust;

use super::Params;

/// How a correction is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Jump by the whole correction, forwards or back (Cristian).
    Step,
    /// Slew at most `Params::slew_most`; the rest waits for the next round
    /// (Berkeley).
    Slew,
    /// Step the first correction if one slew cannot absorb it, slew ever
    /// after (NTP, PTP: monotonic once synchronised).
    StepFirst,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Discipline {
    /// The reading the current handler saw.
    pub now: u64,
    /// Corrections asked so far and the latest.
    pub adjusts: u32,
    pub adjust: Option<Adjust>,
    /// Claims made so far and the latest.
    pub claims: u32,
    pub claim: Option<Claim>,
    /// The sum of corrections made (each slew counted whole: it is over
    /// before the next measurement), and of their sizes.
    pub applied: i64,
    pub moved: u64,
    /// The reading from which no slew is going on.
    pub quiet_from: u64,
    /// The process made its first correction.
    pub synced: bool,
    /// The process has done its rounds.
    pub done: bool,
}

impl Discipline {
    /// A slew may still be going on.
    pub fn slewing(&self) -> bool {
        self.now < self.quiet_from
    }

    /// Corrects the clock by `by` cycles (the estimate of the reference minus
    /// the own clock) as `policy` says; returns the part stepped at once (0
    /// for a slew, which has not moved the clock yet when the claim is graded).
    pub fn correct(&mut self, p: &Params, by: i64, policy: Policy) -> i64 {
        let step = match policy {
            Policy::Step => true,
            Policy::Slew => false,
            Policy::StepFirst => !self.synced && by.abs() > p.slew_most(),
        };
        self.synced = true;
        let by = if step { by } else { by.clamp(-p.slew_most(), p.slew_most()) };
        if by == 0 {
            return 0;
        }
        self.adjusts += 1;
        self.applied += by;
        self.moved += by.unsigned_abs();
        if step {
            self.adjust = Some(Adjust::Step(by));
            by
        } else {
            let over = p.slew_over();
            self.adjust = Some(Adjust::Slew { by, over });
            // Over `over` true cycles this clock advances at most
            // `over * (1 + drift) + by` of its own (less when slewing back).
            let span = (over as f64 * (1.0 + p.drift)).ceil() as i64 + by + 2;
            self.quiet_from = self.now.saturating_add_signed(span);
            0
        }
    }

    /// States an estimate of `peer`'s clock minus this one, within `bound`.
    pub fn state(&mut self, peer: usize, offset: i64, bound: u64) {
        self.claims += 1;
        self.claim = Some(Claim { peer, offset, bound });
    }

    pub fn request(&self) -> Option<(u32, Adjust)> {
        self.adjust.map(|a| (self.adjusts, a))
    }

    pub fn claimed(&self) -> Option<(u32, Claim)> {
        self.claim.map(|c| (self.claims, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params { cores: 2, rounds: 4, period: 20_000, first: 20_000, min_delay: 14, drift: 50e-6, jitter: 0 }
    }

    #[test]
    fn step_first_steps_once_then_slews_a_quarter_period_at_most() {
        let p = params();
        let mut d = Discipline { now: 30_000, ..Discipline::default() };
        // Beyond one slew (5,000): the first correction steps, whole.
        assert_eq!(d.correct(&p, -12_000, Policy::StepFirst), -12_000);
        assert_eq!(d.request(), Some((1, Adjust::Step(-12_000))));
        // After it, never a step: 12,000 more is slewed 5,000 of it.
        assert_eq!(d.correct(&p, 12_000, Policy::StepFirst), 0);
        assert_eq!(d.request(), Some((2, Adjust::Slew { by: 5000, over: 10_000 })));
        assert_eq!((d.applied, d.moved), (-7000, 17_000));
        // The slew is over within 10,000 true cycles: 10,001 of this clock
        // (50 ppm fast) plus the 5,000 it gains, plus 2 for rounding.
        assert_eq!(d.quiet_from, 30_000 + 10_001 + 5000 + 2);
        assert!(d.slewing());
        // Nothing to correct: nothing asked.
        assert_eq!(d.correct(&p, 0, Policy::Slew), 0);
        assert_eq!(d.adjusts, 2);
    }
}
