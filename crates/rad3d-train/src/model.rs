//! What trains: a prefix-conditioned LM ([`PrefixModel`]) or a bare LM ([`TextLm`]),
//! behind one [`TrainModel`] interface so a single loop trains either.

use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module, ModuleDisplay};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_projector::{PrefixLayout, Projector, ProjectorConfig, Variant, wrap_in_prompt};

use crate::batch::TokenBatch;
use crate::error::{Result, TrainError};
use crate::materialize::materialize;
use crate::nll::{OutputHead, report_nll, report_nll_frozen, report_nll_fused};

/// The decoder-only LM operations training needs: embedding lookup and a causal
/// forward pass from input embeddings to logits.
pub trait LmBackbone<B: Backend>: Module<B> {
    /// Embedding width `D`.
    fn d_model(&self) -> usize;
    /// Vocabulary size.
    fn vocab_size(&self) -> usize;
    /// Token embeddings.
    ///
    /// # Shapes
    /// - ids: `[batch, seq]` → `[batch, seq, D]`
    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3>;
    /// Causal forward pass from embeddings (positions start at 0) to the final hidden
    /// states, the output projection's input.
    ///
    /// # Shapes
    /// - embeddings: `[batch, seq, D]` → `[batch, seq, D]`
    fn hidden(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3>;
    /// The output projection from hidden states to logits.
    fn output_head(&self) -> OutputHead<B>;
    /// For a model trained with every parameter frozen: [`hidden`](Self::hidden) plus
    /// the map from `∂L/∂hidden` to `∂L/∂embeddings`, computed without an autodiff graph.
    /// `None` (the default) when the model has no such path; the loss then records the
    /// forward pass in the graph instead.
    ///
    /// # Shapes
    /// - embeddings: `[batch, seq, D]` → `[batch, seq, D]`; the map: `[batch, seq, D]` →
    ///   `[batch, seq, D]`
    fn hidden_frozen_backward(
        &self,
        embeddings: Tensor<B, 3>,
    ) -> Option<(Tensor<B, 3>, FrozenBackward<B>)> {
        let _ = embeddings;
        None
    }
    /// Causal forward pass from embeddings (positions start at 0) to next-token logits.
    ///
    /// # Shapes
    /// - embeddings: `[batch, seq, D]` → `[batch, seq, vocab]`
    fn logits(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, t, _] = embeddings.dims();
        let hidden = self.hidden(embeddings);
        let d = hidden.dims()[2];
        let logits = self.output_head().forward(hidden.reshape([b * t, d]));
        let v = logits.dims()[1];
        logits.reshape([b, t, v])
    }
    /// Greedy continuation of `prefix` until `eos` or `max_new` tokens, per row, without
    /// the EOS. The default recomputes the sequence each step; models with a KV cache
    /// override it.
    ///
    /// # Shapes
    /// - prefix: `[batch, P, D]`
    fn greedy(&self, prefix: Tensor<B, 3>, max_new: usize, eos: u32) -> Vec<Vec<u32>>
    where
        Self: Sized,
    {
        crate::generate::greedy_from_prefix(self, prefix, max_new, eos)
    }
}

/// The backward pass of a frozen LM's forward pass: `∂L/∂hidden` → `∂L/∂embeddings`.
pub type FrozenBackward<B> = Box<dyn FnOnce(Tensor<B, 3>) -> Tensor<B, 3> + Send>;

/// A model the training loop can optimise.
pub trait TrainModel<B: AutodiffBackend>: AutodiffModule<B> {
    /// Loss of one batch (a scalar).
    fn loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1>;
    /// Loss of one batch for validation: the value of [`loss`](Self::loss), computed
    /// without gradients where the model can (the default records the graph).
    fn eval_loss(&self, batch: &TokenBatch<B>) -> f64 {
        use burn::tensor::ElementConversion;
        self.loss(batch).into_scalar().elem::<f64>()
    }
    /// Names of the sub-modules whose parameters train (saved in checkpoints).
    fn trainable_parts(&self) -> Vec<&'static str>;
    /// Saves the trainable sub-modules into `dir` (one file per part); returns the files.
    fn save_trainable(&self, dir: &Path) -> Result<Vec<PathBuf>>;
    /// Loads the trainable sub-modules from `dir`, keeping parameter ids from the files
    /// so that a saved optimizer state applies.
    fn load_trainable(self, dir: &Path, device: &B::Device) -> Result<Self>;
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

pub(crate) fn save_part<B: Backend, M: Module<B>>(
    m: &M,
    dir: &Path,
    name: &str,
) -> Result<PathBuf> {
    // The recorder appends `.mpk`.
    let stem = dir.join(name);
    m.clone()
        .save_file(&stem, &recorder())
        .map_err(|e| TrainError::Checkpoint {
            path: stem.clone(),
            reason: e.to_string(),
        })?;
    Ok(stem.with_extension("mpk"))
}

pub(crate) fn load_part<B: Backend, M: Module<B>>(
    m: M,
    dir: &Path,
    name: &str,
    device: &B::Device,
) -> Result<M> {
    let stem = dir.join(name);
    m.load_file(&stem, &recorder(), device)
        .map_err(|e| TrainError::Checkpoint {
            path: stem.with_extension("mpk"),
            reason: e.to_string(),
        })
}

/// Token ids of R2GenGPT's prompt halves (BOS, if any, at the front of `before`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptIds {
    /// Ids before the visual tokens.
    pub before: Vec<u32>,
    /// Ids after the visual tokens.
    pub after: Vec<u32>,
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

fn ids_tensor<B: Backend>(ids: &[u32], device: &B::Device) -> Tensor<B, 2, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [1, ids.len()]), device)
}

impl<B: Backend, L: LmBackbone<B>> PrefixModel<B, L> {
    /// Builds the model of `variant` around `llm`: initialises the projector and freezes
    /// the LLM unless the variant trains it. `prompt` is used by the R2GenGPT layout only.
    pub fn new(
        variant: Variant,
        projector: &ProjectorConfig,
        llm: L,
        prompt: PromptIds,
        device: &B::Device,
    ) -> Result<Self> {
        if projector.d_model() != llm.d_model() {
            return Err(TrainError::Config {
                field: "projector.d_model",
                value: projector.d_model().to_string(),
                reason: "must equal the LLM's embedding width",
            });
        }
        if variant.layout() == PrefixLayout::R2GenPrompt && prompt.after.is_empty() {
            return Err(TrainError::Config {
                field: "prompt",
                value: "empty".into(),
                reason: "the R2GenGPT layout needs the tokenised prompt",
            });
        }
        let llm = if variant.llm_trainable() {
            llm
        } else {
            llm.no_grad()
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

    /// Report NLL of a batch (see [`report_nll`]).
    pub fn forward_loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1> {
        report_nll(
            &self.llm,
            self.prefix(self.projector_inputs(batch)),
            batch.tokens.clone(),
            batch.mask.clone(),
        )
    }

    fn projector_inputs(&self, batch: &TokenBatch<B>) -> Tensor<B, 2> {
        batch
            .inputs
            .clone()
            .expect("a prefix model's batch carries projector inputs")
    }
}

impl<B: AutodiffBackend, L> TrainModel<B> for PrefixModel<B, L>
where
    L: LmBackbone<B> + AutodiffModule<B> + ModuleDisplay,
    L::InnerModule: LmBackbone<B::InnerBackend> + ModuleDisplay,
{
    fn loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1> {
        let prefix = self.prefix(self.projector_inputs(batch));
        let (tokens, mask) = (batch.tokens.clone(), batch.mask.clone());
        if !self.variant.llm_trainable() {
            let frozen = self.llm.valid();
            if let Some(loss) =
                report_nll_frozen(&frozen, prefix.clone(), tokens.clone(), mask.clone())
            {
                return loss;
            }
        }
        report_nll_fused(&self.llm, prefix, tokens, mask)
    }

    fn eval_loss(&self, batch: &TokenBatch<B>) -> f64 {
        use burn::tensor::ElementConversion;
        // The inner model's forward pass only: no graph, no frozen backward pass.
        self.valid()
            .forward_loss(&batch.inner())
            .into_scalar()
            .elem::<f64>()
    }

    fn trainable_parts(&self) -> Vec<&'static str> {
        if self.variant.llm_trainable() {
            vec!["projector", "llm"]
        } else {
            vec!["projector"]
        }
    }

    fn save_trainable(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files = vec![save_part(&self.projector, dir, "projector")?];
        if self.variant.llm_trainable() {
            files.push(save_part(&self.llm, dir, "llm")?);
        }
        Ok(files)
    }

    fn load_trainable(mut self, dir: &Path, device: &B::Device) -> Result<Self> {
        self.projector = load_part(self.projector, dir, "projector", device)?;
        if self.variant.llm_trainable() {
            self.llm = load_part(self.llm, dir, "llm", device)?;
        }
        Ok(self)
    }
}

/// A bare LM trained on report text (BOS, if any, as a one-token prefix): pre-trains
/// the small LM of the quickstart with the same loop.
#[derive(Module, Debug)]
pub struct TextLm<B: Backend, L> {
    /// The language model; every parameter trains.
    pub llm: L,
    #[module(skip)]
    start_id: u32,
    #[module(skip)]
    _backend: std::marker::PhantomData<B>,
}

impl<B: Backend, L: LmBackbone<B>> TextLm<B, L> {
    /// Wraps `llm`; `start_id` (BOS, or EOS for models without BOS) begins every text.
    pub fn new(llm: L, start_id: u32) -> Self {
        Self {
            llm,
            start_id,
            _backend: std::marker::PhantomData,
        }
    }

    /// Unwraps the LM.
    pub fn into_inner(self) -> L {
        self.llm
    }
}

impl<B: AutodiffBackend, L> TrainModel<B> for TextLm<B, L>
where
    L: LmBackbone<B> + AutodiffModule<B> + ModuleDisplay,
    L::InnerModule: Module<B::InnerBackend> + ModuleDisplay,
{
    fn loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1> {
        let [b, _] = batch.tokens.dims();
        let device = batch.tokens.device();
        let start = ids_tensor::<B>(&[self.start_id], &device).repeat_dim(0, b);
        let prefix = self.llm.embed(start);
        report_nll_fused(&self.llm, prefix, batch.tokens.clone(), batch.mask.clone())
    }

    fn trainable_parts(&self) -> Vec<&'static str> {
        vec!["llm"]
    }

    fn save_trainable(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![save_part(&self.llm, dir, "llm")?])
    }

    fn load_trainable(mut self, dir: &Path, device: &B::Device) -> Result<Self> {
        self.llm = load_part(self.llm, dir, "llm", device)?;
        Ok(self)
    }
}
