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
    /// A cached latent or logit is NaN or infinite (a damaged shard, or an encoder whose
    /// weights produced NaN): naming the shard, the volume and the value.
    #[error(
        "{path}: embedding cache: `{tensor}` of volume `{volume}` is {value} ({count} NaN or infinite values in this shard); delete the shard and run `rad3d embed` again to re-encode its volumes"
    )]
    NonFinite {
        /// The shard (or, when writing, the cache directory).
        path: PathBuf,
        /// `latent` or `logits`.
        tensor: String,
        /// The volume whose row holds the first such value.
        volume: String,
        /// That value.
        value: f32,
        /// How many values of the tensor are not finite.
        count: usize,
    },
    /// Another writer holds the cache's lock for this writer's tag: two writers of one tag
    /// would write the same shard names and overwrite each other's volumes.
    #[error(
        "{lock}: another writer ({holder}) is writing shards tagged `{tag}` into this cache; wait for it to finish or give the runs different parts (`--shard i/n`). The lock is released when its process exits, so one left by a killed run never blocks"
    )]
    Locked {
        /// The lock file.
        lock: PathBuf,
        /// The writer tag both runs use.
        tag: String,
        /// Who holds it, as recorded in the lock file (its process id).
        holder: String,
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
