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

/// Check a decoded text: refuse empty and binary documents (a NUL byte, or
/// more than 10 % control characters in the first 64 KiB).
pub fn check_text(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty document".into());
    }
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    // A branch-free count (it vectorises).
    let controls = sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    let nul = memchr::memchr(0, sample).is_some();
    if nul || controls * 10 > sample.len() {
        return Err(format!(
            "binary content ({controls} control characters in the first {} bytes)",
            sample.len()
        ));
    }
    Ok(())
}
