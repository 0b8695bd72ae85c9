//! `exlibris scan`: corpus × index → findings, coverage, stats.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;

use exlibris_index::Index;
use exlibris_scan::{
    discover, scan, Fields, MatchOptions, Progress, ReadOptions, ResultsWriter, RunInfo, ScanOptions,
    ScanStats, Sink,
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
    let mut writer = ResultsWriter::create(&a.out, &index, &inputs, &opts)?;
    for (path, why) in writer.stale() {
        eprintln!("exlibris: redoing {path}: its part in {} was {why}", a.out.display());
    }
    if writer.kept() > 0 {
        eprintln!(
            "exlibris: resuming in {}: skipping {} of {} inputs whose parts are done, scanning {}",
            a.out.display(),
            writer.kept(),
            writer.kept() + writer.todo().len(),
            writer.todo().len()
        );
    }
    let todo = writer.todo().to_vec();
    let total: u64 = todo.iter().filter_map(|i| std::fs::metadata(&i.path).ok()).map(|m| m.len()).sum();
    let bar = super::progress_bar(total, "scanning");
    let progress = Progress::default();
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
        fn input_done(&mut self, input: &exlibris_scan::Input, s: &ScanStats) -> exlibris_scan::Result<bool> {
            self.0.input_done(input, s)
        }
    }
    let this_run = {
        let mut sink = Report(&mut writer, &bar, &progress);
        scan(&index, &todo, &opts, &mut [&mut sink as &mut dyn Sink], &progress)
            .with_context(|| format!("scanning against {}", a.index.display()))?
    };
    bar.finish_and_clear();
    let file = writer.finish(&index, run, skipped)?;
    let stats = &file.stats;
    exlibris_report::StoreWriter::build(&exlibris_scan::Results::read(&a.out)?)?;
    println!(
        "scanned {} documents ({:.1} MB) in {:.2}s ({:.1} MB/s, {threads} threads)",
        this_run.documents_scanned,
        this_run.bytes_scanned as f64 / 1e6,
        this_run.seconds,
        this_run.mb_per_s(),
    );
    println!(
        "  results: {} findings in {} documents; read {} = scanned {} + rejected {}; {} parts ({} kept from an earlier run) in {}",
        stats.findings,
        stats.documents_with_findings,
        stats.documents_read,
        stats.documents_scanned,
        stats.documents_rejected,
        file.parts.len(),
        file.resumed_parts,
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
