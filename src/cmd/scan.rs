//! `exlibris scan`: corpus × index → findings, coverage, stats.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;

use exlibris_index::{Index, Verification};
use exlibris_report::{StoreFeed, StoreWriter};
use exlibris_scan::{
    discover, scan, Fields, Input, MatchOptions, Plan, Progress, ReadOptions, ResultsWriter, RunInfo,
    ScanOptions, ScanStats, Sink, TaskInfo,
};

/// Scan a corpus against an index.
#[derive(clap::Args)]
pub struct Args {
    /// The index directory (from `exlibris index`), or an s3:// URL (fetched into the cache).
    #[arg(long)]
    index: PathBuf,
    /// Results directory to write (with --plan: the plan's; task I writes `OUT/tasks/task-I`), or
    /// an s3:// URL (staged locally, then uploaded with stats.json last).
    #[arg(long)]
    out: PathBuf,
    /// Corpus files, directories (recursively) or glob patterns: JSON Lines (plain, gzip, zstd),
    /// Parquet, WARC/WET (plain or gzip), .txt files; detected by content. Also s3://bucket/key
    /// (one object) and s3://bucket/prefix/ (every object under it).
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    inputs: Vec<PathBuf>,
    /// Scan the tasks of a plan (from `exlibris plan`) instead of inputs.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// The plan task to scan (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX, else
    /// every task without a valid result, one after another).
    #[arg(long, requires = "plan")]
    task: Option<usize>,
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
    /// Read and decode, then only normalise (`--read-only`, the read floor
    /// of a benchmark) or only fingerprint (`--read-only=fingerprint`):
    /// no lookups, no findings.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "normalise", value_parser = ["normalise", "fingerprint"])]
    read_only: Option<String>,
    /// Records longer than this are refused.
    #[arg(long, default_value = "256M", value_parser = super::parse_size)]
    max_record_bytes: usize,
    /// Bytes of records handed to the threads at a time. About three
    /// batches are in memory at once (raw and decoded): smaller batches use
    /// less memory, larger ones balance uneven documents better.
    #[arg(long, default_value = "4M", value_parser = super::parse_size)]
    batch_bytes: usize,
    /// Inputs read at once, each by a thread of its own (default: one for
    /// every 3 threads, at most one an input). One reader decompresses for
    /// about 3 matching threads. With more than one, inputs are scanned
    /// side by side: each still gets its own part, findings.jsonl is in
    /// input order as always, and `exlibris.db` is built at the end.
    #[arg(long)]
    readers: Option<usize>,
    #[command(flatten)]
    remote: super::remote::RemoteArgs,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let threads = super::set_threads(a.threads)?;
    // The checksums of the index's large components are verified while the
    // scan starts: every result part waits for them before it is published.
    let (index, checks) = Index::open_unverified(&a.remote.init().index(&a.index)?)?;
    let verified = checks.spawn();
    let out = a.remote.output(&a.out, a.plan.is_none())?;
    let s = *index.settings();
    for (name, want, have) in [("k", a.k, s.k), ("w", a.w, s.w)] {
        if want.is_some_and(|v| v != have) {
            anyhow::bail!("{}: index built with {name} = {have}, scan asked for {name} = {}; rebuild the index or drop --{name}", a.index.display(), want.unwrap());
        }
    }
    let opts = options(&a);
    let Some(plan_path) = &a.plan else {
        let (inputs, skipped) = discover(&a.inputs)?;
        for s in &skipped {
            eprintln!("exlibris: skipped {}: {}", s.path, s.reason);
        }
        let job =
            Job { index: &index, verified: &verified, index_dir: &a.index, opts: &opts, threads, task: None };
        let code = job.run(&out.local, &inputs, skipped)?;
        out.publish()?;
        return Ok(code);
    };
    let plan = Plan::read(plan_path)?;
    let tasks: Vec<usize> = match task_index(a.task)? {
        Some(i) => vec![plan.task(i)?.task],
        None => (0..plan.tasks.len()).collect(),
    };
    let mut partial = false;
    for i in tasks {
        let t = plan.task(i)?;
        let dir = exlibris_scan::plan::task_dir(&out.local, i);
        let info = TaskInfo { plan_id: plan.plan_id.clone(), task: i, tasks: plan.tasks.len() };
        let inputs: Vec<Input> = t.units.iter().map(|u| u.input()).collect();
        let skipped = if i == 0 { plan.skipped.clone() } else { Vec::new() };
        println!(
            "task {i} of {} ({} units, {:.1} MB) into {}",
            plan.tasks.len(),
            t.units.len(),
            t.bytes as f64 / 1e6,
            dir.display()
        );
        let job = Job {
            index: &index,
            verified: &verified,
            index_dir: &a.index,
            opts: &opts,
            threads,
            task: Some(info),
        };
        partial |= job.run(&dir, &inputs, skipped)? != ExitCode::SUCCESS;
    }
    out.publish()?;
    Ok(super::exit_code(partial))
}

/// The task index from the command line or the scheduler's environment.
fn task_index(given: Option<usize>) -> anyhow::Result<Option<usize>> {
    if given.is_some() {
        return Ok(given);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            let i = v.trim().parse().with_context(|| format!("${var} = {v:?} is not a task index"))?;
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn options(a: &Args) -> ScanOptions {
    ScanOptions {
        read: ReadOptions {
            fields: Fields { id: a.id_field.clone(), text: a.text_field.clone(), url: a.url_field.clone() },
            max_record_bytes: a.max_record_bytes,
        },
        matching: MatchOptions {
            max_gap: a.max_gap,
            max_drift: a.max_drift,
            min_words: a.min_words.unwrap_or(0),
            ..Default::default()
        },
        strict: a.strict,
        batch_bytes: a.batch_bytes.max(1),
        read_only: a.read_only.as_deref().map(|m| match m {
            "fingerprint" => exlibris_scan::ReadFloor::Fingerprint,
            _ => exlibris_scan::ReadFloor::Normalise,
        }),
        readers: a.readers.unwrap_or(0),
    }
}

/// One scan into one results directory.
struct Job<'a> {
    index: &'a Index,
    /// The index's checksums, verified in the background.
    verified: &'a Verification,
    index_dir: &'a std::path::Path,
    opts: &'a ScanOptions,
    threads: usize,
    task: Option<TaskInfo>,
}

impl Job<'_> {
    fn run(
        &self,
        out: &std::path::Path,
        inputs: &[Input],
        skipped: Vec<exlibris_scan::reader::SkippedFile>,
    ) -> anyhow::Result<ExitCode> {
        let (index, opts, threads) = (self.index, self.opts, self.threads);
        let run = RunInfo {
            exlibris_version: env!("CARGO_PKG_VERSION").into(),
            index_id: index.meta().index_id.clone(),
            index: self.index_dir.display().to_string(),
            fingerprint: *index.settings(),
            min_words: exlibris_scan::Matcher::new(index, opts.matching.clone()).min_words(),
            matching: opts.matching.clone(),
            inputs: inputs.iter().map(|i| i.path.display().to_string()).collect(),
            threads,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            task: self.task.clone(),
        };
        let mut writer = ResultsWriter::create(out, index, inputs, opts)?;
        if self.task.is_some() && writer.todo().is_empty() && writer.stale().is_empty() {
            if let Ok(done) = exlibris_scan::Results::read(out) {
                if done.stats.run.task == self.task && done.stats.parts == writer.part_ids() {
                    println!(
                        "  already done: {} has this task's results for this index and settings",
                        out.display()
                    );
                    return Ok(super::exit_code(done.stats.stats.is_partial()));
                }
            }
        }
        for (path, why) in writer.stale() {
            eprintln!("exlibris: redoing {path}: its part in {} was {why}", out.display());
        }
        if writer.kept() > 0 {
            eprintln!(
                "exlibris: resuming in {}: skipping {} of {} inputs whose parts are done, scanning {}",
                out.display(),
                writer.kept(),
                writer.kept() + writer.todo().len(),
                writer.todo().len()
            );
        }
        let todo = writer.todo().to_vec();
        let total: u64 = todo
            .iter()
            .map(|i| match i.range {
                Some(r) => r.end - r.start,
                None if exlibris_scan::reader::object::is_object(&i.path) => {
                    exlibris_scan::reader::object::size(&i.path)
                }
                None => std::fs::metadata(&i.path).map_or(0, |m| m.len()),
            })
            .sum();
        let bar = super::progress_bar(total, "scanning");
        let progress = Progress::default();
        // The store is written while the scan runs, unless parts of an
        // earlier run are kept (their findings are not in this scan's
        // sink) or this is a task (the merge builds the store).
        // With several readers documents come interleaved, not in the
        // order of the published findings: the store is built from those.
        let readers = opts.readers_for(todo.len());
        let mut feed = match self.task.is_none() && writer.kept() == 0 && readers == 1 {
            true => Some(StoreFeed::start(out, index)?),
            false => None,
        };
        struct Report<'a, 'b>(
            &'a mut ResultsWriter,
            &'b indicatif::ProgressBar,
            &'b Progress,
            &'b Verification,
        );
        impl Sink for Report<'_, '_> {
            fn document(
                &mut self,
                input: usize,
                d: &exlibris_scan::Document,
                f: &[exlibris_scan::Finding],
                i: &Index,
            ) -> exlibris_scan::Result<bool> {
                self.1.set_position(self.2.bytes.load(Ordering::Relaxed));
                self.0.document(input, d, f, i)
            }
            fn rejected(
                &mut self,
                input: usize,
                r: &exlibris_scan::Rejection,
            ) -> exlibris_scan::Result<bool> {
                self.1.suspend(|| eprintln!("exlibris: rejected {r}"));
                self.0.rejected(input, r)
            }
            fn input_done(
                &mut self,
                i: usize,
                input: &exlibris_scan::Input,
                s: &ScanStats,
            ) -> exlibris_scan::Result<bool> {
                // No part is published from an index not verified.
                self.3.wait()?;
                self.0.input_done(i, input, s)
            }
        }
        let this_run = {
            let mut sink = Report(&mut writer, &bar, &progress, self.verified);
            let mut sinks: Vec<&mut dyn Sink> = vec![&mut sink];
            sinks.extend(feed.as_mut().map(|f| f as &mut dyn Sink));
            scan(index, &todo, opts, &mut sinks, &progress)
                .with_context(|| format!("scanning against {}", self.index_dir.display()))?
        };
        bar.finish_and_clear();
        self.verified.wait()?;
        let file = writer.finish(index, run, skipped)?;
        let stats = &file.stats;
        if self.task.is_none() {
            // A task's results are merged before anyone reads them: the merge builds the store.
            let results = exlibris_scan::Results::read(out)?;
            match feed {
                Some(feed) => feed.finish(&results)?,
                None => StoreWriter::build(&results)?,
            };
        }
        println!(
            "scanned {} documents ({:.1} MB) in {:.2}s ({:.1} MB/s, {threads} threads, {readers} {})",
            this_run.documents_scanned,
            this_run.bytes_scanned as f64 / 1e6,
            this_run.seconds,
            this_run.mb_per_s(),
            if readers == 1 { "reader" } else { "readers at once" },
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
        out.display()
    );
        if stats.is_partial() {
            eprintln!(
                "exlibris: partial run: {} records rejected (see {}/rejected.jsonl)",
                stats.documents_rejected,
                out.display()
            );
        }
        Ok(super::exit_code(stats.is_partial()))
    }
}
