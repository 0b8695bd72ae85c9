//! `exlibris report`: read a results directory and present it.
use std::path::PathBuf;
use std::process::ExitCode;

use exlibris_scan::Results;

/// Summarise scan results.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory (from `exlibris scan`).
    results: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Works listed in the table.
    #[arg(long, default_value_t = 50)]
    top: usize,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let r = Results::read(&a.results)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&exlibris_report::json_report(&r))?);
    } else {
        print!("{}", exlibris_report::text_report(&r, a.top));
    }
    Ok(ExitCode::SUCCESS)
}
