//! `cohsim convert`: between trace formats (most usefully into the binary one).

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;

use crate::trace::{self, Format, TraceSpec, WriteOptions};

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input trace(s), as for `run`.
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<PathBuf>,
    /// Input format (auto detects).
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Output format; by default from OUT's extension (.bin, .csv), else bin.
    #[arg(long)]
    pub to: Option<String>,
    /// Line size a bin output stores each access's reuse distance for (replays
    /// with this L1 line size then classify misses without tracking reuse
    /// themselves); an access spanning such lines is stored one record per
    /// line. Other outputs keep accesses whole: a replay splits them at its
    /// own line size.
    #[arg(long, default_value_t = 64)]
    pub line: u32,
    /// bin output: leave out the reuse distances (about a byte per access).
    #[arg(long)]
    pub no_distances: bool,
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

pub fn run(a: ConvertArgs) -> Result<i32> {
    let from: Format = a.format.parse().map_err(|e| anyhow!("--format: {e}"))?;
    let to: Format = match &a.to {
        Some(t) => t.parse().map_err(|e| anyhow!("--to: {e}"))?,
        None => {
            let name = a.output.to_string_lossy();
            if name.ends_with(".csv") || name.ends_with(".csv.gz") || name.ends_with(".csv.zst") {
                Format::Csv
            } else {
                Format::Bin
            }
        }
    };
    if to == Format::Auto {
        anyhow::bail!("--to: name the output format (bin, csv, cs4223, din, lackey)");
    }
    trace::check_line_size(a.line)?;
    // Read accesses whole (no line of any replay is larger), so the output
    // replays at any line size; only the bin writer splits, at --line.
    let whole = TraceSpec { paths: a.inputs.clone(), format: from, line_size: trace::MAX_LINE_SIZE };
    let set = trace::open(&whole)?;
    let (cores, detected) = (set.cores(), set.format());
    let opts = WriteOptions { distance_line: (to == Format::Bin && !a.no_distances).then_some(a.line) };
    let summary = trace::write_streams_with(to, &a.output, set.into_streams(), opts)?;
    eprintln!(
        "cohsim convert: {} records, {} cores, {} → {}: {}",
        summary.records,
        cores,
        detected,
        to,
        summary.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    let l = summary.lossy;
    if l.gaps + l.sizes + l.values + l.compute_only > 0 {
        eprintln!(
            "cohsim convert: warning: {to} cannot hold everything: dropped {} gaps, {} sizes, {} values, {} compute-only records",
            l.gaps, l.sizes, l.values, l.compute_only
        );
    }
    Ok(0)
}
