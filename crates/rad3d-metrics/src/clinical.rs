//! Clinical efficacy on multi-label findings: per-label and macro/micro precision, recall
//! and F1 between predicted and reference label vectors (scikit-learn's definitions with
//! `zero_division=0`, counted by [`Confusion`]).

use serde::Serialize;

use crate::classification::Confusion;
use crate::{MetricsError, Result};

/// Counts and scores of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScores {
    /// Label name.
    pub label: String,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
    /// Reference positives (`tp + fn`).
    pub support: usize,
    /// `tp / (tp + fp)`, 0 when undefined.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when undefined.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub f1: f64,
}

/// Precision, recall and F1 of an average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Averaged {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// Clinical efficacy of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClinicalEfficacy {
    /// One entry per label, in the given order.
    pub per_label: Vec<LabelScores>,
    /// Unweighted mean of the per-label scores.
    pub macro_avg: Averaged,
    /// Scores of the pooled counts over all labels.
    pub micro_avg: Averaged,
}

/// Clinical efficacy of `predicted` against `reference` (one row of `labels.len()`
/// booleans per sample).
///
/// # Errors
/// [`MetricsError::Input`] when the numbers of samples differ or a row does not have one
/// entry per label.
pub fn clinical_efficacy(
    labels: &[String],
    predicted: &[Vec<bool>],
    reference: &[Vec<bool>],
) -> Result<ClinicalEfficacy> {
    if predicted.len() != reference.len() {
        return Err(MetricsError::Input(format!(
            "{} predicted rows but {} reference rows",
            predicted.len(),
            reference.len()
        )));
    }
    for (i, (p, r)) in predicted.iter().zip(reference).enumerate() {
        if p.len() != labels.len() || r.len() != labels.len() {
            return Err(MetricsError::Input(format!(
                "sample {i}: {} predicted and {} reference labels, expected {}",
                p.len(),
                r.len(),
                labels.len()
            )));
        }
    }
    let mut per_label = Vec::with_capacity(labels.len());
    let mut pooled = Confusion::default();
    for (k, label) in labels.iter().enumerate() {
        let mut c = Confusion::default();
        for (p, r) in predicted.iter().zip(reference) {
            c.add(p[k], r[k]);
        }
        pooled += c;
        per_label.push(LabelScores {
            label: label.clone(),
            tp: c.tp,
            fp: c.fp,
            fn_: c.fn_,
            support: c.support(),
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
        });
    }
    let k = per_label.len().max(1) as f64;
    let macro_avg = Averaged {
        precision: per_label.iter().map(|l| l.precision).sum::<f64>() / k,
        recall: per_label.iter().map(|l| l.recall).sum::<f64>() / k,
        f1: per_label.iter().map(|l| l.f1).sum::<f64>() / k,
    };
    let micro_avg = Averaged {
        precision: pooled.precision(),
        recall: pooled.recall(),
        f1: pooled.f1(),
    };
    Ok(ClinicalEfficacy {
        per_label,
        macro_avg,
        micro_avg,
    })
}

/// Binarises scores (e.g. classifier probabilities) at `threshold` (`score >= threshold`).
pub fn binarize(scores: &[Vec<f64>], threshold: f64) -> Vec<Vec<bool>> {
    scores
        .iter()
        .map(|row| row.iter().map(|&s| s >= threshold).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_counts() {
        let labels = vec!["effusion".to_string(), "nodule".to_string()];
        let pred = vec![vec![true, false], vec![true, true], vec![false, true]];
        let gold = vec![vec![true, false], vec![false, true], vec![true, false]];
        let ce = clinical_efficacy(&labels, &pred, &gold).unwrap();
        // effusion: tp 1, fp 1, fn 1 → P = R = F = 0.5; nodule: tp 1, fp 1, fn 0 → P .5 R 1 F 2/3.
        assert_eq!(
            (ce.per_label[0].tp, ce.per_label[0].fp, ce.per_label[0].fn_),
            (1, 1, 1)
        );
        assert!((ce.per_label[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((ce.macro_avg.f1 - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // micro: tp 2, fp 2, fn 1 → P 0.5, R 2/3.
        assert!((ce.micro_avg.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((ce.micro_avg.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert!(clinical_efficacy(&labels, &pred, &gold[..2]).is_err());
        assert!(clinical_efficacy(&labels[..1], &pred, &gold).is_err());
        assert_eq!(binarize(&[vec![0.2, 0.5]], 0.5), vec![vec![false, true]]);
    }
}
