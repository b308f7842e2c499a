//! Options shared by the trace-driven commands, and turning them into a validated
//! machine configuration and an opened trace.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;

use crate::config::SystemConfig;
use crate::model::network::Topology;
use crate::protocol::{Protocol, UnknownProtocol};
use crate::trace::{self, Format, TraceSet, TraceSpec};

#[derive(Args, Debug, Clone)]
pub struct MachineArgs {
    /// A TOML file with the machine (see `cohsim config`); options below override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Start from a named machine instead of the defaults (the TOML file and the
    /// options below override it): `course` = the course simulators' timing on
    /// the snooping bus (1-cycle hits, 100-cycle memory, 2 cycles per 4-byte bus
    /// word, 4KiB:2:32 caches).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Number of cores; must match the trace.
    #[arg(long)]
    pub cores: Option<usize>,
    /// L1 shape SIZE:WAYS:LINE, e.g. 32KiB:8:64.
    #[arg(long, value_name = "SIZE:WAYS:LINE")]
    pub l1: Option<String>,
    /// crossbar, ring or mesh.
    #[arg(long)]
    pub topology: Option<String>,
    /// Directory slices, interleaved by line address.
    #[arg(long)]
    pub dir_slices: Option<usize>,
    /// network (messages to a directory) or bus (a snooping bus).
    #[arg(long, value_name = "network|bus")]
    pub interconnect: Option<String>,
    /// Drop clean shared lines without a PutS.
    #[arg(long)]
    pub silent_evict: bool,
    /// Directory organisation: full, limited:I:b, limited:I:nb, coarse:K,
    /// sparse:ENTRIES:WAYS (per slice) or broadcast.
    #[arg(long, value_name = "ORGANISATION")]
    pub directory: Option<String>,
    /// Seed (replacement policy `random` and anything else random).
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Trace files: one per core, or a prefix P for P_0.data, P_1.data, …; a CSV or bin file may hold all cores.
    #[arg(required = true, value_name = "TRACE")]
    pub traces: Vec<PathBuf>,
    /// auto, csv, cs4223, din, lackey or bin.
    #[arg(long, default_value = "auto")]
    pub format: String,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Print JSON (stable field names, see README).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV rows `metric,value`.
    #[arg(long)]
    pub csv: bool,
    /// Check SWMR and data values after every controller input (slower).
    #[arg(long)]
    pub check: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write the report to FILE (complete or not at all) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip miss classification (a little faster).
    #[arg(long)]
    pub no_classify: bool,
    /// Take every event strictly in (cycle, messages, core) order, without letting
    /// a core run ahead on hits: slower, and the results are identical by design.
    #[arg(long)]
    pub exact: bool,
    /// Stop the run once simulated time would pass this cycle (exit 1, with
    /// where each core is): for runs that may never end, such as a core spinning
    /// on a line nobody writes.
    #[arg(long, value_name = "CYCLES")]
    pub max_cycles: Option<u64>,
    #[command(flatten)]
    pub timeline: TimelineArgs,
    /// Write an HTML report with plots to DIR/index.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// Writes `page` to `DIR/index.html` and says where on stderr.
pub fn write_report(dir: &Path, page: Result<crate::view::Page, crate::view::PlotError>) -> Result<()> {
    let page = page.map_err(|e| anyhow!("--report: a plot could not be drawn: {e}"))?;
    let path = page.write(dir).with_context(|| format!("--report {}: cannot write", dir.display()))?;
    eprintln!("cohsim: report written to {}", path.display());
    Ok(())
}

/// A timeline of the run (`stats::timeline`).
#[derive(Args, Debug, Clone, Default)]
pub struct TimelineArgs {
    /// Write a timeline of the run to FILE: Chrome trace-event JSON, opened
    /// by Perfetto (ui.perfetto.dev) or chrome://tracing; one cycle shows as
    /// one microsecond. With `compare`, one file per protocol (FILE.mesi.json, ...).
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Keep only cycles START..END in the timeline.
    #[arg(long, value_name = "START:END", requires = "timeline")]
    pub timeline_window: Option<String>,
    /// Stop recording the timeline after this many events (the file says where).
    #[arg(long, value_name = "EVENTS", default_value_t = 1_000_000)]
    pub timeline_cap: usize,
}

impl TimelineArgs {
    /// The timeline's settings, if one is asked for; a bad window is an error.
    pub fn spec(&self) -> Result<Option<crate::stats::timeline::TimelineSpec>> {
        let Some(_) = &self.timeline else { return Ok(None) };
        let window = match &self.timeline_window {
            None => None,
            Some(w) => {
                let bad = || anyhow!("--timeline-window {w:?}: expected START:END in cycles, START < END");
                let (a, b) = w.split_once(':').ok_or_else(bad)?;
                let (a, b): (u64, u64) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
                if a >= b {
                    return Err(bad());
                }
                Some((a, b))
            }
        };
        if self.timeline_cap == 0 {
            bail!("--timeline-cap: must be at least 1");
        }
        Ok(Some(crate::stats::timeline::TimelineSpec { window, cap: self.timeline_cap }))
    }

    /// Writes `timeline` to the file asked for (with `suffix` before its
    /// extension, for one of several runs), whole or not at all; says on
    /// stderr when the cap was reached.
    pub fn write(&self, timeline: &mut crate::stats::timeline::Timeline, suffix: Option<&str>) -> Result<()> {
        let Some(path) = &self.timeline else { return Ok(()) };
        let path = match suffix {
            None => path.clone(),
            Some(s) => {
                let stem = path.file_stem().map(|x| x.to_string_lossy().to_string()).unwrap_or_default();
                let ext = path.extension().map(|x| x.to_string_lossy().to_string()).unwrap_or_else(|| "json".into());
                path.with_file_name(format!("{stem}.{s}.{ext}"))
            }
        };
        if let Some(at) = timeline.capped_at() {
            eprintln!(
                "cohsim: timeline: the cap of {} events was reached at cycle {at}; {} holds the run up to there \
                 (--timeline-window START:END or --timeline-cap N for more)",
                self.timeline_cap,
                path.display()
            );
        }
        let text = serde_json::to_vec(&timeline.to_json())?;
        write_atomically(&path, &text)
    }
}

/// Defaults (or `--preset`), then the TOML file, then the command line.
pub fn machine_config(m: &MachineArgs, protocol: Option<Protocol>) -> Result<SystemConfig> {
    let preset = m.preset.as_deref();
    let mut cfg = match &m.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            SystemConfig::from_toml_over(preset, &text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        None => match preset {
            Some(p) => SystemConfig::preset(p).map_err(|e| anyhow!("--preset: {e}"))?,
            None => SystemConfig::default(),
        },
    };
    if let Some(p) = protocol {
        cfg.protocol = p;
    }
    if let Some(l1) = &m.l1 {
        cfg.set_l1_shape(l1)?;
    }
    if let Some(t) = &m.topology {
        cfg.network.topology = parse_topology(t)?;
    }
    if let Some(s) = m.dir_slices {
        cfg.directory.slices = s;
    }
    if let Some(i) = &m.interconnect {
        cfg.network.interconnect = parse_interconnect(i)?;
    }
    if m.silent_evict {
        cfg.l1.silent_evict = true;
    }
    if let Some(d) = &m.directory {
        cfg.directory.organisation = parse_organisation(d)?;
    }
    if let Some(s) = m.seed {
        cfg.seed = s;
    }
    if let Some(c) = m.cores {
        cfg.cores = c;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// A protocol name as every command reads it (`Protocol`'s `FromStr`), the
/// error prefixed with the option that gave it (`--protocol`, `--protocols`).
pub fn parse_protocol(s: &str, flag: &str) -> Result<Protocol> {
    s.parse().map_err(|e: UnknownProtocol| anyhow!("{flag}: {e}"))
}

/// A `--directory` value as every command reads it.
pub fn parse_organisation(s: &str) -> Result<crate::model::dir_org::Organisation> {
    s.parse().map_err(|e| anyhow!("--directory: {e}"))
}

/// A `--topology` value as every command reads it.
pub fn parse_topology(s: &str) -> Result<Topology> {
    Topology::parse(s).ok_or_else(|| anyhow!("--topology: unknown topology {s:?}: expected crossbar, ring or mesh"))
}

/// An `--interconnect` value as every command reads it.
pub fn parse_interconnect(s: &str) -> Result<crate::config::Interconnect> {
    crate::config::Interconnect::parse(s)
        .ok_or_else(|| anyhow!("--interconnect: unknown interconnect {s:?}: expected network or bus"))
}

/// Open the trace and fix the core count from it.
pub fn open_trace(t: &TraceArgs, m: &MachineArgs, cfg: &mut SystemConfig) -> Result<TraceSet> {
    let format: Format = t.format.parse().map_err(|e| anyhow!("--format: {e}"))?;
    let spec = TraceSpec { paths: t.traces.clone(), format, line_size: cfg.l1.line };
    let set = trace::open(&spec)?;
    let cores = set.cores();
    if let Some(c) = m.cores
        && c != cores
    {
        bail!("--cores {c} does not match the trace, which has {cores} core(s) ({} file(s))", set.files().len());
    }
    cfg.cores = cores;
    cfg.validate()?;
    Ok(set)
}

/// Write text to FILE atomically (temporary file, then rename) or to stdout.
pub fn emit(output: &Option<PathBuf>, text: &str) -> Result<()> {
    match output {
        None => Ok(super::out!("{text}")?),
        Some(path) => write_atomically(path, text.as_bytes()),
    }
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| anyhow!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.cohsim-tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// A progress bar on stderr, or nothing when stderr is not a terminal or `quiet`.
pub fn progress(quiet: bool, total: Option<u64>, label: &str) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {human_pos}/{human_len} records, {per_sec}, ETA {eta}",
            )
            .expect("valid template"),
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{prefix} {spinner} {human_pos} records, {per_sec}")
                .expect("valid template"),
        ),
    };
    bar.set_prefix(label.to_string());
    Some(bar)
}
