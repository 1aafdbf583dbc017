//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building or loading a projector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectorError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The safetensors container itself is malformed.
    #[error("{path}: not a valid safetensors file: {reason}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What the parser reported.
        reason: String,
    },
    /// The `config` metadata entry is absent or not a valid mapper configuration.
    #[error("{path}: metadata `config`: {reason}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Tensors the configuration requires are not in the file.
    #[error("{path}: missing tensors: {}", names.join(", "))]
    MissingTensors {
        /// The file.
        path: PathBuf,
        /// Original checkpoint names that were not found.
        names: Vec<String>,
    },
    /// The file holds weights the configuration has no place for.
    #[error("{path}: unexpected tensors: {}", names.join(", "))]
    UnexpectedTensors {
        /// The file.
        path: PathBuf,
        /// Original checkpoint names with no matching parameter.
        names: Vec<String>,
    },
    /// A tensor has the wrong shape or data type.
    #[error("{path}: tensor `{name}`: expected {expected}, found {found}")]
    Tensor {
        /// The file.
        path: PathBuf,
        /// The tensor's checkpoint name.
        name: String,
        /// What the configuration requires.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A configuration value is out of range.
    #[error("invalid projector configuration: {field} = {value}: {reason}")]
    Config {
        /// The configuration field.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ProjectorError>;
