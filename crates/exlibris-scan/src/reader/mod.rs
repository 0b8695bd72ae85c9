//! Corpus readers: one trait for every format.
//!
//! A [`CorpusReader`] yields [`RawRecord`]s in order. Decoding a record (JSON
//! parsing, UTF-8 validation, field extraction) is left to [`decode`], which
//! the scanner runs on worker threads: the reading thread only splits the
//! stream.
//!
//! Formats are detected by content, not by name: gzip and zstd by their
//! magic bytes (multi-member gzip and concatenated zstd frames included),
//! then JSON Lines; `.txt` files are one document each.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::document::{check_text, Document, Origin, Rejection};
use crate::error::{IoContext, Result};

mod jsonl;

pub use jsonl::{JsonlReader, LineReader};

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
    /// A whole file that is one document.
    Text {
        /// Document id.
        id: String,
        /// Its bytes.
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
        Payload::Text { id, bytes } => match String::from_utf8(bytes) {
            Ok(text) => match check_text(&text) {
                Ok(()) => Ok(Document { id, text, url: None, origin }),
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
}

/// Kinds of input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// JSON Lines, possibly gzip- or zstd-compressed (detected by magic).
    Jsonl,
    /// A plain-text file that is one document.
    TextFile,
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
/// directories recursively in sorted order (a missing path stays an input
/// whose opening fails, so it is reported). Returns the inputs and the files
/// skipped (with reasons), so that nothing is left out silently.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<SkippedFile>)> {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        // A path that cannot be read is kept as an input: opening it fails,
        // and that failure is reported as a rejected record, not lost.
        if p.is_dir() {
            walk_dir(p, &mut inputs, &mut skipped)?;
        } else {
            let kind = classify(p).unwrap_or(InputKind::Jsonl);
            inputs.push(Input { path: p.clone(), kind });
        }
    }
    Ok((inputs, skipped))
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
            inputs.push(Input { path, kind });
        } else {
            skipped.push(SkippedFile {
                path: path.display().to_string(),
                reason: "not a corpus file (expected .jsonl, .json, .ndjson, .gz, .zst or .txt)".into(),
            });
        }
    }
    Ok(())
}

fn classify(path: &Path) -> Option<InputKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".txt") {
        Some(InputKind::TextFile)
    } else if [".jsonl", ".json", ".ndjson", ".gz", ".zst", ".zstd"].iter().any(|e| name.ends_with(e)) {
        Some(InputKind::Jsonl)
    } else {
        None
    }
}

/// Open `input` for reading.
pub fn open(input: &Input, opts: &ReadOptions) -> Result<Box<dyn CorpusReader>> {
    let file: Arc<str> = input.path.display().to_string().into();
    match input.kind {
        InputKind::TextFile => Ok(Box::new(TextFileReader { path: input.path.clone(), file, done: false })),
        InputKind::Jsonl => {
            let stream = open_decompressed(&input.path)?;
            Ok(Box::new(JsonlReader::new(stream, file, opts.max_record_bytes)))
        }
    }
}

/// Open a file, transparently decompressing gzip or zstd (by magic bytes).
pub fn open_decompressed(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let f = File::open(path).at(path)?;
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
        let payload = match File::open(&self.path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => Payload::Text { id: self.file.to_string(), bytes },
            Err(e) => Payload::Refused(Rejection {
                origin: origin.clone(),
                id: Some(self.file.to_string()),
                reason: format!("cannot read: {e}"),
            }),
        };
        Ok(Some(RawRecord { origin, payload }))
    }
}
