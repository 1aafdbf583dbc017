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
    /// Inputs that cannot be scored together (e.g. different numbers of references and hypotheses).
    #[error("invalid input: {0}")]
    Input(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MetricsError>;
