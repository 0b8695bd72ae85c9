//! Corpus readers: one trait for every format.
//!
//! A [`CorpusReader`] yields [`RawRecord`]s in order. Decoding a record (JSON
//! parsing, UTF-8 validation, field extraction) is left to [`decode`], which
//! the scanner runs on worker threads: the reading thread only splits the
//! stream.
//!
//! Formats are detected by content, not by name: gzip and zstd by their
//! magic bytes (multi-member gzip and concatenated zstd frames included),
//! then, in the decompressed stream, WARC (`WARC/1.`) and Parquet (`PAR1`);
//! anything else is JSON Lines, except `.txt` files, one document each.
//!
//! | format | reader | record | offset |
//! |---|---|---|---|
//! | JSON Lines (plain, gzip, zstd) | [`JsonlReader`] | line | of the line |
//! | Parquet | [`ParquetReader`] | row | of the row group |
//! | WARC / WET (plain or gzip) | [`WarcReader`] | WARC record | of the record header |
//! | text file | one document | 1 | 0 |
//!
//! Offsets are in the decompressed stream, so `zcat FILE | tail -c +OFFSET+1`
//! shows the record.
//!
//! An input may be an object, `s3://bucket/key` (feature `s3`, [`object`]):
//! its path holds the URL, it is streamed with bounded memory, and every
//! reader works on it unchanged.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::document::{check_text, Document, Origin, Rejection};
use crate::error::{IoContext, Result, ScanError};

mod jsonl;
#[cfg(feature = "s3")]
pub mod object;
#[cfg(feature = "parquet")]
mod parquet;
mod warc;
mod web;

pub use jsonl::{JsonlReader, LineReader};
#[cfg(feature = "parquet")]
pub use parquet::ParquetReader;
pub use warc::WarcReader;
pub use web::{page_head, PageHead};

/// What a reader can do, so the scanner and the planner need not guess.
#[derive(Clone, Copy, Debug, Default)]
pub struct Capabilities {
    /// Records can be located again by byte offset.
    pub seekable_records: bool,
}

/// One record as read, not yet decoded.
#[derive(Debug)]
pub struct RawRecord {
    /// Where it was.
    pub origin: Origin,
    /// The bytes.
    pub payload: Payload,
}

/// A record's content.
#[derive(Debug)]
pub enum Payload {
    /// One JSON Lines line (without the newline).
    JsonLine(Vec<u8>),
    /// A document's text as bytes, not yet checked to be UTF-8 (a text
    /// file, a Parquet value, a WET conversion record).
    Text {
        /// Document id.
        id: String,
        /// Its URL, when known.
        url: Option<String>,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A web page (a WARC `response` or `resource` record's block), turned
    /// into text by [`decode`] on the worker threads: HTTP framing and
    /// encodings, charset, HTML to text.
    Web {
        /// Document id (`WARC-Record-ID`).
        id: String,
        /// `WARC-Target-URI`.
        url: Option<String>,
        /// `bytes` is an HTTP response message (status line, headers, body).
        http: bool,
        /// What `bytes` is, when not an HTTP message.
        content_type: Option<String>,
        /// The block.
        bytes: Vec<u8>,
    },
    /// A record already decoded by its reader.
    Document(Document),
    /// A record the reader itself refused (too long, truncated stream …).
    Refused(Rejection),
}

/// Field names of JSON records.
#[derive(Clone, Debug)]
pub struct Fields {
    /// Field holding the document id.
    pub id: String,
    /// Field holding the text.
    pub text: String,
    /// Field holding the URL, if any.
    pub url: String,
}

impl Payload {
    /// Bytes of the record as stored (0 for a refused one).
    pub fn stored_len(&self) -> u64 {
        match self {
            Payload::JsonLine(b) => b.len() as u64,
            Payload::Text { bytes, .. } | Payload::Web { bytes, .. } => bytes.len() as u64,
            Payload::Document(d) => d.text.len() as u64,
            Payload::Refused(_) => 0,
        }
    }
}

/// Most bytes a web page's body may decompress to.
const MAX_PAGE_BYTES: usize = 256 << 20;

impl Default for Fields {
    fn default() -> Self {
        Fields { id: "id".into(), text: "text".into(), url: "url".into() }
    }
}

/// Source of raw records.
pub trait CorpusReader: Send {
    /// The next record; `Ok(None)` at the end. A stream error that ends the
    /// file is returned as a [`Payload::Refused`] record, then `None`.
    fn next_record(&mut self) -> Result<Option<RawRecord>>;
    /// What the reader can do.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}

/// Decode a raw record into a document, or say why not.
pub fn decode(raw: RawRecord, fields: &Fields) -> std::result::Result<Document, Rejection> {
    let origin = raw.origin;
    let reject = |id: Option<String>, reason: String, origin: Origin| Rejection { origin, id, reason };
    match raw.payload {
        Payload::JsonLine(bytes) => match jsonl::parse_record(&bytes, fields) {
            Ok((id, text, url)) => match check_text(&text) {
                Ok(()) => Ok(Document { id, text, url, origin }),
                Err(reason) => Err(reject(Some(id), reason, origin)),
            },
            Err((id, reason)) => Err(reject(id, reason, origin)),
        },
        Payload::Web { id, url, http, content_type, bytes } => {
            match web::page_text(http, content_type.as_deref(), &bytes, MAX_PAGE_BYTES) {
                Ok(text) => match check_text(&text) {
                    Ok(()) => Ok(Document { id, text, url, origin }),
                    Err(reason) => Err(reject(Some(id), reason, origin)),
                },
                Err(reason) => Err(reject(Some(id), reason, origin)),
            }
        }
        Payload::Text { id, url, bytes } => match String::from_utf8(bytes) {
            Ok(text) => match check_text(&text) {
                Ok(()) => Ok(Document { id, text, url, origin }),
                Err(reason) => Err(reject(Some(id), reason, origin)),
            },
            Err(e) => Err(reject(
                Some(id),
                format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
                origin,
            )),
        },
        Payload::Document(doc) => match check_text(&doc.text) {
            Ok(()) => Ok(doc),
            Err(reason) => Err(reject(Some(doc.id), reason, doc.origin)),
        },
        Payload::Refused(r) => Err(r),
    }
}

/// Options of input discovery and reading.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// JSON field names.
    pub fields: Fields,
    /// Records longer than this are refused (and skipped, not buffered).
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { fields: Fields::default(), max_record_bytes: 256 << 20 }
    }
}

/// One input file and how to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// How it is read.
    pub kind: InputKind,
    /// The slice of it to read (`None`: all of it); see [`RecordRange`].
    pub range: Option<RecordRange>,
}

impl Input {
    /// All of the file `path`, read as `kind`.
    pub fn file(path: impl Into<PathBuf>, kind: InputKind) -> Input {
        Input { path: path.into(), kind, range: None }
    }
}

/// A slice of an uncompressed JSON Lines file, made by the planner: the
/// lines in bytes `start..end`, `start` being the first byte of a line. Its
/// first line is line `first_record` of the file, so origins (line numbers
/// and offsets) are those of a scan of the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordRange {
    /// First byte (the start of a line).
    pub start: u64,
    /// One past the last byte (the end of a line, or of the file).
    pub end: u64,
    /// 1-based number of the line at `start`.
    pub first_record: u64,
    /// Size of the whole file when it was planned: a file of another size
    /// has changed since, and the slice is refused.
    pub file_size: u64,
}

/// Kinds of input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// JSON Lines, possibly gzip- or zstd-compressed (detected by magic).
    Jsonl,
    /// A plain-text file that is one document.
    TextFile,
    /// Parquet (detected by magic).
    Parquet,
    /// WARC or WET, possibly gzip-compressed (detected by magic).
    Warc,
}

/// A file found under a directory that is not a corpus file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedFile {
    /// The file.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Expand the command line's paths into input files: files as given,
/// directories recursively in sorted order, glob patterns (`*`, `?`, `[`)
/// in sorted order (a missing path stays an input whose opening fails, so it
/// is reported). Returns the inputs and the files skipped (with reasons), so
/// that nothing is left out silently.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<SkippedFile>)> {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        let s = p.to_string_lossy();
        if s.starts_with("s3://") {
            #[cfg(feature = "s3")]
            object::discover(p, &mut inputs, &mut skipped)?;
            #[cfg(not(feature = "s3"))]
            return Err(ScanError::Input(format!(
                "{s}: s3:// inputs are not built in (build with the `s3` feature)"
            )));
        } else if !p.exists() && s.contains(['*', '?', '[']) {
            let bad = |reason: String| ScanError::Input(format!("{s}: {reason}"));
            let hidden = glob::MatchOptions { require_literal_leading_dot: true, ..Default::default() };
            let matches: Vec<PathBuf> = glob::glob_with(&s, hidden)
                .map_err(|e| bad(format!("bad glob pattern: {e}")))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if matches.is_empty() {
                return Err(bad("no file matches the pattern".into()));
            }
            for m in matches {
                add_path(&m, true, &mut inputs, &mut skipped)?;
            }
        } else {
            add_path(p, false, &mut inputs, &mut skipped)?;
        }
    }
    Ok((inputs, skipped))
}

fn add_path(p: &Path, matched: bool, inputs: &mut Vec<Input>, skipped: &mut Vec<SkippedFile>) -> Result<()> {
    // A path that cannot be read is kept as an input: opening it fails, and
    // that failure is reported as a rejected record, not lost.
    if p.is_dir() {
        walk_dir(p, inputs, skipped)
    } else {
        // A file named on the command line is read whatever its name; one
        // matched by a pattern, like one found in a directory, must look
        // like a corpus file.
        match classify(p) {
            Some(kind) => inputs.push(Input::file(p, kind)),
            None if !matched => inputs.push(Input::file(p, InputKind::Jsonl)),
            None => skipped.push(not_corpus(p)),
        }
        Ok(())
    }
}

fn not_corpus(path: &Path) -> SkippedFile {
    SkippedFile {
        path: path.display().to_string(),
        reason: "not a corpus file (expected .jsonl, .json, .ndjson, .parquet, .warc, .wet, .gz, .zst or .txt, or gzip, zstd, Parquet or WARC content)".into(),
    }
}

fn walk_dir(dir: &Path, inputs: &mut Vec<Input>, skipped: &mut Vec<SkippedFile>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .at(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .at(dir)?;
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk_dir(&path, inputs, skipped)?;
        } else if let Some(kind) = classify(&path) {
            inputs.push(Input::file(path, kind));
        } else {
            skipped.push(not_corpus(&path));
        }
    }
    Ok(())
}

/// What a file is: by its content first (magic bytes, through gzip or
/// zstd), then by its name. `None`: not recognisably a corpus file.
pub fn classify(path: &Path) -> Option<InputKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    match sniff(path) {
        Sniffed::Parquet => return Some(InputKind::Parquet),
        Sniffed::Warc => return Some(InputKind::Warc),
        Sniffed::Compressed => return Some(InputKind::Jsonl),
        Sniffed::Other => {}
    }
    if name.ends_with(".txt") {
        Some(InputKind::TextFile)
    } else if [".jsonl", ".json", ".ndjson", ".gz", ".zst", ".zstd"].iter().any(|e| name.ends_with(e)) {
        Some(InputKind::Jsonl)
    } else if [".parquet", ".warc", ".wet"].iter().any(|e| name.ends_with(e)) {
        // Named so but not so by content: read as JSON Lines, whose reader
        // says what is wrong with each line.
        Some(InputKind::Jsonl)
    } else {
        None
    }
}

enum Sniffed {
    Parquet,
    Warc,
    /// gzip or zstd of something else (JSON Lines).
    Compressed,
    Other,
}

fn sniff(path: &Path) -> Sniffed {
    #[cfg(feature = "s3")]
    if object::is_object(path) {
        // One ranged GET: enough for the magic and, through gzip or zstd,
        // for the first bytes of what they hold.
        let head = object::head_bytes(path, 64 << 10).unwrap_or_default();
        return sniff_bytes(&head, || {
            Ok(Box::new(std::io::Cursor::new(head.clone())) as Box<dyn Read + Send>)
        });
    }
    sniff_bytes(&[], || File::open(path).map(|f| Box::new(f) as Box<dyn Read + Send>).at(path))
}

/// Sniff `head`, or if it is empty the first bytes of `open()`.
fn sniff_bytes(head: &[u8], open: impl Fn() -> Result<Box<dyn Read + Send>>) -> Sniffed {
    let mut first = [0u8; 8];
    let head = if head.is_empty() {
        let n = open().and_then(|f| read_up_to(f, &mut first).map_err(ScanError::from_io)).unwrap_or(0);
        &first[..n]
    } else {
        &head[..head.len().min(8)]
    };
    if parquet_magic(head) {
        return Sniffed::Parquet;
    }
    if warc::is_warc(head) {
        return Sniffed::Warc;
    }
    if !is_compressed(head) {
        return Sniffed::Other;
    }
    let mut inner = [0u8; 8];
    let n = open()
        .and_then(|r| decompressed(r, Path::new("")))
        .map(|s| read_up_to(s, &mut inner).unwrap_or(0))
        .unwrap_or(0);
    if warc::is_warc(&inner[..n]) {
        Sniffed::Warc
    } else {
        Sniffed::Compressed
    }
}

pub(crate) fn read_up_to(mut r: impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn is_compressed(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

fn parquet_magic(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

/// Open `input` for reading.
pub fn open(input: &Input, opts: &ReadOptions) -> Result<Box<dyn CorpusReader>> {
    let file: Arc<str> = input.path.display().to_string().into();
    match input.kind {
        InputKind::TextFile => Ok(Box::new(TextFileReader { path: input.path.clone(), file, done: false })),
        InputKind::Jsonl => match input.range {
            None => {
                let stream = open_decompressed(&input.path)?;
                Ok(Box::new(JsonlReader::new(stream, file, opts.max_record_bytes)))
            }
            Some(r) => {
                let stream = open_range(&input.path, r)?;
                Ok(Box::new(JsonlReader::starting_at(stream, file, opts.max_record_bytes, r)))
            }
        },
        InputKind::Warc => {
            let stream = open_decompressed(&input.path)?;
            Ok(Box::new(WarcReader::new(stream, file, opts.max_record_bytes)))
        }
        #[cfg(feature = "parquet")]
        InputKind::Parquet => Ok(Box::new(ParquetReader::open(&input.path, file, &opts.fields)?)),
        #[cfg(not(feature = "parquet"))]
        InputKind::Parquet => Err(crate::ScanError::Input(format!(
            "{}: Parquet support is not built in (build with the `parquet` feature)",
            input.path.display()
        ))),
    }
}

/// Open a file or an object.
fn open_source(path: &Path) -> Result<Box<dyn Read + Send>> {
    #[cfg(feature = "s3")]
    if object::is_object(path) {
        return object::open(path);
    }
    Ok(Box::new(File::open(path).at(path)?))
}

/// Open a file (or object), transparently decompressing gzip or zstd (by
/// magic bytes).
pub fn open_decompressed(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    decompressed(open_source(path)?, path)
}

fn decompressed(f: Box<dyn Read + Send>, path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let mut buf = BufReader::with_capacity(1 << 20, f);
    let magic = buf.fill_buf().at(path)?;
    let stream: Box<dyn BufRead + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(buf)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let dec = zstd::stream::read::Decoder::with_buffer(buf).at(path)?;
        Box::new(BufReader::with_capacity(1 << 20, dec))
    } else {
        Box::new(buf)
    };
    Ok(stream)
}

/// Open bytes `r.start..r.end` of an uncompressed file.
fn open_range(path: &Path, r: RecordRange) -> Result<Box<dyn BufRead + Send>> {
    use std::io::{Seek, SeekFrom};
    #[cfg(feature = "s3")]
    if object::is_object(path) {
        let head = object::head_bytes(path, 4)?;
        if is_compressed(&head) {
            return Err(ScanError::Input(format!(
                "{}: a byte range of a compressed file cannot be read (the plan is stale: plan again)",
                path.display()
            )));
        }
        let len = object::size(path);
        if r.end > len || r.start > r.end {
            return Err(ScanError::Input(format!(
                "{}: range {}..{} is past the end of the object ({len} bytes; the plan is stale: plan again)",
                path.display(),
                r.start,
                r.end
            )));
        }
        return Ok(Box::new(BufReader::with_capacity(1 << 20, object::open_range(path, r.start, r.end)?)));
    }
    let mut f = File::open(path).at(path)?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head).at(path)?;
    if is_compressed(&head[..n]) {
        return Err(ScanError::Input(format!(
            "{}: a byte range of a compressed file cannot be read (the plan is stale: plan again)",
            path.display()
        )));
    }
    let len = f.metadata().at(path)?.len();
    let stale = |why: String| {
        ScanError::Input(format!(
            "{}: {why}: the file changed since it was planned; plan again",
            path.display()
        ))
    };
    if len != r.file_size || r.end > len || r.start > r.end {
        return Err(stale(format!("{len} bytes, planned at {} bytes", r.file_size)));
    }
    if r.start > 0 {
        let mut before = [0u8; 1];
        f.seek(SeekFrom::Start(r.start - 1)).at(path)?;
        f.read_exact(&mut before).at(path)?;
        if before[0] != b'\n' {
            return Err(stale(format!("byte {} does not start a line", r.start)));
        }
    }
    f.seek(SeekFrom::Start(r.start)).at(path)?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, f.take(r.end - r.start))))
}

/// A text file that is one document; its id is its path.
struct TextFileReader {
    path: PathBuf,
    file: Arc<str>,
    done: bool,
}

impl CorpusReader for TextFileReader {
    fn next_record(&mut self) -> Result<Option<RawRecord>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let origin = Origin { file: self.file.clone(), record: 1, offset: 0 };
        let mut bytes = Vec::new();
        let read = open_source(&self.path).and_then(|mut f| f.read_to_end(&mut bytes).at(&self.path));
        let payload = match read {
            Ok(_) => Payload::Text { id: self.file.to_string(), url: None, bytes },
            Err(e) => Payload::Refused(Rejection {
                origin: origin.clone(),
                id: Some(self.file.to_string()),
                reason: match e {
                    ScanError::Io { source, .. } => format!("cannot read: {source}"),
                    e => format!("cannot read: {e}"),
                },
            }),
        };
        Ok(Some(RawRecord { origin, payload }))
    }
}
