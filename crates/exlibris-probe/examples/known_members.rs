//! Honest evaluation with known membership: train a tiny byte-level llama
//! from scratch on a random half of the chapters of some books, then ask
//! the probe to tell the training chapters from the held-out ones.
//!
//! ```text
//! cargo run --release -p exlibris-probe --example known_members -- --small   # CI size
//! cargo run --release -p exlibris-probe --example known_members              # benchmark
//! ```
//! Prints a Markdown report (the BENCHMARKS.md section) on stdout.
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use exlibris_probe::inference::{verdict, InferenceConfig, Label};
use exlibris_probe::llama::{Block, Llama, LlamaConfig};
use exlibris_probe::memorise::{log10_pz, summarise, MemoConfig, MemoWindow};
use exlibris_probe::scores::{score_passage, score_specs, windows};
use exlibris_probe::stats::{auroc, tpr_at_fpr};
use exlibris_probe::tokenizer::{GgufVocab, Tokenizer};
use exlibris_probe::{LanguageModel, ModelInfo, Net, Passages};

struct Setup {
    books: &'static [&'static str],
    hidden: usize,
    layers: usize,
    steps: usize,
    batch: usize,
    seq: usize,
    fpr_splits: u64,
    /// Keep only the first bytes of each chapter (a smaller member set
    /// is memorised in fewer steps).
    chapter_bytes: usize,
}

const SMALL: Setup = Setup {
    books: &["persuasion.txt"],
    hidden: 128,
    layers: 2,
    steps: 300,
    batch: 16,
    seq: 64,
    fpr_splits: 100,
    chapter_bytes: 3000,
};
const FULL: Setup = Setup {
    books: &[
        "persuasion.txt",
        "northangerabbey.txt",
        "prideprejudice.txt",
        "sensesensibility.txt",
        "mansfieldpark.txt",
        "emma.txt",
    ],
    hidden: 192,
    layers: 4,
    steps: 3000,
    batch: 16,
    seq: 128,
    fpr_splits: 200,
    chapter_bytes: usize::MAX,
};

struct Chapter {
    text: String,
    member: bool,
}

fn main() -> anyhow::Result<()> {
    let small = std::env::args().any(|a| a == "--small");
    let mut s = if small { SMALL } else { FULL };
    // BOOKS=a.txt,b.txt overrides the books.
    let books: Vec<&'static str> = std::env::var("BOOKS").map_or(s.books.to_vec(), |b| {
        b.split(',').map(|x| &*Box::leak(x.to_string().into_boxed_str())).collect()
    });
    s.books = Box::leak(books.into_boxed_slice());
    // Overrides for experiments: STEPS, HIDDEN, LAYERS, SEQ, BATCH, CHAPTER_BYTES.
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let steps = env("STEPS", s.steps);
    (s.hidden, s.layers, s.seq, s.batch) =
        (env("HIDDEN", s.hidden), env("LAYERS", s.layers), env("SEQ", s.seq), env("BATCH", s.batch));
    s.chapter_bytes = env("CHAPTER_BYTES", s.chapter_bytes);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/books");
    if !root.exists() {
        eprintln!("SKIP: {} is absent", root.display());
        return Ok(());
    }
    let mut rng = 0x1234_5678u64;
    let mut chapters = Vec::new();
    for &b in s.books {
        let text = std::fs::read_to_string(root.join(b))?;
        for mut ch in split_chapters(&text) {
            if ch.len() > s.chapter_bytes {
                let mut cut = s.chapter_bytes;
                while !ch.is_char_boundary(cut) {
                    cut -= 1;
                }
                ch.truncate(cut);
            }
            chapters.push(Chapter { text: ch, member: next(&mut rng).is_multiple_of(2) });
        }
    }
    let device = Device::Cpu;
    let tok = byte_tokenizer()?;
    let enc: Vec<Vec<u32>> =
        chapters.iter().map(|c| tok.encode(&c.text).map(|t| t.ids)).collect::<Result<_, _>>()?;
    let train: Vec<u32> =
        chapters.iter().zip(&enc).filter(|(c, _)| c.member).flat_map(|(_, e)| e.iter().copied()).collect();
    let n_members = chapters.iter().filter(|c| c.member).count();
    println!("## Known members: tiny byte-level llama trained from scratch\n");
    println!(
        "Books: {}; {} chapters, {} members ({} bytes of training text), {} held out.",
        s.books.join(", "),
        chapters.len(),
        n_members,
        train.len(),
        chapters.len() - n_members
    );

    // Train.
    let cfg = LlamaConfig {
        n_layer: s.layers,
        n_head: 4,
        n_kv_head: 2,
        hidden: s.hidden,
        vocab: 256,
        rms_eps: 1e-5,
        rope_theta: 10000.0,
        rope_interleaved: false,
        max_seq: s.seq,
    };
    let (mut model, vars) = init(&cfg, &device)?;
    model.set_differentiable(true);
    let mut opt = AdamW::new(vars, ParamsAdamW { lr: 3e-3, weight_decay: 0.0, ..Default::default() })?;
    let t0 = Instant::now();
    let mut last = 0.0;
    for step in 0..steps {
        let mut ids = Vec::with_capacity(s.batch * (s.seq + 1));
        for _ in 0..s.batch {
            let st = (next(&mut rng) as usize) % (train.len() - s.seq - 1);
            ids.extend_from_slice(&train[st..st + s.seq + 1]);
        }
        let all = Tensor::from_vec(ids, (s.batch, s.seq + 1), &device)?;
        let x = all.narrow(1, 0, s.seq)?.contiguous()?;
        let y = all.narrow(1, 1, s.seq)?.flatten_all()?;
        let h = model.hidden_states(&x)?;
        let logits = h.matmul(&model.lm_head().t()?)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        opt.backward_step(&loss)?;
        if step % 100 == 0 || step + 1 == steps {
            last = loss.to_scalar::<f32>()?;
            eprintln!("step {step}: loss {last:.3} ({:.0}s)", t0.elapsed().as_secs_f64());
        }
    }
    let train_secs = t0.elapsed().as_secs_f64();
    model.set_differentiable(false);
    println!("Model: {} layers, width {}, {} parameters; {steps} steps of {}×{} bytes in {:.0} s; final training loss {last:.3} nats/byte.\n", s.layers, s.hidden, model.n_params(), s.batch, s.seq, train_secs);
    let info = ModelInfo {
        path: "trained".into(),
        format: "memory".into(),
        architecture: "llama".into(),
        n_params: model.n_params(),
        vocab: 256,
        max_seq: s.seq,
        tokenizer: "bytes".into(),
    };
    let lm = LanguageModel::from_parts(Net::Llama(model), tok, info, device);

    // Score every passage of every chapter.
    let ks = [10, 20, 50];
    let specs = score_specs(&ks);
    let t1 = Instant::now();
    let mut passages: Vec<(usize, Vec<f64>, String)> = Vec::new();
    for (ci, e) in enc.iter().enumerate() {
        let ws = windows(e.len(), s.seq, s.seq);
        for batch in ws.chunks(8) {
            let seqs: Vec<&[u32]> = batch.iter().map(|w| &e[w.start..w.end]).collect();
            for (w, st) in batch.iter().zip(lm.window_stats(&seqs, 0)?) {
                let text = String::from_utf8_lossy(
                    &e[w.start..w.end].iter().map(|&b| byte_of(b)).collect::<Vec<u8>>(),
                )
                .into_owned();
                passages.push((ci, score_passage(&st, &text, &ks), text));
            }
        }
    }
    let score_secs = t1.elapsed().as_secs_f64();
    let is_member = |ci: usize| chapters[ci].member;
    println!("{} passages of {} bytes scored in {:.0} s.\n", passages.len(), s.seq, score_secs);
    println!("| score | passage AUROC | TPR@1%FPR | TPR@5%FPR | chapter AUROC |\n|---|---|---|---|---|");
    for (j, sp) in specs.iter().enumerate() {
        let sign = if sp.higher_is_member { 1.0 } else { -1.0 };
        let (m, n): (Vec<f64>, Vec<f64>) = split_by(&passages, |p| is_member(p.0), |p| sign * p.1[j]);
        let (cm, cn) = chapter_means(&chapters, &passages, j, sign);
        let f = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
        println!(
            "| {} | {} | {} | {} | {} |",
            sp.name,
            f(auroc(&m, &n)),
            f(tpr_at_fpr(&m, &n, 0.01)),
            f(tpr_at_fpr(&m, &n, 0.05)),
            f(auroc(&cm, &cn))
        );
    }

    // Dataset inference: members vs non-members, then non-members vs non-members.
    let feats = |p: &(usize, Vec<f64>, String)| -> Vec<f64> {
        p.1.iter()
            .zip(&specs)
            .filter(|(_, s)| s.name != "perplexity")
            .map(|(v, s)| if s.higher_is_member { *v } else { -*v })
            .collect()
    };
    // Blocks are chapters: the unit of membership, and of dependence.
    let group = |pred: &dyn Fn(usize) -> bool| -> Passages {
        let sel: Vec<&(usize, Vec<f64>, String)> = passages.iter().filter(|p| pred(p.0)).collect();
        Passages {
            features: sel.iter().map(|p| feats(p)).collect(),
            texts: sel.iter().map(|p| p.2.as_str()).collect(),
            blocks: sel.iter().map(|p| p.0).collect(),
        }
    };
    let icfg = InferenceConfig::default();
    let v = verdict(&group(&|c| chapters[c].member), &group(&|c| !chapters[c].member), &icfg);
    let p = |v: &exlibris_probe::Verdict| {
        v.dataset_inference.as_ref().and_then(|d| d.welch).map_or(f64::NAN, |w| w.p_value)
    };
    println!("\nDataset inference, member chapters vs held-out chapters: {:?}, p = {:.2e}, blind-baseline AUROC {:.3}, held-out combined AUROC {:.3}.\n", v.label, p(&v), v.blind_auroc.unwrap_or(f64::NAN), v.dataset_inference.as_ref().and_then(|d| d.auroc).unwrap_or(f64::NAN));
    let non: Vec<usize> = (0..chapters.len()).filter(|&c| !chapters[c].member).collect();
    let (mut hits05, mut hits01, mut member_labels, mut confounded) = (0, 0, 0, 0);
    for seed in 0..s.fpr_splits {
        let mut r = 0xabcd_0000 + seed;
        let half: Vec<bool> = non.iter().map(|_| next(&mut r).is_multiple_of(2)).collect();
        let in_a = |c: usize| non.iter().position(|&x| x == c).is_some_and(|i| half[i]);
        let in_b = |c: usize| non.iter().position(|&x| x == c).is_some_and(|i| !half[i]);
        let v = verdict(&group(&in_a), &group(&in_b), &InferenceConfig { seed, ..icfg.clone() });
        let pv = p(&v);
        hits05 += usize::from(pv < 0.05);
        hits01 += usize::from(pv < 0.01);
        member_labels += usize::from(v.label == Label::Member);
        confounded += usize::from(v.label == Label::Confounded);
    }
    println!("Held-out chapters split in two at random, {} times (no membership difference exists): p < 0.05 in {hits05}, p < 0.01 in {hits01}; verdict \"member\" in {member_labels}, \"confounded\" in {confounded}.\n", s.fpr_splits);

    // Memorisation.
    // Windows no longer than the training context: prefix and suffix of half of it each.
    let mc = MemoConfig { prefix: s.seq / 2, suffix: s.seq / 2, stride: s.seq, ..MemoConfig::default() };
    for member in [true, false] {
        let mut ws = Vec::new();
        let mut total = 0;
        for (_, e) in enc.iter().enumerate().filter(|(c, _)| chapters[*c].member == member) {
            let starts: Vec<usize> =
                windows(e.len(), mc.prefix + mc.suffix, mc.stride).iter().map(|w| w.start).collect();
            for b in starts.chunks(16) {
                let seqs: Vec<&[u32]> = b.iter().map(|&st| &e[st..st + mc.prefix + mc.suffix]).collect();
                for (&st, stats) in b.iter().zip(lm.window_stats(&seqs, mc.prefix - 1)?) {
                    ws.push(MemoWindow {
                        token_start: total + st,
                        log10_pz: log10_pz(stats.iter().map(|x| x.logp)),
                    });
                }
            }
            total += e.len();
        }
        let sm = summarise(&ws, total, &mc);
        let shares: Vec<String> = sm
            .shares
            .iter()
            .map(|x| format!("p_z ≥ {}: {:.2} %", x.threshold, 100.0 * x.share_of_windows))
            .collect();
        println!(
            "Memorisation, {} chapters ({} windows of {}+{} bytes): {}.",
            if member { "member" } else { "held-out" },
            sm.n_windows,
            mc.prefix,
            mc.suffix,
            shares.join(", ")
        );
    }
    Ok(())
}

fn split_by<T>(v: &[T], pred: impl Fn(&T) -> bool, val: impl Fn(&T) -> f64) -> (Vec<f64>, Vec<f64>) {
    let a = v.iter().filter(|x| pred(x)).map(&val).collect();
    let b = v.iter().filter(|x| !pred(x)).map(&val).collect();
    (a, b)
}

fn chapter_means(
    chapters: &[Chapter],
    passages: &[(usize, Vec<f64>, String)],
    j: usize,
    sign: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mut m, mut n) = (Vec::new(), Vec::new());
    for (ci, c) in chapters.iter().enumerate() {
        let v: Vec<f64> = passages.iter().filter(|p| p.0 == ci).map(|p| sign * p.1[j]).collect();
        if v.is_empty() {
            continue;
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        if c.member {
            m.push(mean)
        } else {
            n.push(mean)
        }
    }
    (m, n)
}

/// Chapters start at lines beginning "Chapter" or "CHAPTER"; the text
/// before the first heading is dropped.
fn split_chapters(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().to_lowercase().starts_with("chapter") {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            cur = Some(String::new());
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
    }
    out.extend(cur);
    out.retain(|c| c.len() > 2000);
    out
}

/// One token per byte: byte-level alphabet, no merges.
fn byte_tokenizer() -> anyhow::Result<Tokenizer> {
    let mut alphabet: Vec<(u8, char)> = (0..=255u8).map(|b| (b, byte_char(b))).collect();
    alphabet.sort();
    let v = GgufVocab {
        model: "gpt2".into(),
        pre: None,
        tokens: alphabet.iter().map(|(_, c)| c.to_string()).collect(),
        merges: Vec::new(),
        token_types: vec![1; 256],
        bos: None,
    };
    Ok(Tokenizer::from_gguf_vocab(&v, Path::new("bytes"))?)
}

/// GPT-2's byte-to-character map.
fn byte_char(b: u8) -> char {
    let printable =
        |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    if printable(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap_or('?')
}

fn byte_of(id: u32) -> u8 {
    id as u8
}

fn init(cfg: &LlamaConfig, d: &Device) -> anyhow::Result<(Llama, Vec<Var>)> {
    let mut vars = Vec::new();
    // std 0 means a norm's unit scale.
    let mut v = |shape: &[usize], std: f64| -> anyhow::Result<Tensor> {
        let init = if std == 0.0 {
            Tensor::ones(shape, DType::F32, d)?
        } else {
            Tensor::randn(0f32, std as f32, shape, d)?
        };
        let x = Var::from_tensor(&init)?;
        let t = x.as_tensor().clone();
        vars.push(x);
        Ok(t)
    };
    let (h, kv, ff) = (cfg.hidden, cfg.n_kv_head * cfg.head_dim(), cfg.hidden * 3);
    let std = 0.02;
    let embed = v(&[cfg.vocab, h], std)?;
    let mut blocks = Vec::new();
    for _ in 0..cfg.n_layer {
        let (a, b) = (v(&[h], 0.0)?, v(&[h], 0.0)?);
        blocks.push(Block {
            attn_norm: a,
            wq: v(&[h, h], std)?,
            wk: v(&[kv, h], std)?,
            wv: v(&[kv, h], std)?,
            wo: v(&[h, h], std)?,
            ffn_norm: b,
            w_gate: v(&[ff, h], std)?,
            w_up: v(&[ff, h], std)?,
            w_down: v(&[h, ff], std)?,
        });
    }
    let n = v(&[h], 0.0)?;
    let m = Llama::new(cfg.clone(), embed.clone(), blocks, n, embed)?;
    Ok((m, vars))
}

fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}
