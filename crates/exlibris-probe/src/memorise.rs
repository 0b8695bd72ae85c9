//! Memorisation as in Cooper, Lemley et al. (2025): for sliding windows of
//! `prefix + suffix` tokens, p_z is the probability the model gives the
//! exact suffix after the prefix, i.e. the product of its suffix tokens'
//! conditional probabilities. The share of the work memorised at a
//! threshold is the share of windows with p_z at or above it; the strip
//! shows where in the work they are.

/// How memorisation is measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemoConfig {
    /// Tokens given to the model.
    pub prefix: usize,
    /// Tokens whose joint probability is p_z.
    pub suffix: usize,
    /// Tokens between window starts (Cooper et al. slide finely; a stride
    /// of the suffix length halves the cost and still covers every token).
    pub stride: usize,
    /// Thresholds on p_z.
    pub thresholds: Vec<f64>,
    /// Cells in the strip over the work.
    pub strip_cells: usize,
}

impl Default for MemoConfig {
    fn default() -> Self {
        MemoConfig { prefix: 50, suffix: 50, stride: 50, thresholds: vec![0.5, 0.1, 0.01], strip_cells: 100 }
    }
}

/// p_z of one window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemoWindow {
    /// First token of the prefix.
    pub token_start: usize,
    /// log10 p_z.
    pub log10_pz: f64,
}

/// The share memorised at one threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemoShare {
    /// The p_z threshold.
    pub threshold: f64,
    /// Windows with p_z ≥ threshold.
    pub windows: usize,
    /// Their share of all windows.
    pub share_of_windows: f64,
    /// Share of the work's tokens inside the suffix of such a window.
    pub share_of_tokens: f64,
}

/// Memorisation over one work.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemoSummary {
    /// The settings used.
    pub config: MemoConfig,
    /// Windows measured.
    pub n_windows: usize,
    /// One entry per threshold.
    pub shares: Vec<MemoShare>,
    /// Highest log10 p_z per strip cell (cells split the work's tokens evenly;
    /// a window belongs to the cell its suffix starts in); null if none.
    pub strip_log10_pz: Vec<Option<f64>>,
    /// The most memorised windows, best first (at most 20).
    pub top: Vec<MemoWindow>,
}

/// Window starts for a work of `n` tokens.
pub fn memo_starts(n: usize, cfg: &MemoConfig) -> Vec<usize> {
    crate::scores::windows(n, cfg.prefix + cfg.suffix, cfg.stride.max(1))
        .into_iter()
        .map(|w| w.start)
        .collect()
}

/// log10 p_z from the suffix tokens' natural-log probabilities.
pub fn log10_pz(suffix_logp: impl IntoIterator<Item = f32>) -> f64 {
    suffix_logp.into_iter().map(f64::from).sum::<f64>() / std::f64::consts::LN_10
}

/// Summarises measured windows over a work of `n` tokens.
pub fn summarise(windows: &[MemoWindow], n: usize, cfg: &MemoConfig) -> MemoSummary {
    let shares = cfg
        .thresholds
        .iter()
        .map(|&thr| {
            let lt = thr.log10();
            let mut covered = vec![false; n];
            let mut count = 0;
            for w in windows.iter().filter(|w| w.log10_pz >= lt) {
                count += 1;
                let s = (w.token_start + cfg.prefix).min(n);
                let e = (s + cfg.suffix).min(n);
                covered[s..e].iter_mut().for_each(|c| *c = true);
            }
            MemoShare {
                threshold: thr,
                windows: count,
                share_of_windows: count as f64 / windows.len().max(1) as f64,
                share_of_tokens: covered.iter().filter(|&&c| c).count() as f64 / n.max(1) as f64,
            }
        })
        .collect();
    let cells = cfg.strip_cells.max(1);
    let mut strip: Vec<Option<f64>> = vec![None; cells];
    for w in windows {
        let c = ((w.token_start + cfg.prefix) * cells / n.max(1)).min(cells - 1);
        strip[c] = Some(strip[c].map_or(w.log10_pz, |v: f64| v.max(w.log10_pz)));
    }
    let mut top = windows.to_vec();
    top.sort_by(|a, b| b.log10_pz.total_cmp(&a.log10_pz));
    top.truncate(20);
    MemoSummary { config: cfg.clone(), n_windows: windows.len(), shares, strip_log10_pz: strip, top }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_z_is_the_product_of_suffix_probabilities() {
        let lp = [0.5f32.ln(), 0.2f32.ln()];
        assert!((log10_pz(lp) - 0.1f64.log10()).abs() < 1e-6);
    }

    #[test]
    fn shares_count_windows_and_tokens() {
        let cfg = MemoConfig { prefix: 2, suffix: 2, stride: 2, thresholds: vec![0.5, 0.01], strip_cells: 4 };
        assert_eq!(memo_starts(10, &cfg), vec![0, 2, 4, 6]);
        let w = [
            MemoWindow { token_start: 0, log10_pz: -0.1 },
            MemoWindow { token_start: 2, log10_pz: -1.5 },
            MemoWindow { token_start: 4, log10_pz: -5.0 },
            MemoWindow { token_start: 6, log10_pz: -5.0 },
        ];
        let s = summarise(&w, 10, &cfg);
        assert_eq!(s.shares[0].windows, 1);
        assert_eq!(s.shares[0].share_of_windows, 0.25);
        assert_eq!(s.shares[0].share_of_tokens, 0.2);
        assert_eq!(s.shares[1].windows, 2);
        assert_eq!(s.shares[1].share_of_tokens, 0.4);
        assert_eq!(s.strip_log10_pz[0], Some(-0.1));
        assert_eq!(s.top[0].token_start, 0);
    }
}
