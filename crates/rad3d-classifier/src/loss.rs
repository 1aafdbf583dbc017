//! Class-weighted binary cross-entropy for multi-label training.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::Backend;

use crate::error::{ClassifierError, Result};

/// Positive-class weights from label frequencies: `w_c = negatives_c / positives_c`, so
/// that positives and negatives of each label contribute equally (torch's `pos_weight`).
///
/// A label with no positives gets weight 1 (nothing to re-balance); `labels` is row-major
/// `[n_samples, n_labels]` of 0/1 values.
pub fn positive_weights(labels: &[f32], n_labels: usize) -> Result<Vec<f32>> {
    if n_labels == 0 || !labels.len().is_multiple_of(n_labels) {
        return Err(ClassifierError::Data(format!(
            "{} label values do not form rows of {n_labels}",
            labels.len()
        )));
    }
    let mut pos = vec![0usize; n_labels];
    let rows = labels.len() / n_labels;
    for row in labels.chunks_exact(n_labels) {
        for (c, &y) in row.iter().enumerate() {
            if y > 0.5 {
                pos[c] += 1;
            }
        }
    }
    Ok(pos
        .iter()
        .map(|&p| {
            if p == 0 {
                1.0
            } else {
                (rows - p) as f32 / p as f32
            }
        })
        .collect())
}

/// Mean over samples and labels of
/// `-(w_c · y · log σ(x) + (1 - y) · log(1 - σ(x)))`, computed stably from logits.
///
/// # Shapes
/// - `logits`, `targets`: `[batch, n_labels]`; `pos_weight`: `[n_labels]`
pub fn weighted_bce_with_logits<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 2>,
    pos_weight: Tensor<B, 1>,
) -> Tensor<B, 1> {
    let n_labels = pos_weight.dims()[0];
    let w = pos_weight.reshape([1, n_labels]);
    // log(1 - σ(x)) = log σ(-x).
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_sigmoid(logits.neg());
    let ones = targets.ones_like();
    let loss = (targets.clone() * w * log_p + (ones - targets) * log_not_p).neg();
    loss.mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    type B = Autodiff<Flex>;

    #[test]
    fn weights_from_frequencies() {
        // label 0: 1 of 4 positive → 3; label 1: 2 of 4 → 1; label 2: none → 1.
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(positive_weights(&labels, 3).unwrap(), vec![3.0, 1.0, 1.0]);
        assert!(positive_weights(&labels, 5).is_err());
    }

    #[test]
    fn loss_and_gradient_match_hand_computation() {
        let device = Default::default();
        // Two samples, two labels.
        let x = [0.0f32, 2.0, -1.0, 0.5];
        let y = [1.0f32, 0.0, 0.0, 1.0];
        let w = [3.0f32, 0.5];
        let logits =
            Tensor::<B, 2>::from_data(TensorData::new(x.to_vec(), [2, 2]), &device).require_grad();
        let targets = Tensor::<B, 2>::from_data(TensorData::new(y.to_vec(), [2, 2]), &device);
        let pw = Tensor::<B, 1>::from_data(TensorData::new(w.to_vec(), [2]), &device);
        let loss = weighted_bce_with_logits(logits.clone(), targets, pw);

        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let mut expected = 0.0f32;
        let mut grad = [0.0f32; 4];
        for i in 0..4 {
            let wc = w[i % 2];
            let s = sig(x[i]);
            expected -= wc * y[i] * s.ln() + (1.0 - y[i]) * (1.0 - s).ln();
            // d/dx = (w·y·(σ-1) + (1-y)·σ) / N.
            grad[i] = (wc * y[i] * (s - 1.0) + (1.0 - y[i]) * s) / 4.0;
        }
        expected /= 4.0;
        let got = loss.clone().into_data().to_vec::<f32>().unwrap()[0];
        assert!((got - expected).abs() < 1e-6, "loss {got} vs {expected}");
        // Hand values: loss = (3·ln2 + (2+ln(1+e^-2)) + ln(1+e^-1) + 0.5·ln(1+e^-0.5)) / 4.
        assert!((expected - 1.189_167).abs() < 1e-5, "{expected}");

        let grads = loss.backward();
        let g = logits
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for i in 0..4 {
            assert!(
                (g[i] - grad[i]).abs() < 1e-6,
                "grad {i}: {} vs {}",
                g[i],
                grad[i]
            );
        }
        // Explicitly: first entry (y=1, w=3, x=0) = 3·(0.5-1)/4 = -0.375.
        assert!((g[0] + 0.375).abs() < 1e-6);
    }
}
