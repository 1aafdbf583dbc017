//! [`EncoderConditioned`]: a decoder with cross-attention bound to fixed encoder states,
//! so that everything written against [`CausalLm`] (teacher-forced losses, greedy, beam
//! and sampled generation) runs the cross-attended model unchanged.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::cache::KvCache;
use crate::error::{LlmError, Result};
use crate::model::{CausalLm, FrozenBackward, SpecialTokens};

/// `llm` whose cross-attention reads `encoder` `[B, S, D]` (HF `encoder_hidden_states`)
/// in every forward pass.
///
/// Without a cache the inputs must have the encoder's `B` rows. With one, row `i` reads
/// the encoder row that cache row `i` descends from ([`KvCache::source_rows`]), so beam
/// expansion and the rows generation drops keep each sequence with its own states.
#[derive(Module, Debug)]
pub struct EncoderConditioned<B: Backend, L> {
    /// The decoder.
    pub llm: L,
    /// Encoder states `[B, S, D]`.
    encoder: Tensor<B, 3>,
}

impl<B: Backend, L: CausalLm<B>> EncoderConditioned<B, L> {
    /// Binds `encoder` `[B, S, D]` to `llm`'s cross-attention.
    ///
    /// # Errors
    /// [`LlmError::Generation`] when `llm` has no cross-attention or the encoder width
    /// differs from the model's.
    pub fn new(llm: L, encoder: Tensor<B, 3>) -> Result<Self> {
        if !llm.has_cross_attention() {
            return Err(LlmError::Generation(
                "encoder states need a model with cross-attention".into(),
            ));
        }
        let d = encoder.dims()[2];
        if d != llm.hidden_size() {
            return Err(LlmError::Generation(format!(
                "encoder states are {d} wide, the model's cross-attention reads {}",
                llm.hidden_size()
            )));
        }
        Ok(Self { llm, encoder })
    }

    /// The encoder states of the rows `cache` holds (all of them without a cache).
    fn encoder_for(&self, cache: Option<&KvCache<B>>) -> Tensor<B, 3> {
        let rows = match cache {
            Some(c) => c.source_rows(),
            None => return self.encoder.clone(),
        };
        let n = self.encoder.dims()[0];
        if rows.len() == n && rows.iter().enumerate().all(|(i, &r)| i == r) {
            return self.encoder.clone();
        }
        let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let len = idx.len();
        let idx =
            Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [len]), &self.encoder.device());
        self.encoder.clone().select(0, idx)
    }
}

impl<B: Backend, L: CausalLm<B>> CausalLm<B> for EncoderConditioned<B, L> {
    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.llm.embed(ids)
    }

    fn forward_hidden_host_mask(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        let encoder = self.encoder_for(cache.as_deref());
        self.llm
            .forward_hidden_encoded(embeds, mask, cache, &encoder)
    }

    fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        self.llm.logits(hidden)
    }

    fn output_weight(&self) -> Tensor<B, 2> {
        self.llm.output_weight()
    }

    fn forward_hidden_frozen(
        &self,
        _embeds: Tensor<B, 3>,
    ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
        // The closed-form backward passes know nothing of cross-attention.
        None
    }

    fn has_cross_attention(&self) -> bool {
        true
    }

    fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B> {
        self.llm.new_cache(batch, capacity, device)
    }

    fn hidden_size(&self) -> usize {
        self.llm.hidden_size()
    }

    fn vocab_size(&self) -> usize {
        self.llm.vocab_size()
    }

    fn max_positions(&self) -> usize {
        self.llm.max_positions()
    }

    fn special_tokens(&self) -> SpecialTokens {
        self.llm.special_tokens()
    }
}
