//! The text store: each work's text, zstd-compressed in blocks cut at token
//! starts, so that a region of a work (for verification, extension and
//! evidence excerpts) is read by decompressing a block or two.
//!
//! Blocks are small (2 KiB), so a read decompresses little, and compressed
//! with a zstd dictionary trained on the catalog, which recovers the ratio
//! that small blocks lose. Measured on the bench's catalog of 10⁸ words:
//! 8 KiB, 2 KiB and 1 KiB blocks gave texts of 241.6, 241.4 and 254.8 MB,
//! and a scan of its 1× corpus spent 0.81–0.91, 0.44–0.47 and 0.40–0.41 s
//! reading regions.
//!
//! ```text
//! dictionary:  zstd dictionary (may be empty)
//! blocks:      compressed bytes, block after block, works in index order
//! directory:   [work << 32 | first token, first byte, data offset,
//!               compressed len << 32 | raw len, first checkpoint] × n
//! checkpoints: u32 × m: byte offset in its block of every 64th token
//! trailer:     n: u64, m: u64, data length (dictionary included): u64, dictionary length: u64
//! ```
//! Checkpoints let a reader start tokenising near the token it needs
//! instead of at the start of the block.
use std::path::Path;

use crate::error::{IndexError, Result};
use crate::format::ComponentWriter;

/// Component kind of the text store.
pub const KIND: &[u8; 4] = b"TEXT";
/// Its format version.
pub const VERSION: u32 = 3;
/// Target uncompressed size of a block.
pub const BLOCK_BYTES: usize = 2 * 1024;
/// Most bytes of a trained dictionary.
pub const DICT_BYTES: usize = 64 * 1024;
const LEVEL: i32 = 3;

/// One compressed block of a work, ready to be appended.
pub struct Block {
    first_token: u32,
    first_byte: u64,
    raw_len: u32,
    data: Vec<u8>,
    checkpoints: Vec<u32>,
}

/// Tokens between checkpoints.
pub const CHECKPOINT_TOKENS: u32 = 64;

/// Train a compression dictionary on samples of the catalog's text; empty
/// when there is too little text to train on.
pub fn train_dictionary(samples: &[Vec<u8>]) -> Vec<u8> {
    if samples.iter().map(Vec::len).sum::<usize>() < 16 * DICT_BYTES {
        return Vec::new();
    }
    zstd::dict::from_samples(samples, DICT_BYTES).unwrap_or_default()
}

/// A prepared compression dictionary, shared by the threads of a build.
pub struct BlockCompressor {
    dict: Option<zstd::dict::EncoderDictionary<'static>>,
}

impl BlockCompressor {
    /// Compress with `dict` (may be empty).
    pub fn new(dict: &[u8]) -> Self {
        BlockCompressor { dict: (!dict.is_empty()).then(|| zstd::dict::EncoderDictionary::copy(dict, LEVEL)) }
    }

    fn compressor(&self) -> zstd::bulk::Compressor<'_> {
        match &self.dict {
            Some(d) => zstd::bulk::Compressor::with_prepared_dictionary(d),
            None => zstd::bulk::Compressor::new(LEVEL),
        }
        .expect("zstd compression context")
    }
}

/// Where a work's text is cut into blocks, decided token by token while
/// the text is fingerprinted: a block starts at the first token start at
/// least [`BLOCK_BYTES`] after the previous block's start, and every
/// [`CHECKPOINT_TOKENS`]th token of a block is a checkpoint.
#[derive(Debug)]
pub struct BlockCuts {
    /// `(first token, first byte, checkpoints)` of each block.
    blocks: Vec<(u32, usize, Vec<u32>)>,
}

impl Default for BlockCuts {
    fn default() -> Self {
        BlockCuts { blocks: vec![(0, 0, Vec::new())] }
    }
}

impl BlockCuts {
    /// The next token starts at byte `byte` (tokens in order).
    #[inline]
    pub fn token(&mut self, token: u32, byte: usize) {
        let last = self.blocks.last_mut().expect("a block");
        if byte >= last.1 + BLOCK_BYTES {
            self.blocks.push((token, byte, Vec::new()));
        } else if token > last.0 && (token - last.0).is_multiple_of(CHECKPOINT_TOKENS) {
            last.2.push((byte - last.1) as u32);
        }
    }
}

/// Cut `text` into the blocks of `cuts` and compress them. Runs in
/// parallel per work.
pub fn compress_blocks(text: &str, cuts: BlockCuts, bc: &BlockCompressor) -> Vec<Block> {
    let mut zc = bc.compressor();
    let mut blocks = Vec::with_capacity(cuts.blocks.len());
    let mut it = cuts.blocks.into_iter().peekable();
    while let Some((first_token, start, checkpoints)) = it.next() {
        let end = it.peek().map_or(text.len(), |c| c.1);
        let raw = &text.as_bytes()[start..end];
        let data = zc.compress(raw).expect("zstd compression of a memory buffer");
        blocks.push(Block {
            first_token,
            first_byte: start as u64,
            raw_len: raw.len() as u32,
            data,
            checkpoints,
        });
    }
    blocks
}

/// Appends works' blocks and writes the store.
pub struct TextStoreWriter {
    out: ComponentWriter,
    dir: Vec<[u64; 5]>,
    checkpoints: Vec<u32>,
    dict_len: u64,
}

impl TextStoreWriter {
    /// Create the store at `path`, with the compression dictionary `dict`.
    pub fn create(path: &Path, dict: &[u8]) -> Result<Self> {
        let mut out = ComponentWriter::create(path, KIND, VERSION)?;
        out.write(dict)?;
        Ok(TextStoreWriter { out, dir: Vec::new(), checkpoints: Vec::new(), dict_len: dict.len() as u64 })
    }

    /// Append the blocks of work `work` (works must come in index order).
    pub fn add(&mut self, work: u32, blocks: Vec<Block>) -> Result<()> {
        for b in blocks {
            let offset = self.out.body_len();
            self.dir.push([
                ((work as u64) << 32) | b.first_token as u64,
                b.first_byte,
                offset,
                ((b.data.len() as u64) << 32) | b.raw_len as u64,
                self.checkpoints.len() as u64,
            ]);
            self.checkpoints.extend_from_slice(&b.checkpoints);
            self.out.write(&b.data)?;
        }
        Ok(())
    }

    /// Write the directory and the footer; returns the checksum.
    pub fn finish(mut self) -> Result<u64> {
        // Pad so that the directory is 8-byte aligned.
        let pad = (8 - self.out.body_len() % 8) % 8;
        self.out.write(&vec![0u8; pad as usize])?;
        let data_len = self.out.body_len();
        for rec in &self.dir {
            for v in rec {
                self.out.write(&v.to_le_bytes())?;
            }
        }
        for c in &self.checkpoints {
            self.out.write(&c.to_le_bytes())?;
        }
        if self.checkpoints.len() % 2 == 1 {
            self.out.write(&[0u8; 4])?;
        }
        self.out.write(&(self.dir.len() as u64).to_le_bytes())?;
        self.out.write(&(self.checkpoints.len() as u64).to_le_bytes())?;
        self.out.write(&data_len.to_le_bytes())?;
        self.out.write(&self.dict_len.to_le_bytes())?;
        self.out.finish()
    }
}

/// A region of a work's text, starting at a token start. Reused across
/// reads: it keeps a decompression context and the last 32 blocks it
/// decompressed (256 KiB), and a read of the blocks it holds already copies
/// nothing.
#[derive(Debug, Default, Clone)]
pub struct TextRegion {
    /// The text.
    pub text: String,
    /// Byte offset of `text` in the work.
    pub first_byte: u64,
    /// Index of the first token of `text` in the work.
    pub first_token: u32,
    /// A token start at or before the token asked for: (token, byte offset in `text`).
    pub restart: (u32, usize),
    held: Option<std::ops::Range<usize>>,
    dctx: Dctx,
}

/// Decompressed blocks kept per reader ([`TextRegion`]): a finding's
/// verification, its redo on wider regions, its excerpt and the next chain
/// in the same passage usually read the same blocks again.
const CACHED_BLOCKS: usize = 32;

/// A zstd decompression context, created on first use, and the blocks it
/// decompressed last (least recently used goes first).
#[derive(Default)]
struct Dctx {
    dec: Option<zstd::bulk::Decompressor<'static>>,
    /// (block, last use, bytes).
    blocks: Vec<(usize, u64, Vec<u8>)>,
    clock: u64,
}

impl Clone for Dctx {
    fn clone(&self) -> Self {
        Dctx::default()
    }
}

impl std::fmt::Debug for Dctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dctx")
    }
}

/// Read side of the text store.
pub struct TextStore<'a> {
    data: &'a [u8],
    dict: &'a [u8],
    dir: &'a [[u64; 5]],
    checkpoints: &'a [u32],
    path: &'a Path,
}

impl<'a> TextStore<'a> {
    /// Interpret a verified component body, checking every directory record.
    pub fn new(body: &'a [u8], path: &'a Path) -> Result<Self> {
        Self::parse(body, path, true)
    }

    /// Interpret a body already checked by [`TextStore::new`].
    pub(crate) fn trusted(body: &'a [u8], path: &'a Path) -> Self {
        Self::parse(body, path, false).expect("checked when the index was opened")
    }

    fn parse(body: &'a [u8], path: &'a Path, check: bool) -> Result<Self> {
        let corrupt = |reason: &str| IndexError::Corrupt { path: path.to_path_buf(), reason: reason.into() };
        if body.len() < 32 || !body.len().is_multiple_of(8) {
            return Err(corrupt("text store too short or misaligned"));
        }
        let tail = &body[body.len() - 32..];
        let word = |i: usize| u64::from_le_bytes(tail[i * 8..i * 8 + 8].try_into().unwrap()) as usize;
        let (n, m, data_len, dict_len) = (word(0), word(1), word(2), word(3));
        if dict_len > data_len {
            return Err(corrupt("dictionary longer than the data"));
        }
        let dir_len = n.checked_mul(40).ok_or_else(|| corrupt("bad block count"))?;
        let cp_len = m.checked_mul(4).ok_or_else(|| corrupt("bad checkpoint count"))?.next_multiple_of(8);
        if [data_len, dir_len, cp_len].iter().try_fold(0usize, |a, &b| a.checked_add(b))
            != Some(body.len() - 32)
        {
            return Err(corrupt("text store size does not match its trailer"));
        }
        let dir: &[[u64; 5]] = bytemuck::try_cast_slice(&body[data_len..data_len + dir_len])
            .map_err(|_| corrupt("misaligned directory"))?;
        let checkpoints: &[u32] =
            bytemuck::try_cast_slice(&body[data_len + dir_len..data_len + dir_len + m * 4])
                .map_err(|_| corrupt("misaligned checkpoints"))?;
        for (i, rec) in dir.iter().enumerate().filter(|_| check) {
            let (off, clen) = (rec[2] as usize, (rec[3] >> 32) as usize);
            if off.checked_add(clen).is_none_or(|e| e > data_len) {
                return Err(corrupt("block outside the data"));
            }
            let next = dir.get(i + 1).map_or(m as u64, |r| r[4]);
            if rec[4] > next || next > m as u64 {
                return Err(corrupt("checkpoints out of order"));
            }
        }
        Ok(TextStore { data: &body[..data_len], dict: &body[..dict_len], dir, checkpoints, path })
    }

    fn blocks_of(&self, work: u32) -> std::ops::Range<usize> {
        let lo = self.dir.partition_point(|r| ((r[0] >> 32) as u32) < work);
        let hi = self.dir.partition_point(|r| ((r[0] >> 32) as u32) <= work);
        lo..hi
    }

    /// Block `i`, decompressed (or from the cache of `dctx`).
    fn block<'d>(&self, i: usize, dctx: &'d mut Dctx) -> Result<&'d [u8]> {
        dctx.clock += 1;
        let now = dctx.clock;
        if let Some(at) = dctx.blocks.iter().position(|b| b.0 == i) {
            dctx.blocks[at].1 = now;
            return Ok(&dctx.blocks[at].2);
        }
        let at = if dctx.blocks.len() < CACHED_BLOCKS {
            dctx.blocks.push((i, now, Vec::new()));
            dctx.blocks.len() - 1
        } else {
            let (at, _) = dctx.blocks.iter().enumerate().min_by_key(|(_, b)| b.1).expect("a full cache");
            at
        };
        let mut bytes = std::mem::take(&mut dctx.blocks[at].2);
        bytes.clear();
        let done = self.decompress(i, &mut bytes, &mut dctx.dec);
        dctx.blocks[at] = (if done.is_ok() { i } else { usize::MAX }, now, bytes);
        done?;
        Ok(&dctx.blocks[at].2)
    }

    fn decompress(
        &self,
        i: usize,
        into: &mut Vec<u8>,
        dec: &mut Option<zstd::bulk::Decompressor<'static>>,
    ) -> Result<()> {
        let rec = self.dir[i];
        let (off, clen, raw) = (rec[2] as usize, (rec[3] >> 32) as usize, (rec[3] & 0xFFFF_FFFF) as usize);
        let start = into.len();
        into.resize(start + raw, 0);
        let corrupt = |e: std::io::Error| IndexError::Corrupt {
            path: self.path.to_path_buf(),
            reason: format!("text block {i}: {e}"),
        };
        if dec.is_none() {
            *dec = Some(
                match self.dict {
                    [] => zstd::bulk::Decompressor::new(),
                    d => zstd::bulk::Decompressor::with_dictionary(d),
                }
                .map_err(corrupt)?,
            );
        }
        let d = dec.as_mut().expect("just created");
        let n = d.decompress_to_buffer(&self.data[off..off + clen], &mut into[start..]).map_err(corrupt)?;
        if n != raw {
            return Err(IndexError::Corrupt {
                path: self.path.to_path_buf(),
                reason: format!("text block {i}: {n} bytes where {raw} were recorded"),
            });
        }
        Ok(())
    }

    /// The text of `work` covering tokens `from_token..until_token` (at
    /// least), starting at a block boundary.
    pub fn region(&self, work: u32, from_token: u32, until_token: u32, out: &mut TextRegion) -> Result<()> {
        let range = self.blocks_of(work);
        if range.is_empty() {
            out.held = None;
            out.restart = (0, 0);
            out.text.clear();
            (out.first_byte, out.first_token) = (0, 0);
            return Ok(());
        }
        let blocks = &self.dir[range.clone()];
        let first = range.start + blocks.partition_point(|r| (r[0] as u32) <= from_token).saturating_sub(1);
        let mut last = first + 1;
        while last < range.end && (self.dir[last][0] as u32) < until_token {
            last += 1;
        }
        let rec = self.dir[first];
        let cps_end = self.dir.get(first + 1).map_or(self.checkpoints.len() as u64, |r| r[4]) as usize;
        let cps = &self.checkpoints[rec[4] as usize..cps_end];
        let j = (from_token.saturating_sub(rec[0] as u32) / CHECKPOINT_TOKENS) as usize;
        out.restart = match j.min(cps.len()) {
            0 => (rec[0] as u32, 0),
            j => (rec[0] as u32 + j as u32 * CHECKPOINT_TOKENS, cps[j - 1] as usize),
        };
        if out.held == Some(first..last) {
            return Ok(());
        }
        out.held = None;
        let mut bytes = std::mem::take(&mut out.text).into_bytes();
        bytes.clear();
        for i in first..last {
            bytes.extend_from_slice(self.block(i, &mut out.dctx)?);
        }
        out.first_byte = self.dir.get(first).map_or(0, |r| r[1]);
        out.first_token = self.dir.get(first).map_or(0, |r| r[0] as u32);
        out.text = String::from_utf8(bytes).map_err(|_| IndexError::Corrupt {
            path: self.path.to_path_buf(),
            reason: format!("text of work {work} is not UTF-8"),
        })?;
        out.held = Some(first..last);
        Ok(())
    }

    /// Up to `max` bytes of `work`'s text from byte `from` (a character
    /// boundary), cut at a character boundary: the evidence excerpt of a
    /// finding. Uses `scratch`'s buffers (and forgets what it held).
    pub fn excerpt(&self, work: u32, from: u64, max: usize, scratch: &mut TextRegion) -> Result<String> {
        let range = self.blocks_of(work);
        // Usually the region just verified holds it already.
        if let Some(held) = scratch.held.clone().filter(|h| range.contains(&h.start)) {
            let end = scratch.first_byte + scratch.text.len() as u64;
            let whole = held.end == range.end || from + max as u64 <= end;
            if from >= scratch.first_byte && from <= end && whole {
                let rest = &scratch.text[(from - scratch.first_byte) as usize..];
                return Ok(exlibris_text::truncate_at_char(rest, max).to_string());
            }
        }
        scratch.held = None;
        let blocks = &self.dir[range.clone()];
        let first = range.start + blocks.partition_point(|r| r[1] <= from).saturating_sub(1);
        let Some(rec) = self.dir.get(first).filter(|_| !range.is_empty()) else { return Ok(String::new()) };
        let base = rec[1];
        let mut bytes = std::mem::take(&mut scratch.text).into_bytes();
        bytes.clear();
        let mut i = first;
        while i < range.end && (bytes.len() as u64) < from - base + max as u64 {
            bytes.extend_from_slice(self.block(i, &mut scratch.dctx)?);
            i += 1;
        }
        let text = String::from_utf8(bytes).map_err(|_| IndexError::Corrupt {
            path: self.path.to_path_buf(),
            reason: format!("text of work {work} is not UTF-8"),
        })?;
        let at = ((from - base) as usize).min(text.len());
        let out = text
            .get(at..)
            .map_or_else(String::new, |rest| exlibris_text::truncate_at_char(rest, max).to_string());
        scratch.text = text;
        Ok(out)
    }

    /// The whole text of `work`.
    pub fn work_text(&self, work: u32) -> Result<String> {
        let mut r = TextRegion::default();
        self.region(work, 0, u32::MAX, &mut r)?;
        Ok(r.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_cuts_start_at_token_starts_and_checkpoint_every_64th_token() {
        // Token starts of words of varying length.
        let mut starts = Vec::new();
        let mut byte = 3;
        for t in 0..5_000u32 {
            starts.push((t, byte));
            byte += 2 + (t as usize * 7919) % 13;
        }
        let mut cuts = BlockCuts::default();
        for &(t, b) in &starts {
            cuts.token(t, b);
        }
        // The same cuts, decided with all token starts at hand.
        let mut want: Vec<(u32, usize)> = vec![(0, 0)];
        for &(t, b) in &starts {
            if b >= want.last().unwrap().1 + BLOCK_BYTES {
                want.push((t, b));
            }
        }
        assert!(want.len() > 10);
        assert_eq!(cuts.blocks.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(), want);
        for (i, (tok, start, checkpoints)) in cuts.blocks.iter().enumerate() {
            let end = want.get(i + 1).map_or(u32::MAX, |c| c.0);
            let expect: Vec<u32> = starts
                .iter()
                .filter(|&&(t, _)| t > *tok && t < end && (t - tok) % CHECKPOINT_TOKENS == 0)
                .map(|&(_, b)| (b - start) as u32)
                .collect();
            assert_eq!(checkpoints, &expect, "block {i}");
        }
    }
}
