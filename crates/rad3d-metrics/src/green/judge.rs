//! Running a GREEN judge model through `rad3d-llm`, the way GREEN runs
//! GREEN-RadLlama2-7b: the chat text of [`chat_text`](super::chat_text) is tokenized with
//! the tokenizer's special tokens plus a final end-of-sequence token (GREEN loads its
//! tokenizer with `add_eos_token=True`), prompts are left-padded in batches of 8, decoding
//! is greedy up to a total length of 2048 tokens, and the whole sequence (prompt included)
//! is decoded without special tokens and cleaned with GREEN's `clean_responses`.

use std::path::Path;

use burn::tensor::backend::Backend;
use rad3d_llm::generate::{GenerationConfig, generate};
use rad3d_llm::{CausalLm, Llm, Tokenizer};

use super::{GreenResult, chat_text, clean_response, make_prompt};
use crate::error::{MetricsError, Result};

/// How the judge generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreenOptions {
    /// Longest prompt + response in tokens (GREEN: `max_length=2048`); longer prompts are
    /// cut from the right as GREEN's tokenizer call (`truncation=True`) does.
    pub max_length: usize,
    /// Optional cap on new tokens below what `max_length` leaves (for quick runs).
    pub max_new_tokens: Option<usize>,
    /// Pairs per generation batch (GREEN: 8).
    pub batch_size: usize,
}

impl Default for GreenOptions {
    fn default() -> Self {
        Self {
            max_length: 2048,
            max_new_tokens: None,
            batch_size: 8,
        }
    }
}

/// A GREEN judge: a LLaMA-family (or GPT-2) model and its tokenizer.
#[derive(Debug)]
pub struct Green<B: Backend> {
    model: Llm<B>,
    tokenizer: Tokenizer,
    eos_id: u32,
    eos_text: String,
    options: GreenOptions,
}

impl<B: Backend> Green<B> {
    /// Loads a judge from an HF model directory (`config.json`, safetensors,
    /// `tokenizer.json`) or a GGUF file.
    pub fn new(judge: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let judge = judge.as_ref();
        let (model, tokenizer) = if judge.is_dir() {
            (
                Llm::<B>::from_hf_dir(judge, device)?,
                Tokenizer::from_dir(judge)?,
            )
        } else {
            rad3d_llm::gguf::load_gguf::<B>(judge, device)?
        };
        let eos_id = *model
            .special_tokens()
            .eos
            .first()
            .ok_or_else(|| MetricsError::Model {
                path: judge.to_path_buf(),
                reason: "the judge model declares no end-of-sequence token".into(),
            })?;
        let eos_text = tokenizer
            .id_to_token(eos_id)
            .ok_or_else(|| MetricsError::Model {
                path: judge.to_path_buf(),
                reason: format!("end-of-sequence id {eos_id} is not in the tokenizer"),
            })?;
        Ok(Self {
            model,
            tokenizer,
            eos_id,
            eos_text,
            options: GreenOptions::default(),
        })
    }

    /// Replaces the generation options.
    pub fn with_options(mut self, options: GreenOptions) -> Self {
        self.options = options;
        self
    }

    /// The generation options.
    pub fn options(&self) -> &GreenOptions {
        &self.options
    }

    /// Token ids GREEN feeds the judge for one pair.
    pub fn prompt_ids(&self, reference: &str, candidate: &str) -> Result<Vec<u32>> {
        let text = chat_text(&make_prompt(reference, candidate), &self.eos_text);
        let mut ids = self.tokenizer.encode(&text, true)?;
        ids.push(self.eos_id);
        ids.truncate(self.options.max_length);
        Ok(ids)
    }

    /// The judge's cleaned responses, one per pair.
    pub fn responses<R: AsRef<str>, H: AsRef<str>>(
        &self,
        refs: &[R],
        hyps: &[H],
    ) -> Result<Vec<String>> {
        if refs.len() != hyps.len() {
            return Err(MetricsError::Input(format!(
                "{} references but {} hypotheses",
                refs.len(),
                hyps.len()
            )));
        }
        let prompts: Vec<Vec<u32>> = refs
            .iter()
            .zip(hyps)
            .map(|(r, h)| self.prompt_ids(r.as_ref(), h.as_ref()))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(prompts.len());
        for batch in prompts.chunks(self.options.batch_size.max(1)) {
            let longest = batch.iter().map(Vec::len).max().unwrap_or(0);
            let mut budget = self.options.max_length.saturating_sub(longest);
            if let Some(cap) = self.options.max_new_tokens {
                budget = budget.min(cap);
            }
            let generated = if budget == 0 {
                vec![Vec::new(); batch.len()]
            } else {
                let config = GenerationConfig::greedy(budget).with_eos(vec![self.eos_id]);
                generate(&self.model, None, batch, &config)?
            };
            tracing::debug!(
                pairs = batch.len(),
                new_tokens = budget,
                "GREEN judge batch"
            );
            for (prompt, new) in batch.iter().zip(generated) {
                let all: Vec<u32> = prompt.iter().copied().chain(new).collect();
                out.push(clean_response(&self.tokenizer.decode(&all, true)?));
            }
        }
        Ok(out)
    }

    /// GREEN of every `(refs[i], hyps[i])` pair and the summary.
    pub fn score<R: AsRef<str>, H: AsRef<str>>(
        &self,
        refs: &[R],
        hyps: &[H],
    ) -> Result<GreenResult> {
        let responses = self.responses(refs, hyps)?;
        GreenResult::from_responses(refs, hyps, &responses)
    }
}
