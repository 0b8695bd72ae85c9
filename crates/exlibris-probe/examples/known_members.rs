//! Honest evaluation with known membership (see
//! `exlibris_probe::known_members`): train a tiny byte-level llama from
//! scratch on a random half of the chapters of some books, then ask the
//! probe to tell the training chapters from the held-out ones.
//!
//! ```text
//! cargo run --profile ci -p exlibris-probe --example known_members -- --small   # the test suite's size
//! cargo run --release -p exlibris-probe --example known_members                 # benchmark
//! ```
//! Prints a Markdown report (the BENCHMARKS.md section) on stdout.
//! Overrides for experiments: BOOKS=a.txt,b.txt, STEPS, HIDDEN, LAYERS,
//! SEQ, BATCH, CHAPTER_BYTES, SEED, LR.
use std::path::Path;

use exlibris_probe::known_members::{run, Setup};

fn main() -> anyhow::Result<()> {
    let small = std::env::args().any(|a| a == "--small");
    let mut s = if small { Setup::ci() } else { Setup::full() };
    if let Ok(b) = std::env::var("BOOKS") {
        s.books = b.split(',').map(String::from).collect();
    }
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    s.steps = env("STEPS", s.steps);
    s.hidden = env("HIDDEN", s.hidden);
    s.layers = env("LAYERS", s.layers);
    s.seq = env("SEQ", s.seq);
    s.batch = env("BATCH", s.batch);
    s.chapter_bytes = env("CHAPTER_BYTES", s.chapter_bytes);
    s.seed = env("SEED", s.seed as usize) as u64;
    s.lr = std::env::var("LR").ok().and_then(|v| v.parse().ok()).unwrap_or(s.lr);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/books");
    if !root.exists() {
        eprintln!("SKIP: {} is absent", root.display());
        return Ok(());
    }
    let r = run(&root, &s, &mut |line| eprintln!("{line}"))?;
    println!("## Known members: tiny byte-level llama trained from scratch\n");
    println!("{}", r.markdown());
    Ok(())
}
