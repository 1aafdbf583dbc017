//! Loading CT-CLIP checkpoints (PyTorch `.pt`/`.pth` or safetensors) by original key names.
//!
//! The checkpoint names are mapped onto the module tree by [`visual_key_map`] (name and
//! PyTorch shape of every tensor the encoder uses, derived from the configuration) plus an
//! explicit ignore list for the text tower, decoder heads and training-only buffers. Any
//! missing, mis-shaped, non-float or unexpected tensor is a [`CtVitError`] naming it.

use std::collections::BTreeSet;
use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::attention::{Attention, ContinuousPositionBias};
use crate::config::CtVitConfig;
use rad3d_io::IoError;

use crate::error::Result;
use crate::feedforward::FeedForward;
use crate::model::CtVit;
use crate::transformer::Transformer;

/// A key every CT-CLIP image side has; used to find a wrapper prefix such as `state_dict.`.
const ANCHOR_KEY: &str = "visual_transformer.to_patch_emb.2.weight";

/// Checkpoint prefixes (after any wrapper prefix) that the encoder deliberately does not use.
pub const IGNORED_PREFIXES: &[&str] = &[
    // CTViT's first-frame path and decoder heads: unused for encoding 3D volumes.
    "visual_transformer.to_patch_emb_first_frame.",
    "visual_transformer.to_pixels_first_frame.",
    "visual_transformer.to_pixels.",
    "visual_transformer.dec_spatial_transformer.",
    "visual_transformer.dec_temporal_transformer.",
    // VQ training state (EMA statistics): inference only reads `embed`.
    "visual_transformer.vq._codebook.initted",
    "visual_transformer.vq._codebook.cluster_size",
    "visual_transformer.vq._codebook.embed_avg",
    // Reference tensors stored beside the weights in self-describing parity files.
    "fixture.",
    // CT-CLIP's unused second projection and the whole text side.
    "to_visual_latent_extra.",
    "to_text_latent.",
    "to_text_latent_extra.",
    "text_transformer.",
    "temperature",
    // Heads stacked on CT-CLIP by fine-tuned releases (linear probe: loaded by rad3d-classifier).
    "classifier.",
];

/// Checkpoint suffixes the encoder deliberately does not use: empty null key/values and the
/// context norm of attention blocks that never receive a context.
pub const IGNORED_SUFFIXES: &[&str] = &[".null_kv", ".context_norm.gamma", ".context_norm.beta"];

fn is_ignored(name: &str) -> bool {
    IGNORED_PREFIXES.iter().any(|p| name.starts_with(p))
        || IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Every tensor the encoder reads: original CT-CLIP name and PyTorch shape, in load order.
pub fn visual_key_map(config: &CtVitConfig) -> Vec<(String, Vec<usize>)> {
    let (dim, heads, dh) = (config.dim, config.heads, config.dim_head);
    let (inner, ff, pf) = (
        config.attn_inner(),
        config.ff_inner(),
        config.patch_features(),
    );
    let v = "visual_transformer.";
    let mut keys: Vec<(String, Vec<usize>)> = Vec::new();
    let mut push = |name: String, shape: &[usize]| keys.push((name, shape.to_vec()));
    let cpb = format!("{v}spatial_rel_pos_bias.net.");
    push(format!("{cpb}0.0.weight"), &[dim, 2]);
    push(format!("{cpb}0.0.bias"), &[dim]);
    push(format!("{cpb}1.0.weight"), &[dim, dim]);
    push(format!("{cpb}1.0.bias"), &[dim]);
    push(format!("{cpb}2.weight"), &[heads, dim]);
    push(format!("{cpb}2.bias"), &[heads]);
    push(format!("{v}to_patch_emb.1.weight"), &[pf]);
    push(format!("{v}to_patch_emb.1.bias"), &[pf]);
    push(format!("{v}to_patch_emb.2.weight"), &[dim, pf]);
    push(format!("{v}to_patch_emb.2.bias"), &[dim]);
    push(format!("{v}to_patch_emb.3.weight"), &[dim]);
    push(format!("{v}to_patch_emb.3.bias"), &[dim]);
    for (stack, depth) in [
        ("enc_spatial_transformer", config.spatial_depth),
        ("enc_temporal_transformer", config.temporal_depth),
    ] {
        for i in 0..depth {
            let l = format!("{v}{stack}.layers.{i}.");
            push(format!("{l}0.dsconv.weight"), &[dim, 1, 3, 3, 3]);
            push(format!("{l}0.dsconv.bias"), &[dim]);
            push(format!("{l}1.q_scale"), &[dh]);
            push(format!("{l}1.k_scale"), &[dh]);
            push(format!("{l}1.norm.gamma"), &[dim]);
            push(format!("{l}1.norm.beta"), &[dim]);
            push(format!("{l}1.to_q.weight"), &[inner, dim]);
            push(format!("{l}1.to_kv.weight"), &[2 * inner, dim]);
            push(format!("{l}1.to_out.weight"), &[dim, inner]);
            push(format!("{l}3.0.weight"), &[dim]);
            push(format!("{l}3.0.bias"), &[dim]);
            push(format!("{l}3.1.weight"), &[2 * ff, dim]);
            push(format!("{l}3.4.weight"), &[dim, ff]);
        }
        push(format!("{v}{stack}.norm_out.gamma"), &[dim]);
        push(format!("{v}{stack}.norm_out.beta"), &[dim]);
    }
    push(
        format!("{v}vq._codebook.embed"),
        &[1, config.codebook_size, dim],
    );
    push(
        "to_visual_latent.weight".to_string(),
        &[config.dim_latent, config.image_features()],
    );
    keys
}

/// A CT-CLIP checkpoint opened for reading: a [`rad3d_io::CheckpointReader`] (PyTorch or
/// safetensors, by content) whose wrapper prefix (`state_dict.`, `trained_model.`, …) is
/// found from CT-CLIP's anchor key, so tensors are addressed by CT-CLIP's own names.
/// Everything else of the generic reader is reachable through `Deref`.
#[derive(Debug)]
pub struct CheckpointReader(rad3d_io::CheckpointReader);

impl std::ops::Deref for CheckpointReader {
    type Target = rad3d_io::CheckpointReader;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for CheckpointReader {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl CheckpointReader {
    /// Opens a checkpoint file and locates CT-CLIP's names in it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let mut reader = rad3d_io::CheckpointReader::open(path)?;
        reader.detect_prefix(ANCHOR_KEY);
        Ok(Self(reader))
    }

    /// Reads a floating-point tensor as f32 (f16, bf16 and f64 are converted).
    pub fn read_f32(&self, name: &str) -> Result<TensorData> {
        Ok(self.0.read_f32(name)?)
    }

    /// Reads an integer tensor (i64/i32, e.g. reference indices) as i64.
    pub fn read_i64(&self, name: &str) -> Result<TensorData> {
        Ok(self.0.read_i64(name)?)
    }

    /// The generic reader.
    pub fn into_inner(self) -> rad3d_io::CheckpointReader {
        self.0
    }

    /// Checks presence, shape and dtype of the given tensors without reading their data.
    fn validate(&self, keys: &[(String, Vec<usize>)]) -> Result<()> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|(n, _)| self.shape(n).is_none())
            .map(|(n, _)| n.clone())
            .collect();
        if !missing.is_empty() {
            return Err(IoError::MissingTensors {
                path: self.path().to_path_buf(),
                names: missing,
            }
            .into());
        }
        for (name, expected) in keys {
            let found = self.shape(name).expect("checked above");
            if &found != expected {
                return Err(IoError::ShapeMismatch {
                    path: self.path().to_path_buf(),
                    name: name.clone(),
                    expected: expected.clone(),
                    found,
                }
                .into());
            }
            let dtype = self
                .dtype(name)
                .and_then(|(dtype, float)| (!float).then_some(dtype));
            if let Some(dtype) = dtype {
                return Err(IoError::DType {
                    path: self.path().to_path_buf(),
                    name: name.clone(),
                    dtype,
                    expected: "a floating-point type",
                }
                .into());
            }
        }
        let known: BTreeSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        let unexpected: Vec<String> = self
            .names()
            .into_iter()
            .filter(|n| !known.contains(n.as_str()) && !is_ignored(n))
            .collect();
        if !unexpected.is_empty() {
            return Err(IoError::UnexpectedTensors {
                path: self.path().to_path_buf(),
                names: unexpected,
            }
            .into());
        }
        Ok(())
    }
}

/// Assigns tensors by name into a module tree; each tensor is read, converted and moved into
/// its parameter one at a time, so at most one extra copy of one tensor exists at once.
struct Assigner<'a> {
    reader: &'a CheckpointReader,
}

impl Assigner<'_> {
    fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> Result<Tensor<B, D>> {
        let data = self.reader.read_f32(name)?;
        if data.shape.len() != D {
            return Err(IoError::ShapeMismatch {
                path: self.reader.path().to_path_buf(),
                name: name.to_string(),
                expected: vec![0; D],
                found: data.shape.to_vec(),
            }
            .into());
        }
        Ok(Tensor::from_data(data, device))
    }

    fn param<B: Backend, const D: usize>(
        &self,
        param: &mut Param<Tensor<B, D>>,
        name: &str,
    ) -> Result<()> {
        let device = param.lazy_device();
        *param = Param::from_tensor(self.tensor(name, &device)?);
        Ok(())
    }

    /// PyTorch stores `[out, in]`; burn's row layout is `[in, out]`. The transpose is a
    /// stride change, not a copy.
    fn linear<B: Backend>(&self, linear: &mut Linear<B>, name: &str, bias: bool) -> Result<()> {
        let device = linear.weight.lazy_device();
        let w: Tensor<B, 2> = self.tensor(&format!("{name}.weight"), &device)?;
        linear.weight = Param::from_tensor(w.transpose());
        if bias {
            let b = self.tensor(&format!("{name}.bias"), &device)?;
            linear.bias = Some(Param::from_tensor(b));
        }
        Ok(())
    }

    fn layer_norm<B: Backend>(&self, norm: &mut LayerNorm<B>, w: &str, b: &str) -> Result<()> {
        self.param(&mut norm.gamma, w)?;
        let beta = norm
            .beta
            .as_mut()
            .expect("CTViT norms are built with a beta");
        self.param(beta, b)
    }

    fn attention<B: Backend>(&self, attn: &mut Attention<B>, l: &str) -> Result<()> {
        self.param(&mut attn.q_scale, &format!("{l}q_scale"))?;
        self.param(&mut attn.k_scale, &format!("{l}k_scale"))?;
        self.layer_norm(
            &mut attn.norm,
            &format!("{l}norm.gamma"),
            &format!("{l}norm.beta"),
        )?;
        self.linear(&mut attn.to_q, &format!("{l}to_q"), false)?;
        self.linear(&mut attn.to_kv, &format!("{l}to_kv"), false)?;
        self.linear(&mut attn.to_out, &format!("{l}to_out"), false)
    }

    fn feedforward<B: Backend>(&self, ff: &mut FeedForward<B>, l: &str) -> Result<()> {
        self.layer_norm(&mut ff.norm, &format!("{l}0.weight"), &format!("{l}0.bias"))?;
        self.linear(&mut ff.proj_in, &format!("{l}1"), false)?;
        self.linear(&mut ff.proj_out, &format!("{l}4"), false)
    }

    fn transformer<B: Backend>(&self, tr: &mut Transformer<B>, prefix: &str) -> Result<()> {
        for (i, layer) in tr.layers.iter_mut().enumerate() {
            let l = format!("{prefix}.layers.{i}.");
            self.param(&mut layer.peg.dsconv.weight, &format!("{l}0.dsconv.weight"))?;
            let bias = layer.peg.dsconv.bias.as_mut().expect("PEG conv has a bias");
            self.param(bias, &format!("{l}0.dsconv.bias"))?;
            self.attention(&mut layer.attn, &format!("{l}1."))?;
            self.feedforward(&mut layer.ff, &format!("{l}3."))?;
        }
        self.layer_norm(
            &mut tr.norm_out,
            &format!("{prefix}.norm_out.gamma"),
            &format!("{prefix}.norm_out.beta"),
        )
    }

    fn cpb<B: Backend>(&self, cpb: &mut ContinuousPositionBias<B>, prefix: &str) -> Result<()> {
        let names = ["0.0", "1.0", "2"];
        for (layer, n) in cpb.layers.iter_mut().zip(names) {
            self.linear(layer, &format!("{prefix}.net.{n}"), true)?;
        }
        Ok(())
    }
}

/// Loads CT-CLIP image-side weights from an open checkpoint into a model built from `config`.
///
/// Validates every name, shape and dtype before reading any data. The model's random
/// parameters are lazy and are replaced without ever being materialised.
pub fn load_into<B: Backend>(
    mut model: CtVit<B>,
    config: &CtVitConfig,
    reader: &CheckpointReader,
) -> Result<CtVit<B>> {
    reader.validate(&visual_key_map(config))?;
    let a = Assigner { reader };
    let v = "visual_transformer";
    a.cpb(
        &mut model.spatial_rel_pos_bias,
        &format!("{v}.spatial_rel_pos_bias"),
    )?;
    let pe = &mut model.patch_emb;
    a.layer_norm(
        &mut pe.norm_in,
        &format!("{v}.to_patch_emb.1.weight"),
        &format!("{v}.to_patch_emb.1.bias"),
    )?;
    a.linear(&mut pe.proj, &format!("{v}.to_patch_emb.2"), true)?;
    a.layer_norm(
        &mut pe.norm_out,
        &format!("{v}.to_patch_emb.3.weight"),
        &format!("{v}.to_patch_emb.3.bias"),
    )?;
    a.transformer(
        &mut model.enc_spatial_transformer,
        &format!("{v}.enc_spatial_transformer"),
    )?;
    a.transformer(
        &mut model.enc_temporal_transformer,
        &format!("{v}.enc_temporal_transformer"),
    )?;
    let device = model.vq.codebook.lazy_device();
    let embed: Tensor<B, 3> = a.tensor(&format!("{v}.vq._codebook.embed"), &device)?;
    let [_, rows, dim] = embed.dims();
    model.vq.codebook = Param::from_tensor(embed.reshape([rows, dim]));
    // The 151M-parameter head in CT-CLIP: read once, moved into the parameter, no copy kept.
    a.linear(&mut model.to_visual_latent, "to_visual_latent", false)?;
    tracing::debug!(path = %reader.path().display(), "loaded CT-CLIP image encoder");
    Ok(model)
}

/// Opens a CT-CLIP checkpoint (`CT-CLIP_v2.pt`, `CT_VocabFine_v2.pt`, `CT_LiPro_v2.pt`,
/// safetensors exports, possibly wrapped in a dict) and builds the encoder from it.
pub fn load_ctclip_checkpoint<B: Backend>(
    path: impl AsRef<Path>,
    config: &CtVitConfig,
    device: &B::Device,
) -> Result<CtVit<B>> {
    config.validate(&path.as_ref().display().to_string())?;
    let reader = CheckpointReader::open(path)?;
    load_into(config.init(device), config, &reader)
}
