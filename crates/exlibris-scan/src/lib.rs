//! Scanning a corpus against an exlibris index.
//!
//! - [`reader`]: one [`CorpusReader`] trait for every corpus format, with
//!   format detection by content, and [`discover`] to expand paths.
//! - [`Matcher`]: a document's text in, verified [`Finding`]s out.
//! - [`scan()`]: the parallel driver, pushing results into [`Sink`]s, each
//!   input's in order, and the inputs in order too unless several are read
//!   at once ([`ResultsWriter`] writes a results directory; [`CollectSink`]
//!   keeps them in memory).
//! - [`Coverage`] and [`ScanStats`] merge associatively across shards.
//! - [`parts`]: a results directory is made of one self-describing part per
//!   input, published as each input ends, so a killed scan resumes;
//!   [`merge()`] combines results directories.
//! - [`plan`]: a deterministic split of a corpus into tasks for a cluster.
//!
//! ```no_run
//! use exlibris_index::Index;
//! use exlibris_scan::{discover, scan, CollectSink, Progress, ScanOptions, Sink};
//! let index = Index::open("books.exl".as_ref())?;
//! let (inputs, _skipped) = discover(&["corpus.jsonl".into()])?;
//! let mut sink = CollectSink::default();
//! let stats = scan(&index, &inputs, &ScanOptions::default(), &mut [&mut sink as &mut dyn Sink], &Progress::default())?;
//! println!("{} findings in {} documents", sink.findings.len(), stats.documents_scanned);
//! # Ok::<(), exlibris_scan::ScanError>(())
//! ```
#![deny(missing_docs)]

pub mod coverage;
pub mod document;
mod error;
pub mod matcher;
pub mod merge;
pub mod parts;
pub mod plan;
pub mod reader;
pub mod results;
mod scan;
pub mod sink;
pub mod stats;

pub use coverage::Coverage;
pub use document::{Document, Origin, Rejection};
pub use error::{Result, ScanError};
pub use matcher::{Finding, MatchOptions, Matcher, Scratch};
pub use merge::{merge, merge_plan, MergeSummary};
pub use parts::{InputIdentity, PartManifest, PartSettings};
pub use plan::{Plan, TaskInfo};
pub use reader::{discover, CorpusReader, Fields, Input, ReadOptions};
pub use results::{PlanMerge, Results, ResultsWriter, RunInfo, StatsFile, WorkInfo, WorkSummary, WorksFile};
pub use scan::{scan, Progress, ReadFloor, ScanOptions};
pub use sink::{CollectSink, CoverageSink, FindingRecord, FindingsWriter, Sink};
pub use stats::ScanStats;
