//! The scan driver: read → decode and match in parallel → sinks, in order.
//!
//! Reader threads (one by default, see [`ScanOptions::readers`]) each take
//! the next input not yet taken and cut its record stream into batches; the
//! rayon pool decodes and matches a batch's records in parallel; the calling
//! thread hands each outcome to the sinks, and says where each input ends,
//! while the pool goes on with the next batch. Each input's records reach
//! the sinks in order; with one reader the inputs follow each other in
//! order too, so results are identical whatever the thread count. With
//! several readers, inputs are interleaved batch by batch (what a sink
//! publishes per input is still the same). Memory is bounded by the
//! batches in flight (two a reader read ahead, two being matched, one
//! matched and waiting, one at the sinks) plus the index.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// Inputs read at once, each by its own thread (0: one for every
    /// [`THREADS_PER_READER`] threads of the pool, at most one an input).
    pub readers: usize,
}

/// Pool threads one reader keeps busy. On the bench machine a reader
/// decompresses and splits JSONL holding about 400 MB/s of text on one
/// core (20 % of a 2-thread scan's samples for 531 MB of text), and a pool
/// thread decodes and matches about 115 MB/s: one reader for three threads
/// keeps ahead of them.
pub const THREADS_PER_READER: usize = 3;

impl ScanOptions {
    /// Reader threads a scan of `inputs` inputs uses.
    pub fn readers_for(&self, inputs: usize) -> usize {
        let want = match self.readers {
            0 => rayon::current_num_threads().div_ceil(THREADS_PER_READER),
            n => n,
        };
        want.clamp(1, inputs.max(1))
    }
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

/// A batch's outcomes, in order, and the inputs they belong to.
type Matched = (Vec<Result<Outcome>>, Vec<Segment>);

/// Records of the batch up to `end` (from the previous segment's end)
/// belong to input `input`; `done`: that input has no more records.
#[derive(Clone, Copy, Debug)]
struct Segment {
    input: usize,
    end: usize,
    done: bool,
}

/// Records of one or more inputs (all read by one reader), and which
/// input each belongs to.
#[derive(Default)]
struct Batch {
    records: Vec<RawRecord>,
    segments: Vec<Segment>,
}

impl Batch {
    /// Close the records pushed since the last segment as input `input`'s.
    fn segment(&mut self, input: usize, done: bool) {
        let end = self.records.len();
        if done || self.segments.last().is_none_or(|s| s.end < end) {
            self.segments.push(Segment { input, end, done });
        }
    }
}

/// One reader thread: take the next input until none is left, and send its
/// records in batches. Stops early (without error) when the consumer is
/// gone or another reader failed.
fn read_inputs(
    inputs: &[Input],
    next: &AtomicUsize,
    failed: &AtomicBool,
    tx: &std::sync::mpsc::SyncSender<Batch>,
    opts: &ScanOptions,
    batch_bytes: usize,
    progress: &Progress,
) -> Result<()> {
    let mut batch = Batch::default();
    let mut size = 0usize;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= inputs.len() || failed.load(Ordering::Relaxed) {
            break;
        }
        let input = &inputs[i];
        match open(input, &opts.read) {
            Ok(mut r) => loop {
                let rec = match r.next_record() {
                    Ok(Some(rec)) => rec,
                    Ok(None) => break,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                let n = payload_len(&rec) as usize;
                progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
                size += n;
                batch.records.push(rec);
                if size >= batch_bytes || batch.records.len() >= 65536 {
                    size = 0;
                    batch.segment(i, false);
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return Ok(()); // the consumer stopped
                    }
                }
            },
            Err(e) => {
                let file: Arc<str> = input.path.display().to_string().into();
                let origin = Origin { file, record: 0, offset: 0 };
                let reason = format!("cannot open: {e}");
                let rej = Rejection { origin: origin.clone(), id: None, reason };
                batch.records.push(RawRecord { origin, payload: Payload::Refused(rej) });
            }
        }
        batch.segment(i, true);
    }
    if !batch.segments.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(())
}

/// Scan `inputs` against `index`, pushing results into `sinks`.
///
/// Besides the records, the sinks learn where each input ends
/// ([`Sink::input_done`], with that input's own counts), so that results
/// can be published per input and a killed scan resumed. The returned
/// counts list files in input order whatever the readers.
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
    // Each input's counts are kept apart and summed in input order at the
    // end, so files are listed in input order (also those with no records)
    // however the readers interleaved them.
    let mut stats = ScanStats::default();
    let readers = opts.readers_for(inputs.len());
    let (tx, rx) = sync_channel::<Batch>(2 * readers);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let handles = (0..readers)
            .map(|r| {
                let (tx, next, failed) = (tx.clone(), &next, &failed);
                std::thread::Builder::new()
                    .name(format!("exlibris-read-{r}"))
                    .spawn_scoped(scope, move || {
                        read_inputs(inputs, next, failed, &tx, opts, batch_bytes, progress)
                    })
                    .map_err(|e| ScanError::Input(format!("cannot start a reader thread: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        drop(tx);
        let consumed = consume(rx, &matcher, inputs, opts, sinks, &mut stats, progress);
        // The first reader's error, after every reader stopped.
        let read =
            handles.into_iter().map(|r| r.join().expect("reader thread panicked")).fold(Ok(()), Result::and);
        consumed?;
        read
    })?;
    stats.seconds = started.elapsed().as_secs_f64();
    debug_assert!(stats.reconciles());
    Ok(stats)
}

/// The consumer's state: counts of the inputs under way, and of those
/// ended, summed into the total in input order at the end.
struct Tally<'a> {
    inputs: &'a [Input],
    /// Per input: its counts so far, and when its first record was handed over.
    open: std::collections::HashMap<usize, (ScanStats, std::time::Instant)>,
    ended: Vec<Option<ScanStats>>,
}

impl Tally<'_> {
    /// The counts of input `i` so far.
    fn part(&mut self, i: usize) -> &mut ScanStats {
        &mut self.open.entry(i).or_insert_with(|| (ScanStats::default(), std::time::Instant::now())).0
    }

    /// Input `i` ended: tell the sinks, keep its counts.
    fn input_done(&mut self, i: usize, sinks: &mut [&mut dyn Sink]) -> Result<bool> {
        let input = &self.inputs[i];
        self.part(i); // an input without records starts and ends here
        let (mut part, since) = self.open.remove(&i).expect("just opened");
        part.file(&input.path.display().to_string());
        part.seconds = since.elapsed().as_secs_f64();
        let part = self.ended[i].insert(part);
        for s in sinks.iter_mut() {
            if !s.input_done(i, input, part)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Sum every input's counts into `total`, in input order; inputs
    /// stopped inside count what they got.
    fn sum_into(mut self, total: &mut ScanStats) {
        let mut index = total.file_index();
        for i in 0..self.inputs.len() {
            let part = self.ended[i].take().or_else(|| self.open.remove(&i).map(|p| p.0));
            if let Some(part) = part {
                total.add_indexed(&part, &mut index);
            }
        }
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
    let mut tally = Tally { inputs, open: Default::default(), ended: vec![None; inputs.len()] };
    // A thread hands batches to the pool while this one gives the previous
    // batch's outcomes to the sinks, so the pool does not wait for them.
    let (otx, orx) = sync_channel::<Matched>(1);
    let finished = std::thread::scope(|scope| {
        scope.spawn(move || match_batches(rx, otx, matcher, opts, fields));
        deliver(orx, matcher, opts, sinks, &mut tally, progress)
    });
    tally.sum_into(total);
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
    left: AtomicUsize,
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

/// A batch on the pool: its records' outcomes, and the inputs they belong
/// to.
struct InFlight {
    slots: std::sync::Arc<Slots>,
    segments: Vec<Segment>,
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
            otx.send((outcomes, b.segments)).is_ok()
        };
        for batch in rx {
            let n = batch.records.len();
            let slots = std::sync::Arc::new(Slots {
                outcomes: std::sync::Mutex::new((0..n).map(|_| None).collect()),
                left: AtomicUsize::new(n),
            });
            for (record, raw) in batch.records.into_iter().enumerate() {
                let reply = Reply { record, slots: slots.clone(), done: done_tx.clone(), outcome: None };
                let pool = &pool;
                scope.spawn_fifo(move |_| {
                    reply.fill(match_record(raw, matcher, opts, fields, &mut pool.lease().scratch));
                });
            }
            in_flight.push_back(InFlight { slots, segments: batch.segments });
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
    for (outcomes, segments) in orx {
        let mut outcomes = outcomes.into_iter();
        let mut start = 0;
        for seg in segments {
            for o in outcomes.by_ref().take(seg.end - start) {
                if !deliver_one(o?, seg.input, matcher, opts, sinks, tally.part(seg.input), progress)? {
                    return Ok(());
                }
            }
            start = seg.end;
            if seg.done && !tally.input_done(seg.input, sinks)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Give one record's outcome to the sinks and count it in its input's
/// `stats`; false once a sink stopped the scan.
fn deliver_one(
    o: Outcome,
    input: usize,
    matcher: &Matcher<'_>,
    opts: &ScanOptions,
    sinks: &mut [&mut dyn Sink],
    stats: &mut ScanStats,
    progress: &Progress,
) -> Result<bool> {
    progress.records.fetch_add(1, Ordering::Relaxed);
    match o {
        Outcome::Scanned(doc, findings, bytes) => {
            stats.documents_read += 1;
            stats.documents_scanned += 1;
            stats.bytes_read += bytes;
            stats.bytes_scanned += doc.text.len() as u64;
            stats.findings += findings.len() as u64;
            stats.documents_with_findings += (!findings.is_empty()) as u64;
            let spans = exlibris_text::union_spans(
                findings.iter().map(|f| exlibris_text::Span { start: f.doc_start, end: f.doc_end }).collect(),
            );
            stats.bytes_in_findings += spans.iter().map(|s| s.len()).sum::<u64>();
            let f = stats.file(&doc.origin.file);
            f.records += 1;
            f.scanned += 1;
            f.bytes += doc.text.len() as u64;
            f.findings += findings.len() as u64;
            for s in sinks.iter_mut() {
                if !s.document(input, &doc, &findings, matcher.index())? {
                    return Ok(false);
                }
            }
        }
        Outcome::Rejected(r, bytes) => {
            stats.reject(&r, bytes);
            if opts.strict {
                return Err(ScanError::Input(format!("{r} (stopped: --strict)")));
            }
            for s in sinks.iter_mut() {
                if !s.rejected(input, &r)? {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}
