//! Honest evaluation with known membership: train a tiny byte-level llama
//! from scratch on a random half of the chapters of some books, then ask
//! the probe to tell the training chapters from the held-out ones.
//!
//! The held-out chapters come from the same books, so members and
//! non-members differ only in whether the model saw them: any signal is
//! membership, not topic or date. [`run`] does the whole experiment for a
//! [`Setup`] and returns a [`Report`] of figures; [`Setup::ci`] is the size
//! the test suite runs, [`Setup::full`] the benchmark. Everything is seeded
//! (weights, chapter split, batches, test splits), so a run is reproducible.
//!
//! ```no_run
//! use exlibris_probe::known_members::{run, Setup};
//! # fn main() -> exlibris_probe::Result<()> {
//! let report = run("../shared/corpora/books".as_ref(), &Setup::ci(), &mut |line| eprintln!("{line}"))?;
//! println!("{}", report.markdown());
//! # Ok(()) }
//! ```
use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::error::{Error, Result};
use crate::inference::{verdict, InferenceConfig, Label, Passages, Verdict};
use crate::llama::{Block, Llama, LlamaConfig};
use crate::memorise::{log10_pz, summarise, MemoConfig, MemoSummary, MemoWindow};
use crate::model::{LanguageModel, ModelInfo, Net};
use crate::scores::{score_passage, score_specs, windows};
use crate::stats::{auroc, tpr_at_fpr};
use crate::tokenizer::{GgufVocab, Tokenizer};

/// The size of one known-members experiment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Setup {
    /// Book files, under the books directory given to [`run`].
    pub books: Vec<String>,
    /// Keep only the first bytes of each chapter (a smaller member set is
    /// memorised in fewer steps).
    pub chapter_bytes: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Training steps (0: an untrained model, a negative control).
    pub steps: usize,
    /// Windows per training step.
    pub batch: usize,
    /// Context length, also the passage length, in bytes.
    pub seq: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// Random splits of the held-out chapters into two halves, to count
    /// false positives.
    pub null_splits: u64,
    /// Seed of everything random.
    pub seed: u64,
}

impl Setup {
    /// The size the test suite runs: two books, the first 512 bytes of each
    /// chapter, a 2-layer model trained for ~30 epochs of its members.
    pub fn ci() -> Self {
        Setup {
            books: vec!["persuasion.txt".into(), "northangerabbey.txt".into()],
            chapter_bytes: 512,
            layers: 2,
            hidden: 128,
            steps: 400,
            batch: 16,
            seq: 64,
            lr: 3e-3,
            null_splits: 50,
            seed: 0x1234_5678,
        }
    }

    /// The benchmark: six Austen novels, whole chapters, a 4-layer model.
    pub fn full() -> Self {
        Setup {
            books: [
                "persuasion.txt",
                "northangerabbey.txt",
                "prideprejudice.txt",
                "sensesensibility.txt",
                "mansfieldpark.txt",
                "emma.txt",
            ]
            .map(String::from)
            .to_vec(),
            chapter_bytes: usize::MAX,
            layers: 4,
            hidden: 192,
            steps: 3000,
            batch: 16,
            seq: 128,
            lr: 3e-3,
            null_splits: 200,
            seed: 0x1234_5678,
        }
    }
}

/// One score's power to tell member passages (and chapters) from held-out ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoreRow {
    /// Score name, as in `probe.json`.
    pub name: String,
    /// AUROC over passages, oriented so that 1 means "members score as seen".
    pub passage_auroc: Option<f64>,
    /// TPR at 1 % FPR over passages.
    pub tpr_at_1: Option<f64>,
    /// TPR at 5 % FPR over passages.
    pub tpr_at_5: Option<f64>,
    /// AUROC over chapter means.
    pub chapter_auroc: Option<f64>,
}

/// Dataset inference on random halves of the held-out chapters, where no
/// membership difference exists.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NullSplits {
    /// Splits tried.
    pub runs: u64,
    /// Splits with p < 0.05.
    pub p_below_05: usize,
    /// Splits with p < 0.01.
    pub p_below_01: usize,
    /// Splits labelled "member".
    pub member: usize,
    /// Splits labelled "confounded".
    pub confounded: usize,
    /// The first split's verdict.
    pub first: Verdict,
}

/// The figures of one experiment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// What was run.
    pub setup: Setup,
    /// Chapters used.
    pub n_chapters: usize,
    /// Of which members.
    pub n_members: usize,
    /// Bytes of member (training) text.
    pub train_bytes: usize,
    /// Model parameters.
    pub n_params: usize,
    /// Training loss at the last step, nats per byte (NaN without training).
    pub final_loss: f64,
    /// Seconds spent training.
    pub train_secs: f64,
    /// Passages scored.
    pub n_passages: usize,
    /// Seconds spent scoring.
    pub score_secs: f64,
    /// Per score, member vs held-out.
    pub scores: Vec<ScoreRow>,
    /// Dataset inference, member chapters vs held-out chapters.
    pub members: Verdict,
    /// Dataset inference between halves of the held-out chapters.
    pub null: NullSplits,
    /// Memorisation of member chapters, then of held-out chapters.
    pub memorisation: [MemoSummary; 2],
}

/// The p-value of a verdict's test (NaN when it was not run).
pub fn p_value(v: &Verdict) -> f64 {
    v.dataset_inference.as_ref().and_then(|d| d.welch).map_or(f64::NAN, |w| w.p_value)
}

impl Report {
    /// The best passage AUROC over all scores.
    pub fn best_passage_auroc(&self) -> f64 {
        self.scores.iter().filter_map(|s| s.passage_auroc).fold(f64::NAN, f64::max)
    }

    /// The report as the Markdown section of BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let s = &self.setup;
        let f = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
        let mut o = format!(
            "Books: {}; first {} bytes of each chapter; {} chapters, {} members ({} bytes of training text), {} held out.\n\n",
            s.books.join(", "),
            if s.chapter_bytes == usize::MAX { "all".to_string() } else { s.chapter_bytes.to_string() },
            self.n_chapters,
            self.n_members,
            self.train_bytes,
            self.n_chapters - self.n_members
        );
        o += &format!(
            "Model: {} layers, width {}, {} parameters; {} steps of {}×{} bytes (≈ {:.0} epochs) in {:.0} s; final training loss {:.3} nats/byte.\n\n",
            s.layers,
            s.hidden,
            self.n_params,
            s.steps,
            s.batch,
            s.seq,
            (s.steps * s.batch * s.seq) as f64 / self.train_bytes.max(1) as f64,
            self.train_secs,
            self.final_loss
        );
        o += &format!(
            "{} passages of {} bytes scored in {:.0} s.\n\n",
            self.n_passages, s.seq, self.score_secs
        );
        o += "| score | passage AUROC | TPR@1%FPR | TPR@5%FPR | chapter AUROC |\n|---|---|---|---|---|\n";
        for r in &self.scores {
            o += &format!(
                "| {} | {} | {} | {} | {} |\n",
                r.name,
                f(r.passage_auroc),
                f(r.tpr_at_1),
                f(r.tpr_at_5),
                f(r.chapter_auroc)
            );
        }
        let v = &self.members;
        o += &format!(
            "\nDataset inference, member chapters vs held-out chapters: `{}`, p = {:.2e}, blind-baseline AUROC {}, held-out combined AUROC {}.\n\n",
            v.label.as_str(),
            p_value(v),
            f(v.blind_auroc),
            f(v.dataset_inference.as_ref().and_then(|d| d.auroc))
        );
        let n = &self.null;
        o += &format!(
            "Held-out chapters split in two at random, {} times (no membership difference exists): p < 0.05 in {}, p < 0.01 in {}; verdict \"member\" in {}, \"confounded\" in {}.\n\n",
            n.runs, n.p_below_05, n.p_below_01, n.member, n.confounded
        );
        for (sm, who) in self.memorisation.iter().zip(["member", "held-out"]) {
            let shares: Vec<String> = sm
                .shares
                .iter()
                .map(|x| format!("p_z ≥ {}: {:.2} %", x.threshold, 100.0 * x.share_of_windows))
                .collect();
            o += &format!(
                "Memorisation, {who} chapters ({} windows of {}+{} bytes): {}.\n",
                sm.n_windows,
                sm.config.prefix,
                sm.config.suffix,
                shares.join(", ")
            );
        }
        o
    }
}

struct Chapter {
    text: String,
    member: bool,
}

/// A scored passage: its chapter, oriented-or-not scores, and text.
struct Scored {
    chapter: usize,
    scores: Vec<f64>,
    text: String,
}

/// Runs the experiment on the books under `books_dir`; `log` gets progress lines.
pub fn run(books_dir: &Path, s: &Setup, log: &mut dyn FnMut(&str)) -> Result<Report> {
    let mut rng = Rng(s.seed);
    let mut chapters = Vec::new();
    for b in &s.books {
        let path = books_dir.join(b);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io { path, source: e })?;
        for mut ch in split_chapters(&text) {
            if ch.len() > s.chapter_bytes {
                let mut cut = s.chapter_bytes;
                while !ch.is_char_boundary(cut) {
                    cut -= 1;
                }
                ch.truncate(cut);
            }
            chapters.push(Chapter { text: ch, member: rng.next().is_multiple_of(2) });
        }
    }
    let device = Device::Cpu;
    let tok = byte_tokenizer()?;
    let enc: Vec<Vec<u32>> =
        chapters.iter().map(|c| tok.encode(&c.text).map(|t| t.ids)).collect::<Result<_>>()?;
    let train: Vec<u32> =
        chapters.iter().zip(&enc).filter(|(c, _)| c.member).flat_map(|(_, e)| e.iter().copied()).collect();
    let n_members = chapters.iter().filter(|c| c.member).count();
    if train.len() <= s.seq + 1 || n_members == chapters.len() {
        return Err(Error::Config(format!(
            "{} chapters, {} bytes of member text: too little for a window of {} bytes",
            chapters.len(),
            train.len(),
            s.seq
        )));
    }

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
    let (mut model, vars) = init(&cfg, &device, &mut rng)?;
    model.set_differentiable(true);
    let mut opt = AdamW::new(vars, ParamsAdamW { lr: s.lr, weight_decay: 0.0, ..Default::default() })?;
    let t0 = Instant::now();
    let mut final_loss = f64::NAN;
    for step in 0..s.steps {
        let mut ids = Vec::with_capacity(s.batch * (s.seq + 1));
        for _ in 0..s.batch {
            let st = (rng.next() as usize) % (train.len() - s.seq - 1);
            ids.extend_from_slice(&train[st..st + s.seq + 1]);
        }
        let all = Tensor::from_vec(ids, (s.batch, s.seq + 1), &device)?;
        let x = all.narrow(1, 0, s.seq)?.contiguous()?;
        let y = all.narrow(1, 1, s.seq)?.flatten_all()?;
        let h = model.hidden_states(&x)?;
        let logits = h.matmul(&model.lm_head().t()?)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        opt.backward_step(&loss)?;
        if step % 100 == 0 || step + 1 == s.steps {
            final_loss = loss.to_scalar::<f32>()? as f64;
            log(&format!("step {step}: loss {final_loss:.3} ({:.0} s)", t0.elapsed().as_secs_f64()));
        }
    }
    let train_secs = t0.elapsed().as_secs_f64();
    model.set_differentiable(false);
    let n_params = model.n_params();
    let info = ModelInfo {
        path: "trained".into(),
        format: "memory".into(),
        architecture: "llama".into(),
        n_params,
        vocab: 256,
        max_seq: s.seq,
        tokenizer: "bytes".into(),
    };
    let lm = LanguageModel::from_parts(Net::Llama(model), tok, info, device);

    // Score every passage of every chapter.
    let ks = [10, 20, 50];
    let specs = score_specs(&ks);
    let t1 = Instant::now();
    let mut passages: Vec<Scored> = Vec::new();
    for (ci, e) in enc.iter().enumerate() {
        let ws = windows(e.len(), s.seq, s.seq);
        for batch in ws.chunks(8) {
            let seqs: Vec<&[u32]> = batch.iter().map(|w| &e[w.start..w.end]).collect();
            for (w, st) in batch.iter().zip(lm.window_stats(&seqs, 0)?) {
                let bytes: Vec<u8> = e[w.start..w.end].iter().map(|&b| b as u8).collect();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                passages.push(Scored { chapter: ci, scores: score_passage(&st, &text, &ks), text });
            }
        }
    }
    let score_secs = t1.elapsed().as_secs_f64();
    let is_member = |ci: usize| chapters[ci].member;
    let scores = specs
        .iter()
        .enumerate()
        .filter(|(_, sp)| sp.name != "perplexity")
        .map(|(j, sp)| {
            let sign = if sp.higher_is_member { 1.0 } else { -1.0 };
            let (m, n): (Vec<f64>, Vec<f64>) =
                split_by(&passages, |p| is_member(p.chapter), |p| sign * p.scores[j]);
            let (cm, cn) = chapter_means(&chapters, &passages, j, sign);
            ScoreRow {
                name: sp.name.clone(),
                passage_auroc: auroc(&m, &n),
                tpr_at_1: tpr_at_fpr(&m, &n, 0.01),
                tpr_at_5: tpr_at_fpr(&m, &n, 0.05),
                chapter_auroc: auroc(&cm, &cn),
            }
        })
        .collect();

    // Dataset inference: members vs non-members, then non-members vs non-members.
    let feats = |p: &Scored| -> Vec<f64> {
        p.scores
            .iter()
            .zip(&specs)
            .filter(|(_, s)| s.name != "perplexity")
            .map(|(v, s)| if s.higher_is_member { *v } else { -*v })
            .collect()
    };
    // Blocks are chapters: the unit of membership, and of dependence.
    let group = |pred: &dyn Fn(usize) -> bool| -> Passages {
        let sel: Vec<&Scored> = passages.iter().filter(|p| pred(p.chapter)).collect();
        Passages {
            features: sel.iter().map(|p| feats(p)).collect(),
            texts: sel.iter().map(|p| p.text.as_str()).collect(),
            blocks: sel.iter().map(|p| p.chapter).collect(),
        }
    };
    let icfg = InferenceConfig::default();
    let members = verdict(&group(&|c| chapters[c].member), &group(&|c| !chapters[c].member), &icfg);
    let mut null: Option<NullSplits> = None;
    for split in 0..s.null_splits.max(1) {
        let mut r = Rng(0xabcd_0000 + split);
        let half: Vec<bool> = chapters.iter().map(|_| r.next().is_multiple_of(2)).collect();
        let v = verdict(
            &group(&|c| !chapters[c].member && half[c]),
            &group(&|c| !chapters[c].member && !half[c]),
            &InferenceConfig { seed: split, ..icfg.clone() },
        );
        let pv = p_value(&v);
        let n = null.get_or_insert_with(|| NullSplits {
            runs: 0,
            p_below_05: 0,
            p_below_01: 0,
            member: 0,
            confounded: 0,
            first: v.clone(),
        });
        n.runs += 1;
        n.p_below_05 += usize::from(pv < 0.05);
        n.p_below_01 += usize::from(pv < 0.01);
        n.member += usize::from(v.label == Label::Member);
        n.confounded += usize::from(v.label == Label::Confounded);
    }
    let null = null.expect("at least one split");

    // Memorisation, in windows no longer than the training context: prefix
    // and suffix of half of it each.
    let mc = MemoConfig { prefix: s.seq / 2, suffix: s.seq / 2, stride: s.seq, ..MemoConfig::default() };
    let memo = |member: bool| -> Result<MemoSummary> {
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
        Ok(summarise(&ws, total, &mc))
    };
    let memorisation = [memo(true)?, memo(false)?];
    Ok(Report {
        setup: s.clone(),
        n_chapters: chapters.len(),
        n_members,
        train_bytes: train.len(),
        n_params,
        final_loss,
        train_secs,
        n_passages: passages.len(),
        score_secs,
        scores,
        members,
        null,
        memorisation,
    })
}

fn split_by<T>(v: &[T], pred: impl Fn(&T) -> bool, val: impl Fn(&T) -> f64) -> (Vec<f64>, Vec<f64>) {
    let a = v.iter().filter(|x| pred(x)).map(&val).collect();
    let b = v.iter().filter(|x| !pred(x)).map(&val).collect();
    (a, b)
}

fn chapter_means(chapters: &[Chapter], passages: &[Scored], j: usize, sign: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut m, mut n) = (Vec::new(), Vec::new());
    for (ci, c) in chapters.iter().enumerate() {
        let v: Vec<f64> = passages.iter().filter(|p| p.chapter == ci).map(|p| sign * p.scores[j]).collect();
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
/// before the first heading is dropped, and so are chapters under 2,000
/// bytes (headings of volumes, tables of contents).
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

/// One token per byte: byte-level alphabet, no merges; token id = byte.
fn byte_tokenizer() -> Result<Tokenizer> {
    let v = GgufVocab {
        model: "gpt2".into(),
        pre: None,
        tokens: (0..=255u8).map(|b| byte_char(b).to_string()).collect(),
        merges: Vec::new(),
        token_types: vec![1; 256],
        bos: None,
    };
    Tokenizer::from_gguf_vocab(&v, Path::new("bytes"))
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

/// Weights drawn from `rng` (candle's CPU generator cannot be seeded).
fn init(cfg: &LlamaConfig, d: &Device, rng: &mut Rng) -> Result<(Llama, Vec<Var>)> {
    let mut vars = Vec::new();
    // std 0 means a norm's unit scale.
    let mut v = |shape: &[usize], std: f64| -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let vals: Vec<f32> =
            (0..n).map(|_| if std == 0.0 { 1.0 } else { (std * rng.normal()) as f32 }).collect();
        let x = Var::from_tensor(&Tensor::from_vec(vals, shape, d)?)?;
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

/// xorshift64: small and seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tokenizer_is_the_identity_on_bytes() {
        let t = byte_tokenizer().unwrap();
        let s = "It is a truth — “universally” acknowledged.\n";
        let ids = t.encode(s).unwrap().ids;
        assert_eq!(ids, s.bytes().map(u32::from).collect::<Vec<_>>());
    }

    #[test]
    fn chapters_are_split_at_headings() {
        let body = "word ".repeat(500);
        let text = format!("Title\n\nChapter 1\n{body}\nCHAPTER II\n{body}\nChapter 3\nshort\n");
        let ch = split_chapters(&text);
        assert_eq!(ch.len(), 2);
        assert!(ch[0].starts_with("word"));
    }
}
