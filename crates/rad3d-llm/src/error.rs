//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong loading or running a language model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not in the expected format (truncated, bad magic, bad field).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field or tensor.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, LlmError>;
