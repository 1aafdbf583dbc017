//! The LLaMA family's configuration: [`LlamaConfig`], its presets, and its construction
//! from a HF LLaMA `config.json` (through a serde shadow of that file).

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;
use serde_json::Value;

use crate::config::{
    HfRope, OneOrMany, RopeScaling, check_activation, check_special_tokens, config_err, hf_rope,
    parse_shadow, positive, positive_f, required,
};
use crate::error;
use crate::model::{SpecialTokens, specials};

/// Configuration of a LLaMA-family decoder (Llama-2/3.x, SmolLM2, DeepSeek-R1-Distill-Llama).
#[derive(Config, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Rows of the token embedding table.
    pub vocab_size: usize,
    /// Model width `D`.
    pub hidden_size: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `num_heads`).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    #[config(default = 1e-5)]
    pub rms_norm_eps: f64,
    /// RoPE base.
    #[config(default = 10000.0)]
    pub rope_theta: f64,
    /// Optional RoPE frequency scaling.
    #[config(default = "None")]
    pub rope_scaling: Option<RopeScaling>,
    /// Longest supported sequence (positions).
    #[config(default = 4096)]
    pub max_position_embeddings: usize,
    /// Whether `lm_head` shares the token embedding matrix.
    #[config(default = true)]
    pub tie_word_embeddings: bool,
    /// Whether q/k/v/o projections carry biases.
    #[config(default = false)]
    pub attention_bias: bool,
    /// Whether the feed-forward projections carry biases.
    #[config(default = false)]
    pub mlp_bias: bool,
    /// Beginning-of-sequence token.
    #[config(default = "None")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token(s); generation stops on any of them.
    #[config(default = "Vec::new()")]
    pub eos_token_ids: Vec<u32>,
    /// Padding token.
    #[config(default = "None")]
    pub pad_token_id: Option<u32>,
}

/// Shadow of a LLaMA `config.json`, field for field.
#[derive(Deserialize)]
struct HfLlama {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_scaling: Option<HfRope>,
    rope_parameters: Option<HfRope>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    hidden_act: Option<String>,
    bos_token_id: Option<u32>,
    eos_token_id: Option<OneOrMany>,
    pad_token_id: Option<u32>,
}

impl LlamaConfig {
    /// Builds a config from a parsed HF LLaMA `config.json` (either rope spelling);
    /// `origin` names the file in errors. The result is validated.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let hf: HfLlama = parse_shadow(json, origin, "LLaMA")?;
        check_activation(hf.hidden_act.as_deref(), "silu", origin, "hidden_act")?;
        let hidden_size = required(hf.hidden_size, origin, "hidden_size")?;
        let num_heads = required(hf.num_attention_heads, origin, "num_attention_heads")?;
        positive(num_heads, origin, "num_attention_heads")?;
        let (rope_theta, rope_scaling) = hf_rope(
            hf.rope_theta,
            hf.rope_scaling.as_ref(),
            hf.rope_parameters.as_ref(),
            origin,
        )?;
        let config = Self {
            vocab_size: required(hf.vocab_size, origin, "vocab_size")?,
            hidden_size,
            intermediate_size: required(hf.intermediate_size, origin, "intermediate_size")?,
            num_layers: required(hf.num_hidden_layers, origin, "num_hidden_layers")?,
            num_heads,
            num_kv_heads: hf.num_key_value_heads.unwrap_or(num_heads),
            head_dim: hf.head_dim.unwrap_or(hidden_size / num_heads),
            rms_norm_eps: hf.rms_norm_eps.unwrap_or(1e-6),
            rope_theta,
            rope_scaling,
            max_position_embeddings: hf.max_position_embeddings.unwrap_or(2048),
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(false),
            attention_bias: hf.attention_bias.unwrap_or(false),
            mlp_bias: hf.mlp_bias.unwrap_or(false),
            bos_token_id: hf.bos_token_id,
            eos_token_ids: OneOrMany::into_vec(hf.eos_token_id),
            pad_token_id: hf.pad_token_id,
        };
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks every field is in range; `origin` names the config in errors.
    pub fn validate(&self, origin: &Path) -> error::Result<()> {
        positive(self.vocab_size, origin, "vocab_size")?;
        positive(self.hidden_size, origin, "hidden_size")?;
        positive(self.intermediate_size, origin, "intermediate_size")?;
        positive(self.num_layers, origin, "num_hidden_layers")?;
        positive(self.num_heads, origin, "num_attention_heads")?;
        positive(self.num_kv_heads, origin, "num_key_value_heads")?;
        positive(
            self.max_position_embeddings,
            origin,
            "max_position_embeddings",
        )?;
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return Err(config_err(
                origin,
                "head_dim",
                format!(
                    "must be a positive even number (RoPE rotates pairs), got {}",
                    self.head_dim
                ),
            ));
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(config_err(
                origin,
                "num_key_value_heads",
                format!(
                    "{} does not divide num_attention_heads {}",
                    self.num_kv_heads, self.num_heads
                ),
            ));
        }
        positive_f(self.rms_norm_eps, origin, "rms_norm_eps")?;
        positive_f(self.rope_theta, origin, "rope_theta")?;
        check_special_tokens(
            self.bos_token_id,
            &self.eos_token_ids,
            self.pad_token_id,
            self.vocab_size,
            origin,
        )
    }

    /// bos / eos / pad as the config names them (pad falls back to the first eos).
    pub fn special_tokens(&self) -> SpecialTokens {
        specials(self.bos_token_id, &self.eos_token_ids, self.pad_token_id)
    }

    /// Query heads per key/value head.
    pub fn group_size(&self) -> usize {
        self.num_heads / self.num_kv_heads
    }

    /// Llama-3.2-1B (base; the Instruct model shares the shape and adds eos 128008/128009).
    pub fn llama3_2_1b() -> Self {
        Self {
            vocab_size: 128_256,
            hidden_size: 2048,
            intermediate_size: 8192,
            num_layers: 16,
            num_heads: 32,
            num_kv_heads: 8,
            head_dim: 64,
            rms_norm_eps: 1e-5,
            rope_theta: 500_000.0,
            rope_scaling: Some(RopeScaling::Llama3 {
                factor: 32.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192,
            }),
            max_position_embeddings: 131_072,
            tie_word_embeddings: true,
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: Some(128_000),
            eos_token_ids: vec![128_001],
            pad_token_id: None,
        }
    }

    /// Llama-3.2-1B-Instruct: as [`llama3_2_1b`](Self::llama3_2_1b) with the chat end tokens.
    pub fn llama3_2_1b_instruct() -> Self {
        Self {
            eos_token_ids: vec![128_001, 128_008, 128_009],
            ..Self::llama3_2_1b()
        }
    }

    /// SmolLM2-135M-Instruct (the shape of every SmolLM2-135M checkpoint).
    pub fn smollm2_135m() -> Self {
        Self {
            vocab_size: 49_152,
            hidden_size: 576,
            intermediate_size: 1536,
            num_layers: 30,
            num_heads: 9,
            num_kv_heads: 3,
            head_dim: 64,
            rms_norm_eps: 1e-5,
            rope_theta: 100_000.0,
            rope_scaling: None,
            max_position_embeddings: 8192,
            tie_word_embeddings: true,
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: Some(1),
            eos_token_ids: vec![2],
            pad_token_id: Some(2),
        }
    }

    /// Llama-2-7b(-chat).
    pub fn llama2_7b() -> Self {
        Self {
            vocab_size: 32_000,
            hidden_size: 4096,
            intermediate_size: 11_008,
            num_layers: 32,
            num_heads: 32,
            num_kv_heads: 32,
            head_dim: 128,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            max_position_embeddings: 4096,
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: Some(1),
            eos_token_ids: vec![2],
            pad_token_id: None,
        }
    }

    /// DeepSeek-R1-Distill-Llama-8B (Llama-3.1-8B shape).
    pub fn deepseek_r1_distill_llama_8b() -> Self {
        Self {
            vocab_size: 128_256,
            hidden_size: 4096,
            intermediate_size: 14_336,
            num_layers: 32,
            num_heads: 32,
            num_kv_heads: 8,
            head_dim: 128,
            rms_norm_eps: 1e-5,
            rope_theta: 500_000.0,
            rope_scaling: Some(RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192,
            }),
            max_position_embeddings: 131_072,
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: Some(128_000),
            eos_token_ids: vec![128_001],
            pad_token_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p() -> &'static Path {
        Path::new("config.json")
    }

    #[test]
    fn both_rope_spellings_give_the_same_config() {
        let base = json!({
            "model_type": "llama", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "rms_norm_eps": 1e-5, "tie_word_embeddings": true, "eos_token_id": [2, 3]
        });
        let mut old = base.clone();
        old["rope_theta"] = json!(500000.0);
        old["rope_scaling"] = json!({"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 64});
        let mut new = base;
        new["rope_parameters"] = json!({"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64});
        let a = LlamaConfig::from_hf_json(&old, p()).unwrap();
        let b = LlamaConfig::from_hf_json(&new, p()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.rope_theta, 500000.0);
        assert_eq!(a.head_dim, 16);
        assert_eq!(a.eos_token_ids, vec![2, 3]);
        assert!(
            matches!(a.rope_scaling, Some(RopeScaling::Llama3 { factor, .. }) if factor == 32.0)
        );
    }

    #[test]
    fn presets_are_valid() {
        for c in [
            LlamaConfig::llama3_2_1b(),
            LlamaConfig::llama3_2_1b_instruct(),
            LlamaConfig::smollm2_135m(),
            LlamaConfig::llama2_7b(),
            LlamaConfig::deepseek_r1_distill_llama_8b(),
        ] {
            c.validate(p()).unwrap();
        }
    }
}
