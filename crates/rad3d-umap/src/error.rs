//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong computing or drawing an embedding.
#[derive(Debug, thiserror::Error)]
pub enum UmapError {
    /// A setting outside its range.
    #[error("UMAP setting `{field}` = {value}: {reason}")]
    Config {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// Input points that cannot be embedded.
    #[error("UMAP input: {0}")]
    Data(String),
    /// Drawing the chart failed.
    #[error("{path}: cannot draw the chart: {reason}")]
    Chart {
        /// The chart file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Writing the chart failed.
    #[error(transparent)]
    Io(#[from] rad3d_io::IoError),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, UmapError>;
