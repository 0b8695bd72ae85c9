//! The scan driver: read → decode and match in parallel → sinks, in order.
//!
//! One thread reads the inputs and cuts the record stream into batches; the
//! rayon pool decodes and matches a batch's records in parallel; the calling
//! thread hands each outcome to the sinks in input order. Results are
//! therefore identical whatever the thread count, and memory is bounded by
//! two batches in flight plus the index.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use rayon::prelude::*;

use exlibris_index::Index;

use crate::document::{Document, Origin, Rejection};
use crate::error::{Result, ScanError};
use crate::matcher::{Finding, MatchOptions, Matcher, Scratch};
use crate::reader::{decode, open, Input, Payload, RawRecord, ReadOptions};
use crate::sink::Sink;
use crate::stats::ScanStats;

/// Options of a scan.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// How inputs are read.
    pub read: ReadOptions,
    /// How documents are matched.
    pub matching: MatchOptions,
    /// Stop at the first rejected record.
    pub strict: bool,
    /// Target bytes of records per batch (0: 16 MiB).
    pub batch_bytes: usize,
    /// Measure the read floor: read, decode and fingerprint, but look
    /// nothing up (no findings).
    pub read_only: bool,
}

/// Counters a progress display can poll while a scan runs.
#[derive(Default, Debug)]
pub struct Progress {
    /// Bytes of records read so far.
    pub bytes: AtomicU64,
    /// Records processed so far.
    pub records: AtomicU64,
}

enum Outcome {
    Scanned(Document, Vec<Finding>, u64),
    Rejected(Rejection, u64),
}

fn payload_len(r: &RawRecord) -> u64 {
    r.payload.stored_len()
}

/// Scan `inputs` against `index`, pushing results into `sinks`.
pub fn scan(
    index: &Index,
    inputs: &[Input],
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    progress: &Progress,
) -> Result<ScanStats> {
    let started = std::time::Instant::now();
    let matcher = Matcher::new(index, opts.matching.clone());
    let batch_bytes = if opts.batch_bytes == 0 { 16 << 20 } else { opts.batch_bytes };
    let mut stats = ScanStats::default();
    for input in inputs {
        stats.file(&input.path.display().to_string());
    }
    let (tx, rx) = sync_channel::<Vec<RawRecord>>(2);
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || -> Result<()> {
            let mut batch = Vec::new();
            let mut size = 0usize;
            for input in inputs {
                let mut r = match open(input, &opts.read) {
                    Ok(r) => r,
                    Err(e) => {
                        let file: Arc<str> = input.path.display().to_string().into();
                        let origin = Origin { file, record: 0, offset: 0 };
                        let reason = format!("cannot open: {e}");
                        let rej = Rejection { origin: origin.clone(), id: None, reason };
                        batch.push(RawRecord { origin, payload: Payload::Refused(rej) });
                        continue;
                    }
                };
                while let Some(rec) = r.next_record()? {
                    let n = payload_len(&rec) as usize;
                    progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    size += n;
                    batch.push(rec);
                    if size >= batch_bytes || batch.len() >= 65536 {
                        size = 0;
                        if tx.send(std::mem::take(&mut batch)).is_err() {
                            return Ok(()); // the consumer stopped
                        }
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(())
        });
        let consumed = consume(&rx, &matcher, opts, sinks, &mut stats, progress);
        drop(rx);
        let read = reader.join().expect("reader thread panicked");
        consumed?;
        read
    })?;
    stats.seconds = started.elapsed().as_secs_f64();
    debug_assert!(stats.reconciles());
    Ok(stats)
}

fn consume(
    rx: &std::sync::mpsc::Receiver<Vec<RawRecord>>,
    matcher: &Matcher<'_>,
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    stats: &mut ScanStats,
    progress: &Progress,
) -> Result<()> {
    let fields = &opts.read.fields;
    for batch in rx {
        let outcomes: Vec<Result<Outcome>> = batch
            .into_par_iter()
            .map_init(Scratch::default, |scratch, raw| {
                let bytes = payload_len(&raw);
                match decode(raw, fields) {
                    Ok(doc) if opts.read_only => {
                        std::hint::black_box(matcher.fingerprint_only(&doc.text));
                        Ok(Outcome::Scanned(doc, Vec::new(), bytes))
                    }
                    Ok(doc) => matcher.find(&doc.text, scratch).map(|f| Outcome::Scanned(doc, f, bytes)),
                    Err(r) => Ok(Outcome::Rejected(r, bytes)),
                }
            })
            .collect();
        for o in outcomes {
            progress.records.fetch_add(1, Ordering::Relaxed);
            match o? {
                Outcome::Scanned(doc, findings, bytes) => {
                    stats.documents_read += 1;
                    stats.documents_scanned += 1;
                    stats.bytes_read += bytes;
                    stats.bytes_scanned += doc.text.len() as u64;
                    stats.findings += findings.len() as u64;
                    stats.documents_with_findings += (!findings.is_empty()) as u64;
                    let spans = exlibris_text::union_spans(
                        findings
                            .iter()
                            .map(|f| exlibris_text::Span { start: f.doc_start, end: f.doc_end })
                            .collect(),
                    );
                    stats.bytes_in_findings += spans.iter().map(|s| s.len()).sum::<u64>();
                    let f = stats.file(&doc.origin.file);
                    f.records += 1;
                    f.scanned += 1;
                    f.bytes += doc.text.len() as u64;
                    f.findings += findings.len() as u64;
                    for s in sinks.iter_mut() {
                        if !s.document(&doc, &findings, matcher.index())? {
                            return Ok(());
                        }
                    }
                }
                Outcome::Rejected(r, bytes) => {
                    stats.reject(&r, bytes);
                    if opts.strict {
                        return Err(ScanError::Input(format!("{r} (stopped: --strict)")));
                    }
                    for s in sinks.iter_mut() {
                        if !s.rejected(&r)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
