//! The exlibris vocabulary: normalised words with byte offsets, shingles,
//! winnowing and alignment. No I/O: every other crate builds on this one.
//!
//! - [`Tokenizer`] turns text into [`Token`]s, each the byte range of one
//!   word in the original and the hash of its normalised form.
//! - [`fingerprint_text`] hashes shingles of `k` words and winnows them
//!   ([`Winnower`]) so that any shared run of
//!   [`FingerprintSettings::guarantee`] words shares a [`Fingerprint`].
//! - [`align`] verifies candidate matches on the words themselves and
//!   extends them to their true boundaries.
//! - [`html::html_to_text`] (feature `html`) turns HTML and XHTML into text.
//!
//! ```
//! use exlibris_text::{fingerprints, FingerprintSettings};
//! let s = FingerprintSettings::default();
//! let work = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.";
//! let doc = "As they say: IT IS A TRUTH universally acknowledged that a single man in\npossession of a good fortune must be in want of a wife!";
//! let a: Vec<u64> = fingerprints(work, &s).iter().map(|f| f.hash).collect();
//! assert!(fingerprints(doc, &s).iter().any(|f| a.contains(&f.hash)));
//! ```
#![deny(missing_docs)]

mod align;
#[cfg(feature = "html")]
pub mod html;
mod token;
mod winnow;

pub use align::{align, walk, AlignParams, Alignment, Region};
pub use token::{hash_word, is_word_char, normalized_words, Token, Tokenizer, NORMALIZER_VERSION};
pub use winnow::{
    fingerprint_hash, fingerprint_text, fingerprints, shingle_hash, Fingerprint, FingerprintSettings,
    Winnower,
};

/// A half-open byte range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Span {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Span {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True for an empty range.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Merge overlapping or touching ranges; the result is sorted and disjoint.
pub fn union_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| !s.is_empty());
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char
/// boundary.
pub fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_and_sorts() {
        let s = |a, b| Span { start: a, end: b };
        assert_eq!(
            union_spans(vec![s(5, 9), s(0, 2), s(2, 3), s(8, 12), s(20, 20)]),
            vec![s(0, 3), s(5, 12)]
        );
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_at_char("héllo", 2), "h");
        assert_eq!(truncate_at_char("héllo", 3), "hé");
    }
}
