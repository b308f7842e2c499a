//! Handing a sweep to Slurm: a job-array script whose task `I` of `N` runs
//! `cohsim sweep GRID --shard I/N --resume` on one node, and, with
//! `--submit`, its submission through `sbatch`.
//!
//! cohsim does not schedule anything itself on a cluster: Slurm places the
//! tasks, `--array-max` bounds how many run at once, and each task writes its
//! cells' records into the shared `out` folder, exactly as a local run would.
//! `--resume` in every task makes a requeued or re-submitted array skip the
//! cells already done. `cohsim sweep merge OUT` gathers them afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::files;
use super::grid::Grid;

#[derive(Clone, Debug, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub array_max: Option<usize>,
    /// Array tasks (shards); by default one per cell, at most 1,000.
    pub tasks: Option<usize>,
    /// Host threads per task (`--cpus-per-task`, and `--jobs` inside the task).
    pub cpus: usize,
}

/// Quotes a word for the shell.
fn sh(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:=%,".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The script's text, for a grid at `grid_file` (absolute) and the cohsim
/// binary at `exe`.
pub fn script(grid: &Grid, grid_file: &Path, exe: &Path, o: &SlurmOptions) -> String {
    let tasks = tasks(grid, o);
    let out = grid.out.display().to_string();
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("# A cohsim sweep of {} cells as {tasks} Slurm array tasks; written by\n", grid.cells.len());
    s += "# `cohsim sweep --slurm`. Merge the results with: cohsim sweep merge OUT\n";
    s += &format!("#SBATCH --job-name=cohsim-sweep\n#SBATCH --array=1-{tasks}");
    if let Some(k) = o.array_max {
        s += &format!("%{k}");
    }
    s += &format!("\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", o.cpus);
    s += &format!("#SBATCH --output={}\n", sh(&format!("{out}/slurm/%A_%a.out")));
    if let Some(p) = &o.partition {
        s += &format!("#SBATCH --partition={}\n", sh(p));
    }
    if let Some(t) = &o.time {
        s += &format!("#SBATCH --time={}\n", sh(t));
    }
    s += "set -euo pipefail\n";
    s += &format!(
        "exec {} sweep {} --out {} --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\" --jobs {} --resume --quiet\n",
        sh(&exe.display().to_string()),
        sh(&grid_file.display().to_string()),
        sh(&out),
        o.cpus
    );
    s
}

pub fn tasks(grid: &Grid, o: &SlurmOptions) -> usize {
    o.tasks.unwrap_or(grid.cells.len().min(1000)).max(1)
}

pub fn script_path(out: &Path) -> PathBuf {
    out.join("slurm").join("sweep.sbatch")
}

/// Writes the manifest and the script; returns the script's path.
pub fn write(grid: &Grid, o: &SlurmOptions) -> Result<PathBuf> {
    let grid_file =
        std::fs::canonicalize(&grid.file).with_context(|| format!("cannot resolve {}", grid.file.display()))?;
    let exe = std::env::current_exe().context("cannot find the cohsim executable for the script")?;
    files::write_manifest(&grid.out, grid)?;
    std::fs::create_dir_all(grid.out.join("slurm"))?;
    let path = script_path(&grid.out);
    files::write_whole(&path, script(grid, &grid_file, &exe, o).as_bytes())?;
    Ok(path)
}

/// Submits the script with `sbatch --parsable` (and `--wait`); returns the job id.
pub fn submit(script: &Path, wait: bool) -> Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if wait {
        cmd.arg("--wait");
    }
    let output = cmd.arg(script).output().context("cannot run sbatch (is Slurm installed and on PATH?)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let job = stdout.lines().next().unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    // With --wait, sbatch exits with the array's status: a failed cell is the
    // merge's to report, once a job id shows the array was submitted.
    let submitted = wait && !job.is_empty();
    if !output.status.success() && !submitted {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::sh;

    #[test]
    fn shell_quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(sh("/a/b-c_d.toml"), "/a/b-c_d.toml");
        assert_eq!(sh("my grid.toml"), "'my grid.toml'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh(""), "''");
    }
}
