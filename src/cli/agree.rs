//! `cohsim app paxos|multipaxos|raft|kv|2pc|3pc|bully|ring|heartbeat|phi|gossip|crdt`:
//! the agreement family (`apps::agree`). One run (a table or `--json`),
//! `--check` (stateright on the app's small configuration), or `--seeds K`
//! (a fault campaign: K seeds, each under `--fault` or a plan drawn from its
//! seed, every violation reported with its seed and the command that replays
//! it). A violation exits 1; bad settings exit 2.

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::json;

use super::app::MachineArgs;
use super::common::emit;
use crate::apps::agree::{self, App, Spec, campaign, registry};
use crate::config::MAX_CORES;

#[derive(Args, Debug)]
pub struct AgreeArgs {
    #[arg(long, default_value_t = 5)]
    pub cores: usize,
    /// The workload's size in the app's unit (decrees, commands, transactions,
    /// elections, heartbeat periods, increments); the app's default if absent.
    #[arg(long)]
    pub ops: Option<u32>,
    /// The algorithm's variant: the correct one by default, or a `broken-…`
    /// one that the monitors must catch (`--variant list` lists them).
    #[arg(long)]
    pub variant: Option<String>,
    /// Run K seeds from `--seed` on (a fault campaign): each under `--fault`
    /// if given, else under a fault plan drawn from its seed.
    #[arg(long, value_name = "K")]
    pub seeds: Option<u64>,
    /// Host threads for `--seeds` (default: the host's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Model-check the variant with stateright on the app's small configuration.
    #[arg(long)]
    pub check: bool,
    /// Print the cost of each primitive (coherence messages and cycles per software message).
    #[arg(long)]
    pub primitives: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// Runs `cohsim app NAME` for the family's app `name`.
pub fn run(name: &str, a: AgreeArgs) -> Result<i32> {
    let app = registry::by_name(name).ok_or_else(|| anyhow!("app {name}: not built in this version"))?;
    if a.variant.as_deref() == Some("list") {
        for v in app.variants() {
            super::outln!("{v}")?;
        }
        return Ok(0);
    }
    let variant = match &a.variant {
        None => app.variants()[0],
        Some(v) => app.variants().iter().copied().find(|x| x.eq_ignore_ascii_case(v)).ok_or_else(|| {
            anyhow!("--variant: unknown variant {v:?} of {name} (expected one of {})", app.variants().join(", "))
        })?,
    };
    if a.check {
        return check(app, variant, a.json);
    }
    let range = app.cores();
    if !range.contains(&a.cores) || a.cores > MAX_CORES {
        bail!("--cores: {} is outside {}..={} for {name}", a.cores, range.start(), range.end().min(&MAX_CORES));
    }
    let ops = a.ops.unwrap_or_else(|| app.default_ops());
    if ops == 0 || ops > 100_000 {
        bail!("--ops: {ops} is outside 1..=100000");
    }
    if a.jobs == Some(0) {
        bail!("--jobs: must be at least 1");
    }
    let spec = Spec {
        cfg: a.machine.config(a.cores)?,
        faults: a.machine.plan(a.cores, true)?,
        jitter: a.machine.network_jitter(),
        ops,
        variant,
        timeline: a.machine.timeline_spec()?,
    };
    if a.seeds.is_some() && (a.machine.report.is_some() || a.machine.timeline.timeline.is_some()) {
        bail!("--report/--timeline: one run at a time, not with --seeds");
    }
    match a.seeds {
        Some(0) => bail!("--seeds: must be at least 1"),
        Some(k) => seeds(app, &spec, k, &a),
        None => one(app, &spec, &a),
    }
}

fn one(app: &dyn App, spec: &Spec, a: &AgreeArgs) -> Result<i32> {
    let Some(mut report) = super::clock::finished(agree::run(app, spec), &format!("app {}", app.name()))? else {
        return Ok(1);
    };
    if let Some(t) = report.timeline.as_mut() {
        a.machine.timeline.write(t, None)?;
    }
    if let Some(dir) = &a.machine.report {
        let title = format!("cohsim app {} ({}): {} cores", app.name(), spec.variant, spec.cfg.cores);
        let page = crate::view::messages_page(&title, spec.cfg.cores, &report.messages, &report.stats);
        super::common::write_report(dir, page)?;
    }
    let text =
        if a.json { serde_json::to_string_pretty(&report.to_json())? + "\n" } else { report.table(a.primitives) };
    emit(&None, &text)?;
    for v in report.violations.iter().take(10) {
        eprintln!("cohsim: violation ({}): {}", v.monitor, v.what);
    }
    if !report.ok() {
        eprintln!("cohsim: replay with: {}", report.replay());
    }
    Ok(if report.ok() { 0 } else { 1 })
}

fn seeds(app: &dyn App, spec: &Spec, k: u64, a: &AgreeArgs) -> Result<i32> {
    let drawn = spec.faults.faults.is_empty();
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = super::common::progress(a.json, Some(k), &format!("{} seeds", app.name()));
    if let Some(b) = &bar {
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {human_pos}/{human_len}, ETA {eta}")
                .expect("valid template"),
        );
    }
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let started = std::time::Instant::now();
    let r = campaign::run(app, spec, spec.cfg.seed, k, drawn, jobs, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if a.json {
        let v = json!({
            "app": app.name(),
            "variant": spec.variant,
            "cores": spec.cfg.cores,
            "first_seed": spec.cfg.seed,
            "ops": spec.ops,
            "fault_plans": if drawn { "drawn per seed" } else { "given" },
            "seeds_run": r.seeds_run,
            "finished": r.finished,
            "software_messages": r.messages,
            "cycles": r.cycles,
            "failing_seeds": r.failing,
        });
        emit(&None, &(serde_json::to_string_pretty(&v)? + "\n"))?;
    } else {
        let mut t = format!(
            "cohsim app {} ({}): {} seeds from {} on {} cores, fault plans {}\n",
            app.name(),
            spec.variant,
            r.seeds_run,
            spec.cfg.seed,
            spec.cfg.cores,
            if drawn { "drawn per seed" } else { "as given" }
        );
        t += &format!("  finished           {} of {}\n", r.finished, r.seeds_run);
        t += &format!("  software messages  {}\n", r.messages);
        t += &format!("  failing seeds      {}\n", r.failing.len());
        for f in r.failing.iter().take(10) {
            let first = f.violations.first();
            t += &format!(
                "    seed {}: {} ({})\n      {}\n",
                f.seed,
                first.map_or("", |v| v.monitor),
                first.map_or(String::new(), |v| v.what.clone()),
                f.replay
            );
        }
        t += &format!("  host time          {:.1} s on {jobs} threads\n", started.elapsed().as_secs_f64());
        emit(&None, &t)?;
    }
    Ok(if r.failing.is_empty() { 0 } else { 1 })
}

fn check(app: &dyn App, variant: &'static str, as_json: bool) -> Result<i32> {
    let Some(c) = app.check(variant) else {
        bail!("--check: {} has no stateright model", app.name());
    };
    if as_json {
        let props: Vec<_> = c
            .properties
            .iter()
            .map(|p| json!({"name": p.name, "expectation": format!("{:?}", p.expectation), "holds": p.holds(), "discovery": p.discovery}))
            .collect();
        let v = json!({"app": app.name(), "variant": c.variant, "config": c.config, "states": c.states, "depth": c.depth, "properties": props, "ok": c.ok()});
        emit(&None, &(serde_json::to_string_pretty(&v)? + "\n"))?;
    } else {
        let mut t = format!("stateright: {} ({}), {}\n", app.name(), c.variant, c.config);
        t += &format!("  unique states {}, max depth {}\n", c.states, c.depth);
        for p in &c.properties {
            t += &format!(
                "  {:<10} {:<40} {}\n",
                format!("{:?}", p.expectation).to_lowercase(),
                p.name,
                if p.holds() { "holds" } else { "FAILS" }
            );
            if !p.holds()
                && let Some(path) = &p.discovery
            {
                for step in path.iter().take(30) {
                    t += &format!("      {step}\n");
                }
            }
        }
        emit(&None, &t)?;
    }
    Ok(if c.ok() { 0 } else { 1 })
}
