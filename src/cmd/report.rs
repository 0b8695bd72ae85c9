//! `exlibris report`: read a results directory and present it.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use exlibris_scan::Results;

/// Summarise scan results.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory (from `exlibris scan`), or an s3:// URL of published results.
    results: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Works listed in the table.
    #[arg(long, default_value_t = 50)]
    top: usize,
    /// Also write a self-contained HTML report to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Works in the HTML report (the most covered).
    #[arg(long, default_value_t = exlibris_report::HtmlOptions::default().max_works)]
    html_works: u32,
    /// Findings shown as evidence per work in the HTML report (the longest).
    #[arg(long, default_value_t = exlibris_report::HtmlOptions::default().evidence_per_work)]
    html_evidence: u32,
    #[command(flatten)]
    remote: super::remote::RemoteArgs,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let staged = a.remote.init().results(&a.results)?;
    let r = Results::read(&staged.path)?;
    if let Some(path) = &a.html {
        let store = exlibris_report::Store::open_for(&r)?;
        let opts = exlibris_report::HtmlOptions {
            max_works: a.html_works,
            evidence_per_work: a.html_evidence,
            ..Default::default()
        };
        let page = exlibris_report::html_report(&r, &store, &opts)?;
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("exlibris: HTML report in {}", path.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&exlibris_report::json_report(&r))?);
    } else {
        print!("{}", exlibris_report::text_report(&r, a.top));
    }
    Ok(ExitCode::SUCCESS)
}
