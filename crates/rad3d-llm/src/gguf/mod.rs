//! GGUF (llama.cpp) model files: metadata, tensors, dequantization, the LLaMA
//! architecture mapping to Hugging Face names, and the tokenizer stored in metadata.
//!
//! ```no_run
//! use rad3d_llm::gguf::GgufFile;
//! let gguf = GgufFile::open("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! println!("{}", gguf.get_str("general.architecture")?);
//! let (shape, values) = gguf.dequantize("blk.0.attn_q.weight")?; // PyTorch order [out, in]
//! # let _ = (shape, values);
//! # Ok::<(), rad3d_llm::LlmError>(())
//! ```

mod dequant;
mod llama;
mod load;
mod reader;
mod tokenizer;
mod types;
mod writer;

pub use dequant::dequantize_into;
pub use llama::{GgufLlamaSource, hf_config_json, llama_config, llama_hf_name, unpermute_rows};
pub use load::{load_gguf, load_llama_gguf};
pub use reader::{DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufFile, MAX_DIMS, TensorInfo};
pub use tokenizer::{load_gguf_tokenizer, tokenizer_from_metadata};
pub use types::{GgmlType, MetadataArray, MetadataValue, ValueType};
pub use writer::GgufWriter;
