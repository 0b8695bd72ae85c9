//! `exlibris summary`: draft the EU AI Act public training-content summary.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use exlibris_policy::corpus::TagSummary;
use exlibris_policy::filter::FilterStats;
use exlibris_policy::summary::draft;
use exlibris_policy::Ledger;

/// Draft the public summary of training content (Markdown and JSON).
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of `exlibris tag` (tags-summary.json).
    #[arg(long)]
    tags: PathBuf,
    /// sources.toml.
    #[arg(long)]
    sources: Option<PathBuf>,
    /// Quarantine directory of `exlibris filter` (filter-stats.json).
    #[arg(long)]
    filter: Option<PathBuf>,
    /// Where to write summary.md and summary.json.
    #[arg(long)]
    out: PathBuf,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let ledger = match &a.sources {
        Some(s) => Ledger::read(s)?,
        None => Ledger::default(),
    };
    let tp = a.tags.join("tags-summary.json");
    let tags: TagSummary =
        serde_json::from_slice(&std::fs::read(&tp).with_context(|| tp.display().to_string())?)
            .with_context(|| tp.display().to_string())?;
    let filter: Option<FilterStats> = match &a.filter {
        Some(d) => {
            let p = d.join("filter-stats.json");
            Some(serde_json::from_slice(&std::fs::read(&p).with_context(|| p.display().to_string())?)?)
        }
        None => None,
    };
    let s = draft(&ledger, &tags, filter.as_ref());
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(a.out.join("summary.md"), s.to_markdown())?;
    std::fs::write(a.out.join("summary.json"), serde_json::to_vec_pretty(&s)?)?;
    println!("wrote {} and {}", a.out.join("summary.md").display(), a.out.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}
