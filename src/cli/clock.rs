//! `cohsim app clock`: clocks on the cores (`apps::clocks`). Logical clocks
//! (`--algo lamport|vector|hlc`, and their broken variants) run an
//! application of local, send and receive events and are graded against the
//! true happens-before relation; physical clock synchronisation
//! (`--algo cristian|berkeley|ntp|ptp`) is graded against true time. Each
//! core's clock drifts as `--clock-skew`, `--drift-ppm` and `--clock-jitter`
//! say (a seeded spread). A monitor finding exits 1; bad settings exit 2.

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::{Value, json};

use super::app::MachineArgs;
use super::common::emit;
use crate::apps::clocks::logical::LogicalAlgo;
use crate::apps::clocks::logical_run::{LogicalReport, LogicalRun};
use crate::apps::clocks::sync::{MAX_PERIOD, MIN_PERIOD, SyncAlgo, SyncRun};
use crate::apps::json::hardware_counts;
use crate::config::MAX_CORES;
use crate::engine::{FrontendError, SimError};
use crate::exec::clock::ClockSpec;

#[derive(Args, Debug)]
pub struct ClockArgs {
    /// lamport, vector, hlc (broken-lamport, broken-vector, broken-hlc: wrong
    /// on purpose), or cristian, berkeley, ntp, ptp (synchronisation).
    #[arg(long)]
    pub algo: String,
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    /// Logical clocks: local-or-send events per process.
    #[arg(long, default_value_t = 100)]
    pub events: u32,
    /// Synchronisation: rounds per process.
    #[arg(long, default_value_t = 8)]
    pub rounds: u32,
    /// Cycles between a process's events (logical) or rounds (synchronisation).
    #[arg(long)]
    pub period: Option<u64>,
    /// Clock offsets spread uniformly in -SKEW..=SKEW cycles at cycle 0.
    #[arg(long, default_value_t = 5_000)]
    pub clock_skew: u64,
    /// Clock drifts spread uniformly in -PPM..=PPM parts per million.
    #[arg(long, default_value_t = 50.0, allow_negative_numbers = true)]
    pub drift_ppm: f64,
    /// Up to this many cycles added to each clock read.
    #[arg(long, default_value_t = 0)]
    pub clock_jitter: u64,
    #[arg(long)]
    pub max_cycles: Option<u64>,
    /// Synchronisation: write each core's offset from true time over the run
    /// as CSV (cycle,core,offset).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

enum Algo {
    Logical(LogicalAlgo),
    Sync(SyncAlgo),
}

fn parse_algo(s: &str) -> Result<Algo> {
    if let Ok(a) = s.parse::<LogicalAlgo>() {
        return Ok(Algo::Logical(a));
    }
    if let Ok(a) = s.parse::<SyncAlgo>() {
        return Ok(Algo::Sync(a));
    }
    let logical: Vec<&str> = LogicalAlgo::ALL.iter().map(|a| a.name()).collect();
    let sync: Vec<&str> = SyncAlgo::ALL.iter().map(|a| a.name()).collect();
    bail!("--algo: unknown clock algorithm {s:?}: expected one of {}, {}", logical.join(", "), sync.join(", "))
}

pub fn run(a: ClockArgs) -> Result<i32> {
    let algo = parse_algo(&a.algo)?;
    if a.cores == 0 || a.cores > MAX_CORES {
        bail!("--cores: {} is outside 1..={MAX_CORES}", a.cores);
    }
    if matches!(algo, Algo::Logical(_)) && !(1..=1 << 24).contains(&a.events) {
        bail!("--events: {} is outside 1..=2^24", a.events);
    }
    if matches!(algo, Algo::Sync(_)) && !(1..=1_000_000).contains(&a.rounds) {
        bail!("--rounds: {} is outside 1..=1,000,000", a.rounds);
    }
    if matches!(algo, Algo::Sync(_)) && a.cores < 2 {
        bail!("--cores: synchronisation needs a server and a client (at least 2 cores)");
    }
    if let Some(p) = a.period
        && (p == 0 || p > 1 << 40)
    {
        bail!("--period: {p} cycles is outside 1..=2^40");
    }
    if a.clock_jitter > 1 << 20 {
        bail!("--clock-jitter: {} cycles is absurd (at most 2^20)", a.clock_jitter);
    }
    let specs = ClockSpec::spread(a.cores, a.clock_skew, a.drift_ppm, a.clock_jitter, a.machine.seed).map_err(|e| {
        let setting = if e.contains("ppm") { "--drift-ppm" } else { "--clock-skew" };
        anyhow!("{setting}: {e}")
    })?;
    let timeline = a.machine.timeline_spec()?;
    let cfg = a.machine.config(a.cores)?;
    let faults = a.machine.plan(a.cores, true)?;
    let jitter = a.machine.network_jitter();
    let (doc, table, failed) = match algo {
        Algo::Logical(algo) => {
            if a.csv.is_some() {
                bail!("--csv: offsets over time are for synchronisation algorithms (cristian, berkeley, ntp, ptp)");
            }
            let mut run = LogicalRun::new(cfg, algo, a.events);
            run.clocks = specs;
            run.jitter = jitter;
            run.faults = faults;
            run.max_cycles = a.max_cycles;
            run.timeline = timeline;
            if let Some(p) = a.period {
                run.period = p;
            }
            let Some(mut report) = finished(run.run(), &format!("app clock {}", algo.name()))? else { return Ok(1) };
            if let Some(t) = report.timeline.as_mut() {
                a.machine.timeline.write(t, None)?;
            }
            if let Some(dir) = &a.machine.report {
                let title = format!("cohsim app clock {}: {} cores", algo.name(), a.cores);
                let page = crate::view::messages_page(&title, a.cores, &report.messages, &report.stats);
                super::common::write_report(dir, page)?;
            }
            let doc = logical_json(&a, algo, &report);
            let table = logical_table(&a, algo, &doc);
            (doc, table, !report.violations.is_empty())
        }
        Algo::Sync(algo) => {
            let mut run = SyncRun::new(cfg, algo, specs);
            run.timeline = timeline;
            run.rounds = a.rounds;
            run.jitter = jitter;
            run.faults = faults;
            run.max_cycles = a.max_cycles;
            if let Some(p) = a.period {
                if !(MIN_PERIOD..=MAX_PERIOD).contains(&p) {
                    bail!("--period: {p} cycles is outside {MIN_PERIOD}..={MAX_PERIOD} for a synchronisation round");
                }
                run.period = p;
            }
            let Some(mut report) = finished(run.run(), &format!("app clock {}", algo.name()))? else { return Ok(1) };
            if let Some(t) = report.timeline.as_mut() {
                a.machine.timeline.write(t, None)?;
            }
            if let Some(path) = &a.csv {
                super::common::write_atomically(path, report.csv().as_bytes())?;
            }
            if let Some(dir) = &a.machine.report {
                let title = format!("cohsim app clock {}: {} cores", algo.name(), a.cores);
                super::common::write_report(dir, crate::view::clock_page(&title, &report.offsets.samples))?;
            }
            (report.to_json(), report.table(), !report.violations.is_empty())
        }
    };
    let text = if a.json { serde_json::to_string_pretty(&doc)? + "\n" } else { table };
    emit(&None, &text)?;
    for v in doc["violations"].as_array().into_iter().flatten().take(10) {
        eprintln!("cohsim: violation ({}): {}", v["monitor"].as_str().unwrap_or(""), v["what"].as_str().unwrap_or(""));
    }
    Ok(if failed { 1 } else { 0 })
}

/// A run's report; a bad setting is an error (exit 2), any other failure of
/// the run is said and gives `None` (exit 1).
pub(super) fn finished<T>(result: Result<T, SimError>, what: &str) -> Result<Option<T>> {
    match result {
        Ok(r) => Ok(Some(r)),
        Err(SimError::Frontend(e @ FrontendError::Input(_))) => bail!("{e}"),
        Err(e) => {
            eprintln!("cohsim: {what}: {e}");
            Ok(None)
        }
    }
}

fn logical_json(a: &ClockArgs, algo: LogicalAlgo, r: &LogicalReport) -> Value {
    let s = &r.stats;
    let (by_type, hardware) = hardware_counts(s);
    let coherence: u64 = s.msg_count.iter().sum();
    let received: usize = r.messages.iter().map(|m| m.received.len()).sum();
    json!({
        "app": "clock",
        "algo": algo.name(),
        "cores": a.cores,
        "seed": a.machine.seed,
        "protocol": a.machine.protocol.to_ascii_lowercase(),
        "topology": a.machine.topology.to_ascii_lowercase(),
        "cycles": s.cycles,
        "violations": r.violations,
        "software": {
            "messages": r.messages.len(),
            "received": received,
            "bytes": r.messages.iter().map(|m| m.bytes).sum::<usize>(),
            "by_kind": { "app": r.messages.len() },
        },
        "coherence": { "messages": coherence, "invalidations": s.invalidations, "by_type": by_type },
        "primitives": { "hardware": hardware, "software": { "4c": r.messages.len() } },
        "events": r.events.len(),
        "edges_checked": r.edges,
        "pairs_checked": r.pairs_checked,
        "hlc": r.hlc,
        "events_hash": format!("{:016x}", r.events_hash),
    })
}

fn logical_table(a: &ClockArgs, algo: LogicalAlgo, r: &Value) -> String {
    let mut s = format!(
        "cohsim app clock: {}, {} cores, {} events each, {}, {}, seed {}\n\n",
        algo.name(),
        a.cores,
        a.events,
        a.machine.protocol.to_ascii_uppercase(),
        a.machine.topology,
        a.machine.seed
    );
    s += &format!(
        "  events {} ({} messages sent, {} received); happens-before edges checked {}; vector pairs checked {}\n",
        r["events"], r["software"]["messages"], r["software"]["received"], r["edges_checked"], r["pairs_checked"]
    );
    if !r["hlc"].is_null() {
        s += &format!(
            "  hlc: skew epsilon {} cycles, largest l - pt {}, largest c {}\n",
            r["hlc"]["epsilon"], r["hlc"]["max_l_minus_pt"], r["hlc"]["max_c"]
        );
    }
    s += &format!(
        "  coherence messages {}; cycles {}; violations {}\n",
        r["coherence"]["messages"],
        r["cycles"],
        r["violations"].as_array().map_or(0, Vec::len)
    );
    s
}
