//! GGUF reading on synthetic files: every metadata type, v2 and v3, custom alignment,
//! tensor layout, the LLaMA name mapping with llama.cpp's Q/K permutation undone, and the
//! config built from metadata.

use rad3d_llm::TensorSource;
use rad3d_llm::gguf::{
    GgmlType, GgufFile, GgufLlamaSource, GgufWriter, MetadataArray, MetadataValue, hf_config_json,
    llama_config,
};

fn write(dir: &tempfile::TempDir, name: &str, w: &GgufWriter) -> std::path::PathBuf {
    let path = dir.path().join(name);
    w.write(&path).unwrap();
    path
}

#[test]
fn metadata_of_every_type_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let values = vec![
        ("u8", MetadataValue::U8(200)),
        ("i8", MetadataValue::I8(-5)),
        ("u16", MetadataValue::U16(60000)),
        ("i16", MetadataValue::I16(-30000)),
        ("u32", MetadataValue::U32(4_000_000_000)),
        ("i32", MetadataValue::I32(-2_000_000_000)),
        ("f32", MetadataValue::F32(1.5e-5)),
        ("bool", MetadataValue::Bool(true)),
        ("string", MetadataValue::String("héllo ✓".into())),
        ("u64", MetadataValue::U64(u64::MAX)),
        ("i64", MetadataValue::I64(i64::MIN)),
        ("f64", MetadataValue::F64(-0.125)),
        (
            "arr.str",
            MetadataValue::Array(MetadataArray::String(vec!["a b".into(), String::new()])),
        ),
        (
            "arr.i32",
            MetadataValue::Array(MetadataArray::I32(vec![1, -2, 3])),
        ),
        (
            "arr.f32",
            MetadataValue::Array(MetadataArray::F32(vec![0.5, -1.0])),
        ),
        (
            "arr.bool",
            MetadataValue::Array(MetadataArray::Bool(vec![true, false])),
        ),
        (
            "arr.empty",
            MetadataValue::Array(MetadataArray::U64(vec![])),
        ),
        (
            "arr.nested",
            MetadataValue::Array(MetadataArray::Array(vec![
                MetadataArray::U8(vec![1, 2]),
                MetadataArray::String(vec!["x".into()]),
            ])),
        ),
    ];
    for version in [2, 3] {
        let mut w = GgufWriter::new().version(version);
        for (k, v) in &values {
            w = w.metadata(*k, v.clone());
        }
        let path = write(&dir, &format!("meta_v{version}.gguf"), &w);
        let f = GgufFile::open(&path).unwrap();
        assert_eq!(f.version(), version);
        assert_eq!(f.metadata().len(), values.len());
        for (k, v) in &values {
            assert_eq!(f.get(k), Some(v), "{k}");
        }
        assert_eq!(f.get_u64("u32").unwrap(), 4_000_000_000);
        assert_eq!(f.get_str("string").unwrap(), "héllo ✓");
        assert_eq!(f.get_f64("f32").unwrap(), 1.5e-5f32 as f64);
        // Wrong type and missing keys name the key.
        let err = f.get_str("u8").unwrap_err().to_string();
        assert!(err.contains("'u8'") && err.contains("meta_v"), "{err}");
        let err = f.get_u64("i8").unwrap_err().to_string();
        assert!(err.contains("'i8'"), "{err}");
        let err = f.get_u64("nope").unwrap_err().to_string();
        assert!(err.contains("'nope' is missing"), "{err}");
        assert!(f.tensors().is_empty());
    }
}

#[test]
fn tensors_respect_alignment_and_dims_order() {
    let dir = tempfile::tempdir().unwrap();
    let a: Vec<f32> = (0..6).map(|x| x as f32 * 0.5).collect();
    let half: Vec<u8> = [1.0f32, -2.0, 0.25]
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
        .collect();
    for align in [1u32, 32, 64, 4096] {
        let w = GgufWriter::new()
            .alignment(align)
            .tensor_f32("a", &[2, 3], &a)
            .tensor("h", &[3], GgmlType::F16, half.clone())
            .tensor_f32("b", &[1], &[7.0]);
        let path = write(&dir, &format!("align{align}.gguf"), &w);
        let f = GgufFile::open(&path).unwrap();
        assert_eq!(f.alignment(), align as u64);
        assert_eq!(f.data_offset() % align as u64, 0);
        let info = f.tensor("a").unwrap();
        assert_eq!(info.dims, vec![3, 2], "ggml order is reversed");
        assert_eq!(info.shape(), vec![2, 3]);
        assert_eq!(f.dequantize("a").unwrap(), (vec![2, 3], a.clone()));
        assert_eq!(f.dequantize("h").unwrap(), (vec![3], vec![1.0, -2.0, 0.25]));
        assert_eq!(f.dequantize("b").unwrap(), (vec![1], vec![7.0]));
        assert_eq!(f.tensor_bytes("h").unwrap(), half);
        let err = f.dequantize("zzz").unwrap_err().to_string();
        assert!(err.contains("'zzz' is missing"), "{err}");
    }
}

#[test]
fn large_tensor_streams_through_the_chunked_reader() {
    // More than one 1 MiB read chunk of Q8_0 blocks.
    let dir = tempfile::tempdir().unwrap();
    let n_blocks = 70_000usize;
    let mut bytes = Vec::with_capacity(n_blocks * 34);
    for b in 0..n_blocks {
        bytes.extend(
            half::f16::from_f32(((b % 7) + 1) as f32 / 8.0)
                .to_bits()
                .to_le_bytes(),
        );
        bytes.extend((0..32).map(|j| ((j + b) % 256) as u8));
    }
    let w = GgufWriter::new().tensor("q", &[32 * n_blocks as u64], GgmlType::Q8_0, bytes);
    let f = GgufFile::open(write(&dir, "big.gguf", &w)).unwrap();
    let (shape, v) = f.dequantize("q").unwrap();
    assert_eq!(shape, vec![32 * n_blocks]);
    for b in [0, 1, 30_000, n_blocks - 1] {
        let d = ((b % 7) + 1) as f32 / 8.0;
        for j in [0, 31] {
            assert_eq!(v[b * 32 + j], ((j + b) % 256) as u8 as i8 as f32 * d);
        }
    }
}

/// llama.cpp's forward Q/K permutation (convert_hf_to_gguf.py `LlamaModel.permute`).
fn permute(w: &[f32], rows: usize, n_heads: usize) -> Vec<f32> {
    let row_len = w.len() / rows;
    let (hd, half) = (rows / n_heads, rows / n_heads / 2);
    let mut out = vec![0f32; w.len()];
    for h in 0..n_heads {
        for part in 0..2 {
            for i in 0..half {
                let from = (h * hd + part * half + i) * row_len;
                let to = (h * hd + 2 * i + part) * row_len;
                out[to..to + row_len].copy_from_slice(&w[from..from + row_len]);
            }
        }
    }
    out
}

/// One HF-layout tensor: (name, shape, values).
type HfTensor = (String, Vec<usize>, Vec<f32>);

fn tiny_llama(untied: bool) -> (GgufWriter, Vec<HfTensor>) {
    let (d, heads, kv, ff, vocab, layers) = (8usize, 2usize, 1usize, 12usize, 10usize, 2usize);
    let hd = d / heads;
    let mut hf = Vec::new();
    let mut seed = 1u32;
    let mut tensor = |name: String, shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        (name, shape, data)
    };
    let mut w = GgufWriter::new()
        .string("general.architecture", "llama")
        .u32("llama.embedding_length", d as u32)
        .u32("llama.block_count", layers as u32)
        .u32("llama.feed_forward_length", ff as u32)
        .u32("llama.attention.head_count", heads as u32)
        .u32("llama.attention.head_count_kv", kv as u32)
        .u32("llama.context_length", 64)
        .f32("llama.rope.freq_base", 50000.0)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-6)
        .u32("tokenizer.ggml.bos_token_id", 1)
        .u32("tokenizer.ggml.eos_token_id", 2);
    let mut entries = vec![
        (
            "token_embd.weight",
            tensor("model.embed_tokens.weight".into(), vec![vocab, d]),
            0,
        ),
        (
            "output_norm.weight",
            tensor("model.norm.weight".into(), vec![d]),
            0,
        ),
    ];
    if untied {
        entries.push((
            "output.weight",
            tensor("lm_head.weight".into(), vec![vocab, d]),
            0,
        ));
    }
    let mut blk = Vec::new();
    for l in 0..layers {
        let p = format!("model.layers.{l}");
        for (g, h, shape, perm) in [
            ("attn_norm", "input_layernorm", vec![d], 0),
            ("attn_q", "self_attn.q_proj", vec![heads * hd, d], heads),
            ("attn_k", "self_attn.k_proj", vec![kv * hd, d], kv),
            ("attn_v", "self_attn.v_proj", vec![kv * hd, d], 0),
            ("attn_output", "self_attn.o_proj", vec![d, heads * hd], 0),
            ("ffn_norm", "post_attention_layernorm", vec![d], 0),
            ("ffn_gate", "mlp.gate_proj", vec![ff, d], 0),
            ("ffn_up", "mlp.up_proj", vec![ff, d], 0),
            ("ffn_down", "mlp.down_proj", vec![d, ff], 0),
        ] {
            blk.push((
                format!("blk.{l}.{g}.weight"),
                tensor(format!("{p}.{h}.weight"), shape),
                perm,
            ));
        }
    }
    for (g, (name, shape, data), perm) in entries
        .into_iter()
        .map(|(g, t, p)| (g.to_string(), t, p))
        .chain(blk)
    {
        let stored = if perm > 0 {
            permute(&data, shape[0], perm)
        } else {
            data.clone()
        };
        w = w.tensor_f32(g, &shape, &stored);
        hf.push((name, shape, data));
    }
    (w, hf)
}

#[test]
fn llama_tensors_map_to_hf_names_with_rows_restored() {
    let dir = tempfile::tempdir().unwrap();
    for untied in [false, true] {
        let (w, hf) = tiny_llama(untied);
        let f = GgufFile::open(write(&dir, &format!("tiny{untied}.gguf"), &w)).unwrap();
        let mut src = GgufLlamaSource::new(&f).unwrap();
        let mut names = src.names();
        names.sort();
        let mut want: Vec<String> = hf.iter().map(|t| t.0.clone()).collect();
        want.sort();
        assert_eq!(names, want);
        for (name, shape, data) in &hf {
            assert_eq!(src.shape(name).as_ref(), Some(shape), "{name}");
            let t = src.take(name).unwrap().unwrap();
            assert_eq!(&t.shape, shape, "{name}");
            assert_eq!(&t.data, data, "{name}: values (Q/K rows un-permuted)");
        }
        assert!(src.names().is_empty());
        assert!(src.take("model.norm.weight").unwrap().is_none());

        let config = llama_config(&f).unwrap();
        assert_eq!(
            (
                config.hidden_size,
                config.num_layers,
                config.num_heads,
                config.num_kv_heads
            ),
            (8, 2, 2, 1)
        );
        assert_eq!(
            (config.intermediate_size, config.vocab_size, config.head_dim),
            (12, 10, 4)
        );
        assert_eq!(config.rope_theta, 50000.0);
        assert_eq!(config.rms_norm_eps, 1e-6f32 as f64);
        assert_eq!(config.max_position_embeddings, 64);
        assert_eq!(config.tie_word_embeddings, !untied);
        assert_eq!(
            (config.bos_token_id, config.eos_token_ids.clone()),
            (Some(1), vec![2])
        );
    }
}

#[test]
fn rope_scaling_metadata_reaches_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let (w, _) = tiny_llama(false);
    let w = w
        .string("llama.rope.scaling.type", "linear")
        .f32("llama.rope.scaling.factor", 4.0);
    let f = GgufFile::open(write(&dir, "linear.gguf", &w)).unwrap();
    let json = hf_config_json(&f).unwrap();
    assert_eq!(json["rope_scaling"]["rope_type"], "linear");
    assert_eq!(json["rope_scaling"]["factor"], 4.0);
    let config = llama_config(&f).unwrap();
    assert_eq!(
        config.rope_scaling,
        Some(rad3d_llm::RopeScaling::Linear { factor: 4.0 })
    );
}
