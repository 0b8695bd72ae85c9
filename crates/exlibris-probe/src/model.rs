//! A loaded causal language model and its tokenizer, scored window by window.
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::head::token_stats;
use crate::llama::Llama;
use crate::tokenizer::Tokenizer;

/// What the model said about one token: its log-probability and the mean
/// and standard deviation of log p over the model's whole next-token
/// distribution at that position (the Min-K%++ normalisers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenStat {
    /// ln p(token | preceding tokens of the window).
    pub logp: f32,
    /// E over z ~ p of ln p(z).
    pub mu: f32,
    /// Standard deviation over z ~ p of ln p(z).
    pub sigma: f32,
}

/// Where scoring time went; summed across calls (and workers) with `+=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreStats {
    /// Tokens fed through the network.
    pub tokens: usize,
    /// Seconds in the transformer blocks.
    pub forward_secs: f64,
    /// Seconds in the output projection and the log-softmax statistics.
    pub head_secs: f64,
}

impl std::ops::AddAssign for ScoreStats {
    fn add_assign(&mut self, o: Self) {
        self.tokens += o.tokens;
        self.forward_secs += o.forward_secs;
        self.head_secs += o.head_secs;
    }
}

/// The network behind a [`LanguageModel`].
#[derive(Debug, Clone)]
pub enum Net {
    /// Llama family (GGUF or safetensors).
    Llama(Llama),
    /// GPT-2 (safetensors).
    Gpt2(crate::gpt2::Gpt2),
}

impl Net {
    fn hidden_states(&self, tokens: &Tensor) -> Result<Tensor> {
        match self {
            Net::Llama(m) => m.hidden_states(tokens),
            Net::Gpt2(m) => m.hidden_states(tokens),
        }
    }

    fn lm_head(&self) -> &Tensor {
        match self {
            Net::Llama(m) => m.lm_head(),
            Net::Gpt2(m) => m.lm_head(),
        }
    }
}

/// Facts about the loaded model, recorded in `probe.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// The model file or directory.
    pub path: PathBuf,
    /// `gguf` or `safetensors`.
    pub format: String,
    /// `llama` or `gpt2`.
    pub architecture: String,
    /// Parameters, tied weights counted once.
    pub n_params: usize,
    /// Rows of the output projection.
    pub vocab: usize,
    /// Longest window the model accepts.
    pub max_seq: usize,
    /// Where the tokenizer came from.
    pub tokenizer: PathBuf,
}

/// A causal language model ready to score token windows.
pub struct LanguageModel {
    net: Net,
    tokenizer: Tokenizer,
    info: ModelInfo,
    device: Device,
    stats: std::sync::Mutex<ScoreStats>,
}

impl LanguageModel {
    /// Loads a `.gguf` file, a `.safetensors` file next to `config.json` and
    /// `tokenizer.json`, or a directory holding those. `tokenizer`
    /// overrides the tokenizer that comes with the model.
    pub fn load(path: &Path, tokenizer: Option<&Path>, device: &Device) -> Result<Self> {
        let is_gguf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        let (net, own_tok, format, arch) = if is_gguf {
            let (m, t) = crate::gguf::load(path, device)?;
            (Net::Llama(m), t, "gguf", "llama")
        } else {
            let (net, t) = crate::safetensors::load(path, device)?;
            let arch = match net {
                Net::Llama(_) => "llama",
                Net::Gpt2(_) => "gpt2",
            };
            (net, t, "safetensors", arch)
        };
        let tokenizer = match tokenizer {
            Some(p) => Tokenizer::from_file(p)?,
            None => own_tok.ok_or_else(|| {
                Error::tokenizer(path, "the model carries no tokenizer; pass --tokenizer tokenizer.json")
            })?,
        };
        let (vocab, max_seq, n_params) = match &net {
            Net::Llama(m) => (m.config().vocab, m.config().max_seq, m.n_params()),
            Net::Gpt2(m) => (m.config().vocab, m.config().max_seq, m.n_params()),
        };
        check_vocab(tokenizer.vocab_size(), vocab, tokenizer.source())?;
        let info = ModelInfo {
            path: path.to_path_buf(),
            format: format.into(),
            architecture: arch.into(),
            n_params,
            vocab,
            max_seq,
            tokenizer: tokenizer.source().to_path_buf(),
        };
        Ok(LanguageModel { net, tokenizer, info, device: device.clone(), stats: Default::default() })
    }

    /// Wraps an already-built network (tests, training benchmark).
    pub fn from_parts(net: Net, tokenizer: Tokenizer, info: ModelInfo, device: Device) -> Self {
        LanguageModel { net, tokenizer, info, device, stats: Default::default() }
    }

    /// Time spent scoring so far.
    pub fn stats(&self) -> ScoreStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Facts about the model.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Scores a batch of equal-length windows. For each window returns the
    /// stats of tokens `from + 1 ..`, each predicted from all tokens before
    /// it in the same window (and nothing outside it).
    pub fn window_stats(&self, windows: &[&[u32]], from: usize) -> Result<Vec<Vec<TokenStat>>> {
        let Some(first) = windows.first() else {
            return Ok(Vec::new());
        };
        let t = first.len();
        if windows.iter().any(|w| w.len() != t) || t < 2 || from + 1 >= t {
            return Err(Error::Config(format!(
                "windows must share one length ≥ 2 and from < len-1 (len {t}, from {from})"
            )));
        }
        if t > self.info.max_seq {
            return Err(Error::Config(format!(
                "window of {t} tokens exceeds the model's context of {}",
                self.info.max_seq
            )));
        }
        let flat: Vec<u32> = windows.iter().flat_map(|w| w.iter().copied()).collect();
        if let Some(&bad) = flat.iter().find(|&&id| id as usize >= self.info.vocab) {
            return Err(Error::tokenizer(self.tokenizer.source(), format!("token id {bad} is outside the model's vocabulary of {}; the tokenizer does not match the model", self.info.vocab)));
        }
        let ids = Tensor::from_vec(flat, (windows.len(), t), &self.device)?;
        let t0 = std::time::Instant::now();
        let hidden = self.net.hidden_states(&ids)?;
        let t1 = std::time::Instant::now();
        let per = t - 1 - from;
        let rows: Vec<u32> =
            (0..windows.len()).flat_map(|b| (from..t - 1).map(move |i| (b * t + i) as u32)).collect();
        let targets: Vec<u32> = windows.iter().flat_map(|w| w[from + 1..].iter().copied()).collect();
        // A few hundred rows of logits at a time: a 49k vocabulary makes
        // 200 KB per row.
        const CHUNK: usize = 256;
        let mut all = Vec::with_capacity(rows.len());
        for (r, tg) in rows.chunks(CHUNK).zip(targets.chunks(CHUNK)) {
            let idx = Tensor::from_slice(r, r.len(), &self.device)?;
            let h = hidden.index_select(&idx, 0)?;
            all.extend(token_stats(&h, self.net.lm_head(), tg)?);
        }
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) += ScoreStats {
            tokens: windows.len() * t,
            forward_secs: (t1 - t0).as_secs_f64(),
            head_secs: t1.elapsed().as_secs_f64(),
        };
        Ok(all.chunks(per).map(|c| c.to_vec()).collect())
    }
}

fn check_vocab(tok: usize, model: usize, path: &Path) -> Result<()> {
    // Models pad their embedding to a round size; a tokenizer larger than
    // the embedding, or far smaller, belongs to another model.
    if tok > model || tok * 10 < model * 9 {
        return Err(Error::tokenizer(path, format!("tokenizer has {tok} tokens but the model's vocabulary is {model}: they do not belong together")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_mismatch_is_refused() {
        assert!(check_vocab(49152, 49152, Path::new("t")).is_ok());
        assert!(check_vocab(50257, 50304, Path::new("t")).is_ok());
        assert!(check_vocab(50257, 49152, Path::new("t")).is_err());
        assert!(check_vocab(32000, 49152, Path::new("t")).is_err());
    }
}
