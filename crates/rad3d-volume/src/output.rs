//! The preprocessed network input: a `(t, h, w)` f32 array, its provenance, and
//! conversions to Burn tensors and safetensors files.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

#[cfg(feature = "tensor")]
use burn::tensor::{Tensor, TensorData, backend::Backend};
use rayon::prelude::*;
use safetensors::{Dtype, View};

use crate::error::{Result, VolumeError};
use crate::orientation::Axcodes;

/// Name of the tensor in safetensors files written by [`Preprocessed::save_safetensors`].
pub const TENSOR_NAME: &str = "volume";

/// A preprocessed CT ready for the encoder: row-major `(t, h, w)` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    data: Vec<f32>,
    shape: [usize; 3],
    input_orientation: Axcodes,
    resampled_size: [usize; 3],
}

/// Summary statistics of a preprocessed volume (population standard deviation).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Mean value.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
}

impl Preprocessed {
    /// Wrap values already in `(t, h, w)` order.
    pub fn new(
        data: Vec<f32>,
        shape: [usize; 3],
        input_orientation: Axcodes,
        resampled_size: [usize; 3],
    ) -> Self {
        assert_eq!(
            data.len(),
            shape.iter().product::<usize>(),
            "Preprocessed::new: data length vs shape {shape:?}"
        );
        Preprocessed {
            data,
            shape,
            input_orientation,
            resampled_size,
        }
    }

    /// Values, row-major `(t, h, w)`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Take the values.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// `(t, h, w)`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// nibabel axis codes of the volume before reorientation (e.g. `RAS`).
    pub fn input_orientation(&self) -> Axcodes {
        self.input_orientation
    }

    /// `(t, h, w)` after resampling, before crop / pad.
    pub fn resampled_size(&self) -> [usize; 3] {
        self.resampled_size
    }

    /// Value at `(t, h, w)`.
    pub fn get(&self, t: usize, h: usize, w: usize) -> Option<f32> {
        let [nt, nh, nw] = self.shape;
        (t < nt && h < nh && w < nw).then(|| self.data[(t * nh + h) * nw + w])
    }

    /// Mean, standard deviation, min and max (f64 accumulation, parallel).
    pub fn stats(&self) -> Stats {
        let (n, sum, sq, min, max) = self
            .data
            .par_chunks(1 << 16)
            .map(|c| {
                let (mut s, mut q, mut lo, mut hi) =
                    (0.0f64, 0.0f64, f32::INFINITY, f32::NEG_INFINITY);
                for &v in c {
                    s += v as f64;
                    q += (v as f64) * (v as f64);
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                (c.len(), s, q, lo, hi)
            })
            .reduce(
                || (0, 0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY),
                |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3.min(b.3), a.4.max(b.4)),
            );
        let n = n.max(1) as f64;
        let mean = sum / n;
        Stats {
            mean,
            std: (sq / n - mean * mean).max(0.0).sqrt(),
            min,
            max,
        }
    }

    #[cfg(feature = "tensor")]
    /// Copy into a Burn tensor `[1, 1, t, h, w]`.
    pub fn to_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 5> {
        self.clone().into_tensor(device)
    }

    #[cfg(feature = "tensor")]
    /// Move into a Burn tensor `[1, 1, t, h, w]` without an extra host copy.
    pub fn into_tensor<B: Backend>(self, device: &B::Device) -> Tensor<B, 5> {
        let [t, h, w] = self.shape;
        Tensor::from_data(TensorData::new(self.data, [1, 1, t, h, w]), device)
    }

    #[cfg(feature = "tensor")]
    /// Stack equally shaped volumes into a batch tensor `[B, 1, t, h, w]`.
    pub fn batch_tensor<B: Backend>(
        items: &[Preprocessed],
        device: &B::Device,
    ) -> Result<Tensor<B, 5>> {
        let Some(first) = items.first() else {
            return Err(VolumeError::InvalidConfig {
                field: "batch",
                value: "0".into(),
                reason: "empty batch",
            });
        };
        let [t, h, w] = first.shape;
        if let Some(bad) = items.iter().find(|p| p.shape != first.shape) {
            return Err(VolumeError::ShapeMismatch {
                what: "Preprocessed::batch_tensor".into(),
                shape: bad.shape.to_vec(),
                expected: first.data.len(),
                found: bad.data.len(),
            });
        }
        let mut data = Vec::with_capacity(items.len() * first.data.len());
        for p in items {
            data.extend_from_slice(&p.data);
        }
        Ok(Tensor::from_data(
            TensorData::new(data, [items.len(), 1, t, h, w]),
            device,
        ))
    }

    /// Write tensor `volume` (f32, `[1, t, h, w]`) with the orientation and
    /// resampled size in the file's metadata.
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let [t, h, w] = self.shape;
        let view = F32View {
            data: &self.data,
            shape: vec![1, t, h, w],
        };
        let meta = HashMap::from([
            (
                "input_orientation".to_string(),
                self.input_orientation.to_string(),
            ),
            (
                "resampled_size".to_string(),
                format!("{:?}", self.resampled_size),
            ),
        ]);
        let bytes = safetensors::serialize([(TENSOR_NAME, view)], Some(meta)).map_err(|e| {
            VolumeError::Safetensors {
                path: path.into(),
                reason: e.to_string(),
            }
        })?;
        // Temporary sibling + rename: an interrupted write never leaves a truncated file.
        rad3d_io::write_atomic(path, &bytes).map_err(|e| VolumeError::write(path, e))
    }

    /// Read a file written by [`save_safetensors`](Self::save_safetensors) (tensor `volume`,
    /// f32, shape `[t, h, w]` with any number of leading 1s).
    pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Preprocessed> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| VolumeError::io(path, e))?;
        let err = |reason: String| VolumeError::Safetensors {
            path: path.into(),
            reason,
        };
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
        let (_, meta) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| err(e.to_string()))?;
        let view = st
            .tensor(TENSOR_NAME)
            .map_err(|e| err(format!("tensor `{TENSOR_NAME}`: {e}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(err(format!(
                "tensor `{TENSOR_NAME}` has dtype {:?}, expected F32",
                view.dtype()
            )));
        }
        let dims = view.shape();
        let lead = dims.len().saturating_sub(3);
        if dims.len() < 3 || dims[..lead].iter().any(|&d| d != 1) {
            return Err(err(format!(
                "tensor `{TENSOR_NAME}` has shape {dims:?}, expected [1.., t, h, w]"
            )));
        }
        let shape = [dims[lead], dims[lead + 1], dims[lead + 2]];
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let info = meta.metadata().clone().unwrap_or_default();
        let input_orientation = match info.get("input_orientation") {
            Some(s) => s.parse()?,
            None => Axcodes::CT_CLIP,
        };
        let resampled_size = info
            .get("resampled_size")
            .and_then(|s| {
                let v: Vec<usize> = s
                    .trim_matches(['[', ']'])
                    .split(',')
                    .filter_map(|x| x.trim().parse().ok())
                    .collect();
                <[usize; 3]>::try_from(v).ok()
            })
            .unwrap_or(shape);
        Ok(Preprocessed {
            data,
            shape,
            input_orientation,
            resampled_size,
        })
    }
}

/// A borrowed f32 buffer as a safetensors tensor (little-endian bytes).
struct F32View<'a> {
    data: &'a [f32],
    shape: Vec<usize>,
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        f32_le_bytes(self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

/// The little-endian bytes of `data`, borrowed where the machine is little-endian.
pub(crate) fn f32_le_bytes(data: &[f32]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        // SAFETY: f32 has no padding and every bit pattern is a valid u8; u8 alignment is 1,
        // and the byte length covers exactly the same allocation.
        Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data))
        })
    } else {
        Cow::Owned(data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Preprocessed {
        let data: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32 / 10.0 - 1.0).collect();
        Preprocessed::new(data, [2, 3, 4], Axcodes::RAS, [5, 6, 7])
    }

    #[test]
    fn safetensors_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.safetensors");
        let p = sample();
        p.save_safetensors(&path).unwrap();
        assert_eq!(Preprocessed::load_safetensors(&path).unwrap(), p);
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            Preprocessed::load_safetensors(&path),
            Err(VolumeError::Safetensors { .. })
        ));
    }

    #[cfg(feature = "tensor")]
    #[test]
    fn tensors_and_stats() {
        use burn::backend::Flex;
        let p = sample();
        let device = Default::default();
        let t = p.to_tensor::<Flex>(&device);
        assert_eq!(t.dims(), [1, 1, 2, 3, 4]);
        let v: Vec<f32> = t.into_data().to_vec().unwrap();
        assert_eq!(v, p.data());
        let b = Preprocessed::batch_tensor::<Flex>(&[p.clone(), p.clone()], &device).unwrap();
        assert_eq!(b.dims(), [2, 1, 2, 3, 4]);
        let s = p.stats();
        assert!((s.mean - 0.15).abs() < 1e-6);
        assert_eq!((s.min, s.max), (p.data()[0], p.data()[23]));
        let sd = ((0..24)
            .map(|v| (v as f64 / 10.0 - 1.15).powi(2))
            .sum::<f64>()
            / 24.0)
            .sqrt();
        assert!((s.std - sd).abs() < 1e-6);
    }
}
