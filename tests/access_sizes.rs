//! Access sizes mean the same in every format that has them: an access that
//! spans cache lines is one access per line it touches (as a cache sees it, and
//! as Dinero IV and Lackey-driven models count it), whether it comes from the
//! native CSV, Lackey or a bin file, at any replay line size. The course
//! format and Dinero's din have no sizes: each record is one reference to the
//! line holding its address (1 byte), so it counts as a 1-byte CSV access.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cohsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohsim")).args(args).output().unwrap()
}

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("access_sizes");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> String {
    let p = dir().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// `run --json` on a trace: the one core's counters.
fn core0(args: &[&str], trace: &str) -> serde_json::Value {
    let mut all = vec!["run", "--json", "--check", "--protocol", "mesi"];
    all.extend_from_slice(args);
    all.push(trace);
    let o = cohsim(&all);
    assert!(o.status.success(), "{trace}: {}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["cores"][0].clone()
}

fn counts(c: &serde_json::Value) -> [u64; 5] {
    ["loads", "stores", "hits", "misses", "upgrades"].map(|f| c[f].as_u64().unwrap())
}

/// One core's accesses, 4 bytes each, written as CSV and as Lackey output.
/// 0x103e spans the 64-byte lines 0x1000 and 0x1040 (and, at 32 bytes, 0x1020
/// and 0x1040); 0x2ffe spans 0x2fc0/0x3000.
const ACCESSES: [(bool, u64); 6] =
    [(false, 0x103e), (false, 0x1040), (true, 0x2ffe), (false, 0x3000), (false, 0x1000), (true, 0x1044)];

/// Each test names its own files (`tag`): the tests run in parallel.
fn traces(tag: &str, size: u32) -> [String; 2] {
    let mut csv = String::from("core,op,addr,size\n");
    let mut lackey = String::from("==1== Lackey\n");
    for (store, addr) in ACCESSES {
        csv += &format!("0,{},{addr:#x},{size}\n", if store { "W" } else { "R" });
        lackey += &format!(" {} {addr:x},{size}\n", if store { "S" } else { "L" });
    }
    [write(&format!("{tag}{size}.csv"), &csv), write(&format!("{tag}{size}.lackey"), &lackey)]
}

#[test]
fn a_line_crossing_access_counts_the_same_from_csv_lackey_and_bin() {
    let [csv, lackey] = traces("crossing", 4);
    let bin = dir().join("t4.bin").to_string_lossy().into_owned();
    let o = cohsim(&["convert", &lackey, "-o", &bin, "--no-distances"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // By hand, 64-byte lines (all lines fit a 4 KiB cache): 0x103e is two
    // loads, lines 0x1000 and 0x1040 (both cold misses); 0x1040 hits; 0x2ffe
    // is two stores, 0x2fc0 and 0x3000 (cold misses, E->M needs none: MESI);
    // 0x3000 hits; 0x1000 hits; 0x1044 a store hit on 0x1040 (E, silently M).
    // Loads 2 + 1 + 1 + 1 = 5, stores 2 + 1 = 3, hits 4, misses 4.
    let expected_64 = [5, 3, 4, 4, 0];
    // 32-byte lines: 0x103e spans 0x1020/0x1040 and 0x1000 is a line of its
    // own, a cold miss: hits 3, misses 5.
    let expected_32 = [5, 3, 3, 5, 0];
    for (line, expected) in [("64", expected_64), ("32", expected_32)] {
        let l1 = format!("4KiB:2:{line}");
        for (trace, format) in [(&csv, "csv"), (&lackey, "lackey"), (&bin, "bin")] {
            let c = core0(&["--l1", &l1, "--format", format], trace);
            assert_eq!(counts(&c), expected, "{format}, {line}-byte lines");
        }
    }
}

#[test]
fn course_and_din_records_are_one_reference_each() {
    // The same addresses without sizes: one reference each, even at a line's
    // last byte, exactly as 1-byte CSV and Lackey accesses; by hand at 64-byte
    // lines: 0x103e (line 0x1000) miss, 0x1040 miss, 0x2ffe miss, 0x3000
    // miss, 0x1000 hit, 0x1044 hit: loads 4, stores 2, hits 2, misses 4.
    let mut course = String::new();
    let mut din = String::new();
    for (store, addr) in ACCESSES {
        course += &format!("{} {addr:#x}\n", u8::from(store));
        din += &format!("{} {addr:x}\n", u8::from(store));
    }
    let course = write("course_0.data", &course);
    let din = write("t.din", &din);
    let [csv, lackey] = traces("byte", 1);
    for (trace, format) in [(&course, "cs4223"), (&din, "din"), (&csv, "csv"), (&lackey, "lackey")] {
        assert_eq!(counts(&core0(&["--l1", "4KiB:2:64", "--format", format], trace)), [4, 2, 2, 4, 0], "{format}");
    }
    // Converted to CSV, a course trace replays the same at any line size.
    let converted = dir().join("course.csv").to_string_lossy().into_owned();
    assert!(cohsim(&["convert", &course, "--format", "cs4223", "-o", &converted]).status.success());
    for l1 in ["4KiB:2:64", "4KiB:2:8"] {
        let a = core0(&["--l1", l1, "--format", "cs4223"], &course);
        assert_eq!(core0(&["--l1", l1], &converted), a, "{l1}");
    }
}

#[test]
fn bin_files_split_at_the_replay_line_and_refuse_a_coarser_one_when_stored_split() {
    let [csv, _] = traces("bin", 4);
    let bin = |name: &str, extra: &[&str]| {
        let out = dir().join(name).to_string_lossy().into_owned();
        let mut args = vec!["convert", csv.as_str(), "-o", out.as_str()];
        args.extend_from_slice(extra);
        let o = cohsim(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    // Without distances the records stay whole; with them (for 32-byte lines)
    // a spanning access is stored split at 32 bytes.
    let whole = bin("whole.bin", &["--no-distances"]);
    let split = bin("split32.bin", &["--line", "32"]);
    for line in ["64", "32", "16"] {
        let l1 = format!("4KiB:2:{line}");
        let from_csv = core0(&["--l1", &l1], &csv);
        assert_eq!(core0(&["--l1", &l1], &whole), from_csv, "whole, {line}");
        if line != "64" {
            assert_eq!(core0(&["--l1", &l1], &split), from_csv, "split at 32, {line}");
        }
    }
    let o = cohsim(&["run", "--l1", "4KiB:2:64", &split]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("split32.bin") && e.contains("at most 32 bytes") && e.contains("--line 64"), "{e}");
}

#[test]
fn sizes_that_name_no_access_are_errors_naming_file_and_line() {
    let cases = [
        ("zero.csv", "core,op,addr,size\n0,R,0x10,8\n0,R,0x10,0\n", ":3:", "at least 1 byte"),
        ("huge.csv", "core,op,addr,size\n0,R,0x10,99999999999\n", ":2:", "too large"),
        ("wrap.csv", "core,op,addr,size\n0,R,0xfffffffffffffffc,8\n", ":2:", "wraps"),
        ("wrap.lackey", " L fffffffffffffff8,8\n L fffffffffffffffc,8\n", ":2:", "wraps"),
    ];
    for (name, text, at, what) in cases {
        let p = write(name, text);
        let o = cohsim(&["run", &p]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(&format!("{name}{at}")) && e.contains(what), "{name}: {e}");
    }
    // The very top of the address space is a valid place for an access.
    let top = write("top.lackey", " L fffffffffffffff8,8\n");
    assert_eq!(counts(&core0(&[], &top))[0], 1);
    assert!(Path::new(&top).exists());
}
