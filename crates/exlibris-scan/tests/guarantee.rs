//! The matching guarantee, end to end through a real index and the matcher:
//! a planted shared run of exactly t = w + k − 1 words is always found; a
//! run of k − 1 words never is.
use std::path::Path;

use exlibris_index::{build_index, BuildOptions, Catalog, Index};
use exlibris_scan::{MatchOptions, Matcher, Scratch};
use exlibris_text::FingerprintSettings;
use proptest::prelude::*;

fn words(seed: u64, n: usize) -> Vec<String> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!(
                "{}{}",
                ["al", "be", "ce", "do", "ep", "fu", "gi", "ho"][(x % 8) as usize],
                (x >> 8) % 5000
            )
        })
        .collect()
}

/// Join words with varied separators and typography, as real text has.
fn render(ws: &[String], style: u64) -> String {
    let mut out = String::new();
    for (i, w) in ws.iter().enumerate() {
        let w = if style % 3 == 1 && i % 4 == 0 { w.to_uppercase() } else { w.clone() };
        out.push_str(&w);
        out.push_str(match (style + i as u64) % 7 {
            0 => ", ",
            1 => "\n",
            2 => " — ",
            3 => ".  ",
            _ => " ",
        });
    }
    out
}

fn index_of(dir: &Path, work: &str, s: FingerprintSettings) -> Index {
    std::fs::write(dir.join("w.txt"), work).unwrap();
    std::fs::write(
        dir.join("catalog.jsonl"),
        "{\"id\":\"w\",\"path\":\"w.txt\",\"title\":\"W\",\"author\":\"A\"}\n",
    )
    .unwrap();
    let cat = Catalog::read(&dir.join("catalog.jsonl")).unwrap();
    let opts = BuildOptions { fingerprint: s, ..Default::default() };
    build_index(&cat, &dir.join("idx"), &opts, &|_| {}).unwrap();
    Index::open(&dir.join("idx")).unwrap()
}

fn case(
    seed: u64,
    run: usize,
    k: u32,
    w: u32,
    at_work: usize,
    at_doc: usize,
    style: u64,
) -> (bool, usize, usize) {
    let s = FingerprintSettings { k, w, ..Default::default() };
    let work_words = words(seed, 400);
    let mut doc_words = words(seed.wrapping_mul(31).wrapping_add(7), 300);
    let at_work = at_work % (work_words.len() - run);
    let at_doc = at_doc % (doc_words.len() - run);
    doc_words.splice(at_doc..at_doc + run, work_words[at_work..at_work + run].iter().cloned());
    let dir = tempfile::tempdir().unwrap();
    let index = index_of(dir.path(), &render(&work_words, 0), s);
    let doc = render(&doc_words, style);
    let m = Matcher::new(&index, MatchOptions::default());
    let found = m.find(&doc, &mut Scratch::default()).unwrap();
    // The planted run's bytes in the document.
    let toks = exlibris_text::normalized_words(&doc);
    let (ps, pe) = (toks[at_doc].0.start as u64, toks[at_doc + run - 1].0.end as u64);
    let hit = found.iter().any(|f| f.doc_start <= ps && f.doc_end >= pe && f.words as usize >= run);
    (hit, found.len(), m.min_words() as usize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_shared_run_of_t_words_is_always_found(
        seed in 1u64..u64::MAX, k in 3u32..8, w in 2u32..12, a in 0usize..10_000, b in 0usize..10_000, style in 0u64..6
    ) {
        let t = (w + k - 1) as usize;
        let (hit, _, min) = case(seed, t, k, w, a, b, style);
        prop_assert_eq!(min, t);
        prop_assert!(hit, "planted run of {} words not found (k={}, w={})", t, k, w);
    }

    #[test]
    fn a_run_of_k_minus_one_words_is_never_reported(
        seed in 1u64..u64::MAX, k in 3u32..8, w in 2u32..12, a in 0usize..10_000, b in 0usize..10_000, style in 0u64..6
    ) {
        let (_, n, _) = case(seed, (k - 1) as usize, k, w, a, b, style);
        prop_assert_eq!(n, 0);
    }
}
