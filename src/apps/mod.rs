//! Software that runs on the simulated cores, built on `exec`: spin locks so
//! far (`locks`); message passing, clocks and agreement are to come.

pub mod locks;
