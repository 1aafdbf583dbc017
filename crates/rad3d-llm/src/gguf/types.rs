//! GGUF value types: tensor element types (ggml quantization formats) and metadata values.

use std::fmt;

/// A ggml tensor element type, as stored in a GGUF tensor info (`ggml_type`).
///
/// Every type llama.cpp has defined is listed so that a file's layout (block sizes,
/// byte sizes) can be checked even for tensors this crate cannot dequantize; ids that
/// are not listed are rejected when the file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, missing_docs)] // ggml's own names; each is self-describing
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
    NVFP4,
    Q1_0,
}

/// `(id, type, elements per block, bytes per block)`, as in ggml's type traits
/// (`ggml.c` `type_traits` / gguf-py `GGML_QUANT_SIZES`). Ids 4, 5 and 31–33, 36–38
/// belonged to formats that ggml removed and are therefore absent.
const TYPE_TABLE: &[(u32, GgmlType, usize, usize)] = &[
    (0, GgmlType::F32, 1, 4),
    (1, GgmlType::F16, 1, 2),
    (2, GgmlType::Q4_0, 32, 18),
    (3, GgmlType::Q4_1, 32, 20),
    (6, GgmlType::Q5_0, 32, 22),
    (7, GgmlType::Q5_1, 32, 24),
    (8, GgmlType::Q8_0, 32, 34),
    (9, GgmlType::Q8_1, 32, 40),
    (10, GgmlType::Q2_K, 256, 84),
    (11, GgmlType::Q3_K, 256, 110),
    (12, GgmlType::Q4_K, 256, 144),
    (13, GgmlType::Q5_K, 256, 176),
    (14, GgmlType::Q6_K, 256, 210),
    (15, GgmlType::Q8_K, 256, 292),
    (16, GgmlType::IQ2_XXS, 256, 66),
    (17, GgmlType::IQ2_XS, 256, 74),
    (18, GgmlType::IQ3_XXS, 256, 98),
    (19, GgmlType::IQ1_S, 256, 50),
    (20, GgmlType::IQ4_NL, 32, 18),
    (21, GgmlType::IQ3_S, 256, 110),
    (22, GgmlType::IQ2_S, 256, 82),
    (23, GgmlType::IQ4_XS, 256, 136),
    (24, GgmlType::I8, 1, 1),
    (25, GgmlType::I16, 1, 2),
    (26, GgmlType::I32, 1, 4),
    (27, GgmlType::I64, 1, 8),
    (28, GgmlType::F64, 1, 8),
    (29, GgmlType::IQ1_M, 256, 56),
    (30, GgmlType::BF16, 1, 2),
    (34, GgmlType::TQ1_0, 256, 54),
    (35, GgmlType::TQ2_0, 256, 66),
    (39, GgmlType::MXFP4, 32, 17),
    (40, GgmlType::NVFP4, 64, 36),
    (41, GgmlType::Q1_0, 128, 18),
];

impl GgmlType {
    /// The type with ggml id `id`, or `None` for ids ggml never defined or removed.
    pub fn from_id(id: u32) -> Option<Self> {
        TYPE_TABLE.iter().find(|e| e.0 == id).map(|e| e.1)
    }

    fn entry(self) -> &'static (u32, GgmlType, usize, usize) {
        // Every variant has exactly one row in TYPE_TABLE (checked by a unit test).
        TYPE_TABLE
            .iter()
            .find(|e| e.1 == self)
            .unwrap_or(&TYPE_TABLE[0])
    }

    /// ggml's numeric id of this type.
    pub fn id(self) -> u32 {
        self.entry().0
    }

    /// Number of elements one block holds (1 for plain float/int types).
    pub fn block_size(self) -> usize {
        self.entry().2
    }

    /// Number of bytes one block takes in the file.
    pub fn type_size(self) -> usize {
        self.entry().3
    }

    /// Whether [`crate::gguf::dequantize_into`] can convert this type to f32.
    pub fn can_dequantize(self) -> bool {
        use GgmlType::*;
        matches!(
            self,
            F32 | F16
                | BF16
                | F64
                | I8
                | I16
                | I32
                | Q4_0
                | Q4_1
                | Q5_0
                | Q5_1
                | Q8_0
                | Q2_K
                | Q3_K
                | Q4_K
                | Q5_K
                | Q6_K
                | Q8_K
        )
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A metadata value type tag (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the names are the GGUF spec's
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The value type with GGUF tag `id`.
    pub fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// The GGUF tag of this value type.
    pub fn id(self) -> u32 {
        use ValueType::*;
        match self {
            U8 => 0,
            I8 => 1,
            U16 => 2,
            I16 => 3,
            U32 => 4,
            I32 => 5,
            F32 => 6,
            Bool => 7,
            String => 8,
            Array => 9,
            U64 => 10,
            I64 => 11,
            F64 => 12,
        }
    }

    /// The fewest bytes one value of this type takes in a file; bounds array counts
    /// against the bytes left so a corrupt count cannot trigger a huge allocation.
    pub(crate) fn min_encoded_size(self) -> u64 {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

/// A homogeneous metadata array; typed so that large arrays (vocabularies, scores)
/// stay compact.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // one variant per element type
pub enum MetadataArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Array(Vec<MetadataArray>),
}

impl MetadataArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        use MetadataArray::*;
        match self {
            U8(v) => v.len(),
            I8(v) => v.len(),
            U16(v) => v.len(),
            I16(v) => v.len(),
            U32(v) => v.len(),
            I32(v) => v.len(),
            F32(v) => v.len(),
            Bool(v) => v.len(),
            String(v) => v.len(),
            U64(v) => v.len(),
            I64(v) => v.len(),
            F64(v) => v.len(),
            Array(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type tag.
    pub fn element_type(&self) -> ValueType {
        use MetadataArray as A;
        match self {
            A::U8(_) => ValueType::U8,
            A::I8(_) => ValueType::I8,
            A::U16(_) => ValueType::U16,
            A::I16(_) => ValueType::I16,
            A::U32(_) => ValueType::U32,
            A::I32(_) => ValueType::I32,
            A::F32(_) => ValueType::F32,
            A::Bool(_) => ValueType::Bool,
            A::String(_) => ValueType::String,
            A::U64(_) => ValueType::U64,
            A::I64(_) => ValueType::I64,
            A::F64(_) => ValueType::F64,
            A::Array(_) => ValueType::Array,
        }
    }

    /// The elements as integers, if the array holds an integer type (values that do
    /// not fit an `i64` make it `None`).
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        use MetadataArray::*;
        Some(match self {
            U8(v) => v.iter().map(|&x| x as i64).collect(),
            I8(v) => v.iter().map(|&x| x as i64).collect(),
            U16(v) => v.iter().map(|&x| x as i64).collect(),
            I16(v) => v.iter().map(|&x| x as i64).collect(),
            U32(v) => v.iter().map(|&x| x as i64).collect(),
            I32(v) => v.iter().map(|&x| x as i64).collect(),
            U64(v) => v
                .iter()
                .map(|&x| i64::try_from(x).ok())
                .collect::<Option<_>>()?,
            I64(v) => v.clone(),
            _ => return None,
        })
    }

    /// The elements as floats, if the array holds a float type.
    pub fn to_f32_vec(&self) -> Option<Vec<f32>> {
        match self {
            MetadataArray::F32(v) => Some(v.clone()),
            MetadataArray::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            _ => None,
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // one variant per GGUF value type
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(MetadataArray),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetadataValue {
    /// The value type tag.
    pub fn value_type(&self) -> ValueType {
        use MetadataValue as V;
        match self {
            V::U8(_) => ValueType::U8,
            V::I8(_) => ValueType::I8,
            V::U16(_) => ValueType::U16,
            V::I16(_) => ValueType::I16,
            V::U32(_) => ValueType::U32,
            V::I32(_) => ValueType::I32,
            V::F32(_) => ValueType::F32,
            V::Bool(_) => ValueType::Bool,
            V::String(_) => ValueType::String,
            V::Array(_) => ValueType::Array,
            V::U64(_) => ValueType::U64,
            V::I64(_) => ValueType::I64,
            V::F64(_) => ValueType::F64,
        }
    }

    /// Any integer value as `u64` (negative values give `None`).
    pub fn as_u64(&self) -> Option<u64> {
        use MetadataValue::*;
        match *self {
            U8(x) => Some(x as u64),
            U16(x) => Some(x as u64),
            U32(x) => Some(x as u64),
            U64(x) => Some(x),
            I8(x) => u64::try_from(x).ok(),
            I16(x) => u64::try_from(x).ok(),
            I32(x) => u64::try_from(x).ok(),
            I64(x) => u64::try_from(x).ok(),
            _ => None,
        }
    }

    /// Any numeric value as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        use MetadataValue::*;
        match *self {
            F32(x) => Some(x as f64),
            F64(x) => Some(x),
            _ => self.as_u64().map(|x| x as f64).or(match *self {
                I8(x) => Some(x as f64),
                I16(x) => Some(x as f64),
                I32(x) => Some(x as f64),
                I64(x) => Some(x as f64),
                _ => None,
            }),
        }
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetadataValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            MetadataValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The array, if this is an array value.
    pub fn as_array(&self) -> Option<&MetadataArray> {
        match self {
            MetadataValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_id() {
        for &(id, ty, block, size) in TYPE_TABLE {
            assert_eq!(GgmlType::from_id(id), Some(ty));
            assert_eq!(ty.id(), id);
            assert_eq!((ty.block_size(), ty.type_size()), (block, size));
        }
        assert_eq!(GgmlType::from_id(4), None);
        assert_eq!(GgmlType::from_id(1000), None);
    }

    #[test]
    fn value_type_ids_round_trip() {
        for id in 0..13 {
            assert_eq!(ValueType::from_id(id).map(ValueType::id), Some(id));
        }
        assert_eq!(ValueType::from_id(13), None);
    }
}
