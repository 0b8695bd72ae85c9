//! Words with byte offsets: the normaliser.
//!
//! A *token* is a maximal run of word characters (Unicode letters, digits and
//! combining marks). What sits between tokens — whitespace, punctuation,
//! typographic quotes and dashes — is ignored, which is what makes matching
//! survive re-wrapping and re-typesetting. Inside a token:
//!
//! - apostrophes (`'`, `’`, `ʼ`) between word characters are dropped, so
//!   `don't` and `don’t` are both `dont`;
//! - soft hyphens and zero-width characters are dropped;
//! - a hyphen at a line break joins the two halves (`exam-\nple` is
//!   `example`), with any spaces around the line break;
//! - the text is folded: NFKC (so ligatures such as `ﬁ` become `fi`),
//!   lower case, and `ß` as `ss`.
//!
//! Every token keeps the byte range of the original text it came from, so a
//! match found on normalised tokens always points at real bytes.
//!
//! The tokeniser is *restartable*: started at the first byte of any token,
//! it yields exactly the tokens that a run from the start of the text yields
//! from that token on. The index stores work text in blocks cut at token
//! starts, and the scanner re-reads document regions from checkpoints, both
//! relying on this.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Version of the normalisation rules. Stored in every index: changing the
/// rules changes every fingerprint.
pub const NORMALIZER_VERSION: u32 = 4;

/// One word of a text: its byte range in the original and the hash of its
/// normalised form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// First byte of the token in the original text.
    pub start: usize,
    /// One past the last byte of the token in the original text.
    pub end: usize,
    /// 64-bit hash of the normalised form.
    pub hash: u64,
}

/// Streaming tokeniser over a UTF-8 text.
///
/// ```
/// use exlibris_text::Tokenizer;
/// let mut t = Tokenizer::new("The ﬁrst exam-\nple, don’t!");
/// let mut words = Vec::new();
/// while let Some(_tok) = t.next_token() {
///     words.push(t.normalized().to_string());
/// }
/// assert_eq!(words, ["the", "first", "example", "dont"]);
/// ```
pub struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
    /// Keep the normalised form of ASCII tokens (non-ASCII tokens always
    /// build it: their hash is computed from it).
    keep: bool,
    norm: String,
    scratch: String,
    /// Where the fast path's next search begins (`pos` is the end of the
    /// token last returned).
    scan: usize,
    /// Plain ASCII words found by the fast path in one window, not yet
    /// returned: `ready[head..len]`.
    ready: [Token; READY],
    head: usize,
    len: usize,
}

/// Most words in 64 bytes: each needs a byte of its own and one between.
const READY: usize = 32;

/// ASCII letters and digits.
static ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

/// Bit masks of 64 bytes of a text: bit `i` stands for byte `base + i`.
/// Bytes past the end of the text read as spaces.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// ASCII letters and digits.
    alnum: u64,
    /// Bytes of non-ASCII characters (>= 0x80).
    high: u64,
    /// Bytes that may join a word to what follows when right after it:
    /// non-ASCII, an apostrophe or a hyphen ([`joins_after`] decides).
    may_join: u64,
}

impl Window {
    #[inline]
    fn at(bytes: &[u8], base: usize) -> Window {
        let rest = &bytes[base..];
        let (alnum, high, marks) = match rest.get(..64) {
            Some(b) => masks(b.try_into().expect("64 bytes")),
            None => {
                let mut buf = [b' '; 64];
                buf[..rest.len()].copy_from_slice(rest);
                masks(&buf)
            }
        };
        Window { alnum, high, may_join: high | marks }
    }
}

/// Whether the byte at `end`, right after an ASCII word, joins it to what
/// follows (so the scalar path must read it): a non-ASCII character, an
/// apostrophe before a word character, a hyphen before a line break.
#[inline]
fn joins_after(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => false,
        Some(&b) if b >= 0x80 => true,
        Some(b'\'') => bytes.get(end + 1).is_some_and(|&c| c >= 0x80 || ALNUM[c as usize]),
        Some(b'-') => matches!(bytes.get(end + 1), Some(b' ' | b'\t' | b'\r' | b'\n')),
        Some(_) => false,
    }
}

/// `(ASCII letters and digits, bytes >= 0x80, apostrophes and hyphens)` of
/// 64 bytes, as bit masks.
#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(b: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::*;
    let (mut alnum, mut high, mut marks) = (0u64, 0u64, 0u64);
    for (i, chunk) in b.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics
        // are always available; `chunk` is 16 readable bytes and the load is
        // unaligned.
        let (a, h, q) = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            // Unsigned range checks as signed compares after a shift by
            // 0x80: letters are `b | 0x20` in 'a'..='z', digits `b` in
            // '0'..='9'; bytes >= 0x80 fall outside both.
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let l = _mm_cmplt_epi8(
                _mm_sub_epi8(lower, _mm_set1_epi8((b'a' ^ 0x80) as i8)),
                _mm_set1_epi8(-128 + 26),
            );
            let d =
                _mm_cmplt_epi8(_mm_sub_epi8(v, _mm_set1_epi8((b'0' ^ 0x80) as i8)), _mm_set1_epi8(-128 + 10));
            let q = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\'' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
            );
            (_mm_movemask_epi8(_mm_or_si128(l, d)), _mm_movemask_epi8(v), _mm_movemask_epi8(q))
        };
        alnum |= (a as u16 as u64) << (16 * i);
        high |= (h as u16 as u64) << (16 * i);
        marks |= (q as u16 as u64) << (16 * i);
    }
    (alnum, high, marks)
}

/// `(ASCII letters and digits, bytes >= 0x80, apostrophes and hyphens)` of
/// 64 bytes, as bit masks.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks(b: &[u8; 64]) -> (u64, u64, u64) {
    let (mut alnum, mut high, mut marks) = (0u64, 0u64, 0u64);
    for (i, &c) in b.iter().enumerate() {
        alnum |= (ALNUM[c as usize] as u64) << i;
        high |= ((c >> 7) as u64) << i;
        marks |= (matches!(c, b'\'' | b'-') as u64) << i;
    }
    (alnum, high, marks)
}

const WORD_SEED: u64 = 0x243f_6a88_85a3_08d3;
const WORD_MUL: u64 = 0x9fb2_1c65_1e98_df25;

impl<'a> Tokenizer<'a> {
    /// A tokeniser from the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self::at(text, 0)
    }

    /// A tokeniser starting at byte `pos`, which must be a char boundary
    /// (normally the start of a token).
    pub fn at(text: &'a str, pos: usize) -> Self {
        assert!(text.is_char_boundary(pos), "tokenizer start inside a character");
        Tokenizer {
            text,
            pos,
            keep: true,
            norm: String::with_capacity(32),
            scratch: String::new(),
            scan: pos,
            ready: [Token { start: 0, end: 0, hash: 0 }; READY],
            head: 0,
            len: 0,
        }
    }

    /// A tokeniser that only computes hashes: [`Tokenizer::normalized`] is
    /// then meaningful for non-ASCII tokens only. The fast path of
    /// fingerprinting.
    pub fn hashing(text: &'a str) -> Self {
        Self::hashing_at(text, 0)
    }

    /// [`Tokenizer::hashing`] from byte `pos` (see [`Tokenizer::at`]).
    pub fn hashing_at(text: &'a str, pos: usize) -> Self {
        Tokenizer { keep: false, ..Self::at(text, pos) }
    }

    /// Byte position where the next search for a token begins.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The normalised form of the token last returned.
    pub fn normalized(&self) -> &str {
        &self.norm
    }

    /// The next token, or `None` at the end of the text.
    ///
    /// The fast path reads the plain ASCII words of 64 bytes at a time from
    /// bit masks and hashes each 8 bytes at a time; anything else (a
    /// character that is not ASCII, an apostrophe or a hyphen that may join,
    /// a word of 64 bytes or more) goes through [`Self::next_token_scalar`],
    /// which is the definition. Both give the same tokens.
    #[inline]
    pub fn next_token(&mut self) -> Option<Token> {
        if self.head == self.len && !self.refill() {
            return self.scalar_from_scan();
        }
        let t = self.ready[self.head % READY];
        self.head += 1;
        if self.keep {
            self.norm.clear();
            self.norm.extend(self.text.as_bytes()[t.start..t.end].iter().map(|&b| (b | 0x20) as char));
        }
        self.pos = t.end;
        Some(t)
    }

    /// The next tokens, in order (never an empty slice), or `None` at the
    /// end of the text. The same tokens as [`Self::next_token`] gives one at
    /// a time, without the cost of a call a token; [`Self::normalized`] is
    /// not kept for them.
    #[inline]
    pub fn next_tokens(&mut self) -> Option<&[Token]> {
        if self.head == self.len && !self.refill() {
            self.ready[0] = self.scalar_from_scan()?;
            (self.head, self.len) = (0, 1);
        }
        let (head, len) = (self.head, self.len);
        self.head = len;
        self.pos = self.ready[(len - 1) % READY].end;
        Some(&self.ready[head..len])
    }

    /// The next token by the scalar path, from where the fast path stopped.
    fn scalar_from_scan(&mut self) -> Option<Token> {
        self.pos = self.scan;
        let t = self.next_token_scalar();
        self.scan = self.pos;
        t
    }

    /// Queue the plain ASCII words of the window from `scan`: every word
    /// start is a set bit of the masks, its end the next clear bit of the
    /// letters. Stops before the first word the fast path cannot take;
    /// false when there is none before it (or the text ended), and the
    /// scalar path goes on from `scan`.
    fn refill(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        let ready = &mut self.ready;
        let (mut scan, mut len) = (self.scan, 0);
        let found = 'text: loop {
            if scan >= n {
                break false;
            }
            let base = scan;
            let w = Window::at(bytes, base);
            // Candidate starts: letters, digits and bytes of non-ASCII
            // characters (which may be word characters).
            let mut m = w.alnum | w.high;
            loop {
                if m == 0 {
                    scan = base + 64;
                    break;
                }
                let s = m.trailing_zeros() as usize;
                let run = !w.alnum >> s;
                if (w.high >> s) & 1 == 1 || run == 0 {
                    scan = base + s;
                    if s == 0 || run != 0 {
                        // Not ASCII, or a word of 64 bytes or more.
                        break 'text len > 0;
                    }
                    // The word runs past the window: read on from its start.
                    break;
                }
                let e = s + run.trailing_zeros() as usize;
                let (start, end) = (base + s, base + e);
                if (w.may_join >> e) & 1 == 1 && joins_after(bytes, end) {
                    scan = start;
                    break 'text len > 0;
                }
                // `len` < READY: a window holds at most READY words, and
                // the mask keeps the index in bounds without a check.
                debug_assert!(len < READY);
                ready[len % READY] = Token { start, end, hash: hash_ascii_word(bytes, start, end) };
                len += 1;
                // The word's bytes are letters: the next start is after it.
                m &= !0u64 << e;
            }
            if len > 0 {
                break true;
            }
        };
        self.scan = scan;
        self.head = 0;
        self.len = len;
        found
    }

    /// The next token, one byte at a time: the definition of a token.
    fn next_token_scalar(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        // Skip to the first word character.
        let mut pos = self.pos;
        loop {
            while pos < n && bytes[pos] < 0x80 && !ALNUM[bytes[pos] as usize] {
                pos += 1;
            }
            if pos >= n {
                self.pos = n;
                return None;
            }
            if bytes[pos] < 0x80 {
                break;
            }
            let c = decode_at(self.text, pos);
            if is_word_char(c) {
                break;
            }
            pos += c.len_utf8();
        }
        match self.ascii_token(pos) {
            Some(t) => Some(t),
            None => Some(self.general_token(pos)),
        }
    }

    /// A token made of ASCII only; `None` when a non-ASCII character is met
    /// inside or right after it (the general path then reads it again).
    fn ascii_token(&mut self, start: usize) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        let mut pos = start;
        self.norm.clear();
        loop {
            while pos < n && ALNUM[bytes[pos] as usize] {
                self.norm.push(bytes[pos].to_ascii_lowercase() as char);
                pos += 1;
            }
            let end = pos;
            let next = match bytes.get(pos) {
                Some(&b) if b >= 0x80 => return None,
                Some(b'\'') => match bytes.get(pos + 1) {
                    Some(&c) if c >= 0x80 => return None,
                    Some(&c) if ALNUM[c as usize] => Some(pos + 1),
                    _ => None,
                },
                Some(b'-') => match self.line_break_join(pos + 1) {
                    Some(p) if bytes[p] >= 0x80 => return None,
                    other => other,
                },
                _ => None,
            };
            match next {
                Some(p) => pos = p,
                None => {
                    self.pos = end;
                    return Some(Token { start, end, hash: hash_word(self.norm.as_bytes()) });
                }
            }
        }
    }

    /// Any token: NFKC and case folding of what is not ASCII.
    fn general_token(&mut self, start: usize) -> Token {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        let mut pos = start;
        self.norm.clear();
        let mut ascii = true;
        let mut end = pos;
        while pos < n {
            let b = bytes[pos];
            if b < 0x80 {
                if b.is_ascii_alphanumeric() {
                    self.norm.push(b.to_ascii_lowercase() as char);
                    pos += 1;
                    end = pos;
                    continue;
                }
                let next = match b {
                    b'\'' => self.word_char_after(pos + 1),
                    b'-' => self.line_break_join(pos + 1),
                    _ => None,
                };
                match next {
                    Some(p) => pos = p,
                    None => break,
                }
            } else {
                let c = decode_at(self.text, pos);
                let len = c.len_utf8();
                if is_word_char(c) {
                    ascii = false;
                    self.norm.push(c);
                    pos += len;
                    end = pos;
                    continue;
                }
                let next = match c {
                    '\u{2019}' | '\u{02BC}' => self.word_char_after(pos + len),
                    '\u{00AD}' => self.word_char_after(pos + len).or_else(|| self.line_break_join(pos + len)),
                    '\u{2010}' | '\u{2011}' => self.line_break_join(pos + len),
                    c if is_ignorable(c) => self.word_char_after(pos + len),
                    _ => None,
                };
                match next {
                    Some(p) => pos = p,
                    None => break,
                }
            }
        }
        self.pos = end;
        if !ascii {
            self.fold();
        }
        Token { start, end, hash: hash_word(self.norm.as_bytes()) }
    }

    /// `Some(p)` when a word character starts at `p`.
    fn word_char_after(&self, p: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        if p >= bytes.len() {
            return None;
        }
        let b = bytes[p];
        let word = if b < 0x80 { b.is_ascii_alphanumeric() } else { is_word_char(decode_at(self.text, p)) };
        word.then_some(p)
    }

    /// After a hyphen ending at `p`: spaces, one line break, spaces, then a
    /// word character. Returns where that word character starts.
    fn line_break_join(&self, mut p: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        while p < bytes.len() && (bytes[p] == b' ' || bytes[p] == b'\t') {
            p += 1;
        }
        match bytes.get(p) {
            Some(b'\r') if bytes.get(p + 1) == Some(&b'\n') => p += 2,
            Some(b'\n') | Some(b'\r') => p += 1,
            _ => return None,
        }
        while p < bytes.len() && (bytes[p] == b' ' || bytes[p] == b'\t') {
            p += 1;
        }
        self.word_char_after(p)
    }

    /// NFKC and case folding of a token with non-ASCII characters.
    fn fold(&mut self) {
        self.scratch.clear();
        for c in self.norm.nfkc() {
            if c == 'ß' || c == 'ẞ' {
                self.scratch.push_str("ss");
            } else if c.is_ascii() {
                self.scratch.push(c.to_ascii_lowercase());
            } else {
                self.scratch.extend(c.to_lowercase());
            }
        }
        std::mem::swap(&mut self.norm, &mut self.scratch);
    }
}

/// Decode the char starting at byte `pos` of `s`.
#[inline]
fn decode_at(s: &str, pos: usize) -> char {
    s[pos..].chars().next().expect("position inside the text")
}

/// Letters, digits and combining marks make words.
#[inline]
pub fn is_word_char(c: char) -> bool {
    // The Basic Multilingual Plane from a bitmap made on first use (8 KiB):
    // the standard library's tables are a search per character, which
    // showed in profiles of pages with much non-ASCII text.
    match BMP_WORD_CHARS.get_or_init(bmp_word_chars).get(c as usize / 64) {
        Some(bits) => bits >> (c as usize % 64) & 1 == 1,
        None => is_word_char_slow(c),
    }
}

#[inline]
fn is_word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

static BMP_WORD_CHARS: std::sync::OnceLock<Box<[u64]>> = std::sync::OnceLock::new();

fn bmp_word_chars() -> Box<[u64]> {
    let mut bits = vec![0u64; 0x10000 / 64];
    for (c, b) in (0..0x10000u32).filter_map(|u| char::from_u32(u).map(|c| (c, u as usize))) {
        if is_word_char_slow(c) {
            bits[b / 64] |= 1 << (b % 64);
        }
    }
    bits.into_boxed_slice()
}

/// Invisible characters dropped inside a word.
#[inline]
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Hash of one normalised word: its UTF-8 bytes read as little-endian
/// 64-bit chunks (the last one padded with zeros), each mixed in with one
/// multiplication and a shift. A word of up to 8 bytes costs one chunk,
/// which is what makes the ASCII fast path cheap.
///
/// There is no final avalanche (version 4; 3 had Murmur's finaliser here):
/// a bijection would not change which words collide, and the only other
/// use of the value, the shingle's polynomial, needs well spread high bits,
/// which the multiplication gives. It was a fifth of the normaliser's time.
#[inline]
pub fn hash_word(norm: &[u8]) -> u64 {
    let mut h = WORD_SEED ^ norm.len() as u64;
    let mut chunks = norm.chunks_exact(8);
    for c in &mut chunks {
        h = mix_chunk(h, u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = mix_chunk(h, u64::from_le_bytes(b));
    }
    h
}

#[inline]
fn mix_chunk(h: u64, c: u64) -> u64 {
    let x = (h ^ c).wrapping_mul(WORD_MUL);
    x ^ (x >> 29)
}

/// [`hash_word`] of the lower-cased bytes `start..end` of `bytes`, all ASCII
/// letters and digits (lower case is `| 0x20` for those).
#[inline]
fn hash_ascii_word(bytes: &[u8], start: usize, end: usize) -> u64 {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    let len = end - start;
    let chunks = len.div_ceil(8);
    match bytes.get(start..start + 8 * chunks) {
        Some(b) if len <= 8 => {
            // One chunk: the next arm would give the same, but most words
            // are this short and the loop costs (callgrind on `tokbench`,
            // 684.6 against 690.8 M instructions). Words are never empty:
            // a shift of 0 to 56 bits.
            let keep = u64::MAX >> (64 - 8 * len);
            let c = u64::from_le_bytes(b.try_into().expect("8 bytes")) & keep;
            mix_chunk(WORD_SEED ^ len as u64, c | (LOWER & keep))
        }
        Some(b) => {
            // Longer words: whole chunks read in place, the last one masked
            // to the word (what `hash_word`'s zero padding gives).
            let mut h = WORD_SEED ^ len as u64;
            let (body, last) = b.split_at(8 * (chunks - 1));
            for c in body.chunks_exact(8) {
                h = mix_chunk(h, u64::from_le_bytes(c.try_into().expect("8 bytes")) | LOWER);
            }
            let keep = u64::MAX >> (64 - 8 * (len - 8 * (chunks - 1)));
            let c = u64::from_le_bytes(last.try_into().expect("8 bytes")) & keep;
            mix_chunk(h, c | (LOWER & keep))
        }
        None => {
            // Words at the very end of the text.
            let lower = |b: &u8| b | 0x20;
            let word = &bytes[start..end];
            let mut buf = [0u8; 64];
            match buf.get_mut(..len) {
                Some(dst) => {
                    dst.iter_mut().zip(word).for_each(|(d, b)| *d = lower(b));
                    hash_word(dst)
                }
                None => hash_word(&word.iter().map(lower).collect::<Vec<u8>>()),
            }
        }
    }
}

/// Murmur3's finaliser.
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// All tokens of `text` with their normalised forms (convenience for tests
/// and small texts; the hot paths stream).
pub fn normalized_words(text: &str) -> Vec<(Token, String)> {
    let mut t = Tokenizer::new(text);
    let mut out = Vec::new();
    while let Some(tok) = t.next_token() {
        out.push((tok, t.normalized().to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        normalized_words(s).into_iter().map(|(_, w)| w).collect()
    }

    #[test]
    fn the_word_char_bitmap_agrees_with_the_unicode_tables() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), is_word_char_slow(c), "{c:?} (U+{:04X})", c as u32);
        }
    }

    #[test]
    fn case_punctuation_and_whitespace_are_ignored() {
        assert_eq!(words("  Hello,   WORLD!\n\n--said she."), ["hello", "world", "said", "she"]);
        assert_eq!(words("Hello, world"), words("hello\nworld"));
    }

    #[test]
    fn typography_folds() {
        assert_eq!(words("“Don’t,” she said—"), words("\"Don't,\" she said--"));
        assert_eq!(words("ﬁne ﬂower"), ["fine", "flower"]);
        assert_eq!(words("Straße STRASSE"), ["strasse", "strasse"]);
        assert_eq!(words("ＦＵＬＬ"), ["full"]);
    }

    #[test]
    fn line_break_hyphens_join() {
        assert_eq!(words("exam-\nple"), ["example"]);
        assert_eq!(words("exam- \r\n  ple"), ["example"]);
        assert_eq!(words("exam\u{AD}\nple"), ["example"]);
        assert_eq!(words("soft\u{AD}hyphen"), ["softhyphen"]);
        assert_eq!(words("well-known"), ["well", "known"]);
        assert_eq!(words("end -\nnext"), ["end", "next"]);
        assert_eq!(words("dash-\n\nnew paragraph"), ["dash", "new", "paragraph"]);
    }

    #[test]
    fn offsets_point_at_original_bytes() {
        let text = "«Ça» ﬁt\r\nexam-\r\nple’s café";
        for (tok, norm) in normalized_words(text) {
            let orig = &text[tok.start..tok.end];
            assert!(!orig.is_empty(), "{norm}");
            assert!(orig.chars().next().map(is_word_char).unwrap());
        }
        let got: Vec<&str> = normalized_words(text).iter().map(|(t, _)| &text[t.start..t.end]).collect();
        assert_eq!(got, ["Ça", "ﬁt", "exam-\r\nple’s", "café"]);
        assert_eq!(words(text), ["ça", "fit", "examples", "café"]);
    }

    #[test]
    fn decomposed_and_composed_forms_agree() {
        assert_eq!(words("cafe\u{301}"), words("café"));
    }

    #[test]
    fn the_hashing_fast_path_agrees_with_the_normalised_form() {
        let text = "Plain ASCII words, don't stop; exam-\nple. Mixed: café naïve ﬁne œuvre e\u{301}t\u{e9} Straße’s\n\
                    well-\nknown ＦＵＬＬ x-\n\u{e9}t\u{e9} end";
        let full = normalized_words(text);
        let mut t = Tokenizer::hashing(text);
        let mut fast = Vec::new();
        while let Some(tok) = t.next_token() {
            fast.push(tok);
        }
        assert_eq!(fast, full.iter().map(|(t, _)| *t).collect::<Vec<_>>());
        for (tok, norm) in &full {
            assert_eq!(tok.hash, hash_word(norm.as_bytes()), "{norm}");
        }
    }

    #[test]
    fn ascii_words_hash_in_place_as_their_normalised_form() {
        let text: String =
            (0..200).map(|i| if i % 3 == 0 { 'Q' } else { (b'a' + (i % 26) as u8) as char }).collect();
        let b = text.as_bytes();
        for len in 1..=70 {
            // Away from the end (chunks read in place) and up to the very
            // end (the copy).
            for start in [0, 5, b.len() - len] {
                let lower = text[start..start + len].to_ascii_lowercase();
                assert_eq!(
                    hash_ascii_word(b, start, start + len),
                    hash_word(lower.as_bytes()),
                    "{start}+{len}"
                );
            }
        }
    }

    /// Tokens (with normalised forms) by the fast path and by the scalar
    /// definition alone.
    type Words = Vec<(Token, String)>;

    fn both_paths(text: &str) -> (Words, Words) {
        let mut fast = Vec::new();
        let mut t = Tokenizer::new(text);
        while let Some(tok) = t.next_token() {
            fast.push((tok, t.normalized().to_string()));
        }
        let mut slow = Vec::new();
        let mut t = Tokenizer::new(text);
        while let Some(tok) = t.next_token_scalar() {
            slow.push((tok, t.normalized().to_string()));
        }
        (fast, slow)
    }

    #[test]
    fn the_fast_path_gives_the_scalar_tokens() {
        let long = "x".repeat(70);
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(match i % 13 {
                0 => "Word ",
                1 => "don't ",
                2 => "well-known ",
                3 => "exam-\nple ",
                4 => "café ",
                5 => &long,
                6 => " 1990-1995, ",
                7 => "end'",
                8 => "said-- ",
                9 => "ÉCOLE\u{AD}s ",
                10 => "a\tb\r\nc ",
                11 => "it’s ",
                _ => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop0123456789 ",
            });
        }
        for start in (0..70).filter(|&i| text.is_char_boundary(i)) {
            let slice = &text[start..];
            let (fast, slow) = both_paths(slice);
            assert_eq!(fast, slow, "from byte {start}");
            for (tok, norm) in &fast {
                assert_eq!(tok.hash, hash_word(norm.as_bytes()), "{norm}");
            }
        }
    }

    #[test]
    fn short_words_never_share_a_hash() {
        // Up to 8 bytes the word hash is a bijection (one chunk, length in
        // the seed): verification relies on it. Check every word of up to
        // three letters or digits, and 8-byte neighbours.
        let alphabet: Vec<u8> = (b'a'..=b'z').chain(b'0'..=b'9').collect();
        let mut seen = std::collections::HashSet::new();
        let mut words: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..3 {
            words = words
                .iter()
                .flat_map(|w| alphabet.iter().map(move |&c| [w.as_slice(), &[c]].concat()))
                .collect();
            for w in &words {
                assert!(seen.insert(hash_word(w)), "{}", String::from_utf8_lossy(w));
            }
        }
        for w in &words {
            let long = [b"zzzzz".as_slice(), w].concat();
            assert!(seen.insert(hash_word(&long)), "{}", String::from_utf8_lossy(&long));
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_on_any_text(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "Z", "9", " ", "\n", "\r\n", "-", "'", "’", "é", "e\u{301}", "\u{AD}", "ﬁ", "--", ".", "ß",
                    "\u{200B}", "日本", "\t", "abcdefghij",
                ]),
                0..200,
            )
        ) {
            let text: String = parts.concat();
            let (fast, slow) = both_paths(&text);
            proptest::prop_assert_eq!(&fast, &slow);
            let batched: Vec<Token> = batches(&text, 0);
            proptest::prop_assert_eq!(batched, fast.iter().map(|(t, _)| *t).collect::<Vec<_>>());
        }

        #[test]
        fn batches_and_single_tokens_agree_from_any_token(
            words in proptest::collection::vec("[a-z]{1,70}", 1..120),
            seps in proptest::collection::vec(proptest::sample::select(vec![" ", "  ", "\n", ", ", "’", "-\n", "é "]), 120),
            from in 0usize..120,
        ) {
            let text: String = words.iter().zip(&seps).flat_map(|(w, s)| [w.as_str(), s]).collect();
            let mut one = Vec::new();
            let mut t = Tokenizer::hashing(&text);
            while let Some(tok) = t.next_token() {
                one.push(tok);
            }
            let from = from.min(one.len() - 1);
            proptest::prop_assert_eq!(batches(&text, one[from].start), one[from..].to_vec());
            // Mixed: one token, then batches.
            let mut t = Tokenizer::hashing(&text);
            let mut mixed: Vec<Token> = t.next_token().into_iter().collect();
            while let Some(b) = t.next_tokens() {
                mixed.extend_from_slice(b);
            }
            proptest::prop_assert_eq!(mixed, one);
        }
    }

    #[test]
    fn a_window_of_one_letter_words_fills_the_queue() {
        // 32 words a window, at every alignment: the queue's bound.
        for lead in 0..3 {
            let text = format!("{}{}", " ".repeat(lead), "a ".repeat(200));
            let got = batches(&text, 0);
            assert_eq!(got.len(), 200);
            assert!(got.iter().enumerate().all(|(i, t)| t.start == lead + 2 * i && t.end == t.start + 1));
        }
    }

    /// All tokens from byte `at` through [`Tokenizer::next_tokens`].
    fn batches(text: &str, at: usize) -> Vec<Token> {
        let mut t = Tokenizer::hashing_at(text, at);
        let mut out = Vec::new();
        while let Some(b) = t.next_tokens() {
            out.extend_from_slice(b);
        }
        out
    }

    #[test]
    fn restart_at_any_token_start_gives_the_same_tokens() {
        let text = "It's a well-known exam-\nple; ﬁne “quotes”\r\nand sof\u{AD}t hyphens. Ünïcödé 42x.";
        let all = normalized_words(text);
        for i in 0..all.len() {
            let mut t = Tokenizer::at(text, all[i].0.start);
            let mut rest = Vec::new();
            while let Some(tok) = t.next_token() {
                rest.push((tok, t.normalized().to_string()));
            }
            assert_eq!(rest, all[i..].to_vec());
        }
    }
}
