//! `exlibris filter`: every document of JSON Lines inputs goes, as its
//! stored line, to exactly one of `keep/` or `quarantine/`, in the input's
//! format (plain, gzip or zstd); `quarantine/reasons.jsonl` says why for
//! each quarantined one. Other formats are refused: a WARC record cannot be
//! written back as a line.
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use exlibris_scan::reader::InputKind;
use exlibris_scan::{Input, ReadOptions};
use serde::{Deserialize, Serialize};

use crate::corpus::for_each_record;
use crate::ledger::{Ledger, UNDECLARED};
use crate::policy::{Facts, Policy};
use crate::tag::Tagger;
use crate::{Error, Result};

/// Name of the reasons side file, in the quarantine directory.
pub const REASONS: &str = "reasons.jsonl";

/// Counts of a filter run. They reconcile: `read = kept + quarantined`,
/// `input_bytes = kept_bytes + quarantined_bytes` (bytes of the stored lines,
/// newline included; blank lines are not records and are dropped).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Records read.
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
    /// Quarantined documents per rule (first word of the reason).
    pub by_rule: BTreeMap<String, u64>,
    /// Output files, per input: (keep, quarantine).
    pub outputs: Vec<(String, String, String)>,
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
    /// Line number in it.
    pub record: u64,
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

enum Compression {
    Plain,
    Gzip,
    Zstd,
}

fn compression_of(path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| Error::Io(path.display().to_string(), e))?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::Plain,
    })
}

fn create(path: &Path, c: &Compression) -> Result<Box<dyn Write>> {
    let f = File::create(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
    let w = BufWriter::new(f);
    Ok(match c {
        Compression::Plain => Box::new(w),
        Compression::Gzip => Box::new(flate2::write::GzEncoder::new(w, flate2::Compression::default())),
        Compression::Zstd => Box::new(
            zstd::stream::write::Encoder::new(w, 3)
                .map_err(|e| Error::Io(path.display().to_string(), e))?
                .auto_finish(),
        ),
    })
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
    /// Quarantined documents and `reasons.jsonl`.
    pub quarantine: &'a Path,
}

/// Run the policy over `inputs` (JSON Lines only), writing both sides.
pub fn filter(
    inputs: &[Input],
    opts: &ReadOptions,
    tagger: &Tagger,
    ledger: &Ledger,
    policy: &Policy,
    findings: &DocWorks,
    dirs: &FilterDirs<'_>,
) -> Result<FilterStats> {
    if let Some(i) = inputs.iter().find(|i| i.kind != InputKind::Jsonl) {
        return Err(Error::Unsupported(format!(
            "{}: filter writes documents back in their input's format and handles JSON Lines only (this is {:?}); convert it to JSON Lines first",
            i.path.display(),
            i.kind
        )));
    }
    // No record may be refused for its length: each must land on one side.
    let opts = ReadOptions { max_record_bytes: usize::MAX / 2, ..opts.clone() };
    for d in [dirs.keep, dirs.quarantine] {
        std::fs::create_dir_all(d).map_err(|e| Error::Io(d.display().to_string(), e))?;
    }
    let rp = dirs.quarantine.join(REASONS);
    let mut reasons = create(&rp, &Compression::Plain)?;
    let mut stats = FilterStats::default();
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
        let comp = compression_of(&input.path)?;
        let (kp, qp): (PathBuf, PathBuf) = (dirs.keep.join(&name), dirs.quarantine.join(&name));
        let mut keep = create(&kp, &comp)?;
        let mut quar = create(&qp, &comp)?;
        let file = input.path.display().to_string();
        for_each_record(input, &opts, |item| {
            let io = |e: std::io::Error| Error::Io(file.clone(), e);
            let (decision, doc_id, source, record) = match &item.doc {
                Ok(doc) => {
                    let tags = tagger.tag(doc, item.head.as_ref());
                    let src = ledger.attribute(&doc.origin.file, doc.url.as_deref());
                    let source = src.map_or(UNDECLARED, |s| s.name.as_str()).to_string();
                    let works = findings.get(&doc.id).map(Vec::as_slice).unwrap_or(&[]);
                    let facts = Facts {
                        tags: &tags,
                        source: &source,
                        licence: src.map(|s| s.licence.as_str()),
                        works,
                    };
                    (policy.decide(&facts), Some(doc.id.clone()), source, doc.origin.record)
                }
                Err(r) => {
                    let d = crate::policy::Decision {
                        keep: false,
                        reasons: vec![format!("unreadable: {}", r.reason)],
                    };
                    (d, r.id.clone(), UNDECLARED.to_string(), r.origin.record)
                }
            };
            let Some(line) = item.line else {
                // A stream error: there is no line to write; the run fails
                // rather than lose a document silently.
                return Err(Error::Unsupported(format!(
                    "{file}: record {record}: {}",
                    decision.reasons.join("; ")
                )));
            };
            let bytes = line.len() as u64 + 1;
            stats.read += 1;
            stats.input_bytes += bytes;
            let out = if decision.keep { &mut keep } else { &mut quar };
            out.write_all(&line).and_then(|_| out.write_all(b"\n")).map_err(io)?;
            if decision.keep {
                stats.kept += 1;
                stats.kept_bytes += bytes;
            } else {
                stats.quarantined += 1;
                stats.quarantined_bytes += bytes;
                // The rule: "tag NAME", else the reason's first word.
                let mut rules: Vec<String> = decision.reasons.iter().map(|r| rule_of(r)).collect();
                rules.dedup();
                for r in rules {
                    *stats.by_rule.entry(r).or_default() += 1;
                }
                let rec = Reasons { file: file.clone(), record, doc_id, source, reasons: decision.reasons };
                let mut j = serde_json::to_vec(&rec).expect("serialisable");
                j.push(b'\n');
                reasons.write_all(&j).map_err(io)?;
            }
            Ok(())
        })?;
        keep.flush().map_err(|e| Error::Io(kp.display().to_string(), e))?;
        quar.flush().map_err(|e| Error::Io(qp.display().to_string(), e))?;
        stats.outputs.push((file, kp.display().to_string(), qp.display().to_string()));
    }
    reasons.flush().map_err(|e| Error::Io(rp.display().to_string(), e))?;
    Ok(stats)
}
