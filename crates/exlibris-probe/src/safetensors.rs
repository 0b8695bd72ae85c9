//! Loading Hugging Face checkpoints: `config.json`, `*.safetensors`,
//! `tokenizer.json`, for llama-family and GPT-2 models.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value;

use crate::error::{plain, Error, Result};
use crate::gpt2::{Dense, Gpt2, Gpt2Block, Gpt2Config, Norm};
use crate::llama::{Block, Llama, LlamaConfig};
use crate::model::Net;
use crate::tokenizer::Tokenizer;

/// Loads a checkpoint directory, or a `.safetensors` file with its
/// `config.json` beside it; the tokenizer is `tokenizer.json` beside it, if any.
pub fn load(path: &Path, device: &Device) -> Result<(Net, Option<Tokenizer>)> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(Error::corrupt(path, "no .safetensors file (and not a .gguf file)"));
    }
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
    let cfg: Value = serde_json::from_str(&text).map_err(|e| Error::corrupt(&cfg_path, e))?;
    let mut weights = HashMap::new();
    for f in &files {
        let w = candle_core::safetensors::load(f, device).map_err(|e| Error::corrupt(f, plain(e)))?;
        weights.extend(w);
    }
    let tok_path = dir.join("tokenizer.json");
    let tokenizer = if tok_path.exists() { Some(Tokenizer::from_file(&tok_path)?) } else { None };
    let mut w = Weights { map: weights, path: files[0].clone() };
    let model_type = cfg["model_type"].as_str().unwrap_or("<none>");
    let net = match model_type {
        "llama" | "mistral" => Net::Llama(llama(&cfg, &mut w, &cfg_path)?),
        "gpt2" => Net::Gpt2(gpt2(&cfg, &mut w, &cfg_path)?),
        other => {
            return Err(Error::UnknownArchitecture {
                path: cfg_path,
                architecture: other.to_string(),
                supported: "GGUF llama, mistral; safetensors llama, gpt2",
            })
        }
    };
    Ok((net, tokenizer))
}

struct Weights {
    map: HashMap<String, Tensor>,
    path: PathBuf,
}

impl Weights {
    /// Takes a tensor by name (also under a `transformer.` or `model.`
    /// prefix), as f32, checking its shape.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = [name.to_string(), format!("transformer.{name}")]
            .iter()
            .find_map(|n| self.map.remove(n))
            .ok_or_else(|| Error::corrupt(&self.path, format!("missing tensor {name}")))?;
        if t.dims() != shape {
            return Err(Error::corrupt(
                &self.path,
                format!("tensor {name} has shape {:?}, expected {shape:?}", t.dims()),
            ));
        }
        Ok(t.to_dtype(DType::F32)?)
    }
}

fn num(cfg: &Value, key: &str, path: &Path) -> Result<usize> {
    cfg[key]
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| Error::corrupt(path, format!("config.json lacks {key}")))
}

fn llama(cfg: &Value, w: &mut Weights, path: &Path) -> Result<Llama> {
    let hidden = num(cfg, "hidden_size", path)?;
    let n_head = num(cfg, "num_attention_heads", path)?;
    let n_kv_head = num(cfg, "num_key_value_heads", path).unwrap_or(n_head);
    let n_layer = num(cfg, "num_hidden_layers", path)?;
    let vocab = num(cfg, "vocab_size", path)?;
    let ff = num(cfg, "intermediate_size", path)?;
    if n_head == 0 || n_kv_head == 0 || !n_head.is_multiple_of(n_kv_head) || !hidden.is_multiple_of(n_head) {
        return Err(Error::corrupt(path, "inconsistent head counts"));
    }
    let kv = n_kv_head * (hidden / n_head);
    let c = LlamaConfig {
        n_layer,
        n_head,
        n_kv_head,
        hidden,
        vocab,
        rms_eps: cfg["rms_norm_eps"].as_f64().unwrap_or(1e-5),
        rope_theta: cfg["rope_theta"].as_f64().unwrap_or(10000.0) as f32,
        rope_interleaved: false,
        max_seq: num(cfg, "max_position_embeddings", path).unwrap_or(2048),
    };
    let embed = w.take("model.embed_tokens.weight", &[vocab, hidden])?;
    let mut blocks = Vec::new();
    for i in 0..n_layer {
        let p = |s: &str| format!("model.layers.{i}.{s}.weight");
        blocks.push(Block {
            attn_norm: w.take(&p("input_layernorm"), &[hidden])?,
            wq: w.take(&p("self_attn.q_proj"), &[hidden, hidden])?,
            wk: w.take(&p("self_attn.k_proj"), &[kv, hidden])?,
            wv: w.take(&p("self_attn.v_proj"), &[kv, hidden])?,
            wo: w.take(&p("self_attn.o_proj"), &[hidden, hidden])?,
            ffn_norm: w.take(&p("post_attention_layernorm"), &[hidden])?,
            w_gate: w.take(&p("mlp.gate_proj"), &[ff, hidden])?,
            w_up: w.take(&p("mlp.up_proj"), &[ff, hidden])?,
            w_down: w.take(&p("mlp.down_proj"), &[hidden, ff])?,
        });
    }
    let norm = w.take("model.norm.weight", &[hidden])?;
    let lm_head = match w.take("lm_head.weight", &[vocab, hidden]) {
        Ok(t) => t,
        Err(_) if cfg["tie_word_embeddings"].as_bool().unwrap_or(true) => embed.clone(),
        Err(e) => return Err(e),
    };
    Llama::new(c, embed, blocks, norm, lm_head)
}

fn gpt2(cfg: &Value, w: &mut Weights, path: &Path) -> Result<Gpt2> {
    let hidden = num(cfg, "n_embd", path)?;
    let n_head = num(cfg, "n_head", path)?;
    let n_layer = num(cfg, "n_layer", path)?;
    let vocab = num(cfg, "vocab_size", path)?;
    let max_seq = num(cfg, "n_positions", path)?;
    if n_head == 0 || !hidden.is_multiple_of(n_head) {
        return Err(Error::corrupt(path, "inconsistent head count"));
    }
    let c = Gpt2Config {
        n_layer,
        n_head,
        hidden,
        vocab,
        max_seq,
        eps: cfg["layer_norm_epsilon"].as_f64().unwrap_or(1e-5),
    };
    let norm = |w: &mut Weights, p: &str| -> Result<Norm> {
        Ok(Norm {
            weight: w.take(&format!("{p}.weight"), &[hidden])?,
            bias: w.take(&format!("{p}.bias"), &[hidden])?,
        })
    };
    // GPT-2 stores Conv1D weights as (in, out).
    let dense = |w: &mut Weights, p: &str, i: usize, o: usize| -> Result<Dense> {
        Ok(Dense {
            weight: w.take(&format!("{p}.weight"), &[i, o])?.t()?.contiguous()?,
            bias: w.take(&format!("{p}.bias"), &[o])?,
        })
    };
    let wte = w.take("wte.weight", &[vocab, hidden])?;
    let wpe = w.take("wpe.weight", &[max_seq, hidden])?;
    let mut blocks = Vec::new();
    for i in 0..n_layer {
        let p = |s: &str| format!("h.{i}.{s}");
        blocks.push(Gpt2Block {
            ln_1: norm(w, &p("ln_1"))?,
            qkv: dense(w, &p("attn.c_attn"), hidden, 3 * hidden)?,
            proj: dense(w, &p("attn.c_proj"), hidden, hidden)?,
            ln_2: norm(w, &p("ln_2"))?,
            fc: dense(w, &p("mlp.c_fc"), hidden, 4 * hidden)?,
            fc_proj: dense(w, &p("mlp.c_proj"), 4 * hidden, hidden)?,
        });
    }
    let ln_f = norm(w, "ln_f")?;
    Ok(Gpt2 { cfg: c, wte, wpe, blocks, ln_f })
}
