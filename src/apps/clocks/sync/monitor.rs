//! The monitors of a synchronisation run, graded against what only the
//! simulator knows.
//!
//! - **error bound**: every claim ("peer's clock minus mine is `offset`,
//!   within `bound`") holds against the truth at the cycle it was made:
//!   Cristian's and the Berkeley master's round-trip bound, NTP's δ/2, PTP's
//!   causal interval (each with its reads' error and drift terms).
//! - **monotonic clock**: where the algorithm promises it, a core's clock
//!   never reads less later than earlier. The clock's own value (not a
//!   read: jitter moves reads, not clocks) is compared at consecutive
//!   instants: the cycle of every message a core sent or took and of every
//!   claim (where corrections happen), the cycle before each, and a grid of
//!   `GRID` cycles; a step back at a handler is caught whatever its size,
//!   anywhere else if it is more than `GRID` cycles.
//! - **min delay**: the least one-way delay the algorithms assume is at most
//!   the least one measured (send to take, which is within read to read).

use crate::exec::actor::{GradedClaim, SwMessage};
use crate::exec::clock::Clock;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// Cycles between the monotonic monitor's samples away from handlers.
pub const GRID: Cycle = 32;

/// Every claim whose error exceeds its stated bound.
pub fn bounds(claims: &[GradedClaim]) -> Vec<Finding> {
    claims
        .iter()
        .filter(|g| (g.truth - g.claim.offset as f64).abs() > g.claim.bound as f64)
        .map(|g| Finding {
            monitor: "error bound",
            cycle: g.at,
            cores: vec![g.core, g.claim.peer],
            what: format!(
                "core {} at cycle {} claimed core {}'s clock is {:+} from its own within {}, but it is {:+.1} \
                 (off by {:.1})",
                g.core,
                g.at,
                g.claim.peer,
                g.claim.offset,
                g.claim.bound,
                g.truth,
                (g.truth - g.claim.offset as f64).abs()
            ),
        })
        .collect()
}

/// The instants the monotonic monitor compares a core's clock at (per core).
pub fn instants(messages: &[SwMessage], claims: &[GradedClaim], end: Cycle) -> Vec<Vec<Cycle>> {
    let cores = messages.iter().map(|m| m.from.max(m.to) + 1).chain(claims.iter().map(|g| g.core + 1)).max();
    let mut at = vec![Vec::new(); cores.unwrap_or(0)];
    for m in messages {
        at[m.from].push(m.sent_at);
        at[m.to].extend(m.received.iter().map(|r| r.at));
    }
    for g in claims {
        at[g.core].push(g.at);
    }
    for list in &mut at {
        let handlers: Vec<Cycle> = list.iter().flat_map(|&t| [t.saturating_sub(1), t]).collect();
        *list = handlers.into_iter().chain((0..=end / GRID).map(|k| k * GRID)).chain([end]).collect();
        list.sort_unstable();
        list.dedup();
    }
    at
}

/// Each core whose clock reads less at a later instant (from `promised[c]`
/// on; `None`: no promise). One finding per backward jump.
pub fn monotonic(clocks: &[Clock], promised: &[Option<Cycle>], instants: &[Vec<Cycle>]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (c, clock) in clocks.iter().enumerate() {
        let (Some(from), Some(at)) = (promised[c], instants.get(c)) else { continue };
        let mut last: Option<(Cycle, f64)> = None;
        for &t in at.iter().filter(|&&t| t >= from) {
            let v = clock.at(t);
            if let Some((t0, v0)) = last
                && v < v0
            {
                found.push(Finding {
                    monitor: "monotonic clock",
                    cycle: t,
                    cores: vec![c],
                    what: format!(
                        "core {c}'s clock ran backwards: {v0:.1} at cycle {t0}, {v:.1} at cycle {t} ({:.1} back)",
                        v0 - v
                    ),
                });
            }
            last = Some((t, v));
        }
    }
    found
}

/// The least delay from a message's send to its first take, over every
/// message taken.
pub fn least_delay(messages: &[SwMessage]) -> Option<Cycle> {
    messages.iter().filter_map(|m| m.received.first().map(|r| r.at - m.sent_at - m.delay)).min()
}

/// The assumed least delay against the measured one.
pub fn min_delay(assumed: Cycle, measured: Option<Cycle>) -> Option<Finding> {
    let measured = measured?;
    (assumed > measured).then(|| Finding {
        monitor: "min delay",
        cycle: 0,
        cores: Vec::new(),
        what: format!(
            "the algorithms assume no message arrives in under {assumed} cycles, but one took {measured}: \
             Cristian's bound is unsound"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::actor::Claim;
    use crate::exec::clock::{Adjust, ClockSpec};

    #[test]
    fn a_claim_outside_its_bound_is_found() {
        let claim =
            |offset, bound, truth| GradedClaim { core: 1, at: 10, claim: Claim { peer: 0, offset, bound }, truth };
        assert!(bounds(&[claim(100, 20, 115.0), claim(100, 20, 80.0)]).is_empty());
        let f = bounds(&[claim(100, 20, 121.0)]);
        assert_eq!((f.len(), f[0].cores.clone()), (1, vec![1, 0]));
    }

    #[test]
    fn a_step_back_is_found_and_a_slew_is_not() {
        let mut stepped = Clock::new(ClockSpec::default(), 1);
        stepped.adjust(500, Adjust::Step(-10));
        let mut slewed = Clock::new(ClockSpec::default(), 1);
        slewed.adjust(500, Adjust::Slew { by: -400, over: 1000 });
        let at = vec![vec![0, 499, 500, 1000, 2000]; 2];
        let f = monotonic(&[stepped.clone(), slewed], &[Some(0), Some(0)], &at);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].cycle, f[0].cores.clone()), (500, vec![0]));
        // Promised only after the step: nothing to find.
        assert!(monotonic(&[stepped], &[Some(500)], &at[..1]).is_empty());
    }
}
