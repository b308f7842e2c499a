//! The exhaustive model checker (`cohsim::verify::mc`) as a regression oracle.
//!
//! * Reachable-state counts of small systems are pinned, as stateright pins its
//!   Paxos count: a change to a table, a controller or the checker's state that
//!   changes behaviour changes a number here. The pins come from the checker; what
//!   backs them independently is below: the one-cache counts are derived by hand,
//!   and symmetry reduction must sit between the unreduced count divided by the
//!   group's size and the unreduced count.
//! * Every deliberate bug of `Mutation` is caught, on the smallest system that
//!   exhibits it, with a counterexample chart: a table (`FINDINGS`) gives each
//!   one's system, violation and counterexample length, and a mutation without a
//!   row fails the test.
//! * Without point-to-point order on the forward network every protocol fails: the
//!   protocols rely on it (`cohsim::protocol`, "Network assumption").

use cohsim::model::Mutation;
use cohsim::protocol::Protocol;
use cohsim::verify::mc::{CheckOptions, CheckReport, ForwardOrder, Symmetry, ViolationKind, check};

fn run(protocol: Protocol, caches: usize, values: usize, symmetry: Symmetry) -> CheckReport {
    let opts = CheckOptions { symmetry, ..CheckOptions::new(protocol, caches, 1, values) };
    check(&opts).expect("valid options")
}

fn clean(r: &CheckReport) {
    if let Some(v) = &r.violation {
        panic!("{:?} on {:?}: {}\n{}", v.kind, r.options, v.detail, v.chart);
    }
    assert!(r.complete && r.progress_checked);
}

/// One cache, one line, two values, no symmetry, counted by hand.
///
/// MSI, 46 states. Quiescent (no message, no miss): the line is I with memory =
/// golden = g (2 states), S with data = memory = g (2), or M with data g and memory
/// m (4): 8. Transient, per golden value g where not said otherwise:
///   Load from I: IS_D with GetS in flight (2), then with Data in flight (2);
///   a write from I — the distinct writes are store 0, store 1 and the identity
///   (compare-exchange 0→0), kept in the MSHR as their new-word table — IM_AD
///   with GetM in flight (3 × 2), then with Data in flight (3 × 2);
///   a write from S: SM_AD with GetM in flight (3 × 2), then with Data (3 × 2);
///   evicting S: SI_A with PutS in flight (2), then with Put-Ack in flight (2);
///   evicting M: MI_A with PutM in flight (4: g and the stale memory m), then,
///   memory written, with Put-Ack in flight (2).
/// 8 + 2+2 + 6+6 + 6+6 + 2+2 + 4+2 = 46. (A frame waiting for data holds the
/// poison word, whatever came before, so IS_D and IM_AD add nothing per word.)
///
/// MESI and MOESI, 42 states. A lone reader is granted E, so S, SM_AD and SI_A
/// never occur. Quiescent: I (2), E with data = memory = g (2), M under a directory
/// in M (4), M under a directory still in E after a silent upgrade (4): 12.
/// Transient: Load from I, 2 + 2; writes from I, 6 + 6; evicting E: EI_A with PutE
/// in flight (2), then with Put-Ack (2); evicting M: MI_A with PutM under a
/// directory in M (4) or E (4), then with Put-Ack (2). 12 + 4 + 12 + 4 + 10 = 42.
/// With one cache no Fwd-GetS ever happens, so MOESI's O never appears.
///
/// With value symmetry every state has exactly one twin (swap the two values; the
/// golden word is always a value, so no state is its own twin): half the count.
#[test]
fn one_cache_counts_match_the_hand_count() {
    for (protocol, states) in [(Protocol::Msi, 46), (Protocol::Mesi, 42), (Protocol::Moesi, 42)] {
        let full = run(protocol, 1, 2, Symmetry::NONE);
        clean(&full);
        assert_eq!(full.states, states, "{protocol} unreduced");
        let reduced = run(protocol, 1, 2, Symmetry::FULL);
        clean(&reduced);
        assert_eq!(reduced.states, states / 2, "{protocol} reduced");
    }
}

/// One pinned search: the checker's own figures.
struct Pin {
    protocol: Protocol,
    caches: usize,
    values: usize,
    symmetry: bool,
    silent_evict: bool,
    /// States, transitions, max depth.
    expect: (u64, u64, u32),
}

const fn pin(
    protocol: Protocol,
    caches: usize,
    values: usize,
    symmetry: bool,
    silent_evict: bool,
    expect: (u64, u64, u32),
) -> Pin {
    Pin { protocol, caches, values, symmetry, silent_evict, expect }
}

use Protocol::{Mesi, Moesi, Msi};

const PINS: &[Pin] = &[
    pin(Msi, 2, 2, true, false, (1597, 4177, 21)),
    pin(Msi, 2, 2, false, false, (6362, 16628, 23)),
    pin(Mesi, 2, 2, true, false, (2051, 5690, 27)),
    pin(Mesi, 2, 2, false, false, (8176, 22676, 27)),
    pin(Moesi, 2, 2, true, false, (3098, 7890, 26)),
    pin(Moesi, 2, 2, false, false, (12364, 31476, 26)),
    pin(Msi, 3, 1, true, false, (5672, 20591, 31)),
    pin(Mesi, 3, 1, true, false, (10359, 37944, 35)),
    pin(Moesi, 3, 1, true, false, (19020, 64497, 36)),
    pin(Msi, 3, 2, true, false, (53275, 194406, 32)),
    // Silent eviction of clean shared lines: stale sharers, Invs acknowledged at once.
    pin(Msi, 2, 2, true, true, (1897, 4971, 21)),
    pin(Mesi, 2, 2, true, true, (2506, 6855, 28)),
    pin(Moesi, 2, 2, true, true, (3432, 8759, 31)),
    pin(Moesi, 3, 1, true, true, (23320, 79147, 41)),
];

#[test]
fn pinned_state_counts() {
    for p in PINS {
        let opts = CheckOptions {
            symmetry: if p.symmetry { Symmetry::FULL } else { Symmetry::NONE },
            silent_evict: p.silent_evict,
            ..CheckOptions::new(p.protocol, p.caches, 1, p.values)
        };
        let r = check(&opts).expect("valid options");
        clean(&r);
        assert_eq!((r.states, r.transitions, r.max_depth), p.expect, "{opts:?}");
    }
}

#[test]
fn symmetry_reduces_by_at_most_the_group_size() {
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        let full = run(protocol, 2, 2, Symmetry::NONE);
        let caches = run(protocol, 2, 2, Symmetry { caches: true, values: false });
        let values = run(protocol, 2, 2, Symmetry { caches: false, values: true });
        let both = run(protocol, 2, 2, Symmetry::FULL);
        for r in [&full, &caches, &values, &both] {
            clean(r);
        }
        // Each reduction keeps one state per orbit: no more states than without
        // it, and no fewer than the unreduced count over the group's size (2! for
        // caches, 2! for values).
        assert!(caches.states <= full.states && full.states <= 2 * caches.states, "{protocol}");
        assert!(values.states <= full.states && full.states <= 2 * values.states, "{protocol}");
        assert!(both.states <= caches.states && both.states <= values.states, "{protocol}");
        assert!(full.states <= 4 * both.states, "{protocol}");
        // Depth can only shrink: a shortest path to a representative is no longer
        // than the one to the state it stands for.
        assert!(both.max_depth <= full.max_depth, "{protocol}");
    }
}

fn mutant(protocol: Protocol, caches: usize, values: usize, m: Mutation) -> CheckReport {
    mutant_on(protocol, caches, 1, values, "full", m)
}

fn mutant_on(protocol: Protocol, caches: usize, lines: usize, values: usize, dir: &str, m: Mutation) -> CheckReport {
    let organisation = dir.parse().expect("a valid organisation");
    let opts = CheckOptions { mutation: Some(m), organisation, ..CheckOptions::new(protocol, caches, lines, values) };
    check(&opts).expect("valid options")
}

/// What the checker must report for one mutation: on this system (one line), a
/// violation of `kind` reached in `steps` steps (the shortest, by breadth-first
/// search).
struct Finding {
    mutation: Mutation,
    protocol: Protocol,
    caches: usize,
    values: usize,
    kind: ViolationKind,
    steps: usize,
    /// The directory organisation and the lines (full and 1 but for the
    /// organisations' own mutations, `tests/dir_org.rs`).
    directory: &'static str,
    lines: usize,
}

const fn finding(
    mutation: Mutation,
    protocol: Protocol,
    caches: usize,
    values: usize,
    kind: ViolationKind,
    steps: usize,
) -> Finding {
    Finding { mutation, protocol, caches, values, kind, steps, directory: "full", lines: 1 }
}

const fn finding_on(directory: &'static str, lines: usize, f: Finding) -> Finding {
    Finding { directory, lines, ..f }
}

use Mutation::*;
use ViolationKind::{DataValue, Deadlock, Swmr};

// Each mutation on the smallest system that shows it. One value is always enough:
// the bugs break SWMR, deadlock or hit a missing row, and a word read before its
// data arrived is the poison word, which no store writes. (RemoveWrongSharer keeps
// the two values of its own test below; it takes 13 steps with one as well.)
const FINDINGS: &[Finding] = &[
    // The writer in IM_A waits forever for the sharer's Inv-Ack.
    finding(SkipInvAck, Msi, 2, 1, Deadlock, 7),
    // With two caches the Fwd-GetS goes back to the requester, which stalls it in
    // IS_D while the directory waits in S_D for the owner's data.
    finding(ForwardToWrongOwner, Mesi, 2, 1, Deadlock, 5),
    finding(WrongAckCount, Msi, 2, 1, Swmr, 6),
    // One cache: the evicted line waits in MI_A for a Put-Ack that never comes.
    finding(DropPutAck, Msi, 1, 1, Deadlock, 5),
    finding(ForgetSharer, Msi, 2, 1, Swmr, 9),
    finding(StaleMemoryData, Mesi, 2, 1, Swmr, 6),
    // MESI's S_D waits for the old owner's copy, which never comes (MOESI never
    // takes that path: `mutation_no_data_to_directory_is_harmless_under_moesi`).
    finding(NoDataToDirectory, Mesi, 2, 1, Deadlock, 7),
    // One cache: the load completes on a frame whose data never arrived.
    finding(IgnoreData, Msi, 1, 1, DataValue, 3),
    finding(NoInvalidation, Msi, 2, 1, Swmr, 6),
    finding(SkipAckWait, Msi, 2, 1, Swmr, 6),
    finding(ExclusiveToSharer, Msi, 2, 1, Swmr, 6),
    // One cache drops its M line and asks for it again: the directory, which still
    // lists it as the owner, has no row for a GetS from the owner.
    finding(DropDirtyLine, Msi, 1, 1, ViolationKind::Protocol, 6),
    // Breaks symmetry: found by the search without it, after the failed replay
    // (`mutation_remove_wrong_sharer_is_reported_though_it_breaks_symmetry`). By
    // hand, 13 steps: 7 to bring L1[0] and L1[1] to S under a directory in S
    // {0, 1} (MESI grants the first reader E, so the second read goes through
    // Fwd-GetS and S_D); L1[2]'s store sends GetM, L1[0] evicts, the directory
    // takes the PutS (dropping L1[1]) and then the GetM, which invalidates L1[0]
    // alone; L1[0] takes the Put-Ack, then the Inv, for which I has no row.
    finding(RemoveWrongSharer, Mesi, 3, 2, ViolationKind::Protocol, 13),
    // On the L1-hit fast path, which the checker runs too (`fast_path_checked`).
    // By hand: L1[0] loads (its GetS, the directory, the Data: 3 steps), L1[1]
    // loads (3 more), L1[0]'s store then hits its S line as if writable: 7.
    finding(HitTagWritableShared, Msi, 2, 1, Swmr, 7),
    // By hand: a load (3 steps) leaves E; a store upgrades it to M on the fast
    // path but clean (1); its eviction is a PutE the directory acks without
    // writing memory (3); the next load reads the old word from memory (3): 10.
    finding(SilentUpgradeStaysClean, Mesi, 1, 2, DataValue, 10),
    // The directory organisations' mutations, derived by hand in tests/dir_org.rs:
    // a late Inv-Ack reaches the entry a recall freed; the overflowed reader is
    // left out of the writer's invalidation.
    finding_on("sparse:1:1", 2, finding(RecallSkipsAcks, Msi, 2, 1, ViolationKind::Protocol, 6)),
    finding_on("limited:1:b", 1, finding(OverflowForgetsSharer, Msi, 3, 1, Swmr, 9)),
];

/// How `row` differs from what the checker reports, if it does.
fn differs(row: &Finding) -> Option<String> {
    let Finding { mutation: m, protocol, caches, values, directory, lines, .. } = *row;
    let r = mutant_on(protocol, caches, lines, values, directory, m);
    let Some(v) = r.violation else {
        return Some(format!("{m:?} on {protocol} with {caches} caches, {values} values: not caught"));
    };
    let chart = v.chart.to_string();
    if (v.kind, v.chart.steps.len()) != (row.kind, row.steps) {
        return Some(format!(
            "{m:?} on {protocol}, {caches} caches, {values} values: {:?} in {} steps, not {:?} in {}: {}\n{chart}",
            v.kind,
            v.chart.steps.len(),
            row.kind,
            row.steps,
            v.detail
        ));
    }
    if !(v.replayed && chart.contains("counterexample") && chart.contains(&v.detail)) {
        return Some(format!("{m:?}: the chart does not replay the violation ({})\n{chart}", v.detail));
    }
    None
}

#[test]
fn every_mutation_is_caught_as_its_row_says() {
    // Every mutation needs a row: adding one to `Mutation::ALL` without a row here
    // fails this test.
    let mut wrong = Vec::new();
    for m in Mutation::ALL {
        let rows: Vec<&Finding> = FINDINGS.iter().filter(|f| f.mutation == m).collect();
        if rows.is_empty() {
            wrong.push(format!("{m:?}: no row in FINDINGS"));
        }
        wrong.extend(rows.into_iter().filter_map(differs));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn mutation_no_data_to_directory_is_harmless_under_moesi() {
    // MOESI never uses the owner-to-directory copy (an owner answering a read
    // keeps the line as O), so dropping it changes nothing.
    let r = mutant(Protocol::Moesi, 2, 2, NoDataToDirectory);
    assert!(r.violation.is_none(), "MOESI has no owner-to-directory copy to drop");
}

#[test]
fn mutation_remove_wrong_sharer_is_reported_though_it_breaks_symmetry() {
    // The directory drops cache `req + 1` from the sharers on a PutS: cache ids
    // are treated differently, so states that symmetry reduction merges behave
    // differently and the counterexample found among canonical states does not
    // replay. The checker must still report it, with a chart, never panic.
    let r = mutant(Protocol::Mesi, 3, 2, RemoveWrongSharer);
    assert!(r.asymmetry_found, "the failed replay is noticed");
    assert_eq!(r.symmetry, Symmetry::NONE, "and the chart comes from a search without symmetry");
    let v = r.violation.expect("the stale sharer list is caught");
    assert!(v.replayed && !v.chart.steps.is_empty(), "{}", v.detail);
    // The shortest run, by hand: L1[0] and L1[1] share the line, L1[0]'s PutS
    // drops L1[1] instead, so a writer's Inv goes to L1[0], which has no line.
    assert_eq!(v.kind, ViolationKind::Protocol, "{}", v.chart);
    assert!(v.chart.steps.iter().any(|s| s.event.contains("PutS") && s.change.contains("sharers {0}")), "{}", v.chart);
    // The same controllers without the bug are clean with symmetry on.
    clean(&check(&CheckOptions::new(Protocol::Mesi, 3, 1, 2)).expect("valid options"));
}

#[test]
fn unordered_forward_network_breaks_every_protocol() {
    // Without FIFO order a Put-Ack overtakes the Inv (MSI) or Fwd-GetS (MESI,
    // MOESI) the directory sent the same cache earlier: the evicted cache is I when
    // the older message arrives, and no row exists for it.
    for protocol in [Protocol::Msi, Protocol::Mesi, Protocol::Moesi] {
        let opts = CheckOptions { forward_order: ForwardOrder::Unordered, ..CheckOptions::new(protocol, 2, 1, 1) };
        let r = check(&opts).expect("valid options");
        let v = r.violation.unwrap_or_else(|| panic!("{protocol}: no violation without forward order"));
        assert_eq!(v.kind, ViolationKind::Protocol, "{protocol}: {}", v.detail);
        let kinds: Vec<&str> = v.chart.steps.iter().map(|s| s.event.as_str()).collect();
        let ack = kinds.iter().position(|e| e.contains("Put-Ack")).expect("a Put-Ack in the chart");
        let last = v.chart.steps.last().expect("steps");
        assert!(ack < v.chart.steps.len() - 1, "{protocol}: the Put-Ack arrives first\n{}", v.chart);
        assert!(last.event.contains("Inv") || last.event.contains("Fwd-GetS"), "{}", v.chart);
        // And with the order the same system is clean.
        clean(&check(&CheckOptions::new(protocol, 2, 1, 1)).expect("valid options"));
    }
}

#[test]
fn ack_count_must_not_overtake_or_be_overtaken() {
    // MOESI: the owner upgrading from O (OM_AC) takes a Fwd-GetM as proof that
    // another writer won, and becomes IM_AD; if the Fwd-GetM overtook the AckCount
    // that answered the owner's own GetM, the AckCount then finds IM_AD, which has
    // no row for it. Hence AckCount travels in the forward FIFO (`MsgKind::vnet`).
    let opts = CheckOptions { forward_order: ForwardOrder::AckCountUnordered, ..CheckOptions::new(Moesi, 2, 1, 1) };
    let v = check(&opts).expect("valid options").violation.expect("the race is found");
    assert_eq!(v.kind, ViolationKind::Protocol);
    let steps = &v.chart.steps;
    let fwd = steps.iter().position(|s| s.event.contains("Fwd-GetM")).expect("a Fwd-GetM");
    assert!(steps[fwd].change.contains("OM_AC → IM_AD"), "{}", v.chart);
    assert!(steps.last().is_some_and(|s| s.event.contains("AckCount")), "{}", v.chart);
    // MSI and MESI never send AckCount: the same space as with FIFO order.
    for (protocol, states) in [(Msi, 1597), (Mesi, 2051)] {
        let opts =
            CheckOptions { forward_order: ForwardOrder::AckCountUnordered, ..CheckOptions::new(protocol, 2, 1, 2) };
        let r = check(&opts).expect("valid options");
        clean(&r);
        assert_eq!(r.states, states);
    }
}

#[test]
fn max_states_stops_early_and_says_so() {
    let opts = CheckOptions { max_states: Some(100), ..CheckOptions::new(Protocol::Mesi, 2, 1, 2) };
    let r = check(&opts).expect("valid options");
    assert!(r.violation.is_none() && !r.complete && !r.progress_checked);
    assert!(r.states >= 100 && r.states < 200, "{}", r.states);
}

#[test]
fn bad_options_name_the_setting() {
    for (caches, lines, values, setting) in
        [(0, 1, 2, "--caches"), (9, 1, 2, "--caches"), (2, 0, 2, "--lines"), (2, 1, 9, "--values")]
    {
        let e = check(&CheckOptions::new(Protocol::Msi, caches, lines, values)).unwrap_err();
        assert_eq!(e.setting, setting);
    }
}

#[test]
fn cli_exit_status() {
    let bin = env!("CARGO_BIN_EXE_cohsim");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin).args(args).output().expect("cohsim runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&["check", "--protocol", "msi", "--caches", "2"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("1597 states") && stdout.contains("no violation"), "{stdout}");
    let (code, stdout, _) =
        run(&["check", "--protocol", "msi", "--caches", "1", "--values", "1", "--mutation", "drop-put-ack"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("VIOLATION (deadlock)") && stdout.contains("Put"), "{stdout}");
    let (code, _, stderr) = run(&["check", "--protocol", "mosi"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--protocol"), "{stderr}");
    let (code, _, stderr) = run(&["check", "--mutation", "nonsense"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("skip-inv-ack"), "{stderr}");
    let (code, _, stderr) = run(&["check", "--caches", "0"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--caches"), "{stderr}");
}
