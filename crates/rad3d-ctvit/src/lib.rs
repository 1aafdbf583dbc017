//! CT-CLIP's CT-ViT image encoder, latent head and checkpoint loading.
//!
//! Re-implements CTViT's encoder exactly as CT-CLIP uses it (patch embedding, spatial
//! transformer with continuous position bias, temporal transformer, causal PEGs, cosine-sim
//! VQ) plus CT-CLIP's `to_visual_latent` head, loads released checkpoints by their original
//! names, and stores per-volume latents in an [`cache::EmbeddingCache`] ([`embed`] runs the
//! resumable extraction over a whole dataset).
//!
//! ```no_run
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use rad3d_ctvit::{CtVitConfig, load_ctclip_checkpoint};
//!
//! # fn main() -> rad3d_ctvit::Result<()> {
//! let device = Default::default();
//! let encoder = load_ctclip_checkpoint::<Flex>("CT-CLIP_v2.pt", &CtVitConfig::ct_clip(), &device)?;
//! let volume = Tensor::<Flex, 5>::zeros([1, 1, 240, 480, 480], &device);
//! let out = encoder.forward(volume);
//! println!("latent {:?}", out.latent.dims()); // [1, 512], l2-normalised
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod attention;
pub mod cache;
mod config;
pub mod embed;
mod error;
mod feedforward;
mod loader;
mod model;
mod patch;
mod peg;
mod transformer;
mod vq;

pub use attention::{Attention, ContinuousPositionBias};
pub use config::CtVitConfig;
pub use error::{CtVitError, Result};
pub use feedforward::FeedForward;
pub use loader::{
    CheckpointReader, IGNORED_PREFIXES, IGNORED_SUFFIXES, load_ctclip_checkpoint, load_into,
    visual_key_map,
};
pub use model::{CtVit, CtVitOutput};
pub use patch::PatchEmbedding;
pub use peg::Peg;
pub use transformer::{Transformer, TransformerDims, TransformerLayer};
pub use vq::VectorQuantizer;
