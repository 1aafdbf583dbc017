//! Reading and writing ClipCap mapper weights under their original names.
//!
//! ClipCap's `TransformerMapper` state dict names, and where they go:
//!
//! | checkpoint name                                   | module field                        |
//! |---------------------------------------------------|-------------------------------------|
//! | `linear.{weight,bias}`                            | `linear` (weight transposed)        |
//! | `prefix_const`                                    | `prefix_const`                      |
//! | `transformer.layers.N.norm{1,2}.{weight,bias}`    | `layers[N].norm{1,2}.{gamma,beta}`  |
//! | `transformer.layers.N.attn.to_queries.weight`     | `layers[N].attn.to_queries`         |
//! | `transformer.layers.N.attn.to_keys_values.weight` | `layers[N].attn.to_keys_values`     |
//! | `transformer.layers.N.attn.project.{weight,bias}` | `layers[N].attn.project`            |
//! | `transformer.layers.N.mlp.fc{1,2}.{weight,bias}`  | `layers[N].mlp.fc{1,2}`             |
//!
//! A full ClipCap model stores the same names under `clip_project.`; that prefix is
//! recognised. Entries under `fixture.` (parity inputs/outputs) are ignored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Tensor, backend::Backend};
use rad3d_io::{CheckpointReader, IoError};
use safetensors::{Dtype, tensor::TensorView};
use serde::{Deserialize, Serialize};

use crate::error::{ProjectorError, Result};
use crate::transformer::{TransformerMapper, TransformerMapperConfig};

/// The `config` metadata entry, in ClipCap's constructor names.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClipCapMeta {
    dim_clip: usize,
    dim_embedding: usize,
    prefix_length: usize,
    clip_length: usize,
    num_layers: usize,
    #[serde(default = "default_heads")]
    num_heads: usize,
    /// MLP hidden width; absent means ClipCap's ratio 2.
    #[serde(default)]
    mlp_hidden: Option<usize>,
}

fn default_heads() -> usize {
    8
}

impl ClipCapMeta {
    fn to_config(&self) -> TransformerMapperConfig {
        let ratio = self
            .mlp_hidden
            // Half a unit above the exact quotient so `int(D × ratio)` gives back `mlp_hidden`
            // despite float rounding.
            .map(|h| (h as f64 + 0.5) / self.dim_embedding as f64)
            .unwrap_or(2.0);
        TransformerMapperConfig::new(self.dim_clip, self.dim_embedding)
            .with_prefix_len(self.prefix_length)
            .with_clip_len(self.clip_length)
            .with_num_layers(self.num_layers)
            .with_num_heads(self.num_heads)
            .with_mlp_ratio(ratio)
    }

    fn from_config(c: &TransformerMapperConfig) -> Self {
        Self {
            dim_clip: c.d_input,
            dim_embedding: c.d_model,
            prefix_length: c.prefix_len,
            clip_length: c.clip_len,
            num_layers: c.num_layers,
            num_heads: c.num_heads,
            mlp_hidden: Some(c.layer_config().d_hidden()),
        }
    }
}

/// A weight file (safetensors or PyTorch, through [`rad3d_io::CheckpointReader`]) whose
/// tensors are taken one at a time by name, so that what was never taken can be listed.
pub struct NamedTensors {
    reader: CheckpointReader,
    taken: HashSet<String>,
}

impl NamedTensors {
    /// Opens a weight file; tensors are decoded to f32 when taken (f16/bf16/f64 converted,
    /// other dtypes are an error naming the tensor).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            reader: CheckpointReader::open(path)?,
            taken: HashSet::new(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.reader.path()
    }

    /// A metadata entry.
    pub fn metadata(&self, key: &str) -> Option<String> {
        self.reader.metadata(key)
    }

    /// Names of all tensors not yet taken, sorted.
    pub fn names(&self) -> Vec<String> {
        self.remaining("")
    }

    /// Shape of a tensor not yet taken.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.contains(name)
            .then(|| self.reader.shape(name))
            .flatten()
    }

    /// Whether a tensor exists and was not taken yet.
    pub fn contains(&self, name: &str) -> bool {
        !self.taken.contains(name) && self.reader.shape(name).is_some()
    }

    /// Takes a tensor, checking its shape.
    pub fn take<B: Backend, const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> Result<Tensor<B, D>> {
        let found = self.shape(name).ok_or_else(|| IoError::MissingTensors {
            path: self.path().to_path_buf(),
            names: vec![name.to_string()],
        })?;
        if found != shape {
            return Err(IoError::ShapeMismatch {
                path: self.path().to_path_buf(),
                name: name.to_string(),
                expected: shape.to_vec(),
                found,
            }
            .into());
        }
        let data = self.reader.read_f32(name)?;
        self.taken.insert(name.to_string());
        Ok(Tensor::from_data(data, device))
    }

    /// Takes a PyTorch `nn.Linear` (`weight` [out, in], optional `bias`) as a burn `Linear`.
    pub fn take_linear<B: Backend>(
        &mut self,
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &B::Device,
    ) -> Result<Linear<B>> {
        let w: Tensor<B, 2> = self.take(&format!("{name}.weight"), [d_out, d_in], device)?;
        let b = if bias {
            Some(Param::from_tensor(self.take(
                &format!("{name}.bias"),
                [d_out],
                device,
            )?))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(w.transpose()),
            bias: b,
        })
    }

    /// Takes a PyTorch `nn.LayerNorm` (`weight`, `bias`) into an existing burn `LayerNorm`.
    pub fn take_layer_norm<B: Backend>(
        &mut self,
        name: &str,
        mut norm: LayerNorm<B>,
        device: &B::Device,
    ) -> Result<LayerNorm<B>> {
        let d = norm.gamma.dims()[0];
        norm.gamma = Param::from_tensor(self.take(&format!("{name}.weight"), [d], device)?);
        norm.beta = Some(Param::from_tensor(self.take(
            &format!("{name}.bias"),
            [d],
            device,
        )?));
        Ok(norm)
    }

    /// Tensors not taken yet, excluding those under `ignore_prefix` (if not empty).
    pub fn remaining(&self, ignore_prefix: &str) -> Vec<String> {
        self.reader
            .raw_names()
            .into_iter()
            .filter(|k| {
                !self.taken.contains(k)
                    && (ignore_prefix.is_empty() || !k.starts_with(ignore_prefix))
            })
            .collect()
    }
}

/// Expected checkpoint names of a mapper with this configuration (without prefix).
pub fn clipcap_names(config: &TransformerMapperConfig) -> Vec<String> {
    let mut names = vec![
        "linear.weight".into(),
        "linear.bias".into(),
        "prefix_const".into(),
    ];
    for i in 0..config.num_layers {
        for leaf in [
            "norm1.weight",
            "norm1.bias",
            "attn.to_queries.weight",
            "attn.to_keys_values.weight",
            "attn.project.weight",
            "attn.project.bias",
            "norm2.weight",
            "norm2.bias",
            "mlp.fc1.weight",
            "mlp.fc1.bias",
            "mlp.fc2.weight",
            "mlp.fc2.bias",
        ] {
            names.push(format!("transformer.layers.{i}.{leaf}"));
        }
    }
    names
}

/// Loads a ClipCap `TransformerMapper` from safetensors; the configuration comes from the
/// metadata entry `config` (ClipCap's constructor names: `dim_clip`, `dim_embedding`,
/// `prefix_length`, `clip_length`, `num_layers`, optional `num_heads`, `mlp_hidden`).
pub fn load_clipcap_mapper<B: Backend>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(TransformerMapperConfig, TransformerMapper<B>)> {
    let mut file = NamedTensors::read(path)?;
    let meta_err = |reason: String| ProjectorError::Metadata {
        path: file.path().to_path_buf(),
        reason,
    };
    let raw = file
        .metadata("config")
        .ok_or_else(|| meta_err("absent".into()))?;
    let meta: ClipCapMeta = serde_json::from_str(&raw).map_err(|e| meta_err(e.to_string()))?;
    let config = meta.to_config();
    let mapper = mapper_from_tensors(&mut file, &config, device)?;
    Ok((config, mapper))
}

/// Builds a mapper from tensors under ClipCap's names, with or without `clip_project.`.
/// Fails on missing, mis-shaped or (outside `fixture.`) unexpected tensors.
pub fn mapper_from_tensors<B: Backend>(
    file: &mut NamedTensors,
    config: &TransformerMapperConfig,
    device: &B::Device,
) -> Result<TransformerMapper<B>> {
    config.validate()?;
    let prefix = if !file.contains("linear.weight") && file.contains("clip_project.linear.weight") {
        "clip_project."
    } else {
        ""
    };
    let missing: Vec<String> = clipcap_names(config)
        .into_iter()
        .map(|n| format!("{prefix}{n}"))
        .filter(|n| !file.contains(n))
        .collect();
    if !missing.is_empty() {
        return Err(IoError::MissingTensors {
            path: file.path().to_path_buf(),
            names: missing,
        }
        .into());
    }
    let d = config.d_model;
    let hidden = config.layer_config().d_hidden();
    // Start from an initialised module so private fields (eps, head count) are right,
    // then replace every parameter.
    let mut mapper = config.init::<B>(device)?;
    mapper.linear = file.take_linear(
        &format!("{prefix}linear"),
        config.d_input,
        config.clip_len * d,
        true,
        device,
    )?;
    mapper.prefix_const = Param::from_tensor(file.take(
        &format!("{prefix}prefix_const"),
        [config.prefix_len, d],
        device,
    )?);
    for (i, layer) in mapper.layers.iter_mut().enumerate() {
        let p = format!("{prefix}transformer.layers.{i}");
        layer.norm1 = file.take_layer_norm(&format!("{p}.norm1"), layer.norm1.clone(), device)?;
        layer.norm2 = file.take_layer_norm(&format!("{p}.norm2"), layer.norm2.clone(), device)?;
        layer.attn.to_queries =
            file.take_linear(&format!("{p}.attn.to_queries"), d, d, false, device)?;
        layer.attn.to_keys_values =
            file.take_linear(&format!("{p}.attn.to_keys_values"), d, 2 * d, false, device)?;
        layer.attn.project = file.take_linear(&format!("{p}.attn.project"), d, d, true, device)?;
        layer.mlp.fc1 = file.take_linear(&format!("{p}.mlp.fc1"), d, hidden, true, device)?;
        layer.mlp.fc2 = file.take_linear(&format!("{p}.mlp.fc2"), hidden, d, true, device)?;
    }
    let extra: Vec<String> = file
        .remaining("fixture.")
        .into_iter()
        .filter(|n| prefix.is_empty() || n.starts_with(prefix))
        .collect();
    if !extra.is_empty() {
        return Err(IoError::UnexpectedTensors {
            path: file.path().to_path_buf(),
            names: extra,
        }
        .into());
    }
    Ok(mapper)
}

fn to_f32_bytes<B: Backend, const D: usize>(t: Tensor<B, D>) -> (Vec<usize>, Vec<u8>) {
    let shape = t.dims().to_vec();
    let data = t.into_data().convert::<f32>();
    let values = data.to_vec::<f32>().expect("converted to f32");
    (shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Writes a mapper under ClipCap's names (PyTorch layouts), config in metadata `config`,
/// so that ClipCap's `TransformerMapper.load_state_dict` accepts the file.
pub fn save_clipcap_mapper<B: Backend>(
    mapper: &TransformerMapper<B>,
    config: &TransformerMapperConfig,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let mut out: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    let linear = |name: String, l: &Linear<B>, out: &mut BTreeMap<_, _>| {
        out.insert(
            format!("{name}.weight"),
            to_f32_bytes(l.weight.val().transpose()),
        );
        if let Some(b) = &l.bias {
            out.insert(format!("{name}.bias"), to_f32_bytes(b.val()));
        }
    };
    linear("linear".into(), &mapper.linear, &mut out);
    out.insert(
        "prefix_const".into(),
        to_f32_bytes(mapper.prefix_const.val()),
    );
    for (i, layer) in mapper.layers.iter().enumerate() {
        let p = format!("transformer.layers.{i}");
        for (n, norm) in [("norm1", &layer.norm1), ("norm2", &layer.norm2)] {
            out.insert(format!("{p}.{n}.weight"), to_f32_bytes(norm.gamma.val()));
            if let Some(b) = &norm.beta {
                out.insert(format!("{p}.{n}.bias"), to_f32_bytes(b.val()));
            }
        }
        linear(
            format!("{p}.attn.to_queries"),
            &layer.attn.to_queries,
            &mut out,
        );
        linear(
            format!("{p}.attn.to_keys_values"),
            &layer.attn.to_keys_values,
            &mut out,
        );
        linear(format!("{p}.attn.project"), &layer.attn.project, &mut out);
        linear(format!("{p}.mlp.fc1"), &layer.mlp.fc1, &mut out);
        linear(format!("{p}.mlp.fc2"), &layer.mlp.fc2, &mut out);
    }
    let views = out
        .iter()
        .map(|(k, (shape, bytes))| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (k.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| write_err(path, e))?;
    let meta = HashMap::from([
        (
            "config".to_string(),
            serde_json::to_string(&ClipCapMeta::from_config(config)).expect("plain struct"),
        ),
        ("format".to_string(), "pt".to_string()),
    ]);
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| write_err(path, e))?;
    Ok(rad3d_io::write_atomic(path, &bytes)?)
}

fn write_err(path: &Path, e: safetensors::SafeTensorError) -> ProjectorError {
    IoError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
    .into()
}
