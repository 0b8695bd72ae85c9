//! The fingerprint table: fingerprint hash → postings (work, token).
//!
//! Built by an external sort (entries spill to sorted runs on disk when the
//! memory budget is reached, then a k-way merge), filtered (fingerprints in
//! too many works or too often are common phrases, not evidence), and
//! written as one component:
//!
//! ```text
//! entries: [hash: u64, posting: u64] × n, sorted by hash
//! buckets: u64 × (2^bits + 1): index of the first entry whose top `bits` bits are ≥ b
//! trailer: n: u64, bits: u64
//! ```
//! A posting packs the work (high 32 bits), a flag "this fingerprint occurs
//! in more than one work" (bit 31) and the shingle's first token (bits 0–30).
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
pub const VERSION: u32 = 1;

const SHARED: u64 = 1 << 31;
const TOKEN_MASK: u64 = SHARED - 1;

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

impl Posting {
    fn unpack(p: u64) -> Self {
        Posting { work: (p >> 32) as u32, token: (p & TOKEN_MASK) as u32, shared: p & SHARED != 0 }
    }
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
pub struct FpTableBuilder {
    buf: Vec<(u64, u64)>,
    cap: usize,
    runs: Vec<PathBuf>,
    spill_dir: PathBuf,
    total: u64,
}

impl FpTableBuilder {
    /// A builder that keeps at most `memory` bytes of postings in memory,
    /// spilling sorted runs into `spill_dir`.
    pub fn new(memory: usize, spill_dir: &Path) -> Self {
        let cap = (memory / 16).max(1024);
        FpTableBuilder {
            buf: Vec::new(),
            cap,
            runs: Vec::new(),
            spill_dir: spill_dir.to_path_buf(),
            total: 0,
        }
    }

    /// Add one posting.
    pub fn push(&mut self, hash: u64, work: u32, token: u32) -> Result<()> {
        if token as u64 > TOKEN_MASK {
            return Err(IndexError::Invalid(format!("work {work} has more than {TOKEN_MASK} words")));
        }
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        self.buf.push((hash, ((work as u64) << 32) | token as u64));
        self.total += 1;
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        self.buf.sort_unstable();
        let path = self.spill_dir.join(format!("run-{:05}.tmp", self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).at(&path)?);
        for &(h, p) in &self.buf {
            out.write_all(&h.to_le_bytes()).at(&path)?;
            out.write_all(&p.to_le_bytes()).at(&path)?;
        }
        out.flush().at(&path)?;
        self.runs.push(path);
        self.buf.clear();
        Ok(())
    }

    /// Merge, filter and write the table to `path`. Returns its checksum and
    /// statistics.
    pub fn finish(mut self, path: &Path, filter: &TableFilter) -> Result<(u64, TableStats)> {
        let mut stats = TableStats { postings_in: self.total, ..Default::default() };
        let bits = bucket_bits(self.total);
        let mut out = ComponentWriter::create(path, KIND, VERSION)?;
        let mut buckets: Vec<u64> = vec![0; (1usize << bits) + 1];
        let mut group: Vec<u64> = Vec::new();
        let mut current: Option<u64> = None;
        let mut written: u64 = 0;
        let mut emit = |hash: u64, group: &mut Vec<u64>, out: &mut ComponentWriter| -> Result<()> {
            let mut works = group.iter().map(|p| p >> 32).collect::<Vec<_>>();
            works.dedup();
            if works.len() as u64 > filter.max_work_freq as u64 {
                stats.dropped_common += 1;
            } else if group.len() as u64 > filter.max_postings as u64 {
                stats.dropped_repetitive += 1;
            } else {
                let shared = if works.len() > 1 { SHARED } else { 0 };
                stats.fingerprints += 1;
                stats.shared_fingerprints += (shared != 0) as u64;
                let b = bucket_of(hash, bits);
                for &p in group.iter() {
                    buckets[b + 1] += 1;
                    out.write(&hash.to_le_bytes())?;
                    out.write(&(p | shared).to_le_bytes())?;
                    written += 1;
                }
            }
            group.clear();
            Ok(())
        };
        let mut each = |h: u64, p: u64, out: &mut ComponentWriter| -> Result<()> {
            if current != Some(h) {
                if let Some(prev) = current {
                    emit(prev, &mut group, out)?;
                }
                current = Some(h);
            }
            group.push(p);
            Ok(())
        };
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            for &(h, p) in &self.buf {
                each(h, p, &mut out)?;
            }
        } else {
            self.spill()?;
            stats.spilled_runs = self.runs.len() as u64;
            merge_runs(&self.runs, |h, p| each(h, p, &mut out))?;
            for r in &self.runs {
                let _ = std::fs::remove_file(r);
            }
        }
        if let Some(prev) = current {
            emit(prev, &mut group, &mut out)?;
        }
        stats.postings = written;
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        for b in &buckets {
            out.write(&b.to_le_bytes())?;
        }
        out.write(&written.to_le_bytes())?;
        out.write(&(bits as u64).to_le_bytes())?;
        Ok((out.finish()?, stats))
    }
}

fn bucket_bits(n: u64) -> u32 {
    // About four entries a bucket, at least 2^4 buckets.
    (64 - (n / 4).max(1).leading_zeros()).clamp(4, 40)
}

#[inline]
fn bucket_of(hash: u64, bits: u32) -> usize {
    (hash >> (64 - bits)) as usize
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
    entries: &'a [u64],
    buckets: &'a [u64],
    bits: u32,
}

impl<'a> FpTable<'a> {
    /// Interpret a component body (8-byte aligned).
    pub fn new(body: &'a [u8], path: &Path) -> Result<Self> {
        let corrupt = |reason: &str| IndexError::Corrupt { path: path.to_path_buf(), reason: reason.into() };
        let words: &[u64] = bytemuck::try_cast_slice(body).map_err(|_| corrupt("misaligned table"))?;
        if words.len() < 2 {
            return Err(corrupt("table too short"));
        }
        let n = words[words.len() - 2] as usize;
        let bits = words[words.len() - 1] as u32;
        if !(1..=40).contains(&bits) {
            return Err(corrupt("bad bucket bits"));
        }
        let nb = (1usize << bits) + 1;
        if words.len() != 2 * n + nb + 2 {
            return Err(corrupt("table size does not match its trailer"));
        }
        let entries = &words[..2 * n];
        let buckets = &words[2 * n..2 * n + nb];
        if buckets[nb - 1] != n as u64 {
            return Err(corrupt("bucket directory does not match the entries"));
        }
        Ok(FpTable { entries, buckets, bits })
    }

    /// Number of postings.
    pub fn len(&self) -> usize {
        self.entries.len() / 2
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Postings of `hash`.
    #[inline]
    pub fn lookup(&self, hash: u64) -> impl Iterator<Item = Posting> + 'a {
        let b = bucket_of(hash, self.bits);
        let (lo, hi) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
        let entries = self.entries;
        let start = lo + (lo..hi).take_while(|&i| entries[2 * i] < hash).count();
        (start..hi)
            .take_while(move |&i| entries[2 * i] == hash)
            .map(move |i| Posting::unpack(entries[2 * i + 1]))
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
        let (_, stats) = b.finish(&dir.path().join("fp"), &filter).unwrap();
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
        let postings =
            [(10, 0, 5), (10, 0, 9), (20, 1, 3), (20, 2, 4), (30, 0, 1), (30, 1, 1), (30, 2, 1), (40, 3, 7)];
        let (dir, stats) = build(1 << 20, &postings, TableFilter { max_work_freq: 2, max_postings: 64 });
        assert_eq!(stats.dropped_common, 1);
        let c = Component::open(&dir.path().join("fp"), KIND, VERSION).unwrap();
        let t = FpTable::new(c.body(), Path::new("fp")).unwrap();
        let got: Vec<Posting> = t.lookup(10).collect();
        assert_eq!(
            got,
            vec![Posting { work: 0, token: 5, shared: false }, Posting { work: 0, token: 9, shared: false }]
        );
        assert!(t.lookup(20).all(|p| p.shared));
        assert_eq!(t.lookup(30).count(), 0);
        assert_eq!(t.lookup(40).next().unwrap().token, 7);
        assert_eq!(t.lookup(41).count(), 0);
    }
}
