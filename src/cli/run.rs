//! `cohsim run` and `cohsim compare`: replay a trace through the machine.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::{Value, json};

use super::common::{
    MachineArgs, OutputArgs, TraceArgs, emit, machine_config, open_trace, parse_protocol, progress, write_report,
};
use crate::config::{Interconnect, SystemConfig};
use crate::engine::{FrontendError, RunOptions, SimError, Simulator};
use crate::protocol::Protocol;
use crate::stats::classify::MissClassifier;
use crate::stats::report::{self, HostInfo};
use crate::stats::timeline::Timeline;
use crate::trace::replay::TraceFrontend;
use crate::verify::invariants::Checker;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// msi, mesi or moesi.
    #[arg(long, default_value = "mesi")]
    pub protocol: String,
    #[command(flatten)]
    pub machine: MachineArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub trace: TraceArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Protocols to compare, comma-separated; the first is the baseline.
    #[arg(long, default_value = "mesi,moesi", value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// Directory organisations to compare, comma-separated (each run under every
    /// protocol of --protocols; one protocol is enough then), e.g.
    /// full,limited:4:b,coarse:4,broadcast.
    #[arg(long, value_delimiter = ',', conflicts_with = "directory", value_name = "ORGANISATIONS")]
    pub directories: Vec<String>,
    #[command(flatten)]
    pub machine: MachineArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub trace: TraceArgs,
}

/// The outcome of one replay: a report document, or a failed check.
pub enum Replay {
    Done(Box<Value>, Box<crate::stats::Stats>, HostInfo),
    Failed(String),
}

/// Runs a replay (`run`, the engine's) under the trace's progress bar: the
/// host seconds it took, or the failed check; a trace that cannot be read is
/// bad input (exit 2), not a failed check.
fn drive(
    fe: &mut TraceFrontend,
    quiet: bool,
    total: Option<u64>,
    protocol: Protocol,
    bars: Option<&indicatif::MultiProgress>,
    run: impl FnOnce(&mut TraceFrontend) -> Result<(), SimError>,
) -> Result<Result<f64, Replay>> {
    let bar = progress(quiet, total, protocol.name()).map(|b| match bars {
        Some(multi) => multi.add(b),
        None => b,
    });
    if let Some(b) = bar.clone() {
        fe.progress = Some(Box::new(move |n| b.set_position(n)));
    }
    let t0 = Instant::now();
    let result = run(fe);
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(()) => Ok(Ok(seconds)),
        Err(SimError::Frontend(e @ FrontendError::Input(_))) => anyhow::bail!("{e}"),
        Err(e) => Ok(Err(Replay::Failed(e.to_string()))),
    }
}

/// Replay the trace under one protocol. With `bars`, its progress bar joins the
/// others (replays running side by side).
pub fn replay(
    protocol: Protocol,
    m: &MachineArgs,
    t: &TraceArgs,
    o: &OutputArgs,
    bars: Option<&indicatif::MultiProgress>,
) -> Result<Replay> {
    let mut cfg: SystemConfig = machine_config(m, Some(protocol))?;
    let set = open_trace(t, m, &mut cfg)?;
    if cfg.network.interconnect == Interconnect::Bus {
        return replay_on_bus(protocol, cfg, set, o, bars);
    }
    let total = set.records();
    // The observers by type, so the hot path inlines what they are told.
    let checker = o.check.then(|| Checker::new(cfg.cores));
    let classifier = (!o.no_classify).then(|| MissClassifier::for_machine(&cfg));
    let timeline = o.timeline.spec()?.map(|spec| Timeline::new(spec, cfg.cores, cfg.directory.slices));
    let opts = RunOptions { exact: o.exact, max_cycles: o.max_cycles, ..Default::default() };
    let mut sim = Simulator::with_observer(cfg, opts, ((checker, classifier), timeline));
    // The decoder threads work out what miss classification needs of each core's
    // own accesses, off the simulation thread.
    let set = if o.no_classify { set } else { set.with_reuse((cfg_lines(&sim.cfg)) as usize) };
    let mut fe = TraceFrontend::new(set.into_streams());
    let seconds = match drive(&mut fe, o.quiet, total, protocol, bars, |fe| sim.run(fe))? {
        Ok(s) => s,
        Err(failed) => return Ok(failed),
    };
    if let Some(t) = sim.observer_mut().1.as_mut() {
        // One file per run of a comparison: FILE.mesi.json, or with
        // organisations FILE.mesi.limited-2-b.json.
        let suffix = match &m.directory {
            Some(d) => format!("{}.{}", protocol.name(), d.replace(':', "-")),
            None => protocol.name().to_string(),
        };
        o.timeline.write(t, bars.map(|_| suffix.as_str()))?;
    }
    let host = HostInfo { seconds, records: fe.records() };
    let doc = report::json(protocol.name(), &sim.stats, &host);
    Ok(Replay::Done(Box::new(doc), Box::new(sim.stats.clone()), host))
}

pub fn run(a: RunArgs) -> Result<i32> {
    let protocol = parse_protocol(&a.protocol, "--protocol")?;
    match replay(protocol, &a.machine, &a.trace, &a.output, None)? {
        Replay::Failed(e) => {
            eprintln!("cohsim: {e}");
            Ok(1)
        }
        Replay::Done(doc, stats, host) => {
            let text = if a.output.json {
                serde_json::to_string_pretty(&doc)? + "\n"
            } else if a.output.csv {
                report::csv(&doc)
            } else {
                report::table(protocol.name(), &stats, &host)
            };
            emit(&a.output.output, &text)?;
            if let Some(dir) = &a.output.report {
                let title = format!("cohsim run: {}", protocol.name());
                write_report(dir, crate::view::replay_page(&title, &[(protocol.name(), &stats)]))?;
            }
            Ok(0)
        }
    }
}

pub fn compare(a: CompareArgs) -> Result<i32> {
    let protocols: Vec<Protocol> =
        a.protocols.iter().map(|p| parse_protocol(p, "--protocols")).collect::<Result<_>>()?;
    // One run per (protocol, organisation): the organisations of --directories,
    // or the machine's own.
    let mut runs: Vec<(Protocol, MachineArgs, String)> = Vec::new();
    for &p in &protocols {
        if a.directories.is_empty() {
            runs.push((p, a.machine.clone(), p.name().to_string()));
        }
        for d in &a.directories {
            let org = super::common::parse_organisation(d).map_err(|e| anyhow::anyhow!("--directories: {e}"))?;
            let machine = MachineArgs { directory: Some(org.to_string()), ..a.machine.clone() };
            let name = if protocols.len() == 1 { org.to_string() } else { format!("{p}/{org}") };
            runs.push((p, machine, name));
        }
    }
    if runs.len() < 2 {
        anyhow::bail!("--protocols: name at least two protocols (e.g. mesi,moesi), or two --directories");
    }
    // The replays are independent: run them side by side, report in order.
    let bars = indicatif::MultiProgress::new();
    let results: Vec<Result<Replay>> = std::thread::scope(|scope| {
        let runs: Vec<_> = runs
            .iter()
            .map(|(p, machine, _)| {
                let bars = &bars;
                let a = &a;
                scope.spawn(move || replay(*p, machine, &a.trace, &a.output, Some(bars)))
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a replay thread panicked"))))
            .collect()
    });
    let mut docs = Vec::new();
    let mut all_stats = Vec::new();
    for ((_, _, name), result) in runs.iter().zip(results) {
        match result? {
            Replay::Failed(e) => {
                eprintln!("cohsim: {name}: {e}");
                return Ok(1);
            }
            Replay::Done(doc, stats, _) => {
                docs.push(*doc);
                all_stats.push((name.as_str(), stats));
            }
        }
    }
    if let Some(dir) = &a.output.report {
        let runs: Vec<(&str, &crate::stats::Stats)> = all_stats.iter().map(|(n, s)| (*n, s.as_ref())).collect();
        let title = format!("cohsim compare: {}", runs.iter().map(|r| r.0).collect::<Vec<_>>().join(" vs "));
        write_report(dir, crate::view::replay_page(&title, &runs))?;
    }
    let names: Vec<String> = runs.iter().map(|r| r.2.clone()).collect();
    let text = if a.output.json {
        let rows: serde_json::Map<String, Value> = report::compare_rows(&docs)
            .into_iter()
            .map(|(k, v)| (k, json!(v.iter().map(|x| *x as u64).collect::<Vec<_>>())))
            .collect();
        let runs: serde_json::Map<String, Value> = names.iter().cloned().zip(docs.iter().cloned()).collect();
        serde_json::to_string_pretty(&json!({"protocols": names, "rows": rows, "runs": runs}))? + "\n"
    } else if a.output.csv {
        report::compare_csv(&names, &docs)
    } else {
        report::compare_table(&names, &docs)
    };
    emit(&a.output.output, &text)?;
    Ok(0)
}

/// `replay` on the snooping bus (`engine::bus`): the invariant checker when
/// asked; no miss classification or timeline (they read the directory
/// machine's transition notes, which the bus's controllers do not emit).
fn replay_on_bus(
    protocol: Protocol,
    cfg: SystemConfig,
    set: crate::trace::TraceSet,
    o: &OutputArgs,
    bars: Option<&indicatif::MultiProgress>,
) -> Result<Replay> {
    if o.timeline.timeline.is_some() {
        anyhow::bail!("--timeline: not available with --interconnect bus");
    }
    let total = set.records();
    let checker = o.check.then(|| Checker::new(cfg.cores));
    let opts = RunOptions { max_cycles: o.max_cycles, ..Default::default() };
    let mut sim = crate::engine::bus::BusSimulator::with_observer(cfg, opts, checker);
    let mut fe = TraceFrontend::new(set.into_streams());
    let seconds = match drive(&mut fe, o.quiet, total, protocol, bars, |fe| sim.run(fe))? {
        Ok(s) => s,
        Err(failed) => return Ok(failed),
    };
    let host = HostInfo { seconds, records: fe.records() };
    let doc = report::json(protocol.name(), &sim.stats, &host);
    Ok(Replay::Done(Box::new(doc), Box::new(sim.stats.clone()), host))
}

/// Lines in one L1.
fn cfg_lines(cfg: &SystemConfig) -> u64 {
    cfg.l1.size.0 / cfg.l1.line as u64
}
