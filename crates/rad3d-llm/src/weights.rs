//! Named f32 weight sources: safetensors files (single or sharded, f32/f16/bf16), random
//! initialisation, and the [`TensorSource`] trait any other format (GGUF) implements so
//! that every format feeds the same model builders.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use rad3d_io::CheckpointReader;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr_free::normal;

use crate::error::{LlmError, Result};

/// A tensor read into host memory as f32, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first (PyTorch order).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// Wraps data with its shape.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "HostTensor: shape {shape:?}"
        );
        Self { shape, data }
    }

    /// Transposes a 2-D tensor ([r, c] → [c, r]).
    ///
    /// # Panics
    /// If the tensor is not 2-D.
    pub fn transposed(&self) -> Self {
        assert_eq!(self.shape.len(), 2, "transposed: tensor is not 2-D");
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut out = vec![0.0f32; r * c];
        // Blocked so both sides stay in cache for the large matrices of real checkpoints.
        const BLK: usize = 32;
        for i0 in (0..r).step_by(BLK) {
            for j0 in (0..c).step_by(BLK) {
                for i in i0..(i0 + BLK).min(r) {
                    for j in j0..(j0 + BLK).min(c) {
                        out[j * r + i] = self.data[i * c + j];
                    }
                }
            }
        }
        Self {
            shape: vec![c, r],
            data: out,
        }
    }
}

/// A set of named tensors in HF naming (`model.layers.0.self_attn.q_proj.weight`, …) and
/// HF layout, delivered as f32. Model builders take tensors out one by one; whatever
/// is left at the end is reported as unexpected.
pub trait TensorSource {
    /// The file (or directory) the tensors come from, for error messages.
    fn origin(&self) -> &Path;
    /// Names of the tensors not yet taken.
    fn names(&self) -> Vec<String>;
    /// Shape of a tensor without reading its data; `None` if absent.
    fn shape(&self, name: &str) -> Option<Vec<usize>>;
    /// Reads a tensor as f32 and removes it from the source; `Ok(None)` if absent.
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>>;
}

/// Tensors already in memory (tests, conversions, formats decoded up front).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    origin: PathBuf,
    tensors: BTreeMap<String, HostTensor>,
}

impl MemorySource {
    /// An empty source; `origin` names it in errors.
    pub fn new(origin: impl Into<PathBuf>) -> Self {
        Self {
            origin: origin.into(),
            tensors: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a tensor.
    pub fn insert(&mut self, name: impl Into<String>, tensor: HostTensor) {
        self.tensors.insert(name.into(), tensor);
    }
}

impl TensorSource for MemorySource {
    fn origin(&self) -> &Path {
        &self.origin
    }
    fn names(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.shape.clone())
    }
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>> {
        Ok(self.tensors.remove(name))
    }
}

/// Deterministic random weights for a list of expected tensors: N(0, std) for matrices,
/// ones for 1-D `*norm*`/`ln_*` weights, zeros for biases. Used by `init` and benches.
#[derive(Debug)]
pub(crate) struct RandomSource {
    origin: PathBuf,
    shapes: BTreeMap<String, Vec<usize>>,
    rng: StdRng,
    std: f32,
}

impl RandomSource {
    /// Random tensors of the given names and shapes, seeded.
    pub(crate) fn new(shapes: Vec<(String, Vec<usize>)>, std: f32, seed: u64) -> Self {
        Self {
            origin: PathBuf::from("<random init>"),
            shapes: shapes.into_iter().collect(),
            rng: StdRng::seed_from_u64(seed),
            std,
        }
    }
}

impl TensorSource for RandomSource {
    fn origin(&self) -> &Path {
        &self.origin
    }
    fn names(&self) -> Vec<String> {
        self.shapes.keys().cloned().collect()
    }
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.shapes.get(name).cloned()
    }
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>> {
        let Some(shape) = self.shapes.remove(name) else {
            return Ok(None);
        };
        let n = shape.iter().product();
        let is_norm = shape.len() == 1 && (name.contains("norm") || name.contains("ln_"));
        let data = if is_norm && name.ends_with("weight") {
            vec![1.0; n]
        } else if shape.len() == 1 {
            vec![0.0; n]
        } else {
            (0..n).map(|_| normal(&mut self.rng) * self.std).collect()
        };
        Ok(Some(HostTensor { shape, data }))
    }
}

/// Tiny standalone standard-normal sampler (Box–Muller), so `rand_distr` is not needed.
mod rand_distr_free {
    use rand::Rng;

    /// One N(0, 1) sample.
    pub fn normal(rng: &mut impl Rng) -> f32 {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}

/// Tensors from `model.safetensors`, or from the shards a `model.safetensors.index.json`
/// lists, or from a `pytorch_model.bin`; every float dtype (f32, f16, bf16, f64) is converted to f32 on read. Each file
/// is read through [`rad3d_io::CheckpointReader`], which memory-maps it: the files must
/// not be modified or truncated (by this or any other process) while the source exists,
/// i.e. while a model loads from it. Changing a mapped file is undefined behaviour.
pub struct SafetensorsSource {
    origin: PathBuf,
    files: Vec<CheckpointReader>,
    /// name → (file index, shape)
    index: HashMap<String, (usize, Vec<usize>)>,
}

impl std::fmt::Debug for SafetensorsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsSource")
            .field("origin", &self.origin)
            .field("tensors", &self.index.len())
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LlmError + '_ {
    move |source| LlmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SafetensorsSource {
    /// Opens one `.safetensors` file.
    pub fn open(path: &Path) -> Result<Self> {
        let mut src = Self {
            origin: path.to_path_buf(),
            files: Vec::new(),
            index: HashMap::new(),
        };
        src.add_file(path)?;
        Ok(src)
    }

    /// Opens the weights of a HF model directory: `model.safetensors`, else the shards of
    /// `model.safetensors.index.json`, else `pytorch_model.bin` (torch.save's zip format,
    /// read through the same checked reader: views, offsets and damage included).
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let single = dir.join("model.safetensors");
        if single.is_file() {
            return Self::open(&single);
        }
        let index_path = dir.join("model.safetensors.index.json");
        let pytorch = dir.join("pytorch_model.bin");
        if !index_path.is_file() && pytorch.is_file() {
            return Self::open(&pytorch);
        }
        if !index_path.is_file() {
            return Err(LlmError::Format {
                path: dir.to_path_buf(),
                reason: "no model.safetensors, model.safetensors.index.json or pytorch_model.bin"
                    .into(),
            });
        }
        let text = std::fs::read_to_string(&index_path).map_err(io_err(&index_path))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| LlmError::Format {
                path: index_path.clone(),
                reason: format!("invalid JSON: {e}"),
            })?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| LlmError::Format {
                path: index_path.clone(),
                reason: "no `weight_map` object".into(),
            })?;
        let shards: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
        let mut src = Self {
            origin: index_path.clone(),
            files: Vec::new(),
            index: HashMap::new(),
        };
        for shard in shards {
            src.add_file(&dir.join(shard))?;
        }
        for name in map.keys() {
            if !src.index.contains_key(name) {
                return Err(rad3d_io::IoError::MissingTensors {
                    path: index_path.clone(),
                    names: vec![name.clone()],
                }
                .into());
            }
        }
        Ok(src)
    }

    fn add_file(&mut self, path: &Path) -> Result<()> {
        let reader = CheckpointReader::open(path).map_err(LlmError::from)?;
        let file_idx = self.files.len();
        for name in reader.raw_names() {
            let shape = reader.shape(&name).expect("a listed tensor has a shape");
            self.index.insert(name, (file_idx, shape));
        }
        self.files.push(reader);
        Ok(())
    }
}

impl TensorSource for SafetensorsSource {
    fn origin(&self) -> &Path {
        &self.origin
    }
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.index.keys().cloned().collect();
        names.sort();
        names
    }
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.index.get(name).map(|(_, s)| s.clone())
    }
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>> {
        let Some((file_idx, shape)) = self.index.remove(name) else {
            return Ok(None);
        };
        let data = self.files[file_idx]
            .read_f32(name)
            .map_err(LlmError::from)?
            .into_vec::<f32>()
            .map_err(|e| LlmError::Format {
                path: self.files[file_idx].path().to_path_buf(),
                reason: format!("tensor `{name}`: {e:?}"),
            })?;
        Ok(Some(HostTensor { shape, data }))
    }
}

/// A host tensor as a parameter of rank `D` on `device`.
///
/// # Panics
/// If the tensor's rank is not `D` (callers check shapes first, see [`check_tensors`]).
pub(crate) fn param<B: Backend, const D: usize>(
    t: HostTensor,
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    let shape: [usize; D] = t
        .shape
        .clone()
        .try_into()
        .expect("tensor rank checked by caller");
    Param::from_tensor(Tensor::from_data(TensorData::new(t.data, shape), device))
}

/// Stacks HF `[out, in]` weights along `out` and stores the result as `[in, Σ out]`.
pub(crate) fn fused_linear<B: Backend>(
    weights: Vec<HostTensor>,
    biases: Option<Vec<HostTensor>>,
    device: &B::Device,
) -> Linear<B> {
    let cols = weights[0].shape[1];
    let rows: usize = weights.iter().map(|w| w.shape[0]).sum();
    let mut data = Vec::with_capacity(rows * cols);
    for w in weights {
        data.extend_from_slice(&w.data);
    }
    let w = HostTensor::new(vec![rows, cols], data).transposed();
    let bias = biases.map(|bs| {
        let data: Vec<f32> = bs.into_iter().flat_map(|b| b.data).collect();
        param(HostTensor::new(vec![rows], data), device)
    });
    Linear {
        weight: param(w, device),
        bias,
    }
}

/// A LayerNorm of `weight` (gamma) and `bias` (beta), HF `nn.LayerNorm`'s parameters.
pub(crate) fn layer_norm<B: Backend>(
    weight: HostTensor,
    bias: HostTensor,
    eps: f64,
    device: &B::Device,
) -> LayerNorm<B> {
    let mut ln = LayerNormConfig::new(weight.shape[0])
        .with_epsilon(eps)
        .init(device);
    ln.gamma = param(weight, device);
    ln.beta = Some(param(bias, device));
    ln
}

/// Checks a source against the tensors a model expects, before anything is read:
/// every missing and every mis-shaped tensor is reported (by name, with the file), and
/// leftovers not matched by `ignore` are reported as unexpected.
/// Refuses a declared layer count that the weights do not hold, before anything is sized
/// from it: a `num_hidden_layers` (or GGUF `block_count`) of 1e9 would otherwise build
/// name lists and weights for layers that do not exist before the missing-tensor check.
/// `prefix` is where layer indices start in tensor names (`model.layers.`, `h.`).
pub(crate) fn check_layer_count(
    source: &dyn TensorSource,
    prefixes: &[&str],
    declared: usize,
    field: &str,
) -> Result<()> {
    let layers: BTreeSet<usize> = source
        .names()
        .iter()
        .filter_map(|name| {
            let rest = prefixes.iter().find_map(|p| name.strip_prefix(p))?;
            rest.split('.').next()?.parse().ok()
        })
        .collect();
    let contiguous = layers.last().is_none_or(|&max| max + 1 == layers.len());
    if layers.len() != declared || !contiguous {
        return Err(crate::error::LlmError::Config {
            path: source.origin().to_path_buf(),
            field: field.to_string(),
            reason: format!(
                "{declared} layers declared, the weights hold layers {}",
                match (layers.first(), layers.last()) {
                    (Some(a), Some(b)) => format!("{a}..={b} ({} in all)", layers.len()),
                    _ => "none".to_string(),
                }
            ),
        });
    }
    Ok(())
}

pub(crate) fn check_tensors(
    source: &dyn TensorSource,
    expected: &[(String, Vec<usize>)],
    ignore: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let origin = source.origin().to_path_buf();
    let mut missing = Vec::new();
    for (name, shape) in expected {
        match source.shape(name) {
            None => missing.push(name.clone()),
            Some(found) if &found != shape => {
                return Err(rad3d_io::IoError::ShapeMismatch {
                    path: origin,
                    name: name.clone(),
                    expected: shape.clone(),
                    found,
                }
                .into());
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(rad3d_io::IoError::MissingTensors {
            path: origin,
            names: missing,
        }
        .into());
    }
    let wanted: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<String> = source
        .names()
        .into_iter()
        .filter(|n| !wanted.contains(n.as_str()) && !ignore(n))
        .collect();
    if !unexpected.is_empty() {
        return Err(rad3d_io::IoError::UnexpectedTensors {
            path: origin,
            names: unexpected,
        }
        .into());
    }
    Ok(())
}

/// Takes a tensor that [`check_tensors`] has already vouched for.
pub(crate) fn take_checked(source: &mut dyn TensorSource, name: &str) -> Result<HostTensor> {
    let tensor = source
        .take(name)?
        .ok_or_else(|| rad3d_io::IoError::MissingTensors {
            path: source.origin().to_path_buf(),
            names: vec![name.to_string()],
        })?;
    // Whatever the format (safetensors, GGUF, memory), NaN or infinite weights are damage.
    rad3d_io::IoError::check_finite(&tensor.data, source.origin(), name)?;
    Ok(tensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_roundtrip() {
        let t = HostTensor::new(vec![3, 70], (0..210).map(|x| x as f32).collect());
        let tt = t.transposed();
        assert_eq!(tt.shape, vec![70, 3]);
        // Element (row 1, col 2) of the transpose is element (row 2, col 1) of the original.
        assert_eq!(tt.data[3 + 2], t.data[2 * 70 + 1]);
        assert_eq!(tt.transposed(), t);
    }

    #[test]
    fn half_precision_converts() {
        let v = [1.5f32, -2.25, 0.0];
        let f16: Vec<u8> = v
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect();
        let bf16: Vec<u8> = v
            .iter()
            .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
            .collect();
        use safetensors::{Dtype, tensor::TensorView};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let ints = [0u8; 4];
        let views = vec![
            ("a", TensorView::new(Dtype::F16, vec![3], &f16).unwrap()),
            ("b", TensorView::new(Dtype::BF16, vec![3], &bf16).unwrap()),
            ("i", TensorView::new(Dtype::I32, vec![1], &ints).unwrap()),
        ];
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
        let mut src = SafetensorsSource::open(&path).unwrap();
        assert_eq!(src.take("a").unwrap().unwrap().data, v);
        assert_eq!(src.take("b").unwrap().unwrap().data, v);
        let err = src.take("i").unwrap_err();
        assert!(matches!(err, LlmError::UnsupportedDtype { .. }), "{err}");
    }

    #[test]
    fn check_reports_every_missing_and_unexpected_name() {
        let mut src = MemorySource::new("w.safetensors");
        src.insert("a", HostTensor::new(vec![2], vec![0.0; 2]));
        src.insert("extra", HostTensor::new(vec![1], vec![0.0]));
        let expected = vec![
            ("a".to_string(), vec![2]),
            ("b".into(), vec![1]),
            ("c".into(), vec![1]),
        ];
        let err = check_tensors(&src, &expected, &|_| false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("w.safetensors") && err.contains("b, c"),
            "{err}"
        );
        let err = check_tensors(&src, &expected[..1], &|_| false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unexpected") && err.contains("extra"), "{err}");
        assert!(check_tensors(&src, &expected[..1], &|n| n == "extra").is_ok());
        let bad = vec![("a".to_string(), vec![3])];
        let err = check_tensors(&src, &bad, &|_| true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`a`") && err.contains("[2]") && err.contains("[3]"),
            "{err}"
        );
    }
}
