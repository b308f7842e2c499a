//! `cohsim app ...`: software on the simulated cores. This file holds the
//! list of apps, the machine and fault arguments they share, and `app lock`:
//! spin locks (`apps::locks`), one run or a sweep over core counts, as a table
//! or JSON, with the primitives the hardware and the software used side by
//! side. The other apps have a file each (`mutex`, `clock`, `broadcast`,
//! `agree` for the agreement family).
//! A monitor finding exits 1; bad settings exit 2.

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::common::{emit, parse_protocol, parse_topology, write_report};
use crate::apps::json::hardware_counts;
use crate::apps::locks::{Algo, LockReport, LockRun};
use crate::config::{MAX_CORES, SystemConfig};
use crate::engine::{FrontendError, SimError};
use crate::exec::fault::{Fault, Plan};
use crate::model::Primitive;

#[derive(Args, Debug)]
pub struct AppArgs {
    #[command(subcommand)]
    pub app: App,
}

#[derive(Subcommand, Debug)]
pub enum App {
    /// Spin locks on shared memory: cost per hand-off, fairness, checked exclusion.
    Lock(LockArgs),
    /// Mutual exclusion by message passing through mailboxes in coherent memory.
    Mutex(super::mutex::MutexArgs),
    /// Clocks: logical clocks graded against true happens-before, physical
    /// clock synchronisation graded against true time.
    Clock(super::clock::ClockArgs),
    /// Ordered broadcast (FIFO, causal, total), delivery order checked against the truth.
    Broadcast(super::broadcast::BroadcastArgs),
    /// Single-decree Paxos: every core an acceptor, proposers with ballots, checked for agreement.
    Paxos(super::agree::AgreeArgs),
    /// Multi-Paxos with a stable leader: a log of commands, phase 2 only while the leader lasts.
    Multipaxos(super::agree::AgreeArgs),
    /// Raft: elections with randomised timeouts, log replication, commit on a majority.
    Raft(super::agree::AgreeArgs),
    /// A replicated key-value store on Raft, its client history checked for linearizability.
    Kv(super::agree::AgreeArgs),
    /// Two-phase commit: atomicity checked; blocks on a crashed coordinator, as documented.
    #[command(name = "2pc")]
    TwoPc(super::agree::AgreeArgs),
    /// Three-phase commit: non-blocking under crashes; splits under a partition, as documented.
    #[command(name = "3pc")]
    ThreePc(super::agree::AgreeArgs),
    /// Bully election: the highest live id wins.
    Bully(super::agree::AgreeArgs),
    /// Ring election (Chang–Roberts) on the logical ring of cores.
    Ring(super::agree::AgreeArgs),
    /// Heartbeat failure detection with timeouts: detection latency and false suspicions.
    Heartbeat(super::agree::AgreeArgs),
    /// Phi-accrual failure detection (Hayashibara et al.): suspicion levels from inter-arrival times.
    Phi(super::agree::AgreeArgs),
    /// Gossip membership by push-pull rounds, convergence checked once faults stop.
    Gossip(super::agree::AgreeArgs),
    /// G-counter and PN-counter CRDTs over gossip, convergence checked once faults stop.
    Crdt(super::agree::AgreeArgs),
    /// A lock service on Raft: leases decided through the log, fencing tokens checked by storage.
    Lockservice(super::agree::AgreeArgs),
}

/// The machine and its faults, as every `app` command takes them.
#[derive(Args, Debug, Clone)]
pub struct MachineArgs {
    #[arg(long, default_value = "mesi")]
    pub protocol: String,
    #[arg(long, default_value = "crossbar")]
    pub topology: String,
    /// Seeds the network jitter, the programs' randomness (think time, back-off,
    /// timers) and the message faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Coherence network jitter: up to this many cycles added to each message.
    #[arg(long, default_value_t = 0)]
    pub jitter: u64,
    /// A fault: crash:CORE@CYCLE (the program stops; its cache keeps answering),
    /// pause:CORE@CYCLE+CYCLES, and for apps that send messages drop:F>T#K,
    /// drop:P, dup:F>T#K, dup:P, delay:P+D, partition:A>B@T+D (see the README).
    /// Repeat for more.
    #[arg(long = "fault", value_name = "FAULT")]
    pub faults: Vec<String>,
    /// A fault plan in TOML (`[[fault]]` tables), added to any `--fault`.
    #[arg(long = "faults", value_name = "FILE.toml")]
    pub fault_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub timeline: super::common::TimelineArgs,
    /// Write an HTML report with plots to DIR/index.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<std::path::PathBuf>,
}

impl MachineArgs {
    /// The machine for `cores` cores, validated.
    pub(super) fn config(&self, cores: usize) -> Result<SystemConfig> {
        let protocol = parse_protocol(&self.protocol, "--protocol")?;
        let mut cfg = SystemConfig { cores, protocol, seed: self.seed, ..SystemConfig::default() };
        cfg.network.topology = parse_topology(&self.topology)?;
        cfg.validate().map_err(|e| anyhow!("{e}"))?;
        Ok(cfg)
    }

    /// The fault plan for `cores` cores (message faults only where the app
    /// sends messages).
    pub(super) fn plan(&self, cores: usize, messages: bool) -> Result<Plan> {
        fault_plan(&self.faults, &self.fault_file, cores, messages)
    }

    /// The timeline asked for, if any (a bad window is an error).
    pub(super) fn timeline_spec(&self) -> Result<Option<crate::stats::timeline::TimelineSpec>> {
        self.timeline.spec()
    }

    pub(super) fn network_jitter(&self) -> Option<u64> {
        (self.jitter > 0).then_some(self.jitter)
    }
}

#[derive(Args, Debug)]
pub struct LockArgs {
    /// tas, ttas, ttas-backoff, ticket, anderson, mcs, clh (broken-ttas: a
    /// deliberately wrong lock the checks must catch); with --sweep-cores, a
    /// list (tas,ticket,mcs) sweeps each.
    #[arg(long)]
    pub algo: String,
    #[arg(long, default_value_t = 4)]
    pub cores: usize,
    /// Critical-section entries in all, spread evenly over the cores.
    #[arg(long, default_value_t = 1000)]
    pub entries: u64,
    /// Cycles of work inside the critical section.
    #[arg(long, default_value_t = 20)]
    pub cs_cycles: u64,
    /// One row per core count, e.g. 1,2,4,8,16,32,64.
    #[arg(long, value_delimiter = ',')]
    pub sweep_cores: Vec<usize>,
    /// Print the primitives table: hardware messages and software operations by tag.
    #[arg(long)]
    pub primitives: bool,
    /// Stop a run that goes past this many cycles (exit 1, with where each core
    /// is); by default 10,000 cycles per entry plus a million.
    #[arg(long)]
    pub max_cycles: Option<u64>,
    /// Write every access the run made as a native CSV trace (`cohsim run FILE`
    /// replays it with the same per-core counts).
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

pub fn run(a: AppArgs) -> Result<i32> {
    match a.app {
        App::Lock(l) => lock(l),
        App::Mutex(m) => super::mutex::run(m),
        App::Clock(c) => super::clock::run(c),
        App::Broadcast(b) => super::broadcast::run(b),
        App::Paxos(x) => super::agree::run("paxos", x),
        App::Multipaxos(x) => super::agree::run("multipaxos", x),
        App::Raft(x) => super::agree::run("raft", x),
        App::Kv(x) => super::agree::run("kv", x),
        App::TwoPc(x) => super::agree::run("2pc", x),
        App::ThreePc(x) => super::agree::run("3pc", x),
        App::Bully(x) => super::agree::run("bully", x),
        App::Ring(x) => super::agree::run("ring", x),
        App::Heartbeat(x) => super::agree::run("heartbeat", x),
        App::Phi(x) => super::agree::run("phi", x),
        App::Gossip(x) => super::agree::run("gossip", x),
        App::Crdt(x) => super::agree::run("crdt", x),
        App::Lockservice(x) => super::agree::run("lockservice", x),
    }
}

/// The fault plan of `--fault` specs and a `--faults` TOML file, for `cores`
/// cores; message faults only where the app sends messages.
pub(super) fn fault_plan(
    specs: &[String],
    file: &Option<std::path::PathBuf>,
    cores: usize,
    messages: bool,
) -> Result<Plan> {
    let faults = specs.iter().map(|f| Fault::parse(f, cores)).collect::<Result<Vec<_>, _>>();
    let mut plan = Plan { faults: faults.map_err(|e| anyhow!("--fault {e}"))? };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
        let more = Plan::from_toml(&text, cores).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        plan.faults.extend(more.faults);
    }
    if !messages && let Some(f) = plan.faults.iter().find(|f| f.is_message_fault()) {
        bail!("--fault {f}: spin locks send no messages (message faults are for `app mutex`)");
    }
    if !messages && let Some(f) = plan.faults.iter().find(|f| matches!(f, Fault::Restart { .. })) {
        bail!("--fault {f}: a spin-lock program cannot restart (crash-recovery is for the message-passing apps)");
    }
    Ok(plan)
}

fn lock(a: LockArgs) -> Result<i32> {
    let algos: Vec<Algo> =
        a.algo.split(',').map(|s| s.trim().parse().map_err(|e| anyhow!("--algo: {e}"))).collect::<Result<_>>()?;
    if algos.len() > 1 && a.sweep_cores.is_empty() {
        bail!("--algo: a list of locks is for --sweep-cores (one run is one lock)");
    }
    if a.entries == 0 {
        bail!("--entries: must be at least 1");
    }
    let counts = if a.sweep_cores.is_empty() { vec![a.cores] } else { a.sweep_cores.clone() };
    if a.record.is_some() && !a.sweep_cores.is_empty() {
        bail!("--record: one run at a time, not with --sweep-cores");
    }
    if a.machine.timeline.timeline.is_some() && !a.sweep_cores.is_empty() {
        bail!("--timeline: one run at a time, not with --sweep-cores");
    }
    let timeline = a.machine.timeline_spec()?;
    if a.record.is_some() && a.machine.jitter > 0 {
        // `cohsim run` has no jitter: the recording would not replay alike.
        bail!("--record: not with --jitter (a trace replay has no network jitter, so it would not replay alike)");
    }
    for &n in &counts {
        if n == 0 || n > MAX_CORES {
            bail!("--cores: {n} is outside 1..={MAX_CORES}");
        }
    }
    let mut rows = Vec::new();
    let mut failed = false;
    for (algo, cores) in algos.iter().flat_map(|&algo| counts.iter().map(move |&c| (algo, c))) {
        let cfg = a.machine.config(cores)?;
        let faults = a.machine.plan(cores, false)?;
        let max_cycles = a.max_cycles.unwrap_or(10_000u64.saturating_mul(a.entries).saturating_add(1_000_000));
        let run = LockRun {
            cfg,
            algo,
            entries: a.entries,
            cs_cycles: a.cs_cycles,
            jitter: a.machine.network_jitter(),
            max_cycles: Some(max_cycles),
            faults,
            record: a.record.is_some(),
            timeline,
        };
        let mut report = match run.run() {
            Ok(r) => r,
            Err(SimError::Frontend(e @ FrontendError::Input(_))) => bail!("{e}"),
            Err(e) => {
                eprintln!("cohsim: app lock {algo}, {cores} cores: {e}");
                return Ok(1);
            }
        };
        failed |= !report.violations.is_empty();
        if let Some(t) = report.timeline.as_mut() {
            a.machine.timeline.write(t, None)?;
        }
        if let (Some(path), Some(records)) = (&a.record, &report.recording) {
            crate::trace::write(crate::trace::Format::Csv, path, records)?;
        }
        rows.push(row_json(&a, algo, cores, &report));
    }
    if let Some(dir) = &a.machine.report {
        write_report(dir, lock_report(&a, &algos, &rows))?;
    }
    let text = if a.json {
        let doc = if a.sweep_cores.is_empty() {
            rows[0].clone()
        } else if let [algo] = algos[..] {
            json!({ "app": "lock", "algo": algo.name(), "rows": rows })
        } else {
            json!({ "app": "lock", "algos": algos.iter().map(|x| x.name()).collect::<Vec<_>>(), "rows": rows })
        };
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        let per = counts.len();
        algos
            .iter()
            .enumerate()
            .map(|(i, &algo)| table(&a, algo, &rows[i * per..(i + 1) * per]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    emit(&None, &text)?;
    // The first few findings of each run on stderr (all of them are in the JSON).
    const SHOWN: usize = 10;
    for r in &rows {
        let found = r["violations"].as_array().map_or(&[][..], Vec::as_slice);
        for v in found.iter().take(SHOWN) {
            eprintln!(
                "cohsim: violation ({}): {}",
                v["monitor"].as_str().unwrap_or(""),
                v["what"].as_str().unwrap_or("")
            );
        }
        if found.len() > SHOWN {
            eprintln!(
                "cohsim: ... and {} more violations ({} cores; --json lists them all)",
                found.len() - SHOWN,
                r["cores"]
            );
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// The report of a lock run or sweep: cycles per hand-off against cores,
/// one curve per lock.
fn lock_report(a: &LockArgs, algos: &[Algo], rows: &[Value]) -> Result<crate::view::Page, crate::view::PlotError> {
    let h = |r: &Value, k: &str| r["per_handoff"][k].as_f64().unwrap_or(0.0);
    let curves: Vec<(String, Vec<(f64, f64)>)> = algos
        .iter()
        .map(|algo| {
            let of = rows.iter().filter(|r| r["algo"] == algo.name());
            (algo.name().to_string(), of.map(|r| (r["cores"].as_f64().unwrap_or(0.0), h(r, "cycles"))).collect())
        })
        .collect();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r["algo"].as_str().unwrap_or("").to_string(),
                r["cores"].to_string(),
                format!("{:.1}", h(r, "cycles")),
                format!("{:.2}", h(r, "coherence_messages")),
            ]
        })
        .collect();
    let title = format!("cohsim app lock: {} entries, {} {}", a.entries, a.machine.protocol, a.machine.topology);
    crate::view::lock_page(&title, &curves, &table)
}

/// One run as the JSON every `app` command prints (see the README).
fn row_json(a: &LockArgs, algo: Algo, cores: usize, r: &LockReport) -> Value {
    let s = &r.stats;
    let messages: u64 = s.msg_count.iter().sum();
    let handoffs = a.entries as f64;
    let misses: u64 = s.cores.iter().map(|c| c.misses + c.upgrades).sum();
    let (by_type, hardware) = hardware_counts(s);
    let software: serde_json::Map<String, Value> =
        r.software_primitives.iter().map(|(t, n)| (t.to_string(), json!(n))).collect();
    json!({
        "app": "lock",
        "algo": algo.name(),
        "cores": cores,
        "seed": a.machine.seed,
        "protocol": a.machine.protocol.to_ascii_lowercase(),
        "topology": a.machine.topology.to_ascii_lowercase(),
        "entries": a.entries,
        "cycles": s.cycles,
        "violations": r.violations,
        "software": {"messages": 0, "by_kind": {}},
        "coherence": {"messages": messages, "invalidations": s.invalidations, "by_type": by_type},
        "primitives": {"hardware": hardware, "software": software},
        "software_ops": r.ops,
        "per_handoff": {
            "cycles": s.cycles as f64 / handoffs,
            "coherence_messages": messages as f64 / handoffs,
            "invalidations": s.invalidations as f64 / handoffs,
            "misses": misses as f64 / handoffs,
        },
        "entries_per_core": r.entries_per_core,
        "longest_wait": r.longest_wait,
        "counter": r.counter,
    })
}

fn table(a: &LockArgs, algo: Algo, rows: &[Value]) -> String {
    let mut s = format!(
        "cohsim app lock: {algo}, {} entries, {}, {}, seed {}, jitter {}\n\n",
        a.entries,
        a.machine.protocol.to_ascii_uppercase(),
        a.machine.topology,
        a.machine.seed,
        a.machine.jitter
    );
    s += "  cores      cycles   per hand-off: cycles   coh. msgs   invals   misses   longest wait   violations\n";
    for r in rows {
        let h = &r["per_handoff"];
        s += &format!(
            "  {:>5} {:>11} {:>20.1} {:>11.2} {:>8.2} {:>8.2} {:>14} {:>12}\n",
            r["cores"].as_u64().unwrap_or(0),
            r["cycles"].as_u64().unwrap_or(0),
            h["cycles"].as_f64().unwrap_or(0.0),
            h["coherence_messages"].as_f64().unwrap_or(0.0),
            h["invalidations"].as_f64().unwrap_or(0.0),
            h["misses"].as_f64().unwrap_or(0.0),
            r["longest_wait"].as_u64().unwrap_or(0),
            r["violations"].as_array().map_or(0, Vec::len),
        );
    }
    // One run: its traffic per hand-off, by message type and by primitive.
    if let [r] = rows {
        // A map of counts, each divided by the hand-offs.
        let per_handoff = |counts: &Value| -> String {
            let each = counts.as_object().into_iter().flatten();
            let listed: Vec<String> =
                each.map(|(k, n)| format!("{k} {:.2}", n.as_f64().unwrap_or(0.0) / a.entries as f64)).collect();
            listed.join(", ")
        };
        s += &format!("\n  per hand-off, coherence messages by type: {}\n", per_handoff(&r["coherence"]["by_type"]));
        s += &format!(
            "  per hand-off, coherence messages by primitive: {}\n",
            per_handoff(&r["primitives"]["hardware"])
        );
        let spread = r["entries_per_core"].as_array().map_or(0, Vec::len);
        s += &format!("  entries per core: {} (over {spread} cores)\n", r["entries_per_core"]);
    }
    if a.primitives {
        let last = &rows[rows.len() - 1];
        s += &format!("\nprimitives ({} cores; counted from the run):\n", last["cores"]);
        s += "  tag  primitive                            hardware messages   software operations\n";
        for p in Primitive::ALL {
            let hw = last["primitives"]["hardware"][p.tag()].as_u64().unwrap_or(0);
            let sw = last["primitives"]["software"][p.tag()].as_u64().unwrap_or(0);
            s += &format!("  {:<4} {:<36} {:>17} {:>21}\n", p.tag(), p.name(), hw, sw);
        }
        s += "\nwhat each software operation cost, on average (messages its requests caused):\n";
        s += "  operation  primitive      count   coherence messages     cycles\n";
        for op in last["software_ops"].as_array().into_iter().flatten() {
            s += &format!(
                "  {:<10} {:<9} {:>10} {:>20.2} {:>10.1}\n",
                op["op"].as_str().unwrap_or(""),
                op["primitive"].as_str().unwrap_or(""),
                op["count"].as_u64().unwrap_or(0),
                op["coherence_messages"].as_f64().unwrap_or(0.0),
                op["cycles"].as_f64().unwrap_or(0.0),
            );
        }
    }
    s
}
