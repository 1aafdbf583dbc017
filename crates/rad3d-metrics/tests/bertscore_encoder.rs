//! The BERT-family encoder against `transformers` on tiny random BERT and RoBERTa models
//! (`tests/data/bertscore_tiny_*`, made by `scripts/reference/bertscore_tiny_encoders.py`):
//! hidden states of every layer with a padded batch; and the loader's errors.
#![cfg(feature = "bertscore")]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_metrics::MetricsError;
use rad3d_metrics::bert::{BertConfig, BertModel};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

type B = Flex;

fn data() -> PathBuf {
    common::manifest().join("tests/data")
}

fn f32s(view: &TensorView<'_>) -> Vec<f32> {
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn check_model(dir: &Path) {
    let device = Default::default();
    let (model, config) = BertModel::<B>::load(dir, &device).unwrap();
    let bytes = std::fs::read(dir.join("expected.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let ids_view = st.tensor("input_ids").unwrap();
    let [b, t] = [ids_view.shape()[0], ids_view.shape()[1]];
    let ids: Vec<i64> = ids_view
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mask = f32s(&st.tensor("attention_mask").unwrap());
    let want = f32s(&st.tensor("hidden_states").unwrap());
    let states = model.forward(
        Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [b, t]), &device),
        Tensor::<B, 2>::from_data(TensorData::new(mask.clone(), [b, t]), &device),
    );
    assert_eq!(states.len(), config.num_hidden_layers + 1);
    let d = config.hidden_size;
    let mut worst = 0f32;
    for (l, state) in states.into_iter().enumerate() {
        let got: Vec<f32> = state.into_data().to_vec().unwrap();
        for row in 0..b {
            for pos in 0..t {
                // Padded positions are not compared: HF gives them other position ids.
                if mask[row * t + pos] == 0.0 {
                    continue;
                }
                for k in 0..d {
                    let i = (row * t + pos) * d + k;
                    let w = want[l * b * t * d + i];
                    let delta = (got[i] - w).abs();
                    assert!(
                        delta < 1e-4,
                        "{}: layer {l} [{row},{pos},{k}] {} vs {w}",
                        dir.display(),
                        got[i]
                    );
                    worst = worst.max(delta);
                }
            }
        }
    }
    eprintln!("{}: max |Δ| over all layers = {worst:e}", dir.display());
}

#[test]
fn tiny_bert_matches_transformers() {
    check_model(&data().join("bertscore_tiny_bert"));
}

#[test]
fn tiny_roberta_matches_transformers() {
    let dir = data().join("bertscore_tiny_roberta");
    let config = BertConfig::from_hf_json(dir.join("config.json")).unwrap();
    assert_eq!(
        config.position_offset, 2,
        "RoBERTa positions start after padding_idx"
    );
    check_model(&dir);
}

/// Rewrites the tiny BERT checkpoint with `edit` applied to its tensors and loads it.
fn load_edited(
    name: &str,
    edit: impl FnOnce(&mut HashMap<String, (Vec<usize>, Vec<u8>)>),
) -> MetricsError {
    let src = data().join("bertscore_tiny_bert");
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, (Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.shape().to_vec(), v.data().to_vec())))
        .collect();
    edit(&mut tensors);
    let dir = std::env::temp_dir().join(format!("rad3d-bert-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("config.json"), dir.join("config.json")).unwrap();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, (shape, data))| {
            (
                n.clone(),
                TensorView::new(safetensors::Dtype::F32, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
    let err = BertModel::<B>::load(&dir, &Default::default()).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    err
}

#[test]
fn missing_tensor_is_named() {
    let err = load_edited("missing", |t| {
        t.remove("encoder.layer.1.intermediate.dense.weight");
    });
    let msg = err.to_string();
    assert!(matches!(err, MetricsError::Tensor { .. }), "{msg}");
    assert!(
        msg.contains("model.safetensors")
            && msg.contains("encoder.layer.1.intermediate.dense.weight"),
        "{msg}"
    );
}

#[test]
fn misshaped_tensor_is_named() {
    let err = load_edited("shape", |t| {
        let (shape, data) = t
            .get_mut("encoder.layer.0.attention.self.key.bias")
            .unwrap();
        *shape = vec![16];
        data.truncate(16 * 4);
    });
    let msg = err.to_string();
    assert!(
        msg.contains("encoder.layer.0.attention.self.key.bias")
            && msg.contains("[16]")
            && msg.contains("[32]"),
        "{msg}"
    );
}

#[test]
fn bad_config_is_an_error() {
    let dir = std::env::temp_dir().join(format!("rad3d-bert-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    std::fs::write(&path, r#"{"model_type": "gpt2", "vocab_size": 4}"#).unwrap();
    assert!(BertConfig::from_hf_json(&path).is_err());
    std::fs::write(
        &path,
        r#"{"model_type": "bert", "vocab_size": 4, "hidden_size": 30, "num_hidden_layers": 1,
            "num_attention_heads": 4, "intermediate_size": 8, "max_position_embeddings": 8}"#,
    )
    .unwrap();
    let msg = BertConfig::from_hf_json(&path).unwrap_err().to_string();
    assert!(
        msg.contains("config.json") && msg.contains("divisible"),
        "{msg}"
    );
    assert!(BertModel::<B>::load(dir.join("nowhere"), &Default::default()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
