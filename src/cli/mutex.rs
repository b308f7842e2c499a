//! `cohsim app mutex`: mutual exclusion by message passing (`apps::mutex`),
//! one run as a table or JSON (the `app` envelope plus `per_entry`,
//! `per_message` and `outcome`), or `--compare`: the spin locks and the
//! message-passing algorithms on the same cores and entries in one table.
//! A monitor finding or a blocked run exits 1; bad settings exit 2.

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::{Value, json};

use super::app::MachineArgs;
use super::common::emit;
use crate::apps::json::{hardware_counts, tally};
use crate::apps::locks::{self, LockRun};
use crate::apps::mutex::Algo;
use crate::apps::mutex::run::{MutexReport, MutexRun, Outcome, weakness};
use crate::config::{MAX_CORES, SystemConfig};
use crate::engine::{FrontendError, SimError};
use crate::model::Primitive;
use crate::model::network::Cycle;

#[derive(Args, Debug)]
pub struct MutexArgs {
    /// central, lamport, ricart-agrawala, token-ring (broken-ricart-agrawala:
    /// a deliberately wrong one the checks must catch).
    #[arg(long, default_value = "ricart-agrawala")]
    pub algo: String,
    /// Cores, one process each (default 4; 3 with --check).
    #[arg(long)]
    pub cores: Option<usize>,
    /// Critical-section entries in all, spread evenly over the processes that
    /// enter (for central: all but the coordinator on core 0).
    #[arg(long, default_value_t = 400)]
    pub entries: u64,
    /// Cycles of work inside the critical section.
    #[arg(long, default_value_t = 20)]
    pub cs_cycles: u64,
    /// Think time before each request: a seeded pick below this many cycles.
    #[arg(long, default_value_t = 32)]
    pub think: u64,
    /// End the run as blocked when no core ran a handler or moved a message
    /// for this many cycles.
    #[arg(long, default_value_t = 200_000)]
    pub stall: u64,
    /// Stop a run that goes past this many cycles (exit 1); by default 50,000
    /// cycles per entry plus a million.
    #[arg(long)]
    pub max_cycles: Option<u64>,
    /// Print the primitives table: hardware messages and software messages by tag.
    #[arg(long)]
    pub primitives: bool,
    /// Run the spin locks and the four message-passing algorithms on the same
    /// cores and entries, one table.
    #[arg(long)]
    pub compare: bool,
    /// Model-check the same actors with stateright instead of running them:
    /// every interleaving of `--cores` processes (default 3) doing
    /// `--check-entries` entries each.
    #[arg(long)]
    pub check: bool,
    #[arg(long, default_value_t = 1)]
    pub check_entries: u32,
    /// With --check: channels that may reorder messages (FIFO by default).
    #[arg(long)]
    pub unordered: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

impl MutexArgs {
    fn cores(&self) -> usize {
        self.cores.unwrap_or(4)
    }
}

pub fn run(mut a: MutexArgs) -> Result<i32> {
    let algo: Algo = a.algo.parse().map_err(|e| anyhow!("--algo: {e}"))?;
    if a.check {
        return check(&a, algo);
    }
    // Bounds that keep every sum of cycles far from overflowing.
    const ABSURD: u64 = 1 << 40;
    for (name, v) in [("--cs-cycles", a.cs_cycles), ("--think", a.think), ("--stall", a.stall)] {
        if v > ABSURD {
            bail!("{name}: {v} cycles is absurd (at most 2^40)");
        }
    }
    if a.stall <= a.think + a.cs_cycles {
        bail!(
            "--stall: {} cycles would call an idle process blocked: it must exceed --think + --cs-cycles ({})",
            a.stall,
            a.think + a.cs_cycles
        );
    }
    let cores = *a.cores.get_or_insert(4);
    if a.entries == 0 || a.entries > u64::from(u32::MAX) {
        bail!("--entries: {} is outside 1..={}", a.entries, u32::MAX);
    }
    if cores == 0 || cores > MAX_CORES {
        bail!("--cores: {cores} is outside 1..={MAX_CORES}");
    }
    if algo == Algo::Central && cores < 2 {
        bail!("--cores: central needs at least 2 (a coordinator on core 0 and a process that enters)");
    }
    let cfg = a.machine.config(cores)?;
    let faults = a.machine.plan(cores, true)?;
    let max_cycles = a.max_cycles.unwrap_or(50_000u64.saturating_mul(a.entries).saturating_add(1_000_000));
    if a.compare && (a.machine.timeline.timeline.is_some() || a.machine.report.is_some()) {
        bail!("--timeline/--report: one run at a time, not with --compare");
    }
    let timeline = a.machine.timeline_spec()?;
    let mutex_run = |algo| MutexRun {
        timeline,
        cs_cycles: a.cs_cycles,
        think: a.think,
        jitter: a.machine.network_jitter(),
        max_cycles: Some(max_cycles),
        faults: faults.clone(),
        stall: a.stall,
        ..MutexRun::new(cfg.clone(), algo, a.entries)
    };
    if a.compare {
        return compare(&a, &cfg, max_cycles, mutex_run);
    }
    let mut report = match mutex_run(algo).run() {
        Ok(r) => r,
        Err(SimError::Frontend(e @ FrontendError::Input(_))) => bail!("{e}"),
        Err(e) => {
            eprintln!("cohsim: app mutex {algo}, {cores} cores: {e}");
            return Ok(1);
        }
    };
    if let Some(t) = report.timeline.as_mut() {
        a.machine.timeline.write(t, None)?;
    }
    if let Some(dir) = &a.machine.report {
        let title = format!("cohsim app mutex {algo}: {cores} cores, {} entries", a.entries);
        super::common::write_report(dir, crate::view::messages_page(&title, cores, &report.messages, &report.stats))?;
    }
    let doc = report_json(&a, algo, &report);
    let text = if a.json { serde_json::to_string_pretty(&doc)? + "\n" } else { table(&a, algo, &doc) };
    emit(&None, &text)?;
    for v in report.violations.iter().take(10) {
        eprintln!("cohsim: violation ({}): {}", v.monitor, v.what);
    }
    if let Outcome::Blocked { since, at } = report.outcome {
        eprintln!("cohsim: blocked: no entry from cycle {since} to {at}: {}", weakness(algo));
    }
    Ok(if report.violations.is_empty() && report.outcome == Outcome::Completed { 0 } else { 1 })
}

/// `--check`: the untimed world, stateright over every interleaving.
fn check(a: &MutexArgs, algo: Algo) -> Result<i32> {
    use crate::apps::mutex::check::{Channels, check_on};
    let processes = a.cores.unwrap_or(3);
    // Memory, not states, is the limit past this (Lamport with 3 processes
    // and 2 entries each nears 2 GB before the state limit refuses it).
    const MOST: usize = 5;
    if processes == 0 || processes > MOST || (algo == Algo::Central && processes < 2) {
        bail!("--cores: {processes} processes cannot be checked for {algo} (1..={MOST}; central needs 2)");
    }
    if !a.machine.faults.is_empty() || a.machine.fault_file.is_some() {
        bail!("--check: faults apply to runs; the check explores every interleaving of a reliable network");
    }
    if a.check_entries == 0 {
        bail!("--check-entries: must be at least 1");
    }
    let channels = if a.unordered { Channels::Unordered } else { Channels::Fifo };
    let report = check_on(algo, processes, a.check_entries, channels).map_err(|e| anyhow!("--check: {e}"))?;
    emit(&None, &report.to_string())?;
    Ok(if report.ok() { 0 } else { 1 })
}

/// One run as JSON: the envelope of `app lock` plus `per_entry`, `per_message`
/// and `outcome`.
pub fn report_json(a: &MutexArgs, algo: Algo, r: &MutexReport) -> Value {
    let s = &r.stats;
    let coherence: u64 = s.msg_count.iter().sum();
    let (by_type, hardware) = hardware_counts(s);
    let msgs = &r.messages;
    let software = tally(msgs.iter().map(|m| m.primitive.tag()));
    let carried: u64 = msgs.iter().map(|m| m.coherence()).sum();
    let receipts: Vec<(Cycle, &crate::exec::actor::Receipt)> =
        msgs.iter().flat_map(|m| m.received.iter().map(move |rc| (m.sent_at, rc))).collect();
    let per = |x: f64, n: usize| if n == 0 { 0.0 } else { x / n as f64 };
    let (sw, coh, cycles) = r.per_entry();
    let outcome = match r.outcome {
        Outcome::Completed => json!({ "status": "completed" }),
        Outcome::Blocked { since, at } => {
            json!({ "status": "blocked", "last_entry": since, "ended_at": at, "why": weakness(algo) })
        }
    };
    json!({
        "app": "mutex",
        "algo": algo.name(),
        "cores": a.cores(),
        "seed": a.machine.seed,
        "protocol": a.machine.protocol.to_ascii_lowercase(),
        "topology": a.machine.topology.to_ascii_lowercase(),
        "entries": a.entries,
        "faults": a.machine.faults,
        "cycles": s.cycles,
        "outcome": outcome,
        "violations": r.violations,
        "software": {
            "messages": msgs.len(),
            "lost": msgs.iter().filter(|m| m.copies == 0).count(),
            "duplicated": msgs.iter().filter(|m| m.copies > 1).count(),
            "delayed": msgs.iter().filter(|m| m.delay > 0).count(),
            "bytes": msgs.iter().map(|m| m.bytes).sum::<usize>(),
            "by_kind": tally(msgs.iter().map(|m| m.kind)),
        },
        "coherence": {
            "messages": coherence,
            "invalidations": s.invalidations,
            "by_type": by_type,
            "carrying_software_messages": carried,
            "polling_empty_mailboxes": r.polls.1,
            "empty_polls": r.polls.0,
        },
        "primitives": {"hardware": hardware, "software": software},
        "per_entry": { "software_messages": sw, "coherence_messages": coh, "cycles": cycles },
        "per_message": {
            "coherence_messages": per(carried as f64, msgs.len()),
            "send_cycles": per(msgs.iter().map(|m| m.send_cycles).sum::<u64>() as f64, msgs.len()),
            "latency": per(receipts.iter().map(|(sent, rc)| (rc.at - sent) as f64).sum(), receipts.len()),
        },
        "entries_per_core": r.entries_per_core,
        "longest_wait": r.longest_wait,
        "counter": r.counter,
        "events_hash": format!("{:016x}", r.events_hash),
    })
}

fn table(a: &MutexArgs, algo: Algo, r: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let mut s = format!(
        "cohsim app mutex: {algo}, {} cores, {} entries, {}, {}, seed {}\n\n",
        a.cores(),
        a.entries,
        a.machine.protocol.to_ascii_uppercase(),
        a.machine.topology,
        a.machine.seed
    );
    s += &format!("  outcome: {}\n", r["outcome"]["status"].as_str().unwrap_or(""));
    let pe = &r["per_entry"];
    s += &format!(
        "  per entry: {:.2} software messages, {:.1} coherence messages, {:.1} cycles\n",
        f(&pe["software_messages"]),
        f(&pe["coherence_messages"]),
        f(&pe["cycles"])
    );
    let pm = &r["per_message"];
    s += &format!(
        "  per software message: {:.1} coherence messages, {:.1} cycles to write, {:.1} cycles sent to taken\n",
        f(&pm["coherence_messages"]),
        f(&pm["send_cycles"]),
        f(&pm["latency"])
    );
    let sw = &r["software"];
    let kinds: Vec<String> = sw["by_kind"].as_object().into_iter().flatten().map(|(k, n)| format!("{k} {n}")).collect();
    s += &format!(
        "  software messages: {} ({}); lost {}, duplicated {}, delayed {}\n",
        sw["messages"],
        kinds.join(", "),
        sw["lost"],
        sw["duplicated"],
        sw["delayed"]
    );
    let c = &r["coherence"];
    s += &format!(
        "  coherence messages: {} ({} carrying software messages, {} polling empty mailboxes)\n",
        c["messages"], c["carrying_software_messages"], c["polling_empty_mailboxes"]
    );
    s += &format!(
        "  entries per core: {}; longest wait {} cycles; cycles {}; violations {}\n",
        r["entries_per_core"],
        r["longest_wait"],
        r["cycles"],
        r["violations"].as_array().map_or(0, Vec::len)
    );
    if a.primitives {
        s += "\nprimitives (counted from the run):\n";
        s += "  tag  primitive                            hardware messages   software messages\n";
        for p in Primitive::ALL {
            let hw = r["primitives"]["hardware"][p.tag()].as_u64().unwrap_or(0);
            let swn = r["primitives"]["software"][p.tag()].as_u64().unwrap_or(0);
            s += &format!("  {:<4} {:<36} {:>17} {:>19}\n", p.tag(), p.name(), hw, swn);
        }
    }
    s
}

/// Spin locks and message-passing mutexes on the same cores and entries.
fn compare(a: &MutexArgs, cfg: &SystemConfig, max_cycles: u64, mutex_run: impl Fn(Algo) -> MutexRun) -> Result<i32> {
    let mut rows: Vec<Value> = Vec::new();
    let mut failed = false;
    let lock_faults = a.machine.plan(a.cores(), false)?;
    for algo in locks::Algo::ALL.into_iter().filter(|l| *l != locks::Algo::BrokenTtas) {
        let run = LockRun {
            cfg: cfg.clone(),
            algo,
            entries: a.entries,
            cs_cycles: a.cs_cycles,
            jitter: a.machine.network_jitter(),
            max_cycles: Some(max_cycles),
            faults: lock_faults.clone(),
            record: false,
            timeline: None,
        };
        let r = match run.run() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cohsim: app mutex --compare, lock {algo}: {e}");
                return Ok(1);
            }
        };
        let coherence: u64 = r.stats.msg_count.iter().sum();
        let entries = r.entries_per_core.iter().sum::<u64>().max(1) as f64;
        failed |= !r.violations.is_empty();
        rows.push(json!({
            "algo": algo.name(), "kind": "spin lock", "software_messages": 0.0,
            "coherence_messages": coherence as f64 / entries, "cycles": r.stats.cycles as f64 / entries,
            "longest_wait": r.longest_wait, "violations": r.violations.len(), "outcome": "completed",
        }));
    }
    for algo in [Algo::Central, Algo::Lamport, Algo::RicartAgrawala, Algo::TokenRing] {
        if algo == Algo::Central && a.cores() < 2 {
            continue;
        }
        let r = match mutex_run(algo).run() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cohsim: app mutex --compare, {algo}: {e}");
                return Ok(1);
            }
        };
        let (sw, coh, cycles) = r.per_entry();
        failed |= !r.violations.is_empty() || r.outcome != Outcome::Completed;
        rows.push(json!({
            "algo": algo.name(), "kind": "message passing", "software_messages": sw,
            "coherence_messages": coh, "cycles": cycles, "longest_wait": r.longest_wait,
            "violations": r.violations.len(),
            "outcome": if r.outcome == Outcome::Completed { "completed" } else { "blocked" },
        }));
    }
    let text = if a.json {
        let doc = json!({ "app": "mutex", "compare": true, "cores": a.cores(), "entries": a.entries, "rows": rows });
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        let mut s = format!(
            "cohsim app mutex --compare: {} cores, {} entries, {}, {}, seed {}\n\n",
            a.cores(),
            a.entries,
            a.machine.protocol.to_ascii_uppercase(),
            a.machine.topology,
            a.machine.seed
        );
        s += "  algorithm         kind              per entry: cycles   coh. msgs   sw msgs   longest wait   outcome     violations\n";
        for r in &rows {
            s += &format!(
                "  {:<17} {:<17} {:>18.1} {:>11.1} {:>9.2} {:>14} {:<11} {:>10}\n",
                r["algo"].as_str().unwrap_or(""),
                r["kind"].as_str().unwrap_or(""),
                r["cycles"].as_f64().unwrap_or(0.0),
                r["coherence_messages"].as_f64().unwrap_or(0.0),
                r["software_messages"].as_f64().unwrap_or(0.0),
                r["longest_wait"].as_u64().unwrap_or(0),
                r["outcome"].as_str().unwrap_or(""),
                r["violations"].as_u64().unwrap_or(0),
            );
        }
        s
    };
    emit(&None, &text)?;
    Ok(if failed { 1 } else { 0 })
}
