//! What trains: a prefix-conditioned LM ([`PrefixModel`], from `rad3d-model`) or a bare
//! LM ([`TextLm`]), behind one [`TrainModel`] interface so a single loop trains either.

use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module, ModuleDisplay};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_llm::CausalLm;
use rad3d_model::{ModelError, PrefixModel, load_record, save_record};

use crate::batch::TokenBatch;
use crate::error::{Result, TrainError};
use crate::nll::{report_nll, report_nll_frozen, report_nll_fused};

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

pub(crate) fn save_part<B: Backend, M: Module<B>>(
    m: &M,
    dir: &Path,
    name: &str,
) -> Result<PathBuf> {
    save_record(m, &dir.join(name)).map_err(checkpoint_err)
}

pub(crate) fn load_part<B: Backend, M: Module<B>>(
    m: M,
    dir: &Path,
    name: &str,
    device: &B::Device,
) -> Result<M> {
    load_record(m, &dir.join(name), device).map_err(checkpoint_err)
}

fn checkpoint_err(e: ModelError) -> TrainError {
    match e {
        ModelError::Weights { path, reason } => TrainError::Checkpoint { path, reason },
        other => other.into(),
    }
}

/// Report NLL of a batch for a prefix model (see [`report_nll`]): the value every
/// training loss path must reproduce, and validation's loss.
pub fn prefix_loss<B: Backend, L: CausalLm<B>>(
    model: &PrefixModel<B, L>,
    batch: &TokenBatch<B>,
) -> Tensor<B, 1> {
    let (tokens, mask) = (batch.tokens.clone(), batch.mask.clone());
    match model.condition(projector_inputs(batch)) {
        (prefix, None) => report_nll(&model.llm, prefix, tokens, mask),
        (prefix, Some(encoder)) => report_nll(&conditioned(model, encoder), prefix, tokens, mask),
    }
}

/// The LLM of a cross-attention model bound to its encoder states; `PrefixModel::new`
/// only accepts that layout with an LLM that has cross-attention.
fn conditioned<B: Backend, L: CausalLm<B>>(
    model: &PrefixModel<B, L>,
    encoder: Tensor<B, 3>,
) -> rad3d_llm::EncoderConditioned<B, L> {
    model
        .conditioned_llm(encoder)
        .expect("the model was built with cross-attention")
}

fn projector_inputs<B: Backend>(batch: &TokenBatch<B>) -> Tensor<B, 2> {
    batch
        .inputs
        .clone()
        .expect("a prefix model's batch carries projector inputs")
}

impl<B: AutodiffBackend, L> TrainModel<B> for PrefixModel<B, L>
where
    L: CausalLm<B> + AutodiffModule<B> + ModuleDisplay,
    L::InnerModule: CausalLm<B::InnerBackend> + ModuleDisplay,
{
    fn loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1> {
        let (prefix, encoder) = self.condition(projector_inputs(batch));
        let (tokens, mask) = (batch.tokens.clone(), batch.mask.clone());
        if let Some(encoder) = encoder {
            // Cross-attention (the fine-tuned decoder): the LLM trains, through autodiff.
            return report_nll_fused(&conditioned(self, encoder), prefix, tokens, mask);
        }
        if !self.variant().llm_trainable() {
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
        prefix_loss(&self.valid(), &batch.inner())
            .into_scalar()
            .elem::<f64>()
    }

    fn trainable_parts(&self) -> Vec<&'static str> {
        if self.variant().llm_trainable() {
            vec!["projector", "llm"]
        } else {
            vec!["projector"]
        }
    }

    fn save_trainable(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files = vec![save_part(&self.projector, dir, "projector")?];
        if self.variant().llm_trainable() {
            files.push(save_part(&self.llm, dir, "llm")?);
        }
        Ok(files)
    }

    fn load_trainable(mut self, dir: &Path, device: &B::Device) -> Result<Self> {
        self.projector = load_part(self.projector, dir, "projector", device)?;
        if self.variant().llm_trainable() {
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

impl<B: Backend, L: CausalLm<B>> TextLm<B, L> {
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
    L: CausalLm<B> + AutodiffModule<B> + ModuleDisplay,
    L::InnerModule: Module<B::InnerBackend> + ModuleDisplay,
{
    fn loss(&self, batch: &TokenBatch<B>) -> Tensor<B, 1> {
        let [b, _] = batch.tokens.dims();
        let device = batch.tokens.device();
        let start = Tensor::<B, 2, Int>::from_data(
            TensorData::new(vec![self.start_id as i64], [1, 1]),
            &device,
        )
        .repeat_dim(0, b);
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
