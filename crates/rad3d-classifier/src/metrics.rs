//! Multi-label evaluation: per-label AUROC, F1, precision, recall, accuracy and their
//! macro / micro averages. The scores themselves are `rad3d-metrics`' ([`Confusion`],
//! [`auroc`]), the workspace's one definition.

pub use rad3d_metrics::{Confusion, auroc};

use crate::error::{ClassifierError, Result};
use crate::labels::LabelSet;

/// Scores of one label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMetrics {
    /// Label name.
    pub name: String,
    /// AUROC, `None` if the label has a single class in the data.
    pub auroc: Option<f64>,
    /// Counts at the threshold.
    pub confusion: Confusion,
    /// F1 at the threshold.
    pub f1: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// Accuracy at the threshold.
    pub accuracy: f64,
    /// Number of positive samples.
    pub support: usize,
}

/// Averaged scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Averages {
    /// AUROC (macro: mean over labels where defined; micro: over all pooled decisions).
    pub auroc: Option<f64>,
    /// F1.
    pub f1: f64,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Accuracy.
    pub accuracy: f64,
}

/// The full evaluation of a multi-label prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Threshold applied to probabilities.
    pub threshold: f32,
    /// Per-label scores in label order.
    pub per_label: Vec<LabelMetrics>,
    /// Unweighted mean over labels.
    pub macro_avg: Averages,
    /// Pooled over every (sample, label) decision.
    pub micro_avg: Averages,
}

/// Evaluates probabilities against 0/1 labels, both row-major `[n_samples, n_labels]`.
pub fn evaluate(
    probabilities: &[f32],
    labels: &[f32],
    label_set: &LabelSet,
    threshold: f32,
) -> Result<Evaluation> {
    let n_labels = label_set.len();
    if probabilities.len() != labels.len()
        || !labels.len().is_multiple_of(n_labels)
        || labels.is_empty()
    {
        return Err(ClassifierError::Data(format!(
            "{} probabilities and {} labels do not form [n, {n_labels}] matrices",
            probabilities.len(),
            labels.len()
        )));
    }
    let n = labels.len() / n_labels;
    let mut per_label = Vec::with_capacity(n_labels);
    let mut pooled = Confusion::default();
    for (c, name) in label_set.names().iter().enumerate() {
        let scores: Vec<f32> = (0..n).map(|i| probabilities[i * n_labels + c]).collect();
        let truth: Vec<bool> = (0..n).map(|i| labels[i * n_labels + c] > 0.5).collect();
        let mut confusion = Confusion::default();
        for (s, &t) in scores.iter().zip(&truth) {
            confusion.add(*s >= threshold, t);
            pooled.add(*s >= threshold, t);
        }
        per_label.push(LabelMetrics {
            name: name.clone(),
            auroc: auroc(&scores, &truth),
            f1: confusion.f1(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            accuracy: confusion.accuracy(),
            support: confusion.tp + confusion.fn_,
            confusion,
        });
    }
    let mean =
        |f: &dyn Fn(&LabelMetrics) -> f64| per_label.iter().map(f).sum::<f64>() / n_labels as f64;
    let defined: Vec<f64> = per_label.iter().filter_map(|m| m.auroc).collect();
    let macro_avg = Averages {
        auroc: (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        f1: mean(&|m| m.f1),
        precision: mean(&|m| m.precision),
        recall: mean(&|m| m.recall),
        accuracy: mean(&|m| m.accuracy),
    };
    let truth: Vec<bool> = labels.iter().map(|&y| y > 0.5).collect();
    let micro_avg = Averages {
        auroc: auroc(probabilities, &truth),
        f1: pooled.f1(),
        precision: pooled.precision(),
        recall: pooled.recall(),
        accuracy: pooled.accuracy(),
    };
    Ok(Evaluation {
        threshold,
        per_label,
        macro_avg,
        micro_avg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_metrics_and_averages() {
        let set = LabelSet::from_names(&["a", "b"]).unwrap();
        // Three samples × two labels.
        let probs = [0.9, 0.2, 0.6, 0.7, 0.1, 0.4];
        let labels = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let e = evaluate(&probs, &labels, &set, 0.5).unwrap();
        let a = &e.per_label[0];
        // a: predictions [1,1,0] vs truth [1,0,0] → tp1 fp1 tn1 fn0.
        assert_eq!(
            a.confusion,
            Confusion {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 0
            }
        );
        assert!((a.precision - 0.5).abs() < 1e-12 && (a.recall - 1.0).abs() < 1e-12);
        assert!((a.f1 - 2.0 / 3.0).abs() < 1e-12);
        let b = &e.per_label[1];
        // b: predictions [0,1,0] vs truth [0,1,1] → tp1 fp0 tn1 fn1.
        assert!((b.f1 - 2.0 / 3.0).abs() < 1e-12 && (b.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(b.auroc, Some(1.0));
        assert_eq!(a.auroc, Some(1.0));
        // micro: tp2 fp1 tn2 fn1 → precision 2/3, recall 2/3, accuracy 4/6.
        assert!((e.micro_avg.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.micro_avg.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((e.macro_avg.recall - 0.75).abs() < 1e-12);
        assert!(evaluate(&probs[..5], &labels, &set, 0.5).is_err());
    }
}
