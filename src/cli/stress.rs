//! `cohsim stress`: the random tester (see `verify::stress`).

use std::time::Instant;

use clap::Args;

use super::common::{parse_interconnect, parse_protocol, parse_topology};
use crate::config::Interconnect;
use crate::config::MAX_CORES;
use crate::model::network::Topology;
use crate::verify::stress::{StressOptions, run_batch};

#[derive(Args, Debug)]
pub struct StressArgs {
    /// msi, mesi or moesi.
    #[arg(long, default_value = "mesi")]
    pub protocol: String,
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    #[arg(long, default_value_t = 0)]
    pub seed_start: u64,
    /// crossbar, ring or mesh; by default each seed picks one in turn.
    #[arg(long)]
    pub topology: Option<String>,
    /// Operations per core per seed.
    #[arg(long, default_value_t = 150)]
    pub ops: usize,
    /// Drop clean shared lines silently.
    #[arg(long)]
    pub silent_evict: bool,
    /// Largest random delay added to a message, in cycles.
    #[arg(long, default_value_t = 40)]
    pub jitter: u64,
    /// List the table rows no seed exercised.
    #[arg(long)]
    pub coverage: bool,
    /// network (directory protocols) or bus (snooping protocols).
    #[arg(long, default_value = "network", value_name = "network|bus")]
    pub interconnect: String,
    /// Directory organisation (full, limited:I:b, limited:I:nb, coarse:K,
    /// sparse:ENTRIES:WAYS per slice, broadcast).
    #[arg(long, default_value = "full", value_name = "ORGANISATION")]
    pub directory: String,
    /// Worker threads (seeds are split among them; results do not depend on it).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

pub fn run(a: StressArgs) -> anyhow::Result<i32> {
    let protocol = parse_protocol(&a.protocol, "--protocol")?;
    if a.cores == 0 || a.cores > MAX_CORES {
        anyhow::bail!("--cores: {} is outside 1..={MAX_CORES}", a.cores);
    }
    let topology = a.topology.as_deref().map(parse_topology).transpose()?;
    let interconnect = parse_interconnect(&a.interconnect)?;
    if interconnect == Interconnect::Bus && topology.is_some_and(|t| t != Topology::Crossbar) {
        anyhow::bail!(
            "--topology: {} makes no sense with --interconnect bus: the bus is one shared medium every cache snoops",
            a.topology.as_deref().unwrap_or_default()
        );
    }
    let opts = StressOptions {
        protocol,
        cores: a.cores,
        topology,
        ops_per_core: a.ops,
        silent_evict: a.silent_evict,
        jitter: a.jitter,
        mutation: None,
        interconnect,
        organisation: super::common::parse_organisation(&a.directory)?,
    };
    opts.organisation.validate(a.cores).map_err(|m| anyhow::anyhow!("--directory: {m}"))?;
    if interconnect == Interconnect::Bus && opts.organisation != crate::model::dir_org::Organisation::Full {
        anyhow::bail!(
            "--directory: {} makes no sense with --interconnect bus: a snooping bus has no directory",
            opts.organisation
        );
    }
    let t0 = Instant::now();
    let sum = run_batch(&opts, a.seed_start, a.seeds, a.threads);
    let secs = t0.elapsed().as_secs_f64();
    for f in &sum.failures {
        super::outln!("{f}")?;
    }
    super::outln!(
        "stress {}{}: {} cores, seeds {}..{}, topology {}: {} passed, {} failed; {} operations, {} messages in {:.1} s",
        protocol,
        match opts.organisation {
            crate::model::dir_org::Organisation::Full => String::new(),
            org => format!(" ({org} directory)"),
        },
        a.cores,
        a.seed_start,
        a.seed_start + a.seeds,
        match interconnect {
            Interconnect::Bus => "bus",
            Interconnect::Network => a.topology.as_deref().unwrap_or("crossbar/ring/mesh by seed"),
        },
        sum.passed,
        sum.failures.len(),
        sum.operations,
        sum.messages,
        secs
    )?;
    if a.coverage {
        let missing = sum.uncovered(protocol, a.silent_evict);
        super::outln!("rows not exercised ({}):", missing.len())?;
        for m in missing {
            super::outln!("  {m}")?;
        }
    }
    Ok(if sum.failures.is_empty() { 0 } else { 1 })
}
