//! `exlibris index`: catalog → index.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use exlibris_index::{build_index, BuildOptions, Catalog, TableFilter};
use exlibris_text::FingerprintSettings;

/// Build a fingerprint index from a catalog of works.
#[derive(clap::Args)]
pub struct Args {
    /// The catalog manifest (JSON Lines: id, path, title, author, …); work files may be
    /// .txt, .md, .html/.htm, .epub or .pdf (PDF needs poppler's pdftotext).
    #[arg(long)]
    catalog: PathBuf,
    /// Index directory to write.
    #[arg(long)]
    out: PathBuf,
    /// Words per shingle.
    #[arg(long, default_value_t = FingerprintSettings::default().k)]
    k: u32,
    /// Shingles per winnowing window: any shared run of w + k − 1 words is found.
    #[arg(long, default_value_t = FingerprintSettings::default().w)]
    w: u32,
    /// Drop fingerprints found in more works than this (common phrases).
    #[arg(long, default_value_t = TableFilter::default().max_work_freq)]
    max_work_freq: u32,
    /// Drop fingerprints with more postings than this (runs repeated throughout a work).
    #[arg(long, default_value_t = TableFilter::default().max_postings)]
    max_postings: u32,
    /// Memory budget of the build; postings beyond it spill to sorted runs on disk.
    #[arg(long, default_value = "1G", value_parser = super::parse_size)]
    memory: usize,
    /// Fail on the first catalog entry that cannot be indexed.
    #[arg(long)]
    strict: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    super::set_threads(a.threads)?;
    let catalog = Catalog::read(&a.catalog)?;
    if a.strict {
        if let Some(r) = catalog.rejected.first() {
            anyhow::bail!("{}:{}: {} (stopped: --strict)", a.catalog.display(), r.line, r.reason);
        }
    }
    let opts = BuildOptions {
        fingerprint: FingerprintSettings { k: a.k, w: a.w, ..Default::default() },
        filter: TableFilter { max_work_freq: a.max_work_freq, max_postings: a.max_postings },
        memory: a.memory,
    };
    let total: u64 =
        catalog.entries.iter().filter_map(|e| std::fs::metadata(&e.file).ok()).map(|m| m.len()).sum();
    let bar = super::progress_bar(total, "indexing");
    let (meta, stats) = build_index(&catalog, &a.out, &opts, &|done| bar.set_position(done))
        .with_context(|| format!("building the index of {}", a.catalog.display()))?;
    bar.finish_and_clear();
    for r in &meta.rejected {
        eprintln!("exlibris: {}:{}: {}", a.catalog.display(), r.line, r.reason);
    }
    if a.strict && !meta.rejected.is_empty() {
        anyhow::bail!("{} catalog entries could not be indexed (--strict)", meta.rejected.len());
    }
    println!(
        "indexed {} works ({:.1} MB, {} words) into {} in {:.2}s ({:.1} MB/s)",
        stats.works,
        stats.bytes as f64 / 1e6,
        stats.tokens,
        a.out.display(),
        stats.seconds,
        stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9)
    );
    println!(
        "  k = {}, w = {}: any shared run of {} words is found; {} postings ({} fingerprints, {} shared by several works; dropped {} common, {} repetitive)",
        opts.fingerprint.k,
        opts.fingerprint.w,
        opts.fingerprint.guarantee(),
        stats.table.postings,
        stats.table.fingerprints,
        stats.table.shared_fingerprints,
        stats.table.dropped_common,
        stats.table.dropped_repetitive
    );
    if !meta.rejected.is_empty() {
        println!("  {} catalog entries refused (listed above and in meta.json)", meta.rejected.len());
    }
    Ok(super::exit_code(!meta.rejected.is_empty()))
}
