//! Tubelet patch embedding of CTViT (`to_patch_emb`).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Cuts `(pt, p, p)` tubelets, flattens them in `(c, pt, p, p)` order and applies
/// `LayerNorm → Linear → LayerNorm` (all with bias).
#[derive(Module, Debug)]
pub struct PatchEmbedding<B: Backend> {
    /// LayerNorm over the flattened patch (`to_patch_emb.1`).
    pub norm_in: LayerNorm<B>,
    /// Projection to the model width (`to_patch_emb.2`).
    pub proj: Linear<B>,
    /// LayerNorm over the token (`to_patch_emb.3`).
    pub norm_out: LayerNorm<B>,
    patch_size: usize,
    temporal_patch_size: usize,
}

impl<B: Backend> PatchEmbedding<B> {
    /// Builds a randomly initialised embedding.
    pub fn init(
        channels: usize,
        patch_size: usize,
        temporal_patch_size: usize,
        dim: usize,
        device: &B::Device,
    ) -> Self {
        let features = channels * temporal_patch_size * patch_size * patch_size;
        Self {
            norm_in: LayerNormConfig::new(features).init(device),
            proj: LinearConfig::new(features, dim).init(device),
            norm_out: LayerNormConfig::new(dim).init(device),
            patch_size,
            temporal_patch_size,
        }
    }

    /// Token grid of an input of shape `[b, c, T, H, W]`, or why it does not tile.
    pub fn grid(&self, input: [usize; 5]) -> Result<[usize; 4], String> {
        let [b, channels, frames, height, width] = input;
        let (p, pt) = (self.patch_size, self.temporal_patch_size);
        let features = self.norm_in.gamma.lazy_shape().as_slice()[0];
        if channels * pt * p * p != features {
            return Err(format!(
                "input {input:?} has {channels} channels; the patch embedding expects {}",
                features / (pt * p * p)
            ));
        }
        if frames % pt != 0 || height % p != 0 || width % p != 0 || frames == 0 || height == 0 {
            return Err(format!(
                "input {input:?} does not tile into ({pt}, {p}, {p}) patches"
            ));
        }
        Ok([b, frames / pt, height / p, width / p])
    }

    /// # Shapes
    /// - `video`: `[b, c, T, H, W]` → `[b, T/pt, H/p, W/p, dim]`
    ///
    /// # Panics
    /// If `T`, `H`, `W` are not multiples of the patch sizes.
    pub fn forward(&self, video: Tensor<B, 5>) -> Tensor<B, 5> {
        let dims = video.dims();
        let [b, t, h, w] = self.grid(dims).unwrap_or_else(|e| panic!("{e}"));
        let c = dims[1];
        let (p, pt) = (self.patch_size, self.temporal_patch_size);
        let patches = if c == 1 {
            // Single-channel CT: the same reordering as a 6-D permute, which copies faster.
            let patches: Tensor<B, 6> = video.reshape([b * t, pt, h, p, w, p]);
            patches
                .permute([0, 2, 4, 1, 3, 5])
                .reshape([b, t, h, w, pt * p * p])
        } else {
            let patches: Tensor<B, 8> = video.reshape([b, c, t, pt, h, p, w, p]);
            patches
                .permute([0, 2, 4, 6, 1, 3, 5, 7])
                .reshape([b, t, h, w, c * pt * p * p])
        };
        let x = self.proj.forward(self.norm_in.forward(patches));
        self.norm_out.forward(x)
    }
}
