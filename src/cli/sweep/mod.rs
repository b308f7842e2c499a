//! `cohsim sweep GRID.toml`: one command for a grid of experiments, run on
//! this machine's cores or handed to Slurm as a job array, and `cohsim sweep
//! merge DIR` to gather the results into one table.
//!
//! The grid file is read and checked whole before anything runs
//! (`grid.rs`); cells run as child processes (`local.rs`) and each leaves
//! one record (`files.rs`); Slurm gets a script that runs the same shards
//! (`slurm.rs`); the merge makes one CSV and one JSON (`merge.rs`).
//! Exit status: 0 every cell passed, 1 a cell failed or is missing, 2 bad input.

mod files;
mod grid;
mod local;
mod merge;
mod slurm;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};

use local::Shard;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// The grid file (see the README's "Sweeps" section).
    #[arg(value_name = "GRID.toml", required = true)]
    pub grid: Option<PathBuf>,
    /// Write the results here instead of the grid's `out`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Cells run at once on this machine [default: the host's cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Skip the cells an earlier run of the same grid finished well.
    #[arg(long)]
    pub resume: bool,
    /// Run only the I-th of N slices of the cells (cell i is in slice i mod N + 1).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// List the cells and their command lines; run nothing.
    #[arg(long)]
    pub list: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write a Slurm job-array script (OUT/slurm/sweep.sbatch) instead of running.
    #[arg(long)]
    pub slurm: bool,
    /// Submit the script with sbatch (implies --slurm).
    #[arg(long)]
    pub submit: bool,
    /// With --submit: wait for the array to end, then merge.
    #[arg(long, requires = "submit")]
    pub wait: bool,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per task (e.g. 01:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// At most this many array tasks at once (the %K of --array).
    #[arg(long)]
    pub array_max: Option<usize>,
    /// Array tasks, each one shard [default: one per cell, at most 1,000].
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Cores per array task (each task runs that many cells at once) [default: 1].
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum SweepAction {
    /// Gather a sweep's cell records into DIR/results.csv and DIR/results.json.
    Merge {
        /// The sweep's out folder.
        dir: PathBuf,
    },
}

pub fn run(mut a: SweepArgs) -> Result<i32> {
    if let Some(SweepAction::Merge { dir }) = &a.action {
        return report_merge(dir);
    }
    a.slurm |= a.submit;
    let file = a.grid.clone().expect("clap requires GRID.toml");
    let shard = match &a.shard {
        None => Shard::ALL,
        Some(s) => Shard::parse(s).map_err(|e| anyhow!(e))?,
    };
    if a.jobs == Some(0) {
        return Err(anyhow!("--jobs 0: at least one cell must run at a time"));
    }
    for (flag, v) in [("--array-max", a.array_max), ("--tasks", a.tasks), ("--cpus-per-task", a.cpus_per_task)] {
        if v == Some(0) {
            return Err(anyhow!("{flag} 0: must be at least 1"));
        }
        if v.is_some() && !a.slurm {
            return Err(anyhow!("{flag}: a Slurm setting; add --slurm or --submit"));
        }
    }
    for (flag, v) in [("--partition", &a.partition), ("--time", &a.time)] {
        if v.is_some() && !a.slurm {
            return Err(anyhow!("{flag}: a Slurm setting; add --slurm or --submit"));
        }
    }
    let mut grid = grid::load(&file)?;
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out).map_err(|e| anyhow!("--out {}: {e}", out.display()))?;
        grid.out = std::fs::canonicalize(out).map_err(|e| anyhow!("--out {}: {e}", out.display()))?;
    }
    if a.list {
        for cell in grid.cells.iter().filter(|c| shard.holds(c.index)) {
            crate::cli::outln!(
                "{:5}  {}\n       cohsim {}",
                cell.index,
                cell.name,
                local::argv_of(&grid.out, cell).join(" ")
            )?;
        }
        return Ok(0);
    }
    if a.slurm {
        if a.shard.is_some() {
            return Err(anyhow!("--shard: a Slurm array runs every shard; leave --shard out"));
        }
        let opts = slurm::SlurmOptions {
            partition: a.partition.clone(),
            time: a.time.clone(),
            array_max: a.array_max,
            tasks: a.tasks,
            cpus: a.cpus_per_task.unwrap_or(1),
        };
        let script = slurm::write(&grid, &opts)?;
        let n = slurm::tasks(&grid, &opts);
        if !a.submit {
            eprintln!("cohsim: sweep: {} cells in {n} array tasks; submit with:", grid.cells.len());
            crate::cli::outln!("sbatch {}", script.display())?;
            return Ok(0);
        }
        let job = slurm::submit(&script, a.wait)?;
        eprintln!("cohsim: sweep: submitted job array {job} ({n} tasks, {} cells)", grid.cells.len());
        if !a.wait {
            crate::cli::outln!("{job}")?;
            eprintln!("cohsim: sweep: when it is done: cohsim sweep merge {}", grid.out.display());
            return Ok(0);
        }
        return report_merge(&grid.out);
    }
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let start = Instant::now();
    let tally = local::run(&grid, shard, jobs, a.resume, a.quiet)?;
    let mine = grid.cells.iter().filter(|c| shard.holds(c.index)).count();
    eprintln!(
        "cohsim: sweep: {mine} cells{}: {} ran ({} failed), {} done before, in {:.1} s on {jobs} job(s)",
        if shard == Shard::ALL { String::new() } else { format!(" in shard {}/{}", shard.index, shard.of) },
        tally.ran,
        tally.failed.len(),
        tally.skipped,
        local::since(start),
    );
    if shard == Shard::ALL {
        return report_merge(&grid.out);
    }
    Ok(if tally.failed.is_empty() { 0 } else { 1 })
}

/// Merges and says what is missing or failed; exit 1 if anything is.
fn report_merge(dir: &std::path::Path) -> Result<i32> {
    let m = merge::merge(dir)?;
    for name in &m.missing {
        eprintln!("cohsim: sweep: missing: {name}");
    }
    for name in &m.failed {
        eprintln!("cohsim: sweep: failed: {name}");
    }
    eprintln!(
        "cohsim: sweep: merged {} cells ({} missing, {} failed) into {} and {}",
        m.rows,
        m.missing.len(),
        m.failed.len(),
        dir.join("results.csv").display(),
        dir.join("results.json").display()
    );
    Ok(if m.missing.is_empty() && m.failed.is_empty() { 0 } else { 1 })
}
