//! Cost of the lookup stages against an index, on the fingerprints of a text
//! file: `cargo run --release -p exlibris-index --example lookbench INDEX FILE`.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (idx, file) = (args.next().expect("INDEX"), args.next().expect("FILE"));
    let index = exlibris_index::Index::open(std::path::Path::new(&idx)).unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let hashes: Vec<u64> =
        exlibris_text::fingerprints(&text, index.settings()).iter().map(|f| f.hash).collect();
    let (filter, table) = (index.filter(), index.fingerprints());
    let rnd =
        (0..1_000_000u64).filter(|i| filter.may_contain(exlibris_text::hash_word(&i.to_le_bytes()))).count();
    println!("random hashes passing the filter: {:.2} %", rnd as f64 / 1e4);
    for round in 0..2 {
        let t = Instant::now();
        let pass: Vec<u64> = hashes.iter().copied().filter(|&h| filter.may_contain(h)).collect();
        let f_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut pass2 = Vec::with_capacity(pass.len());
        const AHEAD: usize = 16;
        for &h in hashes.iter().take(AHEAD) {
            filter.prefetch(h);
        }
        for (i, &h) in hashes.iter().enumerate() {
            if let Some(&next) = hashes.get(i + AHEAD) {
                filter.prefetch(next);
            }
            if filter.may_contain(h) {
                pass2.push(h);
            }
        }
        let fp_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n = 0usize;
        for &h in &pass {
            n += table.lookup(h).count();
        }
        let l_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n2 = 0usize;
        for batch in pass.chunks(64) {
            for &h in batch {
                table.prefetch_bucket(h);
            }
            for &h in batch {
                table.prefetch_entries(h);
            }
            for &h in batch {
                n2 += table.lookup(h).count();
            }
        }
        let lp_s = t.elapsed().as_secs_f64();
        println!(
            "round {round}: {} fingerprints, {} pass ({:.1} %), {n}/{n2} postings; filter {:.1} ns each ({:.1} prefetched {AHEAD} ahead); table {:.0} ns a lookup ({:.0} prefetched)",
            hashes.len(),
            pass.len(),
            100.0 * pass.len() as f64 / hashes.len() as f64,
            f_s * 1e9 / hashes.len() as f64,
            fp_s * 1e9 / hashes.len() as f64,
            l_s * 1e9 / pass.len() as f64,
            lp_s * 1e9 / pass.len() as f64,
        );
    }
}
