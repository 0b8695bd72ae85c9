//! Parts: the results of one unit of input, published on their own.
//!
//! A scan writes one part per input file under `results/parts/`:
//!
//! ```text
//! parts/<part-id>.findings.jsonl   its findings (FindingRecord lines)
//! parts/<part-id>.rejected.jsonl   its refused records
//! parts/<part-id>.part.json        the manifest (PartManifest), written last
//! ```
//!
//! The data files are written under `.tmp` names and renamed, then the
//! manifest is renamed into place: a part exists once its manifest does.
//! The manifest is self-describing (index, settings, input identity, counts,
//! coverage, and the length and xxh3 of each data file), so a part can be
//! checked without the run that made it: a rerun keeps the parts that are
//! still valid and redoes the others, and `merge` combines parts of several
//! runs. Parts are not fsynced: a part torn by a power loss fails its
//! checksums and is redone.
//!
//! The part id depends only on the input's path and range, never on the
//! index or settings, so the same unit of input always lands in the same
//! slot and a stale part is simply overwritten.
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use exlibris_index::Index;
use exlibris_text::FingerprintSettings;

use crate::coverage::Coverage;
use crate::document::{Document, Rejection};
use crate::error::{IoContext, Result, ScanError};
use crate::matcher::{Finding, MatchOptions, Matcher};
use crate::reader::Input;
use crate::scan::ScanOptions;
use crate::sink::{CoverageSink, FindingsWriter, Sink};
use crate::stats::ScanStats;

/// Folder of the parts inside a results directory.
pub const PARTS_DIR: &str = "parts";
/// Version of the part manifest.
pub const PART_VERSION: u32 = 1;
/// Bytes hashed at each end of an input for its identity.
const EDGE_BYTES: u64 = 1 << 20;

/// The byte range of an input that a part covers (a planner's slice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// What a part was made from: enough to tell whether the input changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIdentity {
    /// The input file as the scan named it.
    pub path: String,
    /// `jsonl` or `text`.
    pub kind: String,
    /// File size (`None`: it could not be read).
    pub size: Option<u64>,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: Option<u64>,
    /// xxh3 of the first MiB.
    pub head_xxh3: Option<String>,
    /// xxh3 of the last MiB.
    pub tail_xxh3: Option<String>,
    /// The object's entity tag (`s3://` inputs, whose identity is size,
    /// last modification and e_tag instead of hashes of their ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// The part of the file this unit covers (`None`: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ByteRange>,
}

impl InputIdentity {
    /// The identity of `input` as it is now on disk.
    pub fn of(input: &Input) -> InputIdentity {
        let kind = crate::plan::kind_name(input.kind);
        let mut id = InputIdentity {
            path: input.path.display().to_string(),
            kind: kind.into(),
            size: None,
            mtime_ns: None,
            head_xxh3: None,
            tail_xxh3: None,
            e_tag: None,
            range: input.range.map(|r| ByteRange { start: r.start, end: r.end }),
        };
        #[cfg(feature = "s3")]
        if crate::reader::object::is_object(&input.path) {
            if let Some((size, mtime_ns, e_tag)) = crate::reader::object::identity(&input.path) {
                (id.size, id.mtime_ns, id.e_tag) = (Some(size), Some(mtime_ns), e_tag);
            }
            return id;
        }
        let Ok(mut f) = File::open(&input.path) else { return id };
        let Ok(meta) = f.metadata() else { return id };
        let edge = |f: &mut File, from: u64| -> Option<String> {
            f.seek(SeekFrom::Start(from)).ok()?;
            let mut buf = Vec::new();
            f.take(EDGE_BYTES).read_to_end(&mut buf).ok()?;
            Some(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&buf)))
        };
        id.size = Some(meta.len());
        id.mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as u64);
        id.head_xxh3 = edge(&mut f, 0);
        id.tail_xxh3 = edge(&mut f, meta.len().saturating_sub(EDGE_BYTES));
        id
    }

    /// The part id: a readable file name and a hash of path and range.
    pub fn part_id(&self) -> String {
        let mut key = self.path.clone().into_bytes();
        if let Some(r) = self.range {
            key.extend_from_slice(format!("\0{}-{}", r.start, r.end).as_bytes());
        }
        let name = Path::new(&self.path).file_name().map(|n| n.to_string_lossy().into_owned());
        let stem: String = name
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .take(48)
            .collect();
        format!("{stem}-{:016x}", xxhash_rust::xxh3::xxh3_64(&key))
    }
}

/// The settings that change what a scan finds. Parts made with other
/// settings are redone by a rerun and refused by `merge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartSettings {
    /// Fingerprinting parameters of the index.
    pub fingerprint: FingerprintSettings,
    /// Matching options as given.
    pub matching: MatchOptions,
    /// Effective fewest words of a finding.
    pub min_words: u32,
    /// JSON field of the document id.
    pub id_field: String,
    /// JSON field of the text.
    pub text_field: String,
    /// JSON field of the URL.
    pub url_field: String,
    /// Records longer than this are refused.
    pub max_record_bytes: u64,
}

impl PartSettings {
    /// The settings of a scan of `index` with `opts`.
    pub fn new(index: &Index, opts: &ScanOptions) -> PartSettings {
        let f = &opts.read.fields;
        PartSettings {
            fingerprint: *index.settings(),
            matching: opts.matching.clone(),
            min_words: Matcher::new(index, opts.matching.clone()).min_words(),
            id_field: f.id.clone(),
            text_field: f.text.clone(),
            url_field: f.url.clone(),
            max_record_bytes: opts.read.max_record_bytes as u64,
        }
    }
}

/// One data file of a part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Its name, in the parts folder.
    pub file: String,
    /// Lines in it.
    pub records: u64,
    /// Its length.
    pub bytes: u64,
    /// xxh3-64 of its bytes, hex.
    pub xxh3: String,
}

/// `parts/<id>.part.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartManifest {
    /// Always `exlibris-part`.
    pub format: String,
    /// [`PART_VERSION`].
    pub version: u32,
    /// The part id (the manifest's file name without `.part.json`).
    pub part_id: String,
    /// exlibris version that wrote it.
    pub exlibris_version: String,
    /// Index identity.
    pub index_id: String,
    /// Settings of the scan.
    pub settings: PartSettings,
    /// The unit of input.
    pub input: InputIdentity,
    /// Its findings.
    pub findings: DataFile,
    /// Its refused records.
    pub rejected: DataFile,
    /// Its counts (`seconds`: time spent on it).
    pub stats: ScanStats,
    /// Its coverage, compacted.
    pub coverage: Coverage,
}

impl PartManifest {
    /// Path of the manifest of part `id` in `parts`.
    pub fn path(parts: &Path, id: &str) -> PathBuf {
        parts.join(format!("{id}.part.json"))
    }

    /// Read the manifest of part `id` from the parts folder `parts`.
    pub fn read(parts: &Path, id: &str) -> Result<PartManifest> {
        let p = Self::path(parts, id);
        let bad = |reason: String| ScanError::Results { path: p.clone(), reason };
        let m: PartManifest = serde_json::from_slice(&std::fs::read(&p).at(&p)?)
            .map_err(|e| bad(format!("not a part manifest: {e}")))?;
        if m.format != "exlibris-part" || m.version != PART_VERSION {
            return Err(bad(format!(
                "part format {} version {} (this build reads exlibris-part {PART_VERSION})",
                m.format, m.version
            )));
        }
        if m.part_id != id {
            return Err(bad(format!("manifest names part {}", m.part_id)));
        }
        Ok(m)
    }

    /// Check that the data files are there, whole and unchanged.
    pub fn verify(&self, parts: &Path) -> Result<()> {
        for d in [&self.findings, &self.rejected] {
            let p = parts.join(&d.file);
            let mut f = File::open(&p).at(&p)?;
            let mut h = HashWriter::new(std::io::sink());
            std::io::copy(&mut f, &mut h).at(&p)?;
            d.check(&p, h.bytes, &h.digest())?;
        }
        Ok(())
    }

    /// Why this part cannot stand for a scan of `input` with this index and
    /// settings, or `None` if it can.
    pub fn stale_reason(
        &self,
        index_id: &str,
        settings: &PartSettings,
        input: &InputIdentity,
    ) -> Option<String> {
        if self.index_id != index_id {
            Some(format!("made with index {}", self.index_id))
        } else if &self.settings != settings {
            Some("made with other settings".into())
        } else if self.exlibris_version != env!("CARGO_PKG_VERSION") {
            Some(format!("made by exlibris {}", self.exlibris_version))
        } else if &self.input != input {
            Some("the input changed".into())
        } else {
            None
        }
    }
}

impl DataFile {
    /// Compare with what was found on disk.
    pub fn check(&self, path: &Path, bytes: u64, xxh3: &str) -> Result<()> {
        if bytes != self.bytes || xxh3 != self.xxh3 {
            return Err(ScanError::Results {
                path: path.to_path_buf(),
                reason: format!(
                    "corrupt part file: {bytes} bytes with xxh3 {xxh3}, its manifest says {} bytes with xxh3 {}",
                    self.bytes, self.xxh3
                ),
            });
        }
        Ok(())
    }
}

/// A writer that hashes and counts what goes through it.
pub struct HashWriter<W> {
    inner: W,
    hasher: Xxh3,
    /// Bytes written.
    pub bytes: u64,
}

impl<W: Write> HashWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        HashWriter { inner, hasher: Xxh3::new(), bytes: 0 }
    }
    /// The xxh3-64 so far, hex.
    pub fn digest(&self) -> String {
        format!("{:016x}", self.hasher.digest())
    }
    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type DataWriter = HashWriter<BufWriter<File>>;

/// The part being written.
struct OpenPart {
    findings: FindingsWriter<DataWriter>,
    rejected: DataWriter,
    rejected_path: PathBuf,
    rejected_n: u64,
    coverage: CoverageSink,
}

/// A sink that writes one part per input and publishes it when the input
/// ends. It expects exactly the inputs it was given (the scan's inputs, in
/// the same order), each ending once; parts of several inputs may be open
/// at once (a scan with several readers).
pub struct PartWriter {
    dir: PathBuf,
    index_id: String,
    settings: PartSettings,
    todo: Vec<InputIdentity>,
    open: std::collections::HashMap<usize, OpenPart>,
    done: Vec<bool>,
    /// Manifests published, in the order their inputs ended.
    pub published: Vec<PartManifest>,
}

impl PartWriter {
    /// Write parts for `todo` (in scan order) into the parts folder `dir`.
    pub fn new(dir: &Path, index_id: &str, settings: PartSettings, todo: Vec<InputIdentity>) -> Self {
        PartWriter {
            dir: dir.to_path_buf(),
            index_id: index_id.to_string(),
            settings,
            done: vec![false; todo.len()],
            todo,
            open: Default::default(),
            published: Vec::new(),
        }
    }

    fn tmp(&self, id: &str, what: &str) -> PathBuf {
        self.dir.join(format!("{id}.{what}.jsonl.tmp"))
    }

    /// The open part of input `i`, opened at its first record.
    fn current(&mut self, i: usize) -> Result<&mut OpenPart> {
        if !self.open.contains_key(&i) {
            let input = match (self.todo.get(i), self.done.get(i)) {
                (Some(input), Some(false)) => input,
                (Some(input), _) => {
                    return Err(ScanError::Input(format!(
                        "{}: a record arrived after its input ended",
                        input.path
                    )))
                }
                (None, _) => {
                    return Err(ScanError::Input(format!("a record of input {i}, past the last input")))
                }
            };
            let id = input.part_id();
            let (fp, rp) = (self.tmp(&id, "findings"), self.tmp(&id, "rejected"));
            let create = |p: &Path| -> Result<DataWriter> {
                Ok(HashWriter::new(BufWriter::new(File::create(p).at(p)?)))
            };
            let part = OpenPart {
                findings: FindingsWriter::new(create(&fp)?, &fp),
                rejected: create(&rp)?,
                rejected_path: rp,
                rejected_n: 0,
                coverage: CoverageSink::default(),
            };
            self.open.insert(i, part);
        }
        Ok(self.open.get_mut(&i).expect("just opened"))
    }

    /// Finish the open part: rename its data files, then its manifest.
    fn publish(&mut self, i: usize, stats: &ScanStats) -> Result<()> {
        self.current(i)?;
        let open = self.open.remove(&i).expect("just opened");
        self.done[i] = true;
        let input = self.todo[i].clone();
        let id = input.part_id();
        let seal = |w: DataWriter, what: &str, records: u64| -> Result<DataFile> {
            let tmp = self.tmp(&id, what);
            let (bytes, xxh3) = (w.bytes, w.digest());
            w.into_inner().flush().at(&tmp)?;
            let file = format!("{id}.{what}.jsonl");
            std::fs::rename(&tmp, self.dir.join(&file)).at(&tmp)?;
            Ok(DataFile { file, records, bytes, xxh3 })
        };
        let written = open.findings.written;
        let findings = seal(open.findings.into_inner()?, "findings", written)?;
        let rejected = seal(open.rejected, "rejected", open.rejected_n)?;
        let mut coverage = open.coverage.coverage;
        coverage.compact();
        let m = PartManifest {
            format: "exlibris-part".into(),
            version: PART_VERSION,
            part_id: id.clone(),
            exlibris_version: env!("CARGO_PKG_VERSION").into(),
            index_id: self.index_id.clone(),
            settings: self.settings.clone(),
            input,
            findings,
            rejected,
            stats: stats.clone(),
            coverage,
        };
        let path = PartManifest::path(&self.dir, &id);
        let tmp = self.dir.join(format!("{id}.part.json.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&m).expect("manifest serialises")).at(&tmp)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        self.published.push(m);
        Ok(())
    }
}

impl Sink for PartWriter {
    fn document(
        &mut self,
        input: usize,
        doc: &Document,
        findings: &[Finding],
        index: &Index,
    ) -> Result<bool> {
        let open = self.current(input)?;
        open.findings.document(input, doc, findings, index)?;
        open.coverage.document(input, doc, findings, index)
    }

    fn rejected(&mut self, input: usize, r: &Rejection) -> Result<bool> {
        let open = self.current(input)?;
        let p = &open.rejected_path;
        serde_json::to_writer(&mut open.rejected, r).map_err(std::io::Error::from).at(p)?;
        open.rejected.write_all(b"\n").at(p)?;
        open.rejected_n += 1;
        Ok(true)
    }

    fn input_done(&mut self, i: usize, input: &Input, stats: &ScanStats) -> Result<bool> {
        let expected = self.todo.get(i).map(|i| i.path.as_str());
        if expected != Some(input.path.display().to_string().as_str()) {
            return Err(ScanError::Input(format!(
                "{}: not the input this part writer expected at {i} ({expected:?})",
                input.path.display()
            )));
        }
        self.publish(i, stats)?;
        Ok(true)
    }
}

/// True for the names of files left by an interrupted part or publish.
pub fn is_leftover(name: &str) -> bool {
    name.ends_with(".tmp") || name.starts_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::InputKind;

    #[test]
    fn identity_sees_changes_and_the_id_does_not_depend_on_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        std::fs::write(&p, "{\"text\":\"a\"}\n").unwrap();
        let input = Input::file(p.clone(), InputKind::Jsonl);
        let a = InputIdentity::of(&input);
        assert_eq!(a, InputIdentity::of(&input));
        std::fs::write(&p, "{\"text\":\"b\"}\n").unwrap();
        let b = InputIdentity::of(&input);
        assert_ne!(a.head_xxh3, b.head_xxh3);
        assert_eq!(a.part_id(), b.part_id());
        assert!(a.part_id().starts_with("c.jsonl-"));
        let gone = InputIdentity::of(&Input::file(dir.path().join("no.jsonl"), InputKind::Jsonl));
        assert_eq!(gone.size, None);
        let mut shard = a.clone();
        shard.range = Some(ByteRange { start: 0, end: 10 });
        assert_ne!(shard.part_id(), a.part_id());
    }
}
