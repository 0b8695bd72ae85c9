//! Sinks: where the scanner pushes what it finds.
//!
//! The scanner calls [`Sink::document`] for every scanned document with its
//! findings and [`Sink::rejected`] for every refused record, each with the
//! position of its input in the scan's list, then [`Sink::input_done`]
//! when the last record of an input has been handed over. An input's
//! records come in order whatever the thread count. With one reader
//! (`ScanOptions::readers`, the default up to 3 threads) inputs come one
//! after another, in order; with several, records of different inputs are
//! interleaved. A sink returns `false` to stop the scan early.
use std::io::Write;

use serde::{Deserialize, Serialize};

use exlibris_index::Index;

use crate::coverage::Coverage;
use crate::document::{Document, Rejection};
use crate::error::{IoContext, Result};
use crate::matcher::{Finding, EXCERPT_BYTES};
use crate::reader::Input;
use crate::stats::ScanStats;

/// Receives the results of a scan. `input` is the position of a record's
/// input in the inputs given to the scan.
pub trait Sink {
    /// A scanned document and its findings (possibly none).
    fn document(&mut self, input: usize, doc: &Document, findings: &[Finding], index: &Index)
        -> Result<bool>;
    /// A record that was refused.
    fn rejected(&mut self, _input: usize, _rejection: &Rejection) -> Result<bool> {
        Ok(true)
    }
    /// Every record of `input` (at position `i`) has been handed over;
    /// `stats` are its counts alone. Called once an input, also for an
    /// input with no records; in input order when the scan has one reader.
    fn input_done(&mut self, _i: usize, _input: &Input, _stats: &ScanStats) -> Result<bool> {
        Ok(true)
    }
}

/// A finding as written to `findings.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Document id.
    pub doc_id: String,
    /// Byte range in the UTF-8 of the document's text.
    pub doc_start: u64,
    /// End of the document range.
    pub doc_end: u64,
    /// Work id (from the catalog).
    pub work_id: String,
    /// Byte range in the work's text.
    pub work_start: u64,
    /// End of the work range.
    pub work_end: u64,
    /// Words matched.
    pub words: u32,
    /// Matched words over the longer side's words (1.0: exact copy).
    pub score: f64,
    /// Start of the document's side.
    pub doc_excerpt: String,
    /// Start of the work's side.
    pub work_excerpt: String,
    /// Input file of the document.
    pub source: String,
    /// Record (line, row) of the document in its file.
    pub record: u64,
    /// Byte offset of the record in its file's (decompressed) stream.
    pub offset: u64,
    /// URL of the document, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl FindingRecord {
    /// The record of `f` in `doc`.
    pub fn new(doc: &Document, f: &Finding, index: &Index) -> Self {
        let d = &doc.text[f.doc_start as usize..f.doc_end as usize];
        FindingRecord {
            doc_id: doc.id.clone(),
            doc_start: f.doc_start,
            doc_end: f.doc_end,
            work_id: index.works()[f.work as usize].meta.id.clone(),
            work_start: f.work_start,
            work_end: f.work_end,
            words: f.words,
            score: (f.score() * 1e4).round() / 1e4,
            doc_excerpt: exlibris_text::truncate_at_char(d, EXCERPT_BYTES).to_string(),
            work_excerpt: f.work_excerpt.clone(),
            source: doc.origin.file.to_string(),
            record: doc.origin.record,
            offset: doc.origin.offset,
            url: doc.url.clone(),
        }
    }
}

/// Writes findings as JSON Lines.
pub struct FindingsWriter<W: Write> {
    out: W,
    path: std::path::PathBuf,
    /// Findings written.
    pub written: u64,
}

impl<W: Write> FindingsWriter<W> {
    /// Findings into `out` (`path` names it in errors).
    pub fn new(out: W, path: &std::path::Path) -> Self {
        FindingsWriter { out, path: path.to_path_buf(), written: 0 }
    }

    /// Flush and return the writer.
    pub fn into_inner(mut self) -> Result<W> {
        self.out.flush().at(&self.path)?;
        Ok(self.out)
    }
}

impl<W: Write> Sink for FindingsWriter<W> {
    fn document(
        &mut self,
        _input: usize,
        doc: &Document,
        findings: &[Finding],
        index: &Index,
    ) -> Result<bool> {
        for f in findings {
            serde_json::to_writer(&mut self.out, &FindingRecord::new(doc, f, index))
                .map_err(std::io::Error::from)
                .at(&self.path)?;
            self.out.write_all(b"\n").at(&self.path)?;
            self.written += 1;
        }
        Ok(true)
    }
}

/// Accumulates coverage per work and source.
#[derive(Default)]
pub struct CoverageSink {
    /// What was accumulated.
    pub coverage: Coverage,
}

impl Sink for CoverageSink {
    fn document(
        &mut self,
        _input: usize,
        doc: &Document,
        findings: &[Finding],
        _index: &Index,
    ) -> Result<bool> {
        if !findings.is_empty() {
            let spans = findings
                .iter()
                .map(|f| (f.work, exlibris_text::Span { start: f.work_start, end: f.work_end }));
            self.coverage.add_document(&doc.origin.file, spans);
        }
        Ok(true)
    }
}

/// Collects everything in memory (tests, the lookup service).
#[derive(Default)]
pub struct CollectSink {
    /// Findings, with their documents' ids.
    pub findings: Vec<FindingRecord>,
    /// Rejections.
    pub rejected: Vec<Rejection>,
}

impl Sink for CollectSink {
    fn document(
        &mut self,
        _input: usize,
        doc: &Document,
        findings: &[Finding],
        index: &Index,
    ) -> Result<bool> {
        self.findings.extend(findings.iter().map(|f| FindingRecord::new(doc, f, index)));
        Ok(true)
    }
    fn rejected(&mut self, _input: usize, r: &Rejection) -> Result<bool> {
        self.rejected.push(r.clone());
        Ok(true)
    }
}
