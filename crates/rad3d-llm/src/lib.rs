//! Decoder-only LLMs with prefix conditioning: GPT-2 and LLaMA families, HF and
//! GGUF weights, tokenizers, KV cache and generation.

pub mod attention;
pub mod cache;
pub mod config;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod gpt2;
pub mod llama;
pub mod model;
pub mod rope;
pub mod tokenizer;
pub mod weights;

pub use cache::KvCache;
pub use config::{Gpt2Config, LlamaConfig, ModelConfig, RopeScaling};
pub use error::{LlmError, Result};
pub use generate::{Decoding, GenerationConfig, generate, generate_streaming};
pub use gpt2::{Gpt2, gpt2_from_tensors};
pub use llama::{Llama, llama_from_tensors};
pub use model::{CausalLm, Llm, SpecialTokens};
pub use tokenizer::Tokenizer;
pub use weights::{HostTensor, MemorySource, SafetensorsSource, TensorSource};
