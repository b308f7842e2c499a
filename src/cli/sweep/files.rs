//! What a sweep leaves in its `out` folder, and reading it back.
//!
//! ```text
//! out/sweep.json           the manifest: the command, the axes, every cell's name
//! out/cells/00003.json     one cell's record, written whole when the cell ends
//! out/configs/00003.toml   the machine configuration a cell ran with, if any
//! out/slurm/sweep.sbatch   the job-array script (--slurm) and its logs
//! out/results.{csv,json}   the merge (`cohsim sweep merge out`)
//! ```
//!
//! Every file is written to a temporary name of the writing process's own
//! and renamed into place, so a reader sees a whole file or none, even with
//! many Slurm tasks writing the same manifest at once.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::grid::{Cell, Grid};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub grid: String,
    pub command: Vec<String>,
    pub axes: Vec<String>,
    pub metrics: Option<Vec<String>>,
    pub cells: Vec<ManifestCell>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestCell {
    pub cell: usize,
    pub name: String,
    pub axes: Vec<(String, String)>,
}

/// One finished cell. `status` is `ok` (the command exited 0 with its JSON)
/// or `failed` (with the exit status and the end of its error output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    pub cell: usize,
    pub name: String,
    pub axes: Vec<(String, String)>,
    pub argv: Vec<String>,
    pub status: String,
    pub exit: Option<i32>,
    pub error: Option<String>,
    /// The command's JSON without its `host` parts (wall-clock time and
    /// rates), so a cell's record depends only on the cell.
    pub result: Option<serde_json::Value>,
}

impl CellRecord {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

pub fn manifest_path(out: &Path) -> PathBuf {
    out.join("sweep.json")
}

pub fn cell_path(out: &Path, index: usize) -> PathBuf {
    out.join("cells").join(format!("{index:05}.json"))
}

pub fn config_path(out: &Path, index: usize) -> PathBuf {
    out.join("configs").join(format!("{index:05}.toml"))
}

pub fn manifest_of(grid: &Grid) -> Manifest {
    Manifest {
        grid: grid.file.display().to_string(),
        command: grid.command.clone(),
        axes: grid.axes.iter().map(|a| a.name.clone()).collect(),
        metrics: grid.metrics.clone(),
        cells: grid
            .cells
            .iter()
            .map(|c| ManifestCell { cell: c.index, name: c.name.clone(), axes: c.axes.clone() })
            .collect(),
    }
}

/// Writes `bytes` to `path` whole or not at all (temporary file, then rename).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

pub fn write_manifest(out: &Path, grid: &Grid) -> Result<()> {
    let text = serde_json::to_string_pretty(&manifest_of(grid))?;
    write_whole(&manifest_path(out), text.as_bytes())
}

pub fn read_manifest(out: &Path) -> Result<Manifest> {
    let path = manifest_path(out);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("{}: cannot read the sweep's manifest (is {} a sweep's out folder?)", path.display(), out.display())
    })?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a sweep manifest", path.display()))
}

/// The record of cell `index`, if it was written; a file that does not parse is
/// an error naming it.
pub fn read_cell(out: &Path, index: usize) -> Result<Option<CellRecord>> {
    let path = cell_path(out, index);
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        Ok(text) => {
            serde_json::from_str(&text).map(Some).with_context(|| format!("{}: not a cell record", path.display()))
        }
    }
}

/// Whether a cell finished well in an earlier run of the same grid: its record
/// says `ok` and it ran exactly the command this cell would run.
pub fn done_before(out: &Path, cell: &Cell, argv: &[String]) -> bool {
    matches!(read_cell(out, cell.index), Ok(Some(r)) if r.ok() && r.argv == argv && r.name == cell.name)
}
