//! Verification and alignment of candidate matches on real tokens.
//!
//! Fingerprint hits only say "these shingles hash alike". Before anything is
//! reported, the tokens on both sides are compared by their normalised
//! forms: anchors whose words differ (hash collisions) are dropped, and the
//! match is walked between anchors and extended outwards with a small
//! tolerance for edits (a substituted, inserted or deleted word, an OCR
//! error), so a passage with noise comes out as one span pair whose ends are
//! real shared words.

use crate::token::{Token, Tokenizer};

/// A run of tokens of one text, with the hashes of their normalised forms.
///
/// Words compare by that 64-bit hash. For words of up to 8 bytes (most
/// words) the hash is a bijection of the normalised form
/// ([`crate::hash_word`]), so equal hashes are equal words; for longer words
/// two different words agree with a chance of about 2⁻⁶⁴.
#[derive(Default, Clone, Debug)]
pub struct Region {
    /// Index (in the whole text) of the first token held.
    pub first: u32,
    tokens: Vec<Token>,
}

impl Region {
    /// Tokens `from_token..until_token` of `text`, tokenising from byte
    /// `start_byte`, which must be the start of token `start_token`
    /// (`start_token <= from_token`).
    pub fn load(
        &mut self,
        text: &str,
        start_byte: usize,
        start_token: u32,
        from_token: u32,
        until_token: u32,
    ) {
        self.tokens.clear();
        self.first = from_token;
        let mut t = Tokenizer::hashing_at(text, start_byte);
        let mut i = start_token;
        while i < until_token {
            let Some(batch) = t.next_tokens() else { break };
            // Tokens `i..i + batch.len()`: keep those in `from..until`.
            let skip = from_token.saturating_sub(i) as usize;
            let take = (until_token - i) as usize;
            if skip < take.min(batch.len()) {
                self.tokens.extend_from_slice(&batch[skip..take.min(batch.len())]);
            }
            i = i.saturating_add(batch.len() as u32);
        }
    }

    /// Number of tokens held.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Token `i` (relative to [`Region::first`]).
    pub fn token(&self, i: usize) -> Token {
        self.tokens[i]
    }

    /// Whether token `i` of this region and token `j` of `other` are the
    /// same normalised word.
    #[inline]
    pub fn same_word(&self, i: usize, other: &Region, j: usize) -> bool {
        self.tokens[i].hash == other.tokens[j].hash
    }
}

/// Tolerances of the alignment walk.
#[derive(Clone, Copy, Debug)]
pub struct AlignParams {
    /// Words per shingle: an anchor covers this many tokens.
    pub k: u32,
    /// Most words skipped on either side at one edit.
    pub max_skip: usize,
    /// Consecutive equal words needed to accept an edit inside the match.
    pub confirm_inside: usize,
    /// Consecutive equal words needed to accept an edit while extending
    /// past the outer anchors (stricter: nothing anchors us there).
    pub confirm_outside: usize,
}

impl AlignParams {
    /// Defaults for shingles of `k` words.
    pub fn new(k: u32) -> Self {
        AlignParams { k, max_skip: 3, confirm_inside: 2, confirm_outside: 3 }
    }
}

/// An aligned pair of token ranges (relative to the two regions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alignment {
    /// First document token (relative).
    pub doc_begin: usize,
    /// One past the last document token.
    pub doc_end: usize,
    /// First work token (relative).
    pub work_begin: usize,
    /// One past the last work token.
    pub work_end: usize,
    /// Token pairs that are equal words.
    pub matched: usize,
    /// Anchors that survived verification.
    pub anchors: usize,
    /// The extension past the outer anchors met the end of a region (or
    /// looked past it): a larger region could give a longer alignment.
    pub clipped: bool,
}

/// Align `doc` and `work` through `anchors`: (doc token, work token) pairs,
/// relative to the regions, sorted by document token. `None` when no anchor
/// survives verification.
pub fn align(doc: &Region, work: &Region, anchors: &[(usize, usize)], p: &AlignParams) -> Option<Alignment> {
    let k = p.k as usize;
    let eq = |d: usize, w: usize| doc.same_word(d, work, w);
    let verified = |&&(d, w): &&(usize, usize)| {
        d + k <= doc.len() && w + k <= work.len() && (0..k).all(|i| eq(d + i, w + i))
    };
    let mut it = anchors.iter().filter(verified);
    let &(d0, w0) = it.next()?;
    let (mut cd, mut cw) = (d0 + k, w0 + k);
    let mut matched = k;
    let mut count = 1;
    for &(ad, aw) in it {
        if ad >= cd && aw >= cw {
            let (m, _, _, _) =
                walk(ad - cd, aw - cw, |i, j| eq(cd + i, cw + j), p.confirm_inside, p.max_skip);
            matched += m + k;
            (cd, cw) = (ad + k, aw + k);
            count += 1;
        } else if cd - ad.min(cd) == cw - aw.min(cw) && ad + k > cd && aw + k > cw {
            // Overlapping shingle on the same diagonal.
            matched += ad + k - cd;
            (cd, cw) = (ad + k, aw + k);
            count += 1;
        }
    }
    // Extend forwards past the last anchor…
    let (mf, ei, ej, clip_f) =
        walk(doc.len() - cd, work.len() - cw, |i, j| eq(cd + i, cw + j), p.confirm_outside, p.max_skip);
    // …and backwards before the first.
    let (mb, bi, bj, clip_b) = walk(d0, w0, |i, j| eq(d0 - 1 - i, w0 - 1 - j), p.confirm_outside, p.max_skip);
    Some(Alignment {
        doc_begin: d0 - bi,
        doc_end: cd + ei,
        work_begin: w0 - bj,
        work_end: cw + ej,
        matched: matched + mf + mb,
        anchors: count,
        clipped: clip_f || clip_b,
    })
}

/// Greedy walk over positions `(i, j)` from `(0, 0)` while `i < dn`,
/// `j < wn`: equal words are taken; at a difference, the smallest skip of at
/// most `max_skip` words on each side after which `confirm` words are equal
/// is taken; if none, the walk stops. Returns (matched words, one past the
/// last matched `i`, one past the last matched `j`, whether the bounds
/// `dn`/`wn` decided anything: the walk reached one, or a skip it tried
/// looked past one).
pub fn walk(
    dn: usize,
    wn: usize,
    eq: impl Fn(usize, usize) -> bool,
    confirm: usize,
    max_skip: usize,
) -> (usize, usize, usize, bool) {
    let (mut i, mut j) = (0, 0);
    let (mut matched, mut ei, mut ej) = (0, 0, 0);
    let mut bounded = false;
    while i < dn && j < wn {
        if eq(i, j) {
            i += 1;
            j += 1;
            matched += 1;
            (ei, ej) = (i, j);
            continue;
        }
        let mut next = None;
        'search: for total in 1..=2 * max_skip {
            for a in total.saturating_sub(max_skip)..=total.min(max_skip) {
                let b = total - a;
                let ok = (0..confirm).all(|c| {
                    let (x, y) = (i + a + c, j + b + c);
                    if x >= dn || y >= wn {
                        bounded = true;
                        return false;
                    }
                    eq(x, y)
                });
                if ok {
                    next = Some((a, b));
                    break 'search;
                }
            }
        }
        match next {
            Some((a, b)) => {
                i += a;
                j += b;
            }
            None => break,
        }
    }
    (matched, ei, ej, bounded || i >= dn || j >= wn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(text: &str) -> Region {
        let mut r = Region::default();
        r.load(text, 0, 0, 0, u32::MAX);
        r
    }

    #[test]
    fn walk_tolerates_edits() {
        let a: Vec<&str> = "a b c d e f g h i j".split(' ').collect();
        let b: Vec<&str> = "a b x d e f very g h i j".split(' ').collect();
        let (m, ei, ej, bounded) = walk(a.len(), b.len(), |i, j| a[i] == b[j], 2, 3);
        assert_eq!((m, ei, ej), (9, 10, 11));
        assert!(bounded, "the walk ran to the end");
    }

    #[test]
    fn walk_stops_at_unrelated_text() {
        let a: Vec<&str> = "a b c p q r s t".split(' ').collect();
        let b: Vec<&str> = "a b c x y z u v".split(' ').collect();
        assert_eq!(walk(a.len(), b.len(), |i, j| a[i] == b[j], 2, 3), (3, 3, 3, false));
        // Two words fewer and the skips it tries look past the end.
        assert!(walk(a.len() - 2, b.len() - 2, |i, j| a[i] == b[j], 2, 3).3);
    }

    #[test]
    fn align_extends_to_the_true_boundaries() {
        let doc = region(
            "unrelated words here then the quick brown fox jumps over the lazy dog again and again end",
        );
        let work =
            region("once upon a time the quick brown fox jumps over the lazy dog again and again finis");
        // One anchor in the middle: "jumps over the lazy dog" (k = 5).
        let anchors = [(8, 8)];
        let al = align(&doc, &work, &anchors, &AlignParams::new(5)).unwrap();
        assert_eq!((al.doc_begin, al.doc_end), (4, 16));
        assert_eq!((al.work_begin, al.work_end), (4, 16));
        assert_eq!(al.matched, 12);
    }

    #[test]
    fn unverifiable_anchors_are_dropped() {
        let doc = region("a b c d e f");
        let work = region("a b c d x f");
        assert_eq!(align(&doc, &work, &[(0, 0)], &AlignParams::new(5)), None);
    }
}
