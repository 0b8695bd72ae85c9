//! The scan driver: read → decode and match in parallel → sinks, in order.
//!
//! One thread reads the inputs and cuts the record stream into batches; the
//! rayon pool decodes and matches a batch's records in parallel; the calling
//! thread hands each outcome to the sinks in input order, and says where
//! each input ends, while the pool goes on with the next batch. Results are
//! therefore identical whatever the thread count, and memory is bounded by
//! the batches in flight (two read ahead, two being matched, one matched and
//! waiting, one at the sinks) plus the index.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

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
    /// Target bytes of records per batch (0: 4 MiB).
    pub batch_bytes: usize,
    /// Measure a floor: read and decode, then only normalise (or only
    /// fingerprint), look nothing up and find nothing.
    pub read_only: Option<ReadFloor>,
}

/// What a read-only scan does with each document (a benchmark's floors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFloor {
    /// Normalise: every word found and hashed. The read floor.
    Normalise,
    /// Normalise, hash shingles and winnow them: the read floor plus
    /// fingerprinting, without lookups.
    Fingerprint,
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

/// A batch's outcomes, in order, and where inputs end among them.
type Matched = (Vec<Result<Outcome>>, Vec<(usize, usize)>);

/// Records of one or more inputs, and where inputs end among them.
struct Batch {
    records: Vec<RawRecord>,
    /// `(n, input)`: input `input` ends after the batch's first `n` records.
    ends: Vec<(usize, usize)>,
}

/// Scan `inputs` against `index`, pushing results into `sinks`.
///
/// Besides the records, the sinks learn where each input ends
/// ([`Sink::input_done`], with that input's own counts), so that results
/// can be published per input and a killed scan resumed.
pub fn scan(
    index: &Index,
    inputs: &[Input],
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    progress: &Progress,
) -> Result<ScanStats> {
    let started = std::time::Instant::now();
    let matcher = Matcher::new(index, opts.matching.clone());
    let batch_bytes = if opts.batch_bytes == 0 { 4 << 20 } else { opts.batch_bytes };
    // Each input's counts are added when it ends, so files are listed in
    // input order, also those with no records.
    let mut stats = ScanStats::default();
    let (tx, rx) = sync_channel::<Batch>(2);
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || -> Result<()> {
            let mut batch = Batch { records: Vec::new(), ends: Vec::new() };
            let mut size = 0usize;
            for (i, input) in inputs.iter().enumerate() {
                match open(input, &opts.read) {
                    Ok(mut r) => {
                        while let Some(rec) = r.next_record()? {
                            let n = payload_len(&rec) as usize;
                            progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
                            size += n;
                            batch.records.push(rec);
                            if size >= batch_bytes || batch.records.len() >= 65536 {
                                size = 0;
                                let full = std::mem::replace(
                                    &mut batch,
                                    Batch { records: Vec::new(), ends: Vec::new() },
                                );
                                if tx.send(full).is_err() {
                                    return Ok(()); // the consumer stopped
                                }
                            }
                        }
                    }
                    Err(e) => {
                        let file: Arc<str> = input.path.display().to_string().into();
                        let origin = Origin { file, record: 0, offset: 0 };
                        let reason = format!("cannot open: {e}");
                        let rej = Rejection { origin: origin.clone(), id: None, reason };
                        batch.records.push(RawRecord { origin, payload: Payload::Refused(rej) });
                    }
                }
                batch.ends.push((batch.records.len(), i));
            }
            if !batch.records.is_empty() || !batch.ends.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(())
        });
        let consumed = consume(rx, &matcher, inputs, opts, sinks, &mut stats, progress);
        let read = reader.join().expect("reader thread panicked");
        consumed?;
        read
    })?;
    stats.seconds = started.elapsed().as_secs_f64();
    debug_assert!(stats.reconciles());
    Ok(stats)
}

/// The consumer's state: counts of the input under way, summed into the
/// total when it ends.
struct Tally<'a> {
    inputs: &'a [Input],
    total: &'a mut ScanStats,
    index: std::collections::HashMap<String, usize>,
    part: ScanStats,
    since: std::time::Instant,
}

impl Tally<'_> {
    /// Input `i` ended: tell the sinks, add its counts to the total.
    fn input_done(&mut self, i: usize, sinks: &mut [&mut dyn Sink]) -> Result<bool> {
        let input = &self.inputs[i];
        self.part.file(&input.path.display().to_string());
        self.part.seconds = self.since.elapsed().as_secs_f64();
        self.since = std::time::Instant::now();
        let part = std::mem::take(&mut self.part);
        self.total.add_indexed(&part, &mut self.index);
        for s in sinks.iter_mut() {
            if !s.input_done(input, &part)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl ReadFloor {
    /// The floor's work on one document. Returns a value of all of it, so
    /// that none is optimised away.
    fn run(self, text: &str, settings: &exlibris_text::FingerprintSettings) -> usize {
        match self {
            ReadFloor::Normalise => {
                let mut t = exlibris_text::Tokenizer::hashing(text);
                let mut x = 0u64;
                while let Some(batch) = t.next_tokens() {
                    x = batch.iter().fold(x, |x, tok| x ^ tok.hash);
                }
                x as usize
            }
            ReadFloor::Fingerprint => {
                let mut n = 0;
                exlibris_text::fingerprint_text(text, settings, |_, _| {}, |_| n += 1);
                n
            }
        }
    }
}

fn consume(
    rx: std::sync::mpsc::Receiver<Batch>,
    matcher: &Matcher<'_>,
    inputs: &[Input],
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    total: &mut ScanStats,
    progress: &Progress,
) -> Result<()> {
    let fields = &opts.read.fields;
    let index = total.file_index();
    let mut tally =
        Tally { inputs, total, index, part: ScanStats::default(), since: std::time::Instant::now() };
    // A thread hands batches to the pool while this one gives the previous
    // batch's outcomes to the sinks, so the pool does not wait for them.
    let (otx, orx) = sync_channel::<Matched>(1);
    let finished = std::thread::scope(|scope| {
        scope.spawn(move || match_batches(rx, otx, matcher, opts, fields));
        deliver(orx, matcher, opts, sinks, &mut tally, progress)
    });
    // Stopped inside an input: its counts so far still belong to the total.
    let rest = std::mem::take(&mut tally.part);
    tally.total.add_indexed(&rest, &mut tally.index);
    finished
}

/// Scratch space kept for the whole scan: each record's task leases one
/// kept from earlier tasks, so a decompression context (which digests the
/// index's dictionary when it is made) and its cache of text blocks live as
/// long as the scan.
#[derive(Default)]
struct ScratchPool(std::sync::Mutex<Vec<Scratch>>);

struct Lease<'p> {
    scratch: Scratch,
    pool: &'p ScratchPool,
}

impl ScratchPool {
    fn lease(&self) -> Lease<'_> {
        let scratch = self.0.lock().expect("scratch pool").pop().unwrap_or_default();
        Lease { scratch, pool: self }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.pool.0.lock() {
            pool.push(std::mem::take(&mut self.scratch));
        }
    }
}

/// A batch's outcomes, filled in by its records' tasks, and how many of
/// them are still running. The task that finishes a batch says so once, so
/// the batch thread sleeps until a batch is done instead of waking for
/// every record (which, with its wake-ups and preemptions of the pool's
/// threads, was a few per cent of a scan's CPU).
struct Slots {
    outcomes: std::sync::Mutex<Vec<Option<Result<Outcome>>>>,
    left: std::sync::atomic::AtomicUsize,
}

/// A record's task: stores its outcome, or nothing if it unwinds (the batch
/// thread then finds the record unmatched instead of waiting for ever), and
/// the last of a batch reports the batch done.
struct Reply {
    record: usize,
    slots: std::sync::Arc<Slots>,
    done: std::sync::mpsc::Sender<()>,
    outcome: Option<Result<Outcome>>,
}

impl Reply {
    fn fill(mut self, outcome: Result<Outcome>) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(o) = self.outcome.take() {
            self.slots.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[self.record] =
                Some(o);
        }
        if self.slots.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.done.send(());
        }
    }
}

/// A batch on the pool: its records' outcomes, and where inputs end among
/// them.
struct InFlight {
    slots: std::sync::Arc<Slots>,
    ends: Vec<(usize, usize)>,
}

/// Match batches on the pool, one task a record, and send each batch's
/// outcomes on in order. The next batch's records are queued before the
/// batch ahead is waited for, so the pool's threads do not idle while the
/// last records of a batch finish (a batch of 4 MiB is only tens of
/// documents a thread, and pages differ much in length).
fn match_batches(
    rx: std::sync::mpsc::Receiver<Batch>,
    otx: std::sync::mpsc::SyncSender<Matched>,
    matcher: &Matcher<'_>,
    opts: &ScanOptions,
    fields: &crate::reader::Fields,
) {
    let pool = ScratchPool::default();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    rayon::in_place_scope_fifo(|scope| {
        let mut in_flight = std::collections::VecDeque::<InFlight>::new();
        // Wait for the oldest batch and send it on; false once the sinks
        // stopped. Each batch that ends says so once; a word from a later
        // batch only makes this look again, and while the oldest is still
        // running its own word is yet to come.
        let send_oldest = |in_flight: &mut std::collections::VecDeque<InFlight>| -> bool {
            while in_flight.front().is_some_and(|b| b.slots.left.load(Ordering::Acquire) > 0) {
                done_rx.recv().expect("this thread holds a sender");
            }
            let Some(b) = in_flight.pop_front() else { return true };
            let outcomes = std::mem::take(
                &mut *b.slots.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            let outcomes = outcomes.into_iter().map(|o| o.expect("every record matched")).collect();
            otx.send((outcomes, b.ends)).is_ok()
        };
        for batch in rx {
            let n = batch.records.len();
            let slots = std::sync::Arc::new(Slots {
                outcomes: std::sync::Mutex::new((0..n).map(|_| None).collect()),
                left: std::sync::atomic::AtomicUsize::new(n),
            });
            for (record, raw) in batch.records.into_iter().enumerate() {
                let reply = Reply { record, slots: slots.clone(), done: done_tx.clone(), outcome: None };
                let pool = &pool;
                scope.spawn_fifo(move |_| {
                    reply.fill(match_record(raw, matcher, opts, fields, &mut pool.lease().scratch));
                });
            }
            in_flight.push_back(InFlight { slots, ends: batch.ends });
            // Two batches in flight: the pool works on the newer while the
            // older finishes.
            if in_flight.len() > 1 && !send_oldest(&mut in_flight) {
                return; // the sinks stopped; the scope waits for the queued tasks
            }
        }
        while !in_flight.is_empty() {
            if !send_oldest(&mut in_flight) {
                return;
            }
        }
    });
}

/// Decode and match one record.
fn match_record(
    raw: RawRecord,
    matcher: &Matcher<'_>,
    opts: &ScanOptions,
    fields: &crate::reader::Fields,
    scratch: &mut Scratch,
) -> Result<Outcome> {
    let bytes = payload_len(&raw);
    match (decode(raw, fields), opts.read_only) {
        (Ok(doc), Some(floor)) => {
            std::hint::black_box(floor.run(&doc.text, matcher.index().settings()));
            Ok(Outcome::Scanned(doc, Vec::new(), bytes))
        }
        (Ok(doc), None) => matcher.find(&doc.text, scratch).map(|f| Outcome::Scanned(doc, f, bytes)),
        (Err(r), _) => Ok(Outcome::Rejected(r, bytes)),
    }
}

/// Give the outcomes of each batch to the sinks, in order, with the ends
/// of inputs among them.
fn deliver(
    orx: std::sync::mpsc::Receiver<Matched>,
    matcher: &Matcher<'_>,
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    tally: &mut Tally<'_>,
    progress: &Progress,
) -> Result<()> {
    for (outcomes, ends) in orx {
        let mut ends = ends.into_iter().peekable();
        for (n, o) in outcomes.into_iter().enumerate() {
            while let Some((_, i)) = ends.next_if(|&(at, _)| at == n) {
                if !tally.input_done(i, sinks)? {
                    return Ok(());
                }
            }
            progress.records.fetch_add(1, Ordering::Relaxed);
            let stats = &mut tally.part;
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
        for (_, i) in ends {
            if !tally.input_done(i, sinks)? {
                return Ok(());
            }
        }
    }
    Ok(())
}
