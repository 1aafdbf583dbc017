//! BERTScore exactly as the `bert-score` package (0.3.x) computes it.
//!
//! Per sentence: `sent_encode` (strip, tokenize with special tokens, truncate to the
//! tokenizer's `model_max_length`; RoBERTa/GPT-2 byte-level tokenizers get a prefix space),
//! the hidden states of one layer, L2-normalised. Per pair: cosine similarities of every
//! candidate token with every reference token, greedy max each way, weighted by idf
//! (or 1), where `[CLS]`/`[SEP]` carry weight 0 so they never count as matched tokens
//! themselves — as in `bert-score` they still take part as match candidates.
//! `bert-score` pads each batch of 64 pairs and multiplies the similarity matrix by the
//! padding mask, so a padded position offers a similarity of 0 to the max; this is
//! reproduced (it only matters when every real similarity is negative).
//! Empty candidates or references score P = R = F = 0; F is 0 where it is NaN.

mod baseline;
pub mod encoder;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{MetricsError, Result};
pub use baseline::Baseline;
use encoder::{BertConfig, BertModel};

/// Pairs per greedy-matching batch in `bert-score` (its `batch_size` default); decides
/// which references/candidates are padded, see the module docs.
pub const BERT_SCORE_BATCH: usize = 64;

/// Options of one BERTScore computation.
#[derive(Debug, Clone, Default)]
pub struct BertScoreOptions {
    /// Weight tokens by inverse document frequency over the references
    /// (`bert-score`'s `idf=True`).
    pub idf: bool,
    /// Rescale P/R/F with this baseline: `(x - b) / (1 - b)`.
    pub baseline: Option<Baseline>,
}

/// BERTScore of every pair plus the means.
#[derive(Debug, Clone, PartialEq)]
pub struct BertScoreResult {
    /// Precision per pair.
    pub precision: Vec<f32>,
    /// Recall per pair.
    pub recall: Vec<f32>,
    /// F1 per pair.
    pub f1: Vec<f32>,
}

impl BertScoreResult {
    /// Mean precision over pairs.
    pub fn mean_precision(&self) -> f64 {
        mean(&self.precision)
    }

    /// Mean recall over pairs.
    pub fn mean_recall(&self) -> f64 {
        mean(&self.recall)
    }

    /// Mean F1 over pairs.
    pub fn mean_f1(&self) -> f64 {
        mean(&self.f1)
    }
}

fn mean(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Inverse document frequencies of token ids, as `bert-score`'s `get_idf_dict`.
#[derive(Debug, Clone)]
pub struct IdfDict {
    weights: HashMap<u32, f32>,
    default: f32,
}

impl IdfDict {
    /// The weight of a token id.
    pub fn get(&self, id: u32) -> f32 {
        self.weights.get(&id).copied().unwrap_or(self.default)
    }
}

/// A sentence's token ids and its normalised embeddings `[len, hidden]`, row-major.
struct Embedded {
    ids: Vec<u32>,
    vectors: Vec<f32>,
}

/// A BERT-family encoder with its tokenizer, ready to compute BERTScore.
#[derive(Debug)]
pub struct BertScorer<B: Backend> {
    model: BertModel<B>,
    config: BertConfig,
    tokenizer: Tokenizer,
    layer: usize,
    prefix_space: bool,
    cls: u32,
    sep: u32,
    pad: u32,
    batch_size: usize,
    device: B::Device,
}

impl<B: Backend> BertScorer<B> {
    /// Loads an HF model directory (`config.json`, `model.safetensors`, `tokenizer.json`,
    /// optional `tokenizer_config.json` for `model_max_length`) and scores with the hidden
    /// states of `layer` (1-based like `bert-score`'s `num_layers`; `None` = last layer).
    pub fn load(dir: impl AsRef<Path>, layer: Option<usize>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let (model, config) = BertModel::<B>::load(dir, device)?;
        let layer = layer.unwrap_or(config.num_hidden_layers);
        if layer > config.num_hidden_layers {
            return Err(MetricsError::Model {
                path: dir.join("config.json"),
                reason: format!(
                    "layer {layer} requested, the model has {} layers",
                    config.num_hidden_layers
                ),
            });
        }
        let tok_path = dir.join("tokenizer.json");
        let tok_err = |reason: String| MetricsError::Model {
            path: tok_path.clone(),
            reason,
        };
        let mut tokenizer = read_tokenizer(&tok_path).map_err(tok_err)?;
        let max_len =
            model_max_length(&dir.join("tokenizer_config.json"))?.min(config.max_input_len());
        // tokenizer.json files often carry a fixed padding/truncation for other uses
        // (all-MiniLM-L6-v2: 128); bert-score encodes unpadded up to model_max_length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| tok_err(e.to_string()))?;
        let empty = encode_guarded(&tokenizer, "").map_err(tok_err)?;
        let (cls, sep) = match empty.get_ids() {
            [cls, sep] => (*cls, *sep),
            other => {
                return Err(tok_err(format!(
                    "expected [CLS] [SEP] around an empty text, got ids {other:?}"
                )));
            }
        };
        let prefix_space = byte_level_without_prefix_space(&tok_path)?;
        Ok(Self {
            model,
            pad: config.pad_token_id as u32,
            config,
            tokenizer,
            layer,
            prefix_space,
            cls,
            sep,
            batch_size: BERT_SCORE_BATCH,
            device: device.clone(),
        })
    }

    /// Sentences per encoder forward pass (default 64). Only speed and memory depend on it.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The layer whose hidden states are compared.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The encoder's configuration.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Token ids of a sentence as `bert-score`'s `sent_encode` makes them.
    pub fn encode(&self, sentence: &str) -> Result<Vec<u32>> {
        let s = python_strip(sentence);
        if s.is_empty() {
            return Ok(vec![self.cls, self.sep]);
        }
        let text = if self.prefix_space {
            format!(" {s}")
        } else {
            s.to_string()
        };
        let enc = encode_guarded(&self.tokenizer, &text)
            .map_err(|e| MetricsError::Input(format!("tokenizing `{sentence}`: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Idf weights from the references (`bert-score`'s `get_idf_dict`: each token counted
    /// once per reference, `ln((N + 1) / (count + 1))`, unseen tokens `ln(N + 1)`).
    pub fn idf_dict<S: AsRef<str>>(&self, refs: &[S]) -> Result<IdfDict> {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for r in refs {
            let mut ids = self.encode(r.as_ref())?;
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                *counts.entry(id).or_default() += 1;
            }
        }
        let n = refs.len() as f64;
        Ok(IdfDict {
            weights: counts
                .into_iter()
                .map(|(id, c)| (id, ((n + 1.0) / (c as f64 + 1.0)).ln() as f32))
                .collect(),
            default: (n + 1.0).ln() as f32,
        })
    }

    /// BERTScore P/R/F of each `(refs[i], hyps[i])` pair.
    pub fn score<S: AsRef<str> + Sync, T: AsRef<str> + Sync>(
        &self,
        refs: &[S],
        hyps: &[T],
        options: &BertScoreOptions,
    ) -> Result<BertScoreResult> {
        if refs.len() != hyps.len() {
            return Err(MetricsError::Input(format!(
                "{} references but {} hypotheses",
                refs.len(),
                hyps.len()
            )));
        }
        let idf = if options.idf {
            Some(self.idf_dict(refs)?)
        } else {
            None
        };
        let weight = |id: u32| match &idf {
            Some(d) => d.get(id),
            None if id == self.cls || id == self.sep => 0.0,
            None => 1.0,
        };
        let mut unique: Vec<&str> = refs
            .iter()
            .map(AsRef::as_ref)
            .chain(hyps.iter().map(AsRef::as_ref))
            .collect();
        unique.sort_unstable();
        unique.dedup();
        let embedded = self.embed(&unique)?;
        let lookup: HashMap<&str, &Embedded> =
            unique.iter().copied().zip(embedded.iter()).collect();
        let d = self.config.hidden_size;

        let n = refs.len();
        let mut out = BertScoreResult {
            precision: vec![0.0; n],
            recall: vec![0.0; n],
            f1: vec![0.0; n],
        };
        let scores: Vec<(f32, f32, f32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let chunk = (i / BERT_SCORE_BATCH) * BERT_SCORE_BATCH
                    ..((i / BERT_SCORE_BATCH + 1) * BERT_SCORE_BATCH).min(n);
                let max_ref = chunk
                    .clone()
                    .map(|j| lookup[refs[j].as_ref()].ids.len())
                    .max()
                    .unwrap_or(0);
                let max_hyp = chunk
                    .map(|j| lookup[hyps[j].as_ref()].ids.len())
                    .max()
                    .unwrap_or(0);
                let r = lookup[refs[i].as_ref()];
                let h = lookup[hyps[i].as_ref()];
                greedy_match(
                    r,
                    h,
                    d,
                    &weight,
                    r.ids.len() < max_ref,
                    h.ids.len() < max_hyp,
                )
            })
            .collect();
        for (i, (p, r, f)) in scores.into_iter().enumerate() {
            let (p, r, f) = match options.baseline {
                Some(b) => (
                    (p - b.p) / (1.0 - b.p),
                    (r - b.r) / (1.0 - b.r),
                    (f - b.f) / (1.0 - b.f),
                ),
                None => (p, r, f),
            };
            out.precision[i] = p;
            out.recall[i] = r;
            out.f1[i] = f;
        }
        Ok(out)
    }

    /// Encodes sentences in length-sorted batches and returns each one's normalised
    /// embeddings of the chosen layer, in input order.
    fn embed(&self, sentences: &[&str]) -> Result<Vec<Embedded>> {
        let ids: Vec<Vec<u32>> = sentences
            .iter()
            .map(|s| self.encode(s))
            .collect::<Result<_>>()?;
        // Sorting by length keeps padding (wasted compute) small; masked attention
        // makes the result independent of the batch's composition.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out: Vec<Option<Embedded>> = (0..ids.len()).map(|_| None).collect();
        let d = self.config.hidden_size;
        for batch in order.chunks(self.batch_size) {
            let seq = batch.iter().map(|&i| ids[i].len()).max().unwrap_or(0);
            let b = batch.len();
            let mut flat = vec![self.pad as i64; b * seq];
            let mut mask = vec![0f32; b * seq];
            for (row, &i) in batch.iter().enumerate() {
                for (t, &id) in ids[i].iter().enumerate() {
                    flat[row * seq + t] = i64::from(id);
                    mask[row * seq + t] = 1.0;
                }
            }
            let input =
                Tensor::<B, 2, Int>::from_data(TensorData::new(flat, [b, seq]), &self.device);
            let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [b, seq]), &self.device);
            let hidden = self
                .model
                .forward_layers(input, mask, self.layer)
                .pop()
                .expect("forward_layers returns at least the embeddings");
            let values: Vec<f32> = hidden
                .into_data()
                .convert::<f32>()
                .to_vec()
                .map_err(|e| MetricsError::Input(format!("reading embeddings: {e:?}")))?;
            for (row, &i) in batch.iter().enumerate() {
                let len = ids[i].len();
                let mut vectors = values[row * seq * d..(row * seq + len) * d].to_vec();
                for v in vectors.chunks_exact_mut(d) {
                    // torch.norm without epsilon, as bert-score divides.
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter_mut().for_each(|x| *x /= norm);
                }
                out[i] = Some(Embedded {
                    ids: ids[i].clone(),
                    vectors,
                });
            }
        }
        Ok(out
            .into_iter()
            .map(|e| e.expect("every sentence embedded"))
            .collect())
    }
}

/// Greedy cosine matching of one pair (`bert-score`'s `greedy_cos_idf`).
/// `ref_padded`/`hyp_padded`: that side was padded in its batch, so a similarity of 0
/// competes in the max.
fn greedy_match(
    r: &Embedded,
    h: &Embedded,
    d: usize,
    weight: &dyn Fn(u32) -> f32,
    ref_padded: bool,
    hyp_padded: bool,
) -> (f32, f32, f32) {
    let (nr, nh) = (r.ids.len(), h.ids.len());
    let mut best_h = vec![if ref_padded { 0.0 } else { f32::NEG_INFINITY }; nh];
    let mut best_r = vec![if hyp_padded { 0.0 } else { f32::NEG_INFINITY }; nr];
    for (i, hv) in h.vectors.chunks_exact(d).enumerate() {
        for (j, rv) in r.vectors.chunks_exact(d).enumerate() {
            let s = dot(hv, rv);
            best_h[i] = best_h[i].max(s);
            best_r[j] = best_r[j].max(s);
        }
    }
    let weighted = |best: &[f32], ids: &[u32]| {
        let total: f32 = ids.iter().map(|&id| weight(id)).sum();
        best.iter()
            .zip(ids)
            .map(|(&b, &id)| b * (weight(id) / total))
            .sum::<f32>()
    };
    let mut p = weighted(&best_h, &h.ids);
    let mut r_ = weighted(&best_r, &r.ids);
    let mut f = 2.0 * p * r_ / (p + r_);
    // bert-score's "empty sentence" test: only the two special tokens.
    if nh == 2 || nr == 2 {
        p = 0.0;
        r_ = 0.0;
    }
    if f.is_nan() {
        f = 0.0;
    }
    (p, r_, f)
}

/// Dot product with independent partial sums, which the compiler vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (x, y) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = a[chunks..]
        .iter()
        .zip(&b[chunks..])
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Python's `str.strip()`: Unicode whitespace plus the ASCII separators U+001C..U+001F,
/// which `str.isspace` also counts.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// `model_max_length` from `tokenizer_config.json` (512 when the file or field is absent).
fn model_max_length(path: &PathBuf) -> Result<usize> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(512);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| MetricsError::Model {
            path: path.clone(),
            reason: format!("not JSON: {e}"),
        })?;
    Ok(
        match value
            .get("model_max_length")
            .and_then(serde_json::Value::as_f64)
        {
            // transformers writes a huge sentinel when the length is unknown.
            Some(v) if (1.0..1e9).contains(&v) => v as usize,
            _ => 512,
        },
    )
}

/// Whether the tokenizer is byte-level BPE (RoBERTa, GPT-2) without `add_prefix_space`:
/// `bert-score` encodes with `add_prefix_space=True` there, so a space is prepended.
fn byte_level_without_prefix_space(path: &PathBuf) -> Result<bool> {
    let text = std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
        path: path.clone(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| MetricsError::Model {
            path: path.clone(),
            reason: format!("not JSON: {e}"),
        })?;
    let pre = &value["pre_tokenizer"];
    let mut nodes = vec![pre];
    if let Some(list) = pre["pretokenizers"].as_array() {
        nodes.extend(list.iter());
    }
    Ok(nodes
        .iter()
        .any(|n| n["type"] == "ByteLevel" && !n["add_prefix_space"].as_bool().unwrap_or(false)))
}

/// Parses a HF `tokenizer.json`; the `tokenizers` crate panics on some malformed files (a
/// syntax error inside the `decoder` object), so such a panic becomes an error too.
fn read_tokenizer(path: &Path) -> std::result::Result<Tokenizer, String> {
    match std::panic::catch_unwind(|| Tokenizer::from_file(path)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("malformed tokenizer JSON (the tokenizers crate panicked)".into()),
    }
}

/// Encodes with special tokens; a template naming a special token the file does not define
/// makes the `tokenizers` crate panic while encoding, so such a panic becomes an error too.
fn encode_guarded(
    tokenizer: &Tokenizer,
    text: &str,
) -> std::result::Result<tokenizers::Encoding, String> {
    match std::panic::catch_unwind(|| tokenizer.encode(text, true)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("malformed tokenizer (the tokenizers crate panicked while encoding)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undefined_template_token_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        let json = br#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "decoder": null, "truncation": null, "padding": null, "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "X", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {}}}"#;
        std::fs::write(&path, json).unwrap();
        let tokenizer = read_tokenizer(&path).unwrap();
        let err = encode_guarded(&tokenizer, "a").unwrap_err();
        assert!(err.contains("panicked while encoding"), "{err}");
    }

    #[test]
    fn a_malformed_tokenizer_decoder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, b"{\"decoder\": {\"type\" \"Metaspace\"}}").unwrap();
        let err = read_tokenizer(&path).unwrap_err();
        assert!(err.contains("malformed tokenizer JSON"), "{err}");
    }

    #[test]
    fn python_strip_matches_str_strip() {
        assert_eq!(python_strip(" \t\u{1f}a b\u{a0}\n"), "a b");
        assert_eq!(python_strip("\u{1c}\u{2003}"), "");
    }

    #[test]
    fn greedy_match_by_hand() {
        // Two orthonormal directions: hyp = [CLS, x, SEP], ref = [CLS, x, y, SEP].
        let e = |v: &[[f32; 2]]| v.iter().flatten().copied().collect::<Vec<f32>>();
        let c = [0.6, 0.8];
        let h = Embedded {
            ids: vec![1, 5, 2],
            vectors: e(&[c, [1.0, 0.0], c]),
        };
        let r = Embedded {
            ids: vec![1, 5, 6, 2],
            vectors: e(&[c, [1.0, 0.0], [0.0, 1.0], c]),
        };
        let w = |id: u32| if id == 1 || id == 2 { 0.0 } else { 1.0 };
        let (p, rc, f) = greedy_match(&r, &h, 2, &w, false, false);
        assert!((p - 1.0).abs() < 1e-6);
        // y's best match is [CLS]/[SEP] at 0.8: specials are match candidates.
        assert!((rc - 0.9).abs() < 1e-6);
        assert!((f - 2.0 * 0.9 / 1.9).abs() < 1e-6);
        // Empty candidate → zeros.
        let empty = Embedded {
            ids: vec![1, 2],
            vectors: e(&[c, c]),
        };
        assert_eq!(
            greedy_match(&r, &empty, 2, &w, false, false),
            (0.0, 0.0, 0.0)
        );
    }
}
