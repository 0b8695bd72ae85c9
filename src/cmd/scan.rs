//! `exlibris scan`: corpus × index → findings, coverage, stats.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;

use exlibris_index::Index;
use exlibris_scan::{
    discover, scan, Fields, MatchOptions, Progress, ReadOptions, ResultsWriter, RunInfo, ScanOptions, Sink,
};

/// Scan a corpus against an index.
#[derive(clap::Args)]
pub struct Args {
    /// The index directory (from `exlibris index`).
    #[arg(long)]
    index: PathBuf,
    /// Results directory to write.
    #[arg(long)]
    out: PathBuf,
    /// Corpus files, directories (recursively) or glob patterns: JSON Lines (plain, gzip, zstd),
    /// Parquet, WARC/WET (plain or gzip), .txt files; detected by content.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// JSON field or Parquet column holding the document id (WARC: always WARC-Record-ID).
    #[arg(long, default_value = "id")]
    id_field: String,
    /// JSON field or Parquet column holding the document text.
    #[arg(long, default_value = "text")]
    text_field: String,
    /// JSON field or Parquet column holding the document URL (WARC: WARC-Target-URI).
    #[arg(long, default_value = "url")]
    url_field: String,
    /// Stop at the first bad record.
    #[arg(long)]
    strict: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Expected words per shingle: refuse an index built otherwise.
    #[arg(long)]
    k: Option<u32>,
    /// Expected window: refuse an index built otherwise.
    #[arg(long)]
    w: Option<u32>,
    /// Most words between two hits of one passage.
    #[arg(long, default_value_t = MatchOptions::default().max_gap)]
    max_gap: u32,
    /// Most shift between the two sides within a passage (inserted or deleted words).
    #[arg(long, default_value_t = MatchOptions::default().max_drift)]
    max_drift: u32,
    /// Fewest matched words in a finding (default: the index's guarantee w + k − 1).
    #[arg(long)]
    min_words: Option<u32>,
    /// Read, decode and fingerprint only, with no lookups and no findings:
    /// the read floor of a benchmark.
    #[arg(long, hide = true)]
    read_only: bool,
    /// Records longer than this are refused.
    #[arg(long, default_value = "256M", value_parser = super::parse_size)]
    max_record_bytes: usize,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let threads = super::set_threads(a.threads)?;
    let index = Index::open(&a.index)?;
    let s = *index.settings();
    for (name, want, have) in [("k", a.k, s.k), ("w", a.w, s.w)] {
        if want.is_some_and(|v| v != have) {
            anyhow::bail!("{}: index built with {name} = {have}, scan asked for {name} = {}; rebuild the index or drop --{name}", a.index.display(), want.unwrap());
        }
    }
    let (inputs, skipped) = discover(&a.inputs)?;
    for s in &skipped {
        eprintln!("exlibris: skipped {}: {}", s.path, s.reason);
    }
    let opts = ScanOptions {
        read: ReadOptions {
            fields: Fields { id: a.id_field, text: a.text_field, url: a.url_field },
            max_record_bytes: a.max_record_bytes,
        },
        matching: MatchOptions {
            max_gap: a.max_gap,
            max_drift: a.max_drift,
            min_words: a.min_words.unwrap_or(0),
            ..Default::default()
        },
        strict: a.strict,
        batch_bytes: 0,
        read_only: a.read_only,
    };
    let run = RunInfo {
        exlibris_version: env!("CARGO_PKG_VERSION").into(),
        index_id: index.meta().index_id.clone(),
        index: a.index.display().to_string(),
        fingerprint: s,
        min_words: exlibris_scan::Matcher::new(&index, opts.matching.clone()).min_words(),
        matching: opts.matching.clone(),
        inputs: inputs.iter().map(|i| i.path.display().to_string()).collect(),
        threads,
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let total: u64 = inputs.iter().filter_map(|i| std::fs::metadata(&i.path).ok()).map(|m| m.len()).sum();
    let bar = super::progress_bar(total, "scanning");
    let progress = Progress::default();
    let mut writer = ResultsWriter::create(&a.out)?;
    let mut store = exlibris_report::StoreWriter::create(&a.out)?;
    struct Report<'a, 'b>(&'a mut ResultsWriter, &'b indicatif::ProgressBar, &'b Progress);
    impl Sink for Report<'_, '_> {
        fn document(
            &mut self,
            d: &exlibris_scan::Document,
            f: &[exlibris_scan::Finding],
            i: &Index,
        ) -> exlibris_scan::Result<bool> {
            self.1.set_position(self.2.bytes.load(Ordering::Relaxed));
            self.0.document(d, f, i)
        }
        fn rejected(&mut self, r: &exlibris_scan::Rejection) -> exlibris_scan::Result<bool> {
            self.1.suspend(|| eprintln!("exlibris: rejected {r}"));
            self.0.rejected(r)
        }
    }
    let mut stats = {
        let mut sink = Report(&mut writer, &bar, &progress);
        scan(&index, &inputs, &opts, &mut [&mut sink as &mut dyn Sink, &mut store], &progress)
            .with_context(|| format!("scanning against {}", a.index.display()))?
    };
    bar.finish_and_clear();
    stats.skipped_files = skipped;
    writer.finish(&index, run, &stats)?;
    store.finish(&exlibris_scan::Results::read(&a.out)?)?;
    println!(
        "scanned {} documents ({:.1} MB) in {:.2}s ({:.1} MB/s, {threads} threads): {} findings in {} documents; {} rejected",
        stats.documents_scanned,
        stats.bytes_scanned as f64 / 1e6,
        stats.seconds,
        stats.mb_per_s(),
        stats.findings,
        stats.documents_with_findings,
        stats.documents_rejected
    );
    println!(
        "  read {} = scanned {} + rejected {}; results in {}",
        stats.documents_read,
        stats.documents_scanned,
        stats.documents_rejected,
        a.out.display()
    );
    if stats.is_partial() {
        eprintln!(
            "exlibris: partial run: {} records rejected (see {}/rejected.jsonl)",
            stats.documents_rejected,
            a.out.display()
        );
    }
    Ok(super::exit_code(stats.is_partial()))
}
