//! The catalog of works and the on-disk fingerprint index.
//!
//! - [`Catalog`] reads the manifest (JSON Lines, one work a line);
//!   [`extract`] turns each work's file (text, Markdown, HTML, EPUB, PDF)
//!   into the text that is indexed.
//! - [`build_index`] fingerprints every work ([`exlibris_text`]) and writes
//!   an index directory: three immutable components (works metadata, the
//!   fingerprint table, the compressed work texts), each framed with a
//!   versioned header and a checksummed footer ([`format`]), and a small
//!   `meta.json` naming them, published last by an atomic rename.
//! - [`Index::open`] memory-maps and verifies the components; a truncated,
//!   corrupt or foreign index is refused with the reason.
//!   [`Index::open_unverified`] leaves the checksums of the large
//!   components to a [`Verification`] that runs while the index is used
//!   (a scan waits for it before it publishes a result).
//!
//! ```no_run
//! use exlibris_index::{build_index, BuildOptions, Catalog, Index};
//! let catalog = Catalog::read("books/catalog.jsonl".as_ref())?;
//! build_index(&catalog, "books.exl".as_ref(), &BuildOptions::default(), &|_| {})?;
//! let index = Index::open("books.exl".as_ref())?;
//! for posting in index.fingerprints().lookup(0x1234) {
//!     println!("work {} token {}", index.works()[posting.work as usize].meta.title, posting.token);
//! }
//! # Ok::<(), exlibris_index::IndexError>(())
//! ```
#![deny(missing_docs)]

#[cfg(not(target_endian = "little"))]
compile_error!(
    "exlibris index files are little-endian and memory-mapped: big-endian targets are not supported"
);

mod build;
pub mod catalog;
mod error;
pub mod extract;
pub mod filter;
pub mod format;
pub mod fptable;
pub mod textstore;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use build::{build_index, BuildOptions, BuildStats};
pub use catalog::{Catalog, CatalogEntry, RejectedWork, WorkMeta};
pub use error::{IndexError, Result};
pub use filter::FingerprintFilter;
pub use fptable::{FpTable, Posting, TableFilter};
pub use textstore::{TextRegion, TextStore};

use exlibris_text::FingerprintSettings;
use format::Component;

/// Name of the index's meta file.
pub const META_FILE: &str = "meta.json";
/// `format` field of `meta.json`.
pub const FORMAT_NAME: &str = "exlibris-index";
/// Version of the index layout as a whole.
pub const FORMAT_VERSION: u32 = 2;
const WORKS_KIND: &[u8; 4] = b"WRKS";
const WORKS_VERSION: u32 = 1;

/// One indexed work: its catalog metadata and what was indexed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WorkRecord {
    /// Catalog metadata.
    #[serde(flatten)]
    pub meta: WorkMeta,
    /// Which extractor made the text ([`extract::Extracted::format`]: `text`,
    /// `markdown`, `html`, `epub`, `pdf:pdftotext`).
    pub format: String,
    /// Bytes of the extracted text (work offsets refer to it).
    pub bytes: u64,
    /// Words of the text.
    pub tokens: u64,
    /// Fingerprints selected in it (before filtering).
    pub fingerprints: u64,
    /// xxh3-64 of the text, hex.
    pub checksum: String,
}

/// A component file named by `meta.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ComponentRef {
    /// File name inside the index directory.
    pub file: String,
    /// Component format version.
    pub version: u32,
    /// File size.
    pub bytes: u64,
    /// Body checksum, hex.
    pub checksum: String,
}

/// The components of an index.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Components {
    /// Works metadata (JSON body).
    pub works: ComponentRef,
    /// Fingerprint table.
    pub fingerprints: ComponentRef,
    /// Compressed texts.
    pub texts: ComponentRef,
    /// Membership filter of the fingerprints.
    pub filter: ComponentRef,
}

/// `meta.json`: what the index is and how it was made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IndexMeta {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Layout version, [`FORMAT_VERSION`].
    pub version: u32,
    /// Identity of this index (a hash of its components and settings):
    /// results record it, and merging refuses results of another index.
    pub index_id: String,
    /// Version of exlibris that wrote it.
    pub exlibris_version: String,
    /// Seconds since the Unix epoch at build.
    pub created_unix: u64,
    /// The catalog manifest it was built from.
    pub catalog: String,
    /// Fingerprinting parameters.
    pub fingerprint: FingerprintSettings,
    /// Fingerprint filter.
    pub filter: TableFilter,
    /// Component files.
    pub components: Components,
    /// Works indexed.
    pub works: u64,
    /// Bytes of text indexed.
    pub bytes: u64,
    /// Words indexed.
    pub tokens: u64,
    /// Postings in the fingerprint table.
    pub postings: u64,
    /// Catalog lines that were not indexed, with reasons.
    pub rejected: Vec<RejectedWork>,
}

/// An open index.
pub struct Index {
    dir: PathBuf,
    meta: IndexMeta,
    works: Vec<WorkRecord>,
    fp: Component,
    fp_path: PathBuf,
    text: Component,
    text_path: PathBuf,
    filter: FingerprintFilter,
}

/// The checksums of an index's large components, not verified yet
/// ([`Index::open_unverified`]).
pub struct PendingChecks(Vec<format::PendingCheck>);

impl PendingChecks {
    /// Verify them, one after another.
    pub fn run(self) -> Result<()> {
        self.0.iter().try_for_each(format::PendingCheck::run)
    }

    /// Verify them on a thread of their own (if none can be started,
    /// waiting for it fails).
    pub fn spawn(self) -> Verification {
        let state = match std::thread::Builder::new().name("exlibris-verify".into()).spawn(move || self.run())
        {
            Ok(thread) => Checking::Running(thread),
            Err(e) => Checking::Done(Some(format!("cannot start the index verification: {e}"))),
        };
        Verification(std::sync::Mutex::new(state))
    }
}

/// The checksums of an index being verified in the background
/// ([`PendingChecks::spawn`]).
pub struct Verification(std::sync::Mutex<Checking>);

enum Checking {
    Running(std::thread::JoinHandle<Result<()>>),
    /// Ended: the error, if any, as a message.
    Done(Option<String>),
}

impl Verification {
    /// Wait for the verification to end: `Ok` when every checksum matched.
    /// Later calls return at once, with the same outcome.
    pub fn wait(&self) -> Result<()> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match std::mem::replace(&mut *state, Checking::Done(None)) {
            Checking::Running(thread) => {
                let outcome = thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                *state = Checking::Done(outcome.as_ref().err().map(ToString::to_string));
                outcome
            }
            Checking::Done(failed) => {
                *state = Checking::Done(failed.clone());
                failed.map_or(Ok(()), |e| Err(IndexError::Invalid(e)))
            }
        }
    }
}

impl Index {
    /// Open and verify the index in `dir`.
    pub fn open(dir: &Path) -> Result<Index> {
        Self::open_with(dir, false).map(|(index, _)| index)
    }

    /// Open the index in `dir`, checking everything but the checksums of
    /// its large components (table, texts, filter: a read of the whole
    /// index), which the caller runs, on another thread if it likes, and
    /// waits for before it publishes anything derived from the index.
    /// Until then a corrupt component can give wrong answers or errors, not
    /// memory errors: every structure was checked and reads are bounds
    /// checked.
    pub fn open_unverified(dir: &Path) -> Result<(Index, PendingChecks)> {
        Self::open_with(dir, true)
    }

    fn open_with(dir: &Path, defer: bool) -> Result<(Index, PendingChecks)> {
        let meta_path = dir.join(META_FILE);
        if !dir.is_dir() {
            return Err(IndexError::Invalid(format!("{}: no such index directory", dir.display())));
        }
        let raw = match std::fs::read(&meta_path) {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IndexError::Invalid(format!(
                    "{}: not an exlibris index (no {META_FILE}; an interrupted build leaves none)",
                    dir.display()
                )))
            }
            Err(source) => return Err(IndexError::Io { path: meta_path, source }),
        };
        let value: serde_json::Value = serde_json::from_slice(&raw)
            .map_err(|e| IndexError::Corrupt { path: meta_path.clone(), reason: e.to_string() })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(IndexError::Corrupt {
                path: meta_path,
                reason: "not an exlibris index meta file".into(),
            });
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        if version != FORMAT_VERSION {
            return Err(IndexError::Version { path: meta_path, found: version, supported: FORMAT_VERSION });
        }
        let meta: IndexMeta = serde_json::from_value(value)
            .map_err(|e| IndexError::Corrupt { path: meta_path.clone(), reason: e.to_string() })?;
        let normalizer = meta.fingerprint.normalizer;
        if normalizer != exlibris_text::NORMALIZER_VERSION {
            // Other rules hash words differently: such an index would match nothing.
            return Err(IndexError::Invalid(format!(
                "{}: index built with normalisation rules version {normalizer}, this build uses version {}; rebuild the index with `exlibris index`",
                dir.display(),
                exlibris_text::NORMALIZER_VERSION
            )));
        }
        let mut pending = Vec::new();
        let mut open =
            |c: &ComponentRef, kind: &[u8; 4], version: u32, large: bool| -> Result<(Component, PathBuf)> {
                let path = dir.join(&c.file);
                let (comp, check) = Component::map(&path, kind, version)?;
                match defer && large {
                    true => pending.push(check),
                    false => check.run()?,
                }
                if format!("{:016x}", comp.checksum) != c.checksum {
                    return Err(IndexError::Corrupt {
                        path,
                        reason: format!(
                            "checksum {:016x} differs from {} in {META_FILE}",
                            comp.checksum, c.checksum
                        ),
                    });
                }
                Ok((comp, path))
            };
        // The works are small and parsed now: always verified first.
        let (works_c, works_path) = open(&meta.components.works, WORKS_KIND, WORKS_VERSION, false)?;
        let works: Vec<WorkRecord> = serde_json::from_slice(works_c.body())
            .map_err(|e| IndexError::Corrupt { path: works_path, reason: e.to_string() })?;
        let (fp, fp_path) = open(&meta.components.fingerprints, fptable::KIND, fptable::VERSION, true)?;
        let (text, text_path) = open(&meta.components.texts, textstore::KIND, textstore::VERSION, true)?;
        let (filter_c, filter_path) = open(&meta.components.filter, filter::KIND, filter::VERSION, true)?;
        let filter = FingerprintFilter::new(filter_c.body(), &filter_path)?;
        drop(filter_c);
        let index = Index { dir: dir.to_path_buf(), meta, works, fp, fp_path, text, text_path, filter };
        // Interpret once now, so that a malformed table fails at open.
        index.try_fingerprints()?;
        index.try_texts()?;
        Ok((index, PendingChecks(pending)))
    }

    fn try_fingerprints(&self) -> Result<FpTable<'_>> {
        FpTable::new(self.fp.body(), &self.fp_path)
    }

    fn try_texts(&self) -> Result<TextStore<'_>> {
        TextStore::new(self.text.body(), &self.text_path)
    }

    /// The fingerprint table (constant time: checked at open).
    pub fn fingerprints(&self) -> FpTable<'_> {
        FpTable::trusted(self.fp.body(), &self.fp_path)
    }

    /// The membership filter in front of the table.
    pub fn filter(&self) -> &FingerprintFilter {
        &self.filter
    }

    /// The text store.
    pub fn texts(&self) -> TextStore<'_> {
        TextStore::trusted(self.text.body(), &self.text_path)
    }

    /// Works, by index.
    pub fn works(&self) -> &[WorkRecord] {
        &self.works
    }

    /// `meta.json`.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// Fingerprinting parameters.
    pub fn settings(&self) -> &FingerprintSettings {
        &self.meta.fingerprint
    }

    /// Directory of the index.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Start loading `r` into the cache (a hint; no effect where the target has
/// no prefetch instruction).
#[inline]
pub(crate) fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, and the address is that of a live
    // reference; SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

#[cfg(test)]
mod tests;
