//! Adapters to the LLM crate: its models as [`LmBackbone`]s (with KV-cached greedy
//! decoding), its tokenizers as [`ReportTokenizer`]s, and loading either format.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rad3d_llm::{CausalLm, GenerationConfig, Gpt2, Llama, Llm, SpecialTokens, Tokenizer};

use crate::error::{Result, TrainError};
use crate::model::LmBackbone;
use crate::tokenizer::ReportTokenizer;

macro_rules! backbone {
    ($ty:ident) => {
        impl<B: Backend> LmBackbone<B> for $ty<B> {
            fn d_model(&self) -> usize {
                CausalLm::hidden_size(self)
            }
            fn vocab_size(&self) -> usize {
                CausalLm::vocab_size(self)
            }
            fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
                CausalLm::embed(self, ids)
            }
            fn logits(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3> {
                CausalLm::forward(self, embeddings, None, None)
            }
            fn greedy(&self, prefix: Tensor<B, 3>, max_new: usize, eos: u32) -> Vec<Vec<u32>> {
                let config = GenerationConfig::greedy(max_new).with_eos(vec![eos]);
                match rad3d_llm::generate(self, Some(prefix.clone()), &[], &config) {
                    Ok(ids) => ids
                        .into_iter()
                        .map(|mut v| {
                            if let Some(p) = v.iter().position(|&t| t == eos) {
                                v.truncate(p);
                            }
                            v
                        })
                        .collect(),
                    Err(e) => {
                        // Only a prefix longer than the model's context gets here; the
                        // uncached path reports the same tokens without a capacity check.
                        tracing::warn!(error = %e, "cached generation refused; decoding without cache");
                        crate::generate::greedy_from_prefix(self, prefix, max_new, eos)
                    }
                }
            }
        }
    };
}

backbone!(Llm);
backbone!(Gpt2);
backbone!(Llama);

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
            .map_err(|e| TrainError::Tokenizer(e.to_string()))
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

/// Loads an LLM and its tokenizer from a HF directory (`config.json`, safetensors,
/// `tokenizer.json`) or a `.gguf` file.
pub fn load_llm<B: Backend>(path: &Path, device: &B::Device) -> Result<(Llm<B>, LlmTokenizer)> {
    let err = |e: rad3d_llm::LlmError| TrainError::Data {
        what: path.display().to_string(),
        reason: e.to_string(),
    };
    let (model, tokenizer) = if path.extension().is_some_and(|e| e == "gguf") {
        rad3d_llm::gguf::load_gguf::<B>(path, device).map_err(err)?
    } else {
        let model = Llm::<B>::from_hf_dir(path, device).map_err(err)?;
        (model, Tokenizer::from_dir(path).map_err(err)?)
    };
    let special = CausalLm::special_tokens(&model);
    Ok((model, LlmTokenizer { tokenizer, special }))
}
