//! `cohsim record -o FILE -- PROGRAM ARGS...`: runs a real Linux program
//! under Valgrind's Lackey with the scheduler trace on, and writes its memory
//! accesses as one native CSV trace in which each thread is a core
//! (`trace::valgrind` reads the log), ready for `cohsim run FILE`. The
//! program's own output passes through; the summary goes to standard error.
//! A program that fails, or Valgrind missing, is an error (exit 2) and
//! nothing is written.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;

use crate::trace::{self, Format, MAX_CORES};

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The native CSV trace to write (written whole, or not at all).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Keep Valgrind's log here (by default a temporary file beside the output, removed).
    #[arg(long, value_name = "FILE")]
    pub keep_log: Option<PathBuf>,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "PROGRAM ARGS")]
    pub program: Vec<String>,
}

/// Removes a temporary log when dropped.
struct TempLog(Option<PathBuf>);

impl Drop for TempLog {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub fn run(a: RecordArgs) -> Result<i32> {
    let version = Command::new("valgrind").arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        bail!(
            "valgrind: not found (cohsim record runs the program under valgrind; install it, e.g. apt-get install valgrind)"
        );
    }
    let name = a.output.file_name().ok_or_else(|| anyhow!("-o {}: not a file name", a.output.display()))?;
    let (log, _temp) = match &a.keep_log {
        Some(p) => (p.clone(), TempLog(None)),
        None => {
            let mut tmp = std::ffi::OsString::from(".");
            tmp.push(name);
            tmp.push(format!(".valgrind{}.log", std::process::id()));
            let p = a.output.with_file_name(tmp);
            (p.clone(), TempLog(Some(p)))
        }
    };
    let status = Command::new("valgrind")
        .args(["--tool=lackey", "--trace-mem=yes", "--trace-sched=yes", "--fair-sched=yes"])
        .arg(format!("--log-file={}", log.display()))
        .arg("--")
        .args(&a.program)
        .status()
        .with_context(|| format!("valgrind {}: cannot start", a.program[0]))?;
    if !status.success() {
        bail!("{}: exited with {status} under valgrind (see its messages above); no trace written", a.program[0]);
    }
    let rec = trace::valgrind::read(&log).map_err(|e| anyhow!("{e}"))?;
    if rec.cores.iter().all(|c| c.iter().all(|r| r.op.is_none())) {
        bail!("{}: the log shows no data access; no trace written", a.program[0]);
    }
    if rec.cores.len() > MAX_CORES {
        bail!("{}: {} threads, more than cohsim's {MAX_CORES} cores; no trace written", a.program[0], rec.cores.len());
    }
    trace::write(Format::Csv, &a.output, &rec.cores).map_err(|e| anyhow!("{e}"))?;
    eprintln!("cohsim record: {} threads, written to {}", rec.cores.len(), a.output.display());
    for (c, records) in rec.cores.iter().enumerate() {
        let loads = records.iter().filter(|r| r.op == Some(trace::TraceOp::Read)).count();
        let stores = records.iter().filter(|r| r.op == Some(trace::TraceOp::Write)).count();
        eprintln!(
            "  core {c} (thread {}): {loads} loads, {stores} stores, {} instructions",
            rec.threads[c], rec.instructions[c]
        );
    }
    Ok(0)
}
