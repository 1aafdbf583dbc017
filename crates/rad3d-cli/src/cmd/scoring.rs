//! The scoring flags `rad3d evaluate` and `rad3d compare` share (columns, tokenization,
//! resampling seed, METEOR data, BERTScore, GREEN, device), their checks, and the
//! model-based metrics they load.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rad3d_prefix::metrics::coco::DfMode;
use rad3d_prefix::metrics::evaluation::{EvaluateOptions, ModelMetric};
use rad3d_prefix::metrics::reports::ReportColumns;
use rad3d_prefix::metrics::text::Tokenize;

use crate::device::DeviceChoice;
use crate::outcome::{UsageError, usage};

/// How reports are read and scored.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ScoringArgs {
    /// Id column of CSV/JSONL inputs (default: found by name, e.g. `VolumeName`).
    #[arg(long)]
    pub(crate) id_column: Option<String>,
    /// Text column of the references (default: found by name, e.g. `Findings_EN`).
    #[arg(long)]
    pub(crate) text_column: Option<String>,
    /// Text column of the generated reports (default: found by name, e.g. `generated`).
    #[arg(long)]
    pub(crate) hyp_text_column: Option<String>,
    /// Tokenization for the pycocoevalcap metrics: `none` (text as given) or `basic`.
    #[arg(long, default_value = "basic")]
    pub(crate) tokenize: String,
    /// Seed of all resampling.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// CIDEr-D document frequencies under resampling: `corpus` (recomputed per resample, as
    /// pycocoevalcap would on that corpus) or `fixed` (those of the full corpus).
    #[arg(long, default_value = "corpus")]
    pub(crate) cider_df: String,
    /// METEOR data folder (default: $RAD3D_ASSETS/meteor, then the per-user data folder,
    /// then the checkout's target/assets/meteor; missing data is an error).
    #[arg(long)]
    pub(crate) meteor_dir: Option<PathBuf>,
    /// Score METEOR with exact + stem matching only (not METEOR 1.5; said in the output).
    #[arg(long, conflicts_with = "meteor_dir")]
    pub(crate) meteor_approx: bool,
    /// BERTScore model folder (HF BERT/RoBERTa: config.json, model.safetensors,
    /// tokenizer.json).
    #[arg(long)]
    pub(crate) bertscore: Option<PathBuf>,
    /// BERTScore: hidden layer (1-based, as bert-score's `num_layers`; default the last).
    #[arg(long, requires = "bertscore")]
    pub(crate) bertscore_layer: Option<usize>,
    /// BERTScore: idf weighting from the references (bert-score's `idf=True`).
    #[arg(long, requires = "bertscore")]
    pub(crate) idf: bool,
    /// BERTScore: rescale with baselines from this bert-score baseline file (`.tsv`).
    #[arg(long, requires = "bertscore")]
    pub(crate) baseline: Option<PathBuf>,
    /// GREEN judge model (folder or GGUF; needs a build with `--features green`).
    #[arg(long)]
    pub(crate) green: Option<PathBuf>,
    /// Add wall-clock seconds of each stage to the output.
    #[arg(long)]
    pub(crate) timings: bool,
    /// Where BERTScore and GREEN run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub(crate) device: DeviceChoice,
}

impl ScoringArgs {
    /// Refuses model metrics this build lacks, with the command that builds them.
    pub(crate) fn check_features(&self) -> Result<()> {
        if cfg!(not(feature = "bertscore")) && self.bertscore.is_some() {
            return usage(
                "--bertscore: this rad3d was built without BERTScore; build it with the default \
                 features (`cargo install --path crates/rad3d-cli`)",
            );
        }
        if cfg!(not(feature = "green")) && self.green.is_some() {
            return usage(
                "--green: this rad3d was built without GREEN; build it with \
                 `cargo install --path crates/rad3d-cli --features green`",
            );
        }
        Ok(())
    }

    /// The library's options for these flags, with the given resampling.
    pub(crate) fn options(
        &self,
        bootstrap: Option<usize>,
        compare_resamples: Option<usize>,
    ) -> Result<EvaluateOptions> {
        let tokenize: Tokenize = self
            .tokenize
            .parse()
            .map_err(|e| UsageError(format!("--tokenize: {e}")))?;
        let cider_df = match self.cider_df.as_str() {
            "corpus" => DfMode::Corpus,
            "fixed" => DfMode::Fixed,
            other => {
                return usage(format!(
                    "--cider-df must be `corpus` or `fixed`, got {other:?}"
                ));
            }
        };
        Ok(EvaluateOptions {
            tokenize,
            cider_df,
            bootstrap,
            compare_resamples,
            seed: self.seed,
            confidence: 0.95,
            timings: self.timings,
            meteor_approx: self.meteor_approx,
        })
    }

    /// Columns of the reference file.
    pub(crate) fn ref_columns(&self) -> ReportColumns {
        ReportColumns {
            id: self.id_column.clone(),
            text: self.text_column.clone(),
        }
    }

    /// Columns of the generated-report files.
    pub(crate) fn hyp_columns(&self) -> ReportColumns {
        ReportColumns {
            id: self.id_column.clone(),
            text: self.hyp_text_column.clone(),
        }
    }
}

/// The model-based metrics asked for, loaded on `B`.
pub(crate) struct Models<B: Backend> {
    #[cfg(feature = "bertscore")]
    bertscore: Option<(
        rad3d_prefix::metrics::bertscore::BertScorer<B>,
        rad3d_prefix::metrics::bertscore::BertScoreOptions,
    )>,
    #[cfg(feature = "green")]
    green: Option<rad3d_prefix::metrics::green::Green<B>>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: Backend> Models<B> {
    /// Loads the models `args` names on `device`.
    #[cfg_attr(
        not(any(feature = "bertscore", feature = "green")),
        allow(unused_variables)
    )]
    pub(crate) fn load(args: &ScoringArgs, device: &B::Device) -> Result<Self> {
        Ok(Self {
            #[cfg(feature = "bertscore")]
            bertscore: match &args.bertscore {
                Some(dir) => {
                    use rad3d_prefix::metrics::bertscore::{
                        Baseline, BertScoreOptions, BertScorer,
                    };
                    let scorer = BertScorer::load(dir, args.bertscore_layer, device)
                        .with_context(|| format!("loading BERTScore model {}", dir.display()))?;
                    let baseline = match &args.baseline {
                        Some(path) => Some(Baseline::from_file(path, scorer.layer())?),
                        None => None,
                    };
                    Some((
                        scorer,
                        BertScoreOptions {
                            idf: args.idf,
                            baseline,
                        },
                    ))
                }
                None => None,
            },
            #[cfg(feature = "green")]
            green: match &args.green {
                Some(judge) => Some(
                    rad3d_prefix::metrics::green::Green::new(judge, device)
                        .with_context(|| format!("loading GREEN judge {}", judge.display()))?,
                ),
                None => None,
            },
            _backend: std::marker::PhantomData,
        })
    }

    /// Calls `f` with the loaded metrics, as the library takes them.
    pub(crate) fn with_providers<R>(&self, f: impl FnOnce(&[&dyn ModelMetric]) -> R) -> R {
        #[cfg(feature = "bertscore")]
        let bertscore = self.bertscore.as_ref().map(|(scorer, options)| {
            rad3d_prefix::metrics::evaluation::BertScoreWith {
                scorer,
                options: options.clone(),
            }
        });
        #[allow(unused_mut)]
        let mut providers: Vec<&dyn ModelMetric> = Vec::new();
        #[cfg(feature = "bertscore")]
        if let Some(b) = &bertscore {
            providers.push(b);
        }
        #[cfg(feature = "green")]
        if let Some(g) = &self.green {
            providers.push(g);
        }
        f(&providers)
    }
}
