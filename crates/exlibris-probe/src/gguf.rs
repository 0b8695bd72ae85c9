//! Loading llama-family GGUF files, dequantised to f32 once.
//!
//! Quantised matmuls on this CPU run on candle's scalar fallback (about 27
//! tokens/s for a 135M model); dense f32 weights go through `gemm` and are
//! roughly ten times faster, for four times the memory of a 4-bit file.
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};

use crate::error::{plain, Error, Result};
use crate::llama::{Block, Llama, LlamaConfig};
use crate::tokenizer::{GgufVocab, Tokenizer};

/// Architectures whose GGUF tensors follow llama's layout.
const LLAMA_LIKE: &[&str] = &["llama", "mistral"];

/// Reads a GGUF model and the tokenizer embedded in its metadata.
pub fn load(path: &Path, device: &Device) -> Result<(Llama, Option<Tokenizer>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let content = Content::read(&mut reader).map_err(|e| Error::corrupt(path, plain(e)))?;
    let md = &content.metadata;
    let arch = get_str(md, "general.architecture").unwrap_or("<none>").to_string();
    if !LLAMA_LIKE.contains(&arch.as_str()) {
        return Err(Error::UnknownArchitecture {
            path: path.to_path_buf(),
            architecture: arch,
            supported: "GGUF llama, mistral; safetensors llama, gpt2",
        });
    }
    let key = |k: &str| format!("{arch}.{k}");
    let need = |k: &str| -> Result<u64> {
        md.get(&key(k))
            .and_then(|v| v.to_u64().ok())
            .ok_or_else(|| Error::corrupt(path, format!("missing metadata {}", key(k))))
    };
    let n_layer = need("block_count")? as usize;
    let hidden = need("embedding_length")? as usize;
    let n_head = need("attention.head_count")? as usize;
    let n_kv_head =
        md.get(&key("attention.head_count_kv")).and_then(|v| v.to_u64().ok()).map_or(n_head, |v| v as usize);
    let max_seq = md.get(&key("context_length")).and_then(|v| v.to_u64().ok()).unwrap_or(2048) as usize;
    let rms_eps =
        md.get(&key("attention.layer_norm_rms_epsilon")).and_then(|v| v.to_f32().ok()).unwrap_or(1e-5) as f64;
    let rope_theta = md.get(&key("rope.freq_base")).and_then(|v| v.to_f32().ok()).unwrap_or(10000.0);
    if n_head == 0 || n_kv_head == 0 || !n_head.is_multiple_of(n_kv_head) || !hidden.is_multiple_of(n_head) {
        return Err(Error::corrupt(
            path,
            format!("inconsistent heads: {n_head} query, {n_kv_head} key/value, width {hidden}"),
        ));
    }

    let mut tensor = |name: &str, shape: &[usize]| -> Result<Tensor> {
        let q = content
            .tensor(&mut reader, name, device)
            .map_err(|e| Error::corrupt(path, format!("tensor {name}: {}", plain(e))))?;
        let t =
            q.dequantize(device).map_err(|e| Error::corrupt(path, format!("tensor {name}: {}", plain(e))))?;
        if t.dims() != shape {
            return Err(Error::corrupt(
                path,
                format!("tensor {name} has shape {:?}, expected {shape:?}", t.dims()),
            ));
        }
        Ok(t)
    };
    let embed_info = content
        .tensor_infos
        .get("token_embd.weight")
        .ok_or_else(|| Error::corrupt(path, "no token_embd.weight"))?;
    let vocab = embed_info.shape.dims()[0];
    let hd = hidden / n_head;
    let kv = n_kv_head * hd;
    let embed = tensor("token_embd.weight", &[vocab, hidden])?;
    let mut blocks = Vec::with_capacity(n_layer);
    for i in 0..n_layer {
        let p = |s: &str| format!("blk.{i}.{s}.weight");
        // The MLP width is not in every file's metadata; read it off the tensor.
        let ff = content
            .tensor_infos
            .get(&p("ffn_up"))
            .map(|t| t.shape.dims()[0])
            .ok_or_else(|| Error::corrupt(path, format!("no {}", p("ffn_up"))))?;
        blocks.push(Block {
            attn_norm: tensor(&p("attn_norm"), &[hidden])?,
            wq: tensor(&p("attn_q"), &[hidden, hidden])?,
            wk: tensor(&p("attn_k"), &[kv, hidden])?,
            wv: tensor(&p("attn_v"), &[kv, hidden])?,
            wo: tensor(&p("attn_output"), &[hidden, hidden])?,
            ffn_norm: tensor(&p("ffn_norm"), &[hidden])?,
            w_gate: tensor(&p("ffn_gate"), &[ff, hidden])?,
            w_up: tensor(&p("ffn_up"), &[ff, hidden])?,
            w_down: tensor(&p("ffn_down"), &[hidden, ff])?,
        });
    }
    let norm = tensor("output_norm.weight", &[hidden])?;
    // Small models tie the output projection to the embedding.
    let lm_head = if content.tensor_infos.contains_key("output.weight") {
        tensor("output.weight", &[vocab, hidden])?
    } else {
        embed.clone()
    };
    let cfg = LlamaConfig {
        n_layer,
        n_head,
        n_kv_head,
        hidden,
        vocab,
        rms_eps,
        rope_theta,
        rope_interleaved: true,
        max_seq,
    };
    let model = Llama::new(cfg, embed, blocks, norm, lm_head)?;
    let tokenizer = match vocab_from_metadata(md) {
        Some(v) => Some(Tokenizer::from_gguf_vocab(&v, path)?),
        None => None,
    };
    Ok((model, tokenizer))
}

fn get_str<'a>(md: &'a HashMap<String, Value>, k: &str) -> Option<&'a str> {
    md.get(k).and_then(|v| v.to_string().ok()).map(|s| s.as_str())
}

fn strings(md: &HashMap<String, Value>, k: &str) -> Vec<String> {
    md.get(k)
        .and_then(|v| v.to_vec().ok())
        .map(|vs| vs.iter().filter_map(|v| v.to_string().ok().cloned()).collect())
        .unwrap_or_default()
}

fn vocab_from_metadata(md: &HashMap<String, Value>) -> Option<GgufVocab> {
    let tokens = strings(md, "tokenizer.ggml.tokens");
    if tokens.is_empty() {
        return None;
    }
    let token_types = md
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.to_vec().ok())
        .map(|vs| vs.iter().map(|v| v.to_i32().unwrap_or(1)).collect())
        .unwrap_or_else(|| vec![1; tokens.len()]);
    let add_bos = md.get("tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false);
    let bos = md.get("tokenizer.ggml.bos_token_id").and_then(|v| v.to_u32().ok()).filter(|_| add_bos);
    Some(GgufVocab {
        model: get_str(md, "tokenizer.ggml.model").unwrap_or("").to_string(),
        pre: get_str(md, "tokenizer.ggml.pre").map(str::to_string),
        merges: strings(md, "tokenizer.ggml.merges"),
        tokens,
        token_types,
        bos,
    })
}
