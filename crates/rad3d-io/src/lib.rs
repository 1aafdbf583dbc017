//! Shared plumbing of rad3d-prefix, written once for every crate:
//!
//! - [`write_atomic`], [`write_atomic_with`], [`write_dir_atomic`]: files and folders
//!   replaced atomically (temporary sibling, flush, rename), so nothing a user already
//!   has is ever left half-written;
//! - [`CheckpointReader`]: PyTorch and safetensors weight files by content, tensors
//!   decoded to f32 on request (f16, bf16, f64 converted); PyTorch views are read with
//!   their offsets and strides, and damaged archives are refused, never zero-filled;
//! - [`SplitMix64`]: the one seeded generator, with a stream that never changes across
//!   versions (data order, synthetic cohorts, shuffles).
//!
//! ```
//! use rad3d_io::{SplitMix64, write_atomic};
//!
//! # fn main() -> rad3d_io::Result<()> {
//! let dir = std::env::temp_dir().join(format!("rad3d-io-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let mut rng = SplitMix64::new(7);
//! let mut order: Vec<usize> = (0..10).collect();
//! rng.shuffle(&mut order);
//! write_atomic(&dir.join("order.json"), format!("{order:?}").as_bytes())?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```

mod atomic;
#[cfg(feature = "chart")]
pub mod chart;
#[cfg(feature = "checkpoint")]
mod checkpoint;
mod error;
#[cfg(feature = "checkpoint")]
mod pytorch;
mod rng;

pub use atomic::{
    previous_dir, sync_file, temp_path, write_atomic, write_atomic_with, write_dir_atomic,
};
#[cfg(feature = "checkpoint")]
pub use checkpoint::CheckpointReader;
pub use error::{IoError, Result};
pub use rng::{SplitMix64, mix64};
