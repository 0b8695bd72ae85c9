//! A llama-family decoder with a full-sequence forward pass.
//!
//! candle's stock quantized llama keeps a KV cache and returns only the last
//! position's logits, which is right for generation and wrong for scoring:
//! the probe needs the log-probability of every token of a window. This
//! forward takes a batch of equal-length windows and returns the final hidden
//! state of every position; [`crate::model`] turns those into per-token
//! statistics a few hundred rows at a time, so a batch's full logits are
//! never held at once.
use candle_core::{DType, Device, Tensor, D};

use crate::error::Result;

/// Shape of a llama-family model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LlamaConfig {
    /// Transformer blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_kv_head: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Vocabulary size (rows of the embedding).
    pub vocab: usize,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RoPE rotates adjacent pairs (GGUF, whose Q/K rows are permuted by the
    /// converter) rather than the two halves of each head (Hugging Face).
    pub rope_interleaved: bool,
    /// Longest sequence the rotary tables cover.
    pub max_seq: usize,
}

impl LlamaConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.n_head
    }
}

/// The weights of one block; linear weights are `(out, in)`.
#[derive(Debug, Clone)]
pub struct Block {
    /// RMSNorm before attention.
    pub attn_norm: Tensor,
    /// Query projection.
    pub wq: Tensor,
    /// Key projection.
    pub wk: Tensor,
    /// Value projection.
    pub wv: Tensor,
    /// Attention output projection.
    pub wo: Tensor,
    /// RMSNorm before the MLP.
    pub ffn_norm: Tensor,
    /// SwiGLU gate.
    pub w_gate: Tensor,
    /// SwiGLU up projection.
    pub w_up: Tensor,
    /// MLP down projection.
    pub w_down: Tensor,
}

/// A llama-family model held as dense tensors.
#[derive(Debug, Clone)]
pub struct Llama {
    cfg: LlamaConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    differentiable: bool,
}

impl Llama {
    /// Assembles a model; `lm_head` is the embedding when the weights are tied.
    pub fn new(
        cfg: LlamaConfig,
        embed: Tensor,
        blocks: Vec<Block>,
        norm: Tensor,
        lm_head: Tensor,
    ) -> Result<Self> {
        let device = embed.device().clone();
        let (cos, sin) = rotary_tables(&cfg, &device)?;
        Ok(Llama { cfg, embed, blocks, norm, lm_head, cos, sin, differentiable: false })
    }

    /// Uses candle's composite (slower) RMSNorm, RoPE and softmax, which
    /// carry gradients, so that the model can be trained.
    pub fn set_differentiable(&mut self, on: bool) {
        self.differentiable = on;
    }

    /// The model's shape.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// The output projection `(vocab, hidden)`.
    pub fn lm_head(&self) -> &Tensor {
        &self.lm_head
    }

    /// Number of parameters (tied weights counted once).
    pub fn n_params(&self) -> usize {
        let mut n = self.embed.elem_count() + self.norm.elem_count();
        if self.lm_head.id() != self.embed.id() {
            n += self.lm_head.elem_count();
        }
        for b in &self.blocks {
            n += [&b.attn_norm, &b.wq, &b.wk, &b.wv, &b.wo, &b.ffn_norm, &b.w_gate, &b.w_up, &b.w_down]
                .iter()
                .map(|t| t.elem_count())
                .sum::<usize>();
        }
        n
    }

    /// Final normalised hidden states `(batch * seq, hidden)` for token ids
    /// `(batch, seq)`, row `b * seq + t` for position `t` of window `b`.
    pub fn hidden_states(&self, tokens: &Tensor) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        let cfg = &self.cfg;
        let (nh, nkv, hd) = (cfg.n_head, cfg.n_kv_head, cfg.head_dim());
        let rep = nh / nkv;
        let eps = cfg.rms_eps as f32;
        let norm = |x: &Tensor, w: &Tensor| -> Result<Tensor> {
            Ok(if self.differentiable {
                candle_nn::ops::rms_norm_slow(x, w, eps)?
            } else {
                candle_nn::ops::rms_norm(x, w, eps)?
            })
        };
        let cos = self.cos.narrow(0, 0, t)?;
        let sin = self.sin.narrow(0, 0, t)?;
        let mask = causal_mask(t, tokens.device())?;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut x = self.embed.index_select(&tokens.flatten_all()?, 0)?;
        for blk in &self.blocks {
            let h = norm(&x, &blk.attn_norm)?;
            let heads = |w: &Tensor, n: usize| -> Result<Tensor> {
                Ok(linear(&h, w)?.reshape((b, t, n, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let q = self.rope(&heads(&blk.wq, nh)?, &cos, &sin)?;
            let k = self.rope(&heads(&blk.wk, nkv)?, &cos, &sin)?;
            let v = heads(&blk.wv, nkv)?;
            // Query heads sharing a key/value head are adjacent, so folding
            // them into the row axis attends without copying K and V.
            let q = q.reshape((b, nkv, rep * t, hd))?;
            let att = (q.matmul(&k.t()?)? * scale)?.reshape((b, nkv, rep, t, t))?.broadcast_add(&mask)?;
            let att = if self.differentiable {
                candle_nn::ops::softmax(&att, D::Minus1)?
            } else {
                candle_nn::ops::softmax_last_dim(&att)?
            };
            let att = att.reshape((b, nkv, rep * t, t))?;
            let y = att.matmul(&v)?.reshape((b, nh, t, hd))?.transpose(1, 2)?.reshape((b * t, nh * hd))?;
            x = (x + linear(&y, &blk.wo)?)?;
            let h = norm(&x, &blk.ffn_norm)?;
            let g = (candle_nn::ops::silu(&linear(&h, &blk.w_gate)?)? * linear(&h, &blk.w_up)?)?;
            x = (x + linear(&g, &blk.w_down)?)?;
        }
        norm(&x, &self.norm)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        use candle_nn::rotary_emb as r;
        Ok(match (self.cfg.rope_interleaved, self.differentiable) {
            (true, false) => r::rope_i(x, cos, sin)?,
            (false, false) => r::rope(x, cos, sin)?,
            (true, true) => r::rope_i_slow(x, cos, sin)?,
            (false, true) => r::rope_slow(x, cos, sin)?,
        })
    }
}

/// `x (n, in) · w (out, in)ᵀ`.
pub(crate) fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?)
}

fn rotary_tables(cfg: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = cfg.head_dim() / 2;
    let inv: Vec<f32> =
        (0..half).map(|i| 1.0 / cfg.rope_theta.powf(2.0 * i as f32 / cfg.head_dim() as f32)).collect();
    let inv = Tensor::from_vec(inv, (1, half), device)?;
    let pos =
        Tensor::arange(0u32, cfg.max_seq as u32, device)?.to_dtype(DType::F32)?.reshape((cfg.max_seq, 1))?;
    let freqs = pos.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let m: Vec<f32> =
        (0..t).flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 })).collect();
    Ok(Tensor::from_vec(m, (t, t), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random two-block model: small enough to check causality exactly.
    pub(crate) fn tiny(interleaved: bool) -> Llama {
        let d = Device::Cpu;
        let cfg = LlamaConfig {
            n_layer: 2,
            n_head: 4,
            n_kv_head: 2,
            hidden: 16,
            vocab: 11,
            rms_eps: 1e-5,
            rope_theta: 10000.0,
            rope_interleaved: interleaved,
            max_seq: 32,
        };
        let r = |s: (usize, usize)| Tensor::randn(0f32, 0.3, s, &d).unwrap();
        let ones = Tensor::ones(16, DType::F32, &d).unwrap();
        let blocks = (0..2)
            .map(|_| Block {
                attn_norm: ones.clone(),
                wq: r((16, 16)),
                wk: r((8, 16)),
                wv: r((8, 16)),
                wo: r((16, 16)),
                ffn_norm: ones.clone(),
                w_gate: r((24, 16)),
                w_up: r((24, 16)),
                w_down: r((16, 24)),
            })
            .collect();
        let embed = r((11, 16));
        Llama::new(cfg, embed.clone(), blocks, ones, embed).unwrap()
    }

    #[test]
    fn later_tokens_do_not_change_earlier_positions() {
        for interleaved in [true, false] {
            let m = tiny(interleaved);
            let full = Tensor::new(&[[1u32, 5, 7, 2, 9, 3]], &Device::Cpu).unwrap();
            let pre = Tensor::new(&[[1u32, 5, 7]], &Device::Cpu).unwrap();
            let hf = m.hidden_states(&full).unwrap().narrow(0, 0, 3).unwrap();
            let hp = m.hidden_states(&pre).unwrap();
            let diff = (hf - hp).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
        }
    }

    /// GGUF converters permute Q/K rows so that adjacent-pair RoPE equals
    /// Hugging Face's half-split RoPE; check both paths agree.
    #[test]
    fn interleaved_rope_on_permuted_weights_matches_half_rope() {
        let hf = tiny(false);
        let hd = hf.cfg.head_dim();
        let permute = |w: &Tensor| -> Tensor {
            let rows = w.dim(0).unwrap();
            let idx: Vec<u32> = (0..rows)
                .map(|r| {
                    let (h, i) = (r / hd, r % hd);
                    (h * hd + if i % 2 == 0 { i / 2 } else { hd / 2 + i / 2 }) as u32
                })
                .collect();
            w.index_select(&Tensor::new(idx, &Device::Cpu).unwrap(), 0).unwrap()
        };
        let mut gg = hf.clone();
        gg.cfg.rope_interleaved = true;
        for b in &mut gg.blocks {
            b.wq = permute(&b.wq);
            b.wk = permute(&b.wk);
        }
        let toks = Tensor::new(&[[3u32, 1, 4, 1, 5, 9, 2, 6]], &Device::Cpu).unwrap();
        let a = hf.hidden_states(&toks).unwrap();
        let b = gg.hidden_states(&toks).unwrap();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
    }

    #[test]
    fn differentiable_ops_agree_with_fast_ones() {
        for interleaved in [true, false] {
            let fast = tiny(interleaved);
            let mut slow = fast.clone();
            slow.set_differentiable(true);
            let toks = Tensor::new(&[[3u32, 1, 4, 1, 5]], &Device::Cpu).unwrap();
            let d = (fast.hidden_states(&toks).unwrap() - slow.hidden_states(&toks).unwrap()).unwrap();
            let d = d.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(d < 1e-4, "{d}");
        }
    }

    #[test]
    fn batched_windows_match_single_windows() {
        let m = tiny(true);
        let both = Tensor::new(&[[1u32, 5, 7, 2], [4, 4, 0, 10]], &Device::Cpu).unwrap();
        let second = Tensor::new(&[[4u32, 4, 0, 10]], &Device::Cpu).unwrap();
        let hb = m.hidden_states(&both).unwrap().narrow(0, 4, 4).unwrap();
        let hs = m.hidden_states(&second).unwrap();
        let diff = (hb - hs).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    }

    #[test]
    fn token_stats_are_a_distribution_summary() {
        let m = tiny(true);
        let toks = Tensor::new(&[[1u32, 5, 7]], &Device::Cpu).unwrap();
        let h = m.hidden_states(&toks).unwrap();
        let st = crate::head::token_stats(&h, m.lm_head(), &[5, 7, 2]).unwrap();
        assert_eq!(st.len(), 3);
        for s in st {
            assert!(s.logp < 0.0 && s.mu < 0.0 && s.sigma > 0.0);
            // mean log p is at least -ln(vocab) below zero in expectation
            assert!(s.mu >= -(11f32.ln()) - 1e-4);
        }
    }
}
