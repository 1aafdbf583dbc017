//! The BioGPT family's configuration: [`BioGptConfig`], its presets, and its
//! construction from a HF BioGPT `config.json` (`model_type: "biogpt"`, through a serde
//! shadow of that file).

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;
use serde_json::Value;

use crate::config::{
    OneOrMany, check_activation, check_special_tokens, config_err, parse_shadow, positive,
    positive_f,
};
use crate::error;
use crate::model::SpecialTokens;

/// The epsilon of every BioGPT LayerNorm: transformers builds them with PyTorch's default
/// and never reads `layer_norm_eps`, so neither does this crate.
pub const LAYER_NORM_EPS: f64 = 1e-5;

/// BioGPT's learned position table has this many extra leading rows: position `p` reads
/// row `p + 2` (fairseq reserved the first rows for padding).
pub const POSITION_OFFSET: usize = 2;

/// Configuration of a BioGPT-family decoder (`BioGptForCausalLM`: BioGPT, BioGPT-Large).
#[derive(Config, Debug, PartialEq)]
pub struct BioGptConfig {
    /// Rows of the token embedding table.
    #[config(default = 42384)]
    pub vocab_size: usize,
    /// Model width `D`.
    pub hidden_size: usize,
    /// Number of decoder blocks (`num_hidden_layers`).
    pub num_layers: usize,
    /// Attention heads (`num_attention_heads`).
    pub num_heads: usize,
    /// Width of the GELU feed-forward layer.
    pub intermediate_size: usize,
    /// Longest sequence (positions); the table holds [`POSITION_OFFSET`] more rows.
    #[config(default = 1024)]
    pub max_position_embeddings: usize,
    /// `layer_norm_eps` as the file states it (validated, kept for round trips); the model
    /// uses [`LAYER_NORM_EPS`], as transformers does.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Whether token embeddings are multiplied by `sqrt(D)` (`scale_embedding`).
    #[config(default = true)]
    pub scale_embedding: bool,
    /// Whether `output_projection` shares the token embedding matrix.
    #[config(default = true)]
    pub tie_word_embeddings: bool,
    /// `<s>`, as the config names it (BioGPT's sequences start with `</s>` instead, see
    /// [`special_tokens`](Self::special_tokens)).
    #[config(default = "Some(0)")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token(s) (`</s>`).
    #[config(default = "vec![2]")]
    pub eos_token_ids: Vec<u32>,
    /// Padding token.
    #[config(default = "Some(1)")]
    pub pad_token_id: Option<u32>,
}

/// Shadow of a BioGPT `config.json`.
#[derive(Deserialize)]
struct HfBioGpt {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    max_position_embeddings: Option<usize>,
    layer_norm_eps: Option<f64>,
    scale_embedding: Option<bool>,
    tie_word_embeddings: Option<bool>,
    hidden_act: Option<String>,
    bos_token_id: Option<u32>,
    eos_token_id: Option<OneOrMany>,
    pad_token_id: Option<u32>,
}

impl BioGptConfig {
    /// Builds a config from a parsed HF BioGPT `config.json`, with transformers' defaults
    /// (BioGPT's sizes) for absent fields; validated.
    pub fn from_hf_json(json: &Value, origin: &Path) -> error::Result<Self> {
        let hf: HfBioGpt = parse_shadow(json, origin, "BioGPT")?;
        // transformers' `gelu` is the exact (erf) GELU.
        check_activation(hf.hidden_act.as_deref(), "gelu", origin, "hidden_act")?;
        let eos = match hf.eos_token_id {
            None => vec![2],
            some => OneOrMany::into_vec(some),
        };
        let config = Self {
            vocab_size: hf.vocab_size.unwrap_or(42384),
            hidden_size: hf.hidden_size.unwrap_or(1024),
            num_layers: hf.num_hidden_layers.unwrap_or(24),
            num_heads: hf.num_attention_heads.unwrap_or(16),
            intermediate_size: hf.intermediate_size.unwrap_or(4096),
            max_position_embeddings: hf.max_position_embeddings.unwrap_or(1024),
            layer_norm_eps: hf.layer_norm_eps.unwrap_or(1e-12),
            scale_embedding: hf.scale_embedding.unwrap_or(true),
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(true),
            bos_token_id: hf.bos_token_id.or(Some(0)),
            eos_token_ids: eos,
            pad_token_id: hf.pad_token_id.or(Some(1)),
        };
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks every field is in range; `origin` names the config in errors.
    pub fn validate(&self, origin: &Path) -> error::Result<()> {
        positive(self.vocab_size, origin, "vocab_size")?;
        positive(self.hidden_size, origin, "hidden_size")?;
        positive(self.num_layers, origin, "num_hidden_layers")?;
        positive(self.num_heads, origin, "num_attention_heads")?;
        positive(self.intermediate_size, origin, "intermediate_size")?;
        positive(
            self.max_position_embeddings,
            origin,
            "max_position_embeddings",
        )?;
        if !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(config_err(
                origin,
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    self.num_heads, self.hidden_size
                ),
            ));
        }
        positive_f(self.layer_norm_eps, origin, "layer_norm_eps")?;
        check_special_tokens(
            self.bos_token_id,
            &self.eos_token_ids,
            self.pad_token_id,
            self.vocab_size,
            origin,
        )
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }

    /// What token embeddings are multiplied by: `sqrt(D)` with `scale_embedding`, else 1.
    pub fn embed_scale(&self) -> f32 {
        if self.scale_embedding {
            (self.hidden_size as f64).sqrt() as f32
        } else {
            1.0
        }
    }

    /// The special tokens as the model sees them. BioGPT was trained with fairseq, which
    /// starts every sequence with `</s>`, and `BioGptTokenizer` prepends that same token:
    /// so the sequence start reported here is the first eos, not the config's unused
    /// `<s>` (`bos_token_id`).
    pub fn special_tokens(&self) -> SpecialTokens {
        let first_eos = self.eos_token_ids.first().copied();
        SpecialTokens {
            bos: first_eos.or(self.bos_token_id),
            eos: self.eos_token_ids.clone(),
            pad: self.pad_token_id.or(first_eos),
        }
    }

    /// BioGPT (347M): 24 layers, 1024 wide, 16 heads, vocabulary 42384.
    pub fn biogpt() -> Self {
        Self::new(1024, 24, 16, 4096)
    }

    /// BioGPT-Large (1.5B): 48 layers, 1600 wide, 25 heads, vocabulary 57717, 2048
    /// positions.
    pub fn biogpt_large() -> Self {
        Self::new(1600, 48, 25, 6400)
            .with_vocab_size(57717)
            .with_max_position_embeddings(2048)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn presets_are_valid_and_sequences_start_with_eos() {
        for c in [BioGptConfig::biogpt(), BioGptConfig::biogpt_large()] {
            c.validate(Path::new("config.json")).unwrap();
            assert_eq!(c.special_tokens().bos, Some(2));
        }
        assert_eq!(BioGptConfig::biogpt_large().head_dim(), 64);
    }

    #[test]
    fn bad_fields_are_named() {
        let p = Path::new("biogpt/config.json");
        let base = json!({
            "model_type": "biogpt", "vocab_size": 100, "hidden_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64
        });
        let cases = [
            ("num_attention_heads", json!(5)),
            ("hidden_act", json!("relu")),
            ("layer_norm_eps", json!(0.0)),
            ("eos_token_id", json!(100)),
            ("max_position_embeddings", json!(0)),
        ];
        for (field, value) in cases {
            let mut bad = base.clone();
            bad[field] = value;
            let err = BioGptConfig::from_hf_json(&bad, p).unwrap_err().to_string();
            assert!(
                err.contains(field) && err.contains("biogpt/config.json"),
                "{err}"
            );
        }
        let mut bad = base.clone();
        bad["hidden_size"] = json!("wide");
        let err = BioGptConfig::from_hf_json(&bad, p).unwrap_err().to_string();
        assert!(
            err.contains("BioGPT") && err.contains("hidden_size"),
            "{err}"
        );
        let ok = BioGptConfig::from_hf_json(&base, p).unwrap();
        assert_eq!((ok.head_dim(), ok.embed_scale()), (8, 32f32.sqrt()));
    }
}
