//! Malformed GGUF files: truncation at every offset, bad magic and versions, absurd
//! counts/lengths/dims, misalignment, unknown and unsupported tensor types, unknown
//! architecture — each must be a typed error naming the file and the field or tensor,
//! never a panic or a huge allocation. A property test mutates a valid file at random.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rad3d_llm::LlmError;
use rad3d_llm::gguf::{
    GgmlType, GgufFile, GgufLlamaSource, GgufWriter, MetadataArray, MetadataValue, llama_config,
    tokenizer_from_metadata,
};

/// A small but complete file: metadata of several types (array included), a byte-level
/// BPE vocabulary, and F32/F16/Q8_0 tensors.
fn valid_writer() -> GgufWriter {
    let q8: Vec<u8> = half::f16::from_f32(0.5)
        .to_bits()
        .to_le_bytes()
        .into_iter()
        .chain((0..32).map(|i| i as u8))
        .collect();
    GgufWriter::new()
        .string("general.architecture", "llama")
        .u32("llama.embedding_length", 4)
        .metadata(
            "tokenizer.ggml.tokens",
            MetadataValue::Array(MetadataArray::String(
                ["a", "b", "ab", "Ġ", "Ġab"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            )),
        )
        .metadata(
            "tokenizer.ggml.merges",
            MetadataValue::Array(MetadataArray::String(vec!["a b".into(), "Ġ ab".into()])),
        )
        .string("tokenizer.ggml.model", "gpt2")
        .tensor_f32("w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .tensor("h", &[2], GgmlType::F16, vec![0, 0x3c, 0, 0xc0])
        .tensor("q", &[32], GgmlType::Q8_0, q8)
}

fn write_bytes(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Opens `path` expecting a format/dtype error; returns its message, checking it names
/// the file.
fn open_err(path: &Path) -> String {
    let err = GgufFile::open(path).expect_err("malformed file opened");
    assert!(
        matches!(
            err,
            LlmError::Format { .. } | LlmError::UnsupportedDtype { .. }
        ),
        "unexpected error kind: {err:?}"
    );
    let msg = err.to_string();
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(file), "error does not name the file: {msg}");
    msg
}

/// Header with raw counts, for files whose counts lie. Cases below pad their files so
/// the entry-count check passes and the field under test is what fails.
fn header(version: u32, n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(version.to_le_bytes());
    b.extend(n_tensors.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b
}

#[test]
fn the_valid_file_reads_completely() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_bytes(&dir, "ok.gguf", &valid_writer().to_bytes());
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(
        f.dequantize("w").unwrap().1,
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(f.dequantize("h").unwrap().1, vec![1.0, -2.0]);
    assert_eq!(f.dequantize("q").unwrap().1[3], 1.5);
    let tok = tokenizer_from_metadata(&f).unwrap();
    assert_eq!(tok.encode(" ab", false).unwrap().get_ids(), &[4]);
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = valid_writer().to_bytes();
    for cut in 0..bytes.len() {
        let path = write_bytes(&dir, &format!("cut{cut}.gguf"), &bytes[..cut]);
        let msg = open_err(&path);
        assert!(
            msg.contains("truncated") || msg.contains("past the end") || msg.contains("left"),
            "cut at {cut}: {msg}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn bad_magic_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = valid_writer().to_bytes();
    bytes[0] = b'X';
    assert!(open_err(&write_bytes(&dir, "magic.gguf", &bytes)).contains("magic"));
    for v in [1u32, 4, 3u32.swap_bytes()] {
        let bytes = valid_writer().version(v).to_bytes();
        let msg = open_err(&write_bytes(&dir, &format!("v{v}.gguf"), &bytes));
        assert!(msg.contains(&format!("version {v}")), "{msg}");
    }
    let bytes = valid_writer().version(3u32.swap_bytes()).to_bytes();
    assert!(open_err(&write_bytes(&dir, "be.gguf", &bytes)).contains("big-endian"));
}

#[test]
fn absurd_counts_and_lengths_are_rejected_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let msg = open_err(&write_bytes(&dir, "kv.gguf", &header(3, 0, u64::MAX)));
    assert!(msg.contains("metadata_kv_count"), "{msg}");
    let msg = open_err(&write_bytes(&dir, "tc.gguf", &header(3, 1 << 60, 0)));
    assert!(msg.contains("tensor_count"), "{msg}");

    // A key whose length claims the whole address space.
    let mut b = header(3, 0, 1);
    b.extend(u64::MAX.to_le_bytes());
    b.extend(b"key");
    b.extend([0u8; 64]);
    let msg = open_err(&write_bytes(&dir, "keylen.gguf", &b));
    assert!(
        msg.contains("metadata[0] key") && msg.contains("string length"),
        "{msg}"
    );

    // An array claiming 2^61 strings.
    let mut b = header(3, 0, 1);
    b.extend(3u64.to_le_bytes());
    b.extend(b"arr");
    b.extend(9u32.to_le_bytes()); // array
    b.extend(8u32.to_le_bytes()); // of strings
    b.extend((1u64 << 61).to_le_bytes());
    b.extend([0u8; 64]);
    let msg = open_err(&write_bytes(&dir, "arrlen.gguf", &b));
    assert!(msg.contains("'arr' array length"), "{msg}");

    // Unknown value type and a bool that is neither 0 nor 1.
    let mut b = header(3, 0, 1);
    b.extend(1u64.to_le_bytes());
    b.extend(b"k");
    b.extend(77u32.to_le_bytes());
    b.extend([0u8; 64]);
    assert!(open_err(&write_bytes(&dir, "vt.gguf", &b)).contains("unknown metadata value type 77"));
    let mut b = header(3, 0, 1);
    b.extend(1u64.to_le_bytes());
    b.extend(b"k");
    b.extend(7u32.to_le_bytes());
    b.push(2);
    b.extend([0u8; 64]);
    assert!(open_err(&write_bytes(&dir, "bool.gguf", &b)).contains("bool byte is 2"));

    // Arrays nested past the depth limit.
    let mut b = header(3, 0, 1);
    b.extend(1u64.to_le_bytes());
    b.extend(b"n");
    b.extend(9u32.to_le_bytes());
    for _ in 0..20 {
        b.extend(9u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
    }
    b.extend(vec![0u8; 64]);
    assert!(open_err(&write_bytes(&dir, "deep.gguf", &b)).contains("nested deeper"));

    // Non-UTF-8 string.
    let mut b = header(3, 0, 1);
    b.extend(2u64.to_le_bytes());
    b.extend([0xff, 0xfe]);
    b.extend([0u8; 64]);
    assert!(open_err(&write_bytes(&dir, "utf8.gguf", &b)).contains("not UTF-8"));
}

#[test]
fn bad_tensor_infos_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let case = |name: &str, w: GgufWriter| open_err(&write_bytes(&dir, name, &w.to_bytes()));

    let msg = case(
        "dims5.gguf",
        GgufWriter::new().raw_tensor("t5", &[1, 1, 1, 1, 1], 0, vec![0; 4]),
    );
    assert!(msg.contains("'t5' has 5 dimensions"), "{msg}");
    let msg = case(
        "dims0.gguf",
        GgufWriter::new().raw_tensor("t0", &[], 0, vec![]),
    );
    assert!(msg.contains("'t0' has 0 dimensions"), "{msg}");
    let msg = case(
        "ovf.gguf",
        GgufWriter::new().raw_tensor("big", &[u64::MAX, 3], 0, vec![]),
    );
    assert!(msg.contains("'big'") && msg.contains("overflow"), "{msg}");
    let msg = case(
        "huge.gguf",
        GgufWriter::new().raw_tensor("huge", &[1 << 20, 1 << 20], 0, vec![0; 8]),
    );
    assert!(
        msg.contains("'huge'") && msg.contains("past the end"),
        "{msg}"
    );
    let msg = case(
        "block.gguf",
        GgufWriter::new().raw_tensor("q", &[16], GgmlType::Q4_0.id(), vec![0; 18]),
    );
    assert!(
        msg.contains("'q'") && msg.contains("block size 32"),
        "{msg}"
    );
    let msg = case(
        "type.gguf",
        GgufWriter::new().raw_tensor("odd", &[4], 99, vec![0; 16]),
    );
    assert!(
        msg.contains("odd") && msg.contains("unknown ggml type id 99"),
        "{msg}"
    );
    let msg = case(
        "dup.gguf",
        GgufWriter::new()
            .tensor_f32("x", &[1], &[1.0])
            .tensor_f32("x", &[1], &[2.0]),
    );
    assert!(msg.contains("duplicate tensor name 'x'"), "{msg}");
    let msg = case("dupkey.gguf", GgufWriter::new().u32("k", 1).u32("k", 2));
    assert!(msg.contains("duplicate metadata key 'k'"), "{msg}");
    let msg = case("align.gguf", GgufWriter::new().u32("general.alignment", 24));
    assert!(msg.contains("general.alignment"), "{msg}");

    // An offset that is not a multiple of the alignment: patch the first tensor's offset.
    let w = GgufWriter::new()
        .tensor_f32("m", &[1], &[1.0])
        .tensor_f32("n", &[1], &[2.0]);
    let mut bytes = w.to_bytes();
    let name_pos = bytes.windows(1).rposition(|s| s == b"n").unwrap();
    // After the name: n_dims (4), dim (8), type (4), then the offset (8).
    let off = name_pos + 1 + 4 + 8 + 4;
    bytes[off..off + 8].copy_from_slice(&4u64.to_le_bytes());
    let msg = open_err(&write_bytes(&dir, "misaligned.gguf", &bytes));
    assert!(
        msg.contains("'n' offset 4 is not a multiple of the alignment 32"),
        "{msg}"
    );
}

#[test]
fn unsupported_quantization_errors_name_tensor_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let w = GgufWriter::new().tensor("blk.0.ffn_up.weight", &[32], GgmlType::IQ4_NL, vec![0; 18]);
    let path = write_bytes(&dir, "iq.gguf", &w.to_bytes());
    let f = GgufFile::open(&path).unwrap();
    let err = f.dequantize("blk.0.ffn_up.weight").unwrap_err();
    assert!(matches!(err, LlmError::UnsupportedDtype { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("blk.0.ffn_up.weight") && msg.contains("IQ4_NL") && msg.contains("iq.gguf"),
        "{msg}"
    );
}

#[test]
fn unknown_architecture_and_foreign_tensors_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let w = GgufWriter::new()
        .string("general.architecture", "mamba")
        .tensor_f32("token_embd.weight", &[2, 2], &[0.0; 4]);
    let f = GgufFile::open(write_bytes(&dir, "mamba.gguf", &w.to_bytes())).unwrap();
    let err = llama_config(&f).unwrap_err();
    assert!(
        matches!(err, LlmError::UnknownArchitecture { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("mamba") && err.to_string().contains("mamba.gguf"));
    assert!(matches!(
        GgufLlamaSource::new(&f).unwrap_err(),
        LlmError::UnknownArchitecture { .. }
    ));

    let w = GgufWriter::new()
        .string("general.architecture", "llama")
        .u32("llama.attention.head_count", 1)
        .tensor_f32("blk.0.ssm_conv.weight", &[2], &[0.0; 2]);
    let f = GgufFile::open(write_bytes(&dir, "foreign.gguf", &w.to_bytes())).unwrap();
    let err = GgufLlamaSource::new(&f).unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Checkpoint(rad3d_io::IoError::UnexpectedTensors { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("blk.0.ssm_conv.weight"));

    // Missing config metadata names the key.
    let err = llama_config(&f).unwrap_err().to_string();
    assert!(
        err.contains("llama.embedding_length") || err.contains("token_embd"),
        "{err}"
    );
}

/// Reads everything a loader would read; any outcome but a panic is acceptable.
fn exercise(path: &Path) {
    if let Ok(f) = GgufFile::open(path) {
        for t in f.tensors().to_vec() {
            let _ = f.dequantize(&t.name);
        }
        let _ = llama_config(&f);
        let _ = tokenizer_from_metadata(&f);
        if let Ok(mut src) = GgufLlamaSource::new(&f) {
            use rad3d_llm::TensorSource;
            for name in src.names() {
                let _ = src.take(&name);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_mutations_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = valid_writer().to_bytes();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        let dir = tempfile::tempdir().unwrap();
        exercise(&write_bytes(&dir, "fuzz.gguf", &bytes));
    }

    #[test]
    fn random_u64_fields_never_panic(word in any::<u64>(), slot in 0usize..64) {
        // Overwrite an aligned 8-byte field in the header region with an arbitrary value.
        let mut bytes = valid_writer().to_bytes();
        let i = (8 + slot * 8).min(bytes.len() - 8);
        bytes[i..i + 8].copy_from_slice(&word.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        exercise(&write_bytes(&dir, "fuzz64.gguf", &bytes));
    }
}

/// A NaN in float metadata once turned into JSON `null` and then the default (a rope base
/// of NaN read as 10000): it is an error naming the key.
#[test]
fn non_finite_float_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = |theta: f32| {
        GgufWriter::new()
            .string("general.architecture", "llama")
            .u32("llama.embedding_length", 4)
            .u32("llama.attention.head_count", 2)
            .u32("llama.feed_forward_length", 8)
            .u32("llama.block_count", 1)
            .u32("llama.context_length", 16)
            .f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
            .f32("llama.rope.freq_base", theta)
            .tensor_f32("token_embd.weight", &[3, 4], &[0.0; 12])
    };
    let ok = GgufFile::open(write_bytes(&dir, "ok.gguf", &base(500.0).to_bytes())).unwrap();
    assert_eq!(llama_config(&ok).unwrap().rope_theta, 500.0);
    for (name, theta) in [("nan.gguf", f32::NAN), ("inf.gguf", f32::INFINITY)] {
        let f = GgufFile::open(write_bytes(&dir, name, &base(theta).to_bytes())).unwrap();
        let err = llama_config(&f).unwrap_err().to_string();
        assert!(
            err.contains("llama.rope.freq_base") && err.contains(name),
            "{err}"
        );
    }
}

/// Tensor regions must be laid out as llama.cpp lays them out: in order, each where the
/// one before it ends (rounded up to the alignment). Overlapping regions and tensors whose
/// type or shape does not describe their bytes (once read as garbage) are refused,
/// naming both tensors.
#[test]
fn overlapping_and_mis_typed_tensor_regions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..64).map(|i| i as f32).collect();
    let f32_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();

    // Laid out correctly, the pair reads back.
    let pair = GgufWriter::new()
        .tensor_f32("m", &[64], &values)
        .tensor_f32("n", &[64], &values);
    let ok = GgufFile::open(write_bytes(&dir, "pair.gguf", &pair.to_bytes())).unwrap();
    assert_eq!(ok.dequantize("n").unwrap().1, values);

    // "n" moved onto "m" (offset 256 -> 0): the two regions overlap.
    let mut bytes = pair.to_bytes();
    let name_pos = bytes.windows(1).rposition(|s| s == b"n").unwrap();
    // After the name: n_dims (4), dim (8), type (4), then the offset (8).
    let off = name_pos + 1 + 4 + 8 + 4;
    assert_eq!(bytes[off..off + 8], 256u64.to_le_bytes());
    bytes[off..off + 8].copy_from_slice(&0u64.to_le_bytes());
    let msg = open_err(&write_bytes(&dir, "overlap.gguf", &bytes));
    assert!(
        msg.contains("tensor 'n' (F32 [64], 256 bytes at data offset 0) overlaps 'm'")
            && msg.contains("ends at data offset 256"),
        "{msg}"
    );

    // "a" declared with a type or shape its bytes do not match, "b" written after it.
    let misfit = |name: &str, dims: &[u64], ty: GgmlType| {
        let w = GgufWriter::new()
            .tensor("a", dims, ty, f32_bytes.clone())
            .tensor_f32("b", &[64], &values);
        open_err(&write_bytes(&dir, name, &w.to_bytes()))
    };
    // F16: 128 of its 256 bytes are unaccounted for.
    let msg = misfit("mistyped.gguf", &[64], GgmlType::F16);
    assert!(
        msg.contains("tensor 'b'")
            && msg.contains("leaves 128 unused bytes after 'a' (F16 [64], 128 bytes")
            && msg.contains("does not match its data"),
        "{msg}"
    );
    // Twice the elements its bytes hold: it runs into "b".
    let msg = misfit("toobig.gguf", &[128], GgmlType::F32);
    assert!(
        msg.contains("tensor 'b'") && msg.contains("overlaps 'a' (F32 [128], 512 bytes"),
        "{msg}"
    );

    // The last tensor mis-typed: the file holds bytes its type and shape do not cover.
    let last = GgufWriter::new().tensor("z", &[64], GgmlType::F16, f32_bytes);
    let msg = open_err(&write_bytes(&dir, "last.gguf", &last.to_bytes()));
    assert!(
        msg.contains("128 bytes after the last tensor 'z' (F16 [64]"),
        "{msg}"
    );
}
