//! Report-generation metrics exact to the reference tools (BLEU, METEOR, ROUGE,
//! CIDEr-D, sacreBLEU, BERTScore, GREEN) with bootstrap confidence intervals.
//!
//! Every metric names the implementation it reproduces:
//! - [`coco`]: pycocoevalcap corpus BLEU-1..4 (`option="closest"`), ROUGE-L (β = 1.2) and
//!   CIDEr-D, on whitespace tokens of the given text; METEOR 1.5 in [`meteor`];
//! - [`rouge_score`]: Google rouge-score ROUGE-1/2/L/Lsum with its tokenizer and NLTK's
//!   Porter stemmer;
//! - [`sacrebleu`]: sacreBLEU corpus BLEU (13a tokenizer, exp smoothing);
//! - [`classification`]: confusion counts, precision/recall/F1/accuracy and AUROC on plain
//!   slices (the workspace's one definition);
//! - [`clinical`]: clinical efficacy (per-label, macro and micro P/R/F1);
//! - [`suite`]: the paper's metric suite in one call ([`MetricSuite`]), with bootstrap CIs and
//!   paired tests; [`reports`] reads report files (`.txt`, `.csv`, `.jsonl`) for it;
//! - [`evaluation`]: the whole evaluation job in one call ([`evaluation::evaluate`]): report
//!   files joined on ids, every metric with bootstrap CIs and paired tests against a second
//!   system, one JSON object, the paper's table, per-sample scores and an interval chart;
//! - [`significance`]: bootstrap CIs and paired tests re-aggregating corpus metrics from
//!   per-sample statistics ([`CorpusMetric`]).
//!
//! Without features the crate has no Burn dependency.
//!
//! ```no_run
//! use rad3d_metrics::{Corpus, CorpusMetric, coco, significance};
//! # fn main() -> rad3d_metrics::Result<()> {
//! let corpus = Corpus::single(
//!     vec!["no pleural effusion .".into()],
//!     vec!["there is no pleural effusion .".into()],
//! )?;
//! let bleu = coco::CocoBleu::new(&corpus);
//! let cider = coco::CiderD::new(&corpus);
//! println!("BLEU-4 {:.4}", bleu.score()[3]);
//! let cis = significance::bootstrap(&[&bleu, &cider], &Default::default())?;
//! println!("{cis:?}");
//! # Ok(()) }
//! ```

#[cfg(feature = "bertscore")]
pub mod bertscore;
pub mod classification;
pub mod clinical;
pub mod coco;
pub mod corpus;
pub mod error;
pub mod evaluation;
#[cfg(feature = "green")]
pub mod green;
mod hash;
mod lcs;
pub mod meteor;
mod ngram;
pub mod porter;
pub mod reports;
pub mod rouge_score;
pub mod sacrebleu;
pub mod significance;
pub mod suite;
pub mod text;

/// The BERTScore encoder, also reachable as [`bertscore::encoder`].
#[cfg(feature = "bertscore")]
pub use bertscore::encoder as bert;
pub use classification::{Confusion, auroc};
pub use corpus::{Corpus, CorpusMetric, MeanMetric, Pairable};
pub use error::{MetricsError, Result};
pub use evaluation::{EvaluateOptions, Evaluation, ModelMetric, evaluate};
pub use suite::{MetricSuite, SuiteConfig, SuiteResult};
