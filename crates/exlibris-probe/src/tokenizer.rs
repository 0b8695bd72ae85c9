//! Tokenizers: from `tokenizer.json`, or rebuilt from GGUF metadata.
//!
//! candle's GGUF tokenizer helper adds a prefix space, so "Hello world"
//! comes out as " Hello world" and every score is off by one odd token. The
//! GGUF vocabulary of a `gpt2`-model file is a byte-level BPE; rebuilt with
//! `ByteLevel(add_prefix_space = false)` it round-trips exactly.
use std::path::{Path, PathBuf};

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

use crate::error::{Error, Result};

/// Text to token ids, with byte offsets back into the text.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    source: PathBuf,
    bos: Option<u32>,
}

/// A tokenised text: ids and the byte span of each id in the text.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Byte span `[start, end)` of each token in the source text.
    pub offsets: Vec<(usize, usize)>,
}

/// The GGUF metadata a tokenizer is rebuilt from.
#[derive(Debug, Clone, Default)]
pub struct GgufVocab {
    /// `tokenizer.ggml.model`, e.g. `gpt2`.
    pub model: String,
    /// `tokenizer.ggml.pre`, the pre-tokeniser flavour, if given.
    pub pre: Option<String>,
    /// `tokenizer.ggml.tokens`.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.merges`, each `"left right"`.
    pub merges: Vec<String>,
    /// `tokenizer.ggml.token_type` (1 normal, 3 control, 4 user-defined, 6 byte).
    pub token_types: Vec<i32>,
    /// BOS id, when the model wants one prepended.
    pub bos: Option<u32>,
}

impl Tokenizer {
    /// Loads a Hugging Face `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| Error::tokenizer(path, e))?;
        Ok(Tokenizer { inner, source: path.to_path_buf(), bos: None })
    }

    /// Rebuilds a byte-level BPE from GGUF metadata read from `path`.
    pub fn from_gguf_vocab(v: &GgufVocab, path: &Path) -> Result<Self> {
        if v.model != "gpt2" {
            return Err(Error::tokenizer(
                path,
                format!(
                    "tokenizer.ggml.model {:?} is not supported (only byte-level BPE, \"gpt2\"); \
                     pass --tokenizer tokenizer.json",
                    v.model
                ),
            ));
        }
        let vocab: Vocab = v.tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        if vocab.len() != v.tokens.len() {
            return Err(Error::tokenizer(path, "duplicate tokens in the vocabulary"));
        }
        let merges = v
            .merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| Error::tokenizer(path, format!("malformed merge {m:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe =
            BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| Error::tokenizer(path, e))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        let byte_level = ByteLevel::new(false, true, true);
        // SmolLM's tokenizer.json splits digits one by one before the
        // byte-level split; llama.cpp names that flavour "smollm".
        let pre: PreTokenizerWrapper = match v.pre.as_deref() {
            Some("smollm") => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
            _ => byte_level.into(),
        };
        inner.with_pre_tokenizer(Some(pre));
        inner.with_decoder(Some(ByteLevel::default()));
        let special: Vec<AddedToken> = v
            .tokens
            .iter()
            .zip(&v.token_types)
            .filter(|(_, &ty)| ty == 3 || ty == 4)
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(special).map_err(|e| Error::tokenizer(path, e))?;
        Ok(Tokenizer { inner, source: path.to_path_buf(), bos: v.bos })
    }

    /// Where the tokenizer came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token prepended to every window, if the model was trained with one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// Tokenises `text` without adding special tokens.
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::tokenizer(&self.source, e))?;
        Ok(Tokens { ids: enc.get_ids().to_vec(), offsets: enc.get_offsets().to_vec() })
    }

    /// Writes the tokenizer as a Hugging Face `tokenizer.json`.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner.save(path, false).map_err(|e| Error::tokenizer(path, e))
    }

    /// Turns ids back into text.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::tokenizer(&self.source, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> GgufVocab {
        // Byte-level alphabet: "Ġ" stands for a space.
        let tokens = ["H", "e", "l", "o", "Ġ", "w", "r", "d", "He", "ll", "Hell", "Hello", "Ġw", "<|s|>"];
        GgufVocab {
            model: "gpt2".into(),
            pre: None,
            tokens: tokens.iter().map(|s| s.to_string()).collect(),
            merges: ["H e", "l l", "He ll", "Hell o", "Ġ w"].iter().map(|s| s.to_string()).collect(),
            token_types: vec![1; 13].into_iter().chain([3]).collect(),
            bos: None,
        }
    }

    #[test]
    fn byte_level_without_prefix_space_round_trips() {
        let t = Tokenizer::from_gguf_vocab(&toy(), Path::new("toy.gguf")).unwrap();
        let enc = t.encode("Hello world").unwrap();
        assert_eq!(enc.ids[0], 11, "no prefix space before Hello");
        assert_eq!(enc.ids[1], 12);
        assert_eq!(t.decode(&enc.ids).unwrap(), "Hello world");
        assert_eq!(enc.offsets[0], (0, 5));
    }

    #[test]
    fn control_tokens_stay_whole() {
        let t = Tokenizer::from_gguf_vocab(&toy(), Path::new("toy.gguf")).unwrap();
        assert_eq!(t.encode("<|s|>Hello").unwrap().ids, vec![13, 11]);
    }

    #[test]
    fn sentencepiece_vocabularies_are_refused_clearly() {
        let mut v = toy();
        v.model = "llama".into();
        let err = Tokenizer::from_gguf_vocab(&v, Path::new("x.gguf")).err().unwrap();
        assert!(err.to_string().contains("not supported"));
    }
}
