//! One-call loading of a GGUF LLaMA model and its tokenizer.

use std::path::Path;

use burn::tensor::backend::Backend;

use super::llama::{GgufLlamaSource, llama_config};
use super::reader::GgufFile;
use super::tokenizer::load_gguf_tokenizer;
use crate::error::Result;
use crate::llama::{Llama, llama_from_tensors};
use crate::model::Llm;
use crate::tokenizer::Tokenizer;

/// Loads a GGUF LLaMA-architecture file (`general.architecture = "llama"`): the config
/// from its metadata, every tensor dequantized to f32 (Q/K rows restored to HF order),
/// and the tokenizer (`tokenizer.json` beside the file if present, else from metadata),
/// checked against the model's vocabulary.
///
/// Tensors are dequantized one at a time as the model takes them, so peak memory is the
/// f32 model plus one tensor.
///
/// ```no_run
/// # use burn::backend::Flex;
/// let device = Default::default();
/// let (model, tokenizer) =
///     rad3d_llm::gguf::load_llama_gguf::<Flex>("SmolLM2-135M-Instruct.Q4_1.gguf", &device)?;
/// let ids = tokenizer.encode("The capital of France is", false)?;
/// # let _ = (model, ids);
/// # Ok::<(), rad3d_llm::LlmError>(())
/// ```
pub fn load_llama_gguf<B: Backend>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(Llama<B>, Tokenizer)> {
    let gguf = GgufFile::open(path.as_ref())?;
    let config = llama_config(&gguf)?;
    let tokenizer = Tokenizer::from_tokenizers(load_gguf_tokenizer(&gguf)?, gguf.path());
    tokenizer.check_vocab(config.vocab_size)?;
    let mut source = GgufLlamaSource::new(&gguf)?;
    tracing::debug!(path = %gguf.path().display(), "loading GGUF LLaMA weights");
    let model = llama_from_tensors(&config, &mut source, device)?;
    Ok((model, tokenizer))
}

/// [`load_llama_gguf`] returning the family-independent [`Llm`].
pub fn load_gguf<B: Backend>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(Llm<B>, Tokenizer)> {
    let (model, tokenizer) = load_llama_gguf(path, device)?;
    Ok((Llm::Llama(model), tokenizer))
}
