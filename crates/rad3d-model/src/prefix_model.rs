//! [`PrefixModel`]: the RAD3D-Prefix report generator — a trainable projector whose
//! output conditions a decoder-only LLM: as a prefix (optionally wrapped in R2GenGPT's
//! prompt), or as the encoder states of the LLM's cross-attention (the fine-tuned
//! decoder baseline).

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_llm::{CausalLm, EncoderConditioned, GenerationConfig};
use rad3d_projector::{
    PrefixLayout, Projector, ProjectorConfig, R2GEN_PROMPT_AFTER, R2GEN_PROMPT_BEFORE, Variant,
    wrap_in_prompt,
};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::materialize::materialize;
use crate::tokenizer::ReportTokenizer;

/// Token ids placed around the visual tokens: R2GenGPT's prompt halves (BOS, if any, at
/// the front of `before`), or the one start token of the cross-attention layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptIds {
    /// Ids before the visual tokens.
    pub before: Vec<u32>,
    /// Ids after the visual tokens.
    pub after: Vec<u32>,
}

impl PromptIds {
    /// The prompt `variant` decodes with: R2GenGPT's instruction halves
    /// ([`R2GEN_PROMPT_BEFORE`] after BOS, [`R2GEN_PROMPT_AFTER`]) tokenised by
    /// `tokenizer` for the R2GenGPT layout; the start token (BOS, else EOS, as GPT-2
    /// uses `<|endoftext|>` for both) before the report for the cross-attention layout;
    /// none for the others. Training and every loaded pipeline build it here, so both see
    /// the same ids.
    ///
    /// # Errors
    /// [`ModelError::Tokenizer`] when the prompt cannot be tokenised.
    pub fn for_variant(variant: Variant, tokenizer: &dyn ReportTokenizer) -> Result<Self> {
        match variant.layout() {
            PrefixLayout::Bare => return Ok(Self::default()),
            PrefixLayout::CrossAttention => {
                return Ok(Self {
                    before: vec![tokenizer.bos_id().unwrap_or(tokenizer.eos_id())],
                    after: Vec::new(),
                });
            }
            PrefixLayout::R2GenPrompt => {}
        }
        let mut before: Vec<u32> = tokenizer.bos_id().into_iter().collect();
        before.extend(tokenizer.encode(R2GEN_PROMPT_BEFORE)?);
        Ok(Self {
            before,
            after: tokenizer.encode(R2GEN_PROMPT_AFTER)?,
        })
    }
}

/// How many of a model's parameters train and how many stay frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCounts {
    /// Parameters the optimiser updates (the projector, plus the LLM when the variant
    /// fine-tunes it, cross-attention included).
    pub trainable: usize,
    /// Parameters that stay as loaded (the LLM of the frozen-LLM variants).
    pub frozen: usize,
}

/// Fewest new tokens R2GenGPT's generate call asks for (`min_new_tokens`).
const R2GEN_MIN_NEW: usize = 80;

/// Projector + LLM: the prefix-conditioned report generator of every variant.
#[derive(Module, Debug)]
pub struct PrefixModel<B: Backend, L> {
    /// The trainable projector.
    pub projector: Projector<B>,
    /// The LLM (frozen unless the variant trains it).
    pub llm: L,
    #[module(skip)]
    variant: Variant,
    #[module(skip)]
    prompt: PromptIds,
}

pub(crate) fn ids_tensor<B: Backend>(ids: &[u32], device: &B::Device) -> Tensor<B, 2, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [1, ids.len()]), device)
}

impl<B: Backend, L: CausalLm<B>> PrefixModel<B, L> {
    /// Builds the model of `variant` around `llm`: initialises the projector and freezes
    /// the LLM unless the variant trains it. `prompt` is used by the R2GenGPT layout only.
    pub fn new(
        variant: Variant,
        projector: &ProjectorConfig,
        llm: L,
        prompt: PromptIds,
        device: &B::Device,
    ) -> Result<Self> {
        if projector.d_model() != llm.hidden_size() {
            return Err(ModelError::Config {
                field: "projector.d_model",
                value: projector.d_model().to_string(),
                reason: "must equal the LLM's embedding width",
            });
        }
        if variant.layout() == PrefixLayout::R2GenPrompt && prompt.after.is_empty() {
            return Err(ModelError::Config {
                field: "prompt",
                value: "empty".into(),
                reason: "the R2GenGPT layout needs the tokenised prompt",
            });
        }
        if variant.layout() == PrefixLayout::CrossAttention {
            if prompt.before.len() != 1 {
                return Err(ModelError::Config {
                    field: "prompt",
                    value: format!("{:?}", prompt.before),
                    reason: "the cross-attention layout needs one start token",
                });
            }
            if !llm.has_cross_attention() {
                return Err(ModelError::Config {
                    field: "llm",
                    value: "no cross-attention".into(),
                    reason: "the fine-tuned decoder needs an LLM with cross-attention \
                             (see LlmSpec::load_for)",
                });
            }
        }
        let llm = if variant.llm_trainable() {
            llm
        } else {
            llm.freeze()
        };
        // Draw the LLM's lazily created weights (if any) before the projector's, and the
        // projector's now, so the generator state at construction alone decides them.
        materialize(&llm);
        let projector = projector.init(device)?;
        materialize(&projector);
        Ok(Self {
            projector,
            llm,
            variant,
            prompt,
        })
    }

    /// The study variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Trainable and frozen parameter counts: the LLM counts as trainable for the
    /// variants that fine-tune it (V-1, the fine-tuned decoder), frozen otherwise.
    pub fn param_counts(&self) -> ParamCounts {
        let (projector, llm) = (self.projector.num_params(), Module::num_params(&self.llm));
        if self.variant.llm_trainable() {
            ParamCounts {
                trainable: projector + llm,
                frozen: 0,
            }
        } else {
            ParamCounts {
                trainable: projector,
                frozen: llm,
            }
        }
    }

    /// Total prefix length the LLM sees before the report (prompt tokens included).
    pub fn prefix_len(&self) -> usize {
        let p = self.projector.prefix_len();
        match self.variant.layout() {
            PrefixLayout::Bare => p,
            PrefixLayout::R2GenPrompt => p + self.prompt.before.len() + self.prompt.after.len(),
            PrefixLayout::CrossAttention => self.prompt.before.len(),
        }
    }

    /// The LLM input that precedes the report.
    ///
    /// # Shapes
    /// - inputs: `[batch, d_input]` → `[batch, prefix_len, D]`
    pub fn prefix(&self, inputs: Tensor<B, 2>) -> Tensor<B, 3> {
        self.condition(inputs).0
    }

    /// The LLM input that precedes the report, and the encoder states its
    /// cross-attention reads (the projected tokens, cross-attention layout only).
    ///
    /// # Shapes
    /// - inputs: `[batch, d_input]` → (`[batch, prefix_len, D]`, `[batch, n, D]`)
    pub fn condition(&self, inputs: Tensor<B, 2>) -> (Tensor<B, 3>, Option<Tensor<B, 3>>) {
        let device = inputs.device();
        let visual = self.projector.forward(inputs);
        let [batch, _, d] = visual.dims();
        let embed = |ids: &[u32]| {
            if ids.is_empty() {
                Tensor::zeros([1, 0, d], &device)
            } else {
                self.llm.embed(ids_tensor(ids, &device))
            }
        };
        match self.variant.layout() {
            PrefixLayout::Bare => (visual, None),
            PrefixLayout::R2GenPrompt => (
                wrap_in_prompt(
                    embed(&self.prompt.before),
                    visual,
                    embed(&self.prompt.after),
                ),
                None,
            ),
            PrefixLayout::CrossAttention => {
                let start = embed(&self.prompt.before);
                let n = start.dims()[1];
                (start.expand([batch, n, d]), Some(visual))
            }
        }
    }

    /// The LLM with its cross-attention bound to `encoder` (what
    /// [`condition`](Self::condition) returns beside the prefix).
    ///
    /// # Errors
    /// When the LLM has no cross-attention or the widths differ (never for a model
    /// [`new`](Self::new) accepted with the cross-attention layout).
    pub fn conditioned_llm(&self, encoder: Tensor<B, 3>) -> Result<EncoderConditioned<B, L>> {
        Ok(EncoderConditioned::new(self.llm.clone(), encoder)?)
    }

    /// The decoding settings of this variant's paper: R2GenGPT's for the R2GenGPT
    /// variant (3 beams, repetition and length penalties 2.0, at least 80 new tokens as
    /// its generate call asks, capped at `max_new`), greedy otherwise (the paper's
    /// decoding), stopping at `eos`.
    pub fn decoding(&self, max_new: usize, eos: u32) -> GenerationConfig {
        let config = match self.variant {
            Variant::R2GenGpt => {
                GenerationConfig::r2gengpt(max_new).with_min_new_tokens(R2GEN_MIN_NEW.min(max_new))
            }
            _ => GenerationConfig::greedy(max_new),
        };
        config.with_eos(vec![eos])
    }

    /// Reports for projector inputs with this variant's [`decoding`](Self::decoding)
    /// (greedy as the paper decodes, R2GenGPT's beam search for that baseline): the LLM
    /// continues the prefix with its KV cache until `eos` or `max_new` tokens. Returns
    /// each row's ids without the EOS.
    ///
    /// # Shapes
    /// - inputs: `[batch, d_input]`
    ///
    /// # Errors
    /// When the prefix and `max_new` tokens do not fit the LLM's context.
    pub fn generate(
        &self,
        inputs: Tensor<B, 2>,
        max_new: usize,
        eos: u32,
    ) -> Result<Vec<Vec<u32>>> {
        self.generate_with(inputs, &self.decoding(max_new, eos), eos)
    }

    /// [`generate`](Self::generate) with any decoding settings (beam search, penalties,
    /// sampling); ids after the first `eos` are dropped.
    ///
    /// # Shapes
    /// - inputs: `[batch, d_input]`
    pub fn generate_with(
        &self,
        inputs: Tensor<B, 2>,
        config: &GenerationConfig,
        eos: u32,
    ) -> Result<Vec<Vec<u32>>> {
        let ids = match self.condition(inputs) {
            (prefix, None) => rad3d_llm::generate(&self.llm, Some(prefix), &[], config)?,
            (prefix, Some(encoder)) => {
                rad3d_llm::generate(&self.conditioned_llm(encoder)?, Some(prefix), &[], config)?
            }
        };
        Ok(ids
            .into_iter()
            .map(|mut v| {
                if let Some(p) = v.iter().position(|&t| t == eos) {
                    v.truncate(p);
                }
                v
            })
            .collect())
    }
}
