//! Per-passage membership scores from per-token statistics.
//!
//! Every score is reported as computed, with an orientation saying which
//! direction means "more likely seen in training": low loss, low zlib
//! ratio, high Min-K%, high Min-K%++.
use std::io::Write;

use crate::model::TokenStat;

/// One membership score: its name and whether higher means "member".
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreSpec {
    /// Name used in `probe.json`: `loss`, `perplexity`, `zlib`, `min_k_20`, `min_k_pp_20`…
    pub name: String,
    /// Higher values mean "more likely a member".
    pub higher_is_member: bool,
}

/// The scores computed for each passage, in the order [`score_passage`] returns them.
pub fn score_specs(ks: &[u32]) -> Vec<ScoreSpec> {
    let s = |n: String, h| ScoreSpec { name: n, higher_is_member: h };
    let mut v = vec![s("loss".into(), false), s("perplexity".into(), false), s("zlib".into(), false)];
    v.extend(ks.iter().map(|k| s(format!("min_k_{k}"), true)));
    v.extend(ks.iter().map(|k| s(format!("min_k_pp_{k}"), true)));
    v
}

/// Mean of the lowest `k` % of `vals` (at least one value).
pub fn min_k(vals: &[f64], k: u32) -> f64 {
    if vals.is_empty() {
        return f64::NAN;
    }
    let mut v = vals.to_vec();
    v.sort_by(f64::total_cmp);
    let n = ((v.len() as f64 * k as f64 / 100.0).ceil() as usize).clamp(1, v.len());
    v[..n].iter().sum::<f64>() / n as f64
}

/// Bytes of `text` after zlib compression (Carlini et al.'s zlib entropy).
pub fn zlib_len(text: &str) -> usize {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(text.as_bytes());
    e.finish().map_or(text.len(), |v| v.len())
}

/// Scores one passage: `stats` for its predicted tokens, `text` its words.
pub fn score_passage(stats: &[TokenStat], text: &str, ks: &[u32]) -> Vec<f64> {
    let lp: Vec<f64> = stats.iter().map(|s| s.logp as f64).collect();
    let loss = -lp.iter().sum::<f64>() / lp.len().max(1) as f64;
    let pp: Vec<f64> =
        stats.iter().map(|s| (s.logp as f64 - s.mu as f64) / (s.sigma as f64).max(1e-6)).collect();
    let mut v = vec![loss, loss.exp(), loss / zlib_len(text).max(1) as f64];
    v.extend(ks.iter().map(|&k| min_k(&lp, k)));
    v.extend(ks.iter().map(|&k| min_k(&pp, k)));
    v
}

/// A passage window: token range `[start, end)` of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
}

/// Cuts `n` tokens into windows of `len` tokens every `stride` tokens; a
/// tail shorter than a window is dropped.
pub fn windows(n: usize, len: usize, stride: usize) -> Vec<Window> {
    if len == 0 || stride == 0 || n < len {
        return Vec::new();
    }
    (0..=n - len).step_by(stride).map(|s| Window { start: s, end: s + len }).collect()
}

/// Keeps at most `max` of `w`, evenly spread over the text.
pub fn spread(w: Vec<Window>, max: Option<usize>) -> Vec<Window> {
    match max {
        Some(m) if m < w.len() && m > 0 => (0..m).map(|i| w[i * w.len() / m]).collect(),
        _ => w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(logp: f32) -> TokenStat {
        TokenStat { logp, mu: -2.0, sigma: 1.0 }
    }

    #[test]
    fn min_k_averages_the_lowest_share() {
        let v = [-1.0, -5.0, -2.0, -4.0, -3.0, -0.5, -0.1, -0.2, -0.3, -0.4];
        assert_eq!(min_k(&v, 20), -4.5);
        assert_eq!(min_k(&v, 1), -5.0);
        assert!((min_k(&v, 100) - v.iter().sum::<f64>() / 10.0).abs() < 1e-12);
    }

    #[test]
    fn scores_follow_their_definitions() {
        let stats = [st(-1.0), st(-3.0)];
        let s = score_passage(&stats, "some text", &[50]);
        let specs = score_specs(&[50]);
        assert_eq!(s.len(), specs.len());
        assert_eq!(s[0], 2.0);
        assert!((s[1] - 2f64.exp()).abs() < 1e-12);
        assert_eq!(s[2], 2.0 / zlib_len("some text") as f64);
        assert_eq!(s[3], -3.0);
        // (-3 - -2) / 1
        assert_eq!(s[4], -1.0);
    }

    #[test]
    fn repetitive_text_compresses_better() {
        assert!(
            zlib_len(&"abc ".repeat(100))
                < zlib_len("The quick brown fox jumps over the lazy dog, then naps.")
        );
    }

    #[test]
    fn windows_and_spread() {
        assert_eq!(windows(10, 4, 4), vec![Window { start: 0, end: 4 }, Window { start: 4, end: 8 }]);
        assert!(windows(3, 4, 4).is_empty());
        let w = windows(100, 10, 1);
        let s = spread(w, Some(3));
        assert_eq!(s.iter().map(|w| w.start).collect::<Vec<_>>(), vec![0, 30, 60]);
    }
}
