//! RAD3D-Prefix: radiology findings reports from 3D chest CT.
//!
//! A frozen CT-CLIP encoder turns a NIfTI volume into a 512-d latent, a multi-label
//! anomaly classifier adds diagnostic logits, a small trainable projector maps
//! `[latent ; logits]` to a fixed-length prefix of LLM embeddings, and a frozen LLM writes
//! the report from that prefix. This umbrella crate re-exports the member crates, joins
//! them in a [`Pipeline`], and runs the whole method on synthetic data in [`quickstart`].
//!
//! ```no_run
//! use burn::backend::Flex;
//! use rad3d_prefix::prelude::*;
//!
//! # fn main() -> rad3d_prefix::Result<()> {
//! let device = Default::default();
//! let pipeline = Pipeline::<Flex>::load("weights/", &device)?; // pipeline.json + weights
//! let report = pipeline.generate_from_nifti("chest.nii.gz")?;
//! println!("{}", report.text);
//! for (label, p) in &report.finding_probabilities {
//!     println!("{label:>40}: {p:.2}");
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub use rad3d_classifier as classifier;
pub use rad3d_ctvit as ctvit;
pub use rad3d_io as io;
pub use rad3d_llm as llm;
pub use rad3d_metrics as metrics;
pub use rad3d_model as model;
pub use rad3d_projector as projector;
pub use rad3d_train as train;
pub use rad3d_umap as umap;
pub use rad3d_volume as volume;

mod error;
pub mod pipeline;
pub mod quickstart;

pub use error::{Error, Result};
pub use pipeline::{LlmSpec, Pipeline, PipelineConfig, Report};

/// The types most programs need.
pub mod prelude {
    pub use crate::pipeline::{LlmSpec, Pipeline, PipelineConfig, Report};
    pub use crate::{Error, Result};
    pub use rad3d_classifier::{AnomalyClassifier, AnomalyClassifierConfig, LabelSet};
    pub use rad3d_ctvit::{CtVit, CtVitConfig};
    pub use rad3d_llm::{CausalLm, GenerationConfig, Llm, Tokenizer};
    pub use rad3d_model::{PrefixModel, ReportTokenizer};
    pub use rad3d_projector::{Projector, ProjectorConfig, Variant};
    pub use rad3d_volume::{Preprocess, Volume, read_nifti};
}
