//! The RAD3D-Prefix model: a prefix projector in front of a decoder-only LLM.
//!
//! - [`PrefixModel`]: projector + LLM for every variant of the paper (V-1 trains the
//!   LLM, V-2/V-3 freeze it; R2GenGPT wraps the visual tokens in a prompt; the fine-tuned
//!   decoder feeds them to the LLM's cross-attention), the prefix it feeds the LLM and
//!   cached decoding from it (greedy, or R2GenGPT's beam search for that variant, or any
//!   [`GenerationConfig`](rad3d_llm::GenerationConfig)).
//! - [`ReportTokenizer`]: the one tokenizer interface, for the LLM crate's tokenizers
//!   ([`LlmTokenizer`]) and the word-level [`WordTokenizer`] of synthetic corpora.
//! - [`LlmSpec`] / [`load_llm`]: an LLM and its tokenizer from a HF directory, a `.gguf`
//!   file or a Burn record, as saved pipelines and training runs describe them;
//!   [`llm_for_variant`] gives it the shape a variant trains (cross-attention).
//! - [`load_record`] / [`save_record`]: Burn records of trained parts, written atomically;
//!   [`materialize`] fixes lazily drawn weights before they are cloned or saved.
//!
//! Both inference (the umbrella's pipeline) and training (`rad3d-train`) build on this
//! crate; it never depends on either.
//!
//! ```no_run
//! use std::path::Path;
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer, load_llm};
//! use rad3d_projector::Variant;
//!
//! # fn main() -> rad3d_model::Result<()> {
//! let device = Default::default();
//! let (llm, tok) = load_llm::<Flex>(Path::new("SmolLM2-135M-Instruct.Q4_1.gguf"), &device)?;
//! let variant = Variant::V3;
//! let projector = variant.projector_config(512, 18, rad3d_llm::CausalLm::hidden_size(&llm), 10, 8);
//! let model = PrefixModel::new(variant, &projector, llm, PromptIds::default(), &device)?;
//! let inputs = Tensor::<Flex, 2>::zeros([1, 512 + 18], &device); // [latent ; logits]
//! let ids = model.generate(inputs, 300, tok.eos_id())?;
//! println!("{}", tok.decode(&ids[0]));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod error;
mod llm;
mod materialize;
mod prefix_model;
mod record;
mod tokenizer;

pub use error::{ModelError, Result};
pub use llm::{LlmSpec, LlmTokenizer, llm_for_variant, load_llm};
pub use materialize::materialize;
pub use prefix_model::{ParamCounts, PrefixModel, PromptIds};
pub use record::{load_record, save_record};
pub use tokenizer::{ReportTokenizer, WordTokenizer};
