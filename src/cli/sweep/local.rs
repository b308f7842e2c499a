//! Running a sweep's cells on this machine: `--jobs N` host threads, each
//! running one cell at a time as a child `cohsim` process.
//!
//! A child process per cell, not a call in this process: a cell that fails
//! in any way (a bad setting, a failed check, a crash, running out of memory)
//! becomes that cell's record and the sweep goes on; and a cell runs exactly
//! the command line a user can copy from its record to replay it. Each record
//! is written whole when its cell ends, so a sweep that is stopped loses only
//! the cells in flight, and `--resume` runs only what is not done.

use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use super::files::{self, CellRecord};
use super::grid::{CONFIG_PLACEHOLDER, Cell, Grid};

/// Which cells this process runs: the `index`-th (1-based) of `of` slices,
/// cell `i` going to slice `i % of + 1`, so every slice gets a spread of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub of: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 1, of: 1 };

    /// `I/N` with 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, of): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if of == 0 || index == 0 || index > of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }

    pub fn holds(self, cell: usize) -> bool {
        cell % self.of + 1 == self.index
    }
}

/// How a local run went.
#[derive(Debug, Default)]
pub struct Tally {
    pub ran: usize,
    pub skipped: usize,
    pub failed: Vec<String>,
}

/// The command line of a cell, with its configuration file's real path.
pub fn argv_of(out: &Path, cell: &Cell) -> Vec<String> {
    let config = files::config_path(out, cell.index).to_string_lossy().into_owned();
    cell.argv.iter().map(|a| if a == CONFIG_PLACEHOLDER { config.clone() } else { a.clone() }).collect()
}

/// Runs this shard's cells on `jobs` threads.
pub fn run(grid: &Grid, shard: Shard, jobs: usize, resume: bool, quiet: bool) -> Result<Tally> {
    let out = &grid.out;
    files::write_manifest(out, grid)?;
    let exe = std::env::current_exe().context("cannot find the cohsim executable to run the cells")?;
    let mine: Vec<&Cell> = grid.cells.iter().filter(|c| shard.holds(c.index)).collect();
    let mut todo = Vec::new();
    let mut tally = Tally::default();
    for cell in mine {
        if resume && files::done_before(out, cell, &argv_of(out, cell)) {
            tally.skipped += 1;
        } else {
            todo.push(cell);
        }
    }
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(todo.len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "sweep [{bar:30}] {pos}/{len} cells, {msg}, {elapsed} spent, ETA {eta}",
            )
            .expect("valid template"),
        );
        b.set_message("0 failed");
        b
    });
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(todo.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cell) = todo.get(k) else { break };
                    match run_cell(&exe, out, cell) {
                        Ok(record) => {
                            if !record.ok() {
                                let why =
                                    record.error.as_deref().and_then(|e| e.lines().last()).unwrap_or("").to_string();
                                let line = format!("cell {} ({}): {why}", cell.index, cell.name);
                                match &bar {
                                    Some(b) => b.println(format!("cohsim: sweep: failed: {line}")),
                                    None => eprintln!("cohsim: sweep: failed: {line}"),
                                }
                                let mut f = failed.lock().expect("no thread panics holding it");
                                f.push(line);
                                if let Some(b) = &bar {
                                    b.set_message(format!("{} failed", f.len()));
                                }
                            }
                        }
                        Err(e) => errors.lock().expect("no thread panics holding it").push(format!("{e:#}")),
                    }
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                }
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = errors.into_inner().expect("threads done").into_iter().next() {
        anyhow::bail!("{e}");
    }
    tally.ran = todo.len();
    let mut failed = failed.into_inner().expect("threads done");
    failed.sort();
    tally.failed = failed;
    Ok(tally)
}

/// Runs one cell and writes its record. An error here is the sweep's own
/// (cannot write the out folder, cannot start a process), not the cell's.
fn run_cell(exe: &Path, out: &Path, cell: &Cell) -> Result<CellRecord> {
    if let Some(text) = &cell.config {
        files::write_whole(&files::config_path(out, cell.index), text.as_bytes())?;
    }
    let argv = argv_of(out, cell);
    let output = Command::new(exe)
        .args(&argv)
        .output()
        .with_context(|| format!("cannot start {} for cell {}", exe.display(), cell.index))?;
    let code = output.status.code();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    let parsed = serde_json::from_slice::<serde_json::Value>(&output.stdout);
    let (status, error, result) = match (code, parsed) {
        (Some(0), Ok(mut v)) => {
            strip_host(&mut v);
            ("ok", None, Some(v))
        }
        (Some(0), Err(e)) => ("failed", Some(format!("the command's output is not JSON: {e}")), None),
        (Some(c), _) => ("failed", Some(format!("exit status {c}: {}", tail(&stderr))), None),
        (None, _) => ("failed", Some(format!("killed by a signal: {}", tail(&stderr))), None),
    };
    let record = CellRecord {
        cell: cell.index,
        name: cell.name.clone(),
        axes: cell.axes.clone(),
        argv,
        status: status.to_string(),
        exit: code,
        error,
        result,
    };
    files::write_whole(&files::cell_path(out, cell.index), serde_json::to_string_pretty(&record)?.as_bytes())?;
    Ok(record)
}

/// Removes every `host` member (wall-clock seconds, rates): they depend on the
/// machine and its load, not on the cell.
fn strip_host(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("host");
            m.values_mut().for_each(strip_host);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_host),
        _ => {}
    }
}

/// Seconds since `t`, for the closing line.
pub fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
