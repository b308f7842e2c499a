//! Verification: the invariant checker (an observer), the random tester and the
//! exhaustive model checker. All of them drive the controllers that simulate.

pub mod invariants;
pub mod mc;
pub mod stress;
