//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong computing metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A report file (CSV, JSONL) is malformed, lacks a column or does not match the references.
    #[error("{path}: {reason}")]
    Reports {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the line and column.
        reason: String,
    },
    /// Inputs that cannot be scored together (e.g. different numbers of references and hypotheses).
    #[error("invalid input: {0}")]
    Input(String),
    /// A model file (config, tokenizer, baseline) is missing or malformed.
    #[error("{path}: {reason}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint tensor is missing, mis-shaped or of an unsupported dtype.
    #[error("{path}: tensor `{tensor}`: {reason}")]
    Tensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name in the checkpoint.
        tensor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The GREEN judge model failed to load or generate.
    #[cfg(feature = "green")]
    #[error("GREEN judge: {0}")]
    Judge(#[from] rad3d_llm::LlmError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MetricsError>;
