//! `cohsim gen`: synthetic traces.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;

use crate::trace::{self, Format, Pattern};

#[derive(Args, Debug)]
pub struct GenArgs {
    /// private, producer-consumer, migratory, false-sharing, read-mostly-shared, uniform-random or zipf.
    pub pattern: String,
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    /// Records per core.
    #[arg(long, default_value_t = 10_000)]
    pub ops: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Line size the sharing patterns are laid out for.
    #[arg(long, default_value_t = 64)]
    pub line: u32,
    /// csv (one file), bin (one file), or cs4223/din/lackey (a prefix: P_0.data, …).
    #[arg(long, default_value = "csv")]
    pub format: String,
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(a: GenArgs) -> Result<i32> {
    let pattern: Pattern = a.pattern.parse().map_err(|e| anyhow!("{e}"))?;
    let format: Format = a.format.parse().map_err(|e| anyhow!("--format: {e}"))?;
    if format == Format::Auto {
        anyhow::bail!("--format: name the output format (csv, bin, cs4223, din, lackey)");
    }
    if a.cores == 0 || a.cores > crate::config::MAX_CORES {
        anyhow::bail!("--cores: {} is outside 1..={}", a.cores, crate::config::MAX_CORES);
    }
    if a.ops == 0 {
        anyhow::bail!("--ops: must be at least 1");
    }
    if !a.line.is_power_of_two() || a.line < 8 {
        anyhow::bail!("--line: {} is not a power of two of at least 8 bytes", a.line);
    }
    let records = trace::generate(pattern, a.cores, a.ops, a.seed, a.line);
    let summary = trace::write(format, &a.output, &records)?;
    eprintln!(
        "cohsim gen: {} records of {} for {} cores → {}",
        summary.records,
        pattern.name(),
        a.cores,
        summary.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(0)
}
