//! The paper's metric suite as one call: pycocoevalcap BLEU-1..4, METEOR, ROUGE-L and
//! CIDEr-D on tokenized text, rouge-score ROUGE-1/2/L and sacreBLEU on raw text, plus any
//! model-based per-sample metrics (BERTScore, GREEN behind their features), with bootstrap
//! confidence intervals and paired tests between two systems.
//!
//! ```no_run
//! use rad3d_metrics::meteor::{Meteor, MeteorResources};
//! use rad3d_metrics::suite::{MetricSuite, SuiteConfig};
//! use rad3d_metrics::{Corpus, significance::ResampleConfig};
//! # fn main() -> rad3d_metrics::Result<()> {
//! let corpus = Corpus::single(vec!["no effusion .".into()], vec!["no pleural effusion .".into()])?;
//! let meteor = Meteor::new(&MeteorResources::default_location())?;
//! let suite = MetricSuite::score(&corpus, &meteor, &SuiteConfig::default())?;
//! let result = suite.bootstrap(&ResampleConfig::default())?;
//! println!("BLEU-4 {:.4} {:?}", result.bleu[3].value, result.bleu[3].ci);
//! # Ok(()) }
//! ```

use std::time::Instant;

use serde::Serialize;

use crate::coco::{CiderD, CocoBleu, DfMode, coco_rouge_l};
use crate::corpus::{Corpus, CorpusMetric, MeanMetric};
use crate::error::Result;
use crate::meteor::{Meteor, MeteorResult};
use crate::rouge_score::{RougeScorer, RougeType};
use crate::sacrebleu::SacreBleu;
use crate::significance::{
    Interval, PairedResult, ResampleConfig, bootstrap, paired_bootstrap, paired_permutation,
};
use crate::text::Tokenize;

/// rouge-score values the suite reports (mean F over pairs, Porter stemmer on).
const ROUGE_SCORE_KEEP: [&str; 3] = ["rouge1_f", "rouge2_f", "rougeL_f"];

/// How the suite sees the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteConfig {
    /// Tokenization for the pycocoevalcap metrics (the others see the raw text, as their
    /// Python packages do).
    pub tokenize: Tokenize,
    /// CIDEr-D document frequencies under resampling.
    pub cider_df: DfMode,
}

impl Default for SuiteConfig {
    /// The paper's setting: `basic` tokenization, corpus document frequencies.
    fn default() -> Self {
        Self {
            tokenize: Tokenize::Basic,
            cider_df: DfMode::Corpus,
        }
    }
}

/// Every corpus metric of one system, kept as per-sample statistics so that resamples
/// re-aggregate them exactly as the reference tools aggregate a corpus.
pub struct MetricSuite {
    /// pycocoevalcap BLEU-1..4.
    pub bleu: CocoBleu,
    /// METEOR 1.5 (a resample sums the drawn statistics, as the jar's `EVAL` line does).
    pub meteor: MeteorResult,
    /// pycocoevalcap ROUGE-L.
    pub rouge_l: MeanMetric,
    /// pycocoevalcap CIDEr-D.
    pub cider_d: CiderD,
    /// rouge-score ROUGE-1/2/L F.
    pub rouge_score: MeanMetric,
    /// sacreBLEU.
    pub sacrebleu: SacreBleu,
    /// Model-based per-sample metrics (BERTScore, GREEN), in the order added.
    pub model_metrics: Vec<MeanMetric>,
    /// Wall-clock seconds of each stage, in the order run.
    pub seconds: Vec<(String, f64)>,
}

/// One named value with its bootstrap interval when one was computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Value name (`bleu_4`, `meteor`, `cider_d`, `bertscore_f`, …).
    pub name: String,
    /// Value on the full corpus.
    pub value: f64,
    /// Percentile confidence interval.
    pub ci: Option<Interval>,
}

/// The suite's values by name, with confidence intervals after [`MetricSuite::bootstrap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteResult {
    /// Number of report pairs.
    pub samples: usize,
    /// BLEU-1..4.
    pub bleu: [Score; 4],
    /// METEOR.
    pub meteor: Score,
    /// ROUGE-L.
    pub rouge_l: Score,
    /// CIDEr-D.
    pub cider_d: Score,
    /// BERTScore F1, when a BERTScore metric was added.
    pub bertscore_f1: Option<Score>,
    /// GREEN, when a GREEN metric was added.
    pub green: Option<Score>,
    /// Every value (the above, rouge-score, sacreBLEU, BERTScore P/R), in output order.
    pub all: Vec<Score>,
}

impl SuiteResult {
    fn new(samples: usize, all: Vec<Score>) -> Self {
        let get = |name: &str| all.iter().find(|s| s.name == name).cloned();
        let must = |name: &str| get(name).expect("the suite always scores this value");
        Self {
            samples,
            bleu: [1, 2, 3, 4].map(|n| must(&format!("bleu_{n}"))),
            meteor: must("meteor"),
            rouge_l: must("rouge_l"),
            cider_d: must("cider_d"),
            bertscore_f1: get("bertscore_f"),
            green: get("green"),
            all,
        }
    }

    /// A value by name.
    pub fn get(&self, name: &str) -> Option<&Score> {
        self.all.iter().find(|s| s.name == name)
    }
}

impl MetricSuite {
    /// Scores `raw` (hypotheses and references as written) with every text metric.
    ///
    /// Memory stays linear in the text: ROUGE-L is an LCS length (two rows), and the
    /// rouge-score ROUGE-Lsum table, which the suite does not report, is not computed.
    ///
    /// # Errors
    /// [`MetricsError::MeteorSegmentTooLarge`](crate::MetricsError::MeteorSegmentTooLarge)
    /// for a pair METEOR refuses to align (see [`Meteor::corpus`]).
    pub fn score(raw: &Corpus, meteor: &Meteor, config: &SuiteConfig) -> Result<Self> {
        let mut seconds = Vec::new();
        let mut timed = |name: &str, clock: Instant| {
            seconds.push((name.to_string(), clock.elapsed().as_secs_f64()));
        };
        let clock = Instant::now();
        let tok = raw.map_text(|t| config.tokenize.apply(t));
        timed("tokenize", clock);
        let pairs: Vec<(Vec<&str>, &str)> = tok
            .refs
            .iter()
            .zip(&tok.hyps)
            .map(|(rs, h)| (rs.iter().map(String::as_str).collect(), h.as_str()))
            .collect();
        let clock = Instant::now();
        let meteor = meteor.corpus(&pairs)?;
        timed("meteor", clock);
        let clock = Instant::now();
        let bleu = CocoBleu::new(&tok);
        timed("bleu", clock);
        let clock = Instant::now();
        let rouge_l = coco_rouge_l(&tok);
        timed("rouge_l", clock);
        let clock = Instant::now();
        let cider_d = CiderD::with_mode(&tok, config.cider_df);
        timed("cider_d", clock);
        let clock = Instant::now();
        // ROUGE-Lsum is not reported: its union-LCS needs a full LCS table per sentence
        // pair (memory quadratic in a one-sentence report), so it is not computed either.
        let types = [RougeType::N(1), RougeType::N(2), RougeType::L];
        let rouge_all = RougeScorer::new(&types, true).corpus(raw);
        timed("rouge_score_3_types", clock);
        let names = rouge_all.names();
        let cols = ROUGE_SCORE_KEEP
            .iter()
            .map(|k| {
                let col = names.iter().position(|n| n == k).expect("scored");
                rouge_all.column(col).to_vec()
            })
            .collect();
        let rouge_score = MeanMetric::new(
            ROUGE_SCORE_KEEP.iter().map(|s| s.to_string()).collect(),
            cols,
        )
        .expect("one column per name, one value per sample");
        let clock = Instant::now();
        let sacrebleu = SacreBleu::new(raw);
        timed("sacrebleu", clock);
        Ok(Self {
            bleu,
            meteor,
            rouge_l,
            cider_d,
            rouge_score,
            sacrebleu,
            model_metrics: Vec::new(),
            seconds,
        })
    }

    /// Adds a model-based per-sample metric (see [`bertscore_metric`] and [`green_metric`]
    /// with their features).
    pub fn add_model_metric(&mut self, metric: MeanMetric) {
        self.model_metrics.push(metric);
    }

    /// Every metric, in output order.
    pub fn metrics(&self) -> Vec<&dyn CorpusMetric> {
        let mut out: Vec<&dyn CorpusMetric> = vec![
            &self.bleu,
            &self.meteor,
            &self.rouge_l,
            &self.cider_d,
            &self.rouge_score,
            &self.sacrebleu,
        ];
        out.extend(self.model_metrics.iter().map(|m| m as &dyn CorpusMetric));
        out
    }

    /// `(name, value)` of every value, in output order.
    pub fn scores(&self) -> Vec<(String, f64)> {
        self.metrics()
            .iter()
            .flat_map(|m| m.names().into_iter().zip(m.score()))
            .collect()
    }

    /// Number of report pairs.
    pub fn len(&self) -> usize {
        self.bleu.len()
    }

    /// Whether the corpus was empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values without confidence intervals.
    pub fn result(&self) -> SuiteResult {
        let all = self
            .scores()
            .into_iter()
            .map(|(name, value)| Score {
                name,
                value,
                ci: None,
            })
            .collect();
        SuiteResult::new(self.len(), all)
    }

    /// The values with percentile bootstrap intervals.
    ///
    /// # Errors
    /// As [`significance::bootstrap`](crate::significance::bootstrap).
    pub fn bootstrap(&self, cfg: &ResampleConfig) -> Result<SuiteResult> {
        let intervals = bootstrap(&self.metrics(), cfg)?;
        let all = intervals
            .into_iter()
            .map(|r| Score {
                name: r.name,
                value: r.interval.point,
                ci: Some(r.interval),
            })
            .collect();
        Ok(SuiteResult::new(self.len(), all))
    }

    /// Paired permutation tests of `other` (system B) against `self` (A), value by value in
    /// output order.
    ///
    /// # Errors
    /// As [`significance::paired_permutation`](crate::significance::paired_permutation),
    /// and when the systems hold different model-based metrics.
    pub fn paired_permutation(
        &self,
        other: &Self,
        cfg: &ResampleConfig,
    ) -> Result<Vec<PairedResult>> {
        self.check_same_models(other)?;
        let mut out = [
            paired_permutation(&self.bleu, &other.bleu, cfg)?,
            paired_permutation(&self.meteor, &other.meteor, cfg)?,
            paired_permutation(&self.rouge_l, &other.rouge_l, cfg)?,
            paired_permutation(&self.cider_d, &other.cider_d, cfg)?,
            paired_permutation(&self.rouge_score, &other.rouge_score, cfg)?,
            paired_permutation(&self.sacrebleu, &other.sacrebleu, cfg)?,
        ]
        .concat();
        for (a, b) in self.model_metrics.iter().zip(&other.model_metrics) {
            out.extend(paired_permutation(a, b, cfg)?);
        }
        Ok(out)
    }

    /// Paired bootstrap tests of `other` (system B) against `self` (A), value by value in
    /// output order.
    ///
    /// # Errors
    /// As [`significance::paired_bootstrap`](crate::significance::paired_bootstrap), and
    /// when the systems hold different model-based metrics.
    pub fn paired_bootstrap(
        &self,
        other: &Self,
        cfg: &ResampleConfig,
    ) -> Result<Vec<PairedResult>> {
        self.check_same_models(other)?;
        let mut out = Vec::new();
        for (a, b) in self.metrics().into_iter().zip(other.metrics()) {
            out.extend(paired_bootstrap(a, b, cfg)?);
        }
        Ok(out)
    }

    fn check_same_models(&self, other: &Self) -> Result<()> {
        let names =
            |s: &Self| -> Vec<Vec<String>> { s.model_metrics.iter().map(|m| m.names()).collect() };
        if names(self) != names(other) {
            return Err(crate::MetricsError::Input(format!(
                "model-based metrics differ between systems: {:?} vs {:?}",
                names(self),
                names(other)
            )));
        }
        Ok(())
    }
}

/// BERTScore P/R/F of each pair of `corpus` (first reference) as a per-sample metric
/// (`bertscore_p`, `bertscore_r`, `bertscore_f`).
///
/// # Errors
/// Whatever [`BertScorer::score`](crate::bertscore::BertScorer::score) reports.
#[cfg(feature = "bertscore")]
pub fn bertscore_metric<B: burn::tensor::backend::Backend>(
    scorer: &crate::bertscore::BertScorer<B>,
    corpus: &Corpus,
    options: &crate::bertscore::BertScoreOptions,
) -> Result<MeanMetric> {
    let refs: Vec<&str> = corpus.refs.iter().map(|r| r[0].as_str()).collect();
    let r = scorer.score(&refs, &corpus.hyps, options)?;
    let col = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    MeanMetric::new(
        vec![
            "bertscore_p".into(),
            "bertscore_r".into(),
            "bertscore_f".into(),
        ],
        vec![col(&r.precision), col(&r.recall), col(&r.f1)],
    )
}

/// GREEN of each pair of `corpus` (first reference) as a per-sample metric (`green`).
///
/// # Errors
/// Whatever [`Green::score`](crate::green::Green::score) reports.
#[cfg(feature = "green")]
pub fn green_metric<B: burn::tensor::backend::Backend>(
    judge: &crate::green::Green<B>,
    corpus: &Corpus,
) -> Result<MeanMetric> {
    let refs: Vec<&str> = corpus.refs.iter().map(|r| r[0].as_str()).collect();
    let r = judge.score(&refs, &corpus.hyps)?;
    let col = r.samples.iter().map(|s| s.green).collect();
    MeanMetric::new(vec!["green".into()], vec![col])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(hyps: &[&str], refs: &[&str]) -> MetricSuite {
        let corpus = Corpus::single(
            hyps.iter().map(|s| s.to_string()).collect(),
            refs.iter().map(|s| s.to_string()).collect(),
        )
        .unwrap();
        let meteor = Meteor::exact_stem_only();
        MetricSuite::score(&corpus, &meteor, &SuiteConfig::default()).unwrap()
    }

    #[test]
    fn names_values_and_intervals() {
        let refs = [
            "No pleural effusion.",
            "Heart size is normal.",
            "Lungs are clear.",
        ];
        let a = suite(&refs, &refs);
        let names: Vec<String> = a.scores().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "bleu_1",
                "bleu_2",
                "bleu_3",
                "bleu_4",
                "meteor",
                "rouge_l",
                "cider_d",
                "rouge1_f",
                "rouge2_f",
                "rougeL_f",
                "sacrebleu"
            ]
        );
        let r = a.result();
        assert_eq!(r.samples, 3);
        assert!((r.bleu[0].value - 1.0).abs() < 1e-9 && r.meteor.ci.is_none());
        assert!(r.bertscore_f1.is_none() && r.green.is_none());
        let cfg = ResampleConfig {
            resamples: 50,
            ..Default::default()
        };
        let boot = a.bootstrap(&cfg).unwrap();
        let ci = boot.rouge_l.ci.unwrap();
        assert!(ci.lower <= ci.point && ci.point <= ci.upper);
        assert_eq!(
            boot.get("sacrebleu").unwrap().value,
            r.get("sacrebleu").unwrap().value
        );

        let mut b = suite(&["No effusion.", "Heart is big.", "Clear."], &refs);
        let perm = a.paired_permutation(&b, &cfg).unwrap();
        let pb = a.paired_bootstrap(&b, &cfg).unwrap();
        assert_eq!(perm.len(), names.len());
        assert!(perm.iter().zip(&pb).all(|(x, y)| x.name == y.name));
        b.add_model_metric(MeanMetric::new(vec!["x".into()], vec![vec![0.0; 3]]).unwrap());
        assert!(a.paired_bootstrap(&b, &cfg).is_err());
    }
}
