//! `cohsim record` end to end: small pthread programs compiled with the
//! system C compiler, recorded under valgrind, replayed by `cohsim run`.
//! The expected numbers come from the programs' source, not from cohsim:
//! each worker thread of `counter.c` does 1,000 `counter++` on a volatile
//! long (one load and one store each), and `false_sharing.c`'s two counters
//! share a line unless built with `-DPAD`.
//!
//! Needs `cc` and `valgrind` (`.ci/run` installs valgrind); without them the
//! tests say SKIPPED and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

const COHSIM: &str = env!("CARGO_BIN_EXE_cohsim");

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn tools() -> bool {
    let ok = have("cc") && have("valgrind");
    if !ok {
        eprintln!("SKIPPED: cohsim record needs cc and valgrind on PATH (.ci/run installs valgrind)");
    }
    ok
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cohsim-record-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles `tests/fixtures/record/SRC` with `flags` into `dir`.
fn compile(dir: &Path, src: &str, flags: &[&str], out: &str) -> PathBuf {
    let exe = dir.join(out);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/record").join(src);
    let st = Command::new("cc").args(["-O1", "-pthread"]).args(flags).arg(&source).arg("-o").arg(&exe).status();
    assert!(st.unwrap().success(), "cc {src}");
    exe
}

/// Records `exe` into `trace`; the program's standard output.
fn record(exe: &Path, trace: &Path) -> String {
    let out = Command::new(COHSIM).arg("record").arg("-o").arg(trace).arg("--").arg(exe).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Per core, (loads, stores) at `addr` in the native CSV `trace`.
fn accesses_at(trace: &Path, addr: u64) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(trace).unwrap();
    let mut per: Vec<(u64, u64)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let core: usize = f[0].parse().unwrap();
        if per.len() <= core {
            per.resize(core + 1, (0, 0));
        }
        if f[1] != "C" && u64::from_str_radix(f[2].trim_start_matches("0x"), 16).unwrap() == addr {
            match f[1] {
                "R" => per[core].0 += 1,
                "W" => per[core].1 += 1,
                op => panic!("unexpected op {op}"),
            }
        }
    }
    per
}

fn address(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap()
}

/// `cohsim run --json` on `trace`: per core, its false-sharing misses.
fn false_sharing(trace: &Path) -> Vec<u64> {
    let out = Command::new(COHSIM).arg("run").arg(trace).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["cores"].as_array().unwrap().iter().map(|c| c["miss_classes"]["false_sharing"].as_u64().unwrap()).collect()
}

#[test]
fn each_thread_becomes_a_core_with_its_own_accesses() {
    if !tools() {
        return;
    }
    let dir = scratch("counter");
    let exe = compile(&dir, "counter.c", &[], "counter");
    let trace = dir.join("counter.csv");
    let stdout = record(&exe, &trace);
    let mut lines = stdout.lines();
    let counter = address(lines.next().unwrap());
    assert_eq!(lines.next(), Some("2000"), "the program ran to its end under valgrind");
    let per = accesses_at(&trace, counter);
    // Main thread (core 0), then the two workers in creation order.
    assert_eq!(per.len(), 3, "{per:?}");
    // Each worker: 1,000 increments, one load and one store each.
    assert_eq!(per[1], (1000, 1000));
    assert_eq!(per[2], (1000, 1000));
    // The main thread reads the counter once, to print it, and never writes it.
    assert_eq!(per[0], (1, 0));
    // The trace replays.
    assert_eq!(false_sharing(&trace).len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn false_sharing_shows_in_the_replay_and_padding_removes_it() {
    if !tools() {
        return;
    }
    let dir = scratch("false-sharing");
    let plain = compile(&dir, "false_sharing.c", &[], "fs");
    let padded = compile(&dir, "false_sharing.c", &["-DPAD"], "fs_pad");
    let (t1, t2) = (dir.join("fs.csv"), dir.join("fs_pad.csv"));
    let out = record(&plain, &t1);
    let a: Vec<u64> = out.lines().next().unwrap().split_whitespace().map(address).collect();
    assert_eq!(a[1] - a[0], 8, "plain: the counters are adjacent, on one line");
    record(&padded, &t2);
    // Plain: the two workers write different words of one line side by side
    // in the replay, so the line moves between them and their misses on it
    // are false sharing: at least one in ten of the 1,000 increments.
    let fs = false_sharing(&t1);
    assert!(fs[1] >= 100 && fs[2] >= 100, "{fs:?}");
    // Padded: each counter has a line to itself, so the workers share
    // nothing: no false sharing at all.
    let fs = false_sharing(&t2);
    assert_eq!((fs[1], fs[2]), (0, 0), "{fs:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_program_writes_nothing_and_exits_2() {
    if !tools() {
        return;
    }
    let dir = scratch("fail");
    let trace = dir.join("none.csv");
    for program in ["false", "/no/such/program"] {
        let out = Command::new(COHSIM).arg("record").arg("-o").arg(&trace).arg("--").arg(program).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{program}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("no trace written"), "{program}");
        assert!(!trace.exists());
    }
    // Nothing left beside it either (the temporary log is removed).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
