//! GPT-2 with a full-sequence forward pass (safetensors weights).
use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::llama::linear;

/// Shape of a GPT-2 model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Gpt2Config {
    /// Transformer blocks.
    pub n_layer: usize,
    /// Attention heads.
    pub n_head: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Learned positions.
    pub max_seq: usize,
    /// LayerNorm epsilon.
    pub eps: f64,
}

/// A LayerNorm's scale and shift.
#[derive(Debug, Clone)]
pub struct Norm {
    /// Scale.
    pub weight: Tensor,
    /// Shift.
    pub bias: Tensor,
}

/// A linear layer, weight `(out, in)`.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Weight `(out, in)` (GPT-2's Conv1D weights are transposed at load).
    pub weight: Tensor,
    /// Bias `(out)`.
    pub bias: Tensor,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(linear(x, &self.weight)?.broadcast_add(&self.bias)?)
    }
}

/// One GPT-2 block.
#[derive(Debug, Clone)]
pub struct Gpt2Block {
    /// Pre-attention norm.
    pub ln_1: Norm,
    /// Fused query/key/value projection.
    pub qkv: Dense,
    /// Attention output.
    pub proj: Dense,
    /// Pre-MLP norm.
    pub ln_2: Norm,
    /// MLP up.
    pub fc: Dense,
    /// MLP down.
    pub fc_proj: Dense,
}

/// GPT-2, output projection tied to the token embedding.
#[derive(Debug, Clone)]
pub struct Gpt2 {
    /// Shape.
    pub cfg: Gpt2Config,
    /// Token embedding `(vocab, hidden)`.
    pub wte: Tensor,
    /// Position embedding `(max_seq, hidden)`.
    pub wpe: Tensor,
    /// Blocks.
    pub blocks: Vec<Gpt2Block>,
    /// Final norm.
    pub ln_f: Norm,
}

impl Gpt2 {
    /// The model's shape.
    pub fn config(&self) -> &Gpt2Config {
        &self.cfg
    }

    /// The output projection.
    pub fn lm_head(&self) -> &Tensor {
        &self.wte
    }

    /// Parameters.
    pub fn n_params(&self) -> usize {
        let d = |d: &Dense| d.weight.elem_count() + d.bias.elem_count();
        let n = |n: &Norm| n.weight.elem_count() + n.bias.elem_count();
        self.wte.elem_count()
            + self.wpe.elem_count()
            + n(&self.ln_f)
            + self
                .blocks
                .iter()
                .map(|b| n(&b.ln_1) + n(&b.ln_2) + d(&b.qkv) + d(&b.proj) + d(&b.fc) + d(&b.fc_proj))
                .sum::<usize>()
    }

    /// Final hidden states `(batch * seq, hidden)` for ids `(batch, seq)`.
    pub fn hidden_states(&self, tokens: &Tensor) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        let (nh, hid) = (self.cfg.n_head, self.cfg.hidden);
        let hd = hid / nh;
        let eps = self.cfg.eps as f32;
        let pos = self.wpe.narrow(0, 0, t)?.repeat((b, 1))?;
        let mut x = (self.wte.index_select(&tokens.flatten_all()?, 0)? + pos)?;
        let mask = mask(t, tokens.device())?;
        let scale = 1.0 / (hd as f64).sqrt();
        for blk in &self.blocks {
            let h = ln(&x, &blk.ln_1, eps)?;
            let qkv = blk.qkv.forward(&h)?;
            let split = |i: usize| -> Result<Tensor> {
                Ok(qkv.narrow(1, i * hid, hid)?.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&mask)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b * t, hid))?;
            x = (x + blk.proj.forward(&y)?)?;
            let h = ln(&x, &blk.ln_2, eps)?;
            x = (x + blk.fc_proj.forward(&blk.fc.forward(&h)?.gelu()?)?)?;
        }
        ln(&x, &self.ln_f, eps)
    }
}

fn ln(x: &Tensor, n: &Norm, eps: f32) -> Result<Tensor> {
    Ok(candle_nn::ops::layer_norm(x, &n.weight, &n.bias, eps)?)
}

fn mask(t: usize, device: &Device) -> Result<Tensor> {
    let m: Vec<f32> =
        (0..t).flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 })).collect();
    Ok(Tensor::from_vec(m, (t, t), device)?)
}
