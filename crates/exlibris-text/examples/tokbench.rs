//! Throughput of the normaliser and of fingerprinting on a text file:
//! `cargo run --release -p exlibris-text --example tokbench FILE`.
use std::time::Instant;

use exlibris_text::{fingerprint_text, FingerprintSettings, Tokenizer};

fn main() {
    let path = std::env::args().nth(1).expect("usage: tokbench FILE");
    let text = std::fs::read_to_string(&path).expect("a UTF-8 text file");
    let mb = text.len() as f64 / 1e6;
    for _ in 0..3 {
        let t = Instant::now();
        let (mut n, mut x) = (0u64, 0u64);
        let mut tok = Tokenizer::hashing(&text);
        while let Some(batch) = tok.next_tokens() {
            n += batch.len() as u64;
            x = batch.iter().fold(x, |x, w| x ^ w.hash);
        }
        let tok_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut fps = 0u64;
        fingerprint_text(&text, &FingerprintSettings::default(), |_, _| {}, |f| fps += f.hash & 1);
        let fp_s = t.elapsed().as_secs_f64();
        println!(
            "{mb:.0} MB, {n} tokens ({x:x}): tokenise {:.0} MB/s ({:.1} ns/token), fingerprint {:.0} MB/s ({:.1} ns/token) [{fps}]",
            mb / tok_s,
            tok_s * 1e9 / n as f64,
            mb / fp_s,
            fp_s * 1e9 / n as f64
        );
    }
}
