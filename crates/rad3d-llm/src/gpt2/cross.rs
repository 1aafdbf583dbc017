//! GPT-2's optional cross-attention (HF `add_cross_attention=True`): after
//! self-attention each block normalises its stream (`ln_cross_attn`), queries it
//! (`crossattention.q_attn`) against keys and values projected from the encoder states
//! (`crossattention.c_attn`, fused `[D, 2 D]`), and adds the projected result
//! (`crossattention.c_proj`). No mask: every position sees every encoder state.
//!
//! Encoder states are the same for every step of a generation, so their keys and values
//! are recomputed per call instead of cached: with the one or few encoder states
//! image conditioning uses, that costs less than a cache round trip.

use burn::module::Module;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Tensor, backend::Backend};

use super::{Gpt2, Gpt2Config};
use crate::attention::grouped_attention;
use crate::error::Result;
use crate::kernels::Kernels;
use crate::weights::RandomSource;

/// The cross-attention of one GPT-2 block.
#[derive(Module, Debug)]
pub struct Gpt2CrossAttention<B: Backend> {
    /// `ln_cross_attn`.
    pub ln: LayerNorm<B>,
    /// `crossattention.q_attn`: `[D, D]`, queries from the block's stream.
    pub q_attn: Linear<B>,
    /// `crossattention.c_attn`: `[D, 2 D]`, keys and values from the encoder states.
    pub kv_attn: Linear<B>,
    /// `crossattention.c_proj`: `[D, D]`.
    pub proj: Linear<B>,
}

/// HF names (below `h.N.`) and shapes of one block's cross-attention tensors.
pub(crate) fn cross_tensor_shapes(d: usize) -> [(&'static str, Vec<usize>); 8] {
    [
        ("ln_cross_attn.weight", vec![d]),
        ("ln_cross_attn.bias", vec![d]),
        ("crossattention.c_attn.weight", vec![d, 2 * d]),
        ("crossattention.c_attn.bias", vec![2 * d]),
        ("crossattention.q_attn.weight", vec![d, d]),
        ("crossattention.q_attn.bias", vec![d]),
        ("crossattention.c_proj.weight", vec![d, d]),
        ("crossattention.c_proj.bias", vec![d]),
    ]
}

impl<B: Backend> Gpt2CrossAttention<B> {
    /// `x + c_proj(attention(q_attn(ln(x)), c_attn(encoder)))`.
    ///
    /// # Shapes
    /// - x: `[B, T, D]`, encoder: `[B, S, D]` → `[B, T, D]`
    pub(crate) fn forward(
        &self,
        x: Tensor<B, 3>,
        encoder: &Tensor<B, 3>,
        config: &Gpt2Config,
        kernels: Kernels,
    ) -> Tensor<B, 3> {
        let [b, t, _] = x.dims();
        let s = encoder.dims()[1];
        let (h, hd) = (config.num_heads, config.head_dim());
        let q = kernels
            .linear(&self.q_attn, self.ln.forward(x.clone()))
            .reshape([b, t, h, hd])
            .swap_dims(1, 2);
        let kv = kernels
            .linear(&self.kv_attn, encoder.clone())
            .reshape([b, s, 2 * h, hd])
            .swap_dims(1, 2);
        let k = kv.clone().narrow(1, 0, h);
        let v = kv.narrow(1, h, h);
        let attn = grouped_attention(q, k, v, None, (hd as f32).powf(-0.5));
        x + kernels.linear(&self.proj, attn)
    }
}

impl<B: Backend> Gpt2<B> {
    /// Adds freshly initialised cross-attention to every block that has none, as HF's
    /// `from_pretrained(…, add_cross_attention=True)` does for a checkpoint without it:
    /// N(0, 0.02) projections, zero biases, unit norms, seeded. Blocks that already carry
    /// cross-attention keep it.
    pub fn with_cross_attention(mut self, seed: u64) -> Result<Self> {
        let d = self.config.hidden_size;
        let device = self.wte.val().device();
        let shapes = (0..self.config.num_layers)
            .flat_map(|l| {
                cross_tensor_shapes(d)
                    .into_iter()
                    .map(move |(n, s)| (format!("h.{l}.{n}"), s))
            })
            .collect();
        let mut source = RandomSource::new(shapes, 0.02, seed);
        for (l, block) in self.blocks.iter_mut().enumerate() {
            if block.cross.is_none() {
                block.cross = Some(super::load::cross_from_tensors(
                    &self.config,
                    &mut source,
                    "",
                    l,
                    &device,
                )?);
            }
        }
        self.config.add_cross_attention = true;
        Ok(self)
    }

    /// Whether the blocks carry cross-attention.
    pub fn has_cross_attention(&self) -> bool {
        self.blocks.first().is_some_and(|b| b.cross.is_some())
    }
}
