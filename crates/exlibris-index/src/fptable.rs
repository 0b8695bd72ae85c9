//! The fingerprint table: fingerprint hash → postings (work, token).
//!
//! Built by an external sort (entries spill to sorted runs on disk when the
//! memory budget is reached, then a k-way merge), filtered (fingerprints in
//! too many works or too often are common phrases, not evidence), and
//! written as one component:
//!
//! Compact: 6 bytes a posting and half a byte of directory, about 1.6 bytes
//! a catalog word at the default density.
//!
//! ```text
//! entries:     [key: u16, token: u32] × n (packed, little-endian), sorted by hash, padded to 4 bytes
//! buckets:     u32 × (2^bits + 1): first entry whose hash's top `bits` bits are ≥ b
//! work starts: u32 × (works + 1): first global token of each work
//! trailer:     n: u64, bits: u64, works: u64
//! ```
//! The bucket is the top `bits` bits of the hash; `key` holds the next 15
//! bits and, in its high bit, the flag "this fingerprint occurs in more than
//! one work". `token` is the shingle's first token in the catalog's global
//! token numbering (works one after another). A hash that agrees with a key
//! on those 15 + `bits` bits but differs below is a false hit; the matcher
//! verifies every hit on the words, so it costs a little time, never a
//! wrong finding.
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IndexError, IoContext, Result};
use crate::format::ComponentWriter;

/// Component kind of the fingerprint table.
pub const KIND: &[u8; 4] = b"FPRT";
/// Its format version.
pub const VERSION: u32 = 2;

const SHARED: u64 = 1 << 31;
const TOKEN_MASK: u64 = SHARED - 1;
const KEY_SHARED: u16 = 1 << 15;
const ENTRY: usize = 6;

/// One occurrence of a fingerprint in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    /// Index of the work in the index.
    pub work: u32,
    /// First token of the shingle in the work.
    pub token: u32,
    /// The fingerprint also occurs in another work.
    pub shared: bool,
}

/// Filters applied when the table is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFilter {
    /// Fingerprints found in more works than this are dropped as common
    /// phrases (boilerplate, licence text, idioms).
    pub max_work_freq: u32,
    /// Fingerprints with more postings than this are dropped (a run
    /// repeated throughout a work says nothing about where a match is).
    pub max_postings: u32,
}

impl Default for TableFilter {
    fn default() -> Self {
        TableFilter { max_work_freq: 8, max_postings: 64 }
    }
}

/// What the filter kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    /// Postings pushed.
    pub postings_in: u64,
    /// Postings written.
    pub postings: u64,
    /// Distinct fingerprints written.
    pub fingerprints: u64,
    /// Fingerprints written that occur in more than one work.
    pub shared_fingerprints: u64,
    /// Fingerprints dropped for occurring in too many works.
    pub dropped_common: u64,
    /// Fingerprints dropped for too many postings.
    pub dropped_repetitive: u64,
    /// Sorted runs spilled to disk while building.
    pub spilled_runs: u64,
}

/// Collects postings under a memory budget and writes the table.
///
/// Postings are kept in [`PARTS`] partitions by the top bits of their hash,
/// so that sorting is one small sort a partition, in parallel, and the
/// partitions in order are the whole sorted sequence.
pub struct FpTableBuilder {
    parts: Vec<Vec<(u64, u64)>>,
    held: usize,
    cap: usize,
    runs: Vec<PathBuf>,
    spill_dir: PathBuf,
    total: u64,
}

/// Partitions of the postings in memory (by the top 8 bits of the hash).
const PARTS: usize = 256;

impl FpTableBuilder {
    /// A builder that keeps at most `memory` bytes of postings in memory,
    /// spilling sorted runs into `spill_dir`.
    pub fn new(memory: usize, spill_dir: &Path) -> Self {
        let cap = (memory / 16).max(1024);
        FpTableBuilder {
            parts: vec![Vec::new(); PARTS],
            held: 0,
            cap,
            runs: Vec::new(),
            spill_dir: spill_dir.to_path_buf(),
            total: 0,
        }
    }

    /// Add one posting.
    pub fn push(&mut self, hash: u64, work: u32, token: u32) -> Result<()> {
        self.push_work(work, &[(hash, token)])
    }

    /// Add the postings `(hash, token)` of work `work`.
    pub fn push_work(&mut self, work: u32, fps: &[(u64, u32)]) -> Result<()> {
        if let Some(&(_, token)) = fps.iter().find(|&&(_, t)| t as u64 > TOKEN_MASK) {
            return Err(IndexError::Invalid(format!(
                "work {work} has more than {TOKEN_MASK} words (token {token})"
            )));
        }
        let high = (work as u64) << 32;
        for chunk in fps.chunks(self.cap) {
            if self.held + chunk.len() > self.cap {
                self.spill()?;
            }
            for &(hash, token) in chunk {
                self.parts[(hash >> 56) as usize].push((hash, high | token as u64));
            }
            self.held += chunk.len();
        }
        self.total += fps.len() as u64;
        Ok(())
    }

    fn sort_parts(&mut self) {
        use rayon::prelude::*;
        // By hash alone (faster than by the pair), then each run of one
        // hash by posting: the same order as sorting the pairs.
        self.parts.par_iter_mut().for_each(|p| {
            p.sort_unstable_by_key(|e| e.0);
            for run in p.chunk_by_mut(|a, b| a.0 == b.0) {
                if run.len() > 1 {
                    run.sort_unstable();
                }
            }
        });
    }

    fn spill(&mut self) -> Result<()> {
        if self.held == 0 {
            return Ok(());
        }
        self.sort_parts();
        let path = self.spill_dir.join(format!("run-{:05}.tmp", self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).at(&path)?);
        for part in &mut self.parts {
            for &(h, p) in part.iter() {
                out.write_all(&h.to_le_bytes()).at(&path)?;
                out.write_all(&p.to_le_bytes()).at(&path)?;
            }
            part.clear();
        }
        out.flush().at(&path)?;
        self.runs.push(path);
        self.held = 0;
        Ok(())
    }

    /// Merge, filter and write the table to `path`; `work_tokens` are the
    /// works' token counts, in index order. `with_keys` is given the
    /// distinct fingerprints kept, in order (to build the filter from), and
    /// runs while the table is written. Returns the table's checksum,
    /// statistics and what `with_keys` returned.
    pub fn finish<R: Send>(
        mut self,
        path: &Path,
        filter: &TableFilter,
        work_tokens: &[u64],
        with_keys: impl FnOnce(&[u64]) -> R + Send,
    ) -> Result<(u64, TableStats, R)> {
        let mut starts: Vec<u64> = vec![0];
        for &t in work_tokens {
            starts.push(starts.last().unwrap() + t);
        }
        if *starts.last().unwrap() > u32::MAX as u64 {
            return Err(IndexError::Invalid(format!(
                "the catalog has {} words; this index format holds at most {}",
                starts.last().unwrap(),
                u32::MAX
            )));
        }
        let bits = bucket_bits(self.total);
        let mut out = ComponentWriter::create(path, KIND, VERSION)?;
        let emitter = |bucket_lo: usize, bucket_hi: usize| Emitter {
            filter: *filter,
            bits,
            starts: &starts,
            keys: Vec::new(),
            bucket_lo,
            counts: vec![0; bucket_hi + 1 - bucket_lo],
            bytes: Vec::new(),
            group: Vec::new(),
            current: None,
            stats: TableStats::default(),
        };
        let mut acc = Absorbed {
            stats: TableStats { postings_in: self.total, ..Default::default() },
            buckets: vec![0; (1usize << bits) + 1],
            keys: Vec::new(),
            written: 0,
        };
        if self.runs.is_empty() {
            // A fingerprint's postings are all in one partition: partitions
            // are emitted in parallel, a few at a time, and written in order
            // while the next few are emitted (so that only a few
            // partitions' entries are held encoded at once).
            use rayon::prelude::*;
            self.sort_parts();
            let mut parts = std::mem::take(&mut self.parts);
            let span = |i: usize| {
                let lo = (i as u64) << 56;
                (bucket_of(lo, bits), bucket_of(lo | ((1 << 56) - 1), bits))
            };
            let mut pending: Vec<Emitter> = Vec::new();
            for (c, chunk) in parts.chunks_mut(16).enumerate() {
                let (emitted, absorbed) = rayon::join(
                    || {
                        chunk
                            .par_iter_mut()
                            .enumerate()
                            .map(|(j, part)| {
                                let (lo, hi) = span(c * 16 + j);
                                let mut e = emitter(lo, hi);
                                e.bytes.reserve(part.len() * ENTRY);
                                for (h, p) in std::mem::take(part) {
                                    e.each(h, p);
                                }
                                e.flush_group();
                                e
                            })
                            .collect::<Vec<_>>()
                    },
                    || acc.absorb(std::mem::take(&mut pending), &mut out),
                );
                absorbed?;
                pending = emitted;
            }
            acc.absorb(pending, &mut out)?;
        } else {
            self.spill()?;
            acc.stats.spilled_runs = self.runs.len() as u64;
            let mut e = emitter(0, (1 << bits) - 1);
            merge_runs(&self.runs, |h, p| {
                e.each(h, p);
                if e.bytes.len() >= 1 << 20 {
                    out.write(&e.bytes)?;
                    e.bytes.clear();
                }
                Ok(())
            })?;
            e.flush_group();
            acc.absorb(vec![e], &mut out)?;
            for r in &self.runs {
                let _ = std::fs::remove_file(r);
            }
        }
        let Absorbed { mut stats, mut buckets, keys, written } = acc;
        stats.postings = written;
        if written > u32::MAX as u64 {
            return Err(IndexError::Invalid(format!(
                "{written} postings: this index format holds at most {}",
                u32::MAX
            )));
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        let write = || -> Result<u64> {
            if written % 2 == 1 {
                out.write(&[0u8; 2])?; // align the u32 arrays
            }
            let mut words: Vec<u8> = Vec::with_capacity((buckets.len() + starts.len()) * 4);
            words.extend(buckets.iter().flat_map(|b| b.to_le_bytes()));
            words.extend(starts.iter().flat_map(|&s| (s as u32).to_le_bytes()));
            out.write(&words)?;
            // Pad so that the trailer is 8-byte aligned.
            let pad = (8 - out.body_len() % 8) % 8;
            out.write(&vec![0u8; pad as usize])?;
            out.write(&written.to_le_bytes())?;
            out.write(&(bits as u64).to_le_bytes())?;
            out.write(&(work_tokens.len() as u64).to_le_bytes())?;
            out.finish()
        };
        let (sum, with) = rayon::join(write, || with_keys(&keys));
        Ok((sum?, stats, with))
    }
}

/// What the emitters gave, in hash order: their entries go to the file.
struct Absorbed {
    stats: TableStats,
    /// Entries a bucket, at `bucket + 1` (summed into starts at the end).
    buckets: Vec<u32>,
    keys: Vec<u64>,
    written: u64,
}

impl Absorbed {
    fn absorb(&mut self, emitted: Vec<Emitter>, out: &mut ComponentWriter) -> Result<()> {
        for e in emitted {
            out.write(&e.bytes)?;
            for (i, &n) in e.counts.iter().enumerate() {
                self.buckets[e.bucket_lo + i + 1] += n;
                self.written += n as u64;
            }
            self.keys.extend_from_slice(&e.keys);
            self.stats.fingerprints += e.stats.fingerprints;
            self.stats.shared_fingerprints += e.stats.shared_fingerprints;
            self.stats.dropped_common += e.stats.dropped_common;
            self.stats.dropped_repetitive += e.stats.dropped_repetitive;
        }
        Ok(())
    }
}

/// Groups the sorted postings by fingerprint, applies the filter and
/// encodes the entries that are kept (in `bytes`, which its owner drains).
struct Emitter<'a> {
    filter: TableFilter,
    bits: u32,
    starts: &'a [u64],
    /// Fingerprints kept.
    keys: Vec<u64>,
    /// Entries of buckets `bucket_lo..bucket_lo + counts.len()` (the
    /// buckets the emitter's hashes fall in).
    bucket_lo: usize,
    counts: Vec<u32>,
    bytes: Vec<u8>,
    group: Vec<u64>,
    current: Option<u64>,
    stats: TableStats,
}

impl Emitter<'_> {
    #[inline]
    fn each(&mut self, h: u64, p: u64) {
        if self.current != Some(h) {
            self.flush_group();
            self.current = Some(h);
        }
        self.group.push(p);
    }

    fn flush_group(&mut self) {
        let Some(hash) = self.current.take() else { return };
        let group = &self.group;
        // Postings are sorted by work, so distinct works are changes.
        let works = 1 + group.windows(2).filter(|w| w[0] >> 32 != w[1] >> 32).count();
        if works as u64 > self.filter.max_work_freq as u64 {
            self.stats.dropped_common += 1;
        } else if group.len() as u64 > self.filter.max_postings as u64 {
            self.stats.dropped_repetitive += 1;
        } else {
            let shared = works > 1;
            self.keys.push(hash);
            self.counts[bucket_of(hash, self.bits) - self.bucket_lo] += group.len() as u32;
            self.stats.fingerprints += 1;
            self.stats.shared_fingerprints += shared as u64;
            let key = key_of(hash, self.bits) | if shared { KEY_SHARED } else { 0 };
            for &p in group {
                let global = self.starts[(p >> 32) as usize] + (p & TOKEN_MASK);
                self.bytes.extend_from_slice(&key.to_le_bytes());
                self.bytes.extend_from_slice(&(global as u32).to_le_bytes());
            }
        }
        self.group.clear();
    }
}

fn bucket_bits(n: u64) -> u32 {
    // About eight entries a bucket, at least 2^4 buckets.
    (64 - (n / 8).max(1).leading_zeros()).clamp(4, 32)
}

#[inline]
fn bucket_of(hash: u64, bits: u32) -> usize {
    (hash >> (64 - bits)) as usize
}

/// The 15 bits of the hash below the bucket bits.
#[inline]
fn key_of(hash: u64, bits: u32) -> u16 {
    ((hash << bits) >> 49) as u16
}

fn merge_runs(runs: &[PathBuf], mut f: impl FnMut(u64, u64) -> Result<()>) -> Result<()> {
    let mut readers = Vec::with_capacity(runs.len());
    for r in runs {
        readers.push(BufReader::with_capacity(1 << 16, File::open(r).at(r)?));
    }
    let read = |rd: &mut BufReader<File>, path: &Path| -> Result<Option<(u64, u64)>> {
        let mut b = [0u8; 16];
        match rd.read_exact(&mut b) {
            Ok(()) => Ok(Some((
                u64::from_le_bytes(b[..8].try_into().unwrap()),
                u64::from_le_bytes(b[8..].try_into().unwrap()),
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e).at(path),
        }
    };
    let mut heap = BinaryHeap::new();
    for (i, rd) in readers.iter_mut().enumerate() {
        if let Some(e) = read(rd, &runs[i])? {
            heap.push(Reverse((e, i)));
        }
    }
    while let Some(Reverse(((h, p), i))) = heap.pop() {
        f(h, p)?;
        if let Some(e) = read(&mut readers[i], &runs[i])? {
            heap.push(Reverse((e, i)));
        }
    }
    Ok(())
}

/// Read side of the table, over a verified component body.
pub struct FpTable<'a> {
    entries: &'a [u8],
    buckets: &'a [u32],
    starts: &'a [u32],
    bits: u32,
}

impl<'a> FpTable<'a> {
    /// Interpret a component body (8-byte aligned), checking the whole
    /// directory.
    pub fn new(body: &'a [u8], path: &Path) -> Result<Self> {
        Self::parse(body, path, true)
    }

    /// Interpret a body already checked by [`FpTable::new`]: constant time.
    pub(crate) fn trusted(body: &'a [u8], path: &Path) -> Self {
        Self::parse(body, path, false).expect("checked when the index was opened")
    }

    fn parse(body: &'a [u8], path: &Path, check: bool) -> Result<Self> {
        let corrupt = |reason: &str| IndexError::Corrupt { path: path.to_path_buf(), reason: reason.into() };
        if body.len() < 24 || !body.len().is_multiple_of(8) {
            return Err(corrupt("table too short"));
        }
        let tail = &body[body.len() - 24..];
        let word = |i: usize| u64::from_le_bytes(tail[i * 8..i * 8 + 8].try_into().unwrap()) as usize;
        let (n, bits, works) = (word(0), word(1) as u32, word(2));
        if !(4..=32).contains(&bits) {
            return Err(corrupt("bad bucket bits"));
        }
        let nb = (1usize << bits) + 1;
        let entries_len = n.checked_mul(ENTRY).ok_or_else(|| corrupt("bad entry count"))?;
        let padded = entries_len.next_multiple_of(4);
        let used = [padded, nb * 4, (works + 1) * 4].iter().try_fold(0usize, |a, &b| a.checked_add(b));
        if used.map(|u| u.next_multiple_of(8) + 24) != Some(body.len()) {
            return Err(corrupt("table size does not match its trailer"));
        }
        let entries = &body[..entries_len];
        let rest = &body[padded..padded + nb * 4 + (works + 1) * 4];
        let words: &[u32] = bytemuck::try_cast_slice(rest).map_err(|_| corrupt("misaligned table"))?;
        let (buckets, starts) = words.split_at(nb);
        if buckets[nb - 1] as usize != n || (check && buckets.windows(2).any(|w| w[0] > w[1])) {
            return Err(corrupt("bucket directory does not match the entries"));
        }
        if check && starts.windows(2).any(|w| w[0] > w[1]) {
            return Err(corrupt("work starts out of order"));
        }
        Ok(FpTable { entries, buckets, starts, bits })
    }

    /// Number of postings.
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Start loading the directory slot of `hash` into the cache: the
    /// first stage of a batched lookup.
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        crate::prefetch(&self.buckets[bucket_of(hash, self.bits)]);
    }

    /// Start loading the entries of `hash`'s bucket into the cache: the
    /// second stage, once its directory slot is near.
    #[inline]
    pub fn prefetch_entries(&self, hash: u64) {
        let b = bucket_of(hash, self.bits);
        let (lo, hi) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
        if lo < hi {
            crate::prefetch(&self.entries[lo * ENTRY]);
            crate::prefetch(&self.entries[hi * ENTRY - 1]);
        }
    }

    /// Postings of `hash` (and, rarely, of a hash that agrees with it on
    /// the bits the table keeps).
    #[inline]
    pub fn lookup(&self, hash: u64) -> impl Iterator<Item = Posting> + 'a {
        let b = bucket_of(hash, self.bits);
        let (lo, hi) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
        let key = key_of(hash, self.bits);
        let (entries, starts) = (self.entries, self.starts);
        (lo..hi).filter_map(move |i| {
            let e = &entries[i * ENTRY..i * ENTRY + ENTRY];
            let k = u16::from_le_bytes([e[0], e[1]]);
            if k & !KEY_SHARED != key {
                return None;
            }
            let global = u32::from_le_bytes([e[2], e[3], e[4], e[5]]);
            let work = starts.partition_point(|&s| s <= global) - 1;
            Some(Posting { work: work as u32, token: global - starts[work], shared: k & KEY_SHARED != 0 })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Component;

    fn build(
        memory: usize,
        postings: &[(u64, u32, u32)],
        filter: TableFilter,
    ) -> (tempfile::TempDir, TableStats) {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FpTableBuilder::new(memory, dir.path());
        for &(h, w, t) in postings {
            b.push(h, w, t).unwrap();
        }
        let tokens = vec![1 << 20; 8];
        let (_, stats, _) = b.finish(&dir.path().join("fp"), &filter, &tokens, |_| ()).unwrap();
        (dir, stats)
    }

    #[test]
    fn spilled_and_in_memory_builds_are_identical() {
        let mut x: u64 = 1;
        let postings: Vec<(u64, u32, u32)> = (0..20_000)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((x % 5000).wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 7) as u32, i as u32)
            })
            .collect();
        let f = TableFilter { max_work_freq: 3, max_postings: 5 };
        let (a, sa) = build(1 << 30, &postings, f);
        let (b, sb) = build(16 * 1500, &postings, f);
        assert!(sb.spilled_runs > 1);
        assert_eq!(sa.postings, sb.postings);
        let ra = std::fs::read(a.path().join("fp")).unwrap();
        let rb = std::fs::read(b.path().join("fp")).unwrap();
        assert_eq!(ra, rb);
    }

    #[test]
    fn lookups_find_postings_and_filters_apply() {
        let h = |x: u64| x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let postings = [
            (h(10), 0, 5),
            (h(10), 0, 9),
            (h(20), 1, 3),
            (h(20), 2, 4),
            (h(30), 0, 1),
            (h(30), 1, 1),
            (h(30), 2, 1),
            (h(40), 3, 7),
        ];
        let (dir, stats) = build(1 << 20, &postings, TableFilter { max_work_freq: 2, max_postings: 64 });
        assert_eq!(stats.dropped_common, 1);
        let c = Component::open(&dir.path().join("fp"), KIND, VERSION).unwrap();
        let t = FpTable::new(c.body(), Path::new("fp")).unwrap();
        let got: Vec<Posting> = t.lookup(h(10)).collect();
        assert_eq!(
            got,
            vec![Posting { work: 0, token: 5, shared: false }, Posting { work: 0, token: 9, shared: false }]
        );
        assert!(t.lookup(h(20)).all(|p| p.shared));
        assert_eq!(t.lookup(h(20)).map(|p| p.work).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(t.lookup(h(30)).count(), 0);
        assert_eq!(t.lookup(h(40)).next().unwrap(), Posting { work: 3, token: 7, shared: false });
        assert_eq!(t.lookup(h(41)).count(), 0);
    }
}
