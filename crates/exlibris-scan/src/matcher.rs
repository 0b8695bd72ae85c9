//! The matcher: from a document's fingerprints to verified findings.
//!
//! 1. Winnow the document and look every fingerprint up: *hits*
//!    (document token, work, work token).
//! 2. Chain hits per work in document order: a hit joins the chain whose
//!    diagonal (work token − document token) is nearest, within
//!    `max_drift`, if it comes at most `max_gap` tokens after the chain's
//!    last hit. Gaps absorb page headers, verse numbers and OCR damage;
//!    drift absorbs inserted and deleted words.
//! 3. Verify each chain on the real words of both sides (the work's text
//!    comes from the index) and extend it to the true ends of the shared
//!    text ([`exlibris_text::align`]). Hash collisions die here.
//! 4. Merge neighbouring pieces of one passage, drop findings shorter than
//!    `min_words` or resting only on fingerprints shared by several works,
//!    and where findings overlap in the document keep the strongest.
use std::collections::BTreeSet;

use exlibris_index::{Index, TextRegion};
use exlibris_text::{align, fingerprint_text, AlignParams, Region};

use crate::error::Result;

/// Tolerances and thresholds of the matcher.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct MatchOptions {
    /// Most tokens between two hits of one chain.
    pub max_gap: u32,
    /// Most change of diagonal between two hits of one chain.
    pub max_drift: u32,
    /// Fewest matched words in a finding. `0` means the index's guarantee
    /// (`w + k − 1`).
    pub min_words: u32,
    /// A finding whose document span lies more than this share inside a
    /// stronger finding's is dropped.
    pub max_overlap: f64,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions { max_gap: 48, max_drift: 12, min_words: 0, max_overlap: 0.5 }
    }
}

/// One aligned span pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Index of the work in the index.
    pub work: u32,
    /// Byte range in the document's text.
    pub doc_start: u64,
    /// End of the document range.
    pub doc_end: u64,
    /// Byte range in the work's text.
    pub work_start: u64,
    /// End of the work range.
    pub work_end: u64,
    /// Document tokens `[doc_token, doc_token_end)`.
    pub doc_token: u32,
    /// End of the document tokens.
    pub doc_token_end: u32,
    /// Work tokens `[work_token, work_token_end)`.
    pub work_token: u32,
    /// End of the work tokens.
    pub work_token_end: u32,
    /// Words matched (equal on both sides).
    pub words: u32,
    /// Verified fingerprints in it.
    pub anchors: u32,
    /// Excerpt of the work's side: [`EXCERPT_BYTES`] from `work_start`
    /// (or to the work's end).
    pub work_excerpt: String,
}

impl Finding {
    /// Matched words over the longer side's words: 1.0 for an exact copy.
    pub fn score(&self) -> f64 {
        let len = (self.doc_token_end - self.doc_token).max(self.work_token_end - self.work_token).max(1);
        (self.words as f64 / len as f64).min(1.0)
    }
}

#[derive(Clone, Copy, Debug)]
struct Hit {
    work: u32,
    wtok: u32,
    dtok: u32,
    shared: bool,
}

struct Chain {
    hits: Vec<Hit>,
}

impl Chain {
    fn last(&self) -> Hit {
        *self.hits.last().expect("chains are never empty")
    }
}

const CHECKPOINT: u32 = 64;
/// Words of context either side of a chain for its first verification.
const NARROW: u32 = 16;
/// Fingerprints looked up together.
const BATCH: usize = 512;
/// How many fingerprints ahead a filter block is prefetched.
const FILTER_AHEAD: usize = 16;
/// Bytes of each side kept as an excerpt.
pub const EXCERPT_BYTES: usize = 2048;

/// Per-thread scratch space, reused across documents.
#[derive(Default)]
pub struct Scratch {
    fps: Vec<(u64, u32)>,
    hits: Vec<Hit>,
    checkpoints: Vec<usize>,
    doc: Region,
    work: Region,
    text: TextRegion,
}

/// Matches documents against one index; cheap to share across threads.
pub struct Matcher<'i> {
    index: &'i Index,
    opts: MatchOptions,
    min_words: u32,
    align: AlignParams,
    narrow: u32,
}

impl<'i> Matcher<'i> {
    /// A matcher over `index`.
    pub fn new(index: &'i Index, opts: MatchOptions) -> Self {
        let s = index.settings();
        let min_words = if opts.min_words == 0 { s.guarantee() } else { opts.min_words };
        Matcher { index, opts, min_words, align: AlignParams::new(s.k), narrow: NARROW }
    }

    /// Verify on the full regions only (no narrow first pass): the
    /// reference the narrow pass must agree with. For tests.
    #[doc(hidden)]
    pub fn full_regions_only(mut self) -> Self {
        self.narrow = u32::MAX;
        self
    }

    /// The index.
    pub fn index(&self) -> &Index {
        self.index
    }

    /// The effective minimum of matched words.
    pub fn min_words(&self) -> u32 {
        self.min_words
    }

    /// Fingerprint the document, and look the fingerprints up in batches,
    /// in stages that each prefetch what the next reads, so that the cache
    /// misses of a batch overlap: the filter blocks (a sliding distance
    /// ahead, see [`FILTER_AHEAD`]); then, for the
    /// few that pass, their table directory slots; then their entries.
    fn collect_hits(&self, text: &str, s: &mut Scratch) {
        let table = self.index.fingerprints();
        let filter = self.index.filter();
        s.hits.clear();
        s.checkpoints.clear();
        s.fps.clear();
        let (hits, cps, fps) = (&mut s.hits, &mut s.checkpoints, &mut s.fps);
        let flush = |fps: &mut Vec<(u64, u32)>, hits: &mut Vec<Hit>| {
            // The filter's blocks are prefetched a fixed distance ahead:
            // far enough to overlap the misses, near enough that they are
            // still in L1 when probed (all of a batch's would fill it).
            for &(h, _) in fps.iter().take(FILTER_AHEAD) {
                filter.prefetch(h);
            }
            let mut pass = 0;
            for i in 0..fps.len() {
                if let Some(&(next, _)) = fps.get(i + FILTER_AHEAD) {
                    filter.prefetch(next);
                }
                let (h, _) = fps[i];
                if filter.may_contain(h) {
                    table.prefetch_bucket(h);
                    fps[pass] = fps[i];
                    pass += 1;
                }
            }
            fps.truncate(pass);
            for &(h, _) in fps.iter() {
                table.prefetch_entries(h);
            }
            for &(h, dtok) in fps.iter() {
                for p in table.lookup(h) {
                    hits.push(Hit { work: p.work, wtok: p.token, dtok, shared: p.shared });
                }
            }
            fps.clear();
        };
        fingerprint_text(
            text,
            self.index.settings(),
            |i, byte| {
                if i % CHECKPOINT == 0 {
                    cps.push(byte);
                }
            },
            |fp| {
                fps.push((fp.hash, fp.token));
                if fps.len() == BATCH {
                    flush(fps, hits);
                }
            },
        );
        flush(fps, hits);
    }

    /// All findings of one document's text, sorted by document offset.
    pub fn find(&self, text: &str, scratch: &mut Scratch) -> Result<Vec<Finding>> {
        self.collect_hits(text, scratch);
        if scratch.hits.is_empty() {
            return Ok(Vec::new());
        }
        scratch.hits.sort_unstable_by_key(|h| (h.work, h.dtok, h.wtok));
        let hits = std::mem::take(&mut scratch.hits);
        let mut found = Vec::new();
        for group in hits.chunk_by(|a, b| a.work == b.work) {
            let mut pieces = Vec::new();
            for chain in self.chains(group) {
                // A finding needs a fingerprint unique to its work: a chain
                // of shared ones only would be decompressed and aligned for
                // nothing.
                if chain.hits.iter().all(|h| h.shared) {
                    continue;
                }
                // Nor one whose every possible piece lies inside a piece of
                // this work found already (a repeated phrase of the work,
                // met inside a long passage): such a piece p starts after
                // that piece F and ends within it, so `merge_pieces`, which
                // takes pieces by start and keeps a current piece whose end
                // only grows and is at least F's once F is taken, drops p
                // as inside the current piece, whatever its diagonal.
                let (lo, hi) = self.reach(&chain);
                if pieces.iter().any(|p: &Finding| p.doc_token < lo && p.doc_token_end >= hi) {
                    continue;
                }
                if let Some(f) = self.verify(text, &chain, scratch)? {
                    pieces.push(f);
                }
            }
            found.extend(self.merge_pieces(pieces));
        }
        scratch.hits = hits;
        let mut kept = self.select(found);
        let texts = self.index.texts();
        for f in &mut kept {
            f.work_excerpt = texts.excerpt(f.work, f.work_start, EXCERPT_BYTES, &mut scratch.text)?;
        }
        Ok(kept)
    }

    /// Chain one work's hits (sorted by document token). Open chains are
    /// kept ordered by the diagonal of their last hit, and by its document
    /// token for expiry, so a hit looks only at chains near its diagonal:
    /// a passage repeated throughout a work (many postings per fingerprint)
    /// costs a logarithm, not a scan of every open chain.
    fn chains(&self, hits: &[Hit]) -> Vec<Chain> {
        let (gap, drift) = (self.opts.max_gap as i64, self.opts.max_drift as i64);
        let diag_of = |h: Hit| h.wtok as i64 - h.dtok as i64;
        let mut chains: Vec<Chain> = Vec::new();
        let mut by_diag: BTreeSet<(i64, usize)> = BTreeSet::new();
        let mut by_dtok: BTreeSet<(u32, usize)> = BTreeSet::new();
        for &h in hits {
            while let Some(&(t, id)) = by_dtok.first() {
                if (h.dtok as i64) - (t as i64) <= gap {
                    break;
                }
                by_dtok.pop_first();
                by_diag.remove(&(diag_of(chains[id].last()), id));
            }
            let diag = diag_of(h);
            let best = by_diag
                .range((diag - drift, 0)..=(diag + drift, usize::MAX))
                .filter(|&&(_, id)| {
                    let l = chains[id].last();
                    h.dtok > l.dtok
                        && (h.wtok as i64) > l.wtok as i64 - drift
                        && (h.wtok as i64) <= l.wtok as i64 + gap + drift
                })
                .map(|&(d, id)| ((d - diag).abs(), chains[id].hits[0].dtok, id))
                .min();
            let id = match best {
                Some((_, _, id)) => {
                    let l = chains[id].last();
                    by_diag.remove(&(diag_of(l), id));
                    by_dtok.remove(&(l.dtok, id));
                    chains[id].hits.push(h);
                    id
                }
                None => {
                    chains.push(Chain { hits: vec![h] });
                    chains.len() - 1
                }
            };
            by_diag.insert((diag, id));
            by_dtok.insert((h.dtok, id));
        }
        chains.sort_by_key(|c| (c.hits[0].dtok, c.hits[0].wtok));
        chains
    }

    /// The document tokens a chain's verification can reach: a piece it
    /// yields starts at or after the first and ends at or before the second
    /// (the regions of [`Matcher::verify_within`] at their widest).
    fn reach(&self, chain: &Chain) -> (u32, u32) {
        let full = self.full_ext();
        (
            chain.hits[0].dtok.saturating_sub(full),
            chain.last().dtok.saturating_add(self.index.settings().k + full),
        )
    }

    /// Words either side of a chain in its full verification regions.
    fn full_ext(&self) -> u32 {
        self.opts.max_gap + self.opts.max_drift + self.index.settings().k
    }

    /// Verify and extend a chain on the words of both sides: first on
    /// regions a few words wider than the chain, and again on the full
    /// regions (`max_gap + max_drift + k` words either side) only when the
    /// alignment reached the edge of the narrow ones. Most chains end within
    /// a few words of their anchors, and the result is the same either way.
    fn verify(&self, text: &str, chain: &Chain, s: &mut Scratch) -> Result<Option<Finding>> {
        let full = self.full_ext();
        if self.narrow < full {
            if let Some(f) = self.verify_within(text, chain, s, self.narrow)? {
                return Ok(f);
            }
        }
        Ok(self.verify_within(text, chain, s, full)?.flatten())
    }

    /// Verify on regions `ext` words wider than the chain on either side.
    /// `None` when a wider region could change the answer.
    fn verify_within(
        &self,
        text: &str,
        chain: &Chain,
        s: &mut Scratch,
        ext: u32,
    ) -> Result<Option<Option<Finding>>> {
        let k = self.index.settings().k;
        let full = ext >= self.full_ext();
        let first = chain.hits[0];
        let last = chain.last();
        let work = first.work;

        let d_lo = first.dtok.saturating_sub(ext);
        let d_hi = last.dtok.saturating_add(k + ext);
        let cp = (d_lo / CHECKPOINT) as usize;
        s.doc.load(text, s.checkpoints[cp], cp as u32 * CHECKPOINT, d_lo, d_hi);

        let w_lo = chain.hits.iter().map(|h| h.wtok).min().unwrap().saturating_sub(ext);
        let w_hi = chain.hits.iter().map(|h| h.wtok).max().unwrap().saturating_add(k + ext);
        self.index.texts().region(work, w_lo, w_hi, &mut s.text)?;
        s.work.load(&s.text.text, s.text.restart.1, s.text.restart.0, w_lo, w_hi);
        let (doc_base, work_base) = (s.doc.first, s.work.first);

        let k = k as usize;
        let mut unique = false;
        let mut anchors = Vec::with_capacity(chain.hits.len());
        for h in &chain.hits {
            let (d, w) = ((h.dtok - doc_base) as usize, (h.wtok - work_base) as usize);
            let same = d + k <= s.doc.len()
                && w + k <= s.work.len()
                && (0..k).all(|i| s.doc.same_word(d + i, &s.work, w + i));
            if same {
                unique |= !h.shared;
                anchors.push((d, w));
            }
        }
        if !unique {
            return Ok(Some(None));
        }

        let Some(al) = align(&s.doc, &s.work, &anchors, &self.align) else { return Ok(Some(None)) };
        if al.clipped && !full {
            return Ok(None);
        }
        let (wb, we) = (s.work.token(al.work_begin), s.work.token(al.work_end - 1));
        Ok(Some(Some(Finding {
            work,
            doc_start: s.doc.token(al.doc_begin).start as u64,
            doc_end: s.doc.token(al.doc_end - 1).end as u64,
            work_start: s.text.first_byte + wb.start as u64,
            work_end: s.text.first_byte + we.end as u64,
            doc_token: doc_base + al.doc_begin as u32,
            doc_token_end: doc_base + al.doc_end as u32,
            work_token: work_base + al.work_begin as u32,
            work_token_end: work_base + al.work_end as u32,
            words: al.matched as u32,
            anchors: al.anchors as u32,
            work_excerpt: String::new(),
        })))
    }

    /// Join pieces of one passage of one work that the chaining split.
    fn merge_pieces(&self, mut pieces: Vec<Finding>) -> Vec<Finding> {
        pieces.sort_by_key(|f| (f.doc_token, f.work_token));
        let (gap, drift) = (self.opts.max_gap as i64, self.opts.max_drift as i64);
        let mut out: Vec<Finding> = Vec::with_capacity(pieces.len());
        for f in pieces {
            if let Some(cur) = out.last_mut() {
                let dgap = f.doc_token as i64 - cur.doc_token_end as i64;
                let wgap = f.work_token as i64 - cur.work_token_end as i64;
                if f.doc_token_end <= cur.doc_token_end {
                    continue; // inside the current piece
                }
                let ddiag = (f.work_token as i64 - f.doc_token as i64)
                    - (cur.work_token as i64 - cur.doc_token as i64);
                let consistent = ddiag.abs() <= drift || (-drift..=gap + drift).contains(&wgap);
                if dgap <= gap && wgap <= gap + drift && consistent && f.work_token_end > cur.work_token_end {
                    let overlap = (cur.doc_token_end as i64 - f.doc_token as i64).max(0) as u32;
                    cur.words += f.words.saturating_sub(overlap);
                    cur.anchors += f.anchors;
                    cur.doc_end = cur.doc_end.max(f.doc_end);
                    cur.doc_token_end = cur.doc_token_end.max(f.doc_token_end);
                    cur.work_end = cur.work_end.max(f.work_end);
                    cur.work_token_end = cur.work_token_end.max(f.work_token_end);
                    continue;
                }
            }
            out.push(f);
        }
        out
    }

    /// Threshold, then keep the strongest of overlapping findings.
    fn select(&self, mut found: Vec<Finding>) -> Vec<Finding> {
        found.retain(|f| f.words >= self.min_words);
        found.sort_by(|a, b| {
            b.words.cmp(&a.words).then(a.work.cmp(&b.work)).then(a.doc_start.cmp(&b.doc_start))
        });
        let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
        for f in found {
            let len = (f.doc_end - f.doc_start).max(1) as f64;
            let overlapped = kept.iter().any(|k| {
                let o = f.doc_end.min(k.doc_end).saturating_sub(f.doc_start.max(k.doc_start));
                o as f64 / len > self.opts.max_overlap
            });
            if !overlapped {
                kept.push(f);
            }
        }
        kept.sort_by_key(|f| (f.doc_start, f.work, f.work_start));
        kept
    }
}
