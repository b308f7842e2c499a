//! The command line: one file per subcommand; this file parses and dispatches.
//! Exit status: 0 success, 1 a failed check (violation, deadlock), 2 bad input.

mod check;
mod common;
mod convert;
mod r#gen;
mod run;
mod stress;
mod table;

use clap::{Parser, Subcommand};

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
    Config,
    /// Print a protocol's controller tables as Markdown, from the source that runs.
    Table(table::TableArgs),
    /// Random tester: many cores hammer a few lines; checks SWMR, data values and progress.
    Stress(stress::StressArgs),
    /// Exhaustive model checker: every reachable state of a small system.
    Check(check::CheckArgs),
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
        Command::Config => {
            print!("{}", crate::config::SystemConfig::default().to_toml());
            Ok(0)
        }
        Command::Table(a) => table::run(a),
        Command::Stress(a) => stress::run(a),
        Command::Check(a) => check::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cohsim: error: {e:#}");
            2
        }
    }
}
