//! Decoder-only LLMs with prefix conditioning: GPT-2 and LLaMA families, HF and
//! GGUF weights, tokenizers, KV cache and generation.

pub mod error;
pub mod gguf;

pub use error::{LlmError, Result};
