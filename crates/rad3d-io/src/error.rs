//! The crate's error type.

use std::path::{Path, PathBuf};

/// A file or folder could not be read or written.
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
            Self::Io { path, .. } => path,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, IoError>;
