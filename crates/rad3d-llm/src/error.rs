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
    /// A configuration field is missing or out of range.
    #[error("{path}: config field `{field}`: {reason}")]
    Config {
        /// The config file (or a description of where the config came from).
        path: PathBuf,
        /// The offending field.
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The checkpoint names an architecture this crate does not implement.
    #[error("{path}: unknown architecture `{architecture}` (supported: gpt2, llama, biogpt)")]
    UnknownArchitecture {
        /// The config or weight file.
        path: PathBuf,
        /// The architecture / model type found.
        architecture: String,
    },
    /// The weights do not fit the model: missing, unexpected (and not explicitly
    /// ignored) or mis-shaped tensors, or an unreadable checkpoint, naming the file and
    /// the tensors.
    #[error(transparent)]
    Checkpoint(rad3d_io::IoError),
    /// A tensor is stored in an element type this crate cannot convert.
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// The weight file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
    },
    /// A tokenizer could not be loaded or used.
    #[error("{path}: tokenizer: {reason}")]
    Tokenizer {
        /// The tokenizer file (or directory).
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The tokenizer's vocabulary does not fit the model's embedding table.
    #[error(
        "{path}: tokenizer has {tokenizer_vocab} tokens (highest id {max_id}) but the model vocabulary is {model_vocab}"
    )]
    VocabMismatch {
        /// The tokenizer file.
        path: PathBuf,
        /// Number of tokens the tokenizer knows (added tokens included).
        tokenizer_vocab: usize,
        /// Highest token id the tokenizer can produce.
        max_id: usize,
        /// Rows of the model's embedding table.
        model_vocab: usize,
    },
    /// A generation request is invalid (bad parameter or input shape).
    #[error("generation: {0}")]
    Generation(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, LlmError>;

impl From<rad3d_io::IoError> for LlmError {
    fn from(e: rad3d_io::IoError) -> Self {
        match e {
            // A file the system cannot open is an I/O error wherever it happens.
            rad3d_io::IoError::Io { path, source } => Self::Io { path, source },
            rad3d_io::IoError::DType {
                path, name, dtype, ..
            } => Self::UnsupportedDtype { path, name, dtype },
            other => Self::Checkpoint(other),
        }
    }
}
