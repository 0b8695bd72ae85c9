//! Inputs for `scripts/bench.sh`: a catalog scaled up with generated works,
//! and a large JSON Lines corpus of real background pages with pasted book
//! passages, zstd-compressed.
//!
//! ```text
//! exlibris-benchgen catalog --books DIR --words N --out DIR [--seed S]
//! exlibris-benchgen corpus  --books DIR --background WIKI.jsonl --bytes N --out FILE.jsonl.zst [--seed S]
//! ```
//! Generated works come from a word-level Markov chain (order 1) trained on
//! the real books: English-like word statistics, hard-wrapped lines and
//! paragraphs like a book, but no long runs copied from the training text.
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct Book {
    id: String,
    path: PathBuf,
    text: String,
}

fn read_books(dir: &Path) -> Result<Vec<Book>> {
    let manifest = dir.join("catalog.jsonl");
    let text = std::fs::read_to_string(&manifest).with_context(|| manifest.display().to_string())?;
    let mut books = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let path = dir.join(v["path"].as_str().context("path")?).canonicalize()?;
        let text = std::fs::read_to_string(&path)?;
        books.push(Book { id: v["id"].as_str().context("id")?.to_string(), path, text });
    }
    Ok(books)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn need(args: &[String], name: &str) -> Result<String> {
    arg(args, name).with_context(|| format!("missing {name}"))
}

fn catalog(args: &[String]) -> Result<()> {
    let books = read_books(Path::new(&need(args, "--books")?))?;
    let target: u64 = need(args, "--words")?.parse()?;
    let out = PathBuf::from(need(args, "--out")?);
    let mut rng = Rng(arg(args, "--seed").map_or(Ok(1), |s| s.parse())?);
    std::fs::create_dir_all(&out)?;
    let mut manifest = BufWriter::new(std::fs::File::create(out.join("catalog.jsonl"))?);
    let mut total: u64 = 0;
    for b in &books {
        total += b.text.split_whitespace().count() as u64;
        let line = serde_json::json!({"id": b.id, "path": b.path, "title": b.id, "author": "real", "rights": "public-domain"});
        writeln!(manifest, "{line}")?;
    }
    // Order-1 Markov chain over whitespace-separated words.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut vocab: Vec<&str> = Vec::new();
    let mut seq: Vec<u32> = Vec::new();
    for b in &books {
        for w in b.text.split_whitespace() {
            let id = *ids.entry(w).or_insert_with(|| {
                vocab.push(w);
                vocab.len() as u32 - 1
            });
            seq.push(id);
        }
    }
    let mut next: Vec<Vec<u32>> = vec![Vec::new(); vocab.len()];
    for p in seq.windows(2) {
        next[p[0] as usize].push(p[1]);
    }
    let per_work: u64 = 200_000;
    let mut n = 0;
    while total < target {
        n += 1;
        let words = per_work.min(target - total);
        let name = format!("gen-{n:06}.txt");
        let mut text = String::with_capacity(words as usize * 6);
        let mut w = seq[rng.below(seq.len())];
        let (mut col, mut para) = (0usize, 40 + rng.below(160));
        for i in 0..words {
            let s = vocab[w as usize];
            if col + s.len() > 72 {
                text.push('\n');
                col = 0;
            } else if col > 0 {
                text.push(' ');
                col += 1;
            }
            text.push_str(s);
            col += s.len();
            if i as usize % para == para - 1 {
                text.push_str("\n\n");
                col = 0;
                para = 40 + rng.below(160);
            }
            let succ = &next[w as usize];
            w = if succ.is_empty() { seq[rng.below(seq.len())] } else { succ[rng.below(succ.len())] };
        }
        std::fs::write(out.join(&name), text)?;
        let line = serde_json::json!({"id": format!("gen-{n}"), "path": name, "title": format!("Generated {n}"), "author": "Markov", "rights": "in-copyright"});
        writeln!(manifest, "{line}")?;
        total += words;
    }
    manifest.flush()?;
    println!(
        "catalog of {total} words ({} real books, {n} generated works) in {}",
        books.len(),
        out.display()
    );
    Ok(())
}

fn corpus(args: &[String]) -> Result<()> {
    let books = read_books(Path::new(&need(args, "--books")?))?;
    let bg_path = need(args, "--background")?;
    let target: u64 = need(args, "--bytes")?.parse()?;
    let out = PathBuf::from(need(args, "--out")?);
    let mut rng = Rng(arg(args, "--seed").map_or(Ok(1), |s| s.parse())?);
    let background: Vec<String> = std::fs::read_to_string(&bg_path)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .filter(|t| t.len() > 2000)
        .collect();
    if background.is_empty() {
        bail!("{bg_path}: no background pages");
    }
    let words: Vec<Vec<(usize, usize)>> = books
        .iter()
        .map(|b| {
            let mut v = Vec::new();
            let mut start = None;
            for (i, c) in b.text.char_indices() {
                match (c.is_whitespace(), start) {
                    (false, None) => start = Some(i),
                    (true, Some(s)) => {
                        v.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            v
        })
        .collect();
    let file = std::fs::File::create(&out)?;
    let mut z = zstd::stream::write::Encoder::new(BufWriter::new(file), 3)?.auto_finish();
    let (mut written, mut docs) = (0u64, 0u64);
    while written < target {
        let bgi = rng.below(background.len());
        let mut text = background[bgi].clone();
        let kind = rng.below(100);
        if kind >= 45 {
            let cases = if kind >= 90 { 1 } else { 1 + rng.below(3) };
            for _ in 0..cases {
                let b = rng.below(books.len());
                let n = if kind >= 90 { 2000 + rng.below(10_000) } else { 30 + rng.below(370) };
                let ws = &words[b];
                let s = rng.below(ws.len().saturating_sub(n).max(1));
                let passage = &books[b].text[ws[s].0..ws[(s + n).min(ws.len() - 1)].1];
                let passage = if rng.below(4) == 0 { passage.to_uppercase() } else { passage.to_string() };
                let mut cut = rng.below(text.len());
                while !text.is_char_boundary(cut) {
                    cut += 1;
                }
                text.insert_str(cut, &format!("\n\n{passage}\n\n"));
            }
        }
        let line = serde_json::json!({"id": format!("bench-{docs:09}"), "text": text, "url": format!("https://example.org/{bgi}/{docs}")});
        let s = line.to_string();
        z.write_all(s.as_bytes())?;
        z.write_all(b"\n")?;
        written += s.len() as u64 + 1;
        docs += 1;
    }
    drop(z);
    println!("corpus of {docs} documents, {written} bytes of JSON Lines, in {}", out.display());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("catalog") => catalog(&args[2..]),
        Some("corpus") => corpus(&args[2..]),
        _ => bail!("usage: exlibris-benchgen catalog|corpus …  (see the source's header)"),
    }
}
