//! One-call generation from a model path and a text prompt: what the `generate` example
//! (and the throughput benchmark) run, kept in the library so tests exercise the exact
//! code path.
//!
//! [`load_model`] opens a HF directory or a GGUF file; [`run_request`] tokenizes the
//! prompt, optionally prepends a deterministic synthetic prefix (standing in for
//! projected image features), repeats it to a batch, decodes and times the call.

use std::path::Path;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::error::{LlmError, Result};
use crate::generate::{GenerationConfig, generate_streaming};
use crate::gguf::load_gguf;
use crate::model::{CausalLm, Llm};
use crate::tokenizer::Tokenizer;

/// Loads a model and its tokenizer from a GGUF file or a HF model directory.
///
/// A GGUF file always carries a tokenizer; a directory yields `None` when it has neither
/// `tokenizer.json` nor `vocab.json` + `merges.txt` (prompts must then be token ids).
/// A tokenizer that does not fit the model's vocabulary is an error.
pub fn load_model<B: Backend>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(Llm<B>, Option<Tokenizer>)> {
    let path = path.as_ref();
    if path.is_file() {
        let (model, tokenizer) = load_gguf(path, device)?;
        return Ok((model, Some(tokenizer)));
    }
    if !path.is_dir() {
        return Err(LlmError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither a GGUF file nor a model directory",
            ),
        });
    }
    let model = Llm::from_hf_dir(path, device)?;
    let has_tokenizer = path.join("tokenizer.json").is_file()
        || (path.join("vocab.json").is_file() && path.join("merges.txt").is_file());
    let tokenizer = if has_tokenizer {
        let t = Tokenizer::from_dir(path)?;
        t.check_vocab(model.vocab_size())?;
        Some(t)
    } else {
        None
    };
    Ok((model, tokenizer))
}

/// What to generate from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Text, tokenized with the model's tokenizer.
    Text(String),
    /// Token ids, used as given.
    Ids(Vec<u32>),
}

/// One generation call: a prompt repeated `batch_size` times after an optional
/// synthetic prefix, decoded with `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The prompt (may be empty text when `prefix_len > 0`).
    pub prompt: Prompt,
    /// Whether tokenization adds the tokenizer's special tokens (e.g. LLaMA-3's BOS).
    pub add_special_tokens: bool,
    /// Number of identical sequences decoded together (≥ 1).
    pub batch_size: usize,
    /// Rows of [`synthetic_prefix`] fed as embeddings before the prompt (0 = none).
    pub prefix_len: usize,
    /// Decoding settings.
    pub config: GenerationConfig,
}

impl GenerateRequest {
    /// Greedy decoding of `max_new_tokens` tokens after `prompt`, batch 1, no prefix.
    pub fn greedy(prompt: Prompt, max_new_tokens: usize) -> Self {
        Self {
            prompt,
            add_special_tokens: false,
            batch_size: 1,
            prefix_len: 0,
            config: GenerationConfig::greedy(max_new_tokens),
        }
    }
}

/// The result of [`run_request`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOutput {
    /// Token ids of the prompt (after tokenization).
    pub prompt_ids: Vec<u32>,
    /// New token ids of every sequence.
    pub ids: Vec<Vec<u32>>,
    /// Decoded new text of every sequence (special tokens skipped); `None` without a tokenizer.
    pub texts: Option<Vec<String>>,
    /// Wall time of the whole generation call (prefill included), in seconds.
    pub seconds: f64,
    /// Wall time until the first token of the batch was chosen (the prefill), in seconds.
    pub first_token_seconds: f64,
}

impl GenerateOutput {
    /// Total new tokens over the batch.
    pub fn new_tokens(&self) -> usize {
        self.ids.iter().map(Vec::len).sum()
    }

    /// New tokens over the batch per second of the generation call.
    pub fn tokens_per_s(&self) -> f64 {
        self.new_tokens() as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }
}

/// A deterministic prefix `[batch, len, dim]`, identical in every row:
/// `x[p, j] = 0.05 · sin(0.37 · (p · dim + j) + 0.5)` (computed in f64, stored as f32).
///
/// It stands in for projected image features in examples and benchmarks;
/// `scripts/reference/llm_bench_hf.py` builds the same values for transformers.
pub fn synthetic_prefix<B: Backend>(
    batch: usize,
    len: usize,
    dim: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let row: Vec<f32> = (0..len * dim)
        .map(|i| (0.05 * (0.37 * i as f64 + 0.5).sin()) as f32)
        .collect();
    let data: Vec<f32> = (0..batch).flat_map(|_| row.iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [batch, len, dim]), device)
}

/// Tokenizes, builds the batch, generates and times it.
///
/// Errors: a text prompt without a tokenizer, an empty batch, and whatever
/// [`generate_streaming`] rejects (empty prompt without prefix, too many positions, …).
pub fn run_request<B: Backend, M: CausalLm<B>>(
    model: &M,
    tokenizer: Option<&Tokenizer>,
    request: &GenerateRequest,
    device: &B::Device,
) -> Result<GenerateOutput> {
    if request.batch_size == 0 {
        return Err(LlmError::Generation("batch_size must be at least 1".into()));
    }
    let prompt_ids = match &request.prompt {
        Prompt::Ids(ids) => ids.clone(),
        Prompt::Text(text) => {
            let tok = tokenizer.ok_or_else(|| {
                LlmError::Generation("a text prompt needs a tokenizer; give token ids".into())
            })?;
            tok.encode(text, request.add_special_tokens)?
        }
    };
    let batch = request.batch_size;
    let prefix = (request.prefix_len > 0)
        .then(|| synthetic_prefix::<B>(batch, request.prefix_len, model.hidden_size(), device));
    let prompts: Vec<Vec<u32>> = if prompt_ids.is_empty() && prefix.is_some() {
        Vec::new()
    } else {
        vec![prompt_ids.clone(); batch]
    };
    let start = Instant::now();
    let mut first: Option<f64> = None;
    let mut on_token = |_row: usize, _token: u32| {
        first.get_or_insert_with(|| start.elapsed().as_secs_f64());
    };
    let ids = generate_streaming(
        model,
        prefix,
        &prompts,
        &request.config,
        tokenizer,
        Some(&mut on_token),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let texts = tokenizer
        .map(|t| ids.iter().map(|s| t.decode(s, true)).collect::<Result<_>>())
        .transpose()?;
    tracing::debug!(
        seconds,
        new_tokens = ids.iter().map(Vec::len).sum::<usize>(),
        "generation request done"
    );
    Ok(GenerateOutput {
        prompt_ids,
        ids,
        texts,
        seconds,
        first_token_seconds: first.unwrap_or(seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn synthetic_prefix_values_and_rows() {
        let p = synthetic_prefix::<Flex>(2, 3, 4, &Default::default());
        assert_eq!(p.dims(), [2, 3, 4]);
        let v: Vec<f32> = p.into_data().to_vec().unwrap();
        assert_eq!(v[0], (0.05 * 0.5f64.sin()) as f32);
        assert_eq!(v[5], (0.05 * (0.37 * 5.0 + 0.5f64).sin()) as f32);
        assert_eq!(v[..12], v[12..]);
    }
}
