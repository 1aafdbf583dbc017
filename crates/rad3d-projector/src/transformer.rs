//! ClipCap's `TransformerMapper`: the RAD3D-Prefix projector.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::ProjectorError;
use crate::layer::{ClipCapLayer, ClipCapLayerConfig};

/// Configuration of [`TransformerMapper`]; field names follow ClipCap's constructor.
#[derive(Config, Debug, PartialEq)]
pub struct TransformerMapperConfig {
    /// Input width (`dim_clip`): 512 for the image latent, 530 for latent ⧺ 18 logits.
    pub d_input: usize,
    /// LLM embedding width `D` (`dim_embedding`).
    pub d_model: usize,
    /// Number of output prefix tokens (`prefix_length`).
    #[config(default = 10)]
    pub prefix_len: usize,
    /// Number of tokens the input is projected to (`clip_length`).
    #[config(default = 10)]
    pub clip_len: usize,
    /// Transformer depth.
    #[config(default = 8)]
    pub num_layers: usize,
    /// Attention heads (ClipCap hard-codes 8).
    #[config(default = 8)]
    pub num_heads: usize,
    /// MLP width ratio (ClipCap's `Transformer` default 2).
    #[config(default = 2.0)]
    pub mlp_ratio: f64,
}

/// Linear(in → clip_len·D) → reshape → ⧺ learned constant → transformer → last prefix_len tokens.
#[derive(Module, Debug)]
pub struct TransformerMapper<B: Backend> {
    /// `linear`: input → `clip_len × D`.
    pub linear: Linear<B>,
    /// `prefix_const`: `[prefix_len, D]`, initialised N(0, 1) like `torch.randn`.
    pub prefix_const: Param<Tensor<B, 2>>,
    /// `transformer.layers.N`.
    pub layers: Vec<ClipCapLayer<B>>,
    clip_len: usize,
}

impl TransformerMapperConfig {
    /// The paper's default mapper: prefix 10, clip 10, 8 layers, 8 heads.
    pub fn paper(d_input: usize, d_model: usize) -> Self {
        Self::new(d_input, d_model)
    }

    /// Checks every field; `init` calls it.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |field, value: usize, reason| {
            Err(ProjectorError::Config {
                field,
                value: value.to_string(),
                reason,
            })
        };
        if self.d_input == 0 {
            return bad("d_input", self.d_input, "must be positive");
        }
        if self.prefix_len == 0 {
            return bad("prefix_len", self.prefix_len, "must be positive");
        }
        if self.clip_len == 0 {
            return bad("clip_len", self.clip_len, "must be positive");
        }
        if self.num_heads == 0 || self.d_model == 0 || !self.d_model.is_multiple_of(self.num_heads)
        {
            return bad(
                "d_model",
                self.d_model,
                "must be a positive multiple of num_heads",
            );
        }
        if !self.mlp_ratio.is_finite()
            || self.mlp_ratio <= 0.0
            || (self.d_model as f64 * self.mlp_ratio) < 1.0
        {
            return Err(ProjectorError::Config {
                field: "mlp_ratio",
                value: self.mlp_ratio.to_string(),
                reason: "must give a hidden width of at least 1",
            });
        }
        Ok(())
    }

    /// The configuration of every layer.
    pub fn layer_config(&self) -> ClipCapLayerConfig {
        ClipCapLayerConfig::new(self.d_model)
            .with_num_heads(self.num_heads)
            .with_mlp_ratio(self.mlp_ratio)
    }

    /// Exact trainable-parameter count, without allocating the model.
    pub fn num_params(&self) -> usize {
        let d = self.d_model;
        let hidden = self.layer_config().d_hidden();
        let linear = self.d_input * self.clip_len * d + self.clip_len * d;
        let layer = 2 * (2 * d) // two LayerNorms
            + d * d + 2 * d * d + d * d + d // q, kv, project(+bias)
            + d * hidden + hidden + hidden * d + d; // fc1, fc2
        linear + self.prefix_len * d + self.num_layers * layer
    }

    /// Builds the mapper with burn's default initialisers (and N(0,1) for the constant).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<TransformerMapper<B>> {
        self.validate()?;
        let layer = self.layer_config();
        Ok(TransformerMapper {
            linear: LinearConfig::new(self.d_input, self.clip_len * self.d_model).init(device),
            prefix_const: Initializer::Normal {
                mean: 0.0,
                std: 1.0,
            }
            .init([self.prefix_len, self.d_model], device),
            layers: (0..self.num_layers).map(|_| layer.init(device)).collect(),
            clip_len: self.clip_len,
        })
    }
}

impl<B: Backend> TransformerMapper<B> {
    /// Number of input tokens the linear layer produces.
    pub fn clip_len(&self) -> usize {
        self.clip_len
    }

    /// Number of prefix tokens produced.
    pub fn prefix_len(&self) -> usize {
        self.prefix_const.dims()[0]
    }

    /// LLM embedding width `D`.
    pub fn d_model(&self) -> usize {
        self.prefix_const.dims()[1]
    }

    /// The sequence fed to the transformer: `[linear(x) as clip_len tokens ; prefix_const]`.
    ///
    /// # Shapes
    /// - input: `[batch, d_input]` → `[batch, clip_len + prefix_len, D]`
    pub fn transformer_input(&self, input: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, _] = input.dims();
        let d = self.d_model();
        let x = self
            .linear
            .forward(input)
            .reshape([batch, self.clip_len, d]);
        let prefix =
            self.prefix_const
                .val()
                .unsqueeze_dim::<3>(0)
                .expand([batch, self.prefix_len(), d]);
        Tensor::cat(vec![x, prefix], 1)
    }

    /// Runs the transformer layers over a full sequence.
    ///
    /// # Shapes
    /// - x: `[batch, seq, D]` → `[batch, seq, D]`
    pub fn transformer(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.layers.iter().fold(x, |x, layer| layer.forward(x))
    }

    /// Maps an input vector to `prefix_len` LLM embeddings.
    ///
    /// # Shapes
    /// - input: `[batch, d_input]` → `[batch, prefix_len, D]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 3> {
        let out = self.transformer(self.transformer_input(input));
        let [batch, seq, d] = out.dims();
        out.slice([0..batch, self.clip_len..seq, 0..d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    type B = Flex;

    #[test]
    fn paper_parameter_counts() {
        // LLaMA-3.2-1B: D = 2048. The paper reports 279.09M (V-2) and 279.46M (V-3).
        let v2 = TransformerMapperConfig::paper(512, 2048).num_params();
        let v3 = TransformerMapperConfig::paper(530, 2048).num_params();
        assert_eq!(v2, 279_093_248);
        assert_eq!(v3 - v2, 18 * 10 * 2048);
        assert_eq!(v3, 279_461_888);
        // SmolLM2-135M, D = 576: the bench's mapper.
        let smol = TransformerMapperConfig::paper(530, 576).num_params();
        assert_eq!((smol as f64 / 1e5).round() / 10.0, 24.3);
    }

    #[test]
    fn analytic_count_equals_module_count() {
        let device = Default::default();
        for (inp, d, p, c, l, h) in [
            (7, 16, 3, 5, 2, 4),
            (530, 64, 10, 10, 1, 8),
            (5, 24, 1, 2, 0, 8),
        ] {
            let cfg = TransformerMapperConfig::new(inp, d)
                .with_prefix_len(p)
                .with_clip_len(c)
                .with_num_layers(l)
                .with_num_heads(h);
            let m = cfg.init::<B>(&device).unwrap();
            assert_eq!(m.num_params(), cfg.num_params(), "{cfg:?}");
            let y = m.forward(Tensor::zeros([3, inp], &device));
            assert_eq!(y.dims(), [3, p, d]);
        }
    }

    #[test]
    fn invalid_configs_are_errors() {
        let device: burn::tensor::ops::Device<B> = Default::default();
        let e = TransformerMapperConfig::new(8, 30)
            .init::<B>(&device)
            .unwrap_err();
        assert!(e.to_string().contains("d_model = 30"), "{e}");
        let e = TransformerMapperConfig::new(8, 32)
            .with_prefix_len(0)
            .init::<B>(&device)
            .unwrap_err();
        assert!(e.to_string().contains("prefix_len = 0"), "{e}");
    }
}
