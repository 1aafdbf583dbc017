//! The LLaMA family (Llama-2/3.x, SmolLM2, DeepSeek-R1-Distill-Llama): RMSNorm, SwiGLU,
//! rotate-half RoPE, grouped-query attention, tied or separate `lm_head`.
//!
//! - `config.rs`: [`LlamaConfig`], mirroring a HF LLaMA `config.json`, and its presets;
//! - `model.rs`: the [`Llama`] module and its forward pass;
//! - `load.rs`: building it from HF-named tensors ([`llama_from_tensors`]);
//! - `backprop.rs`: the graph-free backward pass of a frozen model ([`LlamaTape`]).
//!
//! GGUF files map onto the HF names in `gguf/llama.rs`.

mod backprop;
mod config;
mod load;
mod model;

pub use backprop::LlamaTape;
pub use config::LlamaConfig;
pub use load::llama_from_tensors;
pub use model::{Llama, LlamaBlock};
