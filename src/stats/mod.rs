//! Statistics beside the engine: the miss classifier (an observer of the run)
//! and the reports (table, JSON, CSV) of the counters the engine fills.

pub mod classify;
pub mod report;
pub mod timeline;

pub use crate::engine::counters::{CoreStats, MissClasses, Stats};
