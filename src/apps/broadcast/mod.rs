//! Ordered broadcast by message passing on the simulated cores: every
//! process broadcasts `casts` messages, each as N − 1 individual sends
//! through the mailbox rings (there is no hardware multicast: the fan-out is
//! the cost), and each receiver decides when a message it *received* may be
//! *delivered* to the application. Between the two sits a hold-back queue;
//! the rule that empties it is the ordering guarantee.
//!
//! | order   | guarantee                                   | stamp on a message            | messages per broadcast |
//! |---------|---------------------------------------------|-------------------------------|------------------------|
//! | fifo    | one sender's messages in its sending order  | per-sender sequence number    | N − 1                  |
//! | causal  | m → m' ⇒ m delivered before m' everywhere   | vector clock (N words)        | N − 1                  |
//! | total   | one delivery order at every process, causal | sequence number; global number| 2(N − 1), N − 1 at p0  |
//!
//! The three, and a deliberately broken variant of each, are one actor
//! (`actor::Broadcast`), model-checked by stateright (`check`) and run timed
//! on the cores (`run`); `monitor` grades the delivery logs of both worlds.
//! See `actor` for the algorithms and `monitor` for what "→" means here.

pub mod actor;
pub mod check;
pub mod monitor;
pub mod run;

pub use actor::{Broadcast, Order};
pub use run::{BroadcastReport, BroadcastRun};
