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
    /// Build a fingerprint index from a catalog of works.
    Index(cmd::index::Args),
    /// Scan a corpus against an index: findings, coverage, stats.
    Scan(cmd::scan::Args),
    /// Summarise the results of a scan.
    Report(cmd::report::Args),
    /// Serve lookups and a web page over an index and scan results.
    Serve(cmd::serve::Args),
    /// Combine results directories of separate runs, or the tasks of a plan.
    Merge(cmd::merge::Args),
    /// Split a corpus into tasks balanced by bytes, for a cluster.
    Plan(cmd::plan::Args),
    /// Write and submit the Slurm jobs of a plan: an array of scan tasks, then the merge.
    Slurm(cmd::slurm::Args),
    /// Tag documents (shadow-library markers, copyright pages, ISBNs, opt-outs, book-likeness).
    Tag(cmd::tag::Args),
    /// Keep or quarantine each document by a policy.
    Filter(cmd::filter::Args),
    /// Draft the EU AI Act public summary of training content.
    Summary(cmd::summary::Args),
    /// Test whether a language model read a given work.
    #[cfg(feature = "probe")]
    Probe(cmd::probe::Args),
}

fn main() -> ExitCode {
    // Like other Unix tools: `exlibris report … | head` ends quietly when the
    // reader goes away, instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // starts; no handler is installed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Index(a) => cmd::index::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Merge(a) => cmd::merge::run(a),
        Command::Plan(a) => cmd::plan::run(a),
        Command::Slurm(a) => cmd::slurm::run(a),
        Command::Tag(a) => cmd::tag::run(a),
        Command::Filter(a) => cmd::filter::run(a),
        Command::Summary(a) => cmd::summary::run(a),
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
