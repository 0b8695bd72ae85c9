//! `exlibris filter`: the policy gate, keep or quarantine each document.
use std::path::PathBuf;
use std::process::ExitCode;

use exlibris_policy::filter::{filter, load_findings, FilterDirs};
use exlibris_policy::Policy;
use exlibris_scan::{discover, ReadOptions};

/// Split a corpus into kept and quarantined documents by a policy.
#[derive(clap::Args)]
pub struct Args {
    /// policy.toml.
    #[arg(long)]
    policy: PathBuf,
    /// Corpus files, directories or globs (JSON Lines, Parquet, WARC/WET, text files).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Directory for kept documents.
    #[arg(long)]
    keep: PathBuf,
    /// Directory for quarantined documents and reasons.jsonl.
    #[arg(long)]
    quarantine: PathBuf,
    /// sources.toml.
    #[arg(long)]
    sources: Option<PathBuf>,
    /// Scan results directory, for `deny_findings`.
    #[arg(long)]
    findings: Option<PathBuf>,
    /// Directory of robots.txt files.
    #[arg(long)]
    robots: Option<PathBuf>,
    /// Watermark list replacing the shipped one.
    #[arg(long)]
    watermarks: Option<PathBuf>,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let policy = Policy::read(&a.policy)?;
    let (tagger, ledger) = super::tag::setup(a.sources.as_ref(), a.robots.as_ref(), a.watermarks.as_ref())?;
    let findings = match &a.findings {
        Some(d) => load_findings(d)?,
        None if policy.deny_findings => {
            anyhow::bail!("the policy sets deny_findings: give --findings RESULTS_DIR")
        }
        None => Default::default(),
    };
    let (inputs, skipped) = discover(&a.inputs)?;
    for s in &skipped {
        eprintln!("exlibris: skipped {}: {}", s.path, s.reason);
    }
    let dirs = FilterDirs { keep: &a.keep, quarantine: &a.quarantine };
    let s = filter(&inputs, &ReadOptions::default(), &tagger, &ledger, &policy, &findings, &dirs)?;
    println!(
        "read {} documents ({} bytes) = kept {} ({} bytes) + quarantined {} ({} bytes){}",
        s.read,
        s.input_bytes,
        s.kept,
        s.kept_bytes,
        s.quarantined,
        s.quarantined_bytes,
        if s.reconciles() { "" } else { " — COUNTS DO NOT RECONCILE" }
    );
    for (rule, n) in &s.by_rule {
        println!("  quarantined by {rule}: {n}");
    }
    if s.other_records > 0 {
        println!(
            "  and {} WARC records that are not documents, routed with their documents ({} to quarantine)",
            s.other_records, s.other_records_quarantined
        );
    }
    println!(
        "reasons in {}, counts in {}",
        a.quarantine.join(exlibris_policy::filter::REASONS).display(),
        a.quarantine.join(exlibris_policy::filter::STATS).display()
    );
    anyhow::ensure!(s.reconciles(), "counts do not reconcile");
    Ok(super::exit_code(!skipped.is_empty()))
}
