//! A small GGUF writer: enough to export f32/f16/quantized tensors with metadata, and to
//! build synthetic files for tests (including deliberately malformed ones, since the
//! raw bytes are available before they are written).

use std::path::Path;

use super::reader::{DEFAULT_ALIGNMENT, GGUF_MAGIC};
use super::types::{GgmlType, MetadataArray, MetadataValue};
use crate::error::{LlmError, Result};

/// Builds a GGUF file (v3 by default) in memory.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    alignment: u64,
    metadata: Vec<(String, MetadataValue)>,
    tensors: Vec<(String, Vec<u64>, u32, Vec<u8>)>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufWriter {
    /// An empty v3 file with the default alignment.
    pub fn new() -> Self {
        Self {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// Sets the format version written in the header (any value, so tests can write
    /// unsupported ones).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Sets the data alignment and records it as `general.alignment` (u32).
    ///
    /// # Panics
    /// If `alignment` is not a power of two that fits a `u32`.
    pub fn alignment(mut self, alignment: u32) -> Self {
        assert!(
            alignment.is_power_of_two(),
            "alignment must be a power of two"
        );
        self.alignment = alignment as u64;
        self.metadata.retain(|(k, _)| k != "general.alignment");
        self.metadata
            .push(("general.alignment".into(), MetadataValue::U32(alignment)));
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: MetadataValue) -> Self {
        self.metadata.push((key.into(), value));
        self
    }

    /// Adds a string metadata entry.
    pub fn string(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata(key, MetadataValue::String(value.into()))
    }

    /// Adds a u32 metadata entry.
    pub fn u32(self, key: impl Into<String>, value: u32) -> Self {
        self.metadata(key, MetadataValue::U32(value))
    }

    /// Adds an f32 metadata entry.
    pub fn f32(self, key: impl Into<String>, value: f32) -> Self {
        self.metadata(key, MetadataValue::F32(value))
    }

    /// Adds a tensor from raw bytes. `dims` are in ggml order (contiguous first) and
    /// `type_id` is the raw ggml id (so tests can write unknown ones); the bytes are
    /// written as given.
    pub fn raw_tensor(
        mut self,
        name: impl Into<String>,
        dims: &[u64],
        type_id: u32,
        data: Vec<u8>,
    ) -> Self {
        self.tensors
            .push((name.into(), dims.to_vec(), type_id, data));
        self
    }

    /// Adds a tensor of type `ty` from its encoded bytes; `dims` in ggml order.
    pub fn tensor(
        self,
        name: impl Into<String>,
        dims: &[u64],
        ty: GgmlType,
        data: Vec<u8>,
    ) -> Self {
        self.raw_tensor(name, dims, ty.id(), data)
    }

    /// Adds an f32 tensor; `shape` in PyTorch order (outermost first), `values` row-major.
    ///
    /// # Panics
    /// If `values.len()` is not the product of `shape`.
    pub fn tensor_f32(self, name: impl Into<String>, shape: &[usize], values: &[f32]) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "tensor_f32: shape mismatch"
        );
        let dims: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, &dims, GgmlType::F32, bytes)
    }

    /// The complete file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(GGUF_MAGIC);
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_string(&mut out, key);
            out.extend(value.value_type().id().to_le_bytes());
            put_value(&mut out, value);
        }
        let align = |n: u64| n.div_ceil(self.alignment) * self.alignment;
        let mut offset = 0u64;
        for (name, dims, type_id, data) in &self.tensors {
            put_string(&mut out, name);
            out.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(type_id.to_le_bytes());
            out.extend(offset.to_le_bytes());
            offset = align(offset + data.len() as u64);
        }
        for (_, _, _, data) in &self.tensors {
            out.resize(align(out.len() as u64) as usize, 0);
            out.extend(data);
        }
        out
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &MetadataValue) {
    use MetadataValue as V;
    match v {
        V::U8(x) => out.push(*x),
        V::I8(x) => out.push(*x as u8),
        V::U16(x) => out.extend(x.to_le_bytes()),
        V::I16(x) => out.extend(x.to_le_bytes()),
        V::U32(x) => out.extend(x.to_le_bytes()),
        V::I32(x) => out.extend(x.to_le_bytes()),
        V::F32(x) => out.extend(x.to_le_bytes()),
        V::U64(x) => out.extend(x.to_le_bytes()),
        V::I64(x) => out.extend(x.to_le_bytes()),
        V::F64(x) => out.extend(x.to_le_bytes()),
        V::Bool(x) => out.push(*x as u8),
        V::String(s) => put_string(out, s),
        V::Array(a) => put_array(out, a),
    }
}

fn put_array(out: &mut Vec<u8>, a: &MetadataArray) {
    use MetadataArray as A;
    out.extend(a.element_type().id().to_le_bytes());
    out.extend((a.len() as u64).to_le_bytes());
    match a {
        A::U8(v) => out.extend(v),
        A::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        A::U16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::I16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::U32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::I32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::U64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        A::Bool(v) => out.extend(v.iter().map(|&b| b as u8)),
        A::String(v) => v.iter().for_each(|s| put_string(out, s)),
        A::Array(v) => v.iter().for_each(|inner| put_array(out, inner)),
    }
}
