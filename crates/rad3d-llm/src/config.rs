//! Model configurations: the internal [`LlamaConfig`] / [`Gpt2Config`], their presets,
//! and their construction from a Hugging Face `config.json`.
//!
//! HF files come in two rope spellings: hub files carry `rope_theta` + `rope_scaling`
//! at top level, newer transformers write everything into `rope_parameters`. Both are
//! read through serde shadow structs and converted into one internal form.

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{self, LlmError};

/// RoPE frequency scaling, as in HF's `rope_scaling` / `rope_parameters`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RopeScaling {
    /// LLaMA-3 (`rope_type: "llama3"`): long wavelengths divided by `factor`, short ones kept,
    /// a smooth blend in between.
    Llama3 {
        /// Frequency division factor for long wavelengths.
        factor: f64,
        /// Wavelengths longer than `original_max / low_freq_factor` are fully scaled.
        low_freq_factor: f64,
        /// Wavelengths shorter than `original_max / high_freq_factor` are kept.
        high_freq_factor: f64,
        /// Context length the model was pre-trained with.
        original_max_position_embeddings: usize,
    },
    /// Linear position interpolation (`rope_type: "linear"`): all frequencies divided by `factor`.
    Linear {
        /// Division factor.
        factor: f64,
    },
}

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
}

/// Either family's configuration, as read from a `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelConfig {
    /// GPT-2 family (`model_type: "gpt2"`).
    Gpt2(Gpt2Config),
    /// LLaMA family (`model_type: "llama"`, also `mistral`-free LLaMA clones).
    Llama(LlamaConfig),
}

impl ModelConfig {
    /// Reads and validates a HF `config.json`.
    pub fn from_hf_file(path: &Path) -> error::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|e| LlmError::Format {
            path: path.to_path_buf(),
            reason: format!("invalid JSON: {e}"),
        })?;
        Self::from_hf_json(&json, path)
    }

    /// Builds a config from a parsed HF `config.json`; `origin` names it in errors.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let model_type = json.get("model_type").and_then(Value::as_str).unwrap_or("");
        let arch = json
            .get("architectures")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .unwrap_or("");
        match model_type {
            "gpt2" => Ok(Self::Gpt2(Gpt2Config::from_hf_json(json, origin)?)),
            "llama" => Ok(Self::Llama(LlamaConfig::from_hf_json(json, origin)?)),
            "" if arch.starts_with("GPT2") => {
                Ok(Self::Gpt2(Gpt2Config::from_hf_json(json, origin)?))
            }
            "" if arch.starts_with("Llama") => {
                Ok(Self::Llama(LlamaConfig::from_hf_json(json, origin)?))
            }
            other => Err(LlmError::UnknownArchitecture {
                path: origin.to_path_buf(),
                architecture: if other.is_empty() {
                    arch.to_string()
                } else {
                    other.to_string()
                },
            }),
        }
    }
}

/// `eos_token_id` is an int, a list, or null in HF files.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

impl OneOrMany {
    fn into_vec(v: Option<Self>) -> Vec<u32> {
        match v {
            None => Vec::new(),
            Some(Self::One(x)) => vec![x],
            Some(Self::Many(xs)) => xs,
        }
    }
}

/// Shadow of the rope section (`rope_scaling` or `rope_parameters`).
#[derive(Deserialize, Default)]
struct HfRope {
    rope_type: Option<String>,
    /// Older files spell `rope_type` as `type`.
    #[serde(rename = "type")]
    kind: Option<String>,
    rope_theta: Option<f64>,
    factor: Option<f64>,
    low_freq_factor: Option<f64>,
    high_freq_factor: Option<f64>,
    original_max_position_embeddings: Option<usize>,
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
}

fn config_err(origin: &Path, field: &str, reason: impl Into<String>) -> LlmError {
    LlmError::Config {
        path: origin.to_path_buf(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn required<T>(value: Option<T>, origin: &Path, field: &str) -> error::Result<T> {
    value.ok_or_else(|| config_err(origin, field, "missing"))
}

fn positive(value: usize, origin: &Path, field: &str) -> error::Result<()> {
    if value == 0 {
        return Err(config_err(origin, field, "must be positive, got 0"));
    }
    Ok(())
}

fn positive_f(value: f64, origin: &Path, field: &str) -> error::Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(config_err(
            origin,
            field,
            format!("must be a positive number, got {value}"),
        ));
    }
    Ok(())
}

fn token_in_vocab(id: Option<u32>, vocab: usize, origin: &Path, field: &str) -> error::Result<()> {
    match id {
        Some(id) if id as usize >= vocab => Err(config_err(
            origin,
            field,
            format!("token id {id} is outside the vocabulary of {vocab}"),
        )),
        _ => Ok(()),
    }
}

fn parse_rope_scaling(
    rope: &HfRope,
    origin: &Path,
    field: &str,
) -> error::Result<Option<RopeScaling>> {
    let kind = rope
        .rope_type
        .as_deref()
        .or(rope.kind.as_deref())
        .unwrap_or("default");
    let factor = |name: &str| -> error::Result<f64> {
        let v = rope
            .factor
            .ok_or_else(|| config_err(origin, &format!("{field}.{name}"), "missing"))?;
        positive_f(v, origin, &format!("{field}.factor"))?;
        Ok(v)
    };
    match kind {
        "default" => Ok(None),
        "linear" => Ok(Some(RopeScaling::Linear {
            factor: factor("factor")?,
        })),
        "llama3" => {
            let low = rope.low_freq_factor.unwrap_or(1.0);
            let high = rope.high_freq_factor.unwrap_or(4.0);
            positive_f(low, origin, &format!("{field}.low_freq_factor"))?;
            if high <= low {
                return Err(config_err(
                    origin,
                    &format!("{field}.high_freq_factor"),
                    format!("must exceed low_freq_factor {low}, got {high}"),
                ));
            }
            let orig = required(
                rope.original_max_position_embeddings,
                origin,
                &format!("{field}.original_max_position_embeddings"),
            )?;
            positive(
                orig,
                origin,
                &format!("{field}.original_max_position_embeddings"),
            )?;
            Ok(Some(RopeScaling::Llama3 {
                factor: factor("factor")?,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: orig,
            }))
        }
        other => Err(config_err(
            origin,
            &format!("{field}.rope_type"),
            format!("unsupported rope type `{other}` (supported: default, linear, llama3)"),
        )),
    }
}

impl LlamaConfig {
    /// Builds a config from a parsed HF LLaMA `config.json` (either rope spelling);
    /// `origin` names the file in errors. The result is validated.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let hf: HfLlama = serde_json::from_value(json.clone()).map_err(|e| LlmError::Format {
            path: origin.to_path_buf(),
            reason: format!("not a LLaMA config: {e}"),
        })?;
        if let Some(act) = hf.hidden_act.as_deref()
            && act != "silu"
        {
            return Err(config_err(
                origin,
                "hidden_act",
                format!("unsupported `{act}` (only silu)"),
            ));
        }
        let hidden_size = required(hf.hidden_size, origin, "hidden_size")?;
        let num_heads = required(hf.num_attention_heads, origin, "num_attention_heads")?;
        positive(num_heads, origin, "num_attention_heads")?;
        let (rope_theta, rope_scaling) = match (&hf.rope_parameters, &hf.rope_scaling) {
            (Some(p), _) => (
                p.rope_theta.or(hf.rope_theta).unwrap_or(10000.0),
                parse_rope_scaling(p, origin, "rope_parameters")?,
            ),
            (None, Some(s)) => (
                hf.rope_theta.unwrap_or(10000.0),
                parse_rope_scaling(s, origin, "rope_scaling")?,
            ),
            (None, None) => (hf.rope_theta.unwrap_or(10000.0), None),
        };
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
        token_in_vocab(self.bos_token_id, self.vocab_size, origin, "bos_token_id")?;
        token_in_vocab(self.pad_token_id, self.vocab_size, origin, "pad_token_id")?;
        for &eos in &self.eos_token_ids {
            token_in_vocab(Some(eos), self.vocab_size, origin, "eos_token_id")?;
        }
        Ok(())
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

impl Gpt2Config {
    /// Builds a config from a parsed HF GPT-2 `config.json`; validated.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let hf: HfGpt2 = serde_json::from_value(json.clone()).map_err(|e| LlmError::Format {
            path: origin.to_path_buf(),
            reason: format!("not a GPT-2 config: {e}"),
        })?;
        if let Some(act) = hf.activation_function.as_deref()
            && act != "gelu_new"
        {
            return Err(config_err(
                origin,
                "activation_function",
                format!("unsupported `{act}` (only gelu_new)"),
            ));
        }
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
        token_in_vocab(self.bos_token_id, self.vocab_size, origin, "bos_token_id")?;
        token_in_vocab(self.pad_token_id, self.vocab_size, origin, "pad_token_id")?;
        for &eos in &self.eos_token_ids {
            token_in_vocab(Some(eos), self.vocab_size, origin, "eos_token_id")?;
        }
        Ok(())
    }

    /// Feed-forward width (`n_inner` or `4 D`).
    pub fn inner_size(&self) -> usize {
        self.intermediate_size.unwrap_or(4 * self.hidden_size)
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
    fn out_of_range_fields_are_named() {
        let bad = json!({
            "model_type": "llama", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3
        });
        let err = ModelConfig::from_hf_json(&bad, p())
            .unwrap_err()
            .to_string();
        assert!(err.contains("num_key_value_heads"), "{err}");
        let bad = json!({"model_type": "gpt2", "n_embd": 64, "n_head": 5, "n_layer": 1});
        let err = ModelConfig::from_hf_json(&bad, p())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("n_head") && err.contains("config.json"),
            "{err}"
        );
        let bad = json!({"model_type": "mamba"});
        assert!(matches!(
            ModelConfig::from_hf_json(&bad, p()),
            Err(LlmError::UnknownArchitecture { .. })
        ));
        let bad = json!({
            "model_type": "llama", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "bos_token_id": 999
        });
        let err = ModelConfig::from_hf_json(&bad, p())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bos_token_id") && err.contains("999"), "{err}");
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
        for c in [
            Gpt2Config::distilgpt2(),
            Gpt2Config::gpt2(),
            Gpt2Config::gpt2_medium(),
            Gpt2Config::gpt2_large(),
            Gpt2Config::gpt2_xl(),
        ] {
            c.validate(p()).unwrap();
            assert_eq!(c.inner_size(), 4 * c.hidden_size);
        }
    }
}
