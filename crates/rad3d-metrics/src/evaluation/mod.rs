//! The whole "evaluate generated reports" job as one call, so that every front end (the
//! command line, a Python binding) produces the same numbers and the same JSON.
//!
//! [`evaluate`] scores system A's reports against the references with the full
//! [`MetricSuite`] plus any [`ModelMetric`]s, optionally bootstraps confidence intervals of
//! every value and compares a system B with paired permutation and paired bootstrap tests.
//! [`evaluate_files`] does the same from file paths, loading METEOR's data itself.
//! The [`Evaluation`] serialises to one JSON object (see [`Evaluation::to_json`]) and
//! writes the paper's table ([`table`]), per-sample scores and an interval chart
//! ([`plot`]); [`compare`] scores several systems against one of them.
//!
//! ```no_run
//! use rad3d_metrics::evaluation::{EvaluateFiles, EvaluateOptions, evaluate_files};
//! # fn main() -> rad3d_metrics::Result<()> {
//! let files = EvaluateFiles::new("refs.csv", "generated.jsonl");
//! let options = EvaluateOptions { bootstrap: Some(5000), ..Default::default() };
//! let evaluation = evaluate_files(&files, &[], &options)?;
//! println!("{}", serde_json::to_string_pretty(&evaluation).expect("JSON values"));
//! evaluation.write_per_sample_csv("per_sample.csv")?;
//! # Ok(()) }
//! ```

pub mod compare;
mod model;
pub mod plot;
pub mod table;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

pub use compare::{System, compare_systems, significance_csv, significance_markdown};
#[cfg(feature = "bertscore")]
pub use model::BertScoreWith;
pub use model::ModelMetric;
pub use plot::write_interval_chart;
pub use table::{PaperRow, table_markdown, write_table_csv};

use crate::coco::DfMode;
use crate::corpus::{Corpus, CorpusMetric, MeanMetric};
use crate::error::{MetricsError, Result};
use crate::meteor::{Meteor, MeteorMode, MeteorSource};
use crate::reports::{ReportColumns, ReportSet};
use crate::significance::{self, Interval, NamedInterval, PairedResult, ResampleConfig};
use crate::suite::{MetricSuite, SuiteConfig};
use crate::text::Tokenize;

/// Paired-test resamples when neither [`EvaluateOptions::compare_resamples`] nor
/// [`EvaluateOptions::bootstrap`] is given.
pub const DEFAULT_COMPARE_RESAMPLES: usize = 5000;

/// What [`Evaluation::meteor_note`] says when METEOR ran without synonym and paraphrase
/// matching.
pub const METEOR_APPROX_NOTE: &str = "METEOR: exact + stem matching only (synonym/paraphrase \
     matching off), not METEOR 1.5: not comparable to published METEOR scores";

/// How [`evaluate`] scores and resamples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvaluateOptions {
    /// Tokenization for the pycocoevalcap metrics (BLEU, METEOR, ROUGE-L, CIDEr-D); the
    /// others see the raw text, as their Python packages do.
    pub tokenize: Tokenize,
    /// CIDEr-D document frequencies under resampling.
    pub cider_df: DfMode,
    /// Bootstrap resamples for confidence intervals of every value (`None`: no intervals).
    pub bootstrap: Option<usize>,
    /// Resamples of the paired tests against system B (default: [`Self::bootstrap`], else
    /// [`DEFAULT_COMPARE_RESAMPLES`]).
    pub compare_resamples: Option<usize>,
    /// Seed of all resampling.
    pub seed: u64,
    /// Confidence level of every interval.
    pub confidence: f64,
    /// Report wall-clock seconds of each stage ([`Evaluation::seconds`]).
    pub timings: bool,
    /// Accept a METEOR scorer without synonym/paraphrase data (exact + stem matching only,
    /// flagged by [`Evaluation::meteor_note`]); without it such a scorer is an error, so
    /// missing data never passes silently.
    pub meteor_approx: bool,
}

impl Default for EvaluateOptions {
    /// The paper's setting: `basic` tokenization, corpus document frequencies, no
    /// resampling unless asked, seed 0, 95 % intervals, full METEOR 1.5.
    fn default() -> Self {
        Self {
            tokenize: Tokenize::Basic,
            cider_df: DfMode::Corpus,
            bootstrap: None,
            compare_resamples: None,
            seed: 0,
            confidence: 0.95,
            timings: false,
            meteor_approx: false,
        }
    }
}

impl EvaluateOptions {
    /// The bootstrap settings, when intervals are asked for.
    pub fn bootstrap_config(&self) -> Option<ResampleConfig> {
        self.bootstrap.map(|resamples| self.resample(resamples))
    }

    /// The paired-test settings.
    pub fn compare_config(&self) -> ResampleConfig {
        let n = self
            .compare_resamples
            .or(self.bootstrap)
            .unwrap_or(DEFAULT_COMPARE_RESAMPLES);
        self.resample(n)
    }

    fn resample(&self, resamples: usize) -> ResampleConfig {
        ResampleConfig {
            resamples,
            confidence: self.confidence,
            seed: self.seed,
        }
    }

    /// Checks the resampling settings before anything is read or scored.
    ///
    /// # Errors
    /// [`MetricsError::TooManyResamples`] above
    /// [`MAX_RESAMPLES`](significance::MAX_RESAMPLES); [`MetricsError::Input`] for zero
    /// resamples or a confidence outside (0, 1).
    pub fn validate(&self, comparing: bool) -> Result<()> {
        if let Some(cfg) = self.bootstrap_config() {
            cfg.validate()?;
        }
        if comparing {
            self.compare_config().validate()?;
        }
        Ok(())
    }
}

/// The bootstrap settings and the interval of every value.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapIntervals {
    /// Resamples drawn.
    pub resamples: usize,
    /// Confidence level.
    pub confidence: f64,
    /// Seed.
    pub seed: u64,
    /// One interval per value, in output order.
    pub intervals: Vec<NamedInterval>,
}

/// System B against system A: paired permutation and paired bootstrap tests, value by
/// value in output order.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// System B's file (or label).
    pub file: String,
    /// Resamples (and permutations) drawn.
    pub resamples: usize,
    /// Paired permutation tests (their `p_value` is the output's `p_value`).
    pub permutation: Vec<PairedResult>,
    /// Paired bootstrap tests (`delta` with its interval; `p_value_paired_bootstrap`).
    pub bootstrap: Vec<PairedResult>,
}

/// Per-sample scores of system A: one column per value that has a per-sample definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerSample {
    /// Report ids, in reference order.
    pub ids: Vec<String>,
    /// Column names.
    pub names: Vec<String>,
    /// `columns[k][i]`: value `k` of sample `i`.
    pub columns: Vec<Vec<f64>>,
}

/// Everything one evaluation found. Serialises (through [`Evaluation::to_json`]) to one
/// JSON object; [`Evaluation::per_sample`] is kept for
/// [`write_per_sample_csv`](Evaluation::write_per_sample_csv) and not serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Number of report pairs.
    pub samples: usize,
    /// Every value of system A (`MetricSuite::scores` order: BLEU-1..4, METEOR, ROUGE-L,
    /// CIDEr-D, rouge-score F, sacreBLEU, then the model-based metrics).
    pub values: Vec<(String, f64)>,
    /// Set when METEOR ran with exact + stem matching only ([`METEOR_APPROX_NOTE`]).
    pub meteor_note: Option<String>,
    /// sacreBLEU's signature of the `sacrebleu` value.
    pub sacrebleu_signature: String,
    /// Bootstrap intervals, when asked for.
    pub bootstrap: Option<BootstrapIntervals>,
    /// Paired tests against system B, when one was given.
    pub compare: Option<Comparison>,
    /// Wall-clock seconds of each stage, in the order run, when asked for.
    pub seconds: Option<Vec<(String, f64)>>,
    /// Per-sample scores of system A.
    pub per_sample: PerSample,
}

impl Evaluation {
    /// A value by name.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// A value's bootstrap interval by name.
    pub fn interval(&self, name: &str) -> Option<Interval> {
        self.bootstrap
            .as_ref()?
            .intervals
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.interval)
    }

    /// A value's paired-permutation p-value against system B by name.
    pub fn p_value(&self, name: &str) -> Option<f64> {
        self.compare
            .as_ref()?
            .permutation
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.p_value)
    }

    /// The evaluation as one JSON object: every value by name, `samples`,
    /// `sacrebleu_signature`, `meteor_note` (exact + stem METEOR only), `ci`
    /// (`{name: {lower, upper}}`) and `bootstrap` (`{resamples, confidence, seed}`) after a
    /// bootstrap, `p_value`, `p_value_paired_bootstrap` and `compare` (`{file, resamples,
    /// metrics: {name: {b, delta, delta_lower, delta_upper}}}`) with a system B, and
    /// `seconds` with timings.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (name, v) in &self.values {
            out.insert(name.clone(), json!(v));
        }
        out.insert("samples".into(), json!(self.samples));
        out.insert(
            "sacrebleu_signature".into(),
            json!(self.sacrebleu_signature),
        );
        if let Some(note) = &self.meteor_note {
            out.insert("meteor_note".into(), json!(note));
        }
        if let Some(b) = &self.bootstrap {
            let ci: Map<String, Value> = b
                .intervals
                .iter()
                .map(|r| {
                    let i = r.interval;
                    (r.name.clone(), json!({"lower": i.lower, "upper": i.upper}))
                })
                .collect();
            out.insert("ci".into(), Value::Object(ci));
            out.insert(
                "bootstrap".into(),
                json!({"resamples": b.resamples, "confidence": b.confidence, "seed": b.seed}),
            );
        }
        if let Some(c) = &self.compare {
            let mut p = Map::new();
            let mut pb = Map::new();
            let mut metrics = Map::new();
            for (x, y) in c.permutation.iter().zip(&c.bootstrap) {
                p.insert(x.name.clone(), json!(x.p_value));
                pb.insert(y.name.clone(), json!(y.p_value));
                metrics.insert(
                    x.name.clone(),
                    json!({
                        "b": x.b,
                        "delta": y.delta.point,
                        "delta_lower": y.delta.lower,
                        "delta_upper": y.delta.upper
                    }),
                );
            }
            out.insert("p_value".into(), Value::Object(p));
            out.insert("p_value_paired_bootstrap".into(), Value::Object(pb));
            out.insert(
                "compare".into(),
                json!({"file": c.file, "resamples": c.resamples, "metrics": metrics}),
            );
        }
        if let Some(seconds) = &self.seconds {
            let s: Map<String, Value> =
                seconds.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            out.insert("seconds".into(), Value::Object(s));
        }
        Value::Object(out)
    }

    /// Writes the per-sample scores as CSV (`id`, then one column per
    /// [`PerSample::names`]), replacing `path` atomically.
    ///
    /// # Errors
    /// [`MetricsError::Io`] when the file cannot be written.
    pub fn write_per_sample_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        table::write_per_sample_csv(path.as_ref(), &self.per_sample)
    }
}

impl Serialize for Evaluation {
    /// As [`Evaluation::to_json`].
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Scores system A (`hyps`) against `refs`, and system B (`compare`) when given, with every
/// metric of [`MetricSuite`] plus `models`; reports are joined on ids
/// ([`ReportSet::aligned_to`]).
///
/// # Errors
/// [`MetricsError::TooManyResamples`] and [`MetricsError::Input`] for bad resampling
/// settings (checked first), for an exact + stem METEOR scorer without
/// [`EvaluateOptions::meteor_approx`], for an empty corpus and for a model metric that does
/// not return one value per sample; [`MetricsError::UnmatchedIds`] when the ids differ;
/// whatever a model metric reports.
pub fn evaluate(
    refs: &ReportSet,
    hyps: &ReportSet,
    compare: Option<&ReportSet>,
    meteor: &Meteor,
    models: &[&dyn ModelMetric],
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    options.validate(compare.is_some())?;
    if meteor.mode() == MeteorMode::ExactStem && !options.meteor_approx {
        return Err(MetricsError::Input(
            "the METEOR scorer has no synonym/paraphrase data; load it with \
             MeteorSource::Locate, or ask for exact + stem matching with meteor_approx"
                .into(),
        ));
    }
    for set in [Some(refs), Some(hyps), compare].into_iter().flatten() {
        if set.is_empty() {
            return Err(MetricsError::EmptyCorpus {
                what: set.path().display().to_string(),
            });
        }
    }
    let corpus = Corpus::single(hyps.aligned_to(refs)?, refs.texts())?;
    let config = SuiteConfig {
        tokenize: options.tokenize,
        cider_df: options.cider_df,
    };
    let mut seconds: Vec<(String, f64)> = Vec::new();
    let clock = Instant::now();
    let mut a = MetricSuite::score(&corpus, meteor, &config).map_err(|e| with_id(e, refs))?;
    seconds.extend(a.seconds.iter().cloned());
    seconds.push(("score_all_metrics".into(), clock.elapsed().as_secs_f64()));
    let clock = Instant::now();
    add_models(&corpus, models, &mut a, refs)?;
    check_finite(&a)?;
    if !models.is_empty() {
        seconds.push(("model_metrics".into(), clock.elapsed().as_secs_f64()));
    }

    let bootstrap = match options.bootstrap_config() {
        Some(cfg) => {
            let clock = Instant::now();
            let intervals = significance::bootstrap(&a.metrics(), &cfg)?;
            seconds.push(("bootstrap".into(), clock.elapsed().as_secs_f64()));
            Some(BootstrapIntervals {
                resamples: cfg.resamples,
                confidence: cfg.confidence,
                seed: cfg.seed,
                intervals,
            })
        }
        None => None,
    };

    let compare = match compare {
        Some(b_reports) => {
            let corpus_b = corpus.with_hyps(b_reports.aligned_to(refs)?)?;
            let mut b =
                MetricSuite::score(&corpus_b, meteor, &config).map_err(|e| with_id(e, refs))?;
            add_models(&corpus_b, models, &mut b, refs)?;
            check_finite(&b)?;
            let cfg = options.compare_config();
            let clock = Instant::now();
            let permutation = a.paired_permutation(&b, &cfg)?;
            seconds.push(("paired_permutation".into(), clock.elapsed().as_secs_f64()));
            let clock = Instant::now();
            let bootstrap = a.paired_bootstrap(&b, &cfg)?;
            seconds.push(("paired_bootstrap".into(), clock.elapsed().as_secs_f64()));
            Some(Comparison {
                file: b_reports.path().display().to_string(),
                resamples: cfg.resamples,
                permutation,
                bootstrap,
            })
        }
        None => None,
    };

    Ok(Evaluation {
        samples: corpus.len(),
        values: a.scores(),
        meteor_note: (a.meteor.mode == MeteorMode::ExactStem).then(|| METEOR_APPROX_NOTE.into()),
        sacrebleu_signature: crate::sacrebleu::signature(&corpus),
        bootstrap,
        compare,
        seconds: options.timings.then_some(seconds),
        per_sample: per_sample(&a, refs),
    })
}

/// Names the report of a refused METEOR pair by its id (the library knows positions only).
fn with_id(e: MetricsError, refs: &ReportSet) -> MetricsError {
    match e {
        MetricsError::MeteorSegmentTooLarge {
            sample,
            id: None,
            hyp_words,
            ref_words,
            limit,
        } => MetricsError::MeteorSegmentTooLarge {
            sample,
            id: refs.reports().get(sample).map(|(id, _)| id.clone()),
            hyp_words,
            ref_words,
            limit,
        },
        other => other,
    }
}

/// Refuses NaN or infinite corpus values: the text metrics never produce them from valid
/// input, so one means a fault that must not be reported as a score.
fn check_finite(suite: &MetricSuite) -> Result<()> {
    match suite.scores().into_iter().find(|(_, v)| !v.is_finite()) {
        Some((metric, value)) => Err(MetricsError::NonFinite {
            metric,
            at: "corpus".into(),
            value,
        }),
        None => Ok(()),
    }
}

/// Scores `corpus` with every model metric into `suite`, checking each returns one finite
/// value per sample (a model's NaN would otherwise vanish into a NaN mean and interval).
fn add_models(
    corpus: &Corpus,
    models: &[&dyn ModelMetric],
    suite: &mut MetricSuite,
    refs: &ReportSet,
) -> Result<()> {
    for m in models {
        let metric = m.score(corpus)?;
        if metric.len() != corpus.len() {
            return Err(MetricsError::Input(format!(
                "model metric {:?} returned {} values for {} samples",
                metric.names(),
                metric.len(),
                corpus.len()
            )));
        }
        for (k, name) in metric.names().into_iter().enumerate() {
            let col = metric.column(k);
            if let Some(i) = col.iter().position(|v| !v.is_finite()) {
                let id = refs.reports().get(i).map_or("?", |(id, _)| id.as_str());
                return Err(MetricsError::NonFinite {
                    metric: name,
                    at: format!("{} id {id:?}", refs.path().display()),
                    value: col[i],
                });
            }
        }
        suite.add_model_metric(metric);
    }
    Ok(())
}

/// The per-sample columns of `suite`: pycocoevalcap BLEU-1..4 per sentence (its
/// `compute_score` second value), METEOR per segment, ROUGE-L, CIDEr-D, rouge-score F and
/// every model metric. sacreBLEU is corpus-level only (its sentence BLEU is another metric).
fn per_sample(suite: &MetricSuite, refs: &ReportSet) -> PerSample {
    let mut names = Vec::new();
    let mut columns = Vec::new();
    let bleu = suite.bleu.per_sample();
    for n in 0..4 {
        names.push(format!("bleu_{}", n + 1));
        columns.push(bleu.iter().map(|b| b[n]).collect());
    }
    names.push("meteor".into());
    columns.push(suite.meteor.per_sample.clone());
    push_mean(&mut names, &mut columns, &suite.rouge_l);
    names.push("cider_d".into());
    columns.push(suite.cider_d.per_sample().to_vec());
    push_mean(&mut names, &mut columns, &suite.rouge_score);
    for m in &suite.model_metrics {
        push_mean(&mut names, &mut columns, m);
    }
    PerSample {
        ids: refs.reports().iter().map(|(id, _)| id.clone()).collect(),
        names,
        columns,
    }
}

fn push_mean(names: &mut Vec<String>, columns: &mut Vec<Vec<f64>>, m: &MeanMetric) {
    for (k, name) in m.names().into_iter().enumerate() {
        names.push(name);
        columns.push(m.column(k).to_vec());
    }
}

/// The files of one evaluation and where METEOR's data are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluateFiles {
    /// Reference reports.
    pub refs: PathBuf,
    /// System A's generated reports.
    pub hyps: PathBuf,
    /// System B's generated reports, for paired tests.
    pub compare: Option<PathBuf>,
    /// Columns of the reference file.
    pub ref_columns: ReportColumns,
    /// Columns of the generated-report files (A and B).
    pub hyp_columns: ReportColumns,
    /// METEOR's data directory (`None`: [`MeteorResources::locate`](crate::meteor::MeteorResources::locate));
    /// ignored with [`EvaluateOptions::meteor_approx`].
    pub meteor_dir: Option<PathBuf>,
}

impl EvaluateFiles {
    /// References and system A's reports, columns picked automatically, METEOR's data
    /// located.
    pub fn new(refs: impl Into<PathBuf>, hyps: impl Into<PathBuf>) -> Self {
        Self {
            refs: refs.into(),
            hyps: hyps.into(),
            compare: None,
            ref_columns: ReportColumns::default(),
            hyp_columns: ReportColumns::default(),
            meteor_dir: None,
        }
    }

    /// Where the METEOR scorer comes from under `options`.
    pub fn meteor_source(&self, options: &EvaluateOptions) -> MeteorSource {
        match (&self.meteor_dir, options.meteor_approx) {
            (_, true) => MeteorSource::ExactStemOnly,
            (Some(dir), false) => MeteorSource::Dir(dir.clone()),
            (None, false) => MeteorSource::Locate,
        }
    }
}

/// [`evaluate`] from files: validates the settings, reads the reports, loads METEOR (timed
/// as `load_meteor_data`) and scores.
///
/// # Errors
/// As [`evaluate`], [`ReportSet::read`] and [`MeteorSource::load`].
pub fn evaluate_files(
    files: &EvaluateFiles,
    models: &[&dyn ModelMetric],
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    options.validate(files.compare.is_some())?;
    let refs = ReportSet::read(&files.refs, &files.ref_columns)?;
    let hyps = ReportSet::read(&files.hyps, &files.hyp_columns)?;
    let compare = files
        .compare
        .as_ref()
        .map(|p| ReportSet::read(p, &files.hyp_columns))
        .transpose()?;
    let clock = Instant::now();
    let meteor = files.meteor_source(options).load()?;
    let load = clock.elapsed().as_secs_f64();
    let mut evaluation = evaluate(&refs, &hyps, compare.as_ref(), &meteor, models, options)?;
    if let Some(seconds) = &mut evaluation.seconds {
        seconds.insert(0, ("load_meteor_data".into(), load));
    }
    Ok(evaluation)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model metric whose per-sample value is the hypothesis length in characters / 100.
    struct Length;

    impl ModelMetric for Length {
        fn score(&self, corpus: &Corpus) -> Result<MeanMetric> {
            let col = corpus.hyps.iter().map(|h| h.len() as f64 / 100.0).collect();
            MeanMetric::new(vec!["length".into()], vec![col])
        }
    }

    /// Reports `s0`, `s1`, … with these texts, named `label`.
    pub(super) fn set(label: &str, texts: &[&str]) -> ReportSet {
        ReportSet::new(
            label,
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("s{i}"), t.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn meteor_approx_must_be_asked_for() {
        let refs = set("r", &["No effusion."]);
        let meteor = Meteor::exact_stem_only();
        let e = evaluate(
            &refs,
            &refs,
            None,
            &meteor,
            &[],
            &EvaluateOptions::default(),
        );
        assert!(matches!(e, Err(MetricsError::Input(_))), "{e:?}");
        let options = EvaluateOptions {
            meteor_approx: true,
            ..Default::default()
        };
        let ev = evaluate(&refs, &refs, None, &meteor, &[], &options).unwrap();
        assert_eq!(ev.meteor_note.as_deref(), Some(METEOR_APPROX_NOTE));
        assert_eq!(ev.to_json()["meteor_note"], json!(METEOR_APPROX_NOTE));
    }

    #[test]
    fn resample_limits_are_checked_before_scoring() {
        let refs = set("r", &["a"]);
        let options = EvaluateOptions {
            bootstrap: Some(significance::MAX_RESAMPLES + 1),
            meteor_approx: true,
            ..Default::default()
        };
        let e = evaluate(
            &refs,
            &refs,
            None,
            &Meteor::exact_stem_only(),
            &[],
            &options,
        );
        assert!(
            matches!(e, Err(MetricsError::TooManyResamples { .. })),
            "{e:?}"
        );
        let options = EvaluateOptions {
            compare_resamples: Some(2_000_000),
            meteor_approx: true,
            ..Default::default()
        };
        assert!(options.validate(false).is_ok());
        assert!(matches!(
            options.validate(true),
            Err(MetricsError::TooManyResamples {
                requested: 2_000_000,
                ..
            })
        ));
    }

    #[test]
    fn model_metric_with_wrong_length_is_refused() {
        struct Short;
        impl ModelMetric for Short {
            fn score(&self, _: &Corpus) -> Result<MeanMetric> {
                MeanMetric::new(vec!["x".into()], vec![vec![1.0]])
            }
        }
        let refs = set("r", &["a", "b"]);
        let options = EvaluateOptions {
            meteor_approx: true,
            ..Default::default()
        };
        let e = evaluate(
            &refs,
            &refs,
            None,
            &Meteor::exact_stem_only(),
            &[&Short],
            &options,
        );
        assert!(matches!(e, Err(MetricsError::Input(_))), "{e:?}");
        let ev = evaluate(
            &refs,
            &refs,
            None,
            &Meteor::exact_stem_only(),
            &[&Length],
            &options,
        )
        .unwrap();
        assert_eq!(ev.value("length"), Some(0.01));
        assert_eq!(
            ev.per_sample.names.last().map(String::as_str),
            Some("length")
        );
    }

    /// [`evaluate`] with exact + stem METEOR and default options otherwise.
    fn approx(
        refs: &ReportSet,
        hyps: &ReportSet,
        compare: Option<&ReportSet>,
        models: &[&dyn ModelMetric],
    ) -> Result<Evaluation> {
        let options = EvaluateOptions {
            meteor_approx: true,
            ..Default::default()
        };
        evaluate(
            refs,
            hyps,
            compare,
            &Meteor::exact_stem_only(),
            models,
            &options,
        )
    }

    #[test]
    fn nan_from_a_model_metric_is_refused_naming_the_report() {
        struct Nan;
        impl ModelMetric for Nan {
            fn score(&self, c: &Corpus) -> Result<MeanMetric> {
                let mut col = vec![0.5; c.len()];
                col[1] = f64::NAN;
                MeanMetric::new(vec!["fake".into()], vec![col])
            }
        }
        let refs = set("r", &["a", "b", "c"]);
        match approx(&refs, &refs, None, &[&Nan]) {
            Err(MetricsError::NonFinite { metric, at, value }) => {
                assert_eq!(metric, "fake");
                assert!(value.is_nan());
                assert!(at.contains(&format!("{:?}", refs.reports()[1].0)), "{at}");
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }

    #[test]
    fn empty_reports_are_refused() {
        let empty = set("empty.txt", &[]);
        let full = set("full.txt", &["a"]);
        for (r, h) in [(&empty, &full), (&full, &empty), (&empty, &empty)] {
            let e = approx(r, h, None, &[]);
            assert!(
                matches!(&e, Err(MetricsError::EmptyCorpus { what }) if what == "empty.txt"),
                "{e:?}"
            );
        }
        let e = approx(&full, &full, Some(&empty), &[]);
        assert!(matches!(e, Err(MetricsError::EmptyCorpus { .. })), "{e:?}");
    }

    #[test]
    fn refused_meteor_segment_names_the_report_id() {
        // 4 KB, far under the report limit, but one word repeated: 2100² candidates.
        let long = vec!["x"; 2100].join(" ");
        let refs = ReportSet::new(
            "r",
            vec![("a".into(), "ok".into()), ("b7".into(), long.clone())],
        )
        .unwrap();
        let e = approx(&refs, &refs, None, &[]).unwrap_err();
        assert!(
            matches!(&e, MetricsError::MeteorSegmentTooLarge { sample: 1, id: Some(id), .. } if id == "b7"),
            "{e:?}"
        );
        assert!(e.to_string().contains("\"b7\""), "{e}");
    }
}
