//! Test-and-set: the simplest spin lock. A waiter swaps 1 into the lock word
//! until it gets 0 back; the holder stores 0 to release.
//!
//! **Guarantees** mutual exclusion (the swap is atomic: one core reads 0);
//! no fairness: whoever's swap reaches the line first wins.
//!
//! **Cost.** Every attempt is an atomic, so it needs the line in M: each spin
//! is a GetM that invalidates or takes the line from the last spinner. With `w`
//! waiters the line ping-pongs among them, and a hand-off costs messages that
//! grow with `w` (Anderson 1990).
//!
//! **Primitives**: the swap is a request-grant (1a) on the lock; the release
//! store gives authority back (5a, the line's owner sequences the hand-over).

use crate::exec::Ctx;

pub async fn acquire(ctx: &Ctx, word: u64) -> u64 {
    let mut tries = 0;
    loop {
        tries += 1;
        if ctx.swap(word, 1).await == 0 {
            return tries;
        }
    }
}

pub async fn release(ctx: &Ctx, word: u64) {
    ctx.store(word, 0).await;
}
