//! A tensor as the pickle describes it (a view into a storage) and its materialisation
//! into a contiguous row-major buffer, with every index checked against the storage.

use std::path::Path;

use crate::error::{IoError, Result};

/// Element type of a storage, from its pickled class (`torch.FloatStorage`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PtDType {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl PtDType {
    pub(crate) fn from_storage_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "DoubleStorage" => Self::F64,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    /// Whether [`decode_f32`](Self::decode_f32) reads it.
    pub(crate) fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16 | Self::F64)
    }

    /// The name reported to users, as burn's `DType` debug output spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
            Self::F64 => "F64",
            Self::I64 => "I64",
            Self::I32 => "I32",
            Self::I16 => "I16",
            Self::I8 => "I8",
            Self::U8 => "U8",
            Self::Bool => "Bool",
        }
    }

    /// One little-endian element as f32, `None` for non-float types.
    pub(crate) fn decode_f32(self, b: &[u8]) -> Option<f32> {
        Some(match (self, b) {
            (Self::F32, &[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
            (Self::F16, &[a, b]) => half::f16::from_le_bytes([a, b]).to_f32(),
            (Self::BF16, &[a, b]) => half::bf16::from_le_bytes([a, b]).to_f32(),
            (Self::F64, &[a, b, c, d, e, f, g, h]) => {
                f64::from_le_bytes([a, b, c, d, e, f, g, h]) as f32
            }
            _ => return None,
        })
    }

    /// One little-endian element as i64, `None` for non-integer types.
    pub(crate) fn decode_i64(self, b: &[u8]) -> Option<i64> {
        Some(match (self, b) {
            (Self::I64, &[a, b, c, d, e, f, g, h]) => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            (Self::I32, &[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
            _ => return None,
        })
    }
}

/// `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)`: a view of
/// `storage_numel` elements of storage `key`, all values as the pickle gave them.
#[derive(Clone, Debug)]
pub(crate) struct TensorRef {
    pub(crate) dtype: PtDType,
    pub(crate) key: String,
    pub(crate) storage_numel: i64,
    pub(crate) offset: i64,
    pub(crate) size: Vec<i64>,
    pub(crate) stride: Vec<i64>,
}

/// A view whose numbers have been checked: every element it addresses lies in
/// `0..needed` of the storage.
pub(crate) struct Layout {
    pub(crate) shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
    numel: usize,
    /// Storage elements the view reaches (offset + extent), 0 for an empty tensor.
    pub(crate) needed: u64,
}

impl TensorRef {
    /// The shape, when every dimension is a valid size (for listing, before any check
    /// of the data).
    pub(crate) fn shape(&self) -> Option<Vec<usize>> {
        self.size.iter().map(|&d| usize::try_from(d).ok()).collect()
    }

    /// Checks the view's numbers before anything is allocated: sizes, strides and the
    /// offset are non-negative and do not overflow, the storage is large enough for
    /// the farthest element, and neither the storage nor the result needs more bytes
    /// than a file of `file_len` bytes can justify.
    pub(crate) fn layout(&self, path: &Path, name: &str, file_len: u64) -> Result<Layout> {
        let bad = |reason: String| IoError::TensorLayout {
            path: path.to_path_buf(),
            name: name.to_string(),
            reason,
        };
        if self.size.len() != self.stride.len() {
            return Err(bad(format!(
                "size {:?} and stride {:?} differ in rank",
                self.size, self.stride
            )));
        }
        let nonneg =
            |v: i64, what: &str| u64::try_from(v).map_err(|_| bad(format!("negative {what} {v}")));
        let offset = nonneg(self.offset, "storage offset")?;
        let storage_numel = nonneg(self.storage_numel, "storage size")?;
        let overflow = || bad(format!("size {:?} overflows", self.size));
        let mut numel: u64 = 1;
        // Index of the farthest element relative to the offset.
        let mut extent: u64 = 0;
        for (&d, &s) in self.size.iter().zip(&self.stride) {
            let d = nonneg(d, "size")?;
            let s = nonneg(s, "stride")?;
            numel = numel.checked_mul(d).ok_or_else(overflow)?;
            if d > 0 {
                let reach = (d - 1).checked_mul(s).ok_or_else(overflow)?;
                extent = extent.checked_add(reach).ok_or_else(overflow)?;
            }
        }
        let elem = self.dtype.size();
        let needed = if numel == 0 {
            0
        } else {
            offset
                .checked_add(extent)
                .and_then(|e| e.checked_add(1))
                .ok_or_else(overflow)?
        };
        let too_large = |bytes: u64| IoError::TensorTooLarge {
            path: path.to_path_buf(),
            name: name.to_string(),
            bytes,
            limit: file_len,
        };
        // The storage lives in the file, so neither it nor the part the view reaches can
        // be larger than the file.
        for elems in [storage_numel, needed] {
            let bytes = elems.checked_mul(elem).ok_or_else(|| too_large(u64::MAX))?;
            if bytes > file_len {
                return Err(too_large(bytes));
            }
        }
        if needed > storage_numel {
            return Err(bad(format!(
                "view reaches element {} of a {storage_numel}-element storage \
                 (offset {offset}, size {:?}, stride {:?})",
                needed - 1,
                self.size,
                self.stride
            )));
        }
        // A view with a zero stride (an expanded tensor) repeats storage elements, so the
        // result may outgrow the file; a bounded factor still refuses forged sizes
        // before they are allocated.
        const BROADCAST_FACTOR: u64 = 64;
        let out_bytes = numel.checked_mul(elem).ok_or_else(|| too_large(u64::MAX))?;
        if out_bytes > file_len.saturating_mul(BROADCAST_FACTOR) {
            return Err(too_large(out_bytes));
        }
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| too_large(out_bytes));
        Ok(Layout {
            shape: self
                .size
                .iter()
                .map(|&d| to_usize(d.unsigned_abs()))
                .collect::<Result<_>>()?,
            strides: self
                .stride
                .iter()
                .map(|&s| to_usize(s.unsigned_abs()))
                .collect::<Result<_>>()?,
            offset: to_usize(offset)?,
            numel: to_usize(numel)?,
            needed,
        })
    }
}

impl Layout {
    /// The view's elements in row-major order, each decoded by `decode` from its
    /// bytes in `storage` (which [`TensorRef::layout`] has shown to be long enough).
    pub(crate) fn gather<T>(
        &self,
        storage: &[u8],
        elem: usize,
        decode: impl Fn(&[u8]) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(self.numel);
        if self.numel == 0 {
            return Some(out);
        }
        let rank = self.shape.len();
        let mut index = vec![0usize; rank];
        let mut at = self.offset;
        for _ in 0..self.numel {
            let start = at * elem;
            out.push(decode(storage.get(start..start + elem)?)?);
            // Odometer increment: the last axis moves fastest, as in row-major order.
            for axis in (0..rank).rev() {
                index[axis] += 1;
                at += self.strides[axis];
                if index[axis] < self.shape[axis] {
                    break;
                }
                at -= self.strides[axis] * self.shape[axis];
                index[axis] = 0;
            }
        }
        Some(out)
    }
}
