//! MCS queue lock (Mellor-Crummey and Scott 1991): each core enqueues its own
//! queue node (a `locked` flag and a `next` pointer, on a line of its own) by
//! swapping it into `tail`, links itself behind its predecessor and spins on
//! its own flag; the holder releases by clearing its successor's flag, or, with
//! no successor, by swinging `tail` back to empty with compare-and-swap.
//!
//! **Guarantees** mutual exclusion and FIFO fairness.
//!
//! **Cost.** Each waiter spins on its own node, so a hand-off is one store to
//! one waiting core's line: a constant number of coherence messages, however
//! many wait. The price is the queue bookkeeping (a swap per acquire, a
//! compare-and-swap when the queue empties).
//!
//! **Primitives**: the swap on `tail` places the core in line, a centrally
//! generated order (4a); clearing the successor's flag hands authority to the
//! next waiter (5a).

use crate::exec::Ctx;

/// `node` is this core's queue node: `locked` at `node`, `next` at `node + 8`.
pub async fn acquire(ctx: &Ctx, tail: u64, node: u64) {
    ctx.store(node + 8, 0).await;
    ctx.store(node, 1).await;
    let pred = ctx.swap(tail, node).await;
    if pred != 0 {
        ctx.store(pred + 8, node).await;
        while ctx.load(node).await != 0 {}
    }
}

pub async fn release(ctx: &Ctx, tail: u64, node: u64) {
    let mut next = ctx.load(node + 8).await;
    if next == 0 {
        if ctx.compare_exchange(tail, node, 0).await == node {
            return;
        }
        // A successor swapped itself in but has not linked yet.
        loop {
            next = ctx.load(node + 8).await;
            if next != 0 {
                break;
            }
        }
    }
    ctx.store(next, 0).await;
}
