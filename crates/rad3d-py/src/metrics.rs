//! The metric bindings: the whole `rad3d evaluate` job ([`evaluate`]) and the
//! per-scorer functions and classes behind the drop-in pycocoevalcap / rouge-score classes
//! of `rad3d.metrics`. Each scores with the GIL released.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use rad3d_metrics::coco::{CiderD, CocoBleu, DfMode, coco_rouge_l};
use rad3d_metrics::evaluation::{EvaluateOptions, evaluate as evaluate_reports};
use rad3d_metrics::meteor::{Meteor, MeteorSource};
use rad3d_metrics::reports::ReportSet;
use rad3d_metrics::rouge_score::{self, RougeType};
use rad3d_metrics::{Corpus, CorpusMetric};

use crate::error::{input, to_py};
use crate::json::to_python;

/// Registers the metric functions and classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(coco_bleu, m)?)?;
    m.add_function(wrap_pyfunction!(coco_rouge, m)?)?;
    m.add_function(wrap_pyfunction!(coco_cider, m)?)?;
    m.add_class::<MeteorScorer>()?;
    m.add_class::<RougeScorer>()?;
    Ok(())
}

/// METEOR scorers already loaded, by source: loading the paraphrase table takes a while and
/// the data never change within a process.
static METEORS: Mutex<Vec<(MeteorSource, Arc<Meteor>)>> = Mutex::new(Vec::new());

/// The METEOR scorer of `meteor_dir` / `approx`, located as `rad3d evaluate` does
/// (`$RAD3D_ASSETS/meteor`, the per-user data folder, the checkout's `target/assets/meteor`).
fn meteor_for(meteor_dir: Option<PathBuf>, approx: bool) -> PyResult<Arc<Meteor>> {
    let source = match (meteor_dir, approx) {
        (_, true) => MeteorSource::ExactStemOnly,
        (Some(dir), false) => MeteorSource::Dir(dir),
        (None, false) => MeteorSource::Locate,
    };
    let mut cache = METEORS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, m)) = cache.iter().find(|(s, _)| *s == source) {
        return Ok(Arc::clone(m));
    }
    let meteor = Arc::new(source.load().map_err(to_py)?);
    cache.push((source, Arc::clone(&meteor)));
    Ok(meteor)
}

/// `(id, text)` reports as a [`ReportSet`] labelled `label` (its name in errors and in the
/// output's `compare.file`).
fn report_set(label: &str, reports: Vec<(String, String)>) -> PyResult<ReportSet> {
    ReportSet::new(label, reports).map_err(to_py)
}

/// The whole `rad3d evaluate` job on in-memory reports; returns what `json.loads` makes of
/// `rad3d evaluate --json` on the same reports and settings.
#[pyfunction]
#[pyo3(signature = (
    refs, hyps, compare=None, *, tokenize="basic", bootstrap=None, resamples=None, seed=0,
    confidence=0.95, cider_df="corpus", meteor_dir=None, meteor_approx=false, timings=false,
    compare_label="compare"
))]
#[allow(clippy::too_many_arguments)]
fn evaluate<'py>(
    py: Python<'py>,
    refs: Vec<(String, String)>,
    hyps: Vec<(String, String)>,
    compare: Option<Vec<(String, String)>>,
    tokenize: &str,
    bootstrap: Option<usize>,
    resamples: Option<usize>,
    seed: u64,
    confidence: f64,
    cider_df: &str,
    meteor_dir: Option<PathBuf>,
    meteor_approx: bool,
    timings: bool,
    compare_label: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let cider_df = match cider_df {
        "corpus" => DfMode::Corpus,
        "fixed" => DfMode::Fixed,
        other => {
            return Err(input(format!(
                "cider_df must be \"corpus\" or \"fixed\", got {other:?}"
            )));
        }
    };
    let options = EvaluateOptions {
        tokenize: tokenize.parse().map_err(to_py)?,
        cider_df,
        bootstrap,
        compare_resamples: resamples,
        seed,
        confidence,
        timings,
        meteor_approx,
    };
    options.validate(compare.is_some()).map_err(to_py)?;
    let refs = report_set("refs", refs)?;
    let hyps = report_set("hyps", hyps)?;
    let compare = compare.map(|c| report_set(compare_label, c)).transpose()?;
    let evaluation = py.detach(|| {
        let meteor = meteor_for(meteor_dir, meteor_approx)?;
        evaluate_reports(&refs, &hyps, compare.as_ref(), &meteor, &[], &options).map_err(to_py)
    })?;
    to_python(py, &evaluation.to_json())
}

/// A corpus of one hypothesis and one or more references per sample.
fn corpus(refs: Vec<Vec<String>>, hyps: Vec<String>) -> PyResult<Corpus> {
    Corpus::new(hyps, refs).map_err(to_py)
}

/// pycocoevalcap `Bleu(n)`: corpus BLEU-1..n and per-sample BLEU-1..n (`option="closest"`).
#[pyfunction]
fn coco_bleu(
    py: Python<'_>,
    refs: Vec<Vec<String>>,
    hyps: Vec<String>,
    n: usize,
) -> PyResult<(Vec<f64>, Vec<Vec<f64>>)> {
    if !(1..=4).contains(&n) {
        return Err(input(format!("Bleu(n): n must be 1 to 4, got {n}")));
    }
    let corpus = corpus(refs, hyps)?;
    Ok(py.detach(|| {
        let bleu = CocoBleu::new(&corpus);
        let score = bleu.score()[..n].to_vec();
        let per_sample = bleu.per_sample();
        let scores = (0..n)
            .map(|k| per_sample.iter().map(|s| s[k]).collect())
            .collect();
        (score, scores)
    }))
}

/// pycocoevalcap `Rouge`: per-sample ROUGE-L (β = 1.2); the corpus score is their mean.
#[pyfunction]
fn coco_rouge(py: Python<'_>, refs: Vec<Vec<String>>, hyps: Vec<String>) -> PyResult<Vec<f64>> {
    let corpus = corpus(refs, hyps)?;
    Ok(py.detach(|| coco_rouge_l(&corpus).column(0).to_vec()))
}

/// pycocoevalcap `Cider` (CIDEr-D): per-sample scores; the corpus score is their mean.
#[pyfunction]
fn coco_cider(py: Python<'_>, refs: Vec<Vec<String>>, hyps: Vec<String>) -> PyResult<Vec<f64>> {
    let corpus = corpus(refs, hyps)?;
    Ok(py.detach(|| CiderD::new(&corpus).per_sample().to_vec()))
}

/// pycocoevalcap `Meteor` (METEOR 1.5) without Java: the data are loaded once per process.
#[pyclass(module = "rad3d._rad3d", frozen)]
struct MeteorScorer {
    meteor: Arc<Meteor>,
}

#[pymethods]
impl MeteorScorer {
    /// Loads METEOR's data from `meteor_dir`, or locates it as `rad3d evaluate` does;
    /// `approx=True` scores exact + stem matches only (not METEOR 1.5).
    #[new]
    #[pyo3(signature = (meteor_dir=None, approx=false))]
    fn new(py: Python<'_>, meteor_dir: Option<PathBuf>, approx: bool) -> PyResult<Self> {
        let meteor = py.detach(|| meteor_for(meteor_dir, approx))?;
        Ok(Self { meteor })
    }

    /// Corpus METEOR and per-sample scores, as the jar's `EVAL` line.
    fn corpus(
        &self,
        py: Python<'_>,
        refs: Vec<Vec<String>>,
        hyps: Vec<String>,
    ) -> PyResult<(f64, Vec<f64>)> {
        // The same checks as every other scorer (one hypothesis, at least one reference).
        let corpus = corpus(refs, hyps)?;
        py.detach(|| {
            let pairs: Vec<(Vec<&str>, &str)> = corpus
                .refs
                .iter()
                .zip(&corpus.hyps)
                .map(|(rs, h)| (rs.iter().map(String::as_str).collect(), h.as_str()))
                .collect();
            let result = self.meteor.corpus(&pairs).map_err(to_py)?;
            Ok((result.score, result.per_sample))
        })
    }

    /// Whether synonym and paraphrase matching are on (full METEOR 1.5).
    #[getter]
    fn full(&self) -> bool {
        self.meteor.mode() == rad3d_metrics::meteor::MeteorMode::Full
    }
}

/// rouge-score's `RougeScorer`: precision, recall and F per type.
#[pyclass(module = "rad3d._rad3d")]
struct RougeScorer {
    scorer: rouge_score::RougeScorer,
}

/// rouge-score's type names: `rouge1` … `rouge9` (any order ≥ 1), `rougeL`, `rougeLsum`.
fn rouge_type(name: &str) -> PyResult<RougeType> {
    match name {
        "rougeL" => Ok(RougeType::L),
        "rougeLsum" => Ok(RougeType::Lsum),
        _ => name
            .strip_prefix("rouge")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n >= 1)
            .map(RougeType::N)
            .ok_or_else(|| input(format!("Invalid rouge type: {name}"))),
    }
}

type Scores = Vec<(f64, f64, f64)>;

fn triples(prfs: Vec<rouge_score::Prf>) -> Scores {
    prfs.into_iter()
        .map(|p| (p.precision, p.recall, p.fmeasure))
        .collect()
}

#[pymethods]
impl RougeScorer {
    /// A scorer for `types` (e.g. `["rouge1", "rouge2", "rougeL"]`), with NLTK's Porter
    /// stemmer when `use_stemmer`.
    #[new]
    #[pyo3(signature = (types, use_stemmer=false))]
    fn new(types: Vec<String>, use_stemmer: bool) -> PyResult<Self> {
        let types = types
            .iter()
            .map(|t| rouge_type(t))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            scorer: rouge_score::RougeScorer::new(&types, use_stemmer),
        })
    }

    /// `(precision, recall, fmeasure)` per type of `prediction` against `target`.
    fn score(&mut self, py: Python<'_>, target: String, prediction: String) -> Scores {
        let scorer = &mut self.scorer;
        py.detach(|| triples(scorer.score(&target, &prediction)))
    }

    /// The best-F score per type over several targets (rouge-score's `score_multi`).
    fn score_multi(
        &mut self,
        py: Python<'_>,
        targets: Vec<String>,
        prediction: String,
    ) -> PyResult<Scores> {
        if targets.is_empty() {
            return Err(input("score_multi: no targets"));
        }
        let scorer = &mut self.scorer;
        Ok(py.detach(|| triples(scorer.score_multi(&targets, &prediction))))
    }

    /// [`Self::score`] of each `(target, prediction)` pair, in parallel.
    fn score_batch(
        &mut self,
        py: Python<'_>,
        targets: Vec<String>,
        predictions: Vec<String>,
    ) -> PyResult<Vec<Scores>> {
        let corpus = corpus(targets.into_iter().map(|t| vec![t]).collect(), predictions)?;
        let scorer = &mut self.scorer;
        let n_types = scorer.types().len();
        let metric = py.detach(|| scorer.corpus(&corpus));
        Ok((0..corpus.len())
            .map(|i| {
                (0..n_types)
                    .map(|t| {
                        (
                            metric.column(3 * t)[i],
                            metric.column(3 * t + 1)[i],
                            metric.column(3 * t + 2)[i],
                        )
                    })
                    .collect()
            })
            .collect())
    }

    /// The type names, in order.
    #[getter]
    fn rouge_types(&self) -> Vec<String> {
        self.scorer.types().iter().map(|t| t.name()).collect()
    }
}
