//! Model-free checks on the two passage sets: a bag-of-words classifier
//! (the blind baseline of Das, Zhang & Tramèr 2024) and a same-language check.
use std::collections::{HashMap, HashSet};

use crate::stats::auroc;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

fn top_words(texts: &[&str], n: usize) -> HashSet<String> {
    let mut c: HashMap<String, usize> = HashMap::new();
    for t in texts {
        for w in words(t) {
            *c.entry(w).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = c.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(w, _)| w).collect()
}

/// Jaccard overlap of the two sets' 50 commonest words: texts in one
/// language share their function words; in two languages they share few.
pub fn common_word_overlap(a: &[&str], b: &[&str]) -> f64 {
    let (ta, tb) = (top_words(a, 50), top_words(b, 50));
    let inter = ta.intersection(&tb).count() as f64;
    let union = ta.union(&tb).count().max(1) as f64;
    inter / union
}

/// Multinomial naive Bayes over words, fitted on the first halves and
/// evaluated (AUROC of suspect vs reference) on the second.
pub(crate) fn blind_auroc(
    s: &[&str],
    r: &[&str],
    (sa, sb): (&[usize], &[usize]),
    (ra, rb): (&[usize], &[usize]),
) -> Option<f64> {
    let count = |texts: &[&str], ix: &[usize]| {
        let mut c: HashMap<String, f64> = HashMap::new();
        for &i in ix {
            for w in words(texts[i]) {
                *c.entry(w).or_default() += 1.0;
            }
        }
        c
    };
    let (cs, cr) = (count(s, sa), count(r, ra));
    let vocab: HashSet<&String> = cs.keys().chain(cr.keys()).collect();
    let v = vocab.len() as f64 + 1.0;
    let (ns, nr) = (cs.values().sum::<f64>(), cr.values().sum::<f64>());
    let log_odds = |t: &str| -> f64 {
        words(t)
            .map(|w| {
                let ps = (cs.get(&w).copied().unwrap_or(0.0) + 1.0) / (ns + v);
                let pr = (cr.get(&w).copied().unwrap_or(0.0) + 1.0) / (nr + v);
                (ps / pr).ln()
            })
            .sum::<f64>()
            / words(t).count().max(1) as f64
    };
    let ps: Vec<f64> = sb.iter().map(|&i| log_odds(s[i])).collect();
    let pr: Vec<f64> = rb.iter().map(|&i| log_odds(r[i])).collect();
    auroc(&ps, &pr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_tell_languages_apart() {
        let en = ["the house of the sister and the letter", "she was in the garden and it was late"];
        let en2 = ["it was the letter that she had in the house", "and the walk was long"];
        let fr = ["la maison de la soeur et la lettre", "elle était dans le jardin et il était tard"];
        assert!(common_word_overlap(&en, &en2) > common_word_overlap(&en, &fr));
        assert_eq!(common_word_overlap(&en, &fr), 0.0);
    }

    #[test]
    fn bag_of_words_separates_topics() {
        let s: Vec<String> = (0..20).map(|i| format!("the ship sailed at dawn {i} sea wind")).collect();
        let r: Vec<String> = (0..20).map(|i| format!("the railway telegraph motor {i} engine")).collect();
        let s: Vec<&str> = s.iter().map(String::as_str).collect();
        let r: Vec<&str> = r.iter().map(String::as_str).collect();
        let (a, b): (Vec<usize>, Vec<usize>) = (0..20).partition(|i| i % 2 == 0);
        assert_eq!(blind_auroc(&s, &r, (&a, &b), (&a, &b)), Some(1.0));
    }
}
