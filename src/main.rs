//! The `exlibris` command line: one subcommand per module under `cmd/`.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Audit training data for catalogued works, with evidence.
#[derive(Parser)]
#[command(name = "exlibris", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test whether a language model read a given work.
    #[cfg(feature = "probe")]
    Probe(cmd::probe::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        #[cfg(feature = "probe")]
        Command::Probe(args) => cmd::probe::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("exlibris: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
