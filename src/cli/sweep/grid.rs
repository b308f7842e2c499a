//! The grid file of `cohsim sweep`: reading it, checking every key and value
//! against the command it sweeps, and unfolding it into cells.
//!
//! ```toml
//! [sweep]
//! command = "run"                       # any cohsim command with --json ("app raft", "c2c", …)
//! inputs = ["traces/migratory.csv"]     # its positional input: traces (run, compare) or apps (app)
//! out = "results"                       # where the results go
//! config = "machine.toml"               # optional: the base machine (see `cohsim config`)
//! args = ["--no-classify"]              # optional: fixed options for every cell
//! metrics = ["cycles", "totals"]        # optional: which parts of each result are merged
//! [axes]
//! protocol = ["mesi", "moesi"]          # an option of the command (--protocol)
//! l1 = ["4KiB:2:32", "8KiB:2:32"]       # (--l1)
//! "memory.latency" = [100, 200]         # a configuration key, when the command takes --config
//! ```
//!
//! Paths (`inputs`, `out`, `config`) are relative to the grid file's folder, so
//! a sweep means the same thing from any working directory and on any node of
//! a cluster that shares the folder. An axis key is an option of the command
//! when it has one (`dir_slices` and `dir-slices` both name `--dir-slices`), else
//! a configuration key (`section.key`, or a top-level key such as
//! `watchdog_cycles`). Cells are the axes' product in file order, the first axis
//! varying slowest, `inputs` (the axis `input`) before all others. Everything
//! is checked before anything runs: each value alone against the command's own
//! parser and the configuration's, then each cell whole. An error names the file
//! and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use serde::Deserialize;
use toml::Spanned;

use crate::config::SystemConfig;

/// A grid-file error: the file and line it is about, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct GridError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    sweep: SweepTable,
    axes: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepTable {
    command: Spanned<String>,
    inputs: Option<Spanned<Vec<String>>>,
    out: Spanned<String>,
    config: Option<Spanned<String>>,
    args: Option<Spanned<Vec<String>>>,
    metrics: Option<Spanned<Vec<String>>>,
}

/// One value on an axis, as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    fn to_toml(&self) -> toml::Value {
        match self {
            Value::Text(s) => toml::Value::String(s.clone()),
            Value::Int(i) => toml::Value::Integer(*i),
            Value::Float(x) => toml::Value::Float(*x),
            Value::Bool(b) => toml::Value::Boolean(*b),
        }
    }
}

/// What an axis sets.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The positional input (a trace, or an app's name).
    Input,
    /// An option of the command; `switch` when it takes no value (`true` sets it).
    Flag { long: String, switch: bool },
    /// A key of the machine configuration, as its path of table names.
    Config(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Axis {
    pub name: String,
    pub target: Target,
    pub values: Vec<Value>,
    pub line: usize,
}

/// One point of the grid: a command line, and a machine configuration when
/// configuration keys are swept or a base configuration is given.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub index: usize,
    /// `axis=value` pairs joined by spaces: how a cell is named to users.
    pub name: String,
    pub axes: Vec<(String, String)>,
    /// Arguments after `cohsim`; `{config}` stands for the cell's configuration file.
    pub argv: Vec<String>,
    pub config: Option<String>,
}

pub const CONFIG_PLACEHOLDER: &str = "{config}";

#[derive(Debug)]
pub struct Grid {
    pub file: PathBuf,
    pub command: Vec<String>,
    pub out: PathBuf,
    pub metrics: Option<Vec<String>>,
    pub axes: Vec<Axis>,
    pub cells: Vec<Cell>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> GridError {
        GridError { file: self.file.to_path_buf(), line: line_of(self.text, offset), message: message.into() }
    }
}

/// Reads and checks a grid file; nothing is run.
pub fn load(file: &Path) -> Result<Grid, GridError> {
    let text = std::fs::read_to_string(file).map_err(|e| GridError {
        file: file.to_path_buf(),
        line: 0,
        message: format!("cannot read the grid file: {e}"),
    })?;
    parse(file, &text)
}

/// Checks a grid given as text (`file` names it in errors and anchors its paths).
pub fn parse(file: &Path, text: &str) -> Result<Grid, GridError> {
    let cx = Ctx { file, text };
    let raw: GridFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        cx.err(at, e.message().trim().to_string())
    })?;
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Absolute, so a cell's command line means the same from any folder.
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let s = &raw.sweep;

    let command: Vec<String> = s.command.get_ref().split_whitespace().map(String::from).collect();
    let sub = find_command(&command).map_err(|m| cx.err(s.command.span().start, m))?;
    let positional = sub.get_positionals().next().is_some();
    let picks_subcommand = sub.has_subcommands();
    // The commands the cells run: this one, or one per input when the input
    // names a subcommand (`command = "app"`, `inputs = ["raft", "paxos"]`).
    let mut runs = vec![(command.join(" "), sub.clone())];
    if picks_subcommand && let Some(inputs) = &s.inputs {
        runs.clear();
        for i in inputs.get_ref() {
            let c = sub.find_subcommand(i).cloned().ok_or_else(|| {
                cx.err(
                    inputs.span().start,
                    format!("input {i:?}: `cohsim {}` has no such subcommand", command.join(" ")),
                )
            })?;
            runs.push((format!("{} {i}", command.join(" ")), c));
        }
    }
    // An option is an axis only if every command the cells run takes it.
    let mut longs: Option<BTreeMap<String, bool>> = None;
    for (name, c) in &runs {
        let these: BTreeMap<String, bool> = c
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| (l.to_string(), !a.get_action().takes_values())))
            .collect();
        if !these.contains_key("json") {
            return Err(cx.err(s.command.span().start, format!("`cohsim {name}` prints no JSON: it cannot be swept")));
        }
        longs = Some(match longs {
            None => these,
            Some(l) => l.into_iter().filter(|(k, _)| these.contains_key(k)).collect(),
        });
    }
    let longs = longs.unwrap_or_default();
    let takes_config = longs.contains_key("config");

    let mut axes = Vec::new();
    if let Some(inputs) = &s.inputs {
        let at = inputs.span().start;
        if inputs.get_ref().is_empty() {
            return Err(cx.err(at, "`inputs` is empty: give at least one, or leave the key out"));
        }
        if !positional && !picks_subcommand {
            return Err(cx.err(at, format!("`cohsim {}` takes no input: leave `inputs` out", command.join(" "))));
        }
        if positional {
            for i in inputs.get_ref() {
                let p = dir.join(i);
                let prefix_form = PathBuf::from(format!("{}_0.data", p.display()));
                if !p.exists() && !prefix_form.exists() {
                    return Err(cx.err(at, format!("input {i:?}: no such file ({})", p.display())));
                }
            }
        }
        let values = inputs.get_ref().iter().map(|i| Value::Text(i.clone())).collect();
        axes.push(Axis { name: "input".into(), target: Target::Input, values, line: line_of(text, at) });
    } else if positional && sub.get_positionals().any(|a| a.is_required_set()) {
        return Err(cx.err(s.command.span().start, format!("`cohsim {}` needs `inputs`", command.join(" "))));
    } else if picks_subcommand {
        return Err(
            cx.err(s.command.span().start, format!("`cohsim {}` needs `inputs`: which ones to run", command.join(" ")))
        );
    }

    let mut keys: Vec<_> = raw.axes.as_ref().map(|a| a.get_ref().iter().collect()).unwrap_or_default();
    keys.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in keys {
        let at = key.span().start;
        let name = key.get_ref().clone();
        if name == "input" {
            return Err(cx.err(at, "`input` is set by `inputs` in [sweep]"));
        }
        let long = name.replace('_', "-");
        let target = if let Some(&switch) = longs.get(&long) {
            if matches!(long.as_str(), "json" | "config" | "output" | "quiet" | "csv") {
                return Err(cx.err(at, format!("axis `{name}`: --{long} is set by the sweep itself")));
            }
            Target::Flag { long, switch }
        } else if is_config_key(&name) {
            if !takes_config {
                return Err(cx.err(
                    at,
                    format!(
                        "axis `{name}` is a configuration key, but `cohsim {}` takes no --config",
                        command.join(" ")
                    ),
                ));
            }
            Target::Config(name.split('.').map(String::from).collect())
        } else if let Some((lacking, _)) =
            runs.iter().find(|(_, c)| !c.get_arguments().any(|a| a.get_long() == Some(&long)))
        {
            return Err(cx.err(
                at,
                format!("unknown key `{name}`: neither an option of `cohsim {lacking}` nor a configuration key (see `cohsim config`)"),
            ));
        } else {
            return Err(cx.err(at, format!("unknown key `{name}`")));
        };
        let values = axis_values(&cx, &name, value, &target)?;
        axes.push(Axis { name, target, values, line: line_of(text, at) });
    }

    let base = match &s.config {
        None => None,
        Some(c) => {
            let path = dir.join(c.get_ref());
            let t = std::fs::read_to_string(&path)
                .map_err(|e| cx.err(c.span().start, format!("config {}: {e}", path.display())))?;
            let table: toml::Table = toml::from_str(&t)
                .map_err(|e| cx.err(c.span().start, format!("config {}: {}", path.display(), e.message().trim())))?;
            if !takes_config {
                return Err(cx.err(c.span().start, format!("`cohsim {}` takes no --config", command.join(" "))));
            }
            Some(table)
        }
    };
    let fixed: Vec<String> = s.args.as_ref().map(|a| a.get_ref().clone()).unwrap_or_default();
    let mut metrics = None;
    if let Some(m) = &s.metrics {
        if m.get_ref().is_empty() {
            return Err(cx.err(m.span().start, "`metrics` is empty: leave it out to merge every number"));
        }
        metrics = Some(m.get_ref().clone());
    }

    let plan =
        Plan { command: &command, input_is_path: !picks_subcommand, dir: &dir, base: base.as_ref(), fixed: &fixed };
    // Each value alone (beside the first input, which every cell needs), so an
    // error names its axis and line; then every cell whole.
    for (k, axis) in axes.iter().enumerate() {
        let with: Vec<usize> =
            (0..axes.len()).filter(|&j| j == k || axes[j].target == Target::Input && j < k).collect();
        let some: Vec<Axis> = with.iter().map(|&j| axes[j].clone()).collect();
        for v in &axis.values {
            let choice: Vec<&Value> = with.iter().map(|&j| if j == k { v } else { &axes[j].values[0] }).collect();
            plan.check(&some, &choice).map_err(|m| GridError {
                file: file.to_path_buf(),
                line: axis.line,
                message: format!("axis `{}` = {v}: {m}", axis.name),
            })?;
        }
    }
    let mut cells = Vec::new();
    for (index, choice) in product(&axes).into_iter().enumerate() {
        let cell = plan
            .cell(index, &axes, &choice)
            .map_err(|m| cx.err(s.command.span().start, format!("cell {index}: {m}")))?;
        cells.push(cell);
    }
    Ok(Grid { file: file.to_path_buf(), command, out: dir.join(s.out.get_ref()), metrics, axes, cells })
}

fn find_command(words: &[String]) -> Result<clap::Command, String> {
    let mut cmd = crate::cli::Cli::command();
    if words.is_empty() {
        return Err("`command` is empty".into());
    }
    for w in words {
        if w == "sweep" {
            return Err("a sweep cannot sweep `sweep`".into());
        }
        cmd = cmd.find_subcommand(w).cloned().ok_or_else(|| format!("unknown command `{}`", words.join(" ")))?;
    }
    Ok(cmd)
}

/// The command `words` name, as deep as they go (`app raft --json` → `app raft`).
fn leaf(words: &[String]) -> clap::Command {
    let mut cmd = crate::cli::Cli::command();
    for w in words {
        match cmd.find_subcommand(w) {
            Some(c) => cmd = c.clone(),
            None => break,
        }
    }
    cmd
}

/// Whether `key` (`memory.latency`, `seed`) names a scalar of the machine configuration.
fn is_config_key(key: &str) -> bool {
    let default: toml::Table = toml::from_str(&SystemConfig::default().to_toml()).expect("the default config parses");
    let mut table = &default;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        match table.get(*part) {
            Some(toml::Value::Table(t)) if i + 1 < parts.len() => table = t,
            Some(toml::Value::Table(_)) | None => return false,
            Some(_) => return i + 1 == parts.len(),
        }
    }
    false
}

fn axis_values(cx: &Ctx, name: &str, value: &Spanned<toml::Value>, target: &Target) -> Result<Vec<Value>, GridError> {
    let at = value.span().start;
    let toml::Value::Array(items) = value.get_ref() else {
        return Err(cx.err(at, format!("axis `{name}`: expected a list of values, e.g. {name} = [1, 2]")));
    };
    if items.is_empty() {
        return Err(cx.err(at, format!("axis `{name}` is empty: give at least one value")));
    }
    let mut out = Vec::new();
    for item in items {
        let v = match item {
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Float(x) => Value::Float(*x),
            toml::Value::Boolean(b) => Value::Bool(*b),
            other => {
                return Err(cx.err(at, format!("axis `{name}`: {other} is not a string, number or boolean")));
            }
        };
        if let Target::Flag { long, switch: true } = target
            && !matches!(v, Value::Bool(_))
        {
            return Err(
                cx.err(at, format!("axis `{name}`: --{long} is a switch: its values are true or false, not {v}"))
            );
        }
        if out.contains(&v) {
            return Err(cx.err(at, format!("axis `{name}`: {v} appears twice")));
        }
        out.push(v);
    }
    Ok(out)
}

/// Every combination of one value per axis, the first axis varying slowest.
fn product(axes: &[Axis]) -> Vec<Vec<&Value>> {
    let mut out: Vec<Vec<&Value>> = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| axis.values.iter().map(move |v| [prefix.clone(), vec![v]].concat()))
            .collect();
    }
    out
}

struct Plan<'a> {
    command: &'a [String],
    /// The input is a file (a trace), not the name of a subcommand.
    input_is_path: bool,
    dir: &'a Path,
    base: Option<&'a toml::Table>,
    fixed: &'a [String],
}

impl Plan<'_> {
    fn cell(&self, index: usize, axes: &[Axis], choice: &[&Value]) -> Result<Cell, String> {
        let mut argv: Vec<String> = self.command.to_vec();
        let mut config = self.base.cloned();
        let mut named = Vec::new();
        let mut flags = Vec::new();
        for (axis, v) in axes.iter().zip(choice) {
            named.push((axis.name.clone(), v.to_string()));
            match &axis.target {
                Target::Input => {
                    let s = v.to_string();
                    argv.push(if self.input_is_path { self.dir.join(&s).to_string_lossy().into_owned() } else { s });
                }
                Target::Flag { long, switch: true } => {
                    if **v == Value::Bool(true) {
                        flags.push(format!("--{long}"));
                    }
                }
                Target::Flag { long, .. } => {
                    flags.push(format!("--{long}"));
                    flags.push(v.to_string());
                }
                Target::Config(path) => {
                    let table = config.get_or_insert_with(toml::Table::new);
                    set_key(table, path, v.to_toml());
                }
            }
        }
        argv.push("--json".into());
        if leaf(&argv).get_arguments().any(|a| a.get_long() == Some("quiet")) {
            argv.push("--quiet".into());
        }
        argv.extend(flags);
        argv.extend(self.fixed.iter().cloned());
        let config = match config {
            None => None,
            Some(t) => {
                let text = toml::to_string(&t).map_err(|e| e.to_string())?;
                // Types and keys only: a configuration that breaks a rule
                // (ways not a power of two, say) is the cell's failure, not the grid's.
                SystemConfig::from_toml(&text).map_err(|e| e.to_string())?;
                argv.push("--config".into());
                argv.push(CONFIG_PLACEHOLDER.into());
                Some(text)
            }
        };
        let mut words = vec!["cohsim".to_string()];
        words.extend(argv.iter().map(|a| if a == CONFIG_PLACEHOLDER { "/dev/null".into() } else { a.clone() }));
        if let Err(e) = crate::cli::Cli::try_parse_from(&words) {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
            return Err(first);
        }
        let name = named.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
        Ok(Cell { index, name, axes: named, argv, config })
    }

    fn check(&self, axes: &[Axis], choice: &[&Value]) -> Result<(), String> {
        self.cell(0, axes, choice).map(|_| ())
    }
}

fn set_key(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("a key has a name");
    let mut t = table;
    for p in parents {
        let entry = t.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = entry.as_table_mut().expect("made a table above");
    }
    t.insert(last.clone(), value);
}
