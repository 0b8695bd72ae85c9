//! Model probe: when only the model is available, test whether it read a
//! given work.
//!
//! A [`LanguageModel`] (GGUF llama-family, or safetensors llama / GPT-2,
//! dequantised to f32 and run by candle with a full-sequence forward pass)
//! scores a work cut into token windows. [`probe()`] computes, per passage,
//! mean loss, perplexity, the zlib ratio (Carlini et al. 2021), Min-K%
//! (Shi et al. 2023) and Min-K%++ (Zhang et al. 2024); memorisation p_z of
//! 50-token suffixes after 50-token prefixes (Cooper, Lemley et al. 2025);
//! and a [`Verdict`] by dataset inference (Maini et al. 2024) against
//! reference passages the model cannot have seen, guarded by a blind
//! bag-of-words baseline (Das, Zhang & Tramèr 2024). The result,
//! [`ProbeResult`], is written as a self-contained `probe.json` (schema in
//! the crate README) and renders to an HTML fragment.
//!
//! ```no_run
//! use exlibris_probe::{probe, LanguageModel, ProbeConfig, Text};
//! # fn main() -> exlibris_probe::Result<()> {
//! let device = candle_core::Device::Cpu;
//! let model = LanguageModel::load("model.gguf".as_ref(), None, &device)?;
//! let work = Text::read("book.txt")?;
//! let refs = [Text::read("unseen.txt")?];
//! let result = probe(&model, &work, &refs, &ProbeConfig::default(), &mut |_, _, _| {})?;
//! println!("{:?}: {}", result.verdict.label, result.verdict.reason);
//! result.write("probe".as_ref())?;
//! # Ok(()) }
//! ```
//!
//! Why this shape: scores are only comparable against text of the same
//! kind, so the verdict is a two-sample test, never a threshold on one
//! score; and because a shift in topic or date also separates two sets, the
//! blind baseline can veto a "member" verdict. The probe says "no verdict"
//! rather than guess when the references are too few or in another language.
#![deny(missing_docs)]

mod blind;
mod error;
pub mod gguf;
pub mod gpt2;
mod head;
pub mod inference;
pub mod known_members;
pub mod llama;
pub mod memorise;
pub mod model;
mod probe;
pub mod report;
pub mod safetensors;
pub mod scores;
pub mod stats;
pub mod tokenizer;

pub use error::{Error, Result};
pub use inference::{InferenceConfig, Label, Passages, Verdict};
pub use memorise::MemoConfig;
pub use model::{LanguageModel, ModelInfo, Net, ScoreStats, TokenStat};
pub use probe::{probe, ProbeConfig, Progress, Text};
pub use report::ProbeResult;
pub use tokenizer::Tokenizer;

/// The device type models run on (re-exported so callers need not depend on candle).
pub use candle_core::Device;

/// The first CUDA device; an error unless built with the `cuda` feature.
pub fn cuda_device() -> Result<Device> {
    Ok(Device::new_cuda(0)?)
}
