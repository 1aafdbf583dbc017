//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading data, training or writing results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV file is malformed or lacks a column.
    #[error("{path}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The data sets disagree (duplicate names, no examples left, label mismatch, …).
    #[error("{what}: {reason}")]
    Data {
        /// Which data set or file.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint is missing, incomplete or corrupted.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A training option is out of range.
    #[error("invalid training option {field} = {value}: {reason}")]
    Config {
        /// The option.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// Text could not be tokenised.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The projector rejected its configuration or weights.
    #[error(transparent)]
    Projector(#[from] rad3d_projector::ProjectorError),
    /// A file or folder could not be written atomically.
    #[error(transparent)]
    Files(#[from] rad3d_io::IoError),
    /// The model (projector + LLM) could not be assembled, loaded or run.
    #[error(transparent)]
    Model(#[from] rad3d_model::ModelError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
    let path = path.into();
    move |source| TrainError::Io { path, source }
}
