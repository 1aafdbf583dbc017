//! Stage 3a of the quickstart: the anomaly classifier trained on the cohort's latents,
//! its per-label test evaluation and chart, and the embedding cache (latent + logits)
//! that the variants read, as a CT-CLIP embedding job would write it.

use std::collections::{BTreeMap, HashMap};

use burn::tensor::backend::AutodiffBackend;
use rad3d_classifier::{
    AnomalyClassifierConfig, LabelSet, LatentDataset, TrainingConfig, predict, train_classifier,
    write_bar_chart,
};
use rad3d_train::Embedding;

use super::QuickstartConfig;
use super::cohort::{Study, dataset, logit, quickstart_encoder};
use crate::error::Result;

/// What stage 3a hands on.
pub(super) struct ClassifierStage {
    /// Macro AUROC on the test split.
    pub(super) macro_auroc: f64,
    /// Test AUROC per label.
    pub(super) auroc: BTreeMap<String, f64>,
    /// Every study's latent and classifier logits, by name.
    pub(super) cache: HashMap<String, Embedding>,
}

/// One split's studies and their latents.
pub(super) type SplitData<'a, 's> = (&'a Vec<&'s Study>, &'a Vec<&'s Vec<f32>>);

/// Trains the head on `[train, valid, test]`, evaluates it on test and builds the cache.
pub(super) fn classifier_stage<B: AutodiffBackend>(
    config: &QuickstartConfig,
    names: &[String],
    studies: &[Study],
    latents: &[Vec<f32>],
    [(train_s, train_l), (valid_s, valid_l), (test_s, test_l)]: [SplitData<'_, '_>; 3],
    progress: &mut dyn FnMut(&str),
    device: &B::Device,
) -> Result<ClassifierStage> {
    let d_latent = quickstart_encoder().dim_latent;
    let label_set = LabelSet::from_names(names)?;
    let head_config = AnomalyClassifierConfig::new(names.len())
        .with_d_latent(d_latent)
        .with_dropout(0.1);
    let (head, _) = train_classifier::<B>(
        &head_config,
        &TrainingConfig::new()
            .with_seed(config.seed)
            .with_learning_rate(3e-3),
        &label_set,
        &dataset(train_s, train_l, d_latent)?,
        &dataset(valid_s, valid_l, d_latent)?,
        device,
    )?;
    let test_data = dataset(test_s, test_l, d_latent)?;
    let test_probs = predict(&head, &test_data, device);
    let test_labels: Vec<f32> = test_s
        .iter()
        .flat_map(|s| s.labels.iter().copied())
        .collect();
    let evaluation = rad3d_classifier::evaluate(&test_probs, &test_labels, &label_set, 0.5)?;
    write_bar_chart(
        &evaluation,
        "Anomaly classifier (test)",
        config.out_dir.join("classifier_per_label.svg"),
    )?;
    let classifier_macro_auroc = evaluation.macro_avg.auroc.unwrap_or(f64::NAN);
    let classifier_auroc: BTreeMap<String, f64> = evaluation
        .per_label
        .iter()
        .map(|l| (l.name.clone(), l.auroc.unwrap_or(f64::NAN)))
        .collect();
    progress(&format!(
        "classifier: test macro AUROC {classifier_macro_auroc:.3}"
    ));

    // Cached embeddings: latent + soft logits, as the embedding cache would hold them.
    let all = LatentDataset::new(
        latents.iter().flatten().copied().collect(),
        studies
            .iter()
            .flat_map(|s| s.labels.iter().copied())
            .collect(),
        d_latent,
        names.len(),
    )?;
    let probs = predict(&head, &all, device);
    let cache: HashMap<String, Embedding> = studies
        .iter()
        .zip(latents)
        .zip(probs.chunks(names.len()))
        .map(|((s, l), p)| {
            (
                s.name.clone(),
                Embedding {
                    latent: l.clone(),
                    logits: Some(p.iter().map(|&p| logit(p)).collect()),
                },
            )
        })
        .collect();
    Ok(ClassifierStage {
        macro_auroc: classifier_macro_auroc,
        auroc: classifier_auroc,
        cache,
    })
}
