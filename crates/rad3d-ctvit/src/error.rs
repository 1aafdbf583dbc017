//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong while configuring, loading or caching the encoder.
///
/// Every variant names the file and, where one is involved, the tensor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtVitError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint is unreadable or does not fit the encoder (missing, unexpected,
    /// mis-shaped or non-float tensors), naming the file and the tensors.
    #[error(transparent)]
    Checkpoint(rad3d_io::IoError),
    /// A configuration is invalid or could not be parsed.
    #[error("{source_name}: invalid configuration: {reason}")]
    Config {
        /// Where the configuration came from (file name or "metadata").
        source_name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A list of volumes (a metadata CSV or a directory) is unusable.
    #[error("{path}: volume list: {reason}")]
    Manifest {
        /// The CSV file or directory.
        path: PathBuf,
        /// Why, with the line and column where one is involved.
        reason: String,
    },
    /// The embedding cache is inconsistent or was written with other dimensions.
    #[error("{path}: embedding cache: {reason}")]
    Cache {
        /// The cache directory or shard.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, CtVitError>;

impl CtVitError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<rad3d_io::IoError> for CtVitError {
    fn from(e: rad3d_io::IoError) -> Self {
        match e {
            // A file the system cannot open or write is an I/O error wherever it happens.
            rad3d_io::IoError::Io { path, source } => Self::Io { path, source },
            other => Self::Checkpoint(other),
        }
    }
}
