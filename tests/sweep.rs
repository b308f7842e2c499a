//! `cohsim sweep`: a grid file unfolds into the cells a user would type by
//! hand; results do not depend on --jobs, on shards or on who runs the shards
//! (here the Slurm script itself, run by bash as Slurm would run each array
//! task); failed and missing cells are named; bad grids exit 2 and run nothing.
//! The round trip through a real Slurm cluster is in `.ci/run`
//! (`scripts/slurm/roundtrip.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const COHSIM: &str = env!("CARGO_BIN_EXE_cohsim");

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cohsim-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn trace() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/migratory.csv").display().to_string()
}

/// The issue's own example grid (the trace path made absolute).
fn example(dir: &Path) -> PathBuf {
    let grid = dir.join("grid.toml");
    let text = format!(
        "[sweep]\ncommand = \"run\"\ninputs = [{:?}]\nout = \"results\"\n[axes]\nprotocol = [\"mesi\", \"moesi\"]\nl1 = [\"4KiB:2:32\", \"8KiB:2:32\"]\n",
        trace()
    );
    std::fs::write(&grid, text).unwrap();
    grid
}

fn cohsim(args: &[&str]) -> Output {
    Command::new(COHSIM).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_example_grid_runs_each_cell_as_the_command_a_user_would_type() {
    let dir = scratch("example");
    let grid = example(&dir);
    let o = cohsim(&["sweep", grid.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let merged = json(&dir.join("results/results.json"));
    assert_eq!(merged["complete"], true);
    let cells = merged["cells"].as_array().unwrap();
    // 2 protocols × 2 L1 shapes = 4 cells, the first axis varying slowest.
    let order: Vec<(String, String)> = cells
        .iter()
        .map(|c| (c["axes"]["protocol"].as_str().unwrap().into(), c["axes"]["l1"].as_str().unwrap().into()))
        .collect();
    let want = [("mesi", "4KiB:2:32"), ("mesi", "8KiB:2:32"), ("moesi", "4KiB:2:32"), ("moesi", "8KiB:2:32")];
    assert_eq!(order, want.map(|(p, l)| (p.to_string(), l.to_string())));
    // Each cell's numbers are those of the same run typed by hand.
    for (cell, (p, l)) in cells.iter().zip(want) {
        let direct = cohsim(&["run", &trace(), "--json", "--protocol", p, "--l1", l]);
        let direct: serde_json::Value = serde_json::from_slice(&direct.stdout).unwrap();
        assert_eq!(cell["metrics"]["cycles"], direct["cycles"], "{p} {l}");
        assert_eq!(cell["metrics"]["totals.misses"], direct["totals"]["misses"], "{p} {l}");
        assert_eq!(cell["metrics"]["network.bytes.data"], direct["network"]["bytes"]["data"], "{p} {l}");
        assert_eq!(cell["metrics"]["invalidations"], direct["invalidations"], "{p} {l}");
    }
    // The CSV: one header and four rows; the axes are columns after `cell`.
    let csv = std::fs::read_to_string(dir.join("results/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("cell,input,protocol,l1,status,error,"), "{}", csv.lines().next().unwrap());
    // No wall-clock numbers: a cell's record depends on the cell alone.
    assert!(!csv.contains("host."), "host timing leaked into the merge");
}

#[test]
fn results_do_not_depend_on_jobs_or_shards_or_the_slurm_script() {
    let dir = scratch("determinism");
    let grid = example(&dir);
    let g = grid.to_str().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["sweep", g, "--quiet", "--out", out];
        args.extend_from_slice(extra);
        cohsim(&args)
    };
    let d = |s: &str| dir.join(s).display().to_string();
    assert_eq!(run(&d("one"), &["--jobs", "1"]).status.code(), Some(0));
    assert_eq!(run(&d("two"), &["--jobs", "2"]).status.code(), Some(0));
    // Three shards of four cells, then a merge.
    for s in ["1/3", "2/3", "3/3"] {
        let o = run(&d("shards"), &["--shard", s]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    assert_eq!(cohsim(&["sweep", "merge", &d("shards")]).status.code(), Some(0));
    // The Slurm script, each array task run by bash as Slurm would run it.
    let o = run(
        &d("slurm"),
        &["--slurm", "--tasks", "2", "--array-max", "1", "--partition", "debug", "--time", "00:10:00"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = dir.join("slurm/slurm/sweep.sbatch");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("#SBATCH --array=1-2%1\n"), "{text}");
    assert!(text.contains("#SBATCH --partition=debug\n") && text.contains("#SBATCH --time=00:10:00\n"), "{text}");
    assert!(text.contains("--shard \"$SLURM_ARRAY_TASK_ID/2\""), "{text}");
    for task in ["1", "2"] {
        let o = Command::new("bash").arg(&script).env("SLURM_ARRAY_TASK_ID", task).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "task {task}: {}", stderr(&o));
    }
    assert_eq!(cohsim(&["sweep", "merge", &d("slurm")]).status.code(), Some(0));
    let read = |s: &str| std::fs::read(dir.join(s).join("results.csv")).unwrap();
    let one = read("one");
    assert_eq!(one, read("two"), "--jobs 2 differs from --jobs 1");
    assert_eq!(one, read("shards"), "three shards differ from one run");
    assert_eq!(one, read("slurm"), "the Slurm script's tasks differ from one run");
}

#[test]
fn a_stopped_sweep_resumes_and_a_merge_names_what_is_missing() {
    let dir = scratch("resume");
    let grid = example(&dir);
    let g = grid.to_str().unwrap();
    // Shard 1/2 holds cells 0 and 2 (cell i goes to slice i mod 2 + 1).
    assert_eq!(cohsim(&["sweep", g, "--quiet", "--shard", "1/2"]).status.code(), Some(0));
    let out = dir.join("results");
    let o = cohsim(&["sweep", "merge", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "a merge with missing cells must not pass");
    let err = stderr(&o);
    assert!(err.contains("missing: cell 1 (") && err.contains("missing: cell 3 ("), "{err}");
    assert!(!err.contains("missing: cell 0") && !err.contains("missing: cell 2"), "{err}");
    let merged = json(&out.join("results.json"));
    assert_eq!(merged["complete"], false);
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains(",missing,")).count(), 2, "{csv}");
    // Resuming runs only the two cells not done.
    let before = std::fs::metadata(out.join("cells/00000.json")).unwrap().modified().unwrap();
    let o = cohsim(&["sweep", g, "--quiet", "--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("4 cells: 2 ran (0 failed), 2 done before"), "{}", stderr(&o));
    let after = std::fs::metadata(out.join("cells/00000.json")).unwrap().modified().unwrap();
    assert_eq!(before, after, "a finished cell was run again");
    assert_eq!(json(&out.join("results.json"))["complete"], true);
}

#[test]
fn a_failed_cell_is_recorded_and_the_sweep_goes_on() {
    let dir = scratch("failed");
    let grid = dir.join("grid.toml");
    // Three ways per set is not a power of two: that cell's configuration is
    // rejected when it runs; the two-way cell runs. Configuration keys reach
    // the cells through a TOML file each.
    let text = format!(
        "[sweep]\ncommand = \"run\"\ninputs = [{:?}]\nout = \"out\"\nmetrics = [\"cycles\", \"totals.misses\"]\n[axes]\n\"l1.ways\" = [2, 3]\n\"memory.latency\" = [100, 300]\n",
        trace()
    );
    std::fs::write(&grid, text).unwrap();
    let o = cohsim(&["sweep", grid.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let merged = json(&dir.join("out/results.json"));
    let cells = merged["cells"].as_array().unwrap();
    let status: Vec<&str> = cells.iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "ok", "failed", "failed"]);
    assert!(cells[2]["error"].as_str().unwrap().contains("ways"), "{}", cells[2]["error"]);
    // `metrics` keeps just what it names, in its order.
    assert_eq!(merged["columns"], serde_json::json!(["cycles", "totals.misses"]));
    // Memory three times slower: the same misses, more cycles.
    let (fast, slow) = (&cells[0]["metrics"], &cells[1]["metrics"]);
    assert_eq!(fast["totals.misses"], slow["totals.misses"]);
    assert!(slow["cycles"].as_u64() > fast["cycles"].as_u64());
    let config = std::fs::read_to_string(dir.join("out/configs/00001.toml")).unwrap();
    assert!(config.contains("latency = 300") && config.contains("ways = 2"), "{config}");
}

#[test]
fn an_app_sweep_takes_the_app_as_its_input() {
    let dir = scratch("apps");
    let grid = dir.join("grid.toml");
    std::fs::write(
        &grid,
        "[sweep]\ncommand = \"app\"\ninputs = [\"paxos\", \"raft\"]\nout = \"out\"\n[axes]\nops = [2]\nseed = [1, 2]\n",
    )
    .unwrap();
    let o = cohsim(&["sweep", grid.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let merged = json(&dir.join("out/results.json"));
    let apps: Vec<&str> =
        merged["cells"].as_array().unwrap().iter().map(|c| c["metrics"]["app"].as_str().unwrap()).collect();
    assert_eq!(apps, ["paxos", "paxos", "raft", "raft"]);
}

/// A bad grid: exit 2, a message naming the file and line, and nothing run
/// (no out folder).
fn rejected(name: &str, body: &str, extra: &[&str]) -> String {
    let dir = scratch(name);
    let grid = dir.join("g.toml");
    std::fs::write(&grid, format!("[sweep]\ncommand = \"run\"\ninputs = [{:?}]\nout = \"out\"\n{body}", trace()))
        .unwrap();
    let mut args = vec!["sweep", grid.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = cohsim(&args);
    assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
    assert!(!dir.join("out").exists(), "{name}: something ran");
    stderr(&o)
}

#[test]
fn bad_grids_name_the_place_and_run_nothing() {
    // Lines counted in the grid `rejected` writes: [sweep] is line 1, so
    // [axes] is line 5 and its first key line 6.
    let e = rejected("unknown", "[axes]\nprotocol = [\"mesi\"]\nbogus = [1]\n", &[]);
    assert!(e.contains("g.toml:7: unknown key `bogus`"), "{e}");
    let e = rejected("empty", "[axes]\nprotocol = []\n", &[]);
    assert!(e.contains("g.toml:6: axis `protocol` is empty"), "{e}");
    let e = rejected("type", "[axes]\ncores = [\"four\"]\n", &[]);
    assert!(e.contains("g.toml:6: axis `cores` = four"), "{e}");
    let e = rejected("config-type", "[axes]\n\"memory.latency\" = [\"slow\"]\n", &[]);
    assert!(e.contains("g.toml:6: axis `memory.latency` = slow") && e.contains("u64"), "{e}");
    let e = rejected("not-a-list", "[axes]\nprotocol = \"mesi\"\n", &[]);
    assert!(e.contains("g.toml:6: axis `protocol`: expected a list"), "{e}");
    let e = rejected("sweep-key", "colour = \"red\"\n", &[]);
    assert!(e.contains("g.toml:5: unknown field `colour`"), "{e}");
    let e = rejected("shard", "", &["--shard", "3/2"]);
    assert!(e.contains("--shard \"3/2\""), "{e}");
    let e = rejected("shard-zero", "", &["--shard", "0/2"]);
    assert!(e.contains("--shard \"0/2\""), "{e}");
}

#[test]
fn a_killed_sweep_leaves_only_whole_records_and_resume_runs_the_rest() {
    let dir = scratch("killed");
    let trace = dir.join("t.csv");
    let g = cohsim(&["gen", "uniform-random", "--cores", "4", "--ops", "20000", "-o", trace.to_str().unwrap()]);
    assert!(g.status.success());
    let grid = dir.join("grid.toml");
    std::fs::write(
        &grid,
        "[sweep]\ncommand = \"run\"\ninputs = [\"t.csv\"]\nout = \"out\"\n[axes]\nseed = [1, 2, 3, 4, 5, 6, 7, 8]\n",
    )
    .unwrap();
    let mut child = Command::new(COHSIM)
        .args(["sweep", grid.to_str().unwrap(), "--quiet", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cells = dir.join("out/cells");
    let records =
        || std::fs::read_dir(&cells).map(|d| d.filter_map(Result::ok).collect::<Vec<_>>()).unwrap_or_default();
    let start = std::time::Instant::now();
    while records().iter().filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count() < 2 {
        assert!(start.elapsed().as_secs() < 120, "no record after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Every file named like a record parses as one (temporary files start with a dot).
    let done: Vec<String> = records()
        .into_iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    for name in &done {
        let r = json(&cells.join(name));
        assert_eq!(r["status"], "ok", "{name}");
    }
    if done.len() == 8 {
        eprintln!("the sweep ended before it was killed: nothing left to resume");
        return;
    }
    let o = cohsim(&["sweep", grid.to_str().unwrap(), "--quiet", "--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = format!("8 cells: {} ran (0 failed), {} done before", 8 - done.len(), done.len());
    assert!(stderr(&o).contains(&want), "{}\nwanted: {want}", stderr(&o));
}
