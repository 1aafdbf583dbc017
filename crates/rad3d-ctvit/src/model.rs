//! The CT-ViT encoder with CT-CLIP's image latent head.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::attention::{ContinuousPositionBias, l2_normalize};
use crate::config::CtVitConfig;
use crate::patch::PatchEmbedding;
use crate::transformer::{Transformer, TransformerDims};
use crate::vq::VectorQuantizer;

/// CTViT encoder (`visual_transformer` in CT-CLIP) plus `to_visual_latent`.
#[derive(Module, Debug)]
pub struct CtVit<B: Backend> {
    /// `to_patch_emb`.
    pub patch_emb: PatchEmbedding<B>,
    /// `spatial_rel_pos_bias`.
    pub spatial_rel_pos_bias: ContinuousPositionBias<B>,
    /// `enc_spatial_transformer`.
    pub enc_spatial_transformer: Transformer<B>,
    /// `enc_temporal_transformer`.
    pub enc_temporal_transformer: Transformer<B>,
    /// `vq`.
    pub vq: VectorQuantizer<B>,
    /// `to_visual_latent`: `Linear(dim_image → dim_latent)` without bias.
    pub to_visual_latent: Linear<B>,
}

/// Everything the encoder computes for a batch; all grids are `(b, t, h, w, …)`.
#[derive(Debug, Clone)]
pub struct CtVitOutput<B: Backend> {
    /// Patch embeddings `[b, t, h, w, dim]`.
    pub patch_emb: Tensor<B, 5>,
    /// Continuous position bias `[heads, h·w, h·w]` added to spatial logits.
    pub cpb_bias: Tensor<B, 3>,
    /// Spatial transformer output (after its `norm_out`) `[b, t, h, w, dim]`.
    pub spatial_out: Tensor<B, 5>,
    /// Encoder output before quantisation `[b, t, h, w, dim]`.
    pub tokens_pre_vq: Tensor<B, 5>,
    /// Codebook indices `[b, t, h, w]`.
    pub indices: Tensor<B, 4, Int>,
    /// Quantised tokens (raw codebook rows) `[b, t, h, w, dim]`.
    pub tokens: Tensor<B, 5>,
    /// Mean over `t`, flattened `(h, w, dim)`: `[b, h·w·dim]`.
    pub pooled: Tensor<B, 2>,
    /// `to_visual_latent` output before normalisation `[b, dim_latent]`.
    pub latent_raw: Tensor<B, 2>,
    /// L2-normalised image latent `[b, dim_latent]` (what CT-CLIP returns).
    pub latent: Tensor<B, 2>,
}

impl CtVitConfig {
    /// Builds an encoder with random weights. Parameters are created lazily, so loading a
    /// checkpoint into the result never materialises the random values.
    pub fn init<B: Backend>(&self, device: &B::Device) -> CtVit<B> {
        let dims = |depth| TransformerDims {
            dim: self.dim,
            depth,
            heads: self.heads,
            dim_head: self.dim_head,
            ff_inner: self.ff_inner(),
        };
        CtVit {
            patch_emb: PatchEmbedding::init(
                self.channels,
                self.patch_size,
                self.temporal_patch_size,
                self.dim,
                device,
            ),
            spatial_rel_pos_bias: ContinuousPositionBias::init(self.dim, self.heads, device),
            enc_spatial_transformer: Transformer::init(dims(self.spatial_depth), device),
            enc_temporal_transformer: Transformer::init(dims(self.temporal_depth), device),
            vq: VectorQuantizer::init(self.codebook_size, self.dim, device),
            to_visual_latent: LinearConfig::new(self.image_features(), self.dim_latent)
                .with_bias(false)
                .init(device),
        }
    }
}

impl<B: Backend> CtVit<B> {
    /// Token grid `[b, t, h, w]` for an input shape, or why the shape is unusable.
    ///
    /// Checks patch divisibility and that `h·w·dim` matches the latent head's input width.
    pub fn token_grid(&self, input: [usize; 5]) -> Result<[usize; 4], String> {
        let grid = self.patch_emb.grid(input)?;
        let dim = self.vq.codebook.lazy_shape().as_slice()[1];
        let expected = self.to_visual_latent.weight.lazy_shape().as_slice()[0];
        if grid[2] * grid[3] * dim != expected {
            return Err(format!(
                "input {input:?} gives a {}×{} token grid, but the latent head expects {} = h·w·{dim} features",
                grid[2], grid[3], expected
            ));
        }
        Ok(grid)
    }

    /// Encodes a batch of volumes and returns every intermediate.
    ///
    /// # Shapes
    /// - `video`: `[b, channels, T, H, W]`, read as (batch, channel, time, height, width)
    ///
    /// # Panics
    /// If the shape does not tile into patches or does not fit the latent head; check with
    /// [`token_grid`](Self::token_grid) first when the shape comes from user data.
    pub fn forward(&self, video: Tensor<B, 5>) -> CtVitOutput<B> {
        let device = video.device();
        let [b, t, h, w] = self
            .token_grid(video.dims())
            .unwrap_or_else(|e| panic!("{e}"));
        let patch_emb = self.patch_emb.forward(video);
        let dim = patch_emb.dims()[4];
        let grid = [b, t, h, w];

        let bias = self.spatial_rel_pos_bias.forward(h, w, &device);
        let x = patch_emb.clone().reshape([b * t, h * w, dim]);
        let x = self
            .enc_spatial_transformer
            .forward(x, grid, Some(bias.clone()));
        let spatial_out: Tensor<B, 5> = x.reshape([b, t, h, w, dim]);

        let x = spatial_out
            .clone()
            .permute([0, 2, 3, 1, 4])
            .reshape([b * h * w, t, dim]);
        let x = self.enc_temporal_transformer.forward(x, grid, None);
        let tokens_pre_vq: Tensor<B, 5> = x.reshape([b, h, w, t, dim]).permute([0, 3, 1, 2, 4]);

        let (tokens, indices) = self
            .vq
            .forward(tokens_pre_vq.clone().reshape([b * t * h * w, dim]));
        let tokens: Tensor<B, 5> = tokens.reshape([b, t, h, w, dim]);
        let indices = indices.reshape([b, t, h, w]);

        let pooled = tokens.clone().mean_dim(1).reshape([b, h * w * dim]);
        let latent_raw = self.to_visual_latent.forward(pooled.clone());
        let latent = l2_normalize(latent_raw.clone());
        CtVitOutput {
            patch_emb,
            cpb_bias: bias.squeeze_dim(0),
            spatial_out,
            tokens_pre_vq,
            indices,
            tokens,
            pooled,
            latent_raw,
            latent,
        }
    }
}
