//! RAD3D-Prefix: radiology findings reports from 3D chest CT.
//!
//! The umbrella crate re-exports the workspace's member crates so that a user
//! depends on one crate and composes the pipeline from its parts.

pub use rad3d_classifier as classifier;
pub use rad3d_ctvit as ctvit;
pub use rad3d_llm as llm;
pub use rad3d_metrics as metrics;
pub use rad3d_projector as projector;
pub use rad3d_train as train;
pub use rad3d_volume as volume;
