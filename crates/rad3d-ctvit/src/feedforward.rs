//! GEGLU feed-forward block of CTViT.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

/// `LayerNorm → Linear(dim→2·inner) → value·GELU(gate) → Linear(inner→dim)`, linears without bias.
#[derive(Module, Debug)]
pub struct FeedForward<B: Backend> {
    /// Standard LayerNorm with bias.
    pub norm: LayerNorm<B>,
    /// Projection to value and gate halves (value first).
    pub proj_in: Linear<B>,
    /// Projection back to the model width.
    pub proj_out: Linear<B>,
}

impl<B: Backend> FeedForward<B> {
    /// Builds a randomly initialised block.
    pub fn init(dim: usize, inner: usize, device: &B::Device) -> Self {
        Self {
            norm: LayerNormConfig::new(dim).init(device),
            proj_in: LinearConfig::new(dim, 2 * inner)
                .with_bias(false)
                .init(device),
            proj_out: LinearConfig::new(inner, dim).with_bias(false).init(device),
        }
    }

    /// # Shapes
    /// - `x`: `[n, seq, dim]` → `[n, seq, dim]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        // One 2-D product over all tokens instead of a batch of per-sequence products (the
        // temporal transformer has 576 sequences of 24 tokens).
        let [n, seq, dim] = x.dims();
        let x = x.reshape([n * seq, dim]);
        let x = self.norm.forward(x);
        // Value and gate as two products with the halves of `proj_in` (value first), so the
        // element-wise GEGLU runs on contiguous buffers rather than strided halves.
        let w = self.proj_in.weight.val();
        let inner = w.dims()[1] / 2;
        let value = x.clone().matmul(w.clone().narrow(1, 0, inner));
        let gate = x.matmul(w.narrow(1, inner, inner));
        // Exact (erf) GELU, as torch's F.gelu default.
        self.proj_out
            .forward(value * gelu(gate))
            .reshape([n, seq, dim])
    }
}
