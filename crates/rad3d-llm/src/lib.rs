//! Decoder-only LLMs with prefix conditioning: GPT-2, LLaMA and BioGPT families, HF
//! and GGUF weights, tokenizers, KV cache and generation.
//!
//! Every model implements [`CausalLm`]: embed token ids, run a forward pass from
//! embeddings (so a projected image prefix and token embeddings travel together),
//! optionally continuing a preallocated [`KvCache`], and project to logits.
//! [`Llm`] holds any family; [`generate()`] decodes greedily, by beam search or by
//! sampling, batched, with per-sequence stopping.
//!
//! The crate is laid out by family and by layer: `llama/`, `gpt2/` and `biogpt/` each
//! hold one architecture (its config, module, loading; BioGPT's own tokenizer too); the blocks they share (attention, RoPE,
//! KV cache, generation, weight sources, GGUF, tokenizer) sit beside them; `kernels/`
//! holds the matmul kernels, whose CPU fast paths come with the `flex` feature (on by
//! default; without it the crate depends on no CPU backend).
//!
//! ```no_run
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use rad3d_llm::{CausalLm, GenerationConfig, Llm, Tokenizer, generate};
//!
//! # fn main() -> rad3d_llm::Result<()> {
//! let device = Default::default();
//! // A HF directory (config.json + model.safetensors); GGUF files load through `gguf`.
//! let model = Llm::<Flex>::from_hf_dir("SmolLM2-135M-Instruct", &device)?.freeze();
//! let tokenizer = Tokenizer::from_dir("SmolLM2-135M-Instruct")?;
//! tokenizer.check_vocab(model.vocab_size())?;
//!
//! // Teacher forcing: [prefix ; token embeddings] -> logits [B, P + T, V].
//! let prefix = Tensor::<Flex, 3>::zeros([1, 10, model.hidden_size()], &device);
//! let ids = tokenizer.encode("Findings:", true)?;
//! let ids_t = Tensor::from_data(
//!     burn::tensor::TensorData::new(ids.iter().map(|&t| t as i64).collect::<Vec<_>>(), [1, ids.len()]),
//!     &device,
//! );
//! let embeds = Tensor::cat(vec![prefix.clone(), model.embed(ids_t)], 1);
//! let _logits = model.forward(embeds, None, None);
//!
//! // Generation after the prefix, greedy as in the paper.
//! let out = generate(&model, Some(prefix), &[ids], &GenerationConfig::greedy(100))?;
//! println!("{}", tokenizer.decode(&out[0], true)?);
//! # Ok(()) }
//! ```

// Shared blocks.
mod attention;
mod cache;
mod config;
mod encoded;
mod error;
pub mod generate;
pub mod gguf;
mod kernels;
mod model;
mod request;
mod rope;
mod tokenizer;
mod weights;

// One folder per family.
mod biogpt;
mod gpt2;
mod llama;

pub use attention::grouped_attention;
pub use biogpt::{
    BioGpt, BioGptBlock, BioGptConfig, BioGptTokenizer, LAYER_NORM_EPS, POSITION_OFFSET,
    biogpt_from_tensors,
};
pub use cache::KvCache;
pub use config::{ModelConfig, RopeScaling};
pub use encoded::EncoderConditioned;
pub use error::{LlmError, Result};
pub use generate::{Decoding, GenerationConfig, generate, generate_streaming};
pub use gpt2::{Gpt2, Gpt2Block, Gpt2Config, Gpt2CrossAttention, gpt2_from_tensors};
pub use kernels::{Kernels, host_backend};
pub use llama::{Llama, LlamaBlock, LlamaConfig, LlamaTape, llama_from_tensors};
pub use model::{CausalLm, FrozenBackward, Llm, SpecialTokens};
pub use request::{
    GenerateOutput, GenerateRequest, Prompt, load_model, run_request, synthetic_prefix,
};
pub use tokenizer::Tokenizer;
pub use weights::{HostTensor, MemorySource, SafetensorsSource, TensorSource};
