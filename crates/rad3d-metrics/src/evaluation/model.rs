//! Model-based metrics (BERTScore, GREEN) as providers [`evaluate`](super::evaluate) calls
//! on each system's corpus; their per-sample values are bootstrapped and compared like
//! every other metric.

use crate::corpus::{Corpus, MeanMetric};
use crate::error::Result;

/// A metric that scores every report pair with a model and reports per-sample values.
///
/// The trait keeps the evaluation free of Burn: the default build takes any provider
/// (tests use a fake one); the BERTScore scorer and the GREEN judge implement it behind
/// their features.
pub trait ModelMetric {
    /// Per-sample values of every pair of `corpus` (raw text; the first reference of each
    /// sample), one column per output name (`bertscore_p`, `bertscore_r`, `bertscore_f`,
    /// `green`, …), one value per sample; the corpus value is their mean.
    ///
    /// # Errors
    /// Whatever the model reports.
    fn score(&self, corpus: &Corpus) -> Result<MeanMetric>;
}

/// BERTScore with the `bert-score` defaults (no idf, no baseline rescaling).
#[cfg(feature = "bertscore")]
impl<B: burn::tensor::backend::Backend> ModelMetric for crate::bertscore::BertScorer<B> {
    fn score(&self, corpus: &Corpus) -> Result<MeanMetric> {
        crate::suite::bertscore_metric(self, corpus, &Default::default())
    }
}

/// A BERTScore scorer with explicit options (idf weighting, baseline rescaling).
#[cfg(feature = "bertscore")]
#[derive(Debug)]
pub struct BertScoreWith<'a, B: burn::tensor::backend::Backend> {
    /// The scorer.
    pub scorer: &'a crate::bertscore::BertScorer<B>,
    /// Its options.
    pub options: crate::bertscore::BertScoreOptions,
}

#[cfg(feature = "bertscore")]
impl<B: burn::tensor::backend::Backend> ModelMetric for BertScoreWith<'_, B> {
    fn score(&self, corpus: &Corpus) -> Result<MeanMetric> {
        crate::suite::bertscore_metric(self.scorer, corpus, &self.options)
    }
}

/// GREEN with the judge's options.
#[cfg(feature = "green")]
impl<B: burn::tensor::backend::Backend> ModelMetric for crate::green::Green<B> {
    fn score(&self, corpus: &Corpus) -> Result<MeanMetric> {
        crate::suite::green_metric(self, corpus)
    }
}
