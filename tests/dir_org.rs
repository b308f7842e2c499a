//! Directory organisations (`--directory`, `model::dir_org`): the exhaustive
//! checker on each organisation and protocol (regression pin), the mutations of
//! the new mechanisms caught, the random tester, one-core equality with the full
//! map, and bad settings refused with a message naming them.

use std::path::PathBuf;
use std::process::{Command, Output};

use cohsim::model::Mutation;
use cohsim::model::dir_org::Organisation;
use cohsim::protocol::Protocol::{self, Mesi, Moesi, Msi};
use cohsim::verify::mc::{CheckOptions, CheckReport, ViolationKind, check};
use cohsim::verify::stress::{StressOptions, run_batch};

fn org(s: &str) -> Organisation {
    s.parse().expect("a valid organisation")
}

fn run_check(protocol: Protocol, caches: usize, lines: usize, directory: &str, m: Option<Mutation>) -> CheckReport {
    let opts =
        CheckOptions { organisation: org(directory), mutation: m, ..CheckOptions::new(protocol, caches, lines, 1) };
    check(&opts).expect("valid options")
}

/// Organisation, protocol, caches, lines, (states, transitions, max depth).
type Pin = (&'static str, Protocol, usize, usize, (u64, u64, u32));

/// Regression pin: (organisation, protocol, caches, lines) → (states, transitions,
/// max depth), one value. Three caches and one line, as for the full map
/// (`tests/model_check.rs` pins it at 5672 / 10359 / 19020 states); a sparse
/// directory needs fewer entries than lines to recall anything, so it runs with
/// one entry and two lines, and two caches (three caches and two lines is 44
/// million states for MESI: clean, but too big for a test).
///
/// What the numbers must satisfy, beside staying put:
/// * under MESI, `limited:1:b` is `broadcast`: the first reader is granted E (no
///   pointer), and a second reader makes the old owner and itself sharers at
///   once, which overflows one pointer; so the directory never records a single
///   sharer, and every S entry carries the broadcast bit. The same counts follow.
///   Under MSI a lone reader gets a pointer, so the two differ.
/// * coarse vectors and Dir_2 NB turn cache symmetry off (they name caches by
///   id), so their counts are not comparable with the others'.
const PINS: &[Pin] = &[
    ("limited:1:b", Msi, 3, 1, (10051, 35756, 33)),
    ("limited:1:b", Mesi, 3, 1, (14991, 54303, 39)),
    ("limited:1:b", Moesi, 3, 1, (34071, 116468, 53)),
    ("limited:2:b", Msi, 3, 1, (10340, 37003, 39)),
    ("limited:2:b", Mesi, 3, 1, (17422, 62908, 47)),
    ("limited:2:b", Moesi, 3, 1, (30200, 102853, 59)),
    ("limited:2:nb", Msi, 3, 1, (29170, 103438, 31)),
    ("limited:2:nb", Mesi, 3, 1, (55439, 199660, 36)),
    ("limited:2:nb", Moesi, 3, 1, (107954, 361665, 36)),
    ("coarse:2", Msi, 3, 1, (46998, 167813, 38)),
    ("coarse:2", Mesi, 3, 1, (79433, 287973, 39)),
    ("coarse:2", Moesi, 3, 1, (167227, 571042, 43)),
    ("broadcast", Msi, 3, 1, (9114, 32470, 33)),
    ("broadcast", Mesi, 3, 1, (14991, 54303, 39)),
    ("broadcast", Moesi, 3, 1, (34049, 117684, 40)),
    ("sparse:1:1", Msi, 2, 2, (78465, 331632, 38)),
    ("sparse:1:1", Mesi, 2, 2, (173364, 751918, 46)),
    ("sparse:1:1", Moesi, 2, 2, (323796, 1366280, 46)),
];

#[test]
fn every_organisation_is_clean_and_its_state_counts_are_pinned() {
    // Regression pin.
    let mut wrong = Vec::new();
    for &(d, protocol, caches, lines, expect) in PINS {
        let r = run_check(protocol, caches, lines, d, None);
        if let Some(v) = &r.violation {
            wrong.push(format!("{d} {protocol}: {:?}: {}\n{}", v.kind, v.detail, v.chart));
            continue;
        }
        assert!(r.complete && r.progress_checked, "{d} {protocol}");
        let got = (r.states, r.transitions, r.max_depth);
        if got != expect {
            wrong.push(format!("{d} {protocol}: {got:?}, pinned {expect:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let mesi = |d| PINS.iter().find(|p| p.0 == d && p.1 == Mesi).unwrap().4;
    let msi = |d| PINS.iter().find(|p| p.0 == d && p.1 == Msi).unwrap().4;
    assert_eq!(mesi("limited:1:b"), mesi("broadcast"), "see the comment on PINS");
    assert_ne!(msi("limited:1:b"), msi("broadcast"));
}

#[test]
fn the_full_map_is_unchanged_by_the_organisations() {
    // The counts tests/model_check.rs pins for the full map (3 caches, 1 value).
    for (protocol, states) in [(Msi, 5672), (Mesi, 10359), (Moesi, 19020)] {
        let r = run_check(protocol, 3, 1, "full", None);
        assert!(r.violation.is_none());
        assert_eq!(r.states, states, "{protocol}");
    }
}

/// The shortest counterexample of a mutation on an organisation: its kind and
/// length (breadth-first, so these are minimal; derived by hand below).
fn caught(protocol: Protocol, caches: usize, lines: usize, d: &str, m: Mutation) -> (ViolationKind, usize, String) {
    let r = run_check(protocol, caches, lines, d, Some(m));
    let v = r.violation.unwrap_or_else(|| panic!("{m:?} on {d} {protocol}: not caught"));
    assert!(v.replayed, "{m:?} on {d}: the chart does not replay");
    (v.kind, v.chart.steps.len(), v.chart.to_string())
}

#[test]
fn an_overflow_that_forgets_a_sharer_breaks_swmr() {
    // Dir_1 B under MSI, 9 steps by hand: L1[0] loads (Load, GetS at the
    // directory, Data: 3) and is the one pointer; L1[0] stores (GetM sent: 1);
    // L1[1] loads (1) and its GetS overflows the pointer, which the mutant does
    // not record (1); the directory takes L1[0]'s GetM: Inv to nobody (1); the
    // two Data arrive (2): L1[0] in M beside L1[1] in S.
    let (kind, steps, chart) = caught(Msi, 3, 1, "limited:1:b", Mutation::OverflowForgetsSharer);
    assert_eq!((kind, steps), (ViolationKind::Swmr, 9), "{chart}");
    // Dir_2 NB under MSI, 13 steps: two readers fill the pointers (6); L1[1]
    // stores (GetM sent, 1); L1[2] loads (1) and the mutant drops L1[0]'s
    // pointer without an Inv (1); the GetM invalidates L1[2] only (1), its Data
    // and L1[2]'s Inv-Ack reach L1[1] (3): M beside L1[0]'s S.
    let (kind, steps, chart) = caught(Msi, 3, 1, "limited:2:nb", Mutation::OverflowForgetsSharer);
    assert_eq!((kind, steps), (ViolationKind::Swmr, 13), "{chart}");
    assert!(chart.contains("S sharers {0, 1} → S sharers {1, 2}"), "{chart}");
    // The full map has no overflow: the mutation changes nothing there.
    assert!(run_check(Msi, 3, 1, "full", Some(Mutation::OverflowForgetsSharer)).violation.is_none());
}

#[test]
fn a_recall_that_does_not_wait_for_its_acks_is_caught() {
    // sparse:1:1, MSI, 6 steps by hand: L1[0] loads line 0 (Load, GetS: 2, its
    // entry takes the only way); L1[1] loads line 1 (2): the directory recalls
    // line 0 (Inv to L1[0]) and, broken, frees the entry at once and serves line
    // 1; L1[0], still in IS_D, acknowledges (1); the Inv-Ack reaches a directory
    // that no longer waits for it (1). (MOESI: the owner's data comes back to a
    // freed entry instead, 7 steps.)
    let (kind, steps, chart) = caught(Msi, 2, 2, "sparse:1:1", Mutation::RecallSkipsAcks);
    assert_eq!((kind, steps), (ViolationKind::Protocol, 6), "{chart}");
    assert!(chart.contains("Inv-Ack line 0 L1[0] → Dir"), "{chart}");
    let (kind, steps, chart) = caught(Moesi, 2, 2, "sparse:1:1", Mutation::RecallSkipsAcks);
    assert_eq!((kind, steps), (ViolationKind::Protocol, 7), "{chart}");
    // Without recalls (a directory with an entry for every line) it does nothing.
    assert!(run_check(Msi, 2, 2, "sparse:2:2", Some(Mutation::RecallSkipsAcks)).violation.is_none());
}

fn stress(protocol: Protocol, d: &str, mutation: Option<Mutation>, seeds: u64) -> (u64, usize) {
    let opts = StressOptions { protocol, organisation: org(d), mutation, ..StressOptions::default() };
    let sum = run_batch(&opts, 0, seeds, 1);
    (sum.passed, sum.failures.len())
}

#[test]
fn the_random_tester_passes_every_organisation_and_catches_the_mutants() {
    for d in ["limited:1:b", "limited:2:nb", "coarse:2", "broadcast", "sparse:2:1", "sparse:4:2"] {
        for protocol in [Msi, Mesi, Moesi] {
            assert_eq!(stress(protocol, d, None, 40), (40, 0), "{d} {protocol}");
        }
    }
    // A run stops at its first finding, so one failing seed is what "caught" looks like.
    for (d, m) in [("limited:1:b", Mutation::OverflowForgetsSharer), ("limited:2:nb", Mutation::OverflowForgetsSharer)]
    {
        let (_, failed) = stress(Msi, d, Some(m), 40);
        assert!(failed > 0, "{m:?} on {d} not caught by stress");
    }
    let (_, failed) = stress(Mesi, "sparse:2:1", Some(Mutation::RecallSkipsAcks), 40);
    assert!(failed > 0, "RecallSkipsAcks not caught by stress");
}

fn cohsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

/// Core 0's records of a bundled trace, as a one-core trace.
fn one_core_trace() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dir_org");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/traces/read_mostly_shared.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.starts_with("0,")) {
        out += l;
        out += "\n";
    }
    let path = dir.join("one_core.csv");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn with_one_core_every_organisation_gives_the_full_maps_hits_and_misses() {
    // One core: nobody shares, so no record is ever imprecise in a way that
    // matters (an invalidation needs a second core), and a sparse directory of
    // 64 sets of 16 ways mirrors the L1's 64 sets of 8 plus its 8 write-back
    // entries, so it never recalls.
    let trace = one_core_trace();
    let trace = trace.to_str().unwrap();
    let totals = |d: &str| {
        let o = cohsim(&["run", "--json", "-q", "--directory", d, trace]);
        assert!(o.status.success(), "{d}: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let t = &v["totals"];
        let recalls = v["directory"]["recalls"].as_u64().unwrap();
        (t["hits"].as_u64().unwrap(), t["misses"].as_u64().unwrap(), recalls)
    };
    let full = totals("full");
    assert!(full.0 > 0 && full.1 > 0, "{full:?}");
    for d in ["limited:1:b", "limited:2:nb", "coarse:1", "broadcast", "sparse:1024:16"] {
        assert_eq!(totals(d), full, "{d}");
    }
}

#[test]
fn bad_organisations_name_the_setting_and_exit_2() {
    let trace = concat!(env!("CARGO_MANIFEST_DIR"), "/traces/migratory.csv");
    for (d, says) in [
        ("limited:0:b", "at least 1 pointer"),
        ("sparse:2:4", "smaller than one set"),
        ("sparse:6:4", "whole number"),
        ("coarse:0", "at least 1"),
        ("coarse:8", "larger than the machine"),
        ("limited:2:maybe", "b or nb"),
        ("snoopy", "unknown organisation"),
    ] {
        let o = cohsim(&["run", "-q", "--directory", d, trace]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{d}: {err}");
        assert!(err.contains("directory") && err.contains(says), "{d}: {err}");
        assert!(!err.contains("panicked"), "{d}: {err}");
    }
    for cmd in [&["check", "--directory", "limited:0:b"][..], &["stress", "--seeds", "1", "--directory", "sparse:2:4"]]
    {
        let o = cohsim(cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("--directory"), "{cmd:?}: {err}");
    }
}
