//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while assembling, loading or running a prefix model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A model option is out of range or inconsistent with another part.
    #[error("invalid model option {field} = {value}: {reason}")]
    Config {
        /// The option.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A weights file could not be read or written.
    #[error("{path}: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Text could not be tokenised.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The LLM (or its tokenizer) failed to load or to decode.
    #[error(transparent)]
    Llm(#[from] rad3d_llm::LlmError),
    /// The projector rejected its configuration, weights or inputs.
    #[error(transparent)]
    Projector(#[from] rad3d_projector::ProjectorError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
