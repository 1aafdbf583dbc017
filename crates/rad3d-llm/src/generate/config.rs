//! How to decode: [`GenerationConfig`] and its strategies, with HF `generate` semantics.

use crate::error::{LlmError, Result};

/// Token selection strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoding {
    /// Always the most likely token (the paper's decoding).
    Greedy,
    /// Random sampling from the processed distribution.
    Sample {
        /// Logits are divided by this (> 0) before sampling.
        temperature: f32,
        /// Keep only the `k` most likely tokens (0 = off).
        top_k: usize,
        /// Keep the smallest set of tokens whose probability reaches `p` (1.0 = off).
        top_p: f32,
        /// RNG seed; the same seed gives the same text.
        seed: u64,
    },
    /// Beam search over log-probabilities (HF `num_beams > 1`, no sampling).
    Beam {
        /// Number of beams kept per sequence (≥ 1).
        num_beams: usize,
        /// Finished hypotheses are ranked by `sum_logprobs / new_len^length_penalty`.
        length_penalty: f32,
        /// Stop a sequence as soon as `num_beams` hypotheses are finished (HF `early_stopping=True`).
        early_stopping: bool,
    },
}

/// Everything that shapes one generation call. Build with [`greedy`](Self::greedy),
/// [`beam`](Self::beam) or [`sampling`](Self::sampling) and adjust fields.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    /// At most this many new tokens per sequence.
    pub max_new_tokens: usize,
    /// End-of-sequence tokens are suppressed until this many were generated.
    pub min_new_tokens: usize,
    /// Token selection.
    pub decoding: Decoding,
    /// HF repetition penalty (1.0 = off): scores of tokens already in the sequence are
    /// divided by it when positive, multiplied when negative.
    pub repetition_penalty: f32,
    /// Forbid repeating any n-gram of this size (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Tokens that end a sequence; `None` = the model's eos tokens; `Some(vec![])` = never stop early.
    pub eos_token_ids: Option<Vec<u32>>,
    /// Stop a sequence once its generated text contains one of these (needs a tokenizer).
    pub stop_strings: Vec<String>,
}

impl GenerationConfig {
    /// Greedy decoding of up to `max_new_tokens` tokens.
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            max_new_tokens,
            min_new_tokens: 0,
            decoding: Decoding::Greedy,
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            eos_token_ids: None,
            stop_strings: Vec::new(),
        }
    }

    /// Beam search with `num_beams` beams, length penalty 1.0, no early stopping (HF defaults).
    pub fn beam(num_beams: usize, max_new_tokens: usize) -> Self {
        Self {
            decoding: Decoding::Beam {
                num_beams,
                length_penalty: 1.0,
                early_stopping: false,
            },
            ..Self::greedy(max_new_tokens)
        }
    }

    /// R2GenGPT's decoding: 3 beams, repetition penalty 2.0, length penalty 2.0.
    pub fn r2gengpt(max_new_tokens: usize) -> Self {
        Self {
            decoding: Decoding::Beam {
                num_beams: 3,
                length_penalty: 2.0,
                early_stopping: false,
            },
            repetition_penalty: 2.0,
            ..Self::greedy(max_new_tokens)
        }
    }

    /// Nucleus sampling with temperature 1 and top-p `top_p`, seeded.
    pub fn sampling(top_p: f32, seed: u64, max_new_tokens: usize) -> Self {
        Self {
            decoding: Decoding::Sample {
                temperature: 1.0,
                top_k: 0,
                top_p,
                seed,
            },
            ..Self::greedy(max_new_tokens)
        }
    }

    /// Sets the minimum number of new tokens.
    pub fn with_min_new_tokens(mut self, n: usize) -> Self {
        self.min_new_tokens = n;
        self
    }

    /// Sets the repetition penalty.
    pub fn with_repetition_penalty(mut self, p: f32) -> Self {
        self.repetition_penalty = p;
        self
    }

    /// Sets the banned n-gram size.
    pub fn with_no_repeat_ngram_size(mut self, n: usize) -> Self {
        self.no_repeat_ngram_size = n;
        self
    }

    /// Overrides the end-of-sequence tokens (`vec![]` disables stopping on eos).
    pub fn with_eos(mut self, eos: Vec<u32>) -> Self {
        self.eos_token_ids = Some(eos);
        self
    }

    /// Adds stop strings.
    pub fn with_stop_strings(mut self, stops: Vec<String>) -> Self {
        self.stop_strings = stops;
        self
    }

    /// Checks every parameter is in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(LlmError::Generation(msg));
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad(format!(
                "repetition_penalty must be > 0, got {}",
                self.repetition_penalty
            ));
        }
        if self.min_new_tokens > self.max_new_tokens {
            return bad(format!(
                "min_new_tokens {} exceeds max_new_tokens {}",
                self.min_new_tokens, self.max_new_tokens
            ));
        }
        match self.decoding {
            Decoding::Greedy => {}
            Decoding::Sample {
                temperature, top_p, ..
            } => {
                if !(temperature.is_finite() && temperature > 0.0) {
                    return bad(format!("temperature must be > 0, got {temperature}"));
                }
                if !(top_p > 0.0 && top_p <= 1.0) {
                    return bad(format!("top_p must be in (0, 1], got {top_p}"));
                }
            }
            Decoding::Beam {
                num_beams,
                length_penalty,
                ..
            } => {
                if num_beams == 0 {
                    return bad("num_beams must be at least 1".into());
                }
                if !length_penalty.is_finite() {
                    return bad(format!(
                        "length_penalty must be finite, got {length_penalty}"
                    ));
                }
            }
        }
        if self.stop_strings.iter().any(String::is_empty) {
            return bad("stop strings must not be empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_parameter() {
        assert!(GenerationConfig::greedy(5).validate().is_ok());
        assert!(GenerationConfig::r2gengpt(5).validate().is_ok());
        let err = GenerationConfig::sampling(1.5, 0, 5)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("top_p"), "{err}");
        let err = GenerationConfig::beam(0, 5)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("num_beams"), "{err}");
        let err = GenerationConfig::greedy(2)
            .with_min_new_tokens(3)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("min_new_tokens"), "{err}");
    }
}
