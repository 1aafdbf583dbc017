//! Adapters to the LLM crate: its tokenizers as [`ReportTokenizer`]s with the model's
//! special tokens, loading a pretrained LLM by path, and [`LlmSpec`], the serialisable
//! description of an LLM that a saved pipeline or training run refers to.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use rad3d_llm::{CausalLm, Llm, ModelConfig, SpecialTokens, Tokenizer};
use rad3d_projector::{PrefixLayout, Variant};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::record::load_record;
use crate::tokenizer::{ReportTokenizer, WordTokenizer};

/// An LLM-crate tokenizer with the model's special tokens.
#[derive(Debug, Clone)]
pub struct LlmTokenizer {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// The model's bos/eos/pad.
    pub special: SpecialTokens,
}

impl ReportTokenizer for LlmTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids, true).unwrap_or_default()
    }

    fn eos_id(&self) -> u32 {
        self.special.eos.first().copied().unwrap_or(0)
    }

    fn bos_id(&self) -> Option<u32> {
        self.special.bos
    }

    fn vocab_size(&self) -> usize {
        self.tokenizer.vocab_size()
    }
}

/// Loads an LLM and its tokenizer from a HF directory (`config.json`, safetensors or
/// `pytorch_model.bin`, `tokenizer.json` or `vocab.json` + `merges.txt`, BioGPT's
/// included) or a `.gguf` file.
pub fn load_llm<B: Backend>(path: &Path, device: &B::Device) -> Result<(Llm<B>, LlmTokenizer)> {
    let (model, tokenizer) = if path.extension().is_some_and(|e| e == "gguf") {
        rad3d_llm::gguf::load_gguf::<B>(path, device)?
    } else {
        let model = Llm::<B>::from_hf_dir(path, device)?;
        (model, Tokenizer::from_dir(path)?)
    };
    let special = CausalLm::special_tokens(&model);
    Ok((model, LlmTokenizer { tokenizer, special }))
}

/// The LLM and its tokenizer, as a saved pipeline or run describes them. Relative paths
/// are resolved against the directory of the file that holds the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LlmSpec {
    /// A HF model directory or a `.gguf` file (tokenizer included).
    Pretrained {
        /// Directory or file.
        path: PathBuf,
        /// Fine-tuned weights (Burn record) replacing the pretrained ones (V-1).
        weights: Option<PathBuf>,
    },
    /// A model of any family stored as a Burn record with a word-level vocabulary
    /// (the quickstart's small LM).
    Record {
        /// Architecture.
        config: ModelConfig,
        /// Burn record (`.mpk`).
        weights: PathBuf,
        /// Vocabulary, one word per id.
        words: Vec<String>,
    },
}

fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

fn word_tokenizer(words: &[String]) -> WordTokenizer {
    // `fit` prepends the four special tokens and sorts the rest, which reproduces the
    // stored vocabulary exactly.
    WordTokenizer::fit(words.iter().skip(4).map(String::as_str))
}

/// Seed of the cross-attention added to a pretrained LLM for the fine-tuned decoder
/// (fixed, as the random LLMs of record specs use seed 0: a run's `--seed` draws the
/// projector).
const CROSS_ATTENTION_SEED: u64 = 0;

/// `llm` as `variant` needs it: with freshly initialised cross-attention for the
/// cross-attention layout when it has none (HF `from_pretrained(…,
/// add_cross_attention=True)`), unchanged otherwise.
///
/// # Errors
/// When the layout needs cross-attention and the family has none (LLaMA).
pub fn llm_for_variant<B: Backend>(llm: Llm<B>, variant: Variant) -> Result<Llm<B>> {
    if variant.layout() == PrefixLayout::CrossAttention && !llm.has_cross_attention() {
        Ok(llm.with_cross_attention(CROSS_ATTENTION_SEED)?)
    } else {
        Ok(llm)
    }
}

/// A model stored as a Burn record with a word-level vocabulary, then shaped for
/// `variant`. The record holds whatever the config describes (a saved pipeline stores the
/// config of the LLM it saved, cross-attention included), so the shaping only adds what
/// a variant needs to a record of the plain LM.
fn record_llm<B: Backend>(
    config: ModelConfig,
    weights: &Path,
    words: &[String],
    variant: Option<Variant>,
    device: &B::Device,
) -> Result<(Llm<B>, Box<dyn ReportTokenizer + Send + Sync>)> {
    let mut llm = load_record(config.init::<B>(0, device)?, weights, device)?;
    if let Some(v) = variant {
        llm = llm_for_variant(llm, v)?;
    }
    Ok((llm, Box::new(word_tokenizer(words))))
}

impl LlmSpec {
    /// The spec a command-line `--llm PATH` names: a `.json` file holding an `LlmSpec`
    /// (its relative paths resolved against the file's folder, as the quickstart's small
    /// LM is saved), or else a HF folder or `.gguf` file.
    ///
    /// # Errors
    /// [`ModelError::Weights`] when the JSON file cannot be read or parsed.
    pub fn open(path: &Path) -> Result<Self> {
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            return Ok(Self::Pretrained {
                path: path.to_path_buf(),
                weights: None,
            });
        }
        let err = |reason: String| ModelError::Weights {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let spec: Self =
            serde_json::from_str(&text).map_err(|e| err(format!("not an LLM description: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Ok(match spec {
            Self::Pretrained { path, weights } => Self::Pretrained {
                path: resolve(dir, &path),
                weights: weights.map(|w| resolve(dir, &w)),
            },
            Self::Record {
                config,
                weights,
                words,
            } => Self::Record {
                config,
                weights: resolve(dir, &weights),
                words,
            },
        })
    }

    /// Loads the LLM and its tokenizer, resolving relative paths against `dir`, and
    /// checks that every token id the tokenizer can produce has an embedding.
    pub fn load<B: Backend>(
        &self,
        dir: &Path,
        device: &B::Device,
    ) -> Result<(Llm<B>, Box<dyn ReportTokenizer + Send + Sync>)> {
        self.load_shaped(dir, device, None)
    }

    /// [`load`](Self::load) for `variant`: the LLM takes the shape the variant trains
    /// ([`llm_for_variant`]: cross-attention for the fine-tuned decoder) before the
    /// fine-tuned weights of a pretrained spec are read into it; a record spec's config
    /// describes its own weights, which load first.
    pub fn load_for<B: Backend>(
        &self,
        dir: &Path,
        device: &B::Device,
        variant: Variant,
    ) -> Result<(Llm<B>, Box<dyn ReportTokenizer + Send + Sync>)> {
        self.load_shaped(dir, device, Some(variant))
    }

    fn load_shaped<B: Backend>(
        &self,
        dir: &Path,
        device: &B::Device,
        variant: Option<Variant>,
    ) -> Result<(Llm<B>, Box<dyn ReportTokenizer + Send + Sync>)> {
        let (llm, tokenizer): (Llm<B>, Box<dyn ReportTokenizer + Send + Sync>) = match self {
            Self::Pretrained { path, weights } => {
                let (mut llm, tok) = load_llm::<B>(&resolve(dir, path), device)?;
                if let Some(v) = variant {
                    llm = llm_for_variant(llm, v)?;
                }
                let llm = match weights {
                    Some(w) => load_record(llm, &resolve(dir, w), device)?,
                    None => llm,
                };
                (llm, Box::new(tok))
            }
            Self::Record {
                config,
                weights,
                words,
            } => record_llm(
                config.clone(),
                &resolve(dir, weights),
                words,
                variant,
                device,
            )?,
        };
        if tokenizer.vocab_size() > CausalLm::vocab_size(&llm) {
            return Err(ModelError::Config {
                field: "llm.vocab_size",
                value: CausalLm::vocab_size(&llm).to_string(),
                reason: "the tokenizer has more entries than the LLM has embeddings",
            });
        }
        Ok((llm, tokenizer))
    }
}
