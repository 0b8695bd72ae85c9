//! Shingles of k words and winnowing (Schleimer, Wilkerson & Aiken, 2003).
//!
//! Every run of `k` consecutive tokens is hashed (a *shingle*). In every
//! window of `w` consecutive shingles the rightmost minimum is selected; a
//! selected shingle is a *fingerprint*, recorded once. Two texts that share a
//! run of at least `t = w + k − 1` tokens share a full window of shingles and
//! therefore the fingerprint selected in it: winnowing on both sides (the
//! catalog when indexing, the document when scanning) guarantees that the
//! shared run is seen, at a density of about `2 / (w + 1)` fingerprints per
//! token. A text with fewer than `w` shingles still yields its minimum, so
//! short documents are not silently empty.

use serde::{Deserialize, Serialize};

use crate::token::Tokenizer;

/// The fingerprinting parameters. An index stores them; a scan must use the
/// same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintSettings {
    /// Words per shingle.
    pub k: u32,
    /// Shingles per winnowing window.
    pub w: u32,
    /// Version of the normalisation rules ([`crate::NORMALIZER_VERSION`]).
    pub normalizer: u32,
}

impl Default for FingerprintSettings {
    fn default() -> Self {
        FingerprintSettings { k: 6, w: 7, normalizer: crate::NORMALIZER_VERSION }
    }
}

impl FingerprintSettings {
    /// The guarantee: any shared run of at least this many normalised words
    /// shares a fingerprint.
    pub fn guarantee(&self) -> u32 {
        self.w + self.k - 1
    }

    /// Check that the parameters make sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.k) {
            return Err(format!("k = {} is out of range 1..=64", self.k));
        }
        if !(1..=256).contains(&self.w) {
            return Err(format!("w = {} is out of range 1..=256", self.w));
        }
        Ok(())
    }
}

/// A selected shingle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Index of the shingle's first token in the text.
    pub token: u32,
    /// Byte offset of that token in the text.
    pub byte: usize,
    /// Hash of the shingle: from [`Winnower`], the shingle hash; from
    /// [`fingerprint_text`], its [`fingerprint_hash`].
    pub hash: u64,
}

const BASE: u64 = 0x9E37_79B9_7F4A_7C15;

/// Combine the hashes of `k` words into a shingle hash (order-sensitive):
/// the polynomial `Σ hᵢ·B^(k−1−i)` (mod 2⁶⁴), which [`fingerprint_text`]
/// rolls in two multiplications a word.
///
/// Winnowing compares these values, so what matters is that their high
/// bits look random, and they do: each product carries every bit of its
/// word hash upwards. (Up to version 3 each shingle also got Murmur's
/// finaliser, two more multiplications a word; the selected ones still get
/// [`fingerprint_hash`].)
#[inline]
pub fn shingle_hash(words: impl Iterator<Item = u64>) -> u64 {
    words.fold(0u64, |h, w| h.wrapping_mul(BASE).wrapping_add(w))
}

/// Streaming winnower: push shingles in order, get fingerprints out.
///
/// Keeps the last `w` shingles in a ring and the current minimum; the
/// window is rescanned only when its minimum leaves it, which is rare, so a
/// push costs a comparison or two.
pub struct Winnower {
    w: usize,
    ring: Vec<Fingerprint>,
    slot: usize,
    pushed: usize,
    min: Option<Fingerprint>,
    last: Option<u32>,
}

impl Winnower {
    /// A winnower with windows of `w` shingles.
    pub fn new(w: u32) -> Self {
        let w = w.max(1) as usize;
        Winnower {
            w,
            ring: vec![Fingerprint { token: 0, byte: 0, hash: 0 }; w],
            slot: 0,
            pushed: 0,
            min: None,
            last: None,
        }
    }

    /// Push the next shingle (tokens in increasing order); returns the
    /// fingerprint it selects, if new.
    #[inline]
    pub fn push(&mut self, fp: Fingerprint) -> Option<Fingerprint> {
        self.ring[self.slot] = fp;
        self.slot += 1;
        if self.slot == self.w {
            self.slot = 0;
        }
        self.pushed += 1;
        let lo = self.pushed.saturating_sub(self.w) as u32;
        match self.min {
            // Rightmost minimum: a tie moves the selection right.
            Some(m) if m.token >= lo && m.hash < fp.hash => {}
            Some(m) if m.token < lo => self.min = Some(self.rescan()),
            _ => self.min = Some(fp),
        }
        if self.pushed < self.w {
            return None;
        }
        self.select()
    }

    /// The rightmost minimum of the full ring.
    fn rescan(&self) -> Fingerprint {
        let mut best = self.ring[0];
        for &f in &self.ring[1..] {
            if f.hash < best.hash || (f.hash == best.hash && f.token > best.token) {
                best = f;
            }
        }
        best
    }

    /// At the end of the text: a text shorter than one window yields its
    /// minimum.
    pub fn finish(&mut self) -> Option<Fingerprint> {
        if self.pushed > 0 && self.pushed < self.w {
            self.select()
        } else {
            None
        }
    }

    fn select(&mut self) -> Option<Fingerprint> {
        let m = self.min?;
        if self.last == Some(m.token) {
            return None;
        }
        self.last = Some(m.token);
        Some(m)
    }
}

/// The hash a selected shingle is known by: its shingle hash, remixed.
///
/// Winnowing selects window minima, so the shingle hashes it selects are
/// small numbers (their top bits are mostly zero), which would crowd the
/// first buckets of any table or filter indexed by high bits. A bijection
/// with full avalanche spreads them out again, without collisions.
#[inline]
pub fn fingerprint_hash(shingle: u64) -> u64 {
    crate::token::fmix64(shingle ^ 0x5851_f42d_4c95_7f2d)
}

/// Streaming fingerprints of a text, with token checkpoints.
///
/// `on_token` sees every token (its index and byte start) so callers can
/// record sparse checkpoints or block boundaries; `on_fp` sees every
/// fingerprint. Returns the number of tokens.
///
/// The same selection as pushing every shingle through a [`Winnower`]
/// (a test checks it), with the rings in fixed arrays indexed by masks:
/// this loop is half of what fingerprinting costs beyond the normaliser.
pub fn fingerprint_text(
    text: &str,
    settings: &FingerprintSettings,
    mut on_token: impl FnMut(u32, usize),
    mut on_fp: impl FnMut(Fingerprint),
) -> u32 {
    // Rings of the last WORDS tokens and the last SHINGLES shingles; `k` and
    // `w` are at most that (`FingerprintSettings::validate`).
    const WORDS: usize = 64;
    const SHINGLES: usize = 256;
    let k = (settings.k as usize).clamp(1, WORDS);
    let w = (settings.w as usize).clamp(1, SHINGLES);
    // B^(k−1), to take the oldest word out of the rolling hash.
    let top = (1..k).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut word_hash = [0u64; WORDS];
    let mut word_start = [0usize; WORDS];
    let mut sh_hash = [0u64; SHINGLES];
    let mut sh_byte = [0usize; SHINGLES];
    let emit = |i: usize, sh_hash: &[u64; SHINGLES], sh_byte: &[usize; SHINGLES]| Fingerprint {
        token: i as u32,
        byte: sh_byte[i % SHINGLES],
        hash: fingerprint_hash(sh_hash[i % SHINGLES]),
    };
    let mut rolling: u64 = 0;
    let mut tok = Tokenizer::hashing(text);
    let mut n: usize = 0;
    // The current window's rightmost minimum, and the last one selected.
    let mut min = 0usize;
    let mut last = usize::MAX;
    while let Some(batch) = tok.next_tokens() {
        for &t in batch {
            on_token(n as u32, t.start);
            if n >= k {
                rolling = rolling.wrapping_sub(word_hash[(n - k) % WORDS].wrapping_mul(top));
            }
            rolling = rolling.wrapping_mul(BASE).wrapping_add(t.hash);
            word_hash[n % WORDS] = t.hash;
            word_start[n % WORDS] = t.start;
            n += 1;
            if n < k {
                continue;
            }
            // Shingle `i` starts at token `i`.
            let i = n - k;
            sh_hash[i % SHINGLES] = rolling;
            sh_byte[i % SHINGLES] = word_start[i % WORDS];
            if i == 0 || rolling <= sh_hash[min % SHINGLES] {
                // Not above any shingle of the window: the rightmost minimum.
                min = i;
            } else if min + w <= i {
                // The minimum left the window: find the window's again.
                // Selects without branches (a compare is a coin toss).
                let lo = i + 1 - w;
                let mut best = sh_hash[lo % SHINGLES];
                min = lo;
                for j in lo + 1..=i {
                    let h = sh_hash[j % SHINGLES];
                    let right = h <= best;
                    best = if right { h } else { best };
                    min = if right { j } else { min };
                }
            }
            if i + 1 >= w && min != last {
                last = min;
                on_fp(emit(min, &sh_hash, &sh_byte));
            }
        }
    }
    // A text shorter than one window yields its minimum.
    let shingles = (n + 1).saturating_sub(k);
    if (1..w).contains(&shingles) {
        on_fp(emit(min, &sh_hash, &sh_byte));
    }
    n as u32
}

/// All fingerprints of a text (convenience for tests and small texts).
pub fn fingerprints(text: &str, settings: &FingerprintSettings) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    fingerprint_text(text, settings, |_, _| {}, |f| out.push(f));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(hashes: &[u64], w: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if hashes.len() < w {
            if let Some(min) = hashes.iter().min() {
                out.push(hashes.iter().rposition(|h| h == min).unwrap());
            }
            return out;
        }
        for s in 0..=hashes.len() - w {
            let win = &hashes[s..s + w];
            let min = win.iter().min().unwrap();
            let i = s + win.iter().rposition(|h| h == min).unwrap();
            if out.last() != Some(&i) {
                out.push(i);
            }
        }
        out
    }

    #[test]
    fn winnower_matches_brute_force() {
        let mut x: u64 = 7;
        for w in [1usize, 2, 3, 8] {
            for len in 0..60 {
                let hashes: Vec<u64> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        x >> 60 // few distinct values: many ties
                    })
                    .collect();
                let mut win = Winnower::new(w as u32);
                let mut got = Vec::new();
                for (i, &hash) in hashes.iter().enumerate() {
                    if let Some(f) = win.push(Fingerprint { token: i as u32, byte: i, hash }) {
                        got.push(f.token as usize);
                    }
                }
                if let Some(f) = win.finish() {
                    got.push(f.token as usize);
                }
                assert_eq!(got, brute_force(&hashes, w), "w={w} {hashes:?}");
            }
        }
    }

    /// `fingerprint_text` with every shingle pushed through a `Winnower`.
    fn by_winnower(text: &str, s: &FingerprintSettings) -> Vec<Fingerprint> {
        let words = crate::normalized_words(text);
        let k = s.k as usize;
        let mut win = Winnower::new(s.w);
        let mut out = Vec::new();
        for i in 0..(words.len() + 1).saturating_sub(k) {
            let hash = shingle_hash(words[i..i + k].iter().map(|(t, _)| t.hash));
            let fp = Fingerprint { token: i as u32, byte: words[i].0.start, hash };
            out.extend(win.push(fp));
        }
        out.extend(win.finish());
        out.into_iter().map(|f| Fingerprint { hash: fingerprint_hash(f.hash), ..f }).collect()
    }

    #[test]
    fn fingerprint_text_selects_what_the_winnower_selects() {
        // Few distinct words, so that shingles repeat and hashes tie.
        let mut x: u64 = 3;
        let text: String = (0..3000)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                format!("w{} ", x >> 62)
            })
            .collect();
        for (k, w) in [(1, 1), (1, 4), (2, 3), (3, 7), (6, 7), (5, 12), (64, 2), (2, 256)] {
            let s = FingerprintSettings { k, w, ..Default::default() };
            for len in [0, 1, 2, 5, 8, 40, 300, 3000] {
                let words: Vec<&str> = text.split(' ').take(len).collect();
                let t = words.join(" ");
                assert_eq!(fingerprints(&t, &s), by_winnower(&t, &s), "k={k} w={w} len={len}");
            }
        }
    }

    #[test]
    fn rolling_hash_equals_direct_hash() {
        let text = "one two three four five six seven eight nine ten";
        let s = FingerprintSettings { k: 3, w: 1, ..Default::default() };
        let words: Vec<u64> = crate::normalized_words(text).iter().map(|(t, _)| t.hash).collect();
        let fps = fingerprints(text, &s);
        assert_eq!(fps.len(), words.len() - 2);
        for f in fps {
            let i = f.token as usize;
            assert_eq!(f.hash, fingerprint_hash(shingle_hash(words[i..i + 3].iter().copied())));
        }
    }

    #[test]
    fn fingerprint_hashes_are_spread_over_the_whole_range() {
        // Window minima are small; the hashes fingerprints are known by
        // must not be (tables and filters index them by their high bits).
        let text: String = (0..40000).map(|i| format!("w{} ", (i * 7919) % 10007)).collect();
        let fps = fingerprints(&text, &FingerprintSettings::default());
        let mut quarters = [0usize; 4];
        for f in &fps {
            quarters[(f.hash >> 62) as usize] += 1;
        }
        for q in quarters {
            let share = q as f64 / fps.len() as f64;
            assert!((0.22..0.28).contains(&share), "{quarters:?}");
        }
    }

    #[test]
    fn density_is_about_two_over_w_plus_one() {
        let text: String = (0..20000).map(|i| format!("w{} ", (i * 7919) % 5003)).collect();
        let s = FingerprintSettings::default();
        let n = fingerprints(&text, &s).len() as f64 / 20000.0;
        let expect = 2.0 / (s.w as f64 + 1.0);
        assert!((n - expect).abs() < 0.03, "density {n}, expected about {expect}");
    }
}
