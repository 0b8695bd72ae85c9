//! Building an index from a catalog.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use exlibris_text::{fingerprint_text, FingerprintSettings};

use crate::catalog::{Catalog, CatalogEntry, RejectedWork};
use crate::error::{IndexError, IoContext, Result};
use crate::extract::{extract_work, Extracted, Limits};
use crate::format::{sync_dir, write_atomic, ComponentWriter};
use crate::fptable::{FpTableBuilder, TableFilter, TableStats};
use crate::textstore::{
    compress_blocks, train_dictionary, Block, BlockCompressor, BlockCuts, TextStoreWriter,
};
use crate::{fptable, textstore, ComponentRef, IndexMeta, WorkRecord, META_FILE};

/// Settings of an index build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Fingerprinting parameters (stored in the index).
    pub fingerprint: FingerprintSettings,
    /// Which fingerprints are kept.
    pub filter: TableFilter,
    /// Memory budget in bytes for the build (postings and texts in flight).
    pub memory: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            fingerprint: FingerprintSettings::default(),
            filter: TableFilter::default(),
            memory: 1 << 30,
        }
    }
}

/// What a build did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuildStats {
    /// Works indexed.
    pub works: u64,
    /// Bytes of work text indexed.
    pub bytes: u64,
    /// Words (tokens) of work text indexed.
    pub tokens: u64,
    /// Fingerprint table statistics.
    pub table: TableStats,
    /// Bytes of the membership filter (what a scan keeps resident).
    pub filter_bytes: u64,
    /// Seconds the build took.
    pub seconds: f64,
}

/// The next message of `rx`. On a pool thread (a caller inside
/// `ThreadPool::install`), the tasks that will send it may be queued behind
/// this very thread, so it runs pending tasks while it waits instead of
/// blocking (with one thread, blocking would wait for ever).
fn recv_helping<T>(rx: &std::sync::mpsc::Receiver<T>) -> T {
    loop {
        if rayon::current_thread_index().is_none() {
            return rx.recv().expect("this thread holds a sender");
        }
        match rx.try_recv() {
            Ok(v) => return v,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => unreachable!("this thread holds a sender"),
        }
    }
}

/// A work's preparation task: sends its result, or `None` if it unwinds.
struct Prepare {
    i: usize,
    tx: std::sync::mpsc::Sender<(usize, Option<std::result::Result<Prepared, RejectedWork>>)>,
    sent: bool,
}

impl Prepare {
    fn send(mut self, p: std::result::Result<Prepared, RejectedWork>) {
        self.sent = true;
        let _ = self.tx.send((self.i, Some(p)));
    }
}

impl Drop for Prepare {
    fn drop(&mut self) {
        if !self.sent {
            let _ = self.tx.send((self.i, None));
        }
    }
}

struct Prepared {
    record: WorkRecord,
    fps: Vec<(u64, u32)>,
    blocks: Vec<Block>,
}

fn prepare(
    entry: &CatalogEntry,
    fp: &FingerprintSettings,
    bc: &BlockCompressor,
) -> std::result::Result<Prepared, RejectedWork> {
    let reject = |reason: String| RejectedWork { line: entry.line, id: Some(entry.meta.id.clone()), reason };
    let extracted = extract_work(&entry.file, &Limits::default()).map_err(reject)?;
    let mut meta = entry.meta.clone();
    for (field, found) in [(&mut meta.title, &extracted.title), (&mut meta.author, &extracted.author)] {
        if field.trim().is_empty() {
            *field = found.clone().unwrap_or_default();
        }
    }
    if meta.isbn.is_none() {
        meta.isbn = extracted.isbn.clone();
    }
    if meta.title.trim().is_empty() || meta.author.trim().is_empty() {
        return Err(reject(format!(
            "{}: no title or author in the catalog nor in the file's metadata",
            entry.file.display()
        )));
    }
    let text = extracted.text;
    let mut fps = Vec::with_capacity(text.len() / 20);
    let mut cuts = BlockCuts::default();
    let tokens = fingerprint_text(&text, fp, |i, b| cuts.token(i, b), |f| fps.push((f.hash, f.token)));
    if tokens == 0 {
        return Err(reject(format!("{}: no words in the text", entry.file.display())));
    }
    let blocks = compress_blocks(&text, cuts, bc);
    let record = WorkRecord {
        meta,
        format: extracted.format.into(),
        bytes: text.len() as u64,
        tokens: tokens as u64,
        fingerprints: fps.len() as u64,
        checksum: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes())),
    };
    Ok(Prepared { record, fps, blocks })
}

/// Build the index of `catalog` into the directory `out`, atomically:
/// components are written under temporary names, then `meta.json` is
/// published by a rename; an interrupted build leaves any previous index
/// intact and never a half-written one that looks valid.
///
/// `progress` is called with the bytes of work files processed so far.
pub fn build_index(
    catalog: &Catalog,
    out: &Path,
    opts: &BuildOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(IndexMeta, BuildStats)> {
    let started = std::time::Instant::now();
    opts.fingerprint.validate().map_err(IndexError::Invalid)?;
    prepare_out_dir(out)?;
    let staging = tempfile::Builder::new().prefix(".build-").tempdir_in(out).at(out)?;
    let mut table = FpTableBuilder::new(opts.memory / 2, staging.path());
    let text_path = staging.path().join("text.tmp");
    let dict = train_dictionary(&dictionary_samples(catalog));
    let bc = BlockCompressor::new(&dict);
    let mut texts = TextStoreWriter::create(&text_path, &dict)?;
    let mut works: Vec<WorkRecord> = Vec::new();
    let mut rejected = catalog.rejected.clone();
    let done = AtomicU64::new(0);

    // Works are prepared in parallel, one pool task a work, and appended in
    // catalog order (on this thread) as they come, so the index is the same
    // whatever the thread count. Works in flight (queued, being prepared,
    // or waiting for an earlier one) are held to an eighth of the budget;
    // the pool never waits for a batch of works to finish.
    let sizes: Vec<u64> =
        catalog.entries.iter().map(|e| std::fs::metadata(&e.file).map_or(0, |m| m.len())).collect();
    let in_flight_max = (opts.memory as u64 / 8).max(2 << 20);
    let mut append = |p: std::result::Result<Prepared, RejectedWork>| -> Result<()> {
        match p {
            Ok(p) => {
                let id = works.len() as u32;
                table.push_work(id, &p.fps)?;
                texts.add(id, p.blocks)?;
                works.push(p.record);
            }
            Err(r) => rejected.push(r),
        }
        Ok(())
    };
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<std::result::Result<Prepared, RejectedWork>>)>();
    let (entries, bc, done, fp) = (&catalog.entries, &bc, &done, &opts.fingerprint);
    rayon::in_place_scope_fifo(|scope| -> Result<()> {
        let (mut queued, mut appended, mut in_flight) = (0, 0, 0u64);
        let mut ready = std::collections::BTreeMap::new();
        while appended < entries.len() {
            while queued < entries.len() && (in_flight == 0 || in_flight + sizes[queued] <= in_flight_max) {
                let (i, size) = (queued, sizes[queued]);
                let task = Prepare { i, tx: tx.clone(), sent: false };
                scope.spawn_fifo(move |_| {
                    let p = prepare(&entries[i], fp, bc);
                    progress(done.fetch_add(size, Ordering::Relaxed) + size);
                    task.send(p);
                });
                in_flight += size;
                queued += 1;
            }
            let (i, p) = recv_helping(&rx);
            // A task that panicked sends nothing: the scope re-raises its panic.
            ready.insert(i, p.ok_or_else(|| IndexError::Invalid("a work's preparation failed".into()))?);
            while let Some(p) = ready.remove(&appended) {
                append(p)?;
                in_flight -= sizes[appended];
                appended += 1;
            }
        }
        Ok(())
    })?;
    rejected.sort_by_key(|r| r.line);
    if works.is_empty() {
        return Err(IndexError::Invalid(format!(
            "{}: no work could be indexed ({} refused{})",
            catalog.path.display(),
            rejected.len(),
            rejected.first().map(|r| format!("; first: line {}: {}", r.line, r.reason)).unwrap_or_default()
        )));
    }

    let fp_path = staging.path().join("fp.tmp");
    let tokens: Vec<u64> = works.iter().map(|w| w.tokens).collect();
    let filter_path = staging.path().join("filter.tmp");
    // The table is written while the filter is built from its keys, and
    // the text store's directory beside them.
    let (table_done, text_sum) = rayon::join(
        || {
            table.finish(&fp_path, &opts.filter, &tokens, |keys| {
                crate::filter::write_filter(&filter_path, keys)
            })
        },
        || texts.finish(),
    );
    let (fp_sum, table_stats, filter_done) = table_done?;
    let (filter_sum, filter_bytes) = filter_done?;
    let text_sum = text_sum?;
    let works_path = staging.path().join("works.tmp");
    let mut w = ComponentWriter::create(&works_path, crate::WORKS_KIND, crate::WORKS_VERSION)?;
    w.write(&serde_json::to_vec(&works).expect("works serialise"))?;
    let works_sum = w.finish()?;

    let publish = |tmp: &Path, kind: &str, version: u32, sum: u64| -> Result<ComponentRef> {
        let file = format!("{kind}-{sum:016x}.bin");
        let bytes = std::fs::metadata(tmp).at(tmp)?.len();
        std::fs::rename(tmp, out.join(&file)).at(&out.join(&file))?;
        Ok(ComponentRef { file, version, bytes, checksum: format!("{sum:016x}") })
    };
    let components = crate::Components {
        works: publish(&works_path, "works", crate::WORKS_VERSION, works_sum)?,
        fingerprints: publish(&fp_path, "fingerprints", fptable::VERSION, fp_sum)?,
        texts: publish(&text_path, "texts", textstore::VERSION, text_sum)?,
        filter: publish(&filter_path, "filter", crate::filter::VERSION, filter_sum)?,
    };
    sync_dir(out)?;
    let stats = BuildStats {
        works: works.len() as u64,
        bytes: works.iter().map(|w| w.bytes).sum(),
        tokens: works.iter().map(|w| w.tokens).sum(),
        table: table_stats,
        filter_bytes,
        seconds: started.elapsed().as_secs_f64(),
    };
    let id = xxhash_rust::xxh3::xxh3_64(
        format!(
            "{fp_sum:016x}{text_sum:016x}{works_sum:016x}{filter_sum:016x}{:?}{:?}",
            opts.fingerprint, opts.filter
        )
        .as_bytes(),
    );
    let meta = IndexMeta {
        format: crate::FORMAT_NAME.into(),
        version: crate::FORMAT_VERSION,
        index_id: format!("{id:016x}"),
        exlibris_version: env!("CARGO_PKG_VERSION").into(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        catalog: catalog.path.display().to_string(),
        fingerprint: opts.fingerprint,
        filter: opts.filter,
        components,
        works: stats.works,
        bytes: stats.bytes,
        tokens: stats.tokens,
        postings: table_stats.postings,
        rejected,
    };
    let meta_path = out.join(META_FILE);
    write_atomic(&meta_path, &serde_json::to_vec_pretty(&meta).expect("meta serialises"))?;
    remove_stale(out, &meta);
    Ok((meta, stats))
}

/// Samples of the catalog's text for the compression dictionary: 16
/// blocks taken at a stride from each of the first works, up to 1 MiB.
/// Spread over more works beats more text: on the bench's catalog of 10⁸
/// words, 64 blocks from each work up to 2 MiB trained in 0.33 s and gave
/// texts of 241.4 MB; 32 a work up to 1 MiB, 241.9 MB; 16 a work up to
/// 1 MiB, 240.4 MB in about 0.2 s.
fn dictionary_samples(catalog: &Catalog) -> Vec<Vec<u8>> {
    const WANT: usize = 1 << 20;
    let block = crate::textstore::BLOCK_BYTES;
    let mut samples = Vec::new();
    let mut total = 0;
    for e in &catalog.entries {
        let Ok(Extracted { text, .. }) = extract_work(&e.file, &Limits::default()) else { continue };
        let bytes = text.as_bytes();
        let stride = (bytes.len() / block / 16).max(1) * block;
        for chunk in bytes.chunks(block).step_by(stride / block) {
            samples.push(chunk.to_vec());
            total += chunk.len();
        }
        if total >= WANT {
            break;
        }
    }
    samples
}

/// The output directory must be new, empty, or an exlibris index.
fn prepare_out_dir(out: &Path) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(IndexError::Invalid(format!("{}: exists and is not a directory", out.display())));
        }
        let foreign = std::fs::read_dir(out).at(out)?.filter_map(|e| e.ok()).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !(name == META_FILE || name.starts_with(".build-") || is_component_name(&name))
        });
        if foreign {
            return Err(IndexError::Invalid(format!(
                "{}: directory exists and holds files that are not an exlibris index; choose another --out",
                out.display()
            )));
        }
    } else {
        std::fs::create_dir_all(out).at(out)?;
    }
    Ok(())
}

fn is_component_name(name: &str) -> bool {
    ["works-", "fingerprints-", "texts-", "filter-"].iter().any(|p| name.starts_with(p))
        && name.ends_with(".bin")
}

/// Remove components of earlier builds and leftovers of interrupted ones.
fn remove_stale(out: &Path, meta: &IndexMeta) {
    let c = &meta.components;
    let keep = [&c.works.file, &c.fingerprints.file, &c.texts.file, &c.filter.file];
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let path: PathBuf = e.path();
        if is_component_name(&name) && !keep.iter().any(|k| **k == name) {
            let _ = std::fs::remove_file(&path);
        } else if name.starts_with(".build-") {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
