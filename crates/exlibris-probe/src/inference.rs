//! The verdict: dataset inference (Maini et al. 2024) guarded by a blind
//! baseline (Das, Zhang & Tramèr 2024).
//!
//! Suspect and reference passages are each split in two at random. On the
//! first half a logistic regression learns to combine the membership
//! scores; on the second half a one-sided Welch t-test asks whether it
//! ranks suspect passages above reference ones. A model-free bag-of-words
//! classifier trained and tested on the same halves measures how far the
//! two sets differ in kind alone: if it separates them about as well as the
//! model scores, any signal may be topic or date, not membership, and the
//! verdict is "confounded".
use std::collections::HashSet;

use crate::blind::{blind_auroc, common_word_overlap};

use crate::stats::{auroc, welch_greater, Logistic, Welch};

/// Settings of the verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InferenceConfig {
    /// Significance level for "member".
    pub alpha: f64,
    /// Fewest reference passages for a verdict (half are used for the test).
    pub min_reference: usize,
    /// Fewest blocks per set in each half.
    pub min_blocks: usize,
    /// Blind AUROC at or above which the sets are deemed to differ in kind…
    pub blind_floor: f64,
    /// …unless the model's AUROC beats the blind one by more than this.
    pub blind_margin: f64,
    /// Seed of the random split.
    pub seed: u64,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            alpha: 0.01,
            min_reference: 20,
            min_blocks: 3,
            blind_floor: 0.6,
            blind_margin: 0.05,
            seed: 0x5eed,
        }
    }
}

/// What the probe concludes about a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The model treats the work as seen, beyond what the blind baseline explains.
    Member,
    /// No significant signal. Not proof of absence: the test may lack power.
    NotDetected,
    /// The sets differ in kind; a signal cannot be attributed to training.
    Confounded,
    /// The test could not be run; see the reason.
    NoVerdict,
}

impl Label {
    /// The label in words, as a report shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Member => "member",
            Label::NotDetected => "not detected",
            Label::Confounded => "confounded",
            Label::NoVerdict => "no verdict",
        }
    }
}

/// The dataset-inference test on the held-out halves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetInference {
    /// The test, in words.
    pub test: String,
    /// Suspect passages in the fitting / testing halves.
    pub n_suspect: (usize, usize),
    /// Reference passages in the fitting / testing halves.
    pub n_reference: (usize, usize),
    /// Blocks (suspect, reference) in the testing half: the t-test's samples.
    pub n_blocks: (usize, usize),
    /// The Welch test on the combined score.
    pub welch: Option<Welch>,
    /// AUROC of the combined score on the testing half.
    pub auroc: Option<f64>,
    /// Smallest standardised effect (Cohen's d) the testing half detects
    /// with 80 % power at `alpha`.
    pub min_detectable_effect: f64,
    /// The fitted combination.
    pub model: Option<Logistic>,
}

/// The verdict and everything it rests on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The conclusion.
    pub label: Label,
    /// Why, in one sentence.
    pub reason: String,
    /// The test, if run.
    pub dataset_inference: Option<DatasetInference>,
    /// Bag-of-words AUROC on the testing half, if run.
    pub blind_auroc: Option<f64>,
}

fn no_verdict(reason: String) -> Verdict {
    Verdict { label: Label::NoVerdict, reason, dataset_inference: None, blind_auroc: None }
}

/// One side of the test: per passage, its oriented features (higher means
/// "member"), its words (for the blind baseline and the language check),
/// and the block it belongs to.
///
/// Passages of one block (neighbours in a text, or one chapter) share
/// topic and style, so they are not independent: blocks go to one half
/// whole, and the t-test compares block means. With one passage per block
/// this is the plain passage-level test.
#[derive(Debug, Clone, Default)]
pub struct Passages<'a> {
    /// Oriented score features.
    pub features: Vec<Vec<f64>>,
    /// The passages' text.
    pub texts: Vec<&'a str>,
    /// Block id of each passage.
    pub blocks: Vec<usize>,
}

impl Passages<'_> {
    fn len(&self) -> usize {
        self.features.len()
    }
}

/// Decides whether `suspect` looks like training data next to `reference`.
pub fn verdict(suspect: &Passages, reference: &Passages, cfg: &InferenceConfig) -> Verdict {
    if reference.len() < cfg.min_reference {
        return no_verdict(format!(
            "{} reference passages; at least {} are needed for the test to have power (give more or longer unseen texts)",
            reference.len(),
            cfg.min_reference
        ));
    }
    if suspect.len() < 4 {
        return no_verdict(format!("only {} suspect passages", suspect.len()));
    }
    let overlap = common_word_overlap(&suspect.texts, &reference.texts);
    if overlap < 0.2 {
        return no_verdict(format!(
            "the reference passages do not look like the same language as the work (overlap of their 50 commonest words: {overlap:.2}); dataset inference needs references of the same kind"
        ));
    }
    let mut rng = SplitMix(cfg.seed);
    let (sa, sb) = halves(&suspect.blocks, &mut rng);
    let (ra, rb) = halves(&reference.blocks, &mut rng);
    let blocks_in = |p: &Passages, ix: &[usize]| distinct(ix.iter().map(|&i| p.blocks[i]));
    let (nbs, nbr) = (blocks_in(suspect, &sb), blocks_in(reference, &rb));
    if nbs.min(nbr).min(blocks_in(suspect, &sa)).min(blocks_in(reference, &ra)) < cfg.min_blocks {
        return no_verdict(format!(
            "too few independent blocks of passages for a test (held-out half: {nbs} suspect, {nbr} reference; at least {} each)",
            cfg.min_blocks
        ));
    }
    let x: Vec<Vec<f64>> = sa
        .iter()
        .map(|&i| suspect.features[i].clone())
        .chain(ra.iter().map(|&i| reference.features[i].clone()))
        .collect();
    let y: Vec<bool> = (0..x.len()).map(|i| i < sa.len()).collect();
    let lr = Logistic::fit(&x, &y, 1e-2);
    let score_s: Vec<f64> = sb.iter().map(|&i| lr.score(&suspect.features[i])).collect();
    let score_r: Vec<f64> = rb.iter().map(|&i| lr.score(&reference.features[i])).collect();
    let welch = welch_greater(
        &block_means(&score_s, &sb, &suspect.blocks),
        &block_means(&score_r, &rb, &reference.blocks),
    );
    let model_auroc = auroc(&score_s, &score_r);
    let blind = blind_auroc(&suspect.texts, &reference.texts, (&sa, &sb), (&ra, &rb));
    let di = DatasetInference {
        test: "one-sided Welch t-test on block means, H1: combined score of held-out suspect passages > reference passages; logistic combination of all scores fitted on the other half".into(),
        n_suspect: (sa.len(), sb.len()),
        n_reference: (ra.len(), rb.len()),
        n_blocks: (nbs, nbr),
        welch,
        auroc: model_auroc,
        min_detectable_effect: min_detectable_effect(nbs, nbr, cfg.alpha),
        model: Some(lr),
    };
    let p = welch.map_or(1.0, |w| w.p_value);
    let m = model_auroc.unwrap_or(0.5);
    let (label, reason) = match blind {
        Some(b) if b >= cfg.blind_floor && b + cfg.blind_margin >= m => (
            Label::Confounded,
            format!("a bag-of-words classifier separates suspect from reference passages (AUROC {b:.3}) about as well as the model's scores ({m:.3}): the sets differ in kind, so membership cannot be told apart from topic or date (p = {p:.2e})"),
        ),
        _ if p < cfg.alpha => (
            Label::Member,
            format!("the model scores the work's held-out passages as more seen than the references (p = {p:.2e} < {}, AUROC {m:.3}); the blind baseline does not explain it", cfg.alpha),
        ),
        _ => (
            Label::NotDetected,
            format!("no significant difference (p = {p:.2e} ≥ {}); the test detects effects of d ≥ {:.2} (in block means) at 80 % power, smaller ones may be missed", cfg.alpha, di.min_detectable_effect),
        ),
    };
    Verdict { label, reason, dataset_inference: Some(di), blind_auroc: blind }
}

fn distinct(it: impl Iterator<Item = usize>) -> usize {
    it.collect::<HashSet<_>>().len()
}

/// Means of `scores[k]` (for passage `ix[k]`) per block, in block order.
fn block_means(scores: &[f64], ix: &[usize], blocks: &[usize]) -> Vec<f64> {
    let mut m: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for (s, &i) in scores.iter().zip(ix) {
        let e = m.entry(blocks[i]).or_default();
        e.0 += s;
        e.1 += 1;
    }
    m.values().map(|(s, n)| s / *n as f64).collect()
}

/// Cohen's d detectable at 80 % power, one-sided, normal approximation.
fn min_detectable_effect(n1: usize, n2: usize, alpha: f64) -> f64 {
    let z_alpha = normal_quantile(1.0 - alpha);
    (z_alpha + 0.8416) * (1.0 / n1.max(1) as f64 + 1.0 / n2.max(1) as f64).sqrt()
}

fn normal_quantile(p: f64) -> f64 {
    // Bisection on the t survival function at huge df: precise enough here.
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if 1.0 - crate::stats::student_t_sf(mid, 1e9) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Passages split in two halves at random, whole blocks at a time (first
/// half for fitting, second for testing).
fn halves(blocks: &[usize], rng: &mut SplitMix) -> (Vec<usize>, Vec<usize>) {
    let mut ids: Vec<usize> = blocks.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    ids.sort_unstable();
    for i in (1..ids.len()).rev() {
        ids.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let first: HashSet<usize> = ids[..ids.len() / 2].iter().copied().collect();
    (0..blocks.len()).partition(|&i| first.contains(&blocks[i]))
}

/// A small seeded generator, so that a verdict is reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-normal noise.
    fn noise(rng: &mut SplitMix) -> f64 {
        (0..12).map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64).sum::<f64>() - 6.0
    }

    fn features(n: usize, shift: f64, rng: &mut SplitMix) -> Vec<Vec<f64>> {
        (0..n).map(|_| (0..4).map(|j| noise(rng) + if j < 2 { shift } else { 0.0 }).collect()).collect()
    }

    /// Texts drawn from one shared vocabulary, so the blind baseline finds nothing.
    fn texts(n: usize, rng: &mut SplitMix, pool: &[&str]) -> Vec<String> {
        (0..n)
            .map(|_| {
                (0..40).map(|_| pool[(rng.next() % pool.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
            })
            .collect()
    }

    /// One passage per block: independent passages.
    fn side(features: Vec<Vec<f64>>, texts: &[String]) -> Passages<'_> {
        Passages {
            blocks: (0..features.len()).collect(),
            features,
            texts: texts.iter().map(String::as_str).collect(),
        }
    }

    const POOL: &[&str] = &[
        "the", "of", "and", "a", "to", "in", "was", "she", "he", "her", "it", "that", "house", "letter",
        "walk", "sister",
    ];

    fn run(shift: f64, seed: u64, n_ref: usize) -> Verdict {
        let mut rng = SplitMix(seed);
        let s = features(100, shift, &mut rng);
        let r = features(n_ref, 0.0, &mut rng);
        let ts = texts(100, &mut rng, POOL);
        let tr = texts(n_ref, &mut rng, POOL);
        let cfg = InferenceConfig { seed, ..Default::default() };
        verdict(&side(s, &ts), &side(r, &tr), &cfg)
    }

    #[test]
    fn shifted_scores_are_members() {
        let v = run(0.8, 1, 100);
        assert_eq!(v.label, Label::Member, "{}", v.reason);
        assert!(v.dataset_inference.unwrap().welch.unwrap().p_value < 1e-3);
    }

    #[test]
    fn same_distribution_false_positive_rate_is_near_alpha() {
        let runs = 200;
        let hits = (0..runs)
            .filter(|&s| run(0.0, 1000 + s, 100).dataset_inference.unwrap().welch.unwrap().p_value < 0.05)
            .count();
        // Expected 10 of 200; allow sampling noise.
        assert!(hits <= 20, "{hits} of {runs} false positives at 5 %");
    }

    #[test]
    fn small_reference_sets_get_no_verdict() {
        let v = run(2.0, 2, 10);
        assert_eq!(v.label, Label::NoVerdict);
        assert!(v.reason.contains("power"));
    }

    #[test]
    fn topic_shift_is_confounded_not_member() {
        let mut rng = SplitMix(3);
        let s = features(100, 0.8, &mut rng);
        let r = features(100, 0.0, &mut rng);
        let ts = texts(100, &mut rng, POOL);
        let pool_r: Vec<&str> =
            POOL.iter().copied().chain(["railway", "telegraph", "motor", "electric"]).collect();
        let tr = texts(100, &mut rng, &pool_r);
        let v = verdict(&side(s, &ts), &side(r, &tr), &InferenceConfig::default());
        assert_eq!(v.label, Label::Confounded, "{}", v.reason);
        assert!(v.blind_auroc.unwrap() > 0.8);
    }

    #[test]
    fn another_language_gets_no_verdict() {
        let mut rng = SplitMix(4);
        let s = features(40, 0.0, &mut rng);
        let r = features(40, 0.0, &mut rng);
        let ts = texts(40, &mut rng, POOL);
        let fr = [
            "le", "la", "de", "et", "un", "une", "il", "elle", "maison", "lettre", "soeur", "était", "que",
            "dans",
        ];
        let tr = texts(40, &mut rng, &fr);
        let v = verdict(&side(s, &ts), &side(r, &tr), &InferenceConfig::default());
        assert_eq!(v.label, Label::NoVerdict);
        assert!(v.reason.contains("language"));
    }

    /// Blocks with their own offsets (chapters that differ) make passages
    /// dependent: a passage-level test would fire far more often than alpha.
    #[test]
    fn block_effects_do_not_inflate_false_positives() {
        let (runs, mut block_hits, mut passage_hits) = (100, 0, 0);
        for seed in 0..runs {
            let mut rng = SplitMix(7000 + seed);
            let mut make = |n_blocks: usize| {
                let mut f = Vec::new();
                let mut b = Vec::new();
                for blk in 0..n_blocks {
                    let off = 1.5 * noise(&mut rng);
                    for _ in 0..10 {
                        f.push((0..4).map(|_| off + noise(&mut rng)).collect::<Vec<f64>>());
                        b.push(blk);
                    }
                }
                (f, b)
            };
            let (fs, bs) = make(12);
            let (fr, br) = make(12);
            let ts = texts(fs.len(), &mut rng, POOL);
            let tr = texts(fr.len(), &mut rng, POOL);
            let cfg = InferenceConfig { seed, ..Default::default() };
            fn blocked<'a>(f: &[Vec<f64>], b: &[usize], t: &'a [String]) -> Passages<'a> {
                Passages {
                    features: f.to_vec(),
                    texts: t.iter().map(String::as_str).collect(),
                    blocks: b.to_vec(),
                }
            }
            let v = verdict(&blocked(&fs, &bs, &ts), &blocked(&fr, &br, &tr), &cfg);
            block_hits += usize::from(v.dataset_inference.unwrap().welch.unwrap().p_value < 0.05);
            let v = verdict(&side(fs.clone(), &ts), &side(fr.clone(), &tr), &cfg);
            passage_hits += usize::from(v.dataset_inference.unwrap().welch.unwrap().p_value < 0.05);
        }
        eprintln!(
            "false positives at 5 %: {block_hits}/{runs} block-level, {passage_hits}/{runs} passage-level"
        );
        assert!(block_hits <= 12, "{block_hits} of {runs} false positives at 5 % with blocks");
        assert!(passage_hits > block_hits, "passage-level {passage_hits} vs block-level {block_hits}");
    }

    #[test]
    fn no_shift_is_not_detected() {
        let v = run(0.0, 5, 100);
        assert_eq!(v.label, Label::NotDetected, "{}", v.reason);
    }
}
