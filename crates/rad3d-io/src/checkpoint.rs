//! Reading weight checkpoints: PyTorch `.pt`/`.pth` (the zip format) and safetensors,
//! recognised by content, with every floating-point dtype decoded to f32.
//!
//! Safetensors files are memory-mapped and PyTorch storages are read from the zip on
//! request, so loading a large checkpoint keeps at most one decoded tensor (and, for
//! PyTorch, its storage) beside the file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::tensor::TensorData;
use memmap2::Mmap;
use safetensors::tensor::{Dtype as StDtype, Metadata};

use crate::error::{IoError, Result};
use crate::pytorch::PtFile;

/// One tensor as the file stores it.
enum Raw<'a> {
    Safetensors {
        bytes: &'a [u8],
        dtype: StDtype,
        shape: Vec<usize>,
    },
    /// A PyTorch file and the tensor's full name in it.
    Pytorch(&'a PtFile, String),
}

enum Storage {
    Safetensors {
        mmap: Mmap,
        header_len: usize,
        metadata: Metadata,
    },
    Pytorch(PtFile),
}

/// A checkpoint opened for reading, with lazy access to tensors by name.
///
/// Recognises PyTorch zip checkpoints and safetensors by content, not extension.
/// Names are addressed relative to a wrapper prefix (empty unless set).
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
    /// Opens a checkpoint file; names are addressed as stored until a prefix is set
    /// ([`set_prefix`](Self::set_prefix), [`detect_prefix`](Self::detect_prefix)).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut magic = [0u8; 8];
        let mut file = File::open(&path).map_err(|e| IoError::at(&path)(e))?;
        let read = file.read(&mut magic).map_err(|e| IoError::at(&path)(e))?;
        let not = |reason: String| IoError::NotACheckpoint {
            path: path.clone(),
            reason,
        };
        let is_zip = read >= 4 && &magic[..4] == b"PK\x03\x04";
        let is_pickle = read >= 2 && magic[0] == 0x80 && (2..=5).contains(&magic[1]);
        let storage = if is_zip {
            Storage::Pytorch(PtFile::open(&path)?)
        } else if is_pickle {
            // The pre-1.6 format (a bare pickle followed by raw storages) has not been
            // written by torch.save for years; refusing it beats loading it unverified.
            return Err(not(
                "a legacy (pre-1.6) PyTorch pickle; re-save it with a current torch.save".into(),
            ));
        } else {
            // SAFETY: the map is read-only and lives as long as the reader. Mapping a file
            // is only sound while no one modifies or truncates it: callers must not change
            // a checkpoint while it is open (another process doing so is undefined
            // behaviour, not a detectable error).
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| IoError::at(&path)(e))?;
            let (header_len, metadata) = safetensors::SafeTensors::read_metadata(&mmap)
                .map_err(|e| not(format!("neither a PyTorch file nor safetensors ({e:?})")))?;
            Storage::Safetensors {
                mmap,
                header_len,
                metadata,
            }
        };
        Ok(Self {
            path,
            storage,
            prefix: String::new(),
        })
    }

    /// Sets the prefix to whatever precedes `anchor`, a name every checkpoint of the
    /// expected kind holds, so that weights nested in wrapper dicts
    /// (`{"state_dict": {...}}`, `trained_model.…`) are addressed by their own names.
    /// Leaves the prefix empty when no name ends in `anchor`.
    pub fn detect_prefix(&mut self, anchor: &str) {
        self.prefix = self
            .raw_names()
            .iter()
            .find_map(|n| n.strip_suffix(anchor).map(str::to_string))
            .unwrap_or_default();
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The wrapper prefix names are addressed under (often empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// All tensor names exactly as stored.
    pub fn raw_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match &self.storage {
            Storage::Safetensors { metadata, .. } => metadata.tensors().into_keys().collect(),
            Storage::Pytorch(pt) => pt.names().cloned().collect(),
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
            Storage::Pytorch(pt) => pt.shape(&full),
        }
    }

    /// The stored bytes (safetensors) or full name (PyTorch) of a tensor named relative
    /// to the prefix; a missing name is an error naming it and the file.
    fn raw(&self, name: &str) -> Result<Raw<'_>> {
        let full = format!("{}{name}", self.prefix);
        let found = match &self.storage {
            Storage::Safetensors {
                mmap,
                header_len,
                metadata,
            } => metadata.info(&full).map(|info| Raw::Safetensors {
                bytes: &mmap
                    [8 + header_len + info.data_offsets.0..8 + header_len + info.data_offsets.1],
                dtype: info.dtype,
                shape: info.shape.clone(),
            }),
            Storage::Pytorch(pt) => pt.contains(&full).then(|| Raw::Pytorch(pt, full.clone())),
        };
        found.ok_or_else(|| IoError::MissingTensors {
            path: self.path.clone(),
            names: vec![name.to_string()],
        })
    }

    fn wrong_dtype(&self, name: &str, dtype: String, expected: &'static str) -> IoError {
        IoError::DType {
            path: self.path.clone(),
            name: name.to_string(),
            dtype,
            expected,
        }
    }

    /// Reads a floating-point tensor as f32 (f16, bf16 and f64 are converted).
    pub fn read_f32(&self, name: &str) -> Result<TensorData> {
        const EXPECTED: &str = "a floating-point type";
        match self.raw(name)? {
            Raw::Safetensors {
                bytes,
                dtype,
                shape,
            } => {
                let values: Vec<f32> = match dtype {
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
                    other => return Err(self.wrong_dtype(name, st_dtype_name(other), EXPECTED)),
                };
                IoError::check_finite(&values, &self.path, name)?;
                Ok(TensorData::new(values, shape))
            }
            Raw::Pytorch(pt, full) => {
                // Errors name the tensor as stored, so the file can be inspected by it.
                let (values, shape) = pt.read_f32(&full)?;
                IoError::check_finite(&values, &self.path, &full)?;
                Ok(TensorData::new(values, shape))
            }
        }
    }

    /// Reads an integer tensor (i64/i32, e.g. reference indices) as i64.
    pub fn read_i64(&self, name: &str) -> Result<TensorData> {
        const EXPECTED: &str = "an integer type";
        match self.raw(name)? {
            Raw::Safetensors {
                bytes,
                dtype,
                shape,
            } => {
                let values: Vec<i64> = match dtype {
                    StDtype::I64 => bytes
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8-byte chunk")))
                        .collect(),
                    StDtype::I32 => bytes
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes(c.try_into().expect("4-byte chunk")) as i64)
                        .collect(),
                    other => return Err(self.wrong_dtype(name, st_dtype_name(other), EXPECTED)),
                };
                Ok(TensorData::new(values, shape))
            }
            Raw::Pytorch(pt, full) => {
                // Errors name the tensor as stored, so the file can be inspected by it.
                let (values, shape) = pt.read_i64(&full)?;
                Ok(TensorData::new(values, shape))
            }
        }
    }

    /// The dtype of a tensor (name relative to the prefix) as the file stores it, and
    /// whether it is a floating-point type [`read_f32`](Self::read_f32) decodes.
    pub fn dtype(&self, name: &str) -> Option<(String, bool)> {
        let full = format!("{}{name}", self.prefix);
        match &self.storage {
            Storage::Safetensors { metadata, .. } => {
                let d = metadata.info(&full)?.dtype;
                let float = matches!(
                    d,
                    StDtype::F32 | StDtype::F16 | StDtype::BF16 | StDtype::F64
                );
                Some((st_dtype_name(d), float))
            }
            Storage::Pytorch(pt) => pt.dtype(&full).map(|(d, float)| (d.to_string(), float)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    fn write(path: &Path, tensors: &[(&str, StDtype, Vec<usize>, Vec<u8>)]) {
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
    }

    #[test]
    fn decodes_every_float_dtype_and_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let vals = [1.5f32, -2.25];
        let f16: Vec<u8> = vals
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let bf16: Vec<u8> = vals
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        let f64: Vec<u8> = vals
            .iter()
            .flat_map(|&v| f64::from(v).to_le_bytes())
            .collect();
        let i32: Vec<u8> = [7i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        write(
            &path,
            &[
                ("wrap.a", StDtype::F16, vec![2], f16),
                ("wrap.b", StDtype::BF16, vec![2], bf16),
                ("wrap.c", StDtype::F64, vec![1, 2], f64),
                ("wrap.idx", StDtype::I32, vec![2], i32),
            ],
        );
        let mut r = CheckpointReader::open(&path).unwrap();
        assert_eq!(r.prefix(), "");
        r.detect_prefix("idx");
        assert_eq!(r.prefix(), "wrap.");
        for name in ["a", "b", "c"] {
            let got = r.read_f32(name).unwrap();
            assert_eq!(got.to_vec::<f32>().unwrap(), vals, "{name}");
            assert!(r.dtype(name).unwrap().1);
        }
        assert_eq!(r.shape("c").unwrap(), vec![1, 2]);
        assert_eq!(r.read_i64("idx").unwrap().to_vec::<i64>().unwrap(), [7, -1]);
        let err = r.read_f32("idx").unwrap_err().to_string();
        assert!(
            err.contains("w.safetensors") && err.contains("idx"),
            "{err}"
        );
        let err = r.read_f32("nope").unwrap_err().to_string();
        assert!(err.contains("missing tensors: nope"), "{err}");
    }

    #[test]
    fn refuses_files_that_are_not_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.pt");
        std::fs::write(&path, b"definitely not weights").unwrap();
        let err = CheckpointReader::open(&path).unwrap_err();
        assert!(matches!(err, IoError::NotACheckpoint { .. }), "{err}");
        assert!(err.to_string().contains("junk.pt"));
        let err = CheckpointReader::open(dir.path().join("absent.pt")).unwrap_err();
        assert!(matches!(err, IoError::Io { .. }), "{err}");
    }
}
