//! The family-independent face of a decoder: the [`CausalLm`] trait and the [`Llm`]
//! enum over the implemented families, plus loading a HF model directory.

use std::path::Path;

use burn::module::{Module, ModuleDisplay, ModuleMapper, Param};
use burn::tensor::{Bool, Int, Tensor, backend::Backend};

use crate::biogpt::{BioGpt, biogpt_from_tensors};
use crate::cache::KvCache;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::gpt2::{Gpt2, gpt2_from_tensors};
use crate::llama::{Llama, llama_from_tensors};
use crate::weights::{SafetensorsSource, TensorSource};

/// The special tokens a model was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecialTokens {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// End of sequence (any of them ends generation).
    pub eos: Vec<u32>,
    /// Padding (falls back to the first eos when the model has none).
    pub pad: Option<u32>,
}

/// The backward pass of a frozen LM's forward pass: `∂L/∂hidden` → `∂L/∂embeddings`,
/// computed without an autodiff graph (see [`CausalLm::forward_hidden_frozen`]).
pub type FrozenBackward<B> = Box<dyn FnOnce(Tensor<B, 3>) -> Tensor<B, 3> + Send>;

/// What the projector, training and metrics code need from a decoder-only LM,
/// whatever its family.
///
/// Inputs are embeddings, so a prefix of projected image features and token
/// embeddings go through the same path: `forward(cat([prefix, embed(ids)], 1), …)`.
pub trait CausalLm<B: Backend>: Module<B> + ModuleDisplay + Sized {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]`.
    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3>;

    /// Final hidden states (after the last norm) `[B, T, D]` of `embeds` `[B, T, D]`.
    ///
    /// `mask` `[B, T]` is true for real tokens, false for padding; padded slots are never
    /// attended to and do not advance positions (HF semantics). With a `cache`, the tokens
    /// continue the cached sequences and their keys/values are stored; without one they
    /// form complete sequences (training / teacher forcing).
    ///
    /// # Panics
    /// If the tokens overflow the cache or the shapes disagree.
    fn forward_hidden(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<Tensor<B, 2, Bool>>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        let mask: Option<Vec<bool>> = mask.map(|m| m.into_data().iter::<bool>().collect());
        self.forward_hidden_host_mask(embeds, mask.as_deref(), cache)
    }

    /// [`forward_hidden`](Self::forward_hidden) with the padding mask given on the host,
    /// row-major `[B·T]` (what generation uses, avoiding a device round trip).
    ///
    /// # Panics
    /// As [`forward_hidden`](Self::forward_hidden), or if `mask.len() != B·T`.
    fn forward_hidden_host_mask(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3>;

    /// Logits `[B, T, V]` of hidden states `[B, T, D]`.
    fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3>;

    /// The output projection `[D, V]` [`logits`](Self::logits) multiplies by (a
    /// transposed view of the token embeddings when they are tied), for callers that fuse
    /// it with the loss.
    fn output_weight(&self) -> Tensor<B, 2>;

    /// Logits `[B, T, V]` of `embeds` `[B, T, D]`: [`forward_hidden`](Self::forward_hidden)
    /// then [`logits`](Self::logits).
    fn forward(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<Tensor<B, 2, Bool>>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        self.logits(self.forward_hidden(embeds, mask, cache))
    }

    /// For a model whose every parameter is frozen: the final hidden states of complete
    /// sequences `embeds` `[B, T, D]` (as [`forward_hidden`](Self::forward_hidden) without
    /// mask or cache) plus the closed-form map from `∂L/∂hidden` to `∂L/∂embeds`, both
    /// computed outside any autodiff graph. `None` (the default) for families without
    /// such a path; training then records the forward pass in the graph instead.
    fn forward_hidden_frozen(
        &self,
        embeds: Tensor<B, 3>,
    ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
        let _ = embeds;
        None
    }

    /// Whether the model carries cross-attention over encoder states (GPT-2 built with
    /// `add_cross_attention`), which [`forward_hidden_encoded`](Self::forward_hidden_encoded)
    /// feeds.
    fn has_cross_attention(&self) -> bool {
        false
    }

    /// [`forward_hidden_host_mask`](Self::forward_hidden_host_mask) whose cross-attention
    /// reads `encoder` `[B, S, D]`, one row per row of `embeds` (HF
    /// `encoder_hidden_states`). Models without cross-attention (see
    /// [`has_cross_attention`](Self::has_cross_attention)) ignore `encoder`.
    fn forward_hidden_encoded(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
        encoder: &Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        let _ = encoder;
        self.forward_hidden_host_mask(embeds, mask, cache)
    }

    /// A preallocated cache for `batch` sequences of up to `capacity` tokens.
    fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B>;

    /// Model width `D`.
    fn hidden_size(&self) -> usize;

    /// Vocabulary size `V`.
    fn vocab_size(&self) -> usize;

    /// Longest sequence (in positions) the model supports.
    fn max_positions(&self) -> usize;

    /// bos / eos / pad tokens.
    fn special_tokens(&self) -> SpecialTokens;

    /// Stops gradients to every parameter (the frozen-LLM variants).
    fn freeze(self) -> Self {
        self.no_grad()
    }

    /// Makes every parameter trainable again (fine-tuning variants).
    fn unfreeze(self) -> Self {
        struct RequireGrad;
        impl<B: Backend> ModuleMapper<B> for RequireGrad {
            fn map_float<const D: usize>(
                &mut self,
                param: Param<Tensor<B, D>>,
            ) -> Param<Tensor<B, D>> {
                param.set_require_grad(true)
            }
        }
        self.map(&mut RequireGrad)
    }
}

/// Rows `ids` `[B, T]` of an embedding `table` `[V, D]` → `[B, T, D]`.
pub(crate) fn embed_rows<B: Backend>(
    table: &Param<Tensor<B, 2>>,
    ids: Tensor<B, 2, Int>,
) -> Tensor<B, 3> {
    let [b, t] = ids.dims();
    let table = table.val();
    let d = table.dims()[1];
    table.select(0, ids.reshape([b * t])).reshape([b, t, d])
}

/// Special tokens from a config's ids; pad falls back to the first eos.
pub(crate) fn specials(bos: Option<u32>, eos: &[u32], pad: Option<u32>) -> SpecialTokens {
    SpecialTokens {
        bos,
        eos: eos.to_vec(),
        pad: pad.or(eos.first().copied()),
    }
}

/// [`CausalLm`] for a family's model type, whose inherent methods (`embed`,
/// `forward_hidden_host`, `logits`, `output_weight`, `new_cache`) and config fields
/// (`hidden_size`, `vocab_size`, `max_position_embeddings`, `special_tokens()`) have the same
/// names in every family; extra trait methods (overrides) follow the type.
macro_rules! causal_lm_for_family {
    ($ty:ident $(, $extra:item)*) => {
        impl<B: Backend> CausalLm<B> for $ty<B> {
            fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
                $ty::embed(self, ids)
            }
            fn forward_hidden_host_mask(
                &self,
                embeds: Tensor<B, 3>,
                mask: Option<&[bool]>,
                cache: Option<&mut KvCache<B>>,
            ) -> Tensor<B, 3> {
                self.forward_hidden_host(embeds, mask, cache)
            }
            fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
                $ty::logits(self, hidden)
            }
            fn output_weight(&self) -> Tensor<B, 2> {
                $ty::output_weight(self)
            }
            fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B> {
                $ty::new_cache(self, batch, capacity, device)
            }
            fn hidden_size(&self) -> usize {
                self.config.hidden_size
            }
            fn vocab_size(&self) -> usize {
                self.config.vocab_size
            }
            fn max_positions(&self) -> usize {
                self.config.max_position_embeddings
            }
            fn special_tokens(&self) -> SpecialTokens {
                self.config.special_tokens()
            }
            $($extra)*
        }
    };
}

causal_lm_for_family!(
    Llama,
    fn forward_hidden_frozen(
        &self,
        embeds: Tensor<B, 3>,
    ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
        let (hidden, tape) = self.forward_taped(embeds);
        let model = self.clone();
        Some((hidden, Box::new(move |d| model.backward_frozen(tape, d))))
    }
);
causal_lm_for_family!(
    Gpt2,
    fn has_cross_attention(&self) -> bool {
        Gpt2::has_cross_attention(self)
    },
    fn forward_hidden_encoded(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
        encoder: &Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        Gpt2::forward_hidden_encoded(self, embeds, mask, cache, Some(encoder))
    }
);
causal_lm_for_family!(BioGpt);

/// Any supported decoder: what loaders return and what downstream code stores.
#[derive(Module, Debug)]
pub enum Llm<B: Backend> {
    /// GPT-2 family.
    Gpt2(Gpt2<B>),
    /// LLaMA family.
    Llama(Llama<B>),
    /// BioGPT family.
    BioGpt(BioGpt<B>),
}

impl<B: Backend> From<BioGpt<B>> for Llm<B> {
    fn from(m: BioGpt<B>) -> Self {
        Self::BioGpt(m)
    }
}

impl<B: Backend> From<Gpt2<B>> for Llm<B> {
    fn from(m: Gpt2<B>) -> Self {
        Self::Gpt2(m)
    }
}

impl<B: Backend> From<Llama<B>> for Llm<B> {
    fn from(m: Llama<B>) -> Self {
        Self::Llama(m)
    }
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            Llm::Gpt2($m) => $e,
            Llm::Llama($m) => $e,
            Llm::BioGpt($m) => $e,
        }
    };
}

impl<B: Backend> CausalLm<B> for Llm<B> {
    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        dispatch!(self, m => m.embed(ids))
    }
    fn forward_hidden_host_mask(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        dispatch!(self, m => m.forward_hidden_host_mask(embeds, mask, cache))
    }
    fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        dispatch!(self, m => m.logits(hidden))
    }
    fn output_weight(&self) -> Tensor<B, 2> {
        dispatch!(self, m => CausalLm::output_weight(m))
    }
    fn forward_hidden_frozen(
        &self,
        embeds: Tensor<B, 3>,
    ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
        dispatch!(self, m => m.forward_hidden_frozen(embeds))
    }
    fn has_cross_attention(&self) -> bool {
        dispatch!(self, m => CausalLm::has_cross_attention(m))
    }
    fn forward_hidden_encoded(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
        encoder: &Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        dispatch!(self, m => CausalLm::forward_hidden_encoded(m, embeds, mask, cache, encoder))
    }
    fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B> {
        dispatch!(self, m => m.new_cache(batch, capacity, device))
    }
    fn hidden_size(&self) -> usize {
        dispatch!(self, m => CausalLm::hidden_size(m))
    }
    fn vocab_size(&self) -> usize {
        dispatch!(self, m => CausalLm::vocab_size(m))
    }
    fn max_positions(&self) -> usize {
        dispatch!(self, m => CausalLm::max_positions(m))
    }
    fn special_tokens(&self) -> SpecialTokens {
        dispatch!(self, m => CausalLm::special_tokens(m))
    }
}

impl<B: Backend> Llm<B> {
    /// Builds a model of any family from HF-named tensors.
    pub fn from_tensors(
        config: &ModelConfig,
        source: &mut dyn TensorSource,
        device: &B::Device,
    ) -> Result<Self> {
        Ok(match config {
            ModelConfig::Gpt2(c) => Self::Gpt2(gpt2_from_tensors(c, source, device)?),
            ModelConfig::Llama(c) => Self::Llama(llama_from_tensors(c, source, device)?),
            ModelConfig::BioGpt(c) => Self::BioGpt(biogpt_from_tensors(c, source, device)?),
        })
    }

    /// Loads a HF model directory: `config.json` + `model.safetensors` (or the shards of
    /// `model.safetensors.index.json`, or a `pytorch_model.bin` in torch.save's zip
    /// format); f16/bf16 weights are converted to f32.
    ///
    /// The weight files are memory-mapped while this runs: they must not be modified or
    /// truncated until it returns (see [`SafetensorsSource`]).
    pub fn from_hf_dir(dir: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = ModelConfig::from_hf_file(&dir.join("config.json"))?;
        let mut source = SafetensorsSource::open_dir(dir)?;
        tracing::debug!(dir = %dir.display(), "loading HF weights");
        Self::from_tensors(&config, &mut source, device)
    }

    /// Adds freshly initialised cross-attention (seeded) to a GPT-2 that has none (see
    /// [`Gpt2::with_cross_attention`]).
    ///
    /// # Errors
    /// [`LlmError::Config`](crate::LlmError::Config) for families without cross-attention.
    pub fn with_cross_attention(self, seed: u64) -> Result<Self> {
        match self {
            Self::Gpt2(m) => Ok(Self::Gpt2(m.with_cross_attention(seed)?)),
            _ => Err(crate::error::LlmError::Config {
                path: "<model>".into(),
                field: "add_cross_attention".into(),
                reason: "only the GPT-2 family carries cross-attention".into(),
            }),
        }
    }

    /// The model's configuration.
    pub fn config(&self) -> ModelConfig {
        match self {
            Self::Gpt2(m) => ModelConfig::Gpt2(m.config.clone()),
            Self::Llama(m) => ModelConfig::Llama(m.config.clone()),
            Self::BioGpt(m) => ModelConfig::BioGpt(m.config.clone()),
        }
    }
}

impl ModelConfig {
    /// A model of this config with seeded random weights.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<Llm<B>> {
        Ok(match self {
            Self::Gpt2(c) => Llm::Gpt2(c.init(seed, device)?),
            Self::Llama(c) => Llm::Llama(c.init(seed, device)?),
            Self::BioGpt(c) => Llm::BioGpt(c.init(seed, device)?),
        })
    }
}
