//! The BioGPT family (`BioGptForCausalLM`: BioGPT, BioGPT-Large): learned positions read
//! two rows into their table, token embeddings scaled by `sqrt(D)`, pre-LayerNorm blocks
//! with separate q/k/v projections, exact GELU, a final LayerNorm (every LayerNorm with
//! epsilon 1e-5 whatever `layer_norm_eps` says, as in transformers), and an output
//! projection tied to the embeddings or stored on its own.
//!
//! - `config.rs`: [`BioGptConfig`], mirroring a HF BioGPT `config.json`, and its presets;
//! - `model.rs`: the [`BioGpt`] module and its forward pass;
//! - `load.rs`: building it from HF-named tensors ([`biogpt_from_tensors`]);
//! - `moses.rs`, `tokenizer.rs`: its tokenizer (Moses + fastBPE, see [`BioGptTokenizer`]).

mod config;
mod load;
mod model;
mod moses;
mod tokenizer;

pub use config::{BioGptConfig, LAYER_NORM_EPS, POSITION_OFFSET};
pub use load::biogpt_from_tensors;
pub use model::{BioGpt, BioGptBlock};
pub use tokenizer::BioGptTokenizer;
