//! The crate's single error type.

use std::path::PathBuf;

/// Errors of label handling, training, evaluation and weight I/O.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifierError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A label CSV or label list is unusable.
    #[error("{source_name}: invalid labels: {reason}")]
    Labels {
        /// File name or "list".
        source_name: String,
        /// Why.
        reason: String,
    },
    /// Data given to training or evaluation is inconsistent.
    #[error("invalid data: {0}")]
    Data(String),
    /// A weights file is missing tensors, mis-shaped or unreadable.
    #[error("{path}: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Encoding the chart failed.
    #[error("{path}: cannot write chart: {reason}")]
    Chart {
        /// The output file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ClassifierError>;

impl ClassifierError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<rad3d_io::IoError> for ClassifierError {
    fn from(e: rad3d_io::IoError) -> Self {
        match e {
            rad3d_io::IoError::Io { path, source } => Self::Io { path, source },
            other => Self::Weights {
                path: other.path().to_path_buf(),
                reason: other.to_string(),
            },
        }
    }
}
