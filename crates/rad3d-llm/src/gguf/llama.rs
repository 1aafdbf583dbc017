//! The LLaMA architecture in GGUF: tensor names mapped to Hugging Face names, llama.cpp's
//! Q/K row permutation undone, and an HF-style config built from the metadata.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::reader::GgufFile;
use crate::error::{LlmError, Result};
use crate::llama::LlamaConfig;
use crate::weights::{HostTensor, TensorSource};

/// Which rows of a tensor llama.cpp's converter reordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Stored as in the HF checkpoint.
    AsIs,
    /// `q_proj`: permuted per query head (`attention.head_count` heads).
    QueryHeads,
    /// `k_proj`: permuted per key/value head (`attention.head_count_kv` heads).
    KeyHeads,
}

/// GGUF tensor name → HF name, for the LLaMA architecture. `{N}` is the block index.
/// GGUF stores dims reversed (ggml order), but the bytes are the same row-major
/// `[out, in]` matrix PyTorch has, so only `attn_q`/`attn_k` need their rows reordered.
const LLAMA_TENSORS: &[(&str, &str, Rows)] = &[
    // GGUF                        Hugging Face                                        rows
    ("token_embd.weight", "model.embed_tokens.weight", Rows::AsIs),
    ("output_norm.weight", "model.norm.weight", Rows::AsIs),
    // Absent when the embeddings are tied (lm_head = embed_tokens).
    ("output.weight", "lm_head.weight", Rows::AsIs),
    (
        "blk.{N}.attn_norm.weight",
        "model.layers.{N}.input_layernorm.weight",
        Rows::AsIs,
    ),
    (
        "blk.{N}.attn_q.weight",
        "model.layers.{N}.self_attn.q_proj.weight",
        Rows::QueryHeads,
    ),
    (
        "blk.{N}.attn_k.weight",
        "model.layers.{N}.self_attn.k_proj.weight",
        Rows::KeyHeads,
    ),
    (
        "blk.{N}.attn_v.weight",
        "model.layers.{N}.self_attn.v_proj.weight",
        Rows::AsIs,
    ),
    (
        "blk.{N}.attn_output.weight",
        "model.layers.{N}.self_attn.o_proj.weight",
        Rows::AsIs,
    ),
    // Biases appear only in LLaMA variants with attention_bias (the converter permutes
    // q/k biases like their weights).
    (
        "blk.{N}.attn_q.bias",
        "model.layers.{N}.self_attn.q_proj.bias",
        Rows::QueryHeads,
    ),
    (
        "blk.{N}.attn_k.bias",
        "model.layers.{N}.self_attn.k_proj.bias",
        Rows::KeyHeads,
    ),
    (
        "blk.{N}.attn_v.bias",
        "model.layers.{N}.self_attn.v_proj.bias",
        Rows::AsIs,
    ),
    (
        "blk.{N}.attn_output.bias",
        "model.layers.{N}.self_attn.o_proj.bias",
        Rows::AsIs,
    ),
    (
        "blk.{N}.ffn_norm.weight",
        "model.layers.{N}.post_attention_layernorm.weight",
        Rows::AsIs,
    ),
    (
        "blk.{N}.ffn_gate.weight",
        "model.layers.{N}.mlp.gate_proj.weight",
        Rows::AsIs,
    ),
    (
        "blk.{N}.ffn_up.weight",
        "model.layers.{N}.mlp.up_proj.weight",
        Rows::AsIs,
    ),
    (
        "blk.{N}.ffn_down.weight",
        "model.layers.{N}.mlp.down_proj.weight",
        Rows::AsIs,
    ),
];

/// Maps a GGUF LLaMA tensor name to its HF name; `None` for names outside the table.
pub fn llama_hf_name(gguf_name: &str) -> Option<String> {
    map_name(gguf_name).map(|(name, _)| name)
}

fn map_name(gguf_name: &str) -> Option<(String, Rows)> {
    let (block, rest) = match gguf_name.strip_prefix("blk.") {
        Some(tail) => {
            let (n, rest) = tail.split_once('.')?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (Some(n), rest)
        }
        None => (None, gguf_name),
    };
    LLAMA_TENSORS.iter().find_map(|&(g, hf, rows)| match block {
        Some(n) => (g.strip_prefix("blk.{N}.")? == rest).then(|| (hf.replace("{N}", n), rows)),
        None => (!g.contains("{N}") && g == rest).then(|| (hf.to_string(), rows)),
    })
}

/// Undoes llama.cpp's Q/K row permutation in place.
///
/// HF LLaMA applies RoPE in the rotate-half convention (pairs `(i, i + d/2)` of a head);
/// llama.cpp rotates adjacent pairs `(2i, 2i + 1)`, so `convert_hf_to_gguf.py` reorders
/// each head's rows: HF row `half·d/2 + i` becomes GGUF row `2i + half`. This restores
/// HF order: `hf[h·d + half·d/2 + i] = gguf[h·d + 2i + half]`. `tensor` is `[rows, …]`
/// (weights `[out, in]` or biases `[out]`).
pub fn unpermute_rows(tensor: &mut HostTensor, n_heads: usize) -> std::result::Result<(), String> {
    let rows = tensor.shape.first().copied().unwrap_or(0);
    if n_heads == 0 || rows % (2 * n_heads) != 0 {
        return Err(format!(
            "{rows} rows cannot be split into {n_heads} heads of even size"
        ));
    }
    let row_len: usize = tensor.shape[1..].iter().product();
    let head_dim = rows / n_heads;
    let half = head_dim / 2;
    let src = std::mem::take(&mut tensor.data);
    let mut dst = vec![0f32; src.len()];
    for h in 0..n_heads {
        for i in 0..half {
            for part in 0..2 {
                let from = (h * head_dim + 2 * i + part) * row_len;
                let to = (h * head_dim + part * half + i) * row_len;
                dst[to..to + row_len].copy_from_slice(&src[from..from + row_len]);
            }
        }
    }
    tensor.data = dst;
    Ok(())
}

/// Fails unless the file's `general.architecture` is `llama`.
fn require_llama(gguf: &GgufFile) -> Result<()> {
    let arch = gguf.get_str("general.architecture")?;
    if arch != "llama" {
        return Err(LlmError::UnknownArchitecture {
            path: gguf.path().to_path_buf(),
            architecture: format!("{arch} (GGUF general.architecture; only llama is supported)"),
        });
    }
    Ok(())
}

/// An HF-style `config.json` value for a GGUF LLaMA file, from the `llama.*` and
/// `tokenizer.ggml.*` metadata (see [`llama_config`] for the parsed form).
pub fn hf_config_json(gguf: &GgufFile) -> Result<Value> {
    require_llama(gguf)?;
    let u = |key: &str| gguf.get_u64(&format!("llama.{key}"));
    let opt_u = |key: &str| gguf.get(key).and_then(|v| v.as_u64());
    // A NaN or infinite value would become JSON `null` below and then the HF default:
    // refuse it here, naming the key.
    let finite = |key: &str| -> Result<f64> {
        let v = gguf.get_f64(key)?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(gguf.format_err(format!("metadata '{key}' is {v}, not a finite number")))
        }
    };
    let hidden = u("embedding_length")?;
    let heads = u("attention.head_count")?;
    let kv_heads = match gguf.get("llama.attention.head_count_kv") {
        Some(_) => u("attention.head_count_kv")?,
        None => heads,
    };
    // The embedding table is the ground truth for the vocabulary size; older files lack
    // `llama.vocab_size`.
    let embd = gguf
        .tensor("token_embd.weight")
        .ok_or_else(|| gguf.format_err("tensor 'token_embd.weight' is missing".into()))?;
    let vocab = embd.shape()[0] as u64;
    if let Some(v) = gguf.get("llama.vocab_size").and_then(|v| v.as_u64())
        && v != vocab
    {
        return Err(gguf.format_err(format!(
            "metadata 'llama.vocab_size' is {v} but token_embd.weight has {vocab} rows"
        )));
    }
    let head_dim = match gguf.get("llama.attention.key_length") {
        Some(_) => u("attention.key_length")?,
        None if heads > 0 => hidden / heads,
        None => 0,
    };
    let mut config = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": hidden,
        "intermediate_size": u("feed_forward_length")?,
        "num_hidden_layers": u("block_count")?,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "vocab_size": vocab,
        "max_position_embeddings": u("context_length")?,
        "rms_norm_eps": finite("llama.attention.layer_norm_rms_epsilon")?,
        "rope_theta": match gguf.get("llama.rope.freq_base") {
            Some(_) => finite("llama.rope.freq_base")?,
            None => 10000.0,
        },
        "tie_word_embeddings": gguf.tensor("output.weight").is_none(),
        "attention_bias": gguf.tensor("blk.0.attn_q.bias").is_some(),
        "mlp_bias": false,
    });
    for (hf, key) in [
        ("bos_token_id", "tokenizer.ggml.bos_token_id"),
        ("eos_token_id", "tokenizer.ggml.eos_token_id"),
        ("pad_token_id", "tokenizer.ggml.padding_token_id"),
    ] {
        if let Some(id) = opt_u(key) {
            config[hf] = json!(id);
        }
    }
    if let Some(scaling) = rope_scaling_json(gguf)? {
        config["rope_scaling"] = scaling;
    }
    Ok(config)
}

/// `llama.rope.scaling.*` → HF `rope_scaling`; `None` when absent or `none`.
fn rope_scaling_json(gguf: &GgufFile) -> Result<Option<Value>> {
    let kind = match gguf.get("llama.rope.scaling.type") {
        None => return Ok(None),
        Some(_) => gguf.get_str("llama.rope.scaling.type")?,
    };
    if kind == "none" {
        return Ok(None);
    }
    let mut v = json!({
        "rope_type": kind,
        "factor": gguf.get_f64("llama.rope.scaling.factor")?,
    });
    if let Some(orig) = gguf
        .get("llama.rope.scaling.original_context_length")
        .and_then(|v| v.as_u64())
    {
        v["original_max_position_embeddings"] = json!(orig);
    }
    Ok(Some(v))
}

/// The parsed, validated [`LlamaConfig`] of a GGUF LLaMA file.
pub fn llama_config(gguf: &GgufFile) -> Result<LlamaConfig> {
    if gguf.tensor("rope_freqs.weight").is_some() {
        // LLaMA-3.1+ files carry their rope scaling only as this per-frequency factor
        // table, which the HF-style config cannot express yet.
        return Err(LlmError::UnsupportedDtype {
            path: gguf.path().to_path_buf(),
            name: "rope_freqs.weight".into(),
            dtype:
                "LLaMA-3 rope frequency factors (not supported from GGUF; use the HF checkpoint)"
                    .into(),
        });
    }
    LlamaConfig::from_hf_json(&hf_config_json(gguf)?, gguf.path())
}

/// The tensors of a GGUF LLaMA file under HF names and in HF layout, dequantized to f32
/// one at a time as the model builder takes them (so the quantized file and the f32
/// model are never both fully in memory beyond one tensor).
#[derive(Debug)]
pub struct GgufLlamaSource<'a> {
    gguf: &'a GgufFile,
    /// HF name → (GGUF name, row permutation), for the tensors not yet taken.
    remaining: BTreeMap<String, (String, Rows)>,
    n_heads: usize,
    n_kv_heads: usize,
}

impl<'a> GgufLlamaSource<'a> {
    /// Maps every tensor of `gguf`; a tensor outside the LLaMA table is an
    /// [`LlmError::Checkpoint`] (unexpected tensors) listing all such names.
    pub fn new(gguf: &'a GgufFile) -> Result<Self> {
        require_llama(gguf)?;
        let n_heads = gguf.get_u64("llama.attention.head_count")? as usize;
        let n_kv_heads = match gguf.get("llama.attention.head_count_kv") {
            Some(_) => gguf.get_u64("llama.attention.head_count_kv")? as usize,
            None => n_heads,
        };
        let mut remaining = BTreeMap::new();
        let mut unknown = Vec::new();
        for t in gguf.tensors() {
            match map_name(&t.name) {
                Some((hf, rows)) => {
                    remaining.insert(hf, (t.name.clone(), rows));
                }
                None => unknown.push(t.name.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(rad3d_io::IoError::UnexpectedTensors {
                path: gguf.path().to_path_buf(),
                names: unknown,
            }
            .into());
        }
        Ok(Self {
            gguf,
            remaining,
            n_heads,
            n_kv_heads,
        })
    }
}

impl TensorSource for GgufLlamaSource<'_> {
    fn origin(&self) -> &Path {
        self.gguf.path()
    }

    fn names(&self) -> Vec<String> {
        self.remaining.keys().cloned().collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let (gguf_name, _) = self.remaining.get(name)?;
        self.gguf.tensor(gguf_name).map(|t| t.shape())
    }

    fn take(&mut self, name: &str) -> Result<Option<HostTensor>> {
        let Some((gguf_name, rows)) = self.remaining.remove(name) else {
            return Ok(None);
        };
        let (shape, data) = self.gguf.dequantize(&gguf_name)?;
        let mut tensor = HostTensor { shape, data };
        let heads = match rows {
            Rows::AsIs => return Ok(Some(tensor)),
            Rows::QueryHeads => self.n_heads,
            Rows::KeyHeads => self.n_kv_heads,
        };
        unpermute_rows(&mut tensor, heads).map_err(|reason| {
            self.gguf
                .format_err(format!("tensor '{gguf_name}': {reason}"))
        })?;
        Ok(Some(tensor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_through_the_table() {
        assert_eq!(
            llama_hf_name("token_embd.weight").as_deref(),
            Some("model.embed_tokens.weight")
        );
        assert_eq!(
            llama_hf_name("blk.12.attn_q.weight").as_deref(),
            Some("model.layers.12.self_attn.q_proj.weight")
        );
        assert_eq!(
            llama_hf_name("blk.3.ffn_norm.weight").as_deref(),
            Some("model.layers.3.post_attention_layernorm.weight")
        );
        assert_eq!(
            llama_hf_name("output.weight").as_deref(),
            Some("lm_head.weight")
        );
        assert_eq!(llama_hf_name("blk.x.attn_q.weight"), None);
        assert_eq!(llama_hf_name("blk.1.attn_qq.weight"), None);
        assert_eq!(llama_hf_name("attn_q.weight"), None);
        assert_eq!(llama_hf_name("rope_freqs.weight"), None);
    }

    /// llama.cpp's forward permutation (`convert_hf_to_gguf.py` `LlamaModel.permute`).
    fn permute(hf: &HostTensor, n_heads: usize) -> HostTensor {
        let rows = hf.shape[0];
        let row_len = hf.data.len() / rows;
        let (hd, half) = (rows / n_heads, rows / n_heads / 2);
        let mut out = vec![0f32; hf.data.len()];
        for h in 0..n_heads {
            for part in 0..2 {
                for i in 0..half {
                    let from = (h * hd + part * half + i) * row_len;
                    let to = (h * hd + 2 * i + part) * row_len;
                    out[to..to + row_len].copy_from_slice(&hf.data[from..from + row_len]);
                }
            }
        }
        HostTensor {
            shape: hf.shape.clone(),
            data: out,
        }
    }

    #[test]
    fn unpermute_inverts_the_converter_permutation() {
        let hf = HostTensor {
            shape: vec![12, 2],
            data: (0..24).map(|x| x as f32).collect(),
        };
        let mut t = permute(&hf, 3);
        // Head 0 (rows 0..4): rotate-half order 0,1 | 2,3 becomes interleaved 0,2,1,3.
        assert_eq!(&t.data[..8], &[0., 1., 4., 5., 2., 3., 6., 7.]);
        unpermute_rows(&mut t, 3).unwrap();
        assert_eq!(t, hf);
        assert!(unpermute_rows(&mut t, 5).is_err());
    }
}
