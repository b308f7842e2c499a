//! The command line: one file per subcommand; this file parses and dispatches.
//! Exit status: 0 success, 1 a failed check (violation, deadlock), 2 bad input.

mod stress;
mod table;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cohsim",
    version,
    about = "A cycle-level model of a cache-coherent multicore (MSI/MESI/MOESI)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a protocol's controller tables as Markdown, from the source that runs.
    Table(table::TableArgs),
    /// Random tester: many cores hammer a few lines; checks SWMR, data values and progress.
    Stress(stress::StressArgs),
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
        Command::Table(a) => table::run(a),
        Command::Stress(a) => stress::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cohsim: error: {e:#}");
            2
        }
    }
}
