//! The results directory of a scan.
//!
//! ```text
//! results/
//!   findings.jsonl   one finding a line (FindingRecord)
//!   works.json       coverage per work (WorksFile)
//!   rejected.jsonl   every refused record, with file, record and reason
//!   stats.json       counts, timings and the run's identity (StatsFile), written last
//! ```
//! Every file is written under a temporary name and renamed into place;
//! `stats.json` goes last, so a directory without it is an interrupted run
//! and is refused by readers.
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use exlibris_index::Index;
use exlibris_text::{FingerprintSettings, Span};

use crate::coverage::Coverage;
use crate::document::{Document, Rejection};
use crate::error::{IoContext, Result, ScanError};
use crate::matcher::{Finding, MatchOptions};
use crate::sink::{CoverageSink, FindingsWriter, Sink};
use crate::stats::ScanStats;

/// Version of the results layout.
pub const RESULTS_VERSION: u32 = 1;
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
    /// The counts.
    #[serde(flatten)]
    pub stats: ScanStats,
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

impl WorksFile {
    /// Summaries of every work of `index` from `coverage`.
    pub fn new(index: &Index, mut coverage: Coverage) -> Self {
        coverage.compact();
        let works = index
            .works()
            .iter()
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
                    work_id: w.meta.id.clone(),
                    title: w.meta.title.clone(),
                    author: w.meta.author.clone(),
                    year: w.meta.year,
                    rights: w.meta.rights.clone(),
                    isbn: w.meta.isbn.clone(),
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
            index_id: index.meta().index_id.clone(),
            works,
            coverage,
        }
    }
}

/// Writes a results directory as a scan runs.
pub struct ResultsWriter {
    dir: PathBuf,
    findings: FindingsWriter<BufWriter<File>>,
    rejected: BufWriter<File>,
    coverage: CoverageSink,
}

impl ResultsWriter {
    /// Start writing into `dir` (created if needed). Files of an earlier
    /// run there are replaced only when this one completes.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).at(dir)?;
        let fp = dir.join(format!("{FINDINGS}.tmp"));
        let rp = dir.join(format!("{REJECTED}.tmp"));
        let findings = FindingsWriter::new(BufWriter::new(File::create(&fp).at(&fp)?), &fp);
        let rejected = BufWriter::new(File::create(&rp).at(&rp)?);
        Ok(ResultsWriter { dir: dir.to_path_buf(), findings, rejected, coverage: CoverageSink::default() })
    }

    /// Publish: coverage, findings, rejections, then `stats.json`.
    pub fn finish(self, index: &Index, run: RunInfo, stats: &ScanStats) -> Result<StatsFile> {
        let dir = self.dir;
        let fp_tmp = dir.join(format!("{FINDINGS}.tmp"));
        let rp_tmp = dir.join(format!("{REJECTED}.tmp"));
        let f = self.findings.into_inner()?.into_inner().map_err(|e| e.into_error()).at(&fp_tmp)?;
        f.sync_all().at(&fp_tmp)?;
        let r = self.rejected.into_inner().map_err(|e| e.into_error()).at(&rp_tmp)?;
        r.sync_all().at(&rp_tmp)?;
        let _ = std::fs::remove_file(dir.join(STATS)); // the old run is no longer complete
        let works = WorksFile::new(index, self.coverage.coverage);
        write_json(&dir.join(WORKS), &works)?;
        std::fs::rename(&fp_tmp, dir.join(FINDINGS)).at(&dir.join(FINDINGS))?;
        std::fs::rename(&rp_tmp, dir.join(REJECTED)).at(&dir.join(REJECTED))?;
        let file = StatsFile {
            format: "exlibris-stats".into(),
            version: RESULTS_VERSION,
            run,
            complete: !stats.is_partial(),
            stats: stats.clone(),
        };
        write_json(&dir.join(STATS), &file)?;
        Ok(file)
    }
}

impl Sink for ResultsWriter {
    fn document(&mut self, doc: &Document, findings: &[Finding], index: &Index) -> Result<bool> {
        self.findings.document(doc, findings, index)?;
        self.coverage.document(doc, findings, index)
    }
    fn rejected(&mut self, r: &Rejection) -> Result<bool> {
        let p = self.dir.join(format!("{REJECTED}.tmp"));
        serde_json::to_writer(&mut self.rejected, r).map_err(std::io::Error::from).at(&p)?;
        self.rejected.write_all(b"\n").at(&p)?;
        Ok(true)
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
        if stats.version != RESULTS_VERSION {
            return Err(bad(
                sp,
                format!("results version {} (this build reads {RESULTS_VERSION})", stats.version),
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
