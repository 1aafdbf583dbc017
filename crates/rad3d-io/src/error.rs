//! The crate's error type.

use std::path::{Path, PathBuf};

/// A file or folder could not be read or written, or a checkpoint is unreadable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The operating system refused an operation on `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
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
    /// Tensors asked for are absent from the checkpoint.
    #[error("{path}: missing tensors: {}", names.join(", "))]
    MissingTensors {
        /// The file.
        path: PathBuf,
        /// The missing names (as asked for, relative to the prefix).
        names: Vec<String>,
    },
    /// Tensors that the reader's model has no place for (and does not ignore on purpose).
    #[error("{path}: unexpected tensors: {}", names.join(", "))]
    UnexpectedTensors {
        /// The file.
        path: PathBuf,
        /// The unexpected names.
        names: Vec<String>,
    },
    /// A tensor has a different shape than the model's configuration implies.
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
    /// A tensor's dtype is not one the caller can use (integers where weights are read, …).
    #[error("{path}: tensor `{name}` has dtype {dtype}, expected {expected}")]
    DType {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
        /// What was expected.
        expected: &'static str,
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
}

impl IoError {
    /// A `map_err` adapter that names `path`.
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> IoError + '_ {
        move |source| IoError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::NotACheckpoint { path, .. }
            | Self::MissingTensors { path, .. }
            | Self::UnexpectedTensors { path, .. }
            | Self::ShapeMismatch { path, .. }
            | Self::DType { path, .. }
            | Self::TensorData { path, .. } => path,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, IoError>;
