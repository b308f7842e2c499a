//! `cohsim app broadcast`: ordered broadcast on the cores
//! (`apps::broadcast`): FIFO, causal (vector clocks and a hold-back queue) or
//! total (a sequencer), each delivery order checked against the truth on every
//! run. A monitor finding exits 1; bad settings exit 2.

use anyhow::{Result, anyhow, bail};
use clap::Args;

use super::app::MachineArgs;
use super::common::emit;
use crate::apps::broadcast::{BroadcastRun, Order};
use crate::config::MAX_CORES;

#[derive(Args, Debug)]
pub struct BroadcastArgs {
    /// fifo, causal, total (broken-fifo, broken-causal, broken-total: wrong on
    /// purpose, for the monitors to catch).
    #[arg(long, default_value = "causal")]
    pub order: String,
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    /// Broadcasts per process.
    #[arg(long, default_value_t = 20)]
    pub casts: u32,
    /// Cycles between a process's broadcasts.
    #[arg(long)]
    pub period: Option<u64>,
    #[arg(long)]
    pub max_cycles: Option<u64>,
    #[command(flatten)]
    pub machine: MachineArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: BroadcastArgs) -> Result<i32> {
    let order: Order = a.order.parse().map_err(|e| anyhow!("--order: {e}"))?;
    // A sequencer's numbered message names its sender in one byte.
    const MOST: usize = 256;
    if a.cores == 0 || a.cores > MOST.min(MAX_CORES) {
        bail!("--cores: {} is outside 1..={MOST}", a.cores);
    }
    if a.casts == 0 || u64::from(a.casts) * a.cores as u64 > 1 << 24 {
        bail!("--casts: {} is outside 1..=2^24 / cores", a.casts);
    }
    let mut run = BroadcastRun::new(a.machine.config(a.cores)?, order, a.casts);
    run.timeline = a.machine.timeline_spec()?;
    if let Some(p) = a.period {
        if p == 0 || p > 1 << 40 {
            bail!("--period: {p} cycles is outside 1..=2^40");
        }
        run.period = p;
    }
    run.faults = a.machine.plan(a.cores, true)?;
    run.jitter = a.machine.network_jitter();
    run.max_cycles = a.max_cycles;
    let Some(mut report) = super::clock::finished(run.run(), &format!("app broadcast {}", order.name()))? else {
        return Ok(1);
    };
    if let Some(t) = report.timeline.as_mut() {
        a.machine.timeline.write(t, None)?;
    }
    if let Some(dir) = &a.machine.report {
        let title = format!("cohsim app broadcast {}: {} cores", order.name(), a.cores);
        super::common::write_report(dir, crate::view::messages_page(&title, a.cores, &report.messages, &report.stats))?;
    }
    let text = if a.json { serde_json::to_string_pretty(&report.to_json())? + "\n" } else { report.table() };
    emit(&None, &text)?;
    for v in report.violations.iter().take(10) {
        eprintln!("cohsim: violation ({}): {}", v.monitor, v.what);
    }
    Ok(if report.violations.is_empty() { 0 } else { 1 })
}
