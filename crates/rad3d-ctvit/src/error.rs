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
    /// The file is not a checkpoint this crate can read (bad header, unknown format, truncated).
    #[error("{path}: not a readable checkpoint: {reason}")]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// Tensors the encoder needs are absent from the checkpoint.
    #[error("{path}: missing tensors: {}", names.join(", "))]
    MissingTensors {
        /// The file.
        path: PathBuf,
        /// The missing names (original checkpoint names).
        names: Vec<String>,
    },
    /// Tensors that are neither used nor on the explicit ignore list.
    #[error("{path}: unexpected tensors: {}", names.join(", "))]
    UnexpectedTensors {
        /// The file.
        path: PathBuf,
        /// The unexpected names.
        names: Vec<String>,
    },
    /// A tensor has a different shape than the configuration implies.
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The shape the configuration implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has a dtype that cannot hold weights (integers, bools, ...).
    #[error("{path}: tensor `{name}` has dtype {dtype}, expected a floating-point type")]
    DType {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
    },
    /// A tensor's data could not be read (truncated or corrupt storage).
    #[error("{path}: tensor `{name}` could not be read: {reason}")]
    TensorData {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// Why.
        reason: String,
    },
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
