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
    /// A PyTorch tensor refers to a storage entry (`data/<key>`) the archive lacks.
    #[error("{path}: tensor `{name}` refers to storage `data/{key}`, absent from the archive")]
    MissingStorage {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The storage key.
        key: String,
    },
    /// A PyTorch storage entry holds fewer bytes than its tensor declares.
    #[error("{path}: tensor `{name}`: storage `data/{key}` holds {found} bytes, needs {needed}")]
    StorageTooShort {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The storage key.
        key: String,
        /// Bytes the declared storage size implies.
        needed: u64,
        /// Bytes the entry holds.
        found: u64,
    },
    /// A zip entry is damaged (checksum mismatch, inconsistent sizes).
    #[error("{path}: entry `{entry}`{} is corrupt: {reason}", name.as_ref().map(|n| format!(" (tensor `{n}`)")).unwrap_or_default())]
    CorruptEntry {
        /// The file.
        path: PathBuf,
        /// The zip entry.
        entry: String,
        /// The tensor whose storage it is (`None` for the pickle itself).
        name: Option<String>,
        /// What the zip reader reported.
        reason: String,
    },
    /// A tensor's offset, sizes or strides are negative, overflow, or reach past its
    /// storage.
    #[error("{path}: tensor `{name}` has an impossible layout: {reason}")]
    TensorLayout {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// What does not add up.
        reason: String,
    },
    /// A tensor declares more bytes than the file could justify; refused before allocating.
    #[error(
        "{path}: tensor `{name}` declares {bytes} bytes, more than its {limit}-byte file can hold"
    )]
    TensorTooLarge {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The bytes declared (saturated at `u64::MAX`).
        bytes: u64,
        /// The file size the limit derives from.
        limit: u64,
    },
    /// A checkpoint's pickle uses an opcode or global outside what torch.save writes;
    /// it is refused rather than executed.
    #[error("{path}: pickle refused at byte {position}: {reason}")]
    UnsupportedPickle {
        /// The file.
        path: PathBuf,
        /// Offset of the refused instruction in `data.pkl`.
        position: usize,
        /// Why.
        reason: String,
    },
    /// A weight tensor holds NaN or infinite values: damaged or diverged weights that would
    /// spread through every output.
    #[error(
        "{path}: tensor `{name}` holds {count} NaN or infinite values (first at index {first})"
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// How many values are not finite.
        count: usize,
        /// Flat index of the first one.
        first: usize,
    },
}

impl IoError {
    /// `Ok` when every value is finite, else [`IoError::NonFinite`] naming `path` and
    /// `name`.
    pub fn check_finite(values: &[f32], path: &Path, name: &str) -> Result<()> {
        let Some(first) = values.iter().position(|v| !v.is_finite()) else {
            return Ok(());
        };
        Err(Self::NonFinite {
            path: path.to_path_buf(),
            name: name.to_string(),
            count: values[first..].iter().filter(|v| !v.is_finite()).count(),
            first,
        })
    }

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
            | Self::TensorData { path, .. }
            | Self::MissingStorage { path, .. }
            | Self::StorageTooShort { path, .. }
            | Self::CorruptEntry { path, .. }
            | Self::TensorLayout { path, .. }
            | Self::TensorTooLarge { path, .. }
            | Self::UnsupportedPickle { path, .. }
            | Self::NonFinite { path, .. } => path,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, IoError>;
