//! Prefix projectors (ClipCap transformer mapper, linear, R2GenGPT-style) and the
//! RAD3D-Prefix variant catalogue.
//!
//! A projector maps one vector per study — the CT-CLIP latent, or for V-3 the latent
//! concatenated with the anomaly classifier's logits — to a sequence of LLM input
//! embeddings (the *prefix*) that a decoder-only LLM continues from.
//!
//! ```no_run
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use rad3d_projector::{Variant, load_clipcap_mapper};
//!
//! let device = Default::default();
//! // RAD3D-Prefix (V-3) for LLaMA-3.2-1B: [512 latent ; 18 logits] → 10 × 2048.
//! let config = Variant::V3.projector_config(512, 18, 2048, 10, 8);
//! let projector = config.init::<Flex>(&device)?;
//! let latent = Tensor::<Flex, 2>::zeros([1, 512], &device);
//! let logits = Tensor::<Flex, 2>::zeros([1, 18], &device);
//! let prefix = projector.forward(Variant::V3.projector_input(latent, Some(logits))?);
//! assert_eq!(prefix.dims(), [1, 10, 2048]);
//!
//! // A ClipCap mapper saved under its original names, config in the metadata.
//! let (cfg, mapper) = load_clipcap_mapper::<Flex>("clipcap_mapper.safetensors", &device)?;
//! # Ok::<(), rad3d_projector::ProjectorError>(())
//! ```

#![forbid(unsafe_code)]

mod clipcap;
mod error;
mod layer;
mod linear;
mod projector;
mod transformer;
mod variant;

pub use clipcap::{
    NamedTensors, clipcap_names, load_clipcap_mapper, mapper_from_tensors, save_clipcap_mapper,
};
pub use error::{ProjectorError, Result};
pub use layer::{
    ClipCapAttention, ClipCapAttentionConfig, ClipCapLayer, ClipCapLayerConfig, ClipCapMlp,
    ClipCapMlpConfig,
};
pub use linear::{LinearMapper, LinearMapperConfig, VisualTokenConfig, VisualTokenProjector};
pub use projector::{Projector, ProjectorConfig};
pub use transformer::{TransformerMapper, TransformerMapperConfig};
pub use variant::{
    PrefixInput, PrefixLayout, R2GEN_PROMPT_AFTER, R2GEN_PROMPT_BEFORE, Variant, wrap_in_prompt,
};
