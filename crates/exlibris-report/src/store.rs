//! The findings store: scan results in an embedded SQLite database,
//! `results/exlibris.db`, which `report --html` and `serve` read.
//!
//! # Schema (version [`SCHEMA_VERSION`], kept in `PRAGMA user_version`)
//!
//! ```text
//! meta(key PRIMARY KEY, value)          schema_version, index_id, started_unix,
//!                                       run (JSON RunInfo), stats (JSON ScanStats)
//! works(idx PRIMARY KEY, work_id UNIQUE, title, author, year, rights, isbn,
//!       bytes, coverage, covered_bytes, documents, findings,
//!       ranges (JSON [[start,end]…]), strip (JSON: documents per 1/STRIP_CELLS of the work))
//! sources(id PRIMARY KEY, path UNIQUE)  input files
//! documents(id PRIMARY KEY, doc_id, source_id → sources, record, offset, url, domain,
//!           bytes, findings, finding_bytes)  only documents with findings
//! findings(id PRIMARY KEY, document → documents, work_idx → works, doc_start, doc_end,
//!          work_start, work_end, words, score, doc_text, work_text)
//! work_sources(work_idx, source_id, documents, findings, covered_bytes)
//! indexes: findings(work_idx, work_start), findings(document), documents(doc_id),
//!          documents(domain), works(title), works(author), works(isbn) (NOCASE)
//! ```
//!
//! `doc_text` and `work_text` are the evidence: the findings' excerpts, the
//! start of the matched text of each side, up to [`EVIDENCE_BYTES`] (the
//! document's text is not kept anywhere else, so this is what the evidence
//! view shows). That bounds the store to about 4.3 KB per finding.
//!
//! [`StoreWriter::build`] writes the store from a published results
//! directory (so it is the same after a resumed scan or a merge) into
//! `exlibris.db.tmp` inside transactions, and renames it into place; a scan
//! writes the same store while it runs ([`StoreFeed`]). The store records the run
//! it belongs to and [`Store::open_for`] refuses a store of another run.
//! A store of an older schema is migrated on open ([`MIGRATIONS`]); one of a
//! newer schema, or a file that is not a store, is refused with the reason.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use exlibris_index::{Index, TextRegion};
use exlibris_scan::{Document, Finding, FindingRecord, Results, Sink};
use exlibris_text::{truncate_at_char, Span};

/// File name of the store in a results directory.
pub const DB: &str = "exlibris.db";
/// Schema version written by this build.
pub const SCHEMA_VERSION: i64 = 1;
/// Bytes of each side of a finding kept as evidence.
pub const EVIDENCE_BYTES: usize = exlibris_scan::matcher::EXCERPT_BYTES;
/// Cells of the stored coverage strips.
pub const STRIP_CELLS: usize = 100;
/// Findings written per transaction.
const BATCH: u64 = 20_000;

/// Migrations: entry `i` takes a store from schema `i + 1` to `i + 2`.
/// Schema 1 is the first, so there is nothing to migrate yet; the open path
/// runs them in one transaction when there are.
pub const MIGRATIONS: &[&str] = &[];

const SCHEMA: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE works(idx INTEGER PRIMARY KEY, work_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
  author TEXT NOT NULL, year INTEGER, rights TEXT, isbn TEXT, bytes INTEGER NOT NULL,
  coverage REAL NOT NULL, covered_bytes INTEGER NOT NULL, documents INTEGER NOT NULL,
  findings INTEGER NOT NULL, ranges TEXT NOT NULL, strip TEXT NOT NULL);
CREATE TABLE sources(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE documents(id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, source_id INTEGER NOT NULL
  REFERENCES sources(id), record INTEGER NOT NULL, offset INTEGER NOT NULL, url TEXT, domain TEXT,
  bytes INTEGER NOT NULL, findings INTEGER NOT NULL, finding_bytes INTEGER NOT NULL);
CREATE TABLE findings(id INTEGER PRIMARY KEY, document INTEGER NOT NULL REFERENCES documents(id),
  work_idx INTEGER NOT NULL, doc_start INTEGER NOT NULL, doc_end INTEGER NOT NULL,
  work_start INTEGER NOT NULL, work_end INTEGER NOT NULL, words INTEGER NOT NULL, score REAL NOT NULL,
  doc_text TEXT NOT NULL, work_text TEXT NOT NULL);
CREATE TABLE work_sources(work_idx INTEGER NOT NULL, source_id INTEGER NOT NULL, documents INTEGER NOT NULL,
  findings INTEGER NOT NULL, covered_bytes INTEGER NOT NULL, PRIMARY KEY(work_idx, source_id));
";

const INDEXES: &str = "
CREATE INDEX findings_work ON findings(work_idx, work_start);
CREATE INDEX findings_document ON findings(document);
CREATE INDEX documents_doc_id ON documents(doc_id);
CREATE INDEX documents_domain ON documents(domain);
CREATE INDEX works_title ON works(title COLLATE NOCASE);
CREATE INDEX works_author ON works(author COLLATE NOCASE);
CREATE INDEX works_isbn ON works(isbn COLLATE NOCASE);
";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed on the named file.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The file is not a store this build can read, or of another run.
    #[error("{path}: {reason}")]
    Refused {
        /// The database.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

trait At<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> At<T> for rusqlite::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite { path: path.to_path_buf(), source })
    }
}

/// The host of a URL, lower-cased, without `www.`: the "domain" of a source.
pub fn url_domain(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_string).unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// The matched work text of `f`, cut at `max` bytes (`region` is scratch).
/// Falls back to the finding's excerpt if the text cannot be read.
pub fn work_evidence(index: &Index, f: &Finding, max: usize, region: &mut TextRegion) -> String {
    // Enough tokens for the evidence, not the whole finding.
    let until = f.work_token_end.min(f.work_token.saturating_add(max as u32 / 2));
    if index.texts().region(f.work, f.work_token, until, region).is_err() {
        return f.work_excerpt.clone();
    }
    let s = f.work_start.saturating_sub(region.first_byte) as usize;
    let e = (f.work_end.saturating_sub(region.first_byte) as usize).min(region.text.len());
    match region.text.get(s..e) {
        Some(t) => truncate_at_char(t, max).to_string(),
        None => f.work_excerpt.clone(),
    }
}

/// A document row as inserted.
struct DocRow<'a> {
    doc_id: &'a str,
    source: &'a str,
    record: u64,
    offset: u64,
    url: Option<&'a str>,
    bytes: u64,
}

/// Builds the store while a scan runs, on a thread of its own: as one of
/// the scan's sinks it hands each document's finding records (the records
/// its results get, in the same order) to that thread, and
/// [`StoreFeed::finish`] completes the store
/// from the published results. The store is the one [`StoreWriter::build`]
/// writes from those results (a test compares them), without reading
/// `findings.jsonl` back after the scan.
///
/// Only for a scan that writes all its results' parts: one that keeps
/// parts of an earlier run builds its store from the results.
pub struct StoreFeed {
    tx: Option<SyncSender<Vec<FindingRecord>>>,
    thread: Option<JoinHandle<Result<StoreWriter>>>,
    /// The input of the last document: inputs must come in order.
    input: usize,
}

impl StoreFeed {
    /// Documents queued for the store's thread before the sink waits.
    const QUEUE: usize = 256;

    /// Start the store of results directory `dir` (which must exist), for
    /// findings of works of `index`.
    pub fn start(dir: &Path, index: &Index) -> Result<Self> {
        let mut w = StoreWriter::create(dir)?;
        let ids: Vec<(String, u64)> = index.works().iter().map(|w| (w.meta.id.clone(), w.bytes)).collect();
        let (tx, rx) = sync_channel::<Vec<FindingRecord>>(Self::QUEUE);
        let thread = std::thread::Builder::new()
            .name("exlibris-store".into())
            .spawn(move || {
                let works: HashMap<&str, (u32, u64)> =
                    ids.iter().enumerate().map(|(i, (w, b))| (w.as_str(), (i as u32, *b))).collect();
                for recs in rx {
                    w.add_records(&recs, &works)?;
                }
                Ok(w)
            })
            .map_err(|source| StoreError::Io { path: dir.join(DB), source })?;
        Ok(StoreFeed { tx: Some(tx), thread: Some(thread), input: 0 })
    }

    /// Complete the store from the published results of the scan that fed
    /// it, and rename it into place.
    pub fn finish(mut self, results: &Results) -> Result<PathBuf> {
        self.join()?.finish(results)
    }

    fn join(&mut self) -> Result<StoreWriter> {
        self.tx = None;
        let thread = self.thread.take().expect("joined once");
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// The feed is one of the scan's sinks, beside the results' own: it gets
/// the same documents in the same order. It must be given a scan with one
/// reader (`ScanOptions::readers_for` is 1), whose documents come in input
/// order, the order of the published findings the store is completed from.
impl Sink for StoreFeed {
    /// Fails only when documents come out of input order (a scan with
    /// several readers); if the store's thread stopped on an error,
    /// [`StoreFeed::finish`] returns it.
    fn document(
        &mut self,
        input: usize,
        doc: &Document,
        findings: &[Finding],
        index: &Index,
    ) -> exlibris_scan::Result<bool> {
        if input < self.input {
            return Err(exlibris_scan::ScanError::Input(format!(
                "the store's feed needs inputs in order: a document of input {input} after input {} (scan with one reader)",
                self.input
            )));
        }
        self.input = input;
        if let (false, Some(tx)) = (findings.is_empty(), &self.tx) {
            let records = findings.iter().map(|f| FindingRecord::new(doc, f, index)).collect();
            if tx.send(records).is_err() {
                self.tx = None; // the thread ended: its error comes out of finish
            }
        }
        Ok(true)
    }
}

impl Drop for StoreFeed {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // An abandoned scan: stop the thread and remove its temporary
            // file (never renamed into place, it is never taken for a store).
            if let Ok(w) = self.join() {
                let tmp = w.tmp.clone();
                drop(w);
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// Writes the store of a published results directory ([`StoreWriter::build`]).
pub struct StoreWriter {
    conn: Connection,
    tmp: PathBuf,
    path: PathBuf,
    sources: HashMap<String, i64>,
    in_batch: u64,
    /// Documents per strip cell of each work with findings.
    strips: HashMap<u32, Vec<u32>>,
}

impl StoreWriter {
    /// Start a store in results directory `dir` (which must exist).
    pub fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(DB);
        let tmp = dir.join(format!("{DB}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let conn = Connection::open(&tmp).at(&tmp)?;
        // A temporary file renamed into place when complete: durability of
        // each transaction buys nothing, speed does.
        conn.execute_batch("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;").at(&tmp)?;
        conn.execute_batch(SCHEMA).at(&tmp)?;
        conn.execute_batch("BEGIN").at(&tmp)?;
        Ok(StoreWriter { conn, tmp, path, sources: HashMap::new(), in_batch: 0, strips: HashMap::new() })
    }

    fn source_id(&mut self, path: &str) -> Result<i64> {
        if let Some(&id) = self.sources.get(path) {
            return Ok(id);
        }
        self.conn.execute("INSERT OR IGNORE INTO sources(path) VALUES (?1)", [path]).at(&self.tmp)?;
        let id = self
            .conn
            .query_row("SELECT id FROM sources WHERE path = ?1", [path], |r| r.get(0))
            .at(&self.tmp)?;
        self.sources.insert(path.to_string(), id);
        Ok(id)
    }

    /// One document row; returns its id.
    fn insert_document(
        &mut self,
        d: &DocRow<'_>,
        findings: usize,
        spans: impl Iterator<Item = Span>,
    ) -> Result<i64> {
        let source = self.source_id(d.source)?;
        let domain = d.url.and_then(url_domain);
        let finding_bytes: u64 = exlibris_text::union_spans(spans.collect()).iter().map(|s| s.len()).sum();
        self.conn
            .prepare_cached(
                "INSERT INTO documents(doc_id, source_id, record, offset, url, domain, bytes, findings, finding_bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    d.doc_id,
                    source,
                    d.record as i64,
                    d.offset as i64,
                    d.url,
                    domain,
                    d.bytes as i64,
                    findings as i64,
                    finding_bytes as i64
                ])
            })
            .at(&self.tmp)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// One finding row: `spans` are doc start, doc end, work start, work end.
    #[allow(clippy::too_many_arguments)]
    fn insert_finding(
        &mut self,
        document: i64,
        work: u32,
        spans: [u64; 4],
        words: u32,
        score: f64,
        doc_text: &str,
        work_text: &str,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO findings(document, work_idx, doc_start, doc_end, work_start, work_end,
                 words, score, doc_text, work_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    document,
                    work,
                    spans[0] as i64,
                    spans[1] as i64,
                    spans[2] as i64,
                    spans[3] as i64,
                    words,
                    score,
                    doc_text,
                    work_text
                ])
            })
            .at(&self.tmp)?;
        Ok(())
    }

    /// Commit every [`BATCH`] findings.
    fn batch(&mut self, added: usize) -> Result<()> {
        self.in_batch += added as u64;
        if self.in_batch >= BATCH {
            self.conn.execute_batch("COMMIT; BEGIN").at(&self.tmp)?;
            self.in_batch = 0;
        }
        Ok(())
    }

    /// Build the store of a published results directory from its files:
    /// the findings with their excerpts as evidence. Being derived from the
    /// published results, the store is the same after a resumed scan or a
    /// merge as after one uninterrupted scan.
    pub fn build(results: &Results) -> Result<PathBuf> {
        let mut w = StoreWriter::create(&results.dir)?;
        let works: HashMap<&str, (u32, u64)> = results
            .works
            .works
            .iter()
            .enumerate()
            .map(|(i, w)| (w.work_id.as_str(), (i as u32, w.bytes)))
            .collect();
        let refused = |e: exlibris_scan::ScanError| StoreError::Refused {
            path: results.dir.clone(),
            reason: e.to_string(),
        };
        let mut group: Vec<FindingRecord> = Vec::new();
        for rec in results.findings().map_err(refused)? {
            let rec = rec.map_err(refused)?;
            if group
                .last()
                .is_some_and(|g| (&g.doc_id, &g.source, g.record) != (&rec.doc_id, &rec.source, rec.record))
            {
                w.add_records(&group, &works)?;
                group.clear();
            }
            group.push(rec);
        }
        if !group.is_empty() {
            w.add_records(&group, &works)?;
        }
        w.finish(results)
    }

    /// The findings of one document (`works`: index and bytes of each work
    /// by id), and the strip cells of each work they cover.
    fn add_records(&mut self, recs: &[FindingRecord], works: &HashMap<&str, (u32, u64)>) -> Result<()> {
        let first = &recs[0];
        let row = DocRow {
            doc_id: &first.doc_id,
            source: &first.source,
            record: first.record,
            offset: first.offset,
            url: first.url.as_deref(),
            // The document's length is not in the findings: the end of its
            // last finding is what is known.
            bytes: recs.iter().map(|f| f.doc_end).max().unwrap_or(0),
        };
        let document = self.insert_document(
            &row,
            recs.len(),
            recs.iter().map(|f| Span { start: f.doc_start, end: f.doc_end }),
        )?;
        let mut covered: Vec<(u32, u64, Vec<Span>)> = Vec::new();
        for f in recs {
            let Some(&(work, bytes)) = works.get(f.work_id.as_str()) else {
                return Err(StoreError::Refused {
                    path: self.tmp.clone(),
                    reason: format!("finding of unknown work {:?}", f.work_id),
                });
            };
            let spans = [f.doc_start, f.doc_end, f.work_start, f.work_end];
            self.insert_finding(document, work, spans, f.words, f.score, &f.doc_excerpt, &f.work_excerpt)?;
            let span = Span { start: f.work_start, end: f.work_end };
            match covered.iter_mut().find(|c| c.0 == work) {
                Some(c) => c.2.push(span),
                None => covered.push((work, bytes, vec![span])),
            }
        }
        // A strip cell counts the documents that cover part of it.
        for (work, bytes, spans) in covered {
            let counts = self.strips.entry(work).or_insert_with(|| vec![0; STRIP_CELLS]);
            let cells = crate::strip(&exlibris_text::union_spans(spans), bytes, STRIP_CELLS);
            for (count, v) in counts.iter_mut().zip(cells) {
                *count += (v > 0.0) as u32;
            }
        }
        self.batch(recs.len())
    }

    /// Complete the store from the published results (`stats.json` and
    /// `works.json` of the same run) and rename it into place.
    pub fn finish(mut self, results: &Results) -> Result<PathBuf> {
        let t = self.tmp.clone();
        for (i, w) in results.works.works.iter().enumerate() {
            let ranges: Vec<[u64; 2]> = w.ranges.iter().map(|s| [s.start, s.end]).collect();
            self.conn
                .execute(
                    "INSERT INTO works(idx, work_id, title, author, year, rights, isbn, bytes, coverage,
                     covered_bytes, documents, findings, ranges, strip)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '[]')",
                    params![
                        i as i64,
                        w.work_id,
                        w.title,
                        w.author,
                        w.year,
                        w.rights,
                        w.isbn,
                        w.bytes as i64,
                        w.coverage,
                        w.covered_bytes as i64,
                        w.documents as i64,
                        w.findings as i64,
                        serde_json::to_string(&ranges).expect("ranges serialise"),
                    ],
                )
                .at(&t)?;
            for s in &w.sources {
                let sid = self.source_id(&s.source)?;
                self.conn
                    .execute(
                        "INSERT INTO work_sources VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![i as i64, sid, s.documents as i64, s.findings as i64, s.covered_bytes as i64],
                    )
                    .at(&t)?;
            }
        }
        self.conn.execute_batch(INDEXES).at(&t)?;
        self.write_strips()?;
        let run = &results.stats.run;
        let meta: [(&str, String); 5] = [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("index_id", run.index_id.clone()),
            ("started_unix", run.started_unix.to_string()),
            ("run", serde_json::to_string(run).expect("run serialises")),
            ("stats", serde_json::to_string(&results.stats.stats).expect("stats serialise")),
        ];
        for (k, v) in meta {
            self.conn.execute("INSERT INTO meta VALUES (?1, ?2)", [k, &v]).at(&t)?;
        }
        self.conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")).at(&t)?;
        self.conn.close().map_err(|(_, e)| e).at(&t)?;
        std::fs::rename(&t, &self.path)
            .map_err(|source| StoreError::Io { path: self.path.clone(), source })?;
        Ok(self.path)
    }

    /// The strips counted as the findings were added.
    fn write_strips(&mut self) -> Result<()> {
        let t = self.tmp.clone();
        let mut st = self.conn.prepare("UPDATE works SET strip = ?2 WHERE idx = ?1").at(&t)?;
        for (w, c) in &self.strips {
            st.execute(params![w, serde_json::to_string(c).expect("strip serialises")]).at(&t)?;
        }
        Ok(())
    }
}

/// A work as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkRow {
    /// Index of the work in the index.
    pub idx: u32,
    /// Catalog id.
    pub work_id: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Year.
    pub year: Option<i64>,
    /// Rights.
    pub rights: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// Bytes of the work's text.
    pub bytes: u64,
    /// Covered share.
    pub coverage: f64,
    /// Covered bytes.
    pub covered_bytes: u64,
    /// Documents with findings of it.
    pub documents: u64,
    /// Findings of it.
    pub findings: u64,
    /// Documents per 1/[`STRIP_CELLS`] of the work.
    pub strip: Vec<u32>,
}

/// A finding as stored, with where its document came from and its evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRow {
    /// Finding id in the store.
    pub id: i64,
    /// Index of the work.
    pub work_idx: u32,
    /// Document id.
    pub doc_id: String,
    /// Input file.
    pub source: String,
    /// Record in the file.
    pub record: u64,
    /// Byte offset of the record in the file.
    pub offset: u64,
    /// URL of the document.
    pub url: Option<String>,
    /// Document span.
    pub doc_start: u64,
    /// End of the document span.
    pub doc_end: u64,
    /// Work span.
    pub work_start: u64,
    /// End of the work span.
    pub work_end: u64,
    /// Words matched.
    pub words: u32,
    /// Score (1.0: exact copy).
    pub score: f64,
    /// The document's side, cut at [`EVIDENCE_BYTES`].
    pub doc_text: String,
    /// The work's side, cut at [`EVIDENCE_BYTES`].
    pub work_text: String,
}

/// Findings, documents and covered bytes of one source or domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceRow {
    /// Input file or URL domain.
    pub name: String,
    /// Documents with findings.
    pub documents: u64,
    /// Findings.
    pub findings: u64,
    /// Document bytes inside findings.
    pub bytes_in_findings: u64,
    /// Works found (by input file only: per domain it would cost a pass over every finding).
    pub works: Option<u64>,
}

/// A store opened for reading.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const WORK_COLS: &str =
    "idx, work_id, title, author, year, rights, isbn, bytes, coverage, covered_bytes, documents, findings, strip";
const FINDING_COLS: &str =
    "f.id, f.work_idx, d.doc_id, s.path, d.record, d.offset, d.url, f.doc_start, f.doc_end,
     f.work_start, f.work_end, f.words, f.score, f.doc_text, f.work_text";
const FINDING_FROM: &str =
    "findings f JOIN documents d ON d.id = f.document JOIN sources s ON s.id = d.source_id";

fn work_row(r: &rusqlite::Row) -> rusqlite::Result<WorkRow> {
    let strip: String = r.get(12)?;
    Ok(WorkRow {
        idx: r.get(0)?,
        work_id: r.get(1)?,
        title: r.get(2)?,
        author: r.get(3)?,
        year: r.get(4)?,
        rights: r.get(5)?,
        isbn: r.get(6)?,
        bytes: r.get::<_, i64>(7)? as u64,
        coverage: r.get(8)?,
        covered_bytes: r.get::<_, i64>(9)? as u64,
        documents: r.get::<_, i64>(10)? as u64,
        findings: r.get::<_, i64>(11)? as u64,
        strip: serde_json::from_str(&strip).unwrap_or_default(),
    })
}

fn finding_row(r: &rusqlite::Row) -> rusqlite::Result<FindingRow> {
    let u = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
    Ok(FindingRow {
        id: r.get(0)?,
        work_idx: r.get(1)?,
        doc_id: r.get(2)?,
        source: r.get(3)?,
        record: u(4)?,
        offset: u(5)?,
        url: r.get(6)?,
        doc_start: u(7)?,
        doc_end: u(8)?,
        work_start: u(9)?,
        work_end: u(10)?,
        words: r.get(11)?,
        score: r.get(12)?,
        doc_text: r.get(13)?,
        work_text: r.get(14)?,
    })
}

impl Store {
    /// Open the store of results directory `dir`, migrating an older
    /// schema; refuse a newer one or a foreign file.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = dir.join(DB);
        if !path.exists() {
            return Err(StoreError::Refused {
                path,
                reason: "no findings store: rerun `exlibris scan` with this version to create it".into(),
            });
        }
        let refuse = |reason: String| StoreError::Refused { path: path.clone(), reason };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .at(&path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| refuse(format!("not a SQLite database ({e})")))?;
        if version == 0 {
            return Err(refuse("not an exlibris findings store (schema version 0)".into()));
        }
        if version > SCHEMA_VERSION {
            return Err(refuse(format!(
                "findings store of schema {version}, written by a newer exlibris; this build reads schemas up to {SCHEMA_VERSION}"
            )));
        }
        if version < SCHEMA_VERSION {
            let mut sql = String::from("BEGIN;");
            for m in &MIGRATIONS[(version - 1) as usize..] {
                sql.push_str(m);
            }
            sql.push_str(&format!("PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"));
            conn.execute_batch(&sql).map_err(|e| refuse(format!("migrating from schema {version}: {e}")))?;
        }
        Ok(Store { conn, path })
    }

    /// Open the store of `results`, refusing one written by another run.
    pub fn open_for(results: &Results) -> Result<Store> {
        let s = Store::open(&results.dir)?;
        let run = &results.stats.run;
        let (id, started) = (s.meta("index_id")?, s.meta("started_unix")?);
        if id.as_deref() != Some(run.index_id.as_str()) || started != Some(run.started_unix.to_string()) {
            return Err(StoreError::Refused {
                path: s.path,
                reason: "findings store and stats.json come from different runs (was the scan interrupted?)"
                    .into(),
            });
        }
        Ok(s)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .at(&self.path)
    }

    /// Works whose title, author, ISBN or id contain `q` (case-insensitive),
    /// most covered first. An empty `q` lists every work.
    pub fn search_works(&self, q: &str, limit: u32, offset: u32) -> Result<(u64, Vec<WorkRow>)> {
        let pat = format!("%{}%", q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let isbn = q.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>();
        let filter = "title LIKE ?1 ESCAPE '\\' OR author LIKE ?1 ESCAPE '\\' OR work_id LIKE ?1 ESCAPE '\\'
             OR (length(?2) >= 10 AND replace(replace(isbn, '-', ''), ' ', '') LIKE ?2)";
        let total: i64 = self
            .conn
            .query_row(&format!("SELECT count(*) FROM works WHERE {filter}"), params![pat, isbn], |r| {
                r.get(0)
            })
            .at(&self.path)?;
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {WORK_COLS} FROM works WHERE {filter} ORDER BY coverage DESC, title LIMIT ?3 OFFSET ?4"
            ))
            .at(&self.path)?;
        let rows = st.query_map(params![pat, isbn, limit, offset], work_row).at(&self.path)?;
        Ok((total as u64, rows.collect::<rusqlite::Result<_>>().at(&self.path)?))
    }

    /// Works with findings, most covered first, at most `limit`, and how many there are.
    pub fn found_works(&self, limit: u32) -> Result<(u64, Vec<WorkRow>)> {
        let total: i64 = self
            .conn
            .query_row("SELECT count(*) FROM works WHERE findings > 0", [], |r| r.get(0))
            .at(&self.path)?;
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {WORK_COLS} FROM works WHERE findings > 0 ORDER BY coverage DESC, idx LIMIT ?1"
            ))
            .at(&self.path)?;
        let rows = st.query_map([limit], work_row).at(&self.path)?;
        Ok((total as u64, rows.collect::<rusqlite::Result<_>>().at(&self.path)?))
    }

    /// Every work count.
    pub fn work_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM works", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .at(&self.path)
    }

    /// One work by catalog id.
    pub fn work(&self, work_id: &str) -> Result<Option<WorkRow>> {
        self.conn
            .query_row(&format!("SELECT {WORK_COLS} FROM works WHERE work_id = ?1"), [work_id], work_row)
            .optional()
            .at(&self.path)
    }

    /// One work by index.
    pub fn work_at(&self, idx: u32) -> Result<Option<WorkRow>> {
        self.conn
            .query_row(&format!("SELECT {WORK_COLS} FROM works WHERE idx = ?1"), [idx], work_row)
            .optional()
            .at(&self.path)
    }

    /// Findings of a work in work order, a page of them.
    pub fn findings_of_work(&self, idx: u32, limit: u32, offset: u64) -> Result<Vec<FindingRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FINDING_COLS} FROM {FINDING_FROM} WHERE f.work_idx = ?1
                 ORDER BY f.work_start, f.id LIMIT ?2 OFFSET ?3"
            ))
            .at(&self.path)?;
        let rows = st.query_map(params![idx, limit, offset as i64], finding_row).at(&self.path)?;
        rows.collect::<rusqlite::Result<_>>().at(&self.path)
    }

    /// The `n` longest findings of a work.
    pub fn top_findings(&self, idx: u32, n: u32) -> Result<Vec<FindingRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FINDING_COLS} FROM {FINDING_FROM} WHERE f.work_idx = ?1 ORDER BY f.words DESC, f.id LIMIT ?2"
            ))
            .at(&self.path)?;
        let rows = st.query_map(params![idx, n], finding_row).at(&self.path)?;
        rows.collect::<rusqlite::Result<_>>().at(&self.path)
    }

    /// Documents of the corpus whose findings of work `idx` overlap `span`.
    pub fn documents_overlapping(&self, idx: u32, span: Span) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(DISTINCT document) FROM findings WHERE work_idx = ?1 AND work_start < ?3 AND work_end > ?2",
                params![idx, span.start as i64, span.end as i64],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .at(&self.path)
    }

    /// The breakdown by input file (`by_domain` false) or URL domain. It
    /// reads documents (a row each, with its counts), not findings.
    pub fn sources(&self, by_domain: bool, limit: u32) -> Result<Vec<SourceRow>> {
        let (key, works) = if by_domain {
            ("coalesce(d.domain, '(no URL)')", "NULL")
        } else {
            ("s.path", "(SELECT count(*) FROM work_sources w WHERE w.source_id = s.id)")
        };
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {key} AS k, count(*), sum(d.findings), sum(d.finding_bytes), {works}
                 FROM documents d JOIN sources s ON s.id = d.source_id GROUP BY k ORDER BY sum(d.findings) DESC, k LIMIT ?1"
            ))
            .at(&self.path)?;
        let rows = st
            .query_map([limit], |r| {
                Ok(SourceRow {
                    name: r.get(0)?,
                    documents: r.get::<_, i64>(1)? as u64,
                    findings: r.get::<_, i64>(2)? as u64,
                    bytes_in_findings: r.get::<_, i64>(3)? as u64,
                    works: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                })
            })
            .at(&self.path)?;
        rows.collect::<rusqlite::Result<_>>().at(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(url_domain("https://www.Example.org:8080/a?b").as_deref(), Some("example.org"));
        assert_eq!(url_domain("http://user@host.net/x").as_deref(), Some("host.net"));
        assert_eq!(url_domain("").as_deref(), None);
    }

    #[test]
    fn refuses_foreign_and_newer_stores() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(DB);
        let c = Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE t(x)").unwrap();
        drop(c);
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not an exlibris findings store"), "{e}");
        Connection::open(&p).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("schema 99") && e.contains("newer"), "{e}");
        std::fs::write(&p, b"not a database at all, just bytes").unwrap();
        assert!(Store::open(dir.path()).is_err());
        std::fs::remove_file(&p).unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("no findings store"), "{e}");
    }
}
