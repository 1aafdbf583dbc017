//! [`PrefixModel`]: the RAD3D-Prefix report generator — a trainable projector whose
//! output prefix (optionally wrapped in R2GenGPT's prompt) conditions a decoder-only LLM.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_llm::{CausalLm, GenerationConfig};
use rad3d_projector::{
    PrefixLayout, Projector, ProjectorConfig, R2GEN_PROMPT_AFTER, R2GEN_PROMPT_BEFORE, Variant,
    wrap_in_prompt,
};

use crate::error::{ModelError, Result};
use crate::materialize::materialize;
use crate::tokenizer::ReportTokenizer;

/// Token ids of R2GenGPT's prompt halves (BOS, if any, at the front of `before`).
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
    /// `tokenizer` for the R2GenGPT layout, none for the others. Training and every
    /// loaded pipeline build it here, so both see the same ids.
    ///
    /// # Errors
    /// [`ModelError::Tokenizer`] when the prompt cannot be tokenised.
    pub fn for_variant(variant: Variant, tokenizer: &dyn ReportTokenizer) -> Result<Self> {
        if variant.layout() != PrefixLayout::R2GenPrompt {
            return Ok(Self::default());
        }
        let mut before: Vec<u32> = tokenizer.bos_id().into_iter().collect();
        before.extend(tokenizer.encode(R2GEN_PROMPT_BEFORE)?);
        Ok(Self {
            before,
            after: tokenizer.encode(R2GEN_PROMPT_AFTER)?,
        })
    }
}

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

    /// Total prefix length the LLM sees before the report (prompt tokens included).
    pub fn prefix_len(&self) -> usize {
        let p = self.projector.prefix_len();
        match self.variant.layout() {
            PrefixLayout::Bare => p,
            PrefixLayout::R2GenPrompt => p + self.prompt.before.len() + self.prompt.after.len(),
        }
    }

    /// The LLM input that precedes the report.
    ///
    /// # Shapes
    /// - inputs: `[batch, d_input]` → `[batch, prefix_len, D]`
    pub fn prefix(&self, inputs: Tensor<B, 2>) -> Tensor<B, 3> {
        let device = inputs.device();
        let visual = self.projector.forward(inputs);
        match self.variant.layout() {
            PrefixLayout::Bare => visual,
            PrefixLayout::R2GenPrompt => {
                let d = visual.dims()[2];
                let embed = |ids: &[u32]| {
                    if ids.is_empty() {
                        Tensor::zeros([1, 0, d], &device)
                    } else {
                        self.llm.embed(ids_tensor(ids, &device))
                    }
                };
                wrap_in_prompt(
                    embed(&self.prompt.before),
                    visual,
                    embed(&self.prompt.after),
                )
            }
        }
    }

    /// Greedy reports (as the paper decodes) for projector inputs: the LLM continues the
    /// prefix with its KV cache until `eos` or `max_new` tokens. Returns each row's ids
    /// without the EOS.
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
        let config = GenerationConfig::greedy(max_new).with_eos(vec![eos]);
        self.generate_with(inputs, &config, eos)
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
        let ids = rad3d_llm::generate(&self.llm, Some(self.prefix(inputs)), &[], config)?;
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
