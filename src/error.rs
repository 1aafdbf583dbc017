//! The umbrella's one error type: every member crate's error, plus the pipeline's own.

use std::path::PathBuf;

/// Anything that can go wrong anywhere in the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or preprocessing a CT volume.
    #[error(transparent)]
    Volume(#[from] rad3d_volume::VolumeError),
    /// The CT-ViT encoder, its checkpoint or the embedding cache.
    #[error(transparent)]
    CtVit(#[from] rad3d_ctvit::CtVitError),
    /// The anomaly classifier.
    #[error(transparent)]
    Classifier(#[from] rad3d_classifier::ClassifierError),
    /// A prefix projector.
    #[error(transparent)]
    Projector(#[from] rad3d_projector::ProjectorError),
    /// The language model, its weights or its tokenizer.
    #[error(transparent)]
    Llm(#[from] rad3d_llm::LlmError),
    /// The prefix model (projector + LLM), its records or its tokenizer.
    #[error(transparent)]
    Model(#[from] rad3d_model::ModelError),
    /// Report metrics.
    #[error(transparent)]
    Metrics(#[from] rad3d_metrics::MetricsError),
    /// Datasets, training and checkpoints.
    #[error(transparent)]
    Train(#[from] rad3d_train::TrainError),
    /// A file or folder could not be written atomically.
    #[error(transparent)]
    Files(#[from] rad3d_io::IoError),
    /// A pipeline file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A pipeline description (`pipeline.json`) is malformed or inconsistent.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field and value.
        reason: String,
    },
}

/// Result alias of the umbrella crate.
pub type Result<T> = std::result::Result<T, Error>;
