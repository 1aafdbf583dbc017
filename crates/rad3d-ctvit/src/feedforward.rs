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
        let h = self.proj_in.forward(self.norm.forward(x));
        let mut halves = h.chunk(2, 2);
        let gate = halves.pop().expect("two halves");
        let value = halves.pop().expect("two halves");
        // Exact (erf) GELU, as torch's F.gelu default.
        self.proj_out.forward(value * gelu(gate))
    }
}
