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

/// `words` with edits at about `rate` per word: a substituted, inserted or
/// deleted word, as OCR damage and re-editing leave.
fn edited(ws: &[String], seed: u64, rate: u64) -> Vec<String> {
    let mut x = seed | 1;
    let mut out = Vec::new();
    for w in ws {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match (x % 1000 < rate * 10, x >> 60) {
            (true, 0..=5) => out.push(format!("zz{}", x % 97)),
            (true, 6..=10) => {
                out.push(w.clone());
                out.push("inserted".into());
            }
            (true, _) => {}
            (false, _) => out.push(w.clone()),
        }
    }
    out
}

#[test]
fn the_narrow_first_verification_finds_what_the_full_regions_find() {
    let s = FingerprintSettings::default();
    let dir = tempfile::tempdir().unwrap();
    let work_words = words(11, 6000);
    let index = index_of(dir.path(), &render(&work_words, 0), s);
    let narrow = Matcher::new(&index, MatchOptions::default());
    let full = Matcher::new(&index, MatchOptions::default()).full_regions_only();
    let (mut total, mut scratch) = (0, Scratch::default());
    for seed in 1..60u64 {
        // A document of unrelated words with passages of the work pasted
        // in: short and long, clean and edited (edits near the ends of a
        // passage are what the narrow regions must not cut short).
        let mut doc = words(seed * 7919, 400);
        for p in 0..6u64 {
            let len = [9usize, 12, 14, 20, 45, 90, 150][((seed + p) % 7) as usize];
            let at = ((seed * 131 + p * 977) % (work_words.len() as u64 - len as u64)) as usize;
            let passage = edited(&work_words[at..at + len], seed * 31 + p, (seed % 4) * 3);
            let pos = ((seed + p * 53) % doc.len() as u64) as usize;
            doc.splice(pos..pos, passage);
        }
        let text = render(&doc, seed);
        let a = narrow.find(&text, &mut scratch).unwrap();
        let b = full.find(&text, &mut Scratch::default()).unwrap();
        assert_eq!(a, b, "document {seed}");
        total += a.len();
    }
    assert!(total > 100, "only {total} findings: the test plants too little");
}
