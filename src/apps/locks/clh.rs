//! CLH queue lock (Craig; Landin and Hagersten): each core marks its node
//! locked, swaps it into `tail` and spins on its predecessor's node until that
//! reads unlocked; it releases by unlocking its own node, and takes over its
//! predecessor's node for its next acquire (nodes travel down the queue).
//! `tail` starts at 0, standing for an unlocked node.
//!
//! **Guarantees** mutual exclusion and FIFO fairness.
//!
//! **Cost.** Each waiter spins on one node that only its predecessor writes: a
//! hand-off invalidates one copy and costs a constant number of messages. One
//! swap per acquire, no compare-and-swap on release.
//!
//! **Primitives**: the swap on `tail` is a centrally generated order (4a);
//! unlocking the node hands authority to the next waiter (5a).

use crate::exec::Ctx;

/// A core's CLH nodes: the one it will enqueue, and the predecessor it waits on.
#[derive(Clone, Copy, Debug)]
pub struct Nodes {
    pub mine: u64,
    pub pred: u64,
    /// A node of the core's own for when its predecessor was the initial
    /// (empty) tail, which has no node to take over.
    pub spare: u64,
}

pub async fn acquire(ctx: &Ctx, tail: u64, n: &mut Nodes) {
    ctx.store(n.mine, 1).await;
    n.pred = ctx.swap(tail, n.mine).await;
    if n.pred != 0 {
        while ctx.load(n.pred).await != 0 {}
    }
}

pub async fn release(ctx: &Ctx, n: &mut Nodes) {
    ctx.store(n.mine, 0).await;
    // The predecessor's node is free now (nobody else waits on it).
    if n.pred != 0 {
        n.mine = n.pred;
    } else {
        std::mem::swap(&mut n.mine, &mut n.spare);
    }
}
