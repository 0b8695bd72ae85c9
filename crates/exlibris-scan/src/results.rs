//! The results directory of a scan.
//!
//! ```text
//! results/
//!   parts/           one part per input file (see [`crate::parts`]), published as each input ends
//!   findings.jsonl   one finding a line (FindingRecord): the parts' findings, in input order
//!   works.json       coverage per work (WorksFile)
//!   rejected.jsonl   every refused record, with file, record and reason
//!   stats.json       counts, timings and the run's identity (StatsFile), written last
//! ```
//! The top-level files are made from the parts at the end ([`mod@crate::merge`]).
//! Every file is written under a temporary name and renamed into place;
//! `stats.json` goes last, so a directory without it is an interrupted run
//! and is refused by readers. A rerun of an interrupted scan keeps the parts
//! that are still valid ([`ResultsWriter::create`]).
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use exlibris_index::Index;
use exlibris_text::{FingerprintSettings, Span};

use crate::coverage::Coverage;
use crate::document::{Document, Rejection};
use crate::error::{IoContext, Result, ScanError};
use crate::matcher::{Finding, MatchOptions};
use crate::parts::{is_leftover, InputIdentity, PartManifest, PartSettings, PartWriter, PARTS_DIR};
use crate::reader::{Input, SkippedFile};
use crate::scan::ScanOptions;
use crate::sink::Sink;
use crate::stats::ScanStats;

/// Version of the results layout (2: with `parts/`).
pub const RESULTS_VERSION: u32 = 2;
/// Names of the files.
pub const FINDINGS: &str = "findings.jsonl";
/// Coverage per work.
pub const WORKS: &str = "works.json";
/// Run statistics; its presence marks a complete result.
pub const STATS: &str = "stats.json";
/// Refused records.
pub const REJECTED: &str = "rejected.jsonl";

/// The identity of a run: what produced these results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// exlibris version.
    pub exlibris_version: String,
    /// Index identity.
    pub index_id: String,
    /// Index directory.
    pub index: String,
    /// Fingerprinting settings of the index.
    pub fingerprint: FingerprintSettings,
    /// Matching options.
    pub matching: MatchOptions,
    /// Effective minimum words of a finding.
    pub min_words: u32,
    /// Input files.
    pub inputs: Vec<String>,
    /// Worker threads.
    pub threads: usize,
    /// Seconds since the Unix epoch at start.
    pub started_unix: u64,
    /// The plan task these results are (`exlibris scan --plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::plan::TaskInfo>,
}

/// `stats.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsFile {
    /// Always `exlibris-stats`.
    pub format: String,
    /// [`RESULTS_VERSION`].
    pub version: u32,
    /// What produced it.
    pub run: RunInfo,
    /// False when records were rejected.
    pub complete: bool,
    /// The parts the results are made of, in order (ids in `parts/`).
    #[serde(default)]
    pub parts: Vec<String>,
    /// Parts kept from an earlier, interrupted run rather than scanned.
    #[serde(default)]
    pub resumed_parts: u64,
    /// The results directories this one was merged from (`exlibris merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The plan whose tasks were merged (`exlibris merge --plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanMerge>,
    /// The counts (`seconds`: the time spent on the parts, summed).
    #[serde(flatten)]
    pub stats: ScanStats,
}

/// What a merge of a plan's tasks holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMerge {
    /// The plan's id.
    pub plan_id: String,
    /// Tasks in the plan.
    pub tasks: usize,
    /// Tasks left out (`--allow-partial`): these results do not cover them.
    pub missing_tasks: Vec<usize>,
}

/// Coverage of one work, in `works.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkSummary {
    /// Work id.
    pub work_id: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Year, if catalogued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i64>,
    /// Rights, if catalogued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// ISBN, if catalogued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
    /// Bytes of the work's text.
    pub bytes: u64,
    /// Share of the work's bytes covered by findings anywhere in the corpus.
    pub coverage: f64,
    /// Bytes covered.
    pub covered_bytes: u64,
    /// Documents with findings of the work.
    pub documents: u64,
    /// Findings of the work.
    pub findings: u64,
    /// Covered byte ranges of the work, sorted and disjoint.
    pub ranges: Vec<Span>,
    /// The same per source (input file).
    pub sources: Vec<SourceSummary>,
}

/// Coverage of a work by one source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// The input file.
    pub source: String,
    /// Documents with findings.
    pub documents: u64,
    /// Findings.
    pub findings: u64,
    /// Bytes of the work covered by this source.
    pub covered_bytes: u64,
}

/// `works.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorksFile {
    /// Always `exlibris-works`.
    pub format: String,
    /// [`RESULTS_VERSION`].
    pub version: u32,
    /// Index identity.
    pub index_id: String,
    /// Every work of the index, found or not, in index order.
    pub works: Vec<WorkSummary>,
    /// The raw coverage (mergeable).
    pub coverage: Coverage,
}

/// What `works.json` says about a work besides its coverage.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkInfo {
    /// Work id.
    pub work_id: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Year.
    pub year: Option<i64>,
    /// Rights.
    pub rights: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// Bytes of the work's text.
    pub bytes: u64,
}

impl WorkInfo {
    /// Every work of `index`, in index order.
    pub fn of_index(index: &Index) -> Vec<WorkInfo> {
        index
            .works()
            .iter()
            .map(|w| WorkInfo {
                work_id: w.meta.id.clone(),
                title: w.meta.title.clone(),
                author: w.meta.author.clone(),
                year: w.meta.year,
                rights: w.meta.rights.clone(),
                isbn: w.meta.isbn.clone(),
                bytes: w.bytes,
            })
            .collect()
    }

    /// The works listed in a `works.json` (which lists every work of its index).
    pub fn of_works_file(works: &WorksFile) -> Vec<WorkInfo> {
        works
            .works
            .iter()
            .map(|w| WorkInfo {
                work_id: w.work_id.clone(),
                title: w.title.clone(),
                author: w.author.clone(),
                year: w.year,
                rights: w.rights.clone(),
                isbn: w.isbn.clone(),
                bytes: w.bytes,
            })
            .collect()
    }
}

impl WorksFile {
    /// Summaries of every work of `index` from `coverage`.
    pub fn new(index: &Index, coverage: Coverage) -> Self {
        Self::from_works(&index.meta().index_id, WorkInfo::of_index(index), coverage)
    }

    /// Summaries of `works` (every work of index `index_id`, in index order).
    pub fn from_works(index_id: &str, works: Vec<WorkInfo>, mut coverage: Coverage) -> Self {
        coverage.compact();
        let works = works
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                let (documents, findings, ranges) = coverage.total(i as u32);
                let covered: u64 = ranges.iter().map(|s| s.len()).sum();
                let sources = coverage.works.get(&(i as u32)).map_or(Vec::new(), |m| {
                    m.iter()
                        .map(|(src, c)| SourceSummary {
                            source: src.clone(),
                            documents: c.documents,
                            findings: c.findings,
                            covered_bytes: c.ranges.iter().map(|s| s.len()).sum(),
                        })
                        .collect()
                });
                WorkSummary {
                    work_id: w.work_id,
                    title: w.title,
                    author: w.author,
                    year: w.year,
                    rights: w.rights,
                    isbn: w.isbn,
                    bytes: w.bytes,
                    coverage: if w.bytes > 0 { covered as f64 / w.bytes as f64 } else { 0.0 },
                    covered_bytes: covered,
                    documents,
                    findings,
                    ranges,
                    sources,
                }
            })
            .collect();
        WorksFile {
            format: "exlibris-works".into(),
            version: RESULTS_VERSION,
            index_id: index_id.to_string(),
            works,
            coverage,
        }
    }
}

/// Writes a results directory as a scan runs: one part per input, then
/// the top-level files from all parts.
///
/// [`ResultsWriter::create`] looks at the parts already in the directory:
/// those of the same index, settings and unchanged input are kept, the
/// others are redone, and leftovers of an interrupted part are removed. Scan
/// only [`ResultsWriter::todo`], feeding this writer as a [`Sink`].
pub struct ResultsWriter {
    dir: PathBuf,
    index_id: String,
    order: Vec<InputIdentity>,
    kept: Vec<PartManifest>,
    stale: Vec<(String, String)>,
    todo: Vec<Input>,
    writer: PartWriter,
}

impl ResultsWriter {
    /// Start writing a scan of `inputs` into `dir` (created if needed).
    /// Top-level files of an earlier run there are replaced only when this
    /// one completes.
    pub fn create(dir: &Path, index: &Index, inputs: &[Input], opts: &ScanOptions) -> Result<Self> {
        let parts = dir.join(PARTS_DIR);
        std::fs::create_dir_all(&parts).at(&parts)?;
        for e in std::fs::read_dir(&parts).at(&parts)? {
            let e = e.at(&parts)?;
            if is_leftover(&e.file_name().to_string_lossy()) {
                std::fs::remove_file(e.path()).at(&e.path())?;
            }
        }
        let index_id = index.meta().index_id.clone();
        let settings = PartSettings::new(index, opts);
        let (mut order, mut kept, mut stale, mut todo, mut todo_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for input in inputs {
            let identity = InputIdentity::of(input);
            let id = identity.part_id();
            if !seen.insert(id.clone()) {
                continue; // an input named twice is scanned once
            }
            order.push(identity.clone());
            let mp = PartManifest::path(&parts, &id);
            if mp.exists() {
                let verdict = PartManifest::read(&parts, &id).and_then(|m| {
                    m.verify(&parts)?;
                    Ok(m)
                });
                let reason = match verdict {
                    Ok(m) => match m.stale_reason(&index_id, &settings, &identity) {
                        None => {
                            kept.push(m);
                            continue;
                        }
                        Some(r) => r,
                    },
                    Err(e) => e.to_string(),
                };
                stale.push((identity.path.clone(), reason));
                std::fs::remove_file(&mp).at(&mp)?;
            }
            todo.push(input.clone());
            todo_ids.push(identity);
        }
        let writer = PartWriter::new(&parts, &index_id, settings, todo_ids);
        Ok(ResultsWriter { dir: dir.to_path_buf(), index_id, order, kept, stale, todo, writer })
    }

    /// The inputs to scan, in order: those without a valid part.
    pub fn todo(&self) -> &[Input] {
        &self.todo
    }

    /// The ids of the parts these results will be made of, in order.
    pub fn part_ids(&self) -> Vec<String> {
        self.order.iter().map(|i| i.part_id()).collect()
    }

    /// Parts kept from an earlier run.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// Parts found but redone: (input, why).
    pub fn stale(&self) -> &[(String, String)] {
        &self.stale
    }

    /// Publish the top-level files from every part, in input order.
    pub fn finish(self, index: &Index, run: RunInfo, skipped: Vec<SkippedFile>) -> Result<StatsFile> {
        let mut done: std::collections::HashMap<String, PartManifest> =
            self.kept.into_iter().chain(self.writer.published).map(|m| (m.part_id.clone(), m)).collect();
        let resumed = self.order.len() as u64 - self.todo.len() as u64;
        let mut parts = Vec::with_capacity(self.order.len());
        for identity in &self.order {
            let id = identity.part_id();
            let m = done.remove(&id).ok_or_else(|| ScanError::Results {
                path: self.dir.clone(),
                reason: format!("part {id} of {} was not written", identity.path),
            })?;
            parts.push(m);
        }
        let works = WorkInfo::of_index(index);
        crate::merge::publish(
            &self.dir,
            &self.index_id,
            works,
            &parts,
            run,
            skipped,
            resumed,
            Vec::new(),
            None,
        )
    }
}

impl Sink for ResultsWriter {
    fn document(
        &mut self,
        input: usize,
        doc: &Document,
        findings: &[Finding],
        index: &Index,
    ) -> Result<bool> {
        self.writer.document(input, doc, findings, index)
    }
    fn rejected(&mut self, input: usize, r: &Rejection) -> Result<bool> {
        self.writer.rejected(input, r)
    }
    fn input_done(&mut self, i: usize, input: &Input, stats: &ScanStats) -> Result<bool> {
        self.writer.input_done(i, input, stats)
    }
}

/// Write JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).expect("results serialise");
    exlibris_index::format::write_atomic(path, &bytes)?;
    Ok(())
}

/// A results directory read back.
pub struct Results {
    /// Its directory.
    pub dir: PathBuf,
    /// `stats.json`.
    pub stats: StatsFile,
    /// `works.json`.
    pub works: WorksFile,
}

impl Results {
    /// Read `dir`; refuse an incomplete or foreign one.
    pub fn read(dir: &Path) -> Result<Results> {
        let bad = |path: PathBuf, reason: String| ScanError::Results { path, reason };
        let sp = dir.join(STATS);
        if !sp.exists() {
            return Err(bad(
                dir.to_path_buf(),
                format!("no {STATS}: not a results directory, or the scan did not finish"),
            ));
        }
        let stats: StatsFile = serde_json::from_slice(&std::fs::read(&sp).at(&sp)?)
            .map_err(|e| bad(sp.clone(), e.to_string()))?;
        if !(1..=RESULTS_VERSION).contains(&stats.version) {
            return Err(bad(
                sp,
                format!("results version {} (this build reads 1 to {RESULTS_VERSION})", stats.version),
            ));
        }
        let wp = dir.join(WORKS);
        let works: WorksFile = serde_json::from_slice(&std::fs::read(&wp).at(&wp)?)
            .map_err(|e| bad(wp.clone(), e.to_string()))?;
        if works.index_id != stats.run.index_id {
            return Err(bad(wp, "works.json and stats.json come from different indexes".into()));
        }
        Ok(Results { dir: dir.to_path_buf(), stats, works })
    }

    /// Iterate over `findings.jsonl`.
    pub fn findings(&self) -> Result<impl Iterator<Item = Result<crate::sink::FindingRecord>>> {
        let p = self.dir.join(FINDINGS);
        let f = BufReader::new(File::open(&p).at(&p)?);
        Ok(f.lines().enumerate().map(move |(i, l)| {
            let l = l.at(&p)?;
            serde_json::from_str(&l)
                .map_err(|e| ScanError::Results { path: p.clone(), reason: format!("line {}: {e}", i + 1) })
        }))
    }
}
