//! Anderson's array-based queue lock (Anderson 1990): a fetch-and-add on
//! `tail` gives each waiter a slot in an array of flags, one per line; a waiter
//! spins on its own slot, and the holder releases by writing the next slot.
//!
//! Here slot `t mod n` may enter when it holds `t` (the ticket), so the array
//! needs no initialisation: slot 0 starts at 0, ticket 0's value, and every
//! other slot holds a value no waiter there expects yet.
//!
//! **Guarantees** mutual exclusion and FIFO fairness, for at most `n`
//! concurrent waiters (`n` = the number of cores).
//!
//! **Cost.** Each waiter spins on a line of its own, so a release invalidates
//! one copy (the next waiter's) and one waiter misses: a hand-off costs a
//! constant number of messages, however many wait.
//!
//! **Primitives**: the slot number is a centrally generated ordering token
//! (4a); the release hands authority straight to the next waiter (5a).

use crate::exec::Ctx;

/// Acquires; returns the ticket, which the release needs.
pub async fn acquire(ctx: &Ctx, tail: u64, slots: u64, n: u64, line: u64) -> u64 {
    let mine = ctx.fetch_add(tail, 1).await;
    let slot = slots + (mine % n) * line;
    while ctx.load(slot).await != mine {}
    mine
}

pub async fn release(ctx: &Ctx, slots: u64, n: u64, line: u64, mine: u64) {
    let next = mine + 1;
    ctx.store(slots + (next % n) * line, next).await;
}
