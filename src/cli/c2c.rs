//! `cohsim c2c`: the core-to-core latency matrix (`apps::c2c`) of a machine,
//! as a table (cycles, the round trip halved) or `--json` (`matrix`: N rows
//! of N cycles; `one_way`: row i taking the line from column j).

use anyhow::{Result, bail};
use clap::Args;
use serde_json::json;

use super::common::{emit, parse_protocol, parse_topology};
use crate::apps::c2c;
use crate::config::{MAX_CORES, SystemConfig};

#[derive(Args, Debug)]
pub struct C2cArgs {
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    #[arg(long, default_value = "mesh")]
    pub topology: String,
    #[arg(long, default_value = "mesi")]
    pub protocol: String,
    /// Directory slices (a power of two, at most the cores); the flag's line
    /// has its home on one of them.
    #[arg(long, default_value_t = 1)]
    pub slices: usize,
    /// The directory slice that is home to the flag's line.
    #[arg(long, default_value_t = 0)]
    pub home: usize,
    /// Counted hand-offs each way per pair.
    #[arg(long, default_value_t = 8)]
    pub rounds: u32,
    /// Cycles between turns (each hand-off runs on a quiet machine).
    #[arg(long, default_value_t = 2000)]
    pub gap: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: C2cArgs) -> Result<i32> {
    if a.cores < 2 || a.cores > MAX_CORES.min(256) {
        bail!("--cores: {} is outside 2..=256 (a pair of cores at least)", a.cores);
    }
    if a.rounds == 0 || a.rounds > 1000 {
        bail!("--rounds: {} is outside 1..=1000", a.rounds);
    }
    if a.gap == 0 || a.gap > 1 << 32 {
        bail!("--gap: {} is outside 1..=2^32", a.gap);
    }
    let mut cfg = SystemConfig {
        cores: a.cores,
        protocol: parse_protocol(&a.protocol, "--protocol")?,
        ..SystemConfig::default()
    };
    cfg.network.topology = parse_topology(&a.topology)?;
    cfg.directory.slices = a.slices;
    cfg.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.home >= a.slices {
        bail!("--home: slice {} does not exist (slices 0..{})", a.home, a.slices);
    }
    let Some(l) = super::clock::finished(c2c::measure(&cfg, a.rounds, a.gap, a.home), "c2c")? else {
        return Ok(1);
    };
    if a.json {
        let v = json!({
            "cores": a.cores,
            "topology": cfg.network.topology.name(),
            "protocol": cfg.protocol.name(),
            "slices": a.slices,
            "flag": format!("{:#x}", l.flag),
            "home_tile": l.home_tile,
            "rounds": a.rounds,
            "matrix": l.matrix,
            "one_way": l.one_way,
        });
        emit(&None, &(serde_json::to_string_pretty(&v)? + "\n"))?;
        return Ok(0);
    }
    let mut t = format!(
        "core-to-core latency, cycles (CAS hand-off, round trip halved): {} cores, {}, {}, home of the flag on tile {}\n\n",
        a.cores,
        cfg.network.topology.name(),
        cfg.protocol.name(),
        l.home_tile
    );
    t += "      ";
    for j in 0..a.cores {
        t += &format!("{j:>6}");
    }
    t += "\n";
    for (i, row) in l.matrix.iter().enumerate() {
        t += &format!("{i:>6}");
        for (j, x) in row.iter().enumerate() {
            t += &if i == j { format!("{:>6}", "-") } else { format!("{x:>6.0}") };
        }
        t += "\n";
    }
    emit(&None, &t)?;
    Ok(0)
}
