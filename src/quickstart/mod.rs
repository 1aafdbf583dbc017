//! The whole method on a synthetic cohort, with no downloads: chest phantoms with known
//! findings → real preprocessing → a small CT-ViT → anomaly classifier → a small
//! GPT-2-style LM pre-trained on the training reports, then frozen → V-1, V-2, V-3 and
//! the linear mapper trained and decoded greedily → BLEU-4, METEOR, ROUGE-L and
//! finding-level F1 with bootstrap CIs.
//!
//! [`run`] is what `cargo run --release --example quickstart` executes; the end-to-end
//! test runs it in [`QuickstartConfig::fast`] mode and asserts its results.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rad3d_llm::Llm;
use rad3d_metrics::meteor::{Meteor, MeteorResources};
use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer};
use rad3d_projector::Variant;
use rad3d_train::synthetic::{extract_findings, finding_f1};
use rad3d_train::{
    EncodedExample, Example, Silent, SkipCounts, Split, TrainConfig, encode_examples,
    generate_reports, train, write_reports_csv,
};
use serde::{Deserialize, Serialize};

use crate::error::Result;

mod classifier;
mod cohort;
mod ct_rate;
mod decoder;
mod inspect;
mod scoring;

use classifier::{ClassifierStage, classifier_stage};
use cohort::{FINDINGS, Study, cohort, encode_cohort, io, templates};
pub use cohort::{quickstart_encoder, quickstart_preprocess};
pub use ct_rate::write_ct_rate_layout;
pub use decoder::LM_DIR;
use decoder::pretrain_decoder;
pub use inspect::write_inspect_layout;
use scoring::{SystemScores, score_reports, trainable_params};

/// Settings of a quickstart run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickstartConfig {
    /// Where volumes, reports, metrics and plots go.
    pub out_dir: PathBuf,
    /// Seed of everything random (cohort, weights, data order).
    pub seed: u64,
    /// Training studies.
    pub n_train: usize,
    /// Validation studies (early model selection and validation loss).
    pub n_valid: usize,
    /// Test studies (reported metrics).
    pub n_test: usize,
    /// Epochs of pre-training the small LM on the training reports.
    pub lm_epochs: usize,
    /// Epochs of training each variant.
    pub variant_epochs: usize,
    /// Prefix length (the paper's default is 10).
    pub prefix_len: usize,
    /// Transformer-mapper layers (the paper's default is 8).
    pub mapper_layers: usize,
    /// Bootstrap resamples for the confidence intervals.
    pub bootstrap: usize,
    /// A pretrained model (HF directory or `.gguf`) to use as the frozen decoder instead of
    /// the small LM trained here.
    pub llm: Option<PathBuf>,
    /// Which variants to train, in order.
    pub variants: Vec<Variant>,
}

impl QuickstartConfig {
    /// The full demonstration (a few minutes on two CPU cores).
    pub fn standard(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            seed: 7,
            n_train: 320,
            n_valid: 48,
            n_test: 96,
            lm_epochs: 15,
            variant_epochs: 15,
            prefix_len: 10,
            mapper_layers: 2,
            bootstrap: 1000,
            llm: None,
            variants: vec![Variant::V1, Variant::V2, Variant::V3, Variant::Linear],
        }
    }

    /// A reduced run for tests: fewer studies and epochs, same stages.
    pub fn fast(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            n_train: 160,
            n_valid: 24,
            n_test: 48,
            lm_epochs: 10,
            variant_epochs: 15,
            bootstrap: 100,
            ..Self::standard(out_dir)
        }
    }
}

/// Scores of one variant on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    /// Parameters that received gradients.
    pub trainable_params: usize,
    /// Finding-level micro F1 of the generated reports.
    pub finding_f1: f64,
    /// Finding-level micro precision.
    pub finding_precision: f64,
    /// Finding-level micro recall.
    pub finding_recall: f64,
    /// pycocoevalcap corpus BLEU-4 on basic-tokenised text.
    pub bleu_4: f64,
    /// METEOR 1.5 corpus score.
    pub meteor: f64,
    /// pycocoevalcap ROUGE-L.
    pub rouge_l: f64,
    /// 95% bootstrap intervals `[low, high]` of the corpus metrics.
    pub ci: BTreeMap<String, [f64; 2]>,
    /// Validation loss after the last epoch.
    pub final_valid_loss: f64,
}

/// Everything a quickstart run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickstartReport {
    /// Per variant (`v1`, `v2`, `v3`, `linear`).
    pub variants: BTreeMap<String, VariantResult>,
    /// Macro AUROC of the anomaly classifier on the test split.
    pub classifier_macro_auroc: f64,
    /// Per-label AUROC of the anomaly classifier on the test split.
    pub classifier_auroc: BTreeMap<String, f64>,
    /// Finding names in label order.
    pub findings: Vec<String>,
    /// Which METEOR modules ran (`full` or the exact+stem fallback).
    pub meteor_mode: String,
    /// The settings of the run.
    pub config: QuickstartConfig,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs the quickstart; `progress` receives one line per stage.
pub fn run<B: AutodiffBackend>(
    config: &QuickstartConfig,
    device: &B::Device,
    progress: &mut dyn FnMut(&str),
) -> Result<QuickstartReport> {
    let start = Instant::now();
    std::fs::create_dir_all(&config.out_dir).map_err(io(&config.out_dir))?;
    let names: Vec<String> = FINDINGS.iter().map(|(_, n)| n.to_string()).collect();
    let templates = templates();

    // 1–2. Cohort → NIfTI → preprocessing → encoder.
    let studies = cohort(config);
    progress(&format!(
        "cohort: {} train / {} valid / {} test phantoms, {} findings",
        config.n_train,
        config.n_valid,
        config.n_test,
        names.len()
    ));
    let latents = encode_cohort::<B>(&studies, config, progress, device)?;
    let d_latent = quickstart_encoder().dim_latent;
    let pick = |split: Split| -> (Vec<&Study>, Vec<&Vec<f32>>) {
        studies
            .iter()
            .zip(&latents)
            .filter(|(s, _)| s.split == split)
            .unzip()
    };
    let (train_s, train_l) = pick(Split::Train);
    let (valid_s, valid_l) = pick(Split::Valid);
    let (test_s, test_l) = pick(Split::Test);

    // 3a. Anomaly classifier on the latents, and the embedding cache it completes.
    let ClassifierStage {
        macro_auroc: classifier_macro_auroc,
        auroc: classifier_auroc,
        cache,
    } = classifier_stage::<B>(
        config,
        &names,
        &studies,
        &latents,
        [
            (&train_s, &train_l),
            (&valid_s, &valid_l),
            (&test_s, &test_l),
        ],
        progress,
        device,
    )?;

    // 3b. The decoder: a small GPT-2-style LM pre-trained on the training reports.
    let examples: Vec<Example> = studies
        .iter()
        .map(|s| Example {
            name: s.name.clone(),
            report: s.report.clone(),
            labels: Some(s.labels.clone()),
            split: s.split,
        })
        .collect();
    let of = |split: Split| {
        examples
            .iter()
            .filter(|e| e.split == split)
            .collect::<Vec<_>>()
    };
    let (llm, tokenizer): (Llm<B>, Box<dyn ReportTokenizer>) = match &config.llm {
        Some(path) => {
            let (llm, tok) = rad3d_model::load_llm::<B>(path, device)?;
            progress(&format!("decoder: {} (frozen)", path.display()));
            (llm, Box::new(tok))
        }
        None => {
            let (llm, tok) = pretrain_decoder::<B>(
                config, &studies, &examples, &templates, &cache, progress, device,
            )?;
            (llm, Box::new(tok))
        }
    };
    let d_model = rad3d_llm::CausalLm::hidden_size(&llm);

    // 4–5. Every variant: train, decode the test split greedily, score.
    let meteor = match MeteorResources::default_location() {
        r if r.function_words().exists() => Meteor::new(&r)?,
        _ => Meteor::exact_stem_only(),
    };
    let mut variants = BTreeMap::new();
    let mut csv_rows = Vec::new();
    // Reports come back by volume name; every one is from the test split.
    let test_labels_by_name: std::collections::HashMap<&str, &[f32]> = test_s
        .iter()
        .map(|s| (s.name.as_str(), s.labels.as_slice()))
        .collect();
    for &variant in &config.variants {
        let mut skipped = SkipCounts::default();
        let enc = |split: Split, skipped: &mut SkipCounts| -> Result<Vec<EncodedExample>> {
            Ok(encode_examples(
                &of(split),
                &cache,
                variant,
                tokenizer.as_ref(),
                200,
                skipped,
            )?)
        };
        let (tr, va, te) = (
            enc(Split::Train, &mut skipped)?,
            enc(Split::Valid, &mut skipped)?,
            enc(Split::Test, &mut skipped)?,
        );
        let projector = variant.projector_config(
            d_latent,
            names.len(),
            d_model,
            config.prefix_len,
            config.mapper_layers,
        );
        // Each variant draws its projector from its own stream, so its numbers do not
        // depend on which variants ran before it.
        B::seed(
            device,
            config.seed ^ (0x5EED_0000 + variant as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let model = PrefixModel::<B, _>::new(
            variant,
            &projector,
            llm.clone(),
            PromptIds::default(),
            device,
        )?;
        let trainable_params = trainable_params::<B, _>(&model);
        let cfg = TrainConfig {
            epochs: config.variant_epochs,
            batch_size: 16,
            lr: if variant.llm_trainable() { 5e-4 } else { 2e-3 },
            warmup_steps: 10,
            linear_decay: true,
            seed: config.seed,
            pad_id: tokenizer.eos_id(),
            ..TrainConfig::default()
        };
        let run_dir = config.out_dir.join("runs").join(variant.name());
        let outcome = train(model, &tr, &va, &cfg, &run_dir, &mut Silent, device)?;
        let model = outcome.model.valid();
        let reports = generate_reports(&model, &te, tokenizer.as_ref(), 120, 16, device)?;
        write_reports_csv(
            &config
                .out_dir
                .join(format!("reports_{}.csv", variant.name())),
            &reports,
        )?;
        let predicted: Vec<Vec<bool>> = reports
            .iter()
            .map(|r| extract_findings(&r.generated, &templates))
            .collect();
        let truth: Vec<Vec<bool>> = reports
            .iter()
            .map(|r| {
                test_labels_by_name[r.name.as_str()]
                    .iter()
                    .map(|&l| l > 0.5)
                    .collect()
            })
            .collect();
        let f = finding_f1(&predicted, &truth);
        let refs: Vec<String> = reports.iter().map(|r| r.reference.clone()).collect();
        let hyps: Vec<String> = reports.iter().map(|r| r.generated.clone()).collect();
        let SystemScores {
            bleu_4,
            meteor: meteor_score,
            rouge_l,
            ci,
        } = score_reports(&refs, &hyps, &meteor, config.bootstrap, config.seed)?;
        progress(&format!(
            "{}: finding F1 {:.3}, BLEU-4 {:.3}, METEOR {:.3}, ROUGE-L {:.3}, {} trainable",
            variant.name(),
            f.f1,
            bleu_4,
            meteor_score,
            rouge_l,
            trainable_params
        ));
        csv_rows.extend(reports.iter().map(|r| (variant.name(), r.clone())));
        variants.insert(
            variant.name().to_string(),
            VariantResult {
                trainable_params,
                finding_f1: f.f1,
                finding_precision: f.precision,
                finding_recall: f.recall,
                bleu_4,
                meteor: meteor_score,
                rouge_l,
                ci,
                final_valid_loss: outcome.state.val_losses.last().copied().unwrap_or(f64::NAN),
            },
        );
    }

    let report = QuickstartReport {
        variants,
        classifier_macro_auroc,
        classifier_auroc,
        findings: names,
        meteor_mode: format!("{:?}", meteor.mode()),
        config: config.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let json = config.out_dir.join("metrics.json");
    rad3d_io::write_atomic(
        &json,
        serde_json::to_string_pretty(&report)
            .expect("plain data")
            .as_bytes(),
    )?;
    Ok(report)
}

impl QuickstartReport {
    /// What the quickstart prints at the end: a heading, [`table`](Self::table) and one
    /// line with the classifier's macro AUROC, the METEOR mode, the time and the outputs.
    pub fn summary(&self, config: &QuickstartConfig) -> String {
        format!(
            "\nRAD3D-Prefix on {} synthetic test studies (seed {}):\n\n{}\nanomaly classifier \
             macro AUROC {:.3}; METEOR mode {}; {:.0} s; outputs in {}",
            config.n_test,
            config.seed,
            self.table(),
            self.classifier_macro_auroc,
            self.meteor_mode,
            self.seconds,
            config.out_dir.display()
        )
    }

    /// The results as a table in the layout of the paper's Table 4.
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| variant | trainable | BLEU-4 | METEOR | ROUGE-L | finding F1 |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for (name, r) in &self.variants {
            let ci = |k: &str| {
                r.ci.get(k)
                    .map(|[lo, hi]| format!(" [{lo:.3}, {hi:.3}]"))
                    .unwrap_or_default()
            };
            s.push_str(&format!(
                "| {} | {} | {:.3}{} | {:.3}{} | {:.3}{} | {:.3} |\n",
                name,
                r.trainable_params,
                r.bleu_4,
                ci("bleu_4"),
                r.meteor,
                ci("meteor"),
                r.rouge_l,
                ci("rouge_l"),
                r.finding_f1
            ));
        }
        s
    }
}
