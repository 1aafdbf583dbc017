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
    /// A label set names one label twice.
    #[error("{source_name}: label `{name}` appears twice")]
    DuplicateLabel {
        /// File name or "list".
        source_name: String,
        /// The repeated name.
        name: String,
    },
    /// A label cell is neither `0` nor `1`.
    #[error("{path}: line {line}, column `{column}`: `{value}` is not 0 or 1")]
    NotBinary {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The label column.
        column: String,
        /// The cell as written.
        value: String,
    },
    /// A row has an empty id.
    #[error("{path}: line {line}: empty `{column}`")]
    MissingId {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The id column.
        column: String,
    },
    /// Two rows have the same id.
    #[error("{path}: line {line}: `{id}` appears twice")]
    DuplicateId {
        /// The file.
        path: PathBuf,
        /// 1-based line of the second occurrence.
        line: u64,
        /// The repeated id.
        id: String,
    },
    /// A CSV file is malformed or lacks a column (entity tables, mention lists, label
    /// tables).
    #[error("{path}: line {line}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: u64,
        /// Why.
        reason: String,
    },
    /// Split fractions or a data set that cannot be split.
    #[error("cannot split: {0}")]
    Split(String),
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
