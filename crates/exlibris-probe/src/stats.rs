//! The statistics the verdict rests on: AUROC, TPR at a fixed FPR, the
//! one-sided Welch t-test and a small logistic regression.
//!
//! Written out here rather than pulled from a statistics crate: each is a
//! few lines, and the tests pin them to textbook values.

/// Area under the ROC curve for "positives score higher", ties counted half
/// (the Mann–Whitney U statistic over `pos.len() * neg.len()`).
pub fn auroc(pos: &[f64], neg: &[f64]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> =
        pos.iter().map(|&v| (v, true)).chain(neg.iter().map(|&v| (v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of (average) ranks of the positives.
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// True-positive rate at the threshold that lets at most `fpr` of the
/// negatives through (strictly greater than the threshold counts as positive).
pub fn tpr_at_fpr(pos: &[f64], neg: &[f64], fpr: f64) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut n: Vec<f64> = neg.to_vec();
    n.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fpr * n.len() as f64).floor() as usize;
    let thr = n[allowed.min(n.len() - 1)];
    Some(pos.iter().filter(|&&p| p > thr).count() as f64 / pos.len() as f64)
}

/// Mean and unbiased variance.
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v)
}

/// A Welch t-test of "mean of `a` exceeds mean of `b`".
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Welch {
    /// The t statistic.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// One-sided p-value, P(T ≥ t).
    pub p_value: f64,
}

/// One-sided Welch t-test, H1: mean(a) > mean(b). Needs two values a side.
pub fn welch_greater(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (sa, sb) = (va / a.len() as f64, vb / b.len() as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        let p = if ma > mb { 0.0 } else { 1.0 };
        return Some(Welch { t: f64::NAN, df: f64::NAN, p_value: p });
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (sa * sa / (a.len() as f64 - 1.0) + sb * sb / (b.len() as f64 - 1.0));
    Some(Welch { t, df, p_value: student_t_sf(t, df) })
}

/// P(T ≥ t) for Student's t with `df` degrees of freedom.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation, g = 7, n = 9.
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta I_x(a, b) by its continued fraction.
fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - reg_inc_beta(b, a, 1.0 - x);
    }
    // Lentz's method.
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = 1.0 / if d.abs() < tiny { tiny } else { d };
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = 1.0 / if d.abs() < tiny { tiny } else { d };
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-14 {
            break;
        }
    }
    front * f / a
}

/// Logistic regression on standardised features, L2-regularised, fitted
/// by gradient descent: enough for a handful of features.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Logistic {
    /// Feature means used to standardise.
    pub mean: Vec<f64>,
    /// Feature standard deviations used to standardise.
    pub scale: Vec<f64>,
    /// Weights on standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
}

impl Logistic {
    /// Fits `y = 1` vs `y = 0`.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Logistic {
        let d = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        let mut scale = vec![0.0; d];
        for j in 0..d {
            let col: Vec<f64> = x.iter().map(|r| r[j]).collect();
            let (m, v) = mean_var(&col);
            mean[j] = m;
            scale[j] = if v > 0.0 { v.sqrt() } else { 1.0 };
        }
        let z: Vec<Vec<f64>> =
            x.iter().map(|r| (0..d).map(|j| (r[j] - mean[j]) / scale[j]).collect()).collect();
        let (mut w, mut b) = (vec![0.0; d], 0.0);
        for _ in 0..400 {
            let mut gw = vec![0.0; d];
            let mut gb = 0.0;
            for (r, &t) in z.iter().zip(y) {
                let p = sigmoid(b + dot(&w, r));
                let e = p - if t { 1.0 } else { 0.0 };
                gb += e;
                for j in 0..d {
                    gw[j] += e * r[j];
                }
            }
            b -= 0.5 * gb / n;
            for j in 0..d {
                w[j] -= 0.5 * (gw[j] / n + l2 * w[j]);
            }
        }
        Logistic { mean, scale, weights: w, bias: b }
    }

    /// The linear score (log-odds of `y = 1`).
    pub fn score(&self, x: &[f64]) -> f64 {
        let z: Vec<f64> = (0..x.len()).map(|j| (x[j] - self.mean[j]) / self.scale[j]).collect();
        self.bias + dot(&self.weights, &z)
    }
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_handles_order_and_ties() {
        assert_eq!(auroc(&[3.0, 4.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(auroc(&[1.0, 2.0], &[3.0, 4.0]), Some(0.0));
        assert_eq!(auroc(&[1.0], &[1.0]), Some(0.5));
        assert_eq!(auroc(&[2.0, 0.0], &[1.0]), Some(0.5));
    }

    #[test]
    fn tpr_at_fpr_uses_the_strict_threshold() {
        let neg: Vec<f64> = (0..100).map(f64::from).collect();
        let pos = [98.5, 99.5, 50.0, 200.0];
        // One negative (99) lies above 98: exactly 1 % FPR.
        assert_eq!(tpr_at_fpr(&pos, &neg, 0.01), Some(0.75));
        assert_eq!(tpr_at_fpr(&pos, &neg, 0.0), Some(0.5));
    }

    #[test]
    fn t_distribution_matches_tables() {
        // t = 2.228 is the two-sided 5 % point at 10 df.
        assert!((student_t_sf(2.228, 10.0) - 0.025).abs() < 2e-4);
        assert!((student_t_sf(0.0, 3.0) - 0.5).abs() < 1e-12);
        assert!((student_t_sf(-1.812, 10.0) - 0.95).abs() < 2e-4);
        // Large df approaches the normal: P(Z ≥ 1.645) = 0.05.
        assert!((student_t_sf(1.645, 1e6) - 0.05).abs() < 1e-3);
    }

    #[test]
    fn welch_agrees_with_a_worked_example() {
        // Welch's own example data (Wikipedia); P by numerical integration of the t density.
        const P_ONE_SIDED: f64 = 0.010689;
        let a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
        let b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
        let w = welch_greater(&b, &a).unwrap();
        assert!((w.t - 2.4554).abs() < 1e-3, "{w:?}");
        assert!((w.df - 24.99).abs() < 0.05, "{w:?}");
        assert!((w.p_value - P_ONE_SIDED).abs() < 2e-5, "{w:?}");
    }

    #[test]
    fn logistic_separates_a_shifted_feature() {
        let x: Vec<Vec<f64>> =
            (0..200).map(|i| vec![(i % 2) as f64 * 2.0 + (i as f64 * 0.37).sin(), 1.0]).collect();
        let y: Vec<bool> = (0..200).map(|i| i % 2 == 1).collect();
        let m = Logistic::fit(&x, &y, 1e-3);
        assert!(m.weights[0] > 1.0);
        assert!(m.score(&[3.0, 1.0]) > m.score(&[-1.0, 1.0]));
    }
}
