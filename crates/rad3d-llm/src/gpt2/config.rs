//! The GPT-2 family's configuration: [`Gpt2Config`], its presets, and its construction
//! from a HF GPT-2 `config.json` (through a serde shadow of that file).

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;
use serde_json::Value;

use crate::config::{
    OneOrMany, check_activation, check_special_tokens, config_err, parse_shadow, positive,
    positive_f,
};
use crate::error;
use crate::model::{SpecialTokens, specials};

/// Configuration of a GPT-2-family decoder (DistilGPT2, GPT-2 and its larger sizes).
#[derive(Config, Debug, PartialEq)]
pub struct Gpt2Config {
    /// Rows of the token embedding table.
    #[config(default = 50257)]
    pub vocab_size: usize,
    /// Model width `D` (`n_embd`).
    pub hidden_size: usize,
    /// Number of blocks (`n_layer`).
    pub num_layers: usize,
    /// Attention heads (`n_head`).
    pub num_heads: usize,
    /// Feed-forward width (`n_inner`, default `4 D`).
    #[config(default = "None")]
    pub intermediate_size: Option<usize>,
    /// Learned positions (`n_positions`).
    #[config(default = 1024)]
    pub max_position_embeddings: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-5)]
    pub layer_norm_epsilon: f64,
    /// Beginning-of-sequence token.
    #[config(default = "Some(50256)")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token(s).
    #[config(default = "vec![50256]")]
    pub eos_token_ids: Vec<u32>,
    /// Padding token.
    #[config(default = "None")]
    pub pad_token_id: Option<u32>,
    /// Whether every block carries cross-attention over encoder states (HF
    /// `add_cross_attention`): `ln_cross_attn` + `crossattention` after self-attention.
    #[config(default = false)]
    pub add_cross_attention: bool,
}

/// Shadow of a GPT-2 `config.json`.
#[derive(Deserialize)]
struct HfGpt2 {
    vocab_size: Option<usize>,
    n_embd: Option<usize>,
    n_layer: Option<usize>,
    n_head: Option<usize>,
    n_inner: Option<usize>,
    n_positions: Option<usize>,
    layer_norm_epsilon: Option<f64>,
    activation_function: Option<String>,
    bos_token_id: Option<u32>,
    eos_token_id: Option<OneOrMany>,
    pad_token_id: Option<u32>,
    scale_attn_weights: Option<bool>,
    scale_attn_by_inverse_layer_idx: Option<bool>,
    reorder_and_upcast_attn: Option<bool>,
    add_cross_attention: Option<bool>,
}

impl Gpt2Config {
    /// Builds a config from a parsed HF GPT-2 `config.json`; validated.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let hf: HfGpt2 = parse_shadow(json, origin, "GPT-2")?;
        check_activation(
            hf.activation_function.as_deref(),
            "gelu_new",
            origin,
            "activation_function",
        )?;
        // These switches change the attention arithmetic; no released GPT-2 sets them.
        if hf.scale_attn_weights == Some(false) {
            return Err(config_err(
                origin,
                "scale_attn_weights",
                "false is not supported",
            ));
        }
        if hf.scale_attn_by_inverse_layer_idx == Some(true) {
            return Err(config_err(
                origin,
                "scale_attn_by_inverse_layer_idx",
                "true is not supported",
            ));
        }
        if hf.reorder_and_upcast_attn == Some(true) {
            tracing::debug!("reorder_and_upcast_attn only changes precision; computing in f32");
        }
        let config = Self {
            vocab_size: hf.vocab_size.unwrap_or(50257),
            hidden_size: hf.n_embd.unwrap_or(768),
            num_layers: hf.n_layer.unwrap_or(12),
            num_heads: hf.n_head.unwrap_or(12),
            intermediate_size: hf.n_inner,
            max_position_embeddings: hf.n_positions.unwrap_or(1024),
            layer_norm_epsilon: hf.layer_norm_epsilon.unwrap_or(1e-5),
            bos_token_id: hf.bos_token_id,
            eos_token_ids: OneOrMany::into_vec(hf.eos_token_id),
            pad_token_id: hf.pad_token_id,
            add_cross_attention: hf.add_cross_attention.unwrap_or(false),
        };
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks every field is in range; `origin` names the config in errors.
    pub fn validate(&self, origin: &Path) -> error::Result<()> {
        positive(self.vocab_size, origin, "vocab_size")?;
        positive(self.hidden_size, origin, "n_embd")?;
        positive(self.num_layers, origin, "n_layer")?;
        positive(self.num_heads, origin, "n_head")?;
        positive(self.max_position_embeddings, origin, "n_positions")?;
        if !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(config_err(
                origin,
                "n_head",
                format!(
                    "{} does not divide n_embd {}",
                    self.num_heads, self.hidden_size
                ),
            ));
        }
        if let Some(inner) = self.intermediate_size {
            positive(inner, origin, "n_inner")?;
        }
        positive_f(self.layer_norm_epsilon, origin, "layer_norm_epsilon")?;
        check_special_tokens(
            self.bos_token_id,
            &self.eos_token_ids,
            self.pad_token_id,
            self.vocab_size,
            origin,
        )
    }

    /// Feed-forward width (`n_inner` or `4 D`).
    pub fn inner_size(&self) -> usize {
        self.intermediate_size.unwrap_or(4 * self.hidden_size)
    }

    /// bos / eos / pad as the config names them (pad falls back to the first eos).
    pub fn special_tokens(&self) -> SpecialTokens {
        specials(self.bos_token_id, &self.eos_token_ids, self.pad_token_id)
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }

    fn preset(layers: usize, width: usize, heads: usize) -> Self {
        Self::new(width, layers, heads)
    }

    /// DistilGPT2 (6 layers, 768 wide).
    pub fn distilgpt2() -> Self {
        Self::preset(6, 768, 12)
    }

    /// GPT-2 small (124M).
    pub fn gpt2() -> Self {
        Self::preset(12, 768, 12)
    }

    /// GPT-2 medium (355M).
    pub fn gpt2_medium() -> Self {
        Self::preset(24, 1024, 16)
    }

    /// GPT-2 large (774M).
    pub fn gpt2_large() -> Self {
        Self::preset(36, 1280, 20)
    }

    /// GPT-2 XL (1.5B).
    pub fn gpt2_xl() -> Self {
        Self::preset(48, 1600, 25)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for c in [
            Gpt2Config::distilgpt2(),
            Gpt2Config::gpt2(),
            Gpt2Config::gpt2_medium(),
            Gpt2Config::gpt2_large(),
            Gpt2Config::gpt2_xl(),
        ] {
            c.validate(Path::new("config.json")).unwrap();
            assert_eq!(c.inner_size(), 4 * c.hidden_size);
        }
    }
}
