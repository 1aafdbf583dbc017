//! Saving and loading head weights, including CT-CLIP's own linear-probe checkpoints.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rad3d_io::CheckpointReader;
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{ClassifierError, Result};
use crate::head::{AnomalyClassifier, AnomalyClassifierConfig};
use crate::labels::LabelSet;

/// Name of the weight in CT-CLIP's `ImageLatentsClassifier` (PyTorch layout `[labels, latent]`).
pub const WEIGHT_KEY: &str = "classifier.weight";
/// Name of the bias in CT-CLIP's `ImageLatentsClassifier`.
pub const BIAS_KEY: &str = "classifier.bias";

fn view(bytes: &[u8], shape: Vec<usize>) -> TensorView<'_> {
    TensorView::new(Dtype::F32, shape, bytes).expect("shape matches byte length")
}

fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Saves a head as safetensors under CT-CLIP's names, with the label names in the metadata
/// (`labels`, a JSON array), so the file is also readable by PyTorch tooling.
pub fn save_head<B: Backend>(
    head: &AnomalyClassifier<B>,
    labels: &LabelSet,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    if labels.len() != head.n_labels() {
        return Err(ClassifierError::Data(format!(
            "{} label names for a {}-label head",
            labels.len(),
            head.n_labels()
        )));
    }
    let (n, d) = (head.n_labels(), head.d_latent());
    let weight = head
        .linear
        .weight
        .val()
        .transpose()
        .into_data()
        .convert::<f32>();
    let weight = to_bytes(&weight.to_vec::<f32>().expect("f32"));
    let bias = match &head.linear.bias {
        Some(b) => b
            .val()
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("f32"),
        None => vec![0.0; n],
    };
    let bias = to_bytes(&bias);
    let tensors = vec![
        (WEIGHT_KEY, view(&weight, vec![n, d])),
        (BIAS_KEY, view(&bias, vec![n])),
    ];
    let mut meta = HashMap::new();
    meta.insert(
        "labels".to_string(),
        serde_json::to_string(labels.names()).expect("strings serialise"),
    );
    meta.insert("format".to_string(), "pt".to_string());
    let bytes =
        safetensors::serialize(tensors, Some(meta)).map_err(|e| ClassifierError::Weights {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    std::fs::write(path, bytes).map_err(|e| ClassifierError::io(path, e))
}

/// Loads a head from a file written by [`save_head`] or from a CT-CLIP linear-probe
/// checkpoint (`CT_LiPro_v2.pt`: `classifier.weight`/`.bias` beside `trained_model.…`, or
/// any wrapper prefix). Returns the head and the label names when the file records them.
pub fn load_head<B: Backend>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(AnomalyClassifier<B>, Option<LabelSet>)> {
    let path = path.as_ref();
    let weights_err = |reason: String| ClassifierError::Weights {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = CheckpointReader::open(path).map_err(|e| weights_err(e.to_string()))?;
    // The probe's keys sit beside (not under) the encoder's wrapper prefix: use raw names.
    reader.set_prefix("");
    // Take the shortest match so an encoder-internal name can never shadow the head.
    let raw = reader.raw_names();
    let weight_key = raw
        .iter()
        .filter(|n| n.ends_with(WEIGHT_KEY))
        .min_by_key(|n| n.len())
        .ok_or_else(|| weights_err(format!("no `{WEIGHT_KEY}` tensor")))?
        .clone();
    let bias_key = format!(
        "{}{BIAS_KEY}",
        &weight_key[..weight_key.len() - WEIGHT_KEY.len()]
    );
    let read = |k: &str| -> Result<TensorData> {
        reader.read_f32(k).map_err(|e| weights_err(e.to_string()))
    };
    let weight = read(&weight_key)?;
    let bias = read(&bias_key)?;
    let (n, d) = match weight.shape.as_slice() {
        [n, d] => (*n, *d),
        other => {
            return Err(weights_err(format!(
                "`{weight_key}` has shape {other:?}, expected [labels, latent]"
            )));
        }
    };
    if bias.shape.as_slice() != [n] {
        return Err(weights_err(format!(
            "`{bias_key}` has shape {:?}, expected [{n}]",
            bias.shape
        )));
    }
    let mut head = AnomalyClassifierConfig::new(n)
        .with_d_latent(d)
        .init::<B>(device);
    head.linear.weight = Param::from_tensor(Tensor::<B, 2>::from_data(weight, device).transpose());
    head.linear.bias = Some(Param::from_tensor(Tensor::from_data(bias, device)));
    let labels = match reader.metadata("labels") {
        Some(json) => {
            let names: Vec<String> = serde_json::from_str(&json)
                .map_err(|e| weights_err(format!("metadata `labels` is not a JSON list: {e}")))?;
            let set = LabelSet::from_names(&names)?;
            if set.len() != n {
                return Err(weights_err(format!(
                    "{} label names for {n} outputs",
                    set.len()
                )));
            }
            Some(set)
        }
        None => None,
    };
    Ok((head, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn loads_ctclip_linear_probe_layout() {
        // CT_LiPro-style: encoder under `trained_model.`, head at top level, [labels, latent].
        let w: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect(); // [2, 3]
        let b = [0.25f32, -1.0];
        let enc = [0.0f32; 2];
        let (wb, bb, eb) = (to_bytes(&w), to_bytes(&b), to_bytes(&enc));
        let tensors = vec![
            (
                "classifier.weight",
                TensorView::new(Dtype::F32, vec![2, 3], &wb).unwrap(),
            ),
            (
                "classifier.bias",
                TensorView::new(Dtype::F32, vec![2], &bb).unwrap(),
            ),
            (
                "trained_model.visual_transformer.to_patch_emb.2.weight",
                TensorView::new(Dtype::F32, vec![2, 1], &eb).unwrap(),
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lipro.safetensors");
        std::fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();
        let device = Default::default();
        let (head, labels) = load_head::<Flex>(&path, &device).unwrap();
        assert!(labels.is_none());
        assert_eq!((head.n_labels(), head.d_latent()), (2, 3));
        // ReLU([1, -1, 2]) = [1, 0, 2]; row 0 = [0, .5, 1] → 2.25; row 1 = [1.5, 2, 2.5] → 5.5.
        let x =
            Tensor::<Flex, 2>::from_data(TensorData::new(vec![1.0f32, -1.0, 2.0], [1, 3]), &device);
        let logits = head.forward(x).into_data().to_vec::<f32>().unwrap();
        assert_eq!(logits, vec![2.25, 5.5]);

        let bad = dir.path().join("nohead.safetensors");
        let only = vec![("x", TensorView::new(Dtype::F32, vec![2], &bb).unwrap())];
        std::fs::write(&bad, safetensors::serialize(only, None).unwrap()).unwrap();
        let err = load_head::<Flex>(&bad, &device).unwrap_err();
        assert!(err.to_string().contains("nohead.safetensors"), "{err}");
    }
}
