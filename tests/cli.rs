//! The command line end to end: the README's main command, output formats, the
//! exit statuses (0 success, 1 failed check, 2 bad input) and error messages that
//! name the file, the line and what was expected.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cohsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn the_readme_main_command_runs_on_a_bundled_trace() {
    let o = cohsim(&["run", "traces/producer_consumer.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in ["total", "miss classes", "Fwd-GetS", "primitives", "1a request-grant", "3a revoke-and-confirm"] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn json_has_the_documented_fields_and_consistent_totals() {
    let o = cohsim(&["run", "--json", "--check", "--protocol", "moesi", "traces/migratory.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in ["protocol", "cycles", "cores", "totals", "memory", "invalidations", "network", "primitives", "host"] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    assert_eq!(v["protocol"], "moesi");
    let cores = v["cores"].as_array().unwrap();
    assert_eq!(cores.len(), 4);
    for field in ["loads", "stores", "hits", "misses", "upgrades", "stall_cycles", "compute_cycles"] {
        let sum: u64 = cores.iter().map(|c| c[field].as_u64().unwrap()).sum();
        assert_eq!(sum, v["totals"][field].as_u64().unwrap(), "{field}");
    }
    // Every access is a hit, a miss or an upgrade.
    let t = &v["totals"];
    let accesses = t["loads"].as_u64().unwrap() + t["stores"].as_u64().unwrap() + t["atomics"].as_u64().unwrap();
    let outcomes = t["hits"].as_u64().unwrap() + t["misses"].as_u64().unwrap() + t["upgrades"].as_u64().unwrap();
    assert_eq!(accesses, outcomes);
    // 4 cores x 1,000 records, as the sample trace's README says.
    assert_eq!(v["host"]["records"].as_u64().unwrap(), 4000);
    let classes = &t["miss_classes"];
    let classified: u64 = ["compulsory", "capacity", "conflict", "true_sharing", "false_sharing"]
        .iter()
        .map(|k| classes[*k].as_u64().unwrap())
        .sum();
    assert_eq!(classified, t["misses"].as_u64().unwrap());
    assert!(v["network"]["messages"]["AckCount"].is_u64());
}

#[test]
fn compare_puts_protocols_side_by_side_most_important_rows_first() {
    let o = cohsim(&["compare", "--protocols", "mesi,moesi", "traces/producer_consumer.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().skip(1).map(|l| l.split_whitespace().next().unwrap_or("")).collect();
    assert_eq!(
        &rows[..7],
        [
            "cycles",
            "memory.writes",
            "memory.reads",
            "network.bytes.data",
            "network.bytes.control",
            "invalidations",
            "totals.misses"
        ]
    );
    assert!(out.lines().next().unwrap().contains("MESI") && out.contains("MOESI"));

    let o = cohsim(&["compare", "--csv", "traces/producer_consumer.csv"]);
    let csv = stdout(&o);
    assert!(csv.starts_with("metric,mesi,moesi,moesi-mesi,rel_moesi\n"), "{csv}");
    // The CSV's difference column is the difference of its value columns.
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (a, b, d): (i64, i64, i64) = (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
        assert_eq!(b - a, d, "{line}");
    }
}

#[test]
fn csv_output_matches_json() {
    let j = cohsim(&["run", "--json", "traces/false_sharing.csv"]);
    let c = cohsim(&["run", "--csv", "traces/false_sharing.csv"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&j)).unwrap();
    let csv = stdout(&c);
    let get = |k: &str| csv.lines().find_map(|l| l.strip_prefix(&format!("{k},"))).unwrap().to_string();
    assert_eq!(get("cycles"), v["cycles"].to_string());
    assert_eq!(get("totals.misses"), v["totals"]["misses"].to_string());
    assert_eq!(get("network.messages.Fwd-GetS"), v["network"]["messages"]["Fwd-GetS"].to_string());
    assert_eq!(get("cores.2.stores"), v["cores"][2]["stores"].to_string());
}

#[test]
fn gen_convert_and_replay_agree_across_formats() {
    let csv = tmp("gen.csv");
    let bin = tmp("gen.bin");
    let o =
        cohsim(&["gen", "uniform-random", "--cores", "3", "--ops", "500", "--seed", "9", "-o", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cohsim(&["convert", csv.to_str().unwrap(), "-o", bin.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain = tmp("gen-plain.bin");
    let o = cohsim(&["convert", "--no-distances", csv.to_str().unwrap(), "-o", plain.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata(&plain).unwrap().len() < std::fs::metadata(&bin).unwrap().len());
    let strip = |o: &Output| {
        assert!(o.status.success(), "{}", stderr(o));
        let mut v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
        v.as_object_mut().unwrap().remove("host");
        v
    };
    // The bin file's reuse distances are for 64-byte lines: a replay with that
    // line size reads them (a small L1, for capacity misses), one with another
    // line size works reuse out itself.
    for l1 in ["32KiB:8:64", "1KiB:2:64", "1KiB:2:32"] {
        let run = |path: &std::path::Path| cohsim(&["run", "--json", "--l1", l1, path.to_str().unwrap()]);
        let text = strip(&run(&csv));
        assert_eq!(text, strip(&run(&bin)), "CSV and bin replay identically, L1 {l1}");
        assert_eq!(text, strip(&run(&plain)), "CSV and bin without distances, L1 {l1}");
        if l1 == "1KiB:2:64" {
            assert!(text["totals"]["miss_classes"]["capacity"].as_u64().unwrap() > 0, "{text}");
        }
    }
}

#[test]
fn a_malformed_record_names_file_line_and_expectation() {
    let bad = tmp("bad_0.data");
    std::fs::write(&bad, "0 0x10\n1 0x20\n7 0x30\n").unwrap();
    let o = cohsim(&["run", "--format", "cs4223", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad_0.data:3") && e.contains("expected") && e.contains("7 0x30"), "{e}");
}

#[test]
fn bad_input_is_exit_status_2_with_a_clear_message() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "no/such/trace.csv"], "no/such/trace.csv"),
        (vec!["run", "--l1", "3000:2:32", "traces/migratory.csv"], "l1.size"),
        (vec!["run", "--l1", "4KiB:2:8192", "traces/migratory.csv"], "l1.line"),
        (vec!["run", "--protocol", "mosi", "traces/migratory.csv"], "mosi"),
        (vec!["run", "--topology", "torus", "traces/migratory.csv"], "torus"),
        (vec!["run", "--cores", "8", "traces/migratory.csv"], "does not match"),
        (vec!["stress", "--cores", "2000"], "--cores"),
        (vec!["table", "mosi"], "mosi"),
    ];
    for (args, needle) in cases {
        let o = cohsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    let cfg = tmp("bad.toml");
    std::fs::write(&cfg, "[l1]\nassoc = 4\n").unwrap();
    let o = cohsim(&["run", "--config", cfg.to_str().unwrap(), "traces/migratory.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("assoc"), "{}", stderr(&o));
}

#[test]
fn an_empty_trace_is_an_error() {
    let empty = tmp("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = cohsim(&["run", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
}

#[test]
fn output_file_is_complete_or_absent() {
    let out = tmp("report.json");
    let _ = std::fs::remove_file(&out);
    let o = cohsim(&["run", "--json", "-o", out.to_str().unwrap(), "traces/migratory.csv"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["protocol"], "mesi");
    // A run that fails leaves no report behind.
    let failed = tmp("failed.json");
    let _ = std::fs::remove_file(&failed);
    let o = cohsim(&["run", "--json", "-o", failed.to_str().unwrap(), "--format", "din", "traces/migratory.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!Path::new(&failed).exists());
}

#[test]
fn table_and_check_and_stress_exit_statuses() {
    let o = cohsim(&["table", "moesi"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("| OM_AC |"));
    let o = cohsim(&["check", "--protocol", "mesi", "--caches", "2", "--lines", "1", "--values", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cohsim(&[
        "check",
        "--protocol",
        "mesi",
        "--caches",
        "2",
        "--lines",
        "1",
        "--values",
        "1",
        "--mutation",
        "SkipInvAck",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = cohsim(&["stress", "--protocol", "moesi", "--cores", "3", "--seeds", "20", "--topology", "mesh"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("20 passed, 0 failed"));
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::process::Stdio;
    // `cohsim run t | head -0`: standard output closes before the report is
    // written. The command stops writing, keeps its exit status, never panics.
    for args in [&["run", "traces/migratory.csv"][..], &["table", "moesi"], &["config"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cohsim"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn edge_case_inputs_get_clear_errors() {
    // A UTF-8 byte-order mark before the header: detected as CSV, read alike.
    let bom = tmp("bom.csv");
    std::fs::write(&bom, b"\xEF\xBB\xBFcore,op,addr\n0,R,0x40\n1,W,0x40\n").unwrap();
    let auto = cohsim(&["run", "--json", bom.to_str().unwrap()]);
    assert!(auto.status.success(), "{}", stderr(&auto));
    let named = cohsim(&["run", "--json", "--format", "csv", bom.to_str().unwrap()]);
    let cores = |o: &Output| serde_json::from_str::<serde_json::Value>(&stdout(o)).unwrap()["cores"].clone();
    assert_eq!(cores(&auto), cores(&named));
    // A directory holding no per-core files: it says it is a directory.
    let dir = tmp("a_directory");
    std::fs::create_dir_all(&dir).unwrap();
    let o = cohsim(&["run", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    // Errors say their cause once.
    let o = cohsim(&["run", "no/such/file.csv", "traces/migratory.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).matches("No such file").count(), 1, "{}", stderr(&o));
}

#[test]
fn fully_associative_caches_are_accepted_and_spelled_full() {
    let full = cohsim(&["run", "--json", "--l1", "8KiB:full:64", "traces/migratory.csv"]);
    assert!(full.status.success(), "{}", stderr(&full));
    let ways = cohsim(&["run", "--json", "--l1", "8KiB:128:64", "traces/migratory.csv"]);
    assert!(ways.status.success(), "{}", stderr(&ways));
    let totals = |o: &Output| serde_json::from_str::<serde_json::Value>(&stdout(o)).unwrap()["totals"].clone();
    assert_eq!(totals(&full), totals(&ways));
    // One set has no conflicts.
    assert_eq!(totals(&full)["miss_classes"]["conflict"], 0);
    let o = cohsim(&["run", "--l1", "8KiB:256:64", "traces/migratory.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot hold 256 ways"), "{}", stderr(&o));
}

#[test]
fn a_run_past_max_cycles_stops_with_exit_1_and_says_where_each_core_is() {
    let o = cohsim(&["run", "--max-cycles", "500", "traces/migratory.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("cycle limit (500)"), "{e}");
    for c in 0..4 {
        assert!(e.contains(&format!("core {c}: ")), "{e}");
    }
    // With room enough the same run completes.
    assert!(cohsim(&["run", "--max-cycles", "100000000", "traces/migratory.csv"]).status.success());
}

#[test]
fn app_lock_reports_the_documented_fields_and_checks_every_run() {
    let o = cohsim(&["app", "lock", "--algo", "mcs", "--cores", "4", "--entries", "200", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in
        ["app", "algo", "cores", "seed", "protocol", "cycles", "violations", "software", "coherence", "primitives"]
    {
        assert!(v.get(key).is_some(), "no {key}");
    }
    assert_eq!((v["app"].as_str(), v["algo"].as_str(), v["cores"].as_u64()), (Some("lock"), Some("mcs"), Some(4)));
    assert_eq!(v["violations"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["entries_per_core"], serde_json::json!([50, 50, 50, 50]));
    // The counts come from the run: every message type counted adds up.
    let by_type: u64 = v["coherence"]["by_type"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(by_type, v["coherence"]["messages"].as_u64().unwrap());
    assert!(v["primitives"]["hardware"]["1a"].as_u64().unwrap() > 0);
    assert_eq!(v["primitives"]["software"]["4a"].as_u64(), Some(200), "one enqueue swap per entry");
    for key in ["cycles", "coherence_messages", "invalidations"] {
        assert!(v["per_handoff"][key].as_f64().is_some(), "per_handoff.{key}");
    }
    // A sweep gives one row per core count.
    let o = cohsim(&["app", "lock", "--algo", "clh", "--entries", "64", "--sweep-cores", "1,2,4", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let cores: Vec<u64> = v["rows"].as_array().unwrap().iter().map(|r| r["cores"].as_u64().unwrap()).collect();
    assert_eq!(cores, [1, 2, 4]);
    // The broken lock fails the run (exit 1) and says why.
    let o = cohsim(&["app", "lock", "--algo", "broken-ttas", "--entries", "400"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("violation (mutual exclusion)"), "{}", stderr(&o));
    // Bad settings are named, exit 2.
    for (args, needle) in [
        (&["--algo", "spin"][..], "--algo"),
        (&["--algo", "mcs", "--cores", "0"], "--cores"),
        (&["--algo", "mcs", "--cores", "2000"], "--cores"),
        (&["--algo", "mcs", "--entries", "0"], "--entries"),
        (&["--algo", "mcs", "--protocol", "mosi"], "--protocol"),
    ] {
        let mut all = vec!["app", "lock"];
        all.extend_from_slice(args);
        let o = cohsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn app_mutex_reports_the_documented_fields_and_names_bad_settings() {
    let o = cohsim(&["app", "mutex", "--algo", "ricart-agrawala", "--cores", "4", "--entries", "80", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in ["app", "algo", "cores", "seed", "violations", "software", "coherence", "primitives", "per_entry"] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    assert_eq!(v["entries_per_core"], serde_json::json!([20, 20, 20, 20]));
    assert_eq!(v["outcome"]["status"].as_str(), Some("completed"));
    // Ricart-Agrawala: 2(N-1) = 6 software messages per entry, all tagged 4c.
    assert_eq!(v["per_entry"]["software_messages"].as_f64(), Some(6.0));
    assert_eq!(v["software"]["messages"].as_u64(), Some(480));
    assert_eq!(v["primitives"]["software"]["4c"].as_u64(), Some(480));
    let by_type: u64 = v["coherence"]["by_type"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(by_type, v["coherence"]["messages"].as_u64().unwrap());
    // A crashed coordinator blocks the run: exit 1, the weakness named.
    let o = cohsim(&[
        "app",
        "mutex",
        "--algo",
        "central",
        "--entries",
        "200",
        "--fault",
        "crash:0@3000",
        "--stall",
        "20000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("blocked") && stderr(&o).contains("coordinator"), "{}", stderr(&o));
    // The broken variant fails the run.
    let o = cohsim(&["app", "mutex", "--algo", "broken-ricart-agrawala", "--cores", "2", "--cs-cycles", "2000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("violation (mutual exclusion)"), "{}", stderr(&o));
    // Bad settings are named, exit 2.
    for (args, needle) in [
        (&["--algo", "bakery"][..], "--algo"),
        (&["--fault", "crash:7@10"], "core 7 does not exist"),
        (&["--fault", "drop:1.5"], "outside 0..1"),
        (&["--fault", "partition:>1@0+10"], "names no core"),
        (&["--algo", "central", "--cores", "1"], "--cores"),
        (&["--stall", "40"], "--stall"),
        (&["--cs-cycles", "18446744073709551615"], "absurd"),
        (&["--entries", "8589934592"], "--entries"),
        (&["--check", "--cores", "40"], "--cores"),
        (&["--check", "--fault", "drop:0.1"], "--check"),
    ] {
        let mut all = vec!["app", "mutex"];
        all.extend_from_slice(args);
        let o = cohsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    // Message faults mean nothing to spin locks.
    let o = cohsim(&["app", "lock", "--algo", "mcs", "--fault", "drop:0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("send no messages"), "{}", stderr(&o));
}

#[test]
fn app_mutex_check_runs_stateright_on_the_same_actors() {
    // Ricart-Agrawala, 3 processes: every property as expected (exit 0).
    let o = cohsim(&["app", "mutex", "--algo", "ricart-agrawala", "--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("mutual exclusion") && out.contains("holds") && out.contains("0 stuck states"), "{out}");
    // The broken variant: a counterexample, exit 1.
    let o = cohsim(&["app", "mutex", "--algo", "broken-ricart-agrawala", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAILS: counterexample"), "{}", stdout(&o));
    // Lamport without FIFO channels breaks exclusion.
    let o = cohsim(&["app", "mutex", "--algo", "lamport", "--check", "--cores", "2", "--unordered"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = cohsim(&["app", "mutex", "--algo", "central", "--check", "--cores", "1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn app_clock_grades_clocks_and_names_bad_settings() {
    let o = cohsim(&["app", "clock", "--algo", "vector", "--cores", "3", "--events", "30", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in ["app", "algo", "cores", "violations", "software", "coherence", "primitives", "events", "pairs_checked"]
    {
        assert!(v.get(key).is_some(), "no {key}");
    }
    // Every ordered pair of a small run: events * (events - 1).
    let n = v["events"].as_u64().unwrap();
    assert_eq!(v["pairs_checked"].as_u64(), Some(n * (n - 1)));
    // A broken clock fails the run and its monitor says why.
    let o = cohsim(&["app", "clock", "--algo", "broken-lamport", "--events", "40"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("violation (clock condition)"), "{}", stderr(&o));
    for (args, needle) in [
        (&["--algo", "sundial"][..], "--algo"),
        (&["--algo", "hlc", "--drift-ppm", "-5"], "--drift-ppm"),
        (&["--algo", "hlc", "--drift-ppm", "1e9"], "--drift-ppm"),
        (&["--algo", "ntp", "--rounds", "0"], "--rounds"),
        (&["--algo", "lamport", "--events", "0"], "--events"),
        (&["--algo", "lamport", "--period", "0"], "--period"),
        (&["--algo", "lamport", "--csv", "x.csv"], "--csv"),
        (&["--algo", "cristian", "--cores", "1"], "--cores"),
        (&["--algo", "ntp", "--rounds", "4294967295"], "--rounds"),
        (&["--algo", "ntp", "--clock-jitter", "2000000"], "--clock-jitter"),
        (&["--algo", "lamport", "--events", "100000000"], "--events"),
    ] {
        let mut all = vec!["app", "clock"];
        all.extend_from_slice(args);
        let o = cohsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn app_broadcast_checks_delivery_order_and_names_bad_settings() {
    let o = cohsim(&["app", "broadcast", "--order", "causal", "--cores", "3", "--casts", "5", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // N - 1 sends per broadcast: 3 processes x 5 broadcasts x 2.
    assert_eq!(v["software"]["messages"].as_u64(), Some(30));
    let o = cohsim(&[
        "app",
        "broadcast",
        "--order",
        "broken-fifo",
        "--cores",
        "3",
        "--casts",
        "10",
        "--fault",
        "delay:0.5+300",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("violation (fifo delivery)"), "{}", stderr(&o));
    for (args, needle) in [
        (&["--order", "gossip"][..], "--order"),
        (&["--cores", "300"], "--cores"),
        (&["--casts", "0"], "--casts"),
        (&["--casts", "5000000"], "--casts"),
        (&["--fault", "drop:2"], "outside 0..1"),
    ] {
        let mut all = vec!["app", "broadcast"];
        all.extend_from_slice(args);
        let o = cohsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}
