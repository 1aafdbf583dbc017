//! The projector catalogue: one config enum, one module enum.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use crate::linear::{LinearMapper, LinearMapperConfig, VisualTokenConfig, VisualTokenProjector};
use crate::transformer::{TransformerMapper, TransformerMapperConfig};

/// Which projector to build (burn's `NormalizationConfig` pattern).
#[derive(Config, Debug, PartialEq)]
pub enum ProjectorConfig {
    /// ClipCap's transformer mapper (V-1, V-2, V-3).
    Transformer(TransformerMapperConfig),
    /// One linear layer to `prefix_len` tokens (linear ablation; one token for the
    /// conventional fine-tuned decoder).
    Linear(LinearMapperConfig),
    /// R2GenGPT's Linear + LayerNorm visual tokens.
    VisualTokens(VisualTokenConfig),
}

impl From<TransformerMapperConfig> for ProjectorConfig {
    fn from(c: TransformerMapperConfig) -> Self {
        Self::Transformer(c)
    }
}

impl From<LinearMapperConfig> for ProjectorConfig {
    fn from(c: LinearMapperConfig) -> Self {
        Self::Linear(c)
    }
}

impl From<VisualTokenConfig> for ProjectorConfig {
    fn from(c: VisualTokenConfig) -> Self {
        Self::VisualTokens(c)
    }
}

impl ProjectorConfig {
    /// Builds the projector.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<Projector<B>> {
        Ok(match self {
            Self::Transformer(c) => Projector::Transformer(c.init(device)?),
            Self::Linear(c) => Projector::Linear(c.init(device)?),
            Self::VisualTokens(c) => Projector::VisualTokens(c.init(device)?),
        })
    }

    /// Exact trainable-parameter count, without allocating.
    pub fn num_params(&self) -> usize {
        match self {
            Self::Transformer(c) => c.num_params(),
            Self::Linear(c) => c.num_params(),
            Self::VisualTokens(c) => c.num_params(),
        }
    }

    /// Input width.
    pub fn d_input(&self) -> usize {
        match self {
            Self::Transformer(c) => c.d_input,
            Self::Linear(c) => c.d_input,
            Self::VisualTokens(c) => c.d_input,
        }
    }

    /// Output (LLM embedding) width.
    pub fn d_model(&self) -> usize {
        match self {
            Self::Transformer(c) => c.d_model,
            Self::Linear(c) => c.d_model,
            Self::VisualTokens(c) => c.d_model,
        }
    }

    /// Number of tokens the projector emits.
    pub fn prefix_len(&self) -> usize {
        match self {
            Self::Transformer(c) => c.prefix_len,
            Self::Linear(c) => c.prefix_len,
            Self::VisualTokens(c) => c.num_tokens,
        }
    }
}

/// A projector: maps an input vector to a sequence of LLM embeddings.
#[derive(Module, Debug)]
pub enum Projector<B: Backend> {
    /// ClipCap's transformer mapper.
    Transformer(TransformerMapper<B>),
    /// Linear mapper.
    Linear(LinearMapper<B>),
    /// R2GenGPT visual tokens.
    VisualTokens(VisualTokenProjector<B>),
}

impl<B: Backend> Projector<B> {
    /// # Shapes
    /// - input: `[batch, d_input]` → `[batch, prefix_len, D]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 3> {
        match self {
            Self::Transformer(m) => m.forward(input),
            Self::Linear(m) => m.forward(input),
            Self::VisualTokens(m) => m.forward(input),
        }
    }

    /// Number of tokens the projector emits.
    pub fn prefix_len(&self) -> usize {
        match self {
            Self::Transformer(m) => m.prefix_len(),
            Self::Linear(m) => m.prefix_len(),
            Self::VisualTokens(m) => m.num_tokens(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn every_kind_builds_and_counts() {
        let device = Default::default();
        let cfgs: [ProjectorConfig; 3] = [
            TransformerMapperConfig::new(12, 16)
                .with_num_layers(1)
                .with_prefix_len(4)
                .into(),
            LinearMapperConfig::new(12, 16).with_prefix_len(1).into(),
            VisualTokenConfig::new(12, 16).with_num_tokens(2).into(),
        ];
        for cfg in cfgs {
            let p = cfg.init::<Flex>(&device).unwrap();
            assert_eq!(p.num_params(), cfg.num_params());
            assert_eq!(p.prefix_len(), cfg.prefix_len());
            let y = p.forward(Tensor::ones([2, cfg.d_input()], &device));
            assert_eq!(y.dims(), [2, cfg.prefix_len(), cfg.d_model()]);
            // The config round-trips through JSON (it is stored beside checkpoints).
            let back: ProjectorConfig = serde_json_roundtrip(&cfg);
            assert_eq!(back, cfg);
        }
    }

    fn serde_json_roundtrip(cfg: &ProjectorConfig) -> ProjectorConfig {
        let s = serde_json::to_string(cfg).unwrap();
        serde_json::from_str(&s).unwrap()
    }
}
