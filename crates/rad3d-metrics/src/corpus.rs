//! Corpus inputs and the "corpus metric from per-sample statistics" abstraction that the
//! significance tests resample.

use crate::{MetricsError, Result};

/// Hypotheses with their references, one entry per sample (report).
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// One generated report per sample.
    pub hyps: Vec<String>,
    /// One or more reference reports per sample.
    pub refs: Vec<Vec<String>>,
}

impl Corpus {
    /// A corpus of at least one sample, with any number (≥ 1) of references per sample.
    ///
    /// # Errors
    /// [`MetricsError::Input`] when the lengths differ or a sample has no reference;
    /// [`MetricsError::EmptyCorpus`] when there are no samples (every metric would score
    /// zeros that look like measurements).
    pub fn new(hyps: Vec<String>, refs: Vec<Vec<String>>) -> Result<Self> {
        if hyps.len() != refs.len() {
            return Err(MetricsError::Input(format!(
                "{} hypotheses but {} reference sets",
                hyps.len(),
                refs.len()
            )));
        }
        if hyps.is_empty() {
            return Err(MetricsError::EmptyCorpus {
                what: "corpus".into(),
            });
        }
        if let Some(i) = refs.iter().position(Vec::is_empty) {
            return Err(MetricsError::Input(format!("sample {i} has no reference")));
        }
        Ok(Self { hyps, refs })
    }

    /// A corpus with exactly one reference per sample.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn single(hyps: Vec<String>, refs: Vec<String>) -> Result<Self> {
        Self::new(hyps, refs.into_iter().map(|r| vec![r]).collect())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.hyps.len()
    }

    /// Whether the corpus has no samples.
    pub fn is_empty(&self) -> bool {
        self.hyps.is_empty()
    }

    /// The same corpus with `f` applied to every hypothesis and reference.
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> Self {
        Self {
            hyps: self.hyps.iter().map(|h| f(h)).collect(),
            refs: self
                .refs
                .iter()
                .map(|rs| rs.iter().map(|r| f(r)).collect())
                .collect(),
        }
    }

    /// The same references with other hypotheses (e.g. a second system).
    ///
    /// # Errors
    /// [`MetricsError::Input`] when the number of hypotheses differs.
    pub fn with_hyps(&self, hyps: Vec<String>) -> Result<Self> {
        Self::new(hyps, self.refs.clone())
    }
}

/// A corpus-level metric computed from per-sample sufficient statistics.
///
/// `score_counts(counts, out)` scores the corpus that holds `counts[i]` copies of sample
/// `i` — the full corpus is all ones, a bootstrap resample is a multiplicity vector and a
/// paired permutation selects one of two stacked systems per sample (see [`Pairable`]).
/// Implementations re-aggregate exactly as the reference tool would on that corpus.
pub trait CorpusMetric: Send + Sync {
    /// Names of the values reported, e.g. `["bleu_1", …, "bleu_4"]`.
    fn names(&self) -> Vec<String>;
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes the scores of the corpus made of `counts[i]` copies of sample `i` into `out`
    /// (`out.len() == names().len()`, `counts.len() == len()`).
    fn score_counts(&self, counts: &[u32], out: &mut [f64]);
    /// Scores several corpora at once: row `b` of `out` (`names().len()` values) gets the
    /// scores of `counts[b]`. Metrics whose resamples share expensive work (CIDEr-D's
    /// document frequencies and tf-idf products) override it; the default scores each
    /// corpus in turn. Results equal those of [`Self::score_counts`].
    fn score_batch(&self, counts: &[Vec<u32>], out: &mut [f64]) {
        let w = out.len() / counts.len().max(1);
        if w == 0 {
            return;
        }
        for (c, o) in counts.iter().zip(out.chunks_exact_mut(w)) {
            self.score_counts(c, o);
        }
    }
    /// Scores of the whole corpus (every sample once).
    fn score(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.names().len()];
        self.score_counts(&vec![1; self.len()], &mut out);
        out
    }
}

/// A corpus metric whose statistics for two systems on the same references can be stacked
/// (system A's samples, then system B's), which paired tests need.
pub trait Pairable: CorpusMetric + Sized {
    /// Statistics of `self`'s samples followed by `other`'s.
    ///
    /// # Errors
    /// [`MetricsError::Input`] when the two do not describe the same metric configuration.
    fn stack(&self, other: &Self) -> Result<Self>;
}

/// A corpus score that is the mean of per-sample scores (pycocoevalcap's ROUGE-L,
/// rouge-score, BERTScore, GREEN): the per-sample values are the sufficient statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanMetric {
    names: Vec<String>,
    /// `values[k][i]`: value `k` of sample `i`.
    values: Vec<Vec<f64>>,
}

impl MeanMetric {
    /// Builds from one column of per-sample values per name.
    ///
    /// # Errors
    /// [`MetricsError::Input`] when names and columns differ in number or columns in length.
    pub fn new(names: Vec<String>, values: Vec<Vec<f64>>) -> Result<Self> {
        if names.len() != values.len() {
            return Err(MetricsError::Input(format!(
                "{} names but {} value columns",
                names.len(),
                values.len()
            )));
        }
        if let Some(v) = values.iter().find(|v| v.len() != values[0].len()) {
            return Err(MetricsError::Input(format!(
                "value columns of different lengths ({} and {})",
                values[0].len(),
                v.len()
            )));
        }
        Ok(Self { names, values })
    }

    /// Per-sample values of column `k`.
    pub fn column(&self, k: usize) -> &[f64] {
        &self.values[k]
    }
}

impl CorpusMetric for MeanMetric {
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn len(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }

    fn score_counts(&self, counts: &[u32], out: &mut [f64]) {
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        for (o, col) in out.iter_mut().zip(&self.values) {
            if total == 0 {
                *o = 0.0;
                continue;
            }
            let sum: f64 = col
                .iter()
                .zip(counts)
                .filter(|&(_, &c)| c > 0)
                .map(|(v, &c)| v * f64::from(c))
                .sum();
            *o = sum / total as f64;
        }
    }
}

impl Pairable for MeanMetric {
    fn stack(&self, other: &Self) -> Result<Self> {
        if self.names != other.names {
            return Err(MetricsError::Input(format!(
                "cannot pair metrics {:?} and {:?}",
                self.names, other.names
            )));
        }
        let values = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| a.iter().chain(b).copied().collect())
            .collect();
        Ok(Self {
            names: self.names.clone(),
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_checks_shapes() {
        assert!(Corpus::single(vec!["a".into()], vec![]).is_err());
        assert!(matches!(
            Corpus::single(vec![], vec![]),
            Err(MetricsError::EmptyCorpus { .. })
        ));
        assert!(matches!(
            Corpus::new(vec![], vec![]),
            Err(MetricsError::EmptyCorpus { .. })
        ));
        assert!(Corpus::new(vec!["a".into()], vec![vec![]]).is_err());
        let c = Corpus::single(vec!["A b".into()], vec!["c".into()]).unwrap();
        assert_eq!(c.map_text(str::to_lowercase).hyps, vec!["a b"]);
    }

    #[test]
    fn mean_metric_weights_by_counts_and_stacks() {
        let m = MeanMetric::new(vec!["x".into()], vec![vec![1.0, 2.0, 4.0]]).unwrap();
        assert_eq!(m.score(), vec![7.0 / 3.0]);
        let mut out = [0.0];
        m.score_counts(&[0, 3, 1], &mut out);
        assert_eq!(out[0], 10.0 / 4.0);
        let s = m.stack(&m).unwrap();
        assert_eq!(s.len(), 6);
        assert!(MeanMetric::new(vec!["x".into()], vec![]).is_err());
    }
}
