//! The safety monitors of `paxos` and `multipaxos`, run on every run over the
//! notes the actors reported (`single`, `multi`: `ballot`, `issue`, `decide`)
//! and the final states. Pure functions: notes and logs in, findings out.

use std::collections::BTreeMap;

use crate::exec::actor::Noted;
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// Per decree (instance or slot): every (cycle, core, value) decided, in the
/// order the handlers ran.
pub type Decisions = BTreeMap<u64, Vec<(Cycle, usize, u64)>>;

/// The `decide` notes [decree, value] by decree.
pub fn decisions(notes: &[Noted]) -> Decisions {
    let mut by: Decisions = BTreeMap::new();
    for n in super::super::notes_of(notes, "decide") {
        by.entry(n.note.words[0]).or_default().push((n.cycle, n.core, n.note.words[1]));
    }
    by
}

/// Agreement: all decisions of a decree are one value; a finding at the first
/// that differs from the first decision. `what` names the decree ("instance",
/// "slot").
pub fn agreement(decided: &Decisions, what: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    for (&k, ds) in decided {
        let (_, first_core, first) = ds[0];
        if let Some(&(cycle, core, v)) = ds.iter().find(|d| d.2 != first) {
            found.push(Finding {
                monitor: "agreement",
                cycle,
                cores: vec![first_core, core],
                what: format!("{what} {k}: process {core} decided {v}, process {first_core} decided {first}"),
            });
        }
    }
    found
}

/// Integrity: a process decides a decree at most once.
pub fn integrity(decided: &Decisions, what: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    for (&k, ds) in decided {
        let mut seen = BTreeMap::new();
        for &(cycle, core, v) in ds {
            if let Some(before) = seen.insert(core, v) {
                found.push(Finding {
                    monitor: "integrity",
                    cycle,
                    cores: vec![core],
                    what: format!("{what} {k}: process {core} decided again ({before}, then {v})"),
                });
            }
        }
    }
    found
}

/// Validity: every decision's value was proposed before it, as `proposed`
/// says (decree, value, cycle); `exempt` values need no proposal (a no-op).
pub fn validity(
    decided: &Decisions,
    what: &str,
    exempt: Option<u64>,
    proposed: impl Fn(u64, u64, Cycle) -> bool,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for (&k, ds) in decided {
        for &(cycle, core, v) in ds {
            if Some(v) != exempt && !proposed(k, v, cycle) {
                found.push(Finding {
                    monitor: "validity",
                    cycle,
                    cores: vec![core],
                    what: format!("{what} {k}: process {core} decided {v}, which no one proposed before"),
                });
                break;
            }
        }
    }
    found
}

/// Prefix consistency of the final logs (`None`: crashed for good): of every
/// two learned prefixes (up to the first hole) one extends the other.
pub fn prefixes(logs: &[Option<Vec<Option<u64>>>], end: Cycle) -> Vec<Finding> {
    let prefix = |l: &Vec<Option<u64>>| l.iter().map_while(|c| *c).collect::<Vec<u64>>();
    let live: Vec<(usize, Vec<u64>)> =
        logs.iter().enumerate().filter_map(|(i, l)| l.as_ref().map(|l| (i, prefix(l)))).collect();
    let mut found = Vec::new();
    for (a, (i, x)) in live.iter().enumerate() {
        for (j, y) in &live[a + 1..] {
            if let Some(slot) = x.iter().zip(y).position(|(p, q)| p != q) {
                found.push(Finding {
                    monitor: "prefix consistency",
                    cycle: end,
                    cores: vec![*i, *j],
                    what: format!("the logs of processes {i} and {j} differ at slot {slot}"),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::actor::Note;

    fn decide(core: usize, cycle: Cycle, k: u64, v: u64) -> Noted {
        Noted { core, cycle, note: Note::new("decide", &[k, v]) }
    }

    #[test]
    fn monitors_fire_on_made_up_histories() {
        let notes = [decide(0, 10, 0, 1), decide(1, 20, 0, 2), decide(1, 30, 0, 2), decide(2, 5, 1, 7)];
        let d = decisions(&notes);
        let a = agreement(&d, "instance");
        assert_eq!((a.len(), a[0].cycle, a[0].cores.clone()), (1, 20, vec![0, 1]));
        let i = integrity(&d, "instance");
        assert_eq!((i.len(), i[0].cycle), (1, 30));
        // Value 7 was proposed only at cycle 6, after its decision.
        let v = validity(&d, "instance", None, |k, v, c| (k, v) != (1, 7) || c >= 6);
        assert_eq!((v.len(), v[0].cycle), (1, 5));
        assert!(validity(&d, "slot", Some(7), |k, _, _| k == 0).is_empty());
        let logs = [Some(vec![Some(1), Some(2)]), None, Some(vec![Some(1)]), Some(vec![Some(1), Some(3), None])];
        let p = prefixes(&logs, 99);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].cores, vec![0, 3]);
    }
}
