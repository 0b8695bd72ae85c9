//! A small audit for tests of this crate and of the server: three works of
//! generated English-like prose, an index of them, a corpus that copies
//! parts of two (one with OCR damage and an edit), and its results
//! directory with the findings store, written exactly as `exlibris scan`
//! writes them.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use exlibris_index::{build_index, BuildOptions, Catalog, Index};
use exlibris_scan::{discover, scan, Progress, Results, ResultsWriter, RunInfo, ScanOptions, Sink};

use crate::store::StoreFeed;

const WORDS: &[&str] = &[
    "the",
    "river",
    "ran",
    "quiet",
    "under",
    "a",
    "grey",
    "morning",
    "and",
    "she",
    "walked",
    "along",
    "its",
    "bank",
    "thinking",
    "of",
    "letters",
    "never",
    "sent",
    "house",
    "stood",
    "empty",
    "on",
    "hill",
    "where",
    "wind",
    "carried",
    "voices",
    "from",
    "town",
    "below",
    "he",
    "remembered",
    "winter",
    "when",
    "snow",
    "fell",
    "for",
    "three",
    "days",
    "without",
    "pause",
    "lamp",
    "burned",
    "late",
    "in",
    "study",
    "old",
    "books",
    "lay",
    "open",
    "every",
    "table",
    "garden",
    "was",
    "full",
    "roses",
    "bees",
    "small",
    "boat",
    "waited",
    "by",
    "pier",
    "nobody",
    "came",
    "to",
    "claim",
    "it",
    "years",
    "passed",
    "like",
    "leaves",
    "road",
    "turned",
    "north",
    "toward",
    "mountains",
    "their",
    "names",
    "forgotten",
    "was",
    "still",
    "warm",
    "bread",
    "market",
    "square",
];

/// Generated prose: `words` words, sentences of 8 to 20, seeded.
pub fn prose(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = String::new();
    let mut left = 0;
    for i in 0..words {
        let w = WORDS[(next() % WORDS.len() as u64) as usize];
        if left == 0 {
            left = 8 + next() % 13;
            let mut c = w.chars();
            out.extend(c.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(c.as_str());
        } else {
            out.push_str(w);
        }
        left -= 1;
        out.push_str(if left == 0 { ". " } else { " " });
        if i % 120 == 119 {
            out.push_str("\n\n");
        }
    }
    out
}

/// The fixture's paths.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub index: PathBuf,
    pub results: PathBuf,
    /// Text of each work, in index order.
    pub works: Vec<String>,
}

/// Build the fixture in a new temporary directory.
pub fn build() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let works = vec![prose(1, 6000), prose(2, 3000), prose(3, 2000)];
    let meta = [
        ("quiet-river", "The Quiet River", "Ada Marsh", "in-copyright", "978-0-306-40615-7"),
        ("empty-house", "The Empty House", "Ben Stone", "public-domain", "978-1-4028-9462-6"),
        ("north-road", "North Road", "Cy Wren", "in-copyright", "978-0-14-044913-6"),
    ];
    let mut cat = String::new();
    for ((id, title, author, rights, isbn), text) in meta.iter().zip(&works) {
        std::fs::write(d.join(format!("{id}.txt")), text).expect("write work");
        cat.push_str(&format!(
            "{{\"id\":\"{id}\",\"path\":\"{id}.txt\",\"title\":\"{title}\",\"author\":\"{author}\",\"rights\":\"{rights}\",\"isbn\":\"{isbn}\"}}\n"
        ));
    }
    std::fs::write(d.join("catalog.jsonl"), cat).expect("write catalog");
    let catalog = Catalog::read(&d.join("catalog.jsonl")).expect("catalog");
    let index = d.join("books.exl");
    build_index(&catalog, &index, &BuildOptions::default(), &|_| {}).expect("index");

    // Documents: a long copy of work 0, with an OCR error and an inserted
    // word; a second copy of part of it; a copy of work 1; a clean document.
    let w0 = &works[0];
    let cut = |t: &str, a: usize, b: usize| {
        let a = t[a..].find(' ').map_or(a, |i| a + i + 1);
        let b = t[b..].find(' ').map_or(b, |i| b + i);
        t[a..b].to_string()
    };
    let mut damaged = cut(w0, 1000, 9000);
    if let Some(i) = damaged.find(" morning ") {
        damaged.replace_range(i..i + 9, " rnorning ");
    }
    if let Some(i) = damaged.find(" river ") {
        damaged.replace_range(i..i + 7, " river truly ");
    }
    let docs = [
        ("doc-1", format!("Preface of a web page. {damaged} Footer."), "https://www.example.org/a/1"),
        ("doc-2", cut(w0, 4000, 7000), "https://books.example.net/x"),
        ("doc-3", format!("Quoted: {}", cut(&works[1], 500, 4000)), "https://example.org/b"),
        ("doc-4", prose(99, 500), "https://other.test/c"),
    ];
    let mut corpus = String::new();
    for (id, text, url) in &docs {
        corpus.push_str(&serde_json::json!({"id": id, "text": text, "url": url}).to_string());
        corpus.push('\n');
    }
    std::fs::write(d.join("corpus.jsonl"), corpus).expect("write corpus");
    let results = d.join("results");
    scan_into(&index, &[d.join("corpus.jsonl")], &results);
    Fixture { dir, index, results, works }
}

/// Scan `inputs` against `index` into `results` as `exlibris scan` does.
pub fn scan_into(index_dir: &Path, inputs: &[PathBuf], results: &Path) {
    let index = Index::open(index_dir).expect("open index");
    let (inputs, _) = discover(inputs).expect("discover");
    // One reader: the feed needs documents in input order.
    let opts = ScanOptions { readers: 1, ..Default::default() };
    let mut writer = ResultsWriter::create(results, &index, &inputs, &opts).expect("results writer");
    let todo = writer.todo().to_vec();
    // The store written while the scan runs, from its findings.
    let mut feed = StoreFeed::start(results, &index).expect("store feed");
    scan(&index, &todo, &opts, &mut [&mut writer as &mut dyn Sink, &mut feed], &Progress::default())
        .expect("scan");
    let run = RunInfo {
        exlibris_version: "test".into(),
        index_id: index.meta().index_id.clone(),
        index: index_dir.display().to_string(),
        fingerprint: *index.settings(),
        min_words: exlibris_scan::Matcher::new(&index, opts.matching.clone()).min_words(),
        matching: opts.matching.clone(),
        inputs: inputs.iter().map(|i| i.path.display().to_string()).collect(),
        threads: 1,
        started_unix: 1_700_000_000,
        task: None,
    };
    writer.finish(&index, run, Vec::new()).expect("finish results");
    feed.finish(&Results::read(results).expect("read results")).expect("finish store");
}
