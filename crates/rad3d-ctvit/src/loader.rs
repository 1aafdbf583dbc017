//! Loading CT-CLIP checkpoints (PyTorch `.pt`/`.pth` or safetensors) by original key names.
//!
//! The checkpoint names are mapped onto the module tree by [`visual_key_map`] (name and
//! PyTorch shape of every tensor the encoder uses, derived from the configuration) plus an
//! explicit ignore list for the text tower, decoder heads and training-only buffers. Any
//! missing, mis-shaped, non-float or unexpected tensor is a [`CtVitError`] naming it.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use burn_store::TensorSnapshot;
use burn_store::pytorch::PytorchReader;
use memmap2::Mmap;
use safetensors::tensor::{Dtype as StDtype, Metadata};

use crate::attention::{Attention, ContinuousPositionBias};
use crate::config::CtVitConfig;
use crate::error::{CtVitError, Result};
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

enum Storage {
    Safetensors {
        mmap: Mmap,
        header_len: usize,
        metadata: Metadata,
    },
    Pytorch(HashMap<String, TensorSnapshot>),
}

/// A checkpoint opened for reading, with lazy access to tensors by name.
///
/// Recognises PyTorch zip/legacy pickles and safetensors by content, not extension.
/// Tensors nested in wrapper dicts (`{"state_dict": {...}}`, `trained_model.…`) are found
/// by locating the CT-CLIP anchor key and stripping what precedes it.
pub struct CheckpointReader {
    path: PathBuf,
    storage: Storage,
    prefix: String,
}

impl std::fmt::Debug for CheckpointReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointReader")
            .field("path", &self.path)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn st_dtype_name(dtype: StDtype) -> String {
    format!("{dtype:?}")
}

impl CheckpointReader {
    /// Opens a checkpoint file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut magic = [0u8; 8];
        let mut file = File::open(&path).map_err(|e| CtVitError::io(&path, e))?;
        let read = file
            .read(&mut magic)
            .map_err(|e| CtVitError::io(&path, e))?;
        let not = |reason: String| CtVitError::NotACheckpoint {
            path: path.clone(),
            reason,
        };
        let is_zip = read >= 4 && &magic[..4] == b"PK\x03\x04";
        let is_pickle = read >= 2 && magic[0] == 0x80 && (2..=5).contains(&magic[1]);
        let storage = if is_zip || is_pickle {
            let reader = PytorchReader::new(&path).map_err(|e| not(e.to_string()))?;
            Storage::Pytorch(reader.into_tensors())
        } else {
            // SAFETY: the map is read-only; the file must not be modified while open, which
            // is the usual contract for memory-mapped weights.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| CtVitError::io(&path, e))?;
            let (header_len, metadata) = safetensors::SafeTensors::read_metadata(&mmap)
                .map_err(|e| not(format!("neither a PyTorch file nor safetensors ({e:?})")))?;
            Storage::Safetensors {
                mmap,
                header_len,
                metadata,
            }
        };
        let mut reader = Self {
            path,
            storage,
            prefix: String::new(),
        };
        reader.prefix = reader
            .raw_names()
            .iter()
            .find_map(|n| n.strip_suffix(ANCHOR_KEY).map(str::to_string))
            .unwrap_or_default();
        Ok(reader)
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The wrapper prefix found before CT-CLIP's own names (often empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// All tensor names exactly as stored.
    pub fn raw_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match &self.storage {
            Storage::Safetensors { metadata, .. } => metadata.tensors().into_keys().collect(),
            Storage::Pytorch(map) => map.keys().cloned().collect(),
        };
        names.sort();
        names
    }

    /// Overrides the detected wrapper prefix (use `""` to address raw names, e.g. heads
    /// stored beside a wrapped encoder).
    pub fn set_prefix(&mut self, prefix: &str) {
        self.prefix = prefix.to_string();
    }

    /// Names under the wrapper prefix, with the prefix removed.
    pub fn names(&self) -> Vec<String> {
        self.raw_names()
            .into_iter()
            .filter_map(|n| n.strip_prefix(&self.prefix).map(str::to_string))
            .collect()
    }

    /// String metadata of a safetensors file (`None` for PyTorch files).
    pub fn metadata(&self, key: &str) -> Option<String> {
        match &self.storage {
            Storage::Safetensors { metadata, .. } => {
                metadata.metadata().as_ref()?.get(key).cloned()
            }
            Storage::Pytorch(_) => None,
        }
    }

    /// Shape of a tensor (name relative to the wrapper prefix).
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let full = format!("{}{name}", self.prefix);
        match &self.storage {
            Storage::Safetensors { metadata, .. } => metadata.info(&full).map(|i| i.shape.clone()),
            Storage::Pytorch(map) => map.get(&full).map(|s| s.shape.to_vec()),
        }
    }

    /// Reads a floating-point tensor as f32 (f16, bf16 and f64 are converted).
    pub fn read_f32(&self, name: &str) -> Result<TensorData> {
        let full = format!("{}{name}", self.prefix);
        let path = self.path.clone();
        let missing = || CtVitError::MissingTensors {
            path: path.clone(),
            names: vec![name.to_string()],
        };
        let dtype_err = |dtype: String| CtVitError::DType {
            path: path.clone(),
            name: name.to_string(),
            dtype,
        };
        match &self.storage {
            Storage::Safetensors {
                mmap,
                header_len,
                metadata,
            } => {
                let info = metadata.info(&full).ok_or_else(missing)?;
                let start = 8 + header_len + info.data_offsets.0;
                let bytes = &mmap[start..8 + header_len + info.data_offsets.1];
                let shape = info.shape.clone();
                let values: Vec<f32> = match info.dtype {
                    StDtype::F32 => bytes
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                    StDtype::F16 => bytes
                        .chunks_exact(2)
                        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                        .collect(),
                    StDtype::BF16 => bytes
                        .chunks_exact(2)
                        .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                        .collect(),
                    StDtype::F64 => bytes
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().expect("8-byte chunk")) as f32)
                        .collect(),
                    other => return Err(dtype_err(st_dtype_name(other))),
                };
                Ok(TensorData::new(values, shape))
            }
            Storage::Pytorch(map) => {
                let snapshot = map.get(&full).ok_or_else(missing)?;
                if !matches!(
                    snapshot.dtype,
                    DType::F32 | DType::F16 | DType::BF16 | DType::F64
                ) {
                    return Err(dtype_err(format!("{:?}", snapshot.dtype)));
                }
                let data = snapshot.to_data().map_err(|e| CtVitError::TensorData {
                    path: path.clone(),
                    name: name.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(if data.dtype == DType::F32 {
                    data
                } else {
                    data.convert::<f32>()
                })
            }
        }
    }

    /// Reads an integer tensor (i64/i32, e.g. reference indices) as i64.
    pub fn read_i64(&self, name: &str) -> Result<TensorData> {
        let full = format!("{}{name}", self.prefix);
        let err = |dtype: String| CtVitError::DType {
            path: self.path.clone(),
            name: name.to_string(),
            dtype,
        };
        match &self.storage {
            Storage::Safetensors {
                mmap,
                header_len,
                metadata,
            } => {
                let info = metadata
                    .info(&full)
                    .ok_or_else(|| CtVitError::MissingTensors {
                        path: self.path.clone(),
                        names: vec![name.to_string()],
                    })?;
                let bytes = &mmap
                    [8 + header_len + info.data_offsets.0..8 + header_len + info.data_offsets.1];
                let values: Vec<i64> = match info.dtype {
                    StDtype::I64 => bytes
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8-byte chunk")))
                        .collect(),
                    StDtype::I32 => bytes
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes(c.try_into().expect("4-byte chunk")) as i64)
                        .collect(),
                    other => return Err(err(st_dtype_name(other))),
                };
                Ok(TensorData::new(values, info.shape.clone()))
            }
            Storage::Pytorch(map) => {
                let snapshot = map.get(&full).ok_or_else(|| CtVitError::MissingTensors {
                    path: self.path.clone(),
                    names: vec![name.to_string()],
                })?;
                if !matches!(snapshot.dtype, DType::I64 | DType::I32) {
                    return Err(err(format!("{:?}", snapshot.dtype)));
                }
                let data = snapshot.to_data().map_err(|e| CtVitError::TensorData {
                    path: self.path.clone(),
                    name: name.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(data.convert::<i64>())
            }
        }
    }

    /// Checks presence, shape and dtype of the given tensors without reading their data.
    fn validate(&self, keys: &[(String, Vec<usize>)]) -> Result<()> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|(n, _)| self.shape(n).is_none())
            .map(|(n, _)| n.clone())
            .collect();
        if !missing.is_empty() {
            return Err(CtVitError::MissingTensors {
                path: self.path.clone(),
                names: missing,
            });
        }
        for (name, expected) in keys {
            let found = self.shape(name).expect("checked above");
            if &found != expected {
                return Err(CtVitError::ShapeMismatch {
                    path: self.path.clone(),
                    name: name.clone(),
                    expected: expected.clone(),
                    found,
                });
            }
            let full = format!("{}{name}", self.prefix);
            let dtype = match &self.storage {
                Storage::Safetensors { metadata, .. } => {
                    let d = metadata.info(&full).expect("checked above").dtype;
                    (!matches!(
                        d,
                        StDtype::F32 | StDtype::F16 | StDtype::BF16 | StDtype::F64
                    ))
                    .then(|| st_dtype_name(d))
                }
                Storage::Pytorch(map) => {
                    let d = map[&full].dtype;
                    (!matches!(d, DType::F32 | DType::F16 | DType::BF16 | DType::F64))
                        .then(|| format!("{d:?}"))
                }
            };
            if let Some(dtype) = dtype {
                return Err(CtVitError::DType {
                    path: self.path.clone(),
                    name: name.clone(),
                    dtype,
                });
            }
        }
        let known: BTreeSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        let unexpected: Vec<String> = self
            .names()
            .into_iter()
            .filter(|n| !known.contains(n.as_str()) && !is_ignored(n))
            .collect();
        if !unexpected.is_empty() {
            return Err(CtVitError::UnexpectedTensors {
                path: self.path.clone(),
                names: unexpected,
            });
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
            return Err(CtVitError::ShapeMismatch {
                path: self.reader.path.clone(),
                name: name.to_string(),
                expected: vec![0; D],
                found: data.shape.to_vec(),
            });
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
