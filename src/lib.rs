//! RAD3D-Prefix: radiology findings reports from 3D chest CT.
//!
//! The umbrella crate re-exports the workspace's member crates so that a user
//! depends on one crate and composes the pipeline from its parts.

pub use rad3d_volume as volume;
