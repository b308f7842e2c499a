//! Clocks on the cores: physical clocks synchronised by message passing
//! (Cristian, Berkeley, NTP, PTP; `sync`) and logical clocks carried on an
//! application's messages (Lamport, vector, hybrid; `logical`), every one
//! graded against what only the simulator knows: the true time (the cycle
//! count) and the true happens-before relation (`happens`).

pub mod happens;
pub mod logical;
pub mod logical_run;
pub mod sync;
