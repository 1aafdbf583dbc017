//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building or loading a projector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectorError {
    /// A weight file is unreadable or does not fit the configuration (missing,
    /// unexpected, mis-shaped or non-float tensors), naming the file and the tensors.
    #[error(transparent)]
    Checkpoint(#[from] rad3d_io::IoError),
    /// The `config` metadata entry is absent or not a valid mapper configuration.
    #[error("{path}: metadata `config`: {reason}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
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
