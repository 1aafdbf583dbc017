//! Binary-decision scores on plain slices: confusion counts with precision, recall, F1 and
//! accuracy (scikit-learn's definitions with `zero_division=0`), and AUROC.
//!
//! These are the only definitions in the workspace: the classifier's evaluation and the
//! clinical-efficacy metric both count through [`Confusion`].

use serde::Serialize;

/// Confusion counts of binary decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub fn_: usize,
}

impl Confusion {
    /// Counts of `predicted` against `actual`, position by position.
    ///
    /// # Panics
    /// When the slices differ in length (a caller's shape contract).
    pub fn from_decisions(predicted: &[bool], actual: &[bool]) -> Self {
        assert_eq!(
            predicted.len(),
            actual.len(),
            "Confusion::from_decisions: length mismatch"
        );
        let mut c = Self::default();
        for (&p, &a) in predicted.iter().zip(actual) {
            c.add(p, a);
        }
        c
    }

    /// Records one decision.
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    /// Reference positives, `tp + fn`.
    pub fn support(&self) -> usize {
        self.tp + self.fn_
    }

    /// `tp / (tp + fp)`, 0 when nothing is predicted positive.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`, 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall, `2tp / (2tp + fp + fn)`, 0 when both are 0.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `(tp + tn) / n`, 0 when there are no decisions.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_)
    }
}

impl std::ops::AddAssign for Confusion {
    fn add_assign(&mut self, other: Self) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.tn += other.tn;
        self.fn_ += other.fn_;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Area under the ROC curve by the Mann–Whitney statistic, ties counted as half
/// (scikit-learn's `roc_auc_score` for binary labels).
///
/// `None` when all samples belong to one class (the curve is undefined).
///
/// # Panics
/// When `scores` and `positive` differ in length.
pub fn auroc<S: Copy + Into<f64>>(scores: &[S], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "auroc: length mismatch");
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Widening to f64 is exact, so order and ties are those of the given scores.
    let scores: Vec<f64> = scores.iter().map(|&s| s.into()).collect();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += order[i..=j].iter().filter(|&&k| positive[k]).count() as f64 * avg_rank;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_matches_hand_count_with_ties() {
        // Positives 0.8, 0.4; negatives 0.4, 0.1, 0.3.
        // Pairs (pos > neg): 0.8 beats all 3; 0.4 beats 0.1, 0.3, ties 0.4 (½) → 5.5 / 6.
        let scores = [0.8f32, 0.4, 0.4, 0.1, 0.3];
        let pos = [true, true, false, false, false];
        let a = auroc(&scores, &pos).unwrap();
        assert!((a - 5.5 / 6.0).abs() < 1e-12, "{a}");
        assert_eq!(auroc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auroc(&[0.9, 0.1], &[false, true]), Some(0.0));
    }

    #[test]
    fn confusion_scores() {
        let c = Confusion::from_decisions(&[true, true, false, false], &[true, false, true, false]);
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 1
            }
        );
        assert_eq!(
            (c.precision(), c.recall(), c.f1(), c.accuracy()),
            (0.5, 0.5, 0.5, 0.5)
        );
        assert_eq!(c.support(), 2);
        let empty = Confusion::default();
        assert_eq!(
            (empty.precision(), empty.recall(), empty.f1()),
            (0.0, 0.0, 0.0)
        );
        let mut sum = c;
        sum += c;
        assert_eq!(sum.tp, 2);
    }
}
