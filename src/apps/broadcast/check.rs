//! The untimed world: the broadcast actors model-checked by stateright on
//! unordered, non-duplicating channels (any message in flight may arrive
//! next, as the delay faults allow on the cores), for small configurations:
//! 3 processes with 1 broadcast each, 2 processes with 2 each (3 with 2 each
//! does not fit in memory: the logs are part of the state). A timer (a broadcast) may fire at any
//! moment, so every interleaving of casts and receipts is explored.
//!
//! Properties, from `monitor` on the processes' logs (kept in the state):
//! - `always` integrity and FIFO delivery, for every order;
//! - `always` causal delivery, for causal and total;
//! - `always` total order, for total;
//! - `eventually` every message delivered everywhere. Every step consumes a
//!   timer or a message and the workload is bounded, so every path ends in a
//!   terminal state: the `eventually` is a real proof on this configuration.
//!
//! The logs make the states histories; that is what the properties need,
//! and the counts stay small (pinned in `tests/broadcast.rs`).

use stateright::actor::{ActorModel, ActorModelState, Network};
use stateright::{Checker, Expectation, Model};

use super::actor::{Broadcast, Ev, Order};
use super::monitor;
pub use crate::exec::untimed::PropertyReport;
use crate::exec::untimed::properties;

#[derive(Clone, Debug)]
pub struct CheckReport {
    pub order: Order,
    pub processes: usize,
    pub casts: u32,
    pub unique_states: usize,
    pub max_depth: usize,
    pub properties: Vec<PropertyReport>,
}

impl CheckReport {
    pub fn property(&self, name: &str) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn ok(&self) -> bool {
        self.properties.iter().all(PropertyReport::holds)
    }
}

fn logs(state: &ActorModelState<Broadcast>) -> Vec<Vec<Ev>> {
    state.actor_states.iter().map(|s| s.log.clone()).collect()
}

fn none(found: Vec<monitor::Violation>, name: &str) -> bool {
    found.iter().all(|v| v.monitor != name)
}

/// The model: `processes` processes running `order`, `casts` broadcasts each.
pub fn model(order: Order, processes: usize, casts: u32) -> ActorModel<Broadcast> {
    let actor = Broadcast { order, processes, casts, period: 1..2, record: false };
    let mut m = ActorModel::new((), ())
        .actors(vec![actor; processes])
        .init_network(Network::new_unordered_nonduplicating([]))
        .property(Expectation::Always, monitor::INTEGRITY, |_, s| {
            none(monitor::integrity(&logs(s)), monitor::INTEGRITY)
        })
        .property(Expectation::Always, monitor::FIFO, |_, s| monitor::fifo(&logs(s)).is_empty());
    if order.base() != Order::Fifo {
        m = m.property(Expectation::Always, monitor::CAUSAL, |_, s| monitor::causal(&logs(s)).is_empty());
    }
    if order.base() == Order::Total {
        m = m.property(Expectation::Always, monitor::TOTAL, |_, s| monitor::total(&logs(s)).is_empty());
    }
    m.property(Expectation::Eventually, monitor::VALIDITY, |m, s| {
        monitor::validity(&logs(s), m.actors[0].casts).is_empty()
    })
}

/// Checks `order` on `processes` processes with `casts` broadcasts each.
pub fn check(order: Order, processes: usize, casts: u32) -> CheckReport {
    let checker = model(order, processes, casts).checker().spawn_bfs().join();
    let properties = properties(&checker);
    CheckReport {
        order,
        processes,
        casts,
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        properties,
    }
}
