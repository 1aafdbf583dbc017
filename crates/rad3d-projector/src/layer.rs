//! ClipCap's transformer layer: pre-LN self-attention and a ReLU MLP, no positional encoding.
//!
//! Mirrors `MultiHeadAttention`, `MlpTransformer` and `TransformerLayer` of ClipCap's
//! `train.py` (rmokady/CLIP_prefix_caption) so that checkpoints load under their original
//! names: queries and the fused keys/values projection carry no bias, the output
//! projection does, and attention is unmasked.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Tensor, backend::Backend};

/// Configuration of ClipCap's multi-head self-attention.
#[derive(Config, Debug)]
pub struct ClipCapAttentionConfig {
    /// Model width `D`.
    pub d_model: usize,
    /// Number of heads; must divide `d_model`.
    #[config(default = 8)]
    pub num_heads: usize,
}

/// ClipCap's `MultiHeadAttention` used as self-attention.
#[derive(Module, Debug)]
pub struct ClipCapAttention<B: Backend> {
    /// `to_queries`: `D → D`, no bias.
    pub to_queries: Linear<B>,
    /// `to_keys_values`: `D → 2D`, no bias; the first `D` outputs are keys, the rest values.
    pub to_keys_values: Linear<B>,
    /// `project`: `D → D` with bias.
    pub project: Linear<B>,
    num_heads: usize,
}

impl ClipCapAttentionConfig {
    /// Builds the attention block with burn's default initialisers.
    ///
    /// # Panics
    /// If `num_heads` does not divide `d_model` (checked earlier by the mapper config).
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClipCapAttention<B> {
        assert!(
            self.num_heads > 0 && self.d_model.is_multiple_of(self.num_heads),
            "d_model {} not divisible by num_heads {}",
            self.d_model,
            self.num_heads
        );
        let d = self.d_model;
        ClipCapAttention {
            to_queries: LinearConfig::new(d, d).with_bias(false).init(device),
            to_keys_values: LinearConfig::new(d, 2 * d).with_bias(false).init(device),
            project: LinearConfig::new(d, d).init(device),
            num_heads: self.num_heads,
        }
    }
}

impl<B: Backend> ClipCapAttention<B> {
    /// Unmasked self-attention with scale `head_dim^-0.5`.
    ///
    /// # Shapes
    /// - x: `[batch, seq, D]` → `[batch, seq, D]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, c] = x.dims();
        let h = self.num_heads;
        let dh = c / h;
        // [b, n, h, dh] → [b, h, n, dh]
        let q = self
            .to_queries
            .forward(x.clone())
            .reshape([b, n, h, dh])
            .swap_dims(1, 2);
        // ClipCap reshapes the fused projection to [b, m, 2, h, dh]: keys first, then values.
        let kv = self.to_keys_values.forward(x).reshape([b, n, 2, h, dh]);
        let k = kv
            .clone()
            .slice([0..b, 0..n, 0..1, 0..h, 0..dh])
            .reshape([b, n, h, dh])
            .swap_dims(1, 2);
        let v = kv
            .slice([0..b, 0..n, 1..2, 0..h, 0..dh])
            .reshape([b, n, h, dh])
            .swap_dims(1, 2);
        let scale = (dh as f64).powf(-0.5);
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
        let attn = softmax(scores, 3);
        let out = attn.matmul(v).swap_dims(1, 2).reshape([b, n, c]);
        self.project.forward(out)
    }

    /// Number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }
}

/// Configuration of ClipCap's `MlpTransformer` (Linear → ReLU → Linear, dropout 0).
#[derive(Config, Debug)]
pub struct ClipCapMlpConfig {
    /// Input and output width.
    pub d_model: usize,
    /// Hidden width (`int(D × mlp_ratio)`).
    pub d_hidden: usize,
}

/// ClipCap's two-layer ReLU MLP.
#[derive(Module, Debug)]
pub struct ClipCapMlp<B: Backend> {
    /// `fc1`: `D → hidden`.
    pub fc1: Linear<B>,
    /// `fc2`: `hidden → D`.
    pub fc2: Linear<B>,
}

impl ClipCapMlpConfig {
    /// Builds the MLP.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClipCapMlp<B> {
        ClipCapMlp {
            fc1: LinearConfig::new(self.d_model, self.d_hidden).init(device),
            fc2: LinearConfig::new(self.d_hidden, self.d_model).init(device),
        }
    }
}

impl<B: Backend> ClipCapMlp<B> {
    /// # Shapes
    /// - x: `[batch, seq, D]` → `[batch, seq, D]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.fc2.forward(relu(self.fc1.forward(x)))
    }
}

/// Configuration of one ClipCap `TransformerLayer`.
#[derive(Config, Debug)]
pub struct ClipCapLayerConfig {
    /// Model width `D`.
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 8)]
    pub num_heads: usize,
    /// MLP hidden width as a multiple of `D` (ClipCap's mapper uses 2).
    #[config(default = 2.0)]
    pub mlp_ratio: f64,
}

/// One pre-LN layer: `x + attn(norm1(x))`, then `x + mlp(norm2(x))`.
#[derive(Module, Debug)]
pub struct ClipCapLayer<B: Backend> {
    /// LayerNorm before attention (eps 1e-5, as torch).
    pub norm1: LayerNorm<B>,
    /// Self-attention.
    pub attn: ClipCapAttention<B>,
    /// LayerNorm before the MLP.
    pub norm2: LayerNorm<B>,
    /// ReLU MLP.
    pub mlp: ClipCapMlp<B>,
}

impl ClipCapLayerConfig {
    /// MLP hidden width, truncated like Python's `int(dim * ratio)`.
    pub fn d_hidden(&self) -> usize {
        (self.d_model as f64 * self.mlp_ratio) as usize
    }

    /// Builds the layer.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClipCapLayer<B> {
        ClipCapLayer {
            norm1: LayerNormConfig::new(self.d_model).init(device),
            attn: ClipCapAttentionConfig::new(self.d_model)
                .with_num_heads(self.num_heads)
                .init(device),
            norm2: LayerNormConfig::new(self.d_model).init(device),
            mlp: ClipCapMlpConfig::new(self.d_model, self.d_hidden()).init(device),
        }
    }
}

impl<B: Backend> ClipCapLayer<B> {
    /// # Shapes
    /// - x: `[batch, seq, D]` → `[batch, seq, D]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x.clone() + self.attn.forward(self.norm1.forward(x));
        x.clone() + self.mlp.forward(self.norm2.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type B = Flex;

    /// The fused head-split attention equals a per-head loop written the plain way.
    #[test]
    fn attention_matches_per_head_computation() {
        let device = Default::default();
        let attn = ClipCapAttentionConfig::new(16)
            .with_num_heads(4)
            .init::<B>(&device);
        let x = Tensor::<B, 3>::random([2, 5, 16], Distribution::Normal(0.0, 1.0), &device);
        let got = attn.forward(x.clone());

        let q = attn.to_queries.forward(x.clone());
        let kv = attn.to_keys_values.forward(x);
        let mut heads = Vec::new();
        for h in 0..4 {
            let r = h * 4..h * 4 + 4;
            let qh = q.clone().slice([0..2, 0..5, r.clone()]);
            let kh = kv.clone().slice([0..2, 0..5, r.clone()]);
            let vh = kv.clone().slice([0..2, 0..5, 16 + r.start..16 + r.end]);
            let s = softmax(qh.matmul(kh.swap_dims(1, 2)).mul_scalar(0.5), 2);
            heads.push(s.matmul(vh));
        }
        let want = attn.project.forward(Tensor::cat(heads, 2));
        got.into_data()
            .assert_approx_eq::<f32>(&want.into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn mlp_hidden_width_truncates_like_python() {
        let cfg = ClipCapLayerConfig::new(10)
            .with_mlp_ratio(2.5)
            .with_num_heads(2);
        assert_eq!(cfg.d_hidden(), 25);
        let layer = cfg.init::<B>(&Default::default());
        // norm1 20 + q 100 + kv 200 + proj 110 + norm2 20 + fc1 275 + fc2 260
        assert_eq!(layer.num_params(), 985);
        let x = Tensor::<B, 3>::from_data(
            TensorData::new(vec![0.5f32; 30], [1, 3, 10]),
            &Default::default(),
        );
        assert_eq!(layer.forward(x).dims(), [1, 3, 10]);
    }
}
