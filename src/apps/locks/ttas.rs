//! Test-and-test-and-set: spin reading the lock word (a hit in the waiter's
//! own S copy) until it reads 0, then try the swap; optionally back off
//! exponentially after a failed swap.
//!
//! **Guarantees** mutual exclusion (the swap decides); no fairness.
//!
//! **Cost.** Waiting is quiet (hits in S), but each release invalidates every
//! waiter's copy, and all of them re-read the line and race to swap it: a
//! hand-off still costs messages that grow with the number of waiters (the
//! invalidation fan-out, then a GetS and a GetM storm). Back-off spreads the
//! storm out in time without changing its size much.
//!
//! **Primitives**: request-grant (1a) for the swap, authority given back (5a)
//! by the release store.
//!
//! `broken_acquire` is the deliberately wrong variant the monitors must catch:
//! it "takes" the lock with a plain load and store instead of the atomic swap,
//! so two waiters can both see 0 and both enter.

use crate::exec::Ctx;
use crate::rng::SplitMix64;

/// Exponential back-off after a failed swap: from `min` cycles, doubling up to
/// `max`, each a random draw below the current ceiling (seeded per core).
#[derive(Clone, Debug)]
pub struct Backoff {
    pub min: u64,
    pub max: u64,
}

pub async fn acquire(ctx: &Ctx, word: u64, backoff: Option<&Backoff>, rng: &mut SplitMix64) -> u64 {
    let mut tries = 0;
    let mut ceiling = backoff.map_or(0, |b| b.min);
    loop {
        while ctx.load(word).await != 0 {}
        tries += 1;
        if ctx.swap(word, 1).await == 0 {
            return tries;
        }
        if let Some(b) = backoff {
            ctx.compute(1 + rng.below(ceiling.max(1))).await;
            ceiling = (ceiling * 2).min(b.max);
        }
    }
}

/// The broken variant: a plain load, then a plain store (not atomic).
pub async fn broken_acquire(ctx: &Ctx, word: u64) -> u64 {
    while ctx.load(word).await != 0 {}
    ctx.store(word, 1).await;
    1
}

pub async fn release(ctx: &Ctx, word: u64) {
    ctx.store(word, 0).await;
}
