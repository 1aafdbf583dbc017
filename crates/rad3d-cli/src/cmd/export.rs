//! `rad3d export`: a training run folder → a pipeline folder (`pipeline.json` with the
//! encoder, classifier, projector and, for V-1, LLM weights) that `rad3d report` and
//! `Pipeline::load` read.
//!
//! The run's `model.json` gives the variant, projector and LLM; the encoder and the
//! classifier head are the ones the run's embedding cache was built with. A head without
//! label names gets CT-RATE's 18 when it has 18 outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::backend::Flex;
use rad3d_prefix::ctvit::CtVit;
use rad3d_prefix::llm::CausalLm;
use rad3d_prefix::model::{PrefixModel, PromptIds, load_record};
use rad3d_prefix::pipeline::{PIPELINE_FILE, Pipeline, PipelineConfig, load_encoder};
use rad3d_prefix::train::RunDir;
use rad3d_prefix::train::checkpoint::{resolve, verify};
use rad3d_prefix::volume::Preprocess;

use crate::cmd::classifier::load_named_head;
use crate::cmd::embed::load_config;
use crate::cmd::train::{MODEL_FILE, RunModel};
use crate::outcome::{Outcome, usage};

/// Flags of `rad3d export`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Run folder written by `rad3d train`.
    run: PathBuf,
    /// Encoder weights the cache was built with: a CT-CLIP checkpoint (`.pt`,
    /// `.safetensors`) or a Burn record (`.mpk`, e.g. the `encoder.mpk` that `rad3d embed
    /// --random-weights` keeps in its cache).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Encoder configuration: `ct-clip`, `tiny`, or a JSON file of CtVitConfig fields.
    #[arg(long, default_value = "ct-clip")]
    config: String,
    /// Classifier head (`rad3d classifier train` output or CT-CLIP's linear-probe file).
    #[arg(long)]
    classifier: PathBuf,
    /// Which checkpoint of the run: `best` (validation) or `last`.
    #[arg(long, default_value = "best")]
    from: String,
    /// Most tokens generated per report.
    #[arg(long, default_value_t = 300)]
    max_new_tokens: usize,
    /// Output pipeline folder (replaced atomically if it already holds a pipeline).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `rad3d export`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    let run = RunDir(args.run.clone());
    let checkpoint = match args.from.as_str() {
        "best" => run.best(),
        "last" => run.last(),
        other => return usage(format!("--from must be `best` or `last`, got {other:?}")),
    };
    if args.out.exists() && !args.out.join(PIPELINE_FILE).exists() {
        return usage(format!(
            "--out {}: exists and is not a pipeline folder; choose a new folder",
            args.out.display()
        ));
    }
    let model_file = args.run.join(MODEL_FILE);
    let text = std::fs::read_to_string(&model_file).with_context(|| {
        format!(
            "{}: not a run folder of `rad3d train` (no readable {MODEL_FILE})",
            args.run.display()
        )
    })?;
    let run_model: RunModel = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid run model", model_file.display()))?;
    let checkpoint = resolve(&checkpoint).with_context(|| {
        format!(
            "{}: no checkpoint (a run without validation data has only `--from last`)",
            checkpoint.display()
        )
    })?;
    verify(&checkpoint)?;

    let device = Default::default();
    let encoder_config = load_config(&args.config)?;
    let encoder: CtVit<Flex> = load_encoder(&args.checkpoint, &encoder_config, &device)?;
    let (classifier, labels) = load_named_head::<Flex>(&args.classifier, &device)?;
    if !run_model.labels.is_empty() && run_model.labels != labels.names() {
        anyhow::bail!(
            "{}: the head's labels {:?} are not the {:?} the run's projector was trained on",
            args.classifier.display(),
            labels.names(),
            run_model.labels
        );
    }
    let (llm, tokenizer) =
        run_model
            .llm
            .load_for::<Flex>(Path::new(""), &device, run_model.variant)?;
    let prompt = PromptIds::for_variant(run_model.variant, tokenizer.as_ref())?;
    let mut model = PrefixModel::new(
        run_model.variant,
        &run_model.projector,
        llm,
        prompt,
        &device,
    )?;
    let projector_weights = checkpoint.join("projector.mpk");
    model.projector = load_record(model.projector, &projector_weights, &device)?;
    if run_model.variant.llm_trainable() {
        model.llm = load_record(model.llm, &checkpoint.join("llm.mpk"), &device)?;
    }
    // A report may fill what the LLM's positions leave after the prefix and prompt.
    let room = CausalLm::max_positions(&model.llm).saturating_sub(model.prefix_len());
    let max_new_tokens = if args.max_new_tokens > room {
        tracing::warn!(
            "--max-new-tokens {} exceeds the {room} positions the LLM has left after the \
             prefix; reports stop at {room} tokens",
            args.max_new_tokens
        );
        room
    } else {
        args.max_new_tokens
    };
    let config = PipelineConfig {
        preprocess: Preprocess::ct_clip().with_target_shape(encoder_config.input_shape()),
        encoder: encoder_config,
        encoder_weights: args.checkpoint.clone(),
        classifier_weights: args.classifier.clone(),
        variant: run_model.variant,
        projector: run_model.projector.clone(),
        projector_weights,
        llm: run_model.llm.clone(),
        max_new_tokens,
    };
    let pipeline = Pipeline::from_parts(
        config, encoder, classifier, labels, model, tokenizer, &device,
    )?;
    rad3d_prefix::io::write_dir_atomic(&args.out, |dir| -> Result<()> { Ok(pipeline.save(dir)?) })?;
    tracing::info!(
        "exported {} ({}, {}) → {}",
        args.run.display(),
        run_model.variant,
        checkpoint.display(),
        args.out.display()
    );
    Ok(Outcome::Done)
}
