//! From final hidden states to the per-token statistics every score needs.
use candle_core::Tensor;

use crate::error::Result;
use crate::llama::linear;

/// Log-probability of each target and the mean and standard deviation of
/// log p over the whole next-token distribution, for `hidden (n, h)`.
///
/// One fused pass per row over the logits (max, then Σe, Σe·l, Σe·l²)
/// instead of a chain of tensor ops: each op would allocate and sweep a
/// `rows × vocab` tensor, and on a 49k vocabulary those sweeps cost more
/// than the output projection itself.
pub(crate) fn token_stats(
    hidden: &Tensor,
    lm_head: &Tensor,
    targets: &[u32],
) -> Result<Vec<crate::TokenStat>> {
    use rayon::prelude::*;
    let logits = linear(hidden, lm_head)?;
    let v = logits.dim(1)?;
    let flat = logits.flatten_all()?.to_vec1::<f32>()?;
    Ok(flat.par_chunks(v).zip(targets.par_iter()).map(|(row, &t)| row_stats(row, t as usize)).collect())
}

fn row_stats(row: &[f32], target: usize) -> crate::TokenStat {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Lane-wise partial sums so that the loop vectorises (a single float
    // accumulator fixes the order of additions and forbids it).
    const L: usize = 16;
    let (mut a0, mut a1, mut a2) = ([0f32; L], [0f32; L], [0f32; L]);
    let chunks = row.chunks_exact(L);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..L {
            let d = c[j] - max;
            let e = exp_neg(d);
            a0[j] += e;
            a1[j] += e * d;
            a2[j] += e * d * d;
        }
    }
    let (mut s0, mut s1, mut s2): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for j in 0..L {
        s0 += a0[j] as f64;
        s1 += a1[j] as f64;
        s2 += a2[j] as f64;
    }
    for &l in tail {
        let d = l - max;
        let e = exp_neg(d);
        s0 += e as f64;
        s1 += (e * d) as f64;
        s2 += (e * d * d) as f64;
    }
    let log_z = s0.ln();
    let mean_d = s1 / s0;
    crate::TokenStat {
        logp: ((row[target] - max) as f64 - log_z) as f32,
        mu: (mean_d - log_z) as f32,
        sigma: (s2 / s0 - mean_d * mean_d).max(0.0).sqrt() as f32,
    }
}

/// e^x for x ≤ 0, relative error below 2e-6 + 1e-7·|x|; branch-free so that it
/// vectorises (`f32::exp` is a library call per element).
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    let t = x.max(-87.0) * std::f32::consts::LOG2_E;
    let n = t.floor();
    let f = t - n;
    // 2^f on [0, 1): Taylor series of e^(f ln 2) to the 7th power.
    let p = 1.0
        + f * (std::f32::consts::LN_2
            + f * (0.240_226_5
                + f * (0.055_504_11
                    + f * (0.009_618_129
                        + f * (0.001_333_356 + f * (0.000_154_035_3 + f * 0.000_015_252_73))))));
    f32::from_bits(((n as i32 + 127) as u32) << 23) * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = 0.0f32;
        while x > -90.0 {
            let (a, b) = (exp_neg(x), x.exp());
            // Rounding of x·log2(e) in f32 adds ~1e-7·|x| relative error.
            assert!((a - b).abs() <= (2e-6 - 1e-7 * x) * b + 1e-37, "{x}: {a} vs {b}");
            x -= 0.0137;
        }
    }

    #[test]
    fn fused_row_stats_match_the_definitions() {
        let row: Vec<f32> = (0..37).map(|i| ((i * 7919) % 23) as f32 * 0.4 - 4.0).collect();
        let z: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
        let lp: Vec<f64> = row.iter().map(|&l| l as f64 - z.ln()).collect();
        let mu: f64 = lp.iter().map(|l| l.exp() * l).sum();
        let var: f64 = lp.iter().map(|l| l.exp() * (l - mu).powi(2)).sum();
        let s = row_stats(&row, 2);
        assert!((s.logp as f64 - lp[2]).abs() < 1e-5);
        assert!((s.logp as f64 - lp[2]).abs() < 1e-6);
        assert!((s.mu as f64 - mu).abs() < 1e-6);
        assert!((s.sigma as f64 - var.sqrt()).abs() < 1e-5);
    }
}
