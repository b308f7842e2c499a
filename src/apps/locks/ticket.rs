//! Ticket lock: take a ticket with fetch-and-add on `next`, wait until
//! `serving` shows it, release by storing the next ticket into `serving`.
//!
//! **Guarantees** mutual exclusion and FIFO fairness (tickets are served in
//! order).
//!
//! **Cost.** One atomic per acquire, then waiting is quiet (hits on `serving`
//! in S). But every release writes `serving`, invalidating every waiter, and
//! all of them re-read it to see whose turn it is: a hand-off costs messages
//! that grow with the number of waiters, though only one of them proceeds.
//!
//! **Primitives**: the ticket is a centrally generated monotonic ordering token
//! (4a: one counter issues the numbers); the release store hands authority to
//! the next ticket (5a).

use crate::exec::Ctx;

/// Acquires; returns the ticket, which the release needs.
pub async fn acquire(ctx: &Ctx, next: u64, serving: u64) -> u64 {
    let mine = ctx.fetch_add(next, 1).await;
    while ctx.load(serving).await != mine {}
    mine
}

pub async fn release(ctx: &Ctx, serving: u64, mine: u64) {
    ctx.store(serving, mine + 1).await;
}
