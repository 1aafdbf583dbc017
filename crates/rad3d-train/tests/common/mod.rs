//! A tiny GPT-2 (the LLM crate's own family, learned positions, tied head) for the
//! training tests: small enough to pre-train on synthetic reports in seconds, with the
//! KV-cached decoding every LLM of the project has.
#![allow(dead_code)]

use burn::tensor::backend::Backend;
use rad3d_llm::{Gpt2, Gpt2Config};

/// The test LM.
pub type TinyLm<B> = Gpt2<B>;

/// Its size, as the tests choose it.
#[derive(Debug, Clone)]
pub struct TinyLmConfig {
    pub vocab: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_len: usize,
    pub seed: u64,
}

impl TinyLmConfig {
    pub fn new(vocab: usize) -> Self {
        Self {
            vocab,
            d_model: 64,
            layers: 2,
            heads: 4,
            max_len: 128,
            seed: 5,
        }
    }

    pub fn with_d_model(self, d_model: usize) -> Self {
        Self { d_model, ..self }
    }

    pub fn with_layers(self, layers: usize) -> Self {
        Self { layers, ..self }
    }

    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// A GPT-2 with seeded weights; the word tokenizer's ids: pad 0, bos 1, eos 2.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TinyLm<B> {
        Gpt2Config::new(self.d_model, self.layers, self.heads)
            .with_vocab_size(self.vocab)
            .with_max_position_embeddings(self.max_len)
            .with_bos_token_id(Some(1))
            .with_eos_token_ids(vec![2])
            .with_pad_token_id(Some(0))
            .init(self.seed, device)
            .expect("a valid tiny GPT-2")
    }
}
