//! The GPT-2 family (DistilGPT2, GPT-2 and its larger sizes): learned positions,
//! pre-LayerNorm blocks, `gelu_new`, fused `c_attn`, output tied to the embeddings.
//!
//! - `config.rs`: [`Gpt2Config`], mirroring a HF GPT-2 `config.json`, and its presets;
//! - `model.rs`: the [`Gpt2`] module and its forward pass;
//! - `load.rs`: building it from HF-named tensors ([`gpt2_from_tensors`]);
//! - `cross.rs`: the optional cross-attention over encoder states
//!   ([`Gpt2CrossAttention`], HF `add_cross_attention`).

mod config;
mod cross;
mod load;
mod model;

pub use config::Gpt2Config;
pub use cross::Gpt2CrossAttention;
pub use load::gpt2_from_tensors;
pub use model::{Gpt2, Gpt2Block};
