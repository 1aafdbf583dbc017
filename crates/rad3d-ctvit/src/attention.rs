//! CTViT self-attention: l2-normalised queries/keys with learned scales, and the continuous
//! position bias used by the spatial transformer.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorData};

/// Logit multiplier of CTViT's attention. It multiplies cosine similarities, so it replaces
/// (rather than adds to) the usual `1/sqrt(dim_head)`.
const ATTENTION_SCALE: f64 = 8.0;

/// Divides the last axis by its Euclidean norm, floored at 1e-12 like `F.normalize`.
pub(crate) fn l2_normalize<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let norm = x.clone().square().sum_dim(D - 1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Multi-head self-attention block of CTViT (`Attention` in the reference, no context, no nulls).
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// Bias-less pre-norm; applies only to the query input.
    pub norm: LayerNorm<B>,
    /// Query projection `dim → heads·dim_head`, no bias.
    pub to_q: Linear<B>,
    /// Key/value projection `dim → 2·heads·dim_head` (keys first), no bias.
    pub to_kv: Linear<B>,
    /// Output projection `heads·dim_head → dim`, no bias.
    pub to_out: Linear<B>,
    /// Learned per-channel query scale `[dim_head]`, shared by heads.
    pub q_scale: Param<Tensor<B, 1>>,
    /// Learned per-channel key scale `[dim_head]`, shared by heads.
    pub k_scale: Param<Tensor<B, 1>>,
    heads: usize,
    dim_head: usize,
}

impl<B: Backend> Attention<B> {
    /// Builds a randomly initialised block (parameters are created lazily).
    pub fn init(dim: usize, heads: usize, dim_head: usize, device: &B::Device) -> Self {
        let inner = heads * dim_head;
        let linear = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
        Self {
            norm: LayerNormConfig::new(dim).init(device),
            to_q: linear(dim, inner),
            to_kv: linear(dim, 2 * inner),
            to_out: linear(inner, dim),
            q_scale: Param::from_tensor(Tensor::ones([dim_head], device)),
            k_scale: Param::from_tensor(Tensor::ones([dim_head], device)),
            heads,
            dim_head,
        }
    }

    /// Self-attention over each sequence.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, dim]`
    /// - `bias`: `[1, heads, seq, seq]`, added to the scaled logits (broadcast over batch)
    /// - output: `[batch, seq, dim]`
    pub fn forward(&self, x: Tensor<B, 3>, bias: Option<Tensor<B, 4>>) -> Tensor<B, 3> {
        let [batch, seq, dim] = x.dims();
        let (heads, dim_head) = (self.heads, self.dim_head);
        // Projections as single 2-D products over all tokens.
        let x = x.reshape([batch * seq, dim]);
        // The reference takes keys/values from the residual stream *before* the norm.
        let q = self.to_q.forward(self.norm.forward(x.clone()));
        // Keys and values as two products with the halves of `to_kv` (keys first), so both
        // come out contiguous instead of as strided halves of one buffer.
        let w_kv = self.to_kv.weight.val();
        let inner = heads * dim_head;
        let k = x.clone().matmul(w_kv.clone().narrow(1, 0, inner));
        let v = x.matmul(w_kv.narrow(1, inner, inner));
        let split = |t: Tensor<B, 2>| t.reshape([batch, seq, heads, dim_head]).swap_dims(1, 2);
        let q_scale = self.q_scale.val().reshape([1, 1, 1, dim_head]);
        let k_scale = self.k_scale.val().reshape([1, 1, 1, dim_head]);
        let q = l2_normalize(split(q)) * q_scale;
        let k = l2_normalize(split(k)) * k_scale;
        let v = split(v);
        let options = AttentionModuleOptions {
            scale: Some(ATTENTION_SCALE),
            softcap: None,
            is_causal: false,
        };
        // Burn's fused kernel: it adds the bias per (sequence, head) without materialising a
        // broadcast, which on the CPU backend beat batched products with an explicit bias
        // add for the spatial transformer's 24 × 8 sequences of 576 tokens.
        let out = attention(q, k, v, None, bias, options);
        let out = out.swap_dims(1, 2).reshape([batch * seq, heads * dim_head]);
        self.to_out.forward(out).reshape([batch, seq, dim])
    }
}

/// Continuous position bias: an MLP over log-scaled relative (row, column) offsets.
#[derive(Module, Debug)]
pub struct ContinuousPositionBias<B: Backend> {
    /// `Linear(2→dim)`, `Linear(dim→dim)` (each followed by LeakyReLU 0.1), `Linear(dim→heads)`.
    pub layers: Vec<Linear<B>>,
}

impl<B: Backend> ContinuousPositionBias<B> {
    /// Builds a randomly initialised MLP.
    pub fn init(dim: usize, heads: usize, device: &B::Device) -> Self {
        Self {
            layers: vec![
                LinearConfig::new(2, dim).init(device),
                LinearConfig::new(dim, dim).init(device),
                LinearConfig::new(dim, heads).init(device),
            ],
        }
    }

    /// Bias for an `h × w` token grid, tokens enumerated row-major.
    ///
    /// The reference runs the MLP on all `(h·w)²` pairs; only `(2h-1)(2w-1)` offsets are
    /// distinct, so the MLP runs on those and the result is gathered per pair (same values,
    /// a few hundred times fewer FLOPs at CT-CLIP's 24×24 grid).
    ///
    /// # Shapes
    /// - output: `[1, heads, h·w, h·w]`
    pub fn forward(&self, h: usize, w: usize, device: &B::Device) -> Tensor<B, 4> {
        let (rows, cols) = (2 * h - 1, 2 * w - 1);
        let log_dist = |d: i64| {
            let magnitude = ((d.unsigned_abs() + 1) as f32).ln();
            (d.signum() as f32) * magnitude
        };
        let mut features = Vec::with_capacity(rows * cols * 2);
        for dr in -(h as i64 - 1)..=(h as i64 - 1) {
            for dc in -(w as i64 - 1)..=(w as i64 - 1) {
                features.push(log_dist(dr));
                features.push(log_dist(dc));
            }
        }
        let mut x: Tensor<B, 2> =
            Tensor::from_data(TensorData::new(features, [rows * cols, 2]), device);
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = leaky_relu(x, 0.1);
            }
        }
        let n = h * w;
        let mut index = Vec::with_capacity(n * n);
        for qi in 0..n {
            let (qr, qc) = ((qi / w) as i64, (qi % w) as i64);
            for ki in 0..n {
                let (kr, kc) = ((ki / w) as i64, (ki % w) as i64);
                // Offset is query minus key, shifted to be non-negative.
                let r = (qr - kr + h as i64 - 1) as usize;
                let c = (qc - kc + w as i64 - 1) as usize;
                index.push((r * cols + c) as i64);
            }
        }
        let index: Tensor<B, 1, Int> = Tensor::from_data(TensorData::new(index, [n * n]), device);
        let heads = x.dims()[1];
        x.select(0, index)
            .reshape([n, n, heads])
            .permute([2, 0, 1])
            .unsqueeze_dim(0)
    }
}
