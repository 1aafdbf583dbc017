//! What every family's configuration shares: the [`ModelConfig`] enum that a HF
//! `config.json` is read into, [`RopeScaling`], and the pieces of HF parsing and
//! validation that each family's own config (`llama/config.rs`, `gpt2/config.rs`) uses.
//!
//! HF files come in two rope spellings: hub files carry `rope_theta` + `rope_scaling`
//! at top level, newer transformers write everything into `rope_parameters`. Both are
//! read through one serde shadow ([`HfRope`]) and converted into one internal form, so
//! any rotary family reads them the same way.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::biogpt::BioGptConfig;
use crate::error::{self, LlmError};
use crate::gpt2::Gpt2Config;
use crate::llama::LlamaConfig;

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

/// Any family's configuration, as read from a `config.json`. Serialised (for saved
/// pipelines) as `{"family": "gpt2" | "llama" | "biogpt", …the family's fields}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum ModelConfig {
    /// GPT-2 family (`model_type: "gpt2"`).
    Gpt2(Gpt2Config),
    /// LLaMA family (`model_type: "llama"`, also `mistral`-free LLaMA clones).
    Llama(LlamaConfig),
    /// BioGPT family (`model_type: "biogpt"`).
    #[serde(rename = "biogpt")]
    BioGpt(BioGptConfig),
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
            "biogpt" => Ok(Self::BioGpt(BioGptConfig::from_hf_json(json, origin)?)),
            "" if arch.starts_with("GPT2") => {
                Ok(Self::Gpt2(Gpt2Config::from_hf_json(json, origin)?))
            }
            "" if arch.starts_with("Llama") => {
                Ok(Self::Llama(LlamaConfig::from_hf_json(json, origin)?))
            }
            "" if arch.starts_with("BioGpt") => {
                Ok(Self::BioGpt(BioGptConfig::from_hf_json(json, origin)?))
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

impl From<Gpt2Config> for ModelConfig {
    fn from(c: Gpt2Config) -> Self {
        Self::Gpt2(c)
    }
}

impl From<BioGptConfig> for ModelConfig {
    fn from(c: BioGptConfig) -> Self {
        Self::BioGpt(c)
    }
}

impl From<LlamaConfig> for ModelConfig {
    fn from(c: LlamaConfig) -> Self {
        Self::Llama(c)
    }
}

/// A family's serde shadow of `json`; `family` names it in the error, and so does the
/// first field whose value has the wrong type (every shadow field is optional, so each
/// field can be tried alone).
pub(crate) fn parse_shadow<T: DeserializeOwned>(
    json: &Value,
    origin: &Path,
    family: &str,
) -> error::Result<T> {
    serde_json::from_value(json.clone()).map_err(|e| {
        let field = json.as_object().and_then(|fields| {
            fields.iter().find_map(|(key, value)| {
                let alone = Value::Object([(key.clone(), value.clone())].into_iter().collect());
                serde_json::from_value::<T>(alone).is_err().then_some(key)
            })
        });
        LlmError::Format {
            path: origin.to_path_buf(),
            reason: match field {
                Some(field) => format!("not a {family} config: field `{field}`: {e}"),
                None => format!("not a {family} config: {e}"),
            },
        }
    })
}

/// `eos_token_id` is an int, a list, or null in HF files.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

impl OneOrMany {
    /// The ids, none when the field is absent or null.
    pub(crate) fn into_vec(v: Option<Self>) -> Vec<u32> {
        match v {
            None => Vec::new(),
            Some(Self::One(x)) => vec![x],
            Some(Self::Many(xs)) => xs,
        }
    }
}

/// Shadow of the rope section (`rope_scaling` or `rope_parameters`).
#[derive(Deserialize, Default)]
pub(crate) struct HfRope {
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

/// An error naming `field` of the config at `origin`.
pub(crate) fn config_err(origin: &Path, field: &str, reason: impl Into<String>) -> LlmError {
    LlmError::Config {
        path: origin.to_path_buf(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `value`, or an error naming the missing `field`.
pub(crate) fn required<T>(value: Option<T>, origin: &Path, field: &str) -> error::Result<T> {
    value.ok_or_else(|| config_err(origin, field, "missing"))
}

/// An error unless `value` is positive.
pub(crate) fn positive(value: usize, origin: &Path, field: &str) -> error::Result<()> {
    if value == 0 {
        return Err(config_err(origin, field, "must be positive, got 0"));
    }
    Ok(())
}

/// An error unless `value` is a finite positive number.
pub(crate) fn positive_f(value: f64, origin: &Path, field: &str) -> error::Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(config_err(
            origin,
            field,
            format!("must be a positive number, got {value}"),
        ));
    }
    Ok(())
}

/// An error unless the activation `field` is absent or `supported`, the one the family
/// implements.
pub(crate) fn check_activation(
    act: Option<&str>,
    supported: &str,
    origin: &Path,
    field: &str,
) -> error::Result<()> {
    match act {
        Some(act) if act != supported => Err(config_err(
            origin,
            field,
            format!("unsupported `{act}` (only {supported})"),
        )),
        _ => Ok(()),
    }
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

/// Checks that the special tokens lie inside a vocabulary of `vocab` ids.
pub(crate) fn check_special_tokens(
    bos: Option<u32>,
    eos: &[u32],
    pad: Option<u32>,
    vocab: usize,
    origin: &Path,
) -> error::Result<()> {
    token_in_vocab(bos, vocab, origin, "bos_token_id")?;
    token_in_vocab(pad, vocab, origin, "pad_token_id")?;
    for &eos in eos {
        token_in_vocab(Some(eos), vocab, origin, "eos_token_id")?;
    }
    Ok(())
}

/// The RoPE base and scaling of a HF config in either spelling: `rope_parameters`
/// (whose `rope_theta` wins over a top-level one), else top-level `rope_theta` and
/// `rope_scaling`; the base defaults to 10000.
pub(crate) fn hf_rope(
    rope_theta: Option<f64>,
    rope_scaling: Option<&HfRope>,
    rope_parameters: Option<&HfRope>,
    origin: &Path,
) -> error::Result<(f64, Option<RopeScaling>)> {
    Ok(match (rope_parameters, rope_scaling) {
        (Some(p), _) => (
            p.rope_theta.or(rope_theta).unwrap_or(10000.0),
            parse_rope_scaling(p, origin, "rope_parameters")?,
        ),
        (None, Some(s)) => (
            rope_theta.unwrap_or(10000.0),
            parse_rope_scaling(s, origin, "rope_scaling")?,
        ),
        (None, None) => (rope_theta.unwrap_or(10000.0), None),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p() -> &'static Path {
        Path::new("config.json")
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
}
