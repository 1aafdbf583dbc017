//! Reading a GGUF file: header, metadata, tensor infos and tensor data.
//!
//! Layout (GGUF v2/v3, little-endian): magic `GGUF`, `u32` version, `u64` tensor
//! count, `u64` metadata count, the metadata key/values, the tensor infos, padding to
//! `general.alignment` (default 32), then the tensor data; each tensor's offset is
//! relative to the start of that data section.
//!
//! The header is streamed through a reader that knows how many bytes the file has
//! left, so every count and length is checked against the file size *before* anything
//! is allocated: a corrupt or hostile file gives an [`LlmError::Format`] naming the
//! file and the field, never a panic or a huge allocation. Tensor data is read on
//! demand, one tensor at a time, so opening a file costs only its header.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::dequant::dequantize_into;
use super::types::{GgmlType, MetadataArray, MetadataValue, ValueType};
use crate::error::{LlmError, Result};

/// The 4 bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Tensor data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's limit on tensor dimensions (`GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
/// Arrays nested deeper than this are rejected (no real file nests at all); it keeps a
/// crafted file from exhausting the stack.
const MAX_ARRAY_DEPTH: usize = 8;
/// Most elements reserved up front for any count read from the file.
const PREALLOC_CAP: u64 = 1 << 16;

/// Where one tensor lives in the file and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor's GGUF name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the contiguous (fastest-varying) one,
    /// the reverse of PyTorch's order.
    pub dims: Vec<u64>,
    /// Element type / quantization format.
    pub ggml_type: GgmlType,
    /// Absolute byte offset of the tensor's data in the file.
    pub offset: u64,
    /// Size of the tensor's data in bytes.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        // Overflow was ruled out when the file was opened.
        self.dims.iter().product()
    }

    /// The shape in PyTorch order (outermost first), e.g. `[out, in]` for a linear weight.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// An opened GGUF file: its metadata and tensor directory, with tensor data read on
/// demand.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    version: u32,
    metadata: Vec<(String, MetadataValue)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
    file: Mutex<File>,
}

impl GgufFile {
    /// Opens `path` and reads its header, metadata and tensor infos, validating every
    /// count, length, type, alignment and tensor extent against the file, and the tensors'
    /// layout against llama.cpp's (no overlaps, no gaps: see `check_packing`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let io = |source| LlmError::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut r = HeaderReader {
            inner: BufReader::with_capacity(1 << 16, file.try_clone().map_err(io)?),
            pos: 0,
            len,
            path: &path,
        };

        let magic = r.bytes::<4>("magic")?;
        if magic != GGUF_MAGIC {
            return Err(r.err(format!(
                "not a GGUF file: magic is {magic:02x?}, expected \"GGUF\""
            )));
        }
        let version = r.u32("version")?;
        if !(version == 2 || version == 3) {
            let hint = if version.swap_bytes() <= 3 {
                " (a big-endian file?)"
            } else {
                ""
            };
            return Err(r.err(format!(
                "unsupported GGUF version {version}{hint}; versions 2 and 3 are supported"
            )));
        }
        let n_tensors = r.u64("tensor_count")?;
        let n_kv = r.u64("metadata_kv_count")?;
        // Each metadata entry takes at least 13 bytes (empty key, type, 1-byte value) and
        // each tensor info at least 28 (empty name, n_dims, one dim, type, offset).
        r.check_count(n_kv, 13, "metadata_kv_count")?;
        r.check_count(n_tensors, 28, "tensor_count")?;

        // Capacities are capped: memory then grows only with entries actually read.
        let mut metadata = Vec::with_capacity(n_kv.min(PREALLOC_CAP) as usize);
        let mut metadata_index = HashMap::with_capacity(n_kv.min(PREALLOC_CAP) as usize);
        for i in 0..n_kv {
            let key = r.string(&format!("metadata[{i}] key"))?;
            let field = format!("metadata '{key}'");
            let ty = r.value_type(&field)?;
            let value = r.value(ty, &field, 0)?;
            if metadata_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(r.err(format!("duplicate metadata key '{key}'")));
            }
            metadata.push((key, value));
        }

        let alignment = match metadata_index.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(&i) => match metadata[i].1.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 30 => a,
                _ => {
                    return Err(r.err(format!(
                        "metadata 'general.alignment' is {:?}; expected a power of two",
                        metadata[i].1
                    )));
                }
            },
        };

        let mut raw = Vec::with_capacity(n_tensors.min(PREALLOC_CAP) as usize);
        for i in 0..n_tensors {
            let name = r.string(&format!("tensor info #{i} name"))?;
            let field = format!("tensor '{name}'");
            let n_dims = r.u32(&format!("{field} n_dims"))?;
            if n_dims == 0 || n_dims as usize > MAX_DIMS {
                return Err(r.err(format!(
                    "{field} has {n_dims} dimensions; GGUF allows 1 to {MAX_DIMS}"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for d in 0..n_dims {
                dims.push(r.u64(&format!("{field} dim {d}"))?);
            }
            let type_id = r.u32(&format!("{field} type"))?;
            let rel_offset = r.u64(&format!("{field} offset"))?;
            raw.push((name, dims, type_id, rel_offset));
        }
        let data_offset = r.pos.div_ceil(alignment) * alignment;

        let mut tensors = Vec::with_capacity(raw.len());
        let mut tensor_index = HashMap::with_capacity(raw.len());
        for (name, dims, type_id, rel_offset) in raw {
            let info = check_tensor(&r, name, dims, type_id, rel_offset, alignment, data_offset)?;
            if tensor_index
                .insert(info.name.clone(), tensors.len())
                .is_some()
            {
                return Err(r.err(format!("duplicate tensor name '{}'", info.name)));
            }
            tensors.push(info);
        }
        check_packing(&r, &tensors, data_offset, alignment)?;
        tracing::debug!(
            path = %path.display(),
            version,
            n_tensors = tensors.len(),
            n_metadata = metadata.len(),
            "opened GGUF file"
        );
        Ok(Self {
            version,
            metadata,
            metadata_index,
            tensors,
            tensor_index,
            alignment,
            data_offset,
            file: Mutex::new(file),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Alignment of the tensor data (from `general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute byte offset where the tensor data section starts.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// All metadata entries in file order.
    pub fn metadata(&self) -> &[(String, MetadataValue)] {
        &self.metadata
    }

    /// The metadata value under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// The metadata value under `key`; missing is an error naming the file and key.
    pub fn require(&self, key: &str) -> Result<&MetadataValue> {
        self.get(key)
            .ok_or_else(|| self.format_err(format!("metadata '{key}' is missing")))
    }

    /// A string metadata value; missing or of another type is an error.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        let v = self.require(key)?;
        v.as_str()
            .ok_or_else(|| self.wrong_type(key, v, "a string"))
    }

    /// An unsigned integer metadata value (any integer width); missing, negative or of
    /// another type is an error.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let v = self.require(key)?;
        v.as_u64()
            .ok_or_else(|| self.wrong_type(key, v, "a non-negative integer"))
    }

    /// A numeric metadata value as `f64`; missing or non-numeric is an error.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        v.as_f64()
            .ok_or_else(|| self.wrong_type(key, v, "a number"))
    }

    /// An array metadata value; missing or of another type is an error.
    pub fn get_array(&self, key: &str) -> Result<&MetadataArray> {
        let v = self.require(key)?;
        v.as_array()
            .ok_or_else(|| self.wrong_type(key, v, "an array"))
    }

    /// The tensor directory in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The info of tensor `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name)
            .ok_or_else(|| self.format_err(format!("tensor '{name}' is missing")))
    }

    /// The raw (still quantized) bytes of tensor `name`.
    pub fn tensor_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let info = self.require_tensor(name)?;
        let mut buf = vec![0u8; info.n_bytes as usize];
        self.read_at(info.offset, &mut buf, &info.name)?;
        Ok(buf)
    }

    /// Reads tensor `name` and converts it to f32 exactly as ggml dequantizes it.
    /// Returns the shape in PyTorch order (see [`TensorInfo::shape`]) and the values in
    /// row-major order. A type this crate cannot dequantize is an
    /// [`LlmError::UnsupportedDtype`] naming the tensor.
    pub fn dequantize(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let info = self.require_tensor(name)?;
        let ty = info.ggml_type;
        if !ty.can_dequantize() {
            return Err(LlmError::UnsupportedDtype {
                path: self.path.clone(),
                name: info.name.clone(),
                dtype: format!("{ty} (no dequantization implemented for this ggml type)"),
            });
        }
        let (block, size) = (ty.block_size(), ty.type_size());
        let n = info.n_elements() as usize;
        let mut out = vec![0f32; n];
        // Stream the tensor through a bounded buffer: never hold the raw bytes and the
        // f32 values of a large tensor at once.
        let blocks_per_chunk = ((1 << 20) / size).max(1);
        let mut buf = vec![0u8; blocks_per_chunk * size];
        let n_blocks = n / block;
        let mut done = 0;
        while done < n_blocks {
            let k = blocks_per_chunk.min(n_blocks - done);
            let bytes = &mut buf[..k * size];
            self.read_at(info.offset + (done * size) as u64, bytes, &info.name)?;
            let ok = dequantize_into(ty, bytes, &mut out[done * block..(done + k) * block]);
            debug_assert!(ok, "can_dequantize and dequantize_into disagree on {ty}");
            done += k;
        }
        Ok((info.shape(), out))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8], tensor: &str) -> Result<()> {
        // A poisoned lock only means another reader panicked mid-read; the file handle
        // itself is still usable because every read seeks first.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(buf))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    self.format_err(format!(
                        "tensor '{tensor}': file ended while reading its data (was it truncated after opening?)"
                    ))
                } else {
                    LlmError::Io {
                        path: self.path.clone(),
                        source: e,
                    }
                }
            })
    }

    /// An [`LlmError::Format`] naming this file.
    pub(crate) fn format_err(&self, reason: String) -> LlmError {
        LlmError::Format {
            path: self.path.clone(),
            reason,
        }
    }

    fn wrong_type(&self, key: &str, v: &MetadataValue, expected: &str) -> LlmError {
        self.format_err(format!(
            "metadata '{key}' is a {:?}, expected {expected}",
            v.value_type()
        ))
    }
}

/// Validates one tensor info against the file: known type, whole blocks, no overflow,
/// aligned, and its data inside the file.
fn check_tensor(
    r: &HeaderReader<'_>,
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    rel_offset: u64,
    alignment: u64,
    data_offset: u64,
) -> Result<TensorInfo> {
    let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| LlmError::UnsupportedDtype {
        path: r.path.to_path_buf(),
        name: name.clone(),
        dtype: format!("unknown ggml type id {type_id}"),
    })?;
    let n_elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or_else(|| {
            r.err(format!(
                "tensor '{name}' dims {dims:?} overflow the element count"
            ))
        })?;
    let block = ggml_type.block_size() as u64;
    if !dims[0].is_multiple_of(block) {
        return Err(r.err(format!(
            "tensor '{name}' of type {ggml_type}: first dimension {} is not a multiple of the block size {block}",
            dims[0]
        )));
    }
    let n_bytes = (n_elements / block)
        .checked_mul(ggml_type.type_size() as u64)
        .ok_or_else(|| r.err(format!("tensor '{name}' byte size overflows")))?;
    if !rel_offset.is_multiple_of(alignment) {
        return Err(r.err(format!(
            "tensor '{name}' offset {rel_offset} is not a multiple of the alignment {alignment}"
        )));
    }
    let end = data_offset
        .checked_add(rel_offset)
        .and_then(|o| o.checked_add(n_bytes));
    match end {
        Some(end) if end <= r.len => Ok(TensorInfo {
            name,
            dims,
            ggml_type,
            offset: data_offset + rel_offset,
            n_bytes,
        }),
        _ => Err(r.err(format!(
            "tensor '{name}' ({ggml_type} {dims:?}, {n_bytes} bytes at data offset {rel_offset}) extends past the end of the file ({} bytes)",
            r.len
        ))),
    }
}

/// Checks the tensors' regions against llama.cpp's layout rule: the data lies in the
/// order of the tensor infos, each tensor starting where the one before it ends, rounded
/// up to the alignment, and the file ends with the last tensor's padding. llama.cpp
/// refuses any other layout, and so does this reader: a region starting before the
/// previous tensor's end overlaps it, and a gap (or a file longer than its last tensor)
/// means a tensor's type or shape does not describe its bytes, which would otherwise be
/// decoded as garbage.
fn check_packing(
    r: &HeaderReader<'_>,
    tensors: &[TensorInfo],
    data_offset: u64,
    alignment: u64,
) -> Result<()> {
    let describe = |t: &TensorInfo| {
        format!(
            "'{}' ({} {:?}, {} bytes at data offset {})",
            t.name,
            t.ggml_type,
            t.dims,
            t.n_bytes,
            t.offset - data_offset
        )
    };
    // Each end fits in the file (checked per tensor), so none of these sums overflow.
    let mut expected = 0u64;
    for (i, t) in tensors.iter().enumerate() {
        let rel = t.offset - data_offset;
        let before = match i {
            0 => "the start of the data section".to_string(),
            _ => describe(&tensors[i - 1]),
        };
        if rel < expected {
            return Err(r.err(format!(
                "tensor {} overlaps {before}, whose data ends at data offset {expected}",
                describe(t)
            )));
        }
        if rel > expected {
            return Err(r.err(format!(
                "tensor {} leaves {} unused bytes after {before}: a tensor's type or shape does not match its data",
                describe(t),
                rel - expected
            )));
        }
        expected = (rel + t.n_bytes).div_ceil(alignment) * alignment;
    }
    if let Some(last) = tensors.last() {
        let slack = r.len - (last.offset + last.n_bytes);
        if slack >= alignment {
            return Err(r.err(format!(
                "the file holds {slack} bytes after the last tensor {}: its type or shape does not match its data",
                describe(last)
            )));
        }
    }
    Ok(())
}

/// A little-endian reader over the header that tracks its position and the file
/// length, so each read can first check that the bytes exist.
struct HeaderReader<'p> {
    inner: BufReader<File>,
    pos: u64,
    len: u64,
    path: &'p Path,
}

impl HeaderReader<'_> {
    fn err(&self, reason: String) -> LlmError {
        LlmError::Format {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Fails unless `count` items of at least `min_size` bytes each fit in the rest of
    /// the file.
    fn check_count(&self, count: u64, min_size: u64, field: &str) -> Result<()> {
        if count.saturating_mul(min_size) > self.remaining() {
            return Err(self.err(format!(
                "{field} is {count}, but only {} bytes are left at offset {} (corrupt or truncated file)",
                self.remaining(),
                self.pos
            )));
        }
        Ok(())
    }

    fn fill(&mut self, buf: &mut [u8], field: &str) -> Result<()> {
        if buf.len() as u64 > self.remaining() {
            return Err(self.err(format!(
                "truncated: {field} needs {} bytes at offset {}, the file has {} left",
                buf.len(),
                self.pos,
                self.remaining()
            )));
        }
        self.inner.read_exact(buf).map_err(|source| LlmError::Io {
            path: self.path.to_path_buf(),
            source,
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn bytes<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b, field)?;
        Ok(b)
    }

    fn u32(&mut self, field: &str) -> Result<u32> {
        self.bytes(field).map(u32::from_le_bytes)
    }

    fn u64(&mut self, field: &str) -> Result<u64> {
        self.bytes(field).map(u64::from_le_bytes)
    }

    fn string(&mut self, field: &str) -> Result<String> {
        let n = self.u64(field)?;
        if n > self.remaining() {
            return Err(self.err(format!(
                "{field}: string length {n} exceeds the {} bytes left at offset {}",
                self.remaining(),
                self.pos
            )));
        }
        let mut buf = vec![0u8; n as usize];
        self.fill(&mut buf, field)?;
        String::from_utf8(buf).map_err(|e| self.err(format!("{field}: string is not UTF-8 ({e})")))
    }

    fn value_type(&mut self, field: &str) -> Result<ValueType> {
        let id = self.u32(field)?;
        ValueType::from_id(id)
            .ok_or_else(|| self.err(format!("{field}: unknown metadata value type {id}")))
    }

    fn value(&mut self, ty: ValueType, field: &str, depth: usize) -> Result<MetadataValue> {
        use MetadataValue as V;
        Ok(match ty {
            ValueType::U8 => V::U8(self.bytes::<1>(field)?[0]),
            ValueType::I8 => V::I8(self.bytes::<1>(field)?[0] as i8),
            ValueType::U16 => V::U16(u16::from_le_bytes(self.bytes(field)?)),
            ValueType::I16 => V::I16(i16::from_le_bytes(self.bytes(field)?)),
            ValueType::U32 => V::U32(self.u32(field)?),
            ValueType::I32 => V::I32(i32::from_le_bytes(self.bytes(field)?)),
            ValueType::F32 => V::F32(f32::from_le_bytes(self.bytes(field)?)),
            ValueType::U64 => V::U64(self.u64(field)?),
            ValueType::I64 => V::I64(i64::from_le_bytes(self.bytes(field)?)),
            ValueType::F64 => V::F64(f64::from_le_bytes(self.bytes(field)?)),
            ValueType::Bool => V::Bool(self.bool(field)?),
            ValueType::String => V::String(self.string(field)?),
            ValueType::Array => V::Array(self.array(field, depth)?),
        })
    }

    fn bool(&mut self, field: &str) -> Result<bool> {
        match self.bytes::<1>(field)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.err(format!("{field}: bool byte is {b}, expected 0 or 1"))),
        }
    }

    fn array(&mut self, field: &str, depth: usize) -> Result<MetadataArray> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.err(format!(
                "{field}: arrays nested deeper than {MAX_ARRAY_DEPTH}"
            )));
        }
        let ty = self.value_type(&format!("{field} element type"))?;
        let n = self.u64(&format!("{field} array length"))?;
        self.check_count(n, ty.min_encoded_size(), &format!("{field} array length"))?;
        let n = n as usize;
        macro_rules! read_vec {
            ($variant:ident, $read:expr) => {{
                let mut v = Vec::with_capacity(n.min(PREALLOC_CAP as usize));
                for _ in 0..n {
                    v.push($read);
                }
                MetadataArray::$variant(v)
            }};
        }
        Ok(match ty {
            ValueType::U8 => read_vec!(U8, self.bytes::<1>(field)?[0]),
            ValueType::I8 => read_vec!(I8, self.bytes::<1>(field)?[0] as i8),
            ValueType::U16 => read_vec!(U16, u16::from_le_bytes(self.bytes(field)?)),
            ValueType::I16 => read_vec!(I16, i16::from_le_bytes(self.bytes(field)?)),
            ValueType::U32 => read_vec!(U32, self.u32(field)?),
            ValueType::I32 => read_vec!(I32, i32::from_le_bytes(self.bytes(field)?)),
            ValueType::F32 => read_vec!(F32, f32::from_le_bytes(self.bytes(field)?)),
            ValueType::U64 => read_vec!(U64, self.u64(field)?),
            ValueType::I64 => read_vec!(I64, i64::from_le_bytes(self.bytes(field)?)),
            ValueType::F64 => read_vec!(F64, f64::from_le_bytes(self.bytes(field)?)),
            ValueType::Bool => read_vec!(Bool, self.bool(field)?),
            ValueType::String => read_vec!(String, self.string(field)?),
            ValueType::Array => read_vec!(Array, self.array(field, depth + 1)?),
        })
    }
}
