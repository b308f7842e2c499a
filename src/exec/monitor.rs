//! Monitors: software safety properties checked on every run from the events
//! programs report, against simulated time.
//!
//! Mutual exclusion: at most one core is between acquiring and releasing a lock
//! at any cycle. A core holds the lock from the cycle its acquire completed
//! (`Acquired`) to the cycle it issued its release (`Releasing`); a correct lock
//! lets the next core in only after that release was performed, which is later.

use super::{SwEvent, SwEventKind};
use crate::model::network::Cycle;

/// A finding: which monitor, when, and the cores involved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub monitor: &'static str,
    pub cycle: Cycle,
    pub cores: Vec<usize>,
    pub what: String,
}

/// Checks mutual exclusion over `events` (any order); every entry while
/// another core holds the lock is a finding, and so is a release by a core
/// that does not hold it.
pub fn mutual_exclusion(events: &[SwEvent]) -> Vec<Finding> {
    let mut sorted: Vec<&SwEvent> = events.iter().collect();
    // By cycle; at one cycle a release goes before an acquire (a hand-off).
    sorted.sort_by_key(|e| (e.cycle, e.kind == SwEventKind::Acquired, e.core));
    // Who holds the lock, since when.
    let mut holders: std::collections::BTreeMap<usize, Cycle> = std::collections::BTreeMap::new();
    let mut found = Vec::new();
    for e in sorted {
        match e.kind {
            SwEventKind::Acquiring | SwEventKind::Released => {}
            SwEventKind::Acquired => {
                if !holders.is_empty() {
                    let mut cores: Vec<usize> = holders.keys().copied().collect();
                    let others: Vec<String> =
                        holders.iter().map(|(c, t)| format!("core {c} (since cycle {t})")).collect();
                    cores.push(e.core);
                    found.push(Finding {
                        monitor: "mutual exclusion",
                        cycle: e.cycle,
                        cores,
                        what: format!(
                            "core {} entered at cycle {} while {} held the lock",
                            e.core,
                            e.cycle,
                            others.join(", ")
                        ),
                    });
                }
                holders.insert(e.core, e.cycle);
            }
            SwEventKind::Releasing => {
                if holders.remove(&e.core).is_none() {
                    found.push(Finding {
                        monitor: "mutual exclusion",
                        cycle: e.cycle,
                        cores: vec![e.core],
                        what: format!("core {} released at cycle {} a lock it did not hold", e.core, e.cycle),
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(core: usize, cycle: Cycle, kind: SwEventKind) -> SwEvent {
        SwEvent { core, cycle, kind }
    }

    #[test]
    fn hand_offs_pass_and_overlaps_are_found() {
        use SwEventKind::*;
        let good = [ev(0, 10, Acquired), ev(0, 20, Releasing), ev(1, 20, Acquired), ev(1, 30, Releasing)];
        assert!(mutual_exclusion(&good).is_empty());
        let bad = [ev(0, 10, Acquired), ev(1, 15, Acquired), ev(0, 20, Releasing), ev(1, 30, Releasing)];
        let f = mutual_exclusion(&bad);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].cycle, f[0].cores.clone()), (15, vec![0, 1]));
    }
}
