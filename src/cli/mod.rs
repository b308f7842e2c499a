//! The command line: one file per subcommand; this file parses and dispatches.
//! Exit status: 0 success, 1 a failed check (violation, deadlock), 2 bad input.

mod agree;
mod app;
mod broadcast;
mod c2c;
mod check;
mod clock;
mod common;
mod convert;
mod r#gen;
mod mutex;
mod record;
mod run;
mod stress;
mod sweep;
mod table;

use std::io::{self, Write};

use clap::{Parser, Subcommand};

/// Writes to standard output. A reader that went away (`cohsim run t | head
/// -1`) ends the output quietly: the rest is dropped and the command keeps its
/// exit status. Any other write error is an error.
pub(crate) fn write_stdout(args: std::fmt::Arguments) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `print!` that survives a closed pipe (see [`write_stdout`]); `?` its result.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!($($t)*)) };
}

/// `println!` that survives a closed pipe (see [`write_stdout`]); `?` its result.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {out, outln};

#[derive(Parser, Debug)]
#[command(name = "cohsim", version, about = "A cycle-level model of a cache-coherent multicore (MSI/MESI/MOESI)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Replay a trace under one protocol and report per-core, traffic and primitive statistics.
    Run(run::RunArgs),
    /// Replay the same trace under several protocols and print them side by side.
    Compare(run::CompareArgs),
    /// Generate a synthetic trace (private, producer-consumer, migratory, false-sharing, …).
    Gen(r#gen::GenArgs),
    /// Convert traces between formats (e.g. to the compact binary format).
    Convert(convert::ConvertArgs),
    /// Print the default machine configuration as TOML (a starting point for --config).
    Config {
        /// Print this preset's machine instead (e.g. course).
        #[arg(long, value_name = "NAME")]
        preset: Option<String>,
    },
    /// Print a protocol's controller tables as Markdown, from the source that runs.
    Table(table::TableArgs),
    /// Random tester: many cores hammer a few lines; checks SWMR, data values and progress.
    Stress(stress::StressArgs),
    /// Exhaustive model checker: every reachable state of a small system.
    Check(check::CheckArgs),
    /// Software on the simulated cores (spin locks, ...), checked on every run.
    App(app::AppArgs),
    /// Core-to-core latency: a CAS hand-off between every pair of cores, as a matrix.
    C2c(c2c::C2cArgs),
    /// Record a real program's memory accesses under valgrind, one core per thread.
    Record(record::RecordArgs),
    /// Run a grid of experiments (a TOML file) on this machine's cores or as a Slurm job array.
    Sweep(sweep::SweepArgs),
}

/// An error and its causes in one line, each cause once: most errors already
/// quote their cause (`x: cannot open: No such file`), so it is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text += ": ";
            }
            text += &part;
        }
    }
    text
}

/// Parse the command line and run; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Compare(a) => run::compare(a),
        Command::Gen(a) => r#gen::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Config { preset } => crate::config::SystemConfig::preset(preset.as_deref().unwrap_or("default"))
            .map_err(|e| anyhow::anyhow!("--preset: {e}"))
            .and_then(|c| Ok(out!("{}", c.to_toml()).map(|()| 0)?)),
        Command::Table(a) => table::run(a),
        Command::Stress(a) => stress::run(a),
        Command::Check(a) => check::run(a),
        Command::App(a) => app::run(a),
        Command::Record(a) => record::run(a),
        Command::C2c(a) => c2c::run(a),
        Command::Sweep(a) => sweep::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cohsim: error: {}", message(&e));
            2
        }
    }
}
