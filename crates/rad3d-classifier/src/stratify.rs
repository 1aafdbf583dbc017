//! Multi-label iterative stratification (Sechidis, Tsoumakas & Vlahavas, "On the
//! Stratification of Multi-Label Data", ECML PKDD 2011, Algorithm 1), the first-order case of
//! scikit-multilearn's `IterativeStratification`.
//!
//! Every fold `j` wants `r_j · n` studies in all and `r_j · |D_i|` positives of each label
//! `i`. Repeatedly, the label with the fewest (but at least one) unassigned positives is
//! taken, and each of its unassigned studies goes to the fold that wants that label most;
//! ties go to the fold that wants the most studies in all, then to a seeded random choice.
//! Each placement lowers the chosen fold's wants for every label of the study. Studies with
//! no positive label fill the folds by their remaining overall wants. Rare labels are thus
//! placed first, while every fold still wants them, which keeps each label's proportion
//! close to the whole set's in every fold.
//!
//! Where the paper breaks ties between equally rare labels at random, this takes the
//! lowest label index, so that a seed fixes the whole split; scikit-multilearn's variant
//! picks its next combination by dictionary order, which the paper does not describe.

use rad3d_io::SplitMix64;

use crate::error::{ClassifierError, Result};
use crate::label_matrix::LabelMatrix;

/// Assigns every row of `matrix` to one of `fractions.len()` folds so that each label's
/// positives are spread in the given proportions; returns the fold of each row.
///
/// # Errors
/// [`ClassifierError::Split`] when a fraction is negative or not finite, or the fractions
/// do not sum to 1 (within 1e-6).
pub fn iterative_stratification(
    matrix: &LabelMatrix,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<usize>> {
    if fractions.len() < 2 {
        return Err(ClassifierError::Split(format!(
            "{} fraction(s); at least two folds are needed",
            fractions.len()
        )));
    }
    if fractions.iter().any(|f| !f.is_finite() || *f < 0.0) {
        return Err(ClassifierError::Split(format!(
            "fractions {fractions:?} must be finite and non-negative"
        )));
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(ClassifierError::Split(format!(
            "fractions {fractions:?} sum to {sum}, not 1"
        )));
    }
    let (n_rows, n_labels, k) = (matrix.len(), matrix.labels().len(), fractions.len());
    let mut rng = SplitMix64::new(seed);
    let positives = matrix.positives();
    // Wants per fold, overall and per label (fractional, as the paper's c_j and c_j^i).
    let wanted: Vec<f64> = fractions.iter().map(|r| r * n_rows as f64).collect();
    let wanted_label: Vec<Vec<f64>> = positives
        .iter()
        .map(|&p| fractions.iter().map(|r| r * p as f64).collect())
        .collect();
    // Rows of each label, in a seeded order so that ties between equal folds spread.
    let mut order: Vec<usize> = (0..n_rows).collect();
    for i in (1..n_rows).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
    for &r in &order {
        for (l, &v) in matrix.row(r).iter().enumerate() {
            if v == 1 {
                rows_of[l].push(r);
            }
        }
    }
    let mut state = State {
        wanted,
        wanted_label,
        remaining: positives,
        fold_of: vec![usize::MAX; n_rows],
    };
    while let Some(label) = (0..n_labels)
        .filter(|&l| state.remaining[l] > 0)
        .min_by_key(|&l| state.remaining[l])
    {
        for &r in &rows_of[label] {
            if state.fold_of[r] == usize::MAX {
                let j = choose(&state.wanted_label[label], &state.wanted, &mut rng);
                state.place(matrix, r, j);
            }
        }
    }
    for &r in &order {
        if state.fold_of[r] == usize::MAX {
            let j = choose(&state.wanted, &state.wanted, &mut rng);
            state.place(matrix, r, j);
        }
    }
    let fold_of = state.fold_of;
    debug_assert!(fold_of.iter().all(|&j| j < k));
    Ok(fold_of)
}

/// The algorithm's bookkeeping: wants per fold and label, unassigned positives per label.
struct State {
    wanted: Vec<f64>,
    wanted_label: Vec<Vec<f64>>,
    remaining: Vec<usize>,
    fold_of: Vec<usize>,
}

impl State {
    /// Puts row `r` into fold `j` and lowers that fold's wants for each of its labels.
    fn place(&mut self, matrix: &LabelMatrix, r: usize, j: usize) {
        self.fold_of[r] = j;
        self.wanted[j] -= 1.0;
        for (l, &v) in matrix.row(r).iter().enumerate() {
            if v == 1 {
                self.wanted_label[l][j] -= 1.0;
                self.remaining[l] -= 1;
            }
        }
    }
}

/// The fold with the largest `primary` want; ties by the largest `secondary` want, then
/// by a seeded draw.
fn choose(primary: &[f64], secondary: &[f64], rng: &mut SplitMix64) -> usize {
    let best = primary.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tied: Vec<usize> = (0..primary.len()).filter(|&j| primary[j] == best).collect();
    if tied.len() == 1 {
        return tied[0];
    }
    let best2 = tied
        .iter()
        .map(|&j| secondary[j])
        .fold(f64::NEG_INFINITY, f64::max);
    let tied: Vec<usize> = tied
        .into_iter()
        .filter(|&j| secondary[j] == best2)
        .collect();
    tied[rng.below(tied.len() as u64) as usize]
}

/// Each label's share of positives in the whole set and in every fold.
#[derive(Debug, Clone, PartialEq)]
pub struct ProportionTable {
    /// Fold names, in fold order (`train`, `valid`, `test`, …).
    pub folds: Vec<String>,
    /// Studies per fold.
    pub sizes: Vec<usize>,
    /// One row per label.
    pub rows: Vec<ProportionRow>,
}

/// One label of a [`ProportionTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProportionRow {
    /// The label.
    pub label: String,
    /// Positives in the whole set.
    pub positives: usize,
    /// Positive share in the whole set.
    pub whole: f64,
    /// Positive share in each fold (NaN for an empty fold).
    pub per_fold: Vec<f64>,
}

impl ProportionRow {
    /// Largest distance, in percentage points, between a fold's share and the whole's.
    pub fn max_deviation_pp(&self) -> f64 {
        self.per_fold
            .iter()
            .filter(|p| p.is_finite())
            .map(|p| (p - self.whole).abs() * 100.0)
            .fold(0.0, f64::max)
    }
}

impl ProportionTable {
    /// The table of `matrix` split by `fold_of` into folds named `folds`.
    pub fn new(matrix: &LabelMatrix, fold_of: &[usize], folds: &[&str]) -> Self {
        let n = matrix.len();
        let members: Vec<Vec<usize>> = (0..folds.len())
            .map(|j| (0..n).filter(|&r| fold_of[r] == j).collect())
            .collect();
        let whole = matrix.positives();
        let per: Vec<Vec<usize>> = members
            .iter()
            .map(|m| matrix.positives_in(m.iter().copied()))
            .collect();
        let share = |p: usize, size: usize| {
            if size == 0 {
                f64::NAN
            } else {
                p as f64 / size as f64
            }
        };
        let rows = matrix
            .labels()
            .names()
            .iter()
            .enumerate()
            .map(|(l, name)| ProportionRow {
                label: name.clone(),
                positives: whole[l],
                whole: share(whole[l], n),
                per_fold: (0..folds.len())
                    .map(|j| share(per[j][l], members[j].len()))
                    .collect(),
            })
            .collect();
        Self {
            folds: folds.iter().map(|s| s.to_string()).collect(),
            sizes: members.iter().map(Vec::len).collect(),
            rows,
        }
    }

    /// `label,positives,all,<fold>...,max_deviation_pp` with shares as fractions.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["label".to_string(), "positives".into(), "all".into()];
        header.extend(self.folds.iter().cloned());
        header.push("max_deviation_pp".into());
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&header);
        for r in &self.rows {
            let mut rec = vec![
                r.label.clone(),
                r.positives.to_string(),
                format!("{:.6}", r.whole),
            ];
            rec.extend(r.per_fold.iter().map(|p| format!("{p:.6}")));
            rec.push(format!("{:.3}", r.max_deviation_pp()));
            let _ = w.write_record(&rec);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// The same table in Markdown, shares in percent, with fold sizes in the header.
    pub fn to_markdown(&self) -> String {
        let total: usize = self.sizes.iter().sum();
        let mut s = format!("| label | positives | all (n={total}) |");
        for (f, n) in self.folds.iter().zip(&self.sizes) {
            s.push_str(&format!(" {f} (n={n}) |"));
        }
        s.push_str(" max deviation (pp) |\n|---|---:|---:|");
        s.push_str(&"---:|".repeat(self.folds.len()));
        s.push_str("---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {:.2}% |",
                r.label.replace('|', "\\|"),
                r.positives,
                r.whole * 100.0
            ));
            for p in &r.per_fold {
                s.push_str(&format!(" {:.2}% |", p * 100.0));
            }
            s.push_str(&format!(" {:.2} |\n", r.max_deviation_pp()));
        }
        s
    }
}
