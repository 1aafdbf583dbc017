//! PyTorch `.pt`/`.pth` checkpoints (the zip format `torch.save` writes since 1.6), read
//! by hand: [`archive`] opens the zip and reads storages whole (checksum verified),
//! [`pickle`] evaluates the pickle subset torch.save emits without executing anything,
//! [`tensor`] turns each `(storage, offset, size, stride)` view into a contiguous buffer.
//!
//! Why not burn-store's reader: it ignores strides (a transposed view saved by
//! torch.save loads as the untransposed storage), and it pads a short storage, a
//! missing storage entry or an offset past the end with zeros and reports success.
//! Weights that silently become zeros are worse than any error, so this reader follows
//! PyTorch's semantics exactly and refuses, naming the file and tensor, whatever does
//! not add up: a missing or short storage, a checksum mismatch, negative or
//! overflowing sizes and strides, a size larger than the file can hold (checked before
//! allocating), an opcode or global outside the subset.

mod archive;
mod pickle;
mod tensor;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{IoError, Result};
use archive::PtArchive;
use tensor::TensorRef;

/// An opened PyTorch zip checkpoint: its tensor views, with the data read on request.
pub(crate) struct PtFile {
    path: PathBuf,
    archive: PtArchive,
    tensors: HashMap<String, TensorRef>,
}

impl PtFile {
    /// Opens the zip and evaluates its pickle; storages are read only by
    /// [`read_f32`](Self::read_f32) and [`read_i64`](Self::read_i64).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let archive = PtArchive::open(path)?;
        let bytes = archive.read_pickle()?;
        let root = pickle::load(&bytes).map_err(|e| IoError::UnsupportedPickle {
            path: path.to_path_buf(),
            position: e.position,
            reason: e.reason,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            archive,
            tensors: pickle::tensors(&root),
        })
    }

    /// Every tensor name (nested dict keys joined with `.`), unordered.
    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.tensors.keys()
    }

    /// Whether the checkpoint holds a tensor of that name.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape as the pickle declares it (`None` for an absent name or a negative
    /// size, which reading refuses).
    pub(crate) fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name)?.shape()
    }

    /// The dtype's name and whether it is floating-point.
    pub(crate) fn dtype(&self, name: &str) -> Option<(&'static str, bool)> {
        let d = self.tensors.get(name)?.dtype;
        Some((d.name(), d.is_float()))
    }

    /// A float tensor (f32, f16, bf16, f64) as f32 values in row-major order and its
    /// shape.
    pub(crate) fn read_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let t = self.get(name)?;
        self.read(name, t, "a floating-point type", |b| t.dtype.decode_f32(b))
    }

    /// An integer tensor (i64, i32) as i64 values in row-major order and its shape.
    pub(crate) fn read_i64(&self, name: &str) -> Result<(Vec<i64>, Vec<usize>)> {
        let t = self.get(name)?;
        self.read(name, t, "an integer type", |b| t.dtype.decode_i64(b))
    }

    fn get(&self, name: &str) -> Result<&TensorRef> {
        self.tensors
            .get(name)
            .ok_or_else(|| IoError::MissingTensors {
                path: self.path.clone(),
                names: vec![name.to_string()],
            })
    }

    fn read<T>(
        &self,
        name: &str,
        t: &TensorRef,
        expected: &'static str,
        decode: impl Fn(&[u8]) -> Option<T>,
    ) -> Result<(Vec<T>, Vec<usize>)> {
        let wrong_dtype = || IoError::DType {
            path: self.path.clone(),
            name: name.to_string(),
            dtype: t.dtype.name().to_string(),
            expected,
        };
        let elem = t.dtype.size();
        // Refuse a dtype the caller cannot use before reading its storage.
        if decode(&vec![0u8; elem as usize]).is_none() {
            return Err(wrong_dtype());
        }
        let layout = t.layout(&self.path, name, self.archive.file_len())?;
        // The whole declared storage must be present, not only the part this view
        // reaches: a shorter entry is a damaged file (`layout` showed numel >= needed).
        let storage_bytes = layout.needed.max(t.storage_numel.unsigned_abs()) * elem;
        let storage = self.archive.read_storage(&t.key, name, storage_bytes)?;
        let values = layout
            .gather(&storage, elem as usize, decode)
            .ok_or_else(|| IoError::TensorLayout {
                path: self.path.clone(),
                name: name.to_string(),
                reason: "view outside its storage".into(),
            })?;
        Ok((values, layout.shape))
    }
}
