//! Adapters to the LLM crate: its models as [`LmBackbone`]s (with KV-cached greedy
//! decoding), its tokenizers as [`ReportTokenizer`]s, and loading either format.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rad3d_llm::{CausalLm, GenerationConfig, Gpt2, Llama, Llm, SpecialTokens, Tokenizer};

use crate::error::{Result, TrainError};
use crate::model::{FrozenBackward, LmBackbone};
use crate::nll::OutputHead;
use crate::tokenizer::ReportTokenizer;

macro_rules! backbone {
    ($ty:ident, $frozen:expr) => {
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
            fn hidden(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3> {
                CausalLm::forward_hidden(self, embeddings, None, None)
            }
            fn output_head(&self) -> OutputHead<B> {
                OutputHead {
                    weight: CausalLm::output_weight(self),
                    bias: None,
                }
            }
            fn hidden_frozen_backward(
                &self,
                embeddings: Tensor<B, 3>,
            ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
                let frozen: fn(&$ty<B>, Tensor<B, 3>) -> Option<_> = $frozen;
                frozen(self, embeddings)
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

backbone!(Llm, |m, x| match m {
    Llm::Llama(m) => Some(llama_frozen_backward(m, x)),
    Llm::Gpt2(_) => None,
});
backbone!(Gpt2, |_m, _x| None);
backbone!(Llama, |m, x| Some(llama_frozen_backward(m, x)));

/// The taped forward pass of a LLaMA and its frozen backward pass.
fn llama_frozen_backward<B: Backend>(
    model: &Llama<B>,
    embeddings: Tensor<B, 3>,
) -> (Tensor<B, 3>, FrozenBackward<B>) {
    let (hidden, tape) = model.forward_taped(embeddings);
    let model = model.clone();
    (hidden, Box::new(move |d| model.backward_frozen(tape, d)))
}

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
