//! The model checker runs the L1-hit fast path.
//!
//! An access that hits is performed the way the engine performs it
//! (`hit_frame`, then `hit_plain` or `hit_at`), not through the table row
//! `(state, Load/Store) => hit`, so a bug on the fast path is found
//! exhaustively. The two fast-path mutations below run no table row: with every
//! access sent through `L1Controller::access`, as the checker did before, both
//! searches end with no violation (tried by hand).

use cohsim::model::Mutation;
use cohsim::protocol::Protocol::{self, Mesi, Moesi, Msi};
use cohsim::verify::mc::{CheckOptions, CheckReport, Violation, ViolationKind, check};

fn run(protocol: Protocol, caches: usize, values: usize, mutation: Option<Mutation>) -> CheckReport {
    check(&CheckOptions { mutation, ..CheckOptions::new(protocol, caches, 1, values) }).expect("valid options")
}

/// The checker catches `m` on this system with a violation of `kind` after a
/// shortest counterexample of `steps` steps.
fn caught(
    protocol: Protocol,
    caches: usize,
    values: usize,
    m: Mutation,
    kind: ViolationKind,
    steps: usize,
) -> Violation {
    let r = run(protocol, caches, values, Some(m));
    let v = r.violation.unwrap_or_else(|| panic!("{m:?} on {protocol} with {caches} caches was not caught"));
    let chart = v.chart.to_string();
    assert_eq!((v.kind, v.chart.steps.len()), (kind, steps), "{m:?} on {protocol}: {}\n{chart}", v.detail);
    assert!(v.replayed && chart.contains(&v.detail), "{chart}");
    v
}

#[test]
fn a_hit_tag_that_makes_shared_lines_writable_is_caught() {
    // L1[0] reads the line (S), then a store hits it on the fast path and makes
    // it M without a message; L1[1] reads it too: a writer and a reader.
    let v = caught(Msi, 2, 1, Mutation::HitTagWritableShared, ViolationKind::Swmr, 7);
    let store = &v.chart.steps[3];
    assert!(store.event.starts_with("Store") && store.change == "S → M" && store.sent.is_empty(), "{}", v.chart);
    // MESI and MOESI grant a lone reader E: a second reader makes the line S
    // (and, under MOESI, the first one O), one step more.
    for protocol in [Mesi, Moesi] {
        caught(protocol, 2, 1, Mutation::HitTagWritableShared, ViolationKind::Swmr, 8);
    }
}

#[test]
fn a_silent_upgrade_that_leaves_the_line_clean_is_caught() {
    // One cache: E, a store hit makes it M but clean, the eviction's PutM
    // carries no dirty data, memory keeps the old word, and the next read
    // returns it.
    for protocol in [Mesi, Moesi] {
        let v = caught(protocol, 1, 2, Mutation::SilentUpgradeStaysClean, ViolationKind::DataValue, 10);
        let store = &v.chart.steps[3];
        assert!(store.event.starts_with("Store") && store.change == "E → M" && store.sent.is_empty(), "{}", v.chart);
    }
    // Two caches: the owner's clean copy answers a read, memory is not updated,
    // the line returns to I and is read from memory.
    caught(Mesi, 2, 2, Mutation::SilentUpgradeStaysClean, ViolationKind::DataValue, 9);
    // MSI never grants E: the bug cannot happen, and the space is the clean one.
    let clean = run(Msi, 2, 2, None);
    let r = run(Msi, 2, 2, Some(Mutation::SilentUpgradeStaysClean));
    assert!(r.violation.is_none() && r.complete);
    assert_eq!((r.states, r.transitions), (clean.states, clean.transitions));
}

/// Taking hits on the fast path changes no state count: three caches, one
/// line, two values (the MSI figure is also pinned in `model_check.rs`).
#[test]
fn three_cache_state_counts_are_those_of_the_table_path() {
    for (protocol, states, transitions) in [(Msi, 53275, 194406), (Mesi, 88361, 330193), (Moesi, 224501, 754763)] {
        let r = run(protocol, 3, 2, None);
        assert!(r.violation.is_none() && r.complete && r.progress_checked, "{protocol}");
        assert_eq!((r.states, r.transitions), (states, transitions), "{protocol}");
    }
}
