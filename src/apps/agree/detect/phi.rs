//! The phi accrual failure detector's estimate (Hayashibara, Défago,
//! Yared and Katayama 2004, "The φ Accrual Failure Detector"). A monitor
//! keeps, per monitored process, a sliding window of the last `WINDOW`
//! inter-arrival times of its heartbeats (in the monitor's clock), and
//! treats the next inter-arrival as normally distributed with the window's
//! mean μ and standard deviation σ. After `t` cycles of silence since the
//! last arrival its suspicion level is
//!
//! ```text
//! φ(t) = −log10 P_later(t),   P_later(t) = 1 − F(t) = Q((t − μ) / σ)
//! ```
//!
//! where `Q` is the normal distribution's upper tail. φ = 1 means a 10 %
//! chance that a heartbeat this late still comes, φ = 8 one in 10⁸. The
//! application picks a threshold θ and suspects when φ ≥ θ.
//!
//! **How cohsim evaluates it.** φ grows with `t`, so φ ≥ θ exactly when
//! `t ≥ μ + σ·z(θ)`, with `z(θ)` the point where the normal tail is
//! `10^−θ`. The monitor computes that crossing time at each arrival and arms
//! a timer for it, one per threshold: several thresholds are evaluated at
//! once over the same arrivals, and no periodic polling of φ is needed (the
//! timer fires at the cycle φ would be seen to cross). The tail `Q` is the
//! normal's own, through `erfc` computed in logs (`ln_q`); `z(θ)` inverts
//! φ by bisection (within 0.001 of the tabulated normal quantiles for
//! θ = 1, 3, 8: see the tests). The logistic approximation some
//! implementations use instead is close at θ = 1 but puts θ = 8 at 5.23 σ
//! instead of 5.61 σ: it suspects too early in the tail.
//!
//! **Guards.** σ is at least `min_sigma` (a simulator's heartbeats are so
//! regular that σ → 0 would make φ jump to infinity a few cycles after the
//! mean, and every late heartbeat a suspicion); before a process's second
//! heartbeat there is no inter-arrival yet, and the estimate is the
//! bootstrap one, μ = the heartbeat period, σ = `min_sigma`.

use std::collections::VecDeque;

/// Inter-arrival samples kept per monitored process (the paper's window).
pub const WINDOW: usize = 16;

/// `ln Q(y)`, the natural log of the standard normal's upper tail, kept
/// in logs so that φ stays finite far into the tail. `Q(y) = erfc(y/√2)/2`;
/// `erfc(x)` by its Taylor series of `erf` below `x = 2` (alternating terms
/// of at most `e^{x²} ≈ 55`: no precision lost that matters) and above by
/// the continued fraction `erfc(x) = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + ³⁄₂/(x + …))))`,
/// evaluated backwards from 80 terms (it converges fast for `x ≥ 2`).
fn ln_q(y: f64) -> f64 {
    let x = y.abs() / std::f64::consts::SQRT_2;
    let ln_erfc = if x < 2.0 {
        let (mut term, mut sum) = (x, x);
        for n in 1..60 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        (1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum).ln()
    } else {
        let mut k = x;
        for n in (1..=80).rev() {
            k = x + (n as f64 / 2.0) / k;
        }
        -x * x - (std::f64::consts::PI.sqrt() * k).ln()
    };
    let ln_tail = ln_erfc - std::f64::consts::LN_2;
    if y >= 0.0 { ln_tail } else { (-ln_tail.exp()).ln_1p() }
}

/// φ after `y` standard deviations past the mean: `−log10 Q(y)`.
pub fn phi_of(y: f64) -> f64 {
    -ln_q(y) / std::f64::consts::LN_10
}

/// `z(θ)`: the standard deviations past the mean at which φ reaches θ
/// (θ > 0); φ grows with `y`, so bisection converges.
pub fn z_of(theta: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0, 40.0);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if phi_of(mid) < theta { lo = mid } else { hi = mid }
    }
    hi
}

/// The estimate of the next inter-arrival: (μ, σ) in cycles.
pub fn estimate(window: &VecDeque<u64>, period: u64, min_sigma: u64) -> (f64, f64) {
    if window.is_empty() {
        return (period as f64, min_sigma as f64);
    }
    let n = window.len() as f64;
    let mean = window.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = window.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt().max(min_sigma as f64))
}

/// Cycles of silence after the last arrival at which φ reaches the
/// threshold whose `z` is given (`z_of(θ)`).
pub fn crossing(window: &VecDeque<u64>, period: u64, min_sigma: u64, z: f64) -> u64 {
    let (mean, sigma) = estimate(window, period, min_sigma);
    (mean + sigma * z).max(1.0).ceil() as u64
}

/// φ after `silence` cycles since the last arrival.
pub fn phi(window: &VecDeque<u64>, period: u64, min_sigma: u64, silence: u64) -> f64 {
    let (mean, sigma) = estimate(window, period, min_sigma);
    phi_of((silence as f64 - mean) / sigma)
}

/// Adds one inter-arrival to `window`, dropping the oldest past `WINDOW`.
pub fn record(window: &mut VecDeque<u64>, gap: u64) {
    if window.len() == WINDOW {
        window.pop_front();
    }
    window.push_back(gap);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_points_match_the_normal_quantiles() {
        // Upper-tail quantiles of the standard normal: Q(1.2816) = 10^-1,
        // Q(3.0902) = 10^-3, Q(5.6120) = 10^-8.
        for (theta, z) in [(1.0, 1.2816), (3.0, 3.0902), (8.0, 5.6120)] {
            let got = z_of(theta);
            assert!((got - z).abs() < 0.001, "z({theta}) = {got}, the normal's is {z}");
            // And φ at that point is θ again.
            assert!((phi_of(got) - theta).abs() < 1e-6, "φ(z({theta})) = {}", phi_of(got));
        }
        // At the mean, Q = 1/2: φ = log10 2; a standard deviation early,
        // Q(−1) = 0.8413: φ = 0.0750; far out, finite and growing.
        assert!((phi_of(0.0) - 2f64.log10()).abs() < 1e-9);
        assert!((phi_of(-1.0) - 0.0750).abs() < 1e-4, "{}", phi_of(-1.0));
        assert!(phi_of(40.0).is_finite() && phi_of(40.0) > phi_of(30.0));
    }

    #[test]
    fn phi_grows_with_silence_and_the_timer_fires_at_the_crossing() {
        let w: VecDeque<u64> = [1000, 1100, 900, 1000].into_iter().collect();
        // μ = 1000, σ = sqrt((0 + 100² + 100² + 0) / 4) = 70.7 → 250 (the floor).
        assert_eq!(estimate(&w, 1000, 250), (1000.0, 250.0));
        let at = crossing(&w, 1000, 250, z_of(3.0));
        // 1000 + 250 × 3.09 ≈ 1773.
        assert!((1760..=1785).contains(&at), "{at}");
        assert!(phi(&w, 1000, 250, at) >= 3.0 - 1e-6);
        assert!(phi(&w, 1000, 250, at - 5) < 3.0);
        assert!(phi(&w, 1000, 250, 500) < phi(&w, 1000, 250, 1500));
        // No sample yet: the bootstrap estimate.
        assert_eq!(estimate(&VecDeque::new(), 800, 200), (800.0, 200.0));
    }

    #[test]
    fn the_window_slides() {
        let mut w = VecDeque::new();
        for k in 0..(WINDOW as u64 + 3) {
            record(&mut w, k);
        }
        assert_eq!(w.len(), WINDOW);
        assert_eq!(w.front(), Some(&3));
    }
}
