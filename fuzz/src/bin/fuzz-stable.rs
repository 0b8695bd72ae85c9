//! A bounded mutation fuzzer for stable Rust: `fuzz-stable TARGET|all SECONDS [SEED]`.
//!
//! No coverage feedback (that needs nightly's sanitizer passes; use
//! `cargo fuzz run TARGET` there): it mutates the target's seeds and the
//! inputs it made before, runs each under `catch_unwind`, and writes every
//! input that panicked to `artifacts/TARGET/`. Exits 1 if any did.
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"WARC/1.0\r\n",
    b"Content-Length: ",
    b"99999999999",
    b"-1",
    b"0",
    b"\"",
    b"{",
    b"}",
    b"\\u",
    b"\\ud800",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"\0",
    b"<",
    b"</",
    b">",
    b"<script>",
    b"</p>",
    b"&#",
    b"&amp",
    b"<![CDATA[",
    b"<!--",
    b"..",
    b"../",
    b"/",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"chunked",
    b"gzip",
];

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(64)).min(len);
                v.drain(i..j);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(256)).min(len);
                let chunk = v[i..j].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let j = (i + 1 + rng.below(512)).min(other.len());
                    let at = rng.below(len + 1);
                    v.splice(at..at, other[i..j].iter().copied());
                }
            }
            6 if len > 0 => v.truncate(rng.below(len)),
            _ => {
                // Overwrite a run of digits with another number (lengths, sizes).
                if let Some(i) = v.iter().position(|b| b.is_ascii_digit()).map(|p| p + rng.below(len - p)) {
                    let n = rng.next() % 100_000;
                    let s = n.to_string();
                    let end = (i + s.len()).min(v.len());
                    v.splice(i..end, s.bytes());
                }
            }
        }
    }
    v.truncate(1 << 20);
    v
}

fn run(name: &str, target: fn(&[u8]), seconds: u64, seed: u64) -> usize {
    let mut rng = Rng(seed | 1);
    let mut pool = exlibris_fuzz::seeds(name);
    let mut failures: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let input = if pool.is_empty() || rng.below(20) == 0 {
            (0..rng.below(512)).map(|_| rng.next() as u8).collect()
        } else {
            let base = &pool[rng.below(pool.len())];
            mutate(&mut rng, base, &pool)
        };
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let msg = LAST_PANIC.lock().unwrap().clone();
            failures.entry(msg).or_insert_with(|| input.clone());
        } else if pool.len() < 4096 && rng.below(8) == 0 {
            pool.push(input);
        }
    }
    println!(
        "{name}: {runs} runs in {:.0}s, {} distinct panics",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    for (i, (msg, input)) in failures.iter().enumerate() {
        let dir = format!("artifacts/{name}");
        std::fs::create_dir_all(&dir).unwrap();
        let path = format!("{dir}/crash-{i}");
        std::fs::write(&path, input).unwrap();
        println!("  panic: {msg}\n    input: {path} ({} bytes)", input.len());
    }
    failures.len()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: fuzz-stable TARGET|all SECONDS [SEED]\ntargets: {}",
            exlibris_fuzz::TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
        );
        std::process::exit(2);
    }
    let seconds: u64 = args[2].parse().expect("SECONDS");
    let seed: u64 = args.get(3).map_or(0x5eed, |s| s.parse().expect("SEED"));
    std::panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap() = format!("{loc}: {}", msg.chars().take(200).collect::<String>());
    }));
    let mut failed = 0;
    for (name, target) in exlibris_fuzz::TARGETS {
        if args[1] == "all" || args[1] == *name {
            failed += run(name, *target, seconds, seed);
        }
    }
    std::process::exit(i32::from(failed > 0));
}
