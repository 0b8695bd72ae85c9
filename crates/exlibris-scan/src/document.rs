//! Documents of a corpus, where they came from, and records refused.
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a record came from: enough to find its exact bytes again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The input file.
    pub file: Arc<str>,
    /// 1-based line (JSON Lines), row (Parquet) or record (WARC) number; 1
    /// for a whole-file document.
    pub record: u64,
    /// Byte offset of the record in the file's (decompressed) stream.
    pub offset: u64,
}

/// One document of a corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Its id (from the id field, or the file's path).
    pub id: String,
    /// Its text: findings' `doc_start`/`doc_end` are byte offsets into it.
    pub text: String,
    /// Its URL, when the corpus gives one.
    pub url: Option<String>,
    /// Where it came from.
    pub origin: Origin,
}

/// A record that could not be scanned, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Where it was.
    #[serde(flatten)]
    pub origin: Origin,
    /// Its id, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: record {} (byte {})", self.origin.file, self.origin.record, self.origin.offset)?;
        if let Some(id) = &self.id {
            write!(f, " id {id:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Control characters other than line breaks, tabs and form feeds
/// (without branches, so that [`count_controls`] vectorises).
#[inline]
fn is_control(b: u8) -> bool {
    (b < 0x20) & (b != b'\n') & (b != b'\r') & (b != b'\t') & (b != 0x0c)
}

/// How many bytes of `bytes` are [`is_control`]: counted in 32 byte lanes
/// of at most 255 per lane, which the compiler turns into vector compares
/// (a filtered count did not vectorise: 3 % of a scan's time).
fn count_controls(bytes: &[u8]) -> usize {
    const LANES: usize = 32;
    let mut total = 0;
    for part in bytes.chunks(255 * LANES) {
        let mut lanes = [0u8; LANES];
        let mut chunks = part.chunks_exact(LANES);
        for c in &mut chunks {
            for (n, &b) in lanes.iter_mut().zip(c) {
                *n += is_control(b) as u8;
            }
        }
        total += lanes.iter().map(|&n| n as usize).sum::<usize>();
        total += chunks.remainder().iter().filter(|&&b| is_control(b)).count();
    }
    total
}

/// Check a decoded text: refuse empty and binary documents (a NUL byte, or
/// more than 10 % control characters in the first 64 KiB).
pub fn check_text(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty document".into());
    }
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    let controls = count_controls(sample);
    let nul = memchr::memchr(0, sample).is_some();
    if nul || controls * 10 > sample.len() {
        return Err(format!(
            "binary content ({controls} control characters in the first {} bytes)",
            sample.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_counted_in_lanes_as_one_by_one() {
        let mut x: u32 = 9;
        let bytes: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8 % 40
            })
            .collect();
        for len in [0, 1, 31, 32, 33, 255 * 32, 255 * 32 + 7, 20_000] {
            let b = &bytes[..len];
            assert_eq!(count_controls(b), b.iter().filter(|&&c| is_control(c)).count(), "{len}");
        }
        let all = vec![1u8; 255 * 32 * 2 + 5];
        assert_eq!(count_controls(&all), all.len());
    }
}
