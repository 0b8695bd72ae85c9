//! `exlibris filter`: every document of the inputs goes to exactly one of
//! `keep/` or `quarantine/`, in the input's format, and
//! `quarantine/reasons.jsonl` says why for each quarantined one.
//!
//! | input | what is copied | bytes counted |
//! |---|---|---|
//! | JSON Lines (plain, gzip, zstd) | each line as stored, same compression | the line and its newline |
//! | WARC / WET (plain, gzip, zstd) | each record's bytes verbatim (header, block, trailer); compressed outputs hold one gzip member (zstd frame) per record | every byte of the decompressed stream |
//! | Parquet | each row, into a file with the input's schema ([`parquet_rows`]) | the row's text value |
//! | text file | the whole file | the file |
//!
//! WARC records that are not documents (`warcinfo`, `request`, `metadata`,
//! `revisit`) go with the document they belong to: the one they name, or
//! that names them, in `WARC-Concurrent-To` or `WARC-Refers-To` (Common
//! Crawl's request, response, metadata triples stay together); the others
//! (`warcinfo`) go to keep. A side that gets no record gets no file.
//!
//! Every output is written under a hidden temporary name; when all inputs
//! are done they are renamed into place, then `reasons.jsonl`, then
//! `filter-stats.json`, last: a quarantine directory without it is an
//! interrupted run.
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use exlibris_scan::reader::{open_decompressed, InputKind};
use exlibris_scan::{Input, ReadOptions};
use serde::{Deserialize, Serialize};

use crate::corpus::{for_each_batch, Item};
use crate::ledger::{Ledger, UNDECLARED};
use crate::policy::{Decision, Facts, Policy};
use crate::tag::Tagger;
use crate::{Error, Result};
use rayon::prelude::*;

pub mod output;
pub mod parquet_rows;
pub mod warc;

use output::{compression_of, Compression, Ready, Records, Staged};

/// Name of the reasons side file, in the quarantine directory.
pub const REASONS: &str = "reasons.jsonl";
/// Name of the counts file, in the quarantine directory (written last).
pub const STATS: &str = "filter-stats.json";

/// Counts of a filter run. They reconcile: `read = kept + quarantined`
/// (documents), `input_bytes = kept_bytes + quarantined_bytes` (bytes as
/// stored, see the module's table).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Documents (records) read.
    pub read: u64,
    /// Kept.
    pub kept: u64,
    /// Quarantined.
    pub quarantined: u64,
    /// Bytes of all records.
    pub input_bytes: u64,
    /// Bytes kept.
    pub kept_bytes: u64,
    /// Bytes quarantined.
    pub quarantined_bytes: u64,
    /// WARC records that are not documents, routed with their document
    /// (their bytes are in the byte totals).
    #[serde(default)]
    pub other_records: u64,
    /// Of those, how many went to quarantine.
    #[serde(default)]
    pub other_records_quarantined: u64,
    /// Quarantined documents per rule (first word of the reason).
    pub by_rule: BTreeMap<String, u64>,
    /// Output files, per input.
    pub outputs: Vec<FilterOutput>,
}

/// Where one input's documents went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterOutput {
    /// The input file.
    pub input: String,
    /// Its kept documents (none when none was kept).
    pub keep: Option<String>,
    /// Its quarantined documents.
    pub quarantine: Option<String>,
}

impl FilterStats {
    /// Whether counts and bytes reconcile.
    pub fn reconciles(&self) -> bool {
        self.read == self.kept + self.quarantined
            && self.input_bytes == self.kept_bytes + self.quarantined_bytes
    }
}

/// One line of `reasons.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reasons {
    /// Input file.
    pub file: String,
    /// Record number in it (line, row or WARC record; 1 for a text file).
    pub record: u64,
    /// Byte offset of the record (in the decompressed stream; of its row
    /// group for Parquet).
    #[serde(default)]
    pub offset: u64,
    /// Document id, when it could be read.
    pub doc_id: Option<String>,
    /// Its source.
    pub source: String,
    /// Why.
    pub reasons: Vec<String>,
}

/// Works found per document (doc id → (work id, rights)).
pub type DocWorks = HashMap<String, Vec<(String, Option<String>)>>;

/// Works found per document, with their rights, from a results directory.
pub fn load_findings(dir: &Path) -> Result<DocWorks> {
    let results = exlibris_scan::Results::read(dir)?;
    let rights: HashMap<String, Option<String>> =
        results.works.works.iter().map(|w| (w.work_id.clone(), w.rights.clone())).collect();
    let path = dir.join(exlibris_scan::results::FINDINGS);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io(path.display().to_string(), e))?;
    let mut out = DocWorks::new();
    #[derive(Deserialize)]
    struct F {
        doc_id: String,
        work_id: String,
    }
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: F = serde_json::from_str(line)
            .map_err(|e| Error::Config(format!("{}:{}", path.display(), i + 1), e.to_string()))?;
        let works = out.entry(f.doc_id).or_default();
        if !works.iter().any(|(w, _)| *w == f.work_id) {
            let r = rights.get(&f.work_id).cloned().flatten();
            works.push((f.work_id, r));
        }
    }
    Ok(out)
}

fn rule_of(reason: &str) -> String {
    let words: Vec<&str> = reason.split([' ', ':']).filter(|w| !w.is_empty()).take(2).collect();
    match words.as_slice() {
        ["tag", name] => format!("tag {name}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

/// Where the filter writes.
pub struct FilterDirs<'a> {
    /// Kept documents.
    pub keep: &'a Path,
    /// Quarantined documents, `reasons.jsonl` and `filter-stats.json`.
    pub quarantine: &'a Path,
}

/// What decides; shared by the worker threads.
#[derive(Clone, Copy)]
struct Judge<'a> {
    tagger: &'a Tagger,
    ledger: &'a Ledger,
    policy: &'a Policy,
    findings: &'a DocWorks,
}

/// A record's decision, before it is counted.
struct Assessed {
    decision: Decision,
    doc_id: Option<String>,
    source: String,
    record: u64,
    offset: u64,
}

impl Judge<'_> {
    fn assess(&self, item: &Item) -> Assessed {
        let (decision, doc_id, source, origin) = match &item.doc {
            Ok(doc) => {
                let tags = self.tagger.tag(doc, item.head.as_ref());
                let src = self.ledger.attribute(&doc.origin.file, doc.url.as_deref());
                let source = src.map_or(UNDECLARED, |s| s.name.as_str()).to_string();
                let works = self.findings.get(&doc.id).map(Vec::as_slice).unwrap_or(&[]);
                let facts =
                    Facts { tags: &tags, source: &source, licence: src.map(|s| s.licence.as_str()), works };
                (self.policy.decide(&facts), Some(doc.id.clone()), source, &doc.origin)
            }
            Err(r) => {
                let d = Decision { keep: false, reasons: vec![format!("unreadable: {}", r.reason)] };
                (d, r.id.clone(), UNDECLARED.to_string(), &r.origin)
            }
        };
        Assessed { decision, doc_id, source, record: origin.record, offset: origin.offset }
    }

    /// Assess a batch on the rayon pool, in order.
    fn assess_all(&self, items: &[Item]) -> Vec<Assessed> {
        items.par_iter().map(|i| self.assess(i)).collect()
    }
}

/// What has been decided so far.
struct Gate<'a> {
    judge: Judge<'a>,
    stats: FilterStats,
    reasons: Records,
}

/// The decision on one record.
#[derive(Clone, Copy)]
struct Verdict {
    keep: bool,
    record: u64,
    offset: u64,
}

impl Gate<'_> {
    /// Count an assessed record of `file` and write its reasons.
    fn count(&mut self, file: &str, a: Assessed) -> Result<Verdict> {
        let Assessed { decision, doc_id, source, record, offset } = a;
        let v = Verdict { keep: decision.keep, record, offset };
        self.stats.read += 1;
        if decision.keep {
            self.stats.kept += 1;
        } else {
            self.stats.quarantined += 1;
            // The rule: "tag NAME", else the reason's first word.
            let mut rules: Vec<String> = decision.reasons.iter().map(|r| rule_of(r)).collect();
            rules.dedup();
            for r in rules {
                *self.stats.by_rule.entry(r).or_default() += 1;
            }
            let rec =
                Reasons { file: file.to_string(), record, offset, doc_id, source, reasons: decision.reasons };
            let mut j = serde_json::to_vec(&rec).expect("serialisable");
            j.push(b'\n');
            self.reasons.record(&j)?;
        }
        Ok(v)
    }

    /// Judge a batch of `file`: the verdicts, in order.
    fn judge(&mut self, file: &str, items: &[Item]) -> Result<Vec<Verdict>> {
        let judge = self.judge;
        judge.assess_all(items).into_iter().map(|a| self.count(file, a)).collect()
    }

    fn bytes(&mut self, keep: bool, n: u64) {
        self.stats.input_bytes += n;
        if keep {
            self.stats.kept_bytes += n;
        } else {
            self.stats.quarantined_bytes += n;
        }
    }
}

/// Run the policy over `inputs`, writing both sides, `reasons.jsonl` and
/// `filter-stats.json`.
pub fn filter(
    inputs: &[Input],
    opts: &ReadOptions,
    tagger: &Tagger,
    ledger: &Ledger,
    policy: &Policy,
    findings: &DocWorks,
    dirs: &FilterDirs<'_>,
) -> Result<FilterStats> {
    if let Some(i) = inputs.iter().find(|i| i.range.is_some()) {
        return Err(Error::Unsupported(format!(
            "{}: filter works on whole files, not on a plan's slices",
            i.path.display()
        )));
    }
    // No record may be refused for its length: each must land on one side.
    let opts = ReadOptions { max_record_bytes: usize::MAX / 2, ..opts.clone() };
    for d in [dirs.keep, dirs.quarantine] {
        std::fs::create_dir_all(d).map_err(|e| Error::Io(d.display().to_string(), e))?;
    }
    let reasons = Records::create(&dirs.quarantine.join(REASONS), Compression::Plain, false)?;
    let judge = Judge { tagger, ledger, policy, findings };
    let mut gate = Gate { judge, stats: FilterStats::default(), reasons };
    let mut ready: Vec<Ready> = Vec::new();
    let mut used: HashMap<String, usize> = HashMap::new();
    for input in inputs {
        let name = input
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        let n = used.entry(name.clone()).or_default();
        *n += 1;
        let name = if *n == 1 { name } else { format!("{}-{name}", *n) };
        let targets = [dirs.keep.join(&name), dirs.quarantine.join(&name)];
        let sides = match input.kind {
            InputKind::Jsonl => filter_jsonl(&mut gate, input, &opts, &targets)?,
            InputKind::TextFile => filter_text(&mut gate, input, &opts, &targets)?,
            InputKind::Warc => filter_warc(&mut gate, input, &opts, &targets)?,
            InputKind::Parquet => filter_parquet(&mut gate, input, &opts, &targets)?,
        };
        let [k, q] = sides;
        let shown = |r: &Option<Ready>, t: &Path| r.as_ref().map(|_| t.display().to_string());
        gate.stats.outputs.push(FilterOutput {
            input: input.path.display().to_string(),
            keep: shown(&k, &targets[0]),
            quarantine: shown(&q, &targets[1]),
        });
        ready.extend(k);
        ready.extend(q);
    }
    for r in ready {
        r.publish()?;
    }
    let Gate { stats, reasons, .. } = gate;
    reasons.finish()?.publish()?;
    let json = serde_json::to_vec_pretty(&stats).expect("serialisable");
    output::write_atomic(&dirs.quarantine.join(STATS), &json)?;
    Ok(stats)
}

type Sides = [Option<Ready>; 2];

fn side(keep: bool) -> usize {
    usize::from(!keep)
}

/// JSON Lines: each line as stored, in the input's compression.
fn filter_jsonl(
    gate: &mut Gate<'_>,
    input: &Input,
    opts: &ReadOptions,
    targets: &[PathBuf; 2],
) -> Result<Sides> {
    let comp = compression_of(&input.path)?;
    let mut outs: [Option<Records>; 2] = [None, None];
    let file = input.path.display().to_string();
    for_each_batch(input, opts, |items| {
        let verdicts = gate.judge(&file, &items)?;
        for (item, v) in items.into_iter().zip(verdicts) {
            let Some(line) = item.line else {
                // A stream error: there is no line to write; the run fails
                // rather than lose a document silently.
                let why = item.doc.err().map(|r| r.reason).unwrap_or_default();
                return Err(Error::Unsupported(format!("{file}: record {}: {why}", v.record)));
            };
            gate.bytes(v.keep, line.len() as u64 + 1);
            let s = side(v.keep);
            if outs[s].is_none() {
                outs[s] = Some(Records::create(&targets[s], comp, false)?);
            }
            let out = outs[s].as_mut().expect("created");
            out.record(&line)?;
            out.record(b"\n")?;
        }
        Ok(())
    })?;
    finish_sides(outs)
}

/// Finish the outputs of both sides (a side that got nothing has none).
fn finish_sides([k, q]: [Option<Records>; 2]) -> Result<Sides> {
    Ok([k.map(Records::finish).transpose()?, q.map(Records::finish).transpose()?])
}

/// A text file is one document: copied whole to its side.
fn filter_text(
    gate: &mut Gate<'_>,
    input: &Input,
    opts: &ReadOptions,
    targets: &[PathBuf; 2],
) -> Result<Sides> {
    let file = input.path.display().to_string();
    let mut verdict = None;
    for_each_batch(input, opts, |items| {
        verdict = gate.judge(&file, &items)?.pop();
        Ok(())
    })?;
    let v = verdict.ok_or_else(|| Error::Unsupported(format!("{file}: no document read")))?;
    let io = |e| Error::Io(file.clone(), e);
    let bytes = std::fs::read(&input.path).map_err(io)?;
    gate.bytes(v.keep, bytes.len() as u64);
    let s = side(v.keep);
    let mut out = Staged::create(&targets[s])?;
    out.write_all(&bytes)?;
    let mut sides: Sides = [None, None];
    sides[s] = Some(out.finish()?);
    Ok(sides)
}

/// Non-document WARC records wait at most this many records for the
/// document they belong to; then they go to keep.
const COMPANION_WINDOW: usize = 16;

/// WARC: decide every document with the scanner's reader, then copy every
/// record's bytes, as cut by [`warc::WarcSplitter`], to its side.
fn filter_warc(
    gate: &mut Gate<'_>,
    input: &Input,
    opts: &ReadOptions,
    targets: &[PathBuf; 2],
) -> Result<Sides> {
    let file = input.path.display().to_string();
    let mut decided: HashMap<u64, bool> = HashMap::new();
    for_each_batch(input, opts, |items| {
        for v in gate.judge(&file, &items)? {
            decided.insert(v.offset, v.keep);
        }
        Ok(())
    })?;
    let comp = compression_of(&input.path)?;
    let mut outs: [Option<Records>; 2] = [None, None];
    let mut split = warc::WarcSplitter::new(open_decompressed(&input.path)?);
    // Records in input order, each with its side once known.
    let mut pending: VecDeque<(warc::RawWarcRecord, Option<bool>, bool)> = VecDeque::new();
    let mut recent: VecDeque<(String, bool)> = VecDeque::new();
    let mut matched = HashSet::new();
    let io = |e| Error::Io(file.clone(), e);
    let mut write = |gate: &mut Gate<'_>, rec: warc::RawWarcRecord, keep: bool, doc: bool| -> Result<()> {
        gate.bytes(keep, rec.bytes.len() as u64);
        if !doc {
            gate.stats.other_records += 1;
            gate.stats.other_records_quarantined += u64::from(!keep);
        }
        let s = side(keep);
        if outs[s].is_none() {
            outs[s] = Some(Records::create(&targets[s], comp, true)?);
        }
        outs[s].as_mut().expect("created").record(&rec.bytes)
    };
    loop {
        let next = split.next_record().map_err(io)?;
        let end = next.is_none();
        if let Some(rec) = next {
            let doc = decided.get(&rec.at).copied();
            if doc.is_some() {
                matched.insert(rec.at);
            }
            let known = doc.or_else(|| {
                if rec.kind == "warcinfo" {
                    return Some(true);
                }
                recent.iter().rev().find(|(id, _)| rec.links.contains(id)).map(|&(_, k)| k)
            });
            if let (Some(k), true) = (known, doc.is_some()) {
                // Earlier records waiting for this document (a request).
                for (p, s, _) in pending.iter_mut().filter(|(_, s, _)| s.is_none()) {
                    let linked = p.id.as_ref().is_some_and(|i| rec.links.contains(i))
                        || rec.id.as_ref().is_some_and(|i| p.links.contains(i));
                    if linked {
                        *s = Some(k);
                    }
                }
            }
            if let (Some(id), Some(k)) = (&rec.id, known) {
                recent.push_back((id.clone(), k));
                if recent.len() > COMPANION_WINDOW {
                    recent.pop_front();
                }
            }
            pending.push_back((rec, known, doc.is_some()));
        }
        while let Some((_, s, _)) = pending.front() {
            let s = match s {
                Some(s) => *s,
                None if end || pending.len() > COMPANION_WINDOW => true,
                None => break,
            };
            let (rec, _, doc) = pending.pop_front().expect("front");
            write(gate, rec, s, doc)?;
        }
        if end {
            break;
        }
    }
    if let Some(missing) = decided.keys().filter(|o| !matched.contains(*o)).min() {
        return Err(Error::Unsupported(format!(
            "{file}: the record at byte {missing} could not be cut out verbatim ({} of {} records unmatched); nothing was written",
            decided.len() - matched.len(),
            decided.len()
        )));
    }
    finish_sides(outs)
}

/// Parquet: decide every row, then rewrite both sides with the schema; a
/// file the reader cannot open at all is one unreadable document, copied
/// whole to quarantine.
fn filter_parquet(
    gate: &mut Gate<'_>,
    input: &Input,
    opts: &ReadOptions,
    targets: &[PathBuf; 2],
) -> Result<Sides> {
    let file = input.path.display().to_string();
    let mut rows: Vec<Option<bool>> = Vec::new();
    let mut whole_file = false;
    let mut stored: [u64; 2] = [0, 0];
    let mut group_refused = None;
    for_each_batch(input, opts, |items| {
        let verdicts = gate.judge(&file, &items)?;
        for (item, v) in items.into_iter().zip(verdicts) {
            if v.record == 0 {
                whole_file = true;
                continue;
            }
            if let Err(r) = &item.doc {
                if r.reason.starts_with("row group ") {
                    group_refused = Some(r.reason.clone());
                }
            }
            let i = (v.record - 1) as usize;
            if rows.len() <= i {
                rows.resize(i + 1, None);
            }
            rows[i] = Some(v.keep);
            stored[side(v.keep)] += item.stored;
        }
        Ok(())
    })?;
    if whole_file {
        let bytes = std::fs::read(&input.path).map_err(|e| Error::Io(file.clone(), e))?;
        gate.bytes(false, bytes.len() as u64);
        let mut out = Staged::create(&targets[1])?;
        out.write_all(&bytes)?;
        return Ok([None, Some(out.finish()?)]);
    }
    if let Some(why) = group_refused {
        return Err(Error::Unsupported(format!(
            "{file}: cannot route the rows of an unreadable row group: {why}"
        )));
    }
    let keep: Vec<bool> = rows
        .iter()
        .enumerate()
        .map(|(i, k)| k.ok_or_else(|| Error::Unsupported(format!("{file}: row {} was not read", i + 1))))
        .collect::<Result<_>>()?;
    gate.bytes(true, stored[0]);
    gate.bytes(false, stored[1]);
    parquet_rows::route(&input.path, &keep, [&targets[0], &targets[1]])
}
