//! Running a probe: passages, scores, memorisation, verdict.
use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::inference::{verdict, InferenceConfig, Passages};
use crate::memorise::{log10_pz, memo_starts, summarise, MemoConfig, MemoWindow};
use crate::model::LanguageModel;
use crate::report::{PassageRecord, ProbeResult, ScoreSummary, Set, TextInfo, Timing, SCHEMA};
use crate::scores::{score_passage, score_specs, spread, windows, Window};
use crate::stats::{auroc, mean_var, tpr_at_fpr};
use crate::tokenizer::Tokens;

/// How a probe runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeConfig {
    /// Tokens per passage.
    pub window: usize,
    /// Tokens between passage starts (`window` for disjoint passages).
    pub stride: usize,
    /// Score at most this many passages per text, evenly spread.
    pub max_passages: Option<usize>,
    /// k values (percent) of Min-K% and Min-K%++.
    pub ks: Vec<u32>,
    /// Tokens per forward batch (windows × length); bounds memory.
    pub batch_tokens: usize,
    /// Memorisation, if measured.
    pub memorisation: Option<MemoConfig>,
    /// At most this many memorisation windows, evenly spread.
    pub max_memo_windows: Option<usize>,
    /// Consecutive passages of a text that form one block, the unit the
    /// dataset-inference t-test treats as independent.
    pub block_passages: usize,
    /// The verdict's settings.
    pub inference: InferenceConfig,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            window: 128,
            stride: 128,
            max_passages: None,
            ks: vec![10, 20, 50],
            batch_tokens: 1024,
            memorisation: Some(MemoConfig::default()),
            max_memo_windows: None,
            block_passages: 8,
            inference: InferenceConfig::default(),
        }
    }
}

/// A text to probe.
#[derive(Debug, Clone)]
pub struct Text {
    /// Where it came from (for messages and `probe.json`).
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

impl Text {
    /// Reads a UTF-8 text file.
    pub fn read(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Text { path, text })
    }
}

/// Progress of a run: (stage, units done, units in all).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// Probes `work` against `references` with `model`.
pub fn probe(
    model: &LanguageModel,
    work: &Text,
    references: &[Text],
    cfg: &ProbeConfig,
    progress: Progress,
) -> Result<ProbeResult> {
    if cfg.window < 2 || cfg.stride == 0 || cfg.batch_tokens < cfg.window {
        return Err(Error::Config(format!(
            "window {} / stride {} / batch {}",
            cfg.window, cfg.stride, cfg.batch_tokens
        )));
    }
    let before = model.stats();
    let tok = model.tokenizer();
    let bos = tok.bos();
    let specs = score_specs(&cfg.ks);
    let mut texts = Vec::new();
    let mut passages = Vec::new();
    let mut tokens_run = 0;
    let mut model_secs = 0.0;
    let work_tokens = tok.encode(&work.text)?;
    for (ti, (t, set)) in std::iter::once((work, Set::Suspect))
        .chain(references.iter().map(|r| (r, Set::Reference)))
        .enumerate()
    {
        let toks = if ti == 0 { work_tokens.clone() } else { tok.encode(&t.text)? };
        let ws = spread(windows(toks.ids.len(), cfg.window, cfg.stride), cfg.max_passages);
        if ws.is_empty() {
            return Err(Error::TooShort { path: t.path.clone(), tokens: toks.ids.len(), window: cfg.window });
        }
        texts.push(TextInfo { path: t.path.clone(), set, n_tokens: toks.ids.len() });
        let per_batch = (cfg.batch_tokens / cfg.window).max(1);
        for (bi, batch) in ws.chunks(per_batch).enumerate() {
            let seqs: Vec<Vec<u32>> =
                batch.iter().map(|w| with_bos(bos, &toks.ids[w.start..w.end])).collect();
            let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
            let t0 = Instant::now();
            let stats = model.window_stats(&refs, 0)?;
            model_secs += t0.elapsed().as_secs_f64();
            tokens_run += seqs.iter().map(Vec::len).sum::<usize>();
            for (w, st) in batch.iter().zip(stats) {
                let bytes = byte_span(&toks, w);
                let words = t.text.get(bytes.0..bytes.1).unwrap_or("");
                passages.push(PassageRecord {
                    set,
                    text: ti,
                    tokens: (w.start, w.end),
                    bytes,
                    values: score_passage(&st, words, &cfg.ks),
                });
            }
            progress(
                &format!("scoring {}", t.path.display()),
                (bi + 1) * per_batch.min(batch.len()),
                ws.len(),
            );
        }
    }

    let memorisation = match &cfg.memorisation {
        Some(mc) => {
            let starts = memo_starts(work_tokens.ids.len(), mc);
            let starts: Vec<usize> = spread(
                starts.into_iter().map(|s| Window { start: s, end: s }).collect(),
                cfg.max_memo_windows,
            )
            .into_iter()
            .map(|w| w.start)
            .collect();
            let len = mc.prefix + mc.suffix;
            let per_batch = (cfg.batch_tokens / len).max(1);
            let mut measured = Vec::with_capacity(starts.len());
            for (bi, batch) in starts.chunks(per_batch).enumerate() {
                let seqs: Vec<Vec<u32>> =
                    batch.iter().map(|&s| with_bos(bos, &work_tokens.ids[s..s + len])).collect();
                let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
                let offset = usize::from(bos.is_some());
                let t0 = Instant::now();
                // Only the suffix's predictions are needed: skip the prefix's logits.
                let stats = model.window_stats(&refs, offset + mc.prefix - 1)?;
                model_secs += t0.elapsed().as_secs_f64();
                tokens_run += seqs.iter().map(Vec::len).sum::<usize>();
                for (&s, st) in batch.iter().zip(stats) {
                    measured
                        .push(MemoWindow { token_start: s, log10_pz: log10_pz(st.iter().map(|x| x.logp)) });
                }
                progress("memorisation", ((bi + 1) * per_batch).min(starts.len()), starts.len());
            }
            (!measured.is_empty()).then(|| summarise(&measured, work_tokens.ids.len(), mc))
        }
        None => None,
    };

    let summary = summarise_scores(&passages, &specs);
    let all_texts: Vec<&Text> = std::iter::once(work).chain(references).collect();
    let side = |set: Set| -> Passages {
        let mine: Vec<&PassageRecord> = passages.iter().filter(|p| p.set == set).collect();
        Passages {
            features: mine.iter().map(|p| oriented(&p.values, &specs)).collect(),
            texts: mine
                .iter()
                .map(|p| all_texts[p.text].text.get(p.bytes.0..p.bytes.1).unwrap_or(""))
                .collect(),
            // Neighbouring passages share a scene: a block of them is one sample.
            blocks: mine
                .iter()
                .enumerate()
                .map(|(k, p)| p.text * 1_000_000 + k / cfg.block_passages.max(1))
                .collect(),
        }
    };
    let v = verdict(&side(Set::Suspect), &side(Set::Reference), &cfg.inference);
    Ok(ProbeResult {
        schema: SCHEMA.into(),
        model: ProbeResult::model_value(model.info()),
        config: serde_json::to_value(cfg).unwrap_or_default(),
        texts,
        scores: specs,
        passages,
        summary,
        memorisation,
        verdict: v,
        timing: Timing {
            tokens: tokens_run,
            seconds: model_secs,
            tokens_per_second: tokens_run as f64 / model_secs.max(1e-9),
            forward_secs: model.stats().forward_secs - before.forward_secs,
            head_secs: model.stats().head_secs - before.head_secs,
        },
    })
}

/// Scores with "higher means member", perplexity left out (it is the loss again).
fn oriented(values: &[f64], specs: &[crate::scores::ScoreSpec]) -> Vec<f64> {
    values
        .iter()
        .zip(specs)
        .filter(|(_, s)| s.name != "perplexity")
        .map(|(v, s)| if s.higher_is_member { *v } else { -*v })
        .collect()
}

fn with_bos(bos: Option<u32>, ids: &[u32]) -> Vec<u32> {
    bos.into_iter().chain(ids.iter().copied()).collect()
}

fn byte_span(toks: &Tokens, w: &Window) -> (usize, usize) {
    (toks.offsets[w.start].0, toks.offsets[w.end - 1].1)
}

fn summarise_scores(passages: &[PassageRecord], specs: &[crate::scores::ScoreSpec]) -> Vec<ScoreSummary> {
    specs
        .iter()
        .enumerate()
        .map(|(j, spec)| {
            let col = |set: Set| -> Vec<f64> {
                passages.iter().filter(|p| p.set == set).map(|p| p.values[j]).collect()
            };
            let (s, r) = (col(Set::Suspect), col(Set::Reference));
            let sign = if spec.higher_is_member { 1.0 } else { -1.0 };
            let (so, ro): (Vec<f64>, Vec<f64>) =
                (s.iter().map(|v| v * sign).collect(), r.iter().map(|v| v * sign).collect());
            ScoreSummary {
                score: spec.clone(),
                suspect_mean: mean_var(&s).0,
                reference_mean: (!r.is_empty()).then(|| mean_var(&r).0),
                auroc: auroc(&so, &ro),
                tpr_at_1pct_fpr: tpr_at_fpr(&so, &ro, 0.01),
                tpr_at_5pct_fpr: tpr_at_fpr(&so, &ro, 0.05),
            }
        })
        .collect()
}
