//! `rad3d train`: a RAD3D-Prefix variant (or a baseline) on cached CT embeddings.
//!
//! Reports and labels follow CT-RATE (`VolumeName`, `Findings_EN`, label columns; the
//! official split is in the names: `train_…`/`valid_…`). Validation data is required
//! (`--valid-reports`, or validation rows in `--reports`) because the best checkpoint and
//! the validation reports come from it; `--no-validation` trains without. The run folder
//! gets `args.json` (every path absolute), `metrics.jsonl`, `loss.svg`,
//! `checkpoints/{last,best}` and `reports_valid.{csv,jsonl}`. `--resume RUN_DIR` continues
//! a run from its folder, wherever the folder now is and whatever the working directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use rad3d_prefix::llm::CausalLm;
use rad3d_prefix::model::{LlmSpec, ParamCounts, PrefixModel, PromptIds};
use rad3d_prefix::projector::{PrefixInput, ProjectorConfig, Variant};
use rad3d_prefix::train::checkpoint::resolve;
use rad3d_prefix::train::{
    EmbeddingLookup, EpochMetrics, GeneratedReport, Manifest, PAPER_DEPTHS, PAPER_PREFIX_LENS,
    RunDir, SkipCounts, Split, StepMetrics, SweepResult, TrainConfig, TrainObserver,
    encode_examples, generate_reports, sweep, train, write_reports_csv, write_reports_jsonl,
    write_sweep_svg,
};
use serde::{Deserialize, Serialize};

use crate::cmd::caches::Caches;
use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, usage};
use crate::progress::Progress;

/// The run description stored in `args.json`.
const ARGS_FILE: &str = "args.json";

/// What the run trains, stored in `model.json` so that `rad3d export` can rebuild it.
pub(crate) const MODEL_FILE: &str = "model.json";

/// The contents of a run's `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunModel {
    /// The study variant.
    pub(crate) variant: Variant,
    /// The projector's architecture.
    pub(crate) projector: ProjectorConfig,
    /// The LLM the run started from.
    pub(crate) llm: LlmSpec,
    /// Names of the logits the projector reads (empty when it reads none).
    pub(crate) labels: Vec<String>,
    /// Report tokens the run kept per study.
    pub(crate) max_tokens: usize,
    /// Trainable and frozen parameter counts (the LLM's among the trainable ones for the
    /// variants that fine-tune it); absent in runs written before they were recorded.
    #[serde(default)]
    pub(crate) params: Option<ParamCounts>,
}

/// Flags of `rad3d train` (also the contents of the run's `args.json`).
#[derive(clap::Args, Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Args {
    /// v1, v2, v3, linear, r2gengpt or finetuned.
    #[arg(long, default_value = "v3")]
    variant: String,
    /// Embedding cache folder (CT-CLIP latents, plus logits for v3/linear).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// A second cache holding the validation split's embeddings, when they were written
    /// to their own folder.
    #[arg(long)]
    #[serde(default)]
    valid_cache: Option<PathBuf>,
    /// Classifier head whose logits on the cached latents replace the cached logits (a
    /// head trained after embedding, e.g. by `rad3d classifier train`).
    #[arg(long)]
    #[serde(default)]
    classifier: Option<PathBuf>,
    /// Reports CSV (`VolumeName`, `Findings_EN`).
    #[arg(long)]
    reports: Option<PathBuf>,
    /// Labels CSV (`VolumeName` + label columns; any label set: V-3's logit input is as wide
    /// as its columns).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Validation reports CSV, if separate (CT-RATE's `validation_reports.csv`).
    #[arg(long)]
    valid_reports: Option<PathBuf>,
    /// Validation labels CSV, if separate.
    #[arg(long)]
    valid_labels: Option<PathBuf>,
    /// Train without validation data: no best checkpoint, no validation reports.
    #[arg(long)]
    #[serde(default)]
    no_validation: bool,
    /// HF model folder or GGUF file.
    #[arg(long)]
    llm: Option<PathBuf>,
    /// Run folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Resume the run in this folder (all other options come from its args.json).
    #[arg(long)]
    #[serde(skip)]
    resume: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Studies per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Prefix tokens the projector writes.
    #[arg(long, default_value_t = 10)]
    prefix_len: usize,
    /// Transformer layers of the projector.
    #[arg(long, default_value_t = 8)]
    layers: usize,
    /// Report tokens kept per study (EOS included).
    #[arg(long, default_value_t = 300)]
    max_tokens: usize,
    /// Batches per optimizer step.
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Decay the learning rate linearly to zero after warm-up.
    #[arg(long)]
    linear_decay: bool,
    /// Clip the global gradient norm.
    #[arg(long)]
    clip: Option<f32>,
    /// Seed of the weights and the data order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Checkpoint every N optimizer steps (epoch ends always checkpoint).
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// New tokens when generating the validation reports (0: skip generation).
    #[arg(long, default_value_t = 300)]
    generate_tokens: usize,
    /// The paper's prefix-length × depth grid (Fig. 12): with data flags, train and score
    /// every cell into `OUT/p<P>_d<D>/` and write `OUT/sweep.csv`, `OUT/sweep.md` and the
    /// chart `OUT/sweep.svg`;
    /// without, print the grid's trainable-parameter counts.
    #[arg(long)]
    sweep: bool,
    /// Prefix lengths of --sweep (default: the paper's 2, 5, 7, 10, 14).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    sweep_prefix_lens: Vec<usize>,
    /// Projector depths of --sweep (default: the paper's 2, 4, 8, 16).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    sweep_depths: Vec<usize>,
    /// LLM width for --sweep without --llm.
    #[arg(long)]
    d_model: Option<usize>,
    /// Where training runs: cpu, cuda or cuda:N (not stored: a run may resume elsewhere).
    #[arg(long, default_value = "cpu")]
    #[serde(skip)]
    device: DeviceChoice,
}

/// Runs `rad3d train`.
pub(crate) fn run(cli: Args) -> Result<Outcome> {
    // Training reallocates the same large buffers every step: keep them in the process.
    rad3d_prefix::train::keep_freed_memory();
    let device = cli.device;
    let args = match &cli.resume {
        Some(dir) => resumed_args(dir)?,
        None => cli,
    };
    run_on(device, Train(args))
}

/// The arguments of the run in `dir`, with its output folder set to `dir` itself (the
/// folder may have moved since the run started).
fn resumed_args(dir: &Path) -> Result<Args> {
    let file = dir.join(ARGS_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "--resume {}: not a run folder (no readable {ARGS_FILE})",
            dir.display()
        )
    })?;
    let mut args: Args = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid run description", file.display()))?;
    args.out = Some(crate::cmd::absolute(dir)?);
    args.resume = Some(crate::cmd::absolute(dir)?);
    Ok(args)
}

impl Args {
    /// Every path made absolute, so `args.json` resolves from any working directory.
    fn absolute(mut self) -> Result<Self> {
        for path in [
            &mut self.cache,
            &mut self.valid_cache,
            &mut self.classifier,
            &mut self.reports,
            &mut self.labels,
            &mut self.valid_reports,
            &mut self.valid_labels,
            &mut self.llm,
            &mut self.out,
        ]
        .into_iter()
        .flatten()
        {
            *path = crate::cmd::absolute(path)?;
        }
        Ok(self)
    }
}

/// Epoch lines and a step bar.
struct Observer(Progress);

impl TrainObserver for Observer {
    fn on_start(&mut self, total: usize, step: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(step as u64);
    }

    fn on_step(&mut self, m: &StepMetrics) {
        self.0.set_message(format!(
            "epoch {} loss {:.4} lr {:.2e} {:.0} tok/s",
            m.epoch + 1,
            m.loss,
            m.lr,
            m.tokens as f64 / m.seconds.max(1e-9)
        ));
        self.0.set_position(m.step as u64);
    }

    fn on_epoch(&mut self, m: &EpochMetrics) {
        self.0.println(format!(
            "epoch {}: train {:.4}, valid {}{}",
            m.epoch + 1,
            m.train_loss,
            m.val_loss.map_or("-".into(), |v| format!("{v:.4}")),
            if m.best { " (best)" } else { "" }
        ));
    }
}

/// `--sweep`: the prefix-length × depth grid with trainable-parameter counts.
fn sweep_only<B: Backend>(args: &Args, variant: Variant, device: &B::Device) -> Result<Outcome> {
    let d_model = match (&args.llm, args.d_model) {
        (_, Some(d)) => d,
        (Some(p), None) => LlmSpec::open(p)?
            .load::<B>(Path::new(""), device)?
            .0
            .hidden_size(),
        (None, None) => return usage("--sweep needs --d-model or --llm"),
    };
    println!("variant {variant}, D = {d_model}, input 512 + 18 logits where the variant uses them");
    println!("{:>10} {:>7} {:>16}", "prefix_len", "layers", "trainable");
    for p in sweep(variant, 512, 18, d_model, &PAPER_PREFIX_LENS, &PAPER_DEPTHS) {
        println!(
            "{:>10} {:>7} {:>16}",
            p.prefix_len, p.num_layers, p.trainable_params
        );
    }
    Ok(Outcome::Done)
}

/// `--sweep` with data: every cell of the grid trained (resumable, like any run) and its
/// validation reports scored; one row per cell in `sweep.csv` / `sweep.md`.
fn sweep_train<B: Backend>(args: Args, device: B::Device) -> Result<Outcome> {
    use rad3d_prefix::metrics::evaluation::{EvaluateFiles, EvaluateOptions, evaluate_files};
    use rad3d_prefix::metrics::reports::ReportColumns;

    let Some(out) = args.out.clone() else {
        return usage("--out is required");
    };
    if args.generate_tokens == 0 {
        return usage("--sweep scores validation reports: --generate-tokens must be above 0");
    }
    let pick = |given: &[usize], paper: &[usize]| {
        if given.is_empty() {
            paper.to_vec()
        } else {
            given.to_vec()
        }
    };
    let lens = pick(&args.sweep_prefix_lens, &PAPER_PREFIX_LENS);
    let depths = pick(&args.sweep_depths, &PAPER_DEPTHS);
    let mut results = Vec::new();
    let mut csv = String::from("prefix_len,layers,trainable,bleu_4,meteor,rouge_l\n");
    let mut md = String::from(
        "| prefix length | layers | trainable | BLEU-4 | METEOR | ROUGE-L |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for &prefix_len in &lens {
        for &layers in &depths {
            let cell_dir = out.join(format!("p{prefix_len}_d{layers}"));
            let cell = Args {
                sweep: false,
                prefix_len,
                layers,
                out: Some(cell_dir.clone()),
                resume: None,
                ..args.clone()
            };
            tracing::info!("sweep: prefix length {prefix_len}, {layers} layers");
            train_on::<B>(cell, device.clone())?;
            let model: RunModel = serde_json::from_str(
                &std::fs::read_to_string(cell_dir.join(MODEL_FILE))
                    .with_context(|| format!("reading {}", cell_dir.join(MODEL_FILE).display()))?,
            )?;
            // The run's own file holds both texts: references and greedy reports.
            let reports = cell_dir.join("reports_valid.csv");
            let mut files = EvaluateFiles::new(&reports, &reports);
            files.ref_columns = ReportColumns {
                id: Some("VolumeName".into()),
                text: Some("reference".into()),
            };
            files.hyp_columns = ReportColumns {
                id: Some("VolumeName".into()),
                text: Some("generated".into()),
            };
            let ev = evaluate_files(&files, &[], &EvaluateOptions::default())?;
            let value = |k: &str| ev.value(k).unwrap_or(f64::NAN);
            let trainable = model
                .params
                .map_or_else(|| model.projector.num_params(), |p| p.trainable);
            let (b, m, r) = (value("bleu_4"), value("meteor"), value("rouge_l"));
            results.push(SweepResult {
                prefix_len,
                num_layers: layers,
                trainable_params: trainable,
                scores: vec![
                    ("BLEU-4".into(), b),
                    ("METEOR".into(), m),
                    ("ROUGE-L".into(), r),
                ],
            });
            csv.push_str(&format!("{prefix_len},{layers},{trainable},{b},{m},{r}\n"));
            md.push_str(&format!(
                "| {prefix_len} | {layers} | {trainable} | {b:.4} | {m:.4} | {r:.4} |\n"
            ));
        }
    }
    rad3d_prefix::io::write_atomic(&out.join("sweep.csv"), csv.as_bytes())?;
    rad3d_prefix::io::write_atomic(&out.join("sweep.md"), md.as_bytes())?;
    write_sweep_svg(&results, &out.join("sweep.svg"))?;
    print!("{md}");
    Ok(Outcome::Done)
}

/// The training run, on the chosen backend.
struct Train(Args);

impl OnBackend for Train {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        train_on::<B>(self.0, device)
    }
}

/// Trains on `Autodiff<B>`; validation reports are decoded on `B` itself.
fn train_on<B: Backend>(args: Args, device: B::Device) -> Result<Outcome> {
    let variant: Variant = args
        .variant
        .parse()
        .map_err(|e| crate::outcome::UsageError(format!("--variant: {e}")))?;
    if args.sweep {
        return match args.cache {
            None => sweep_only::<B>(&args, variant, &device),
            Some(_) => sweep_train::<B>(args, device),
        };
    }
    let mut resume = args.resume.is_some();
    let args = args.absolute()?;
    let need = |o: &Option<PathBuf>, flag: &str| match o {
        Some(p) => Ok(p.clone()),
        None => usage(format!("{flag} is required")),
    };
    let (cache_dir, reports, llm_path, out) = (
        need(&args.cache, "--cache")?,
        need(&args.reports, "--reports")?,
        need(&args.llm, "--llm")?,
        need(&args.out, "--out")?,
    );
    if args.batch == 0 || args.epochs == 0 || args.grad_accum == 0 {
        return usage("--batch, --epochs and --grad-accum must be at least 1");
    }
    let mut dirs = vec![cache_dir.clone()];
    dirs.extend(args.valid_cache.clone());
    let mut cache = Caches::open(&dirs)?;
    let mut head_labels = None;
    if let Some(path) = &args.classifier {
        let (head, labels) = crate::cmd::classifier::load_named_head::<Autodiff<B>>(path, &device)?;
        cache = cache.with_head(&head, path, &device)?;
        head_labels = Some(labels.names().to_vec());
    }
    let label_names = match (&args.labels, &head_labels, cache.first().labels()) {
        (Some(p), _, _) => crate::cmd::classifier::label_columns(p)?.1,
        (None, Some(l), _) => l.clone(),
        (None, None, Some(l)) => l.to_vec(),
        (None, None, None) => Vec::new(),
    };
    // V-3 reads the logits in the cache's (or the head's) order: label columns in another
    // order or of another set would mis-assign every logit.
    if let (None, Some(cached)) = (&head_labels, cache.first().labels())
        && variant.input() == PrefixInput::LatentAndLogits
        && cached != label_names.as_slice()
    {
        anyhow::bail!(
            "{}: label columns {label_names:?} differ from the logits {cached:?} cached in {}",
            args.labels.as_deref().unwrap_or(Path::new("")).display(),
            cache_dir.display()
        );
    }
    if let Some(names) = &head_labels
        && names != &label_names
    {
        anyhow::bail!(
            "{}: the head's labels {names:?} differ from the label columns {label_names:?}",
            args.classifier
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
        );
    }
    let mut manifest =
        Manifest::ct_rate(&reports, args.labels.as_deref(), &label_names, Split::Train)?;
    if let Some(vr) = &args.valid_reports {
        let v = Manifest::ct_rate(vr, args.valid_labels.as_deref(), &label_names, Split::Valid)?;
        // CT-RATE names carry their split: a training study in the validation file is a
        // mix-up of files, not something to train on silently.
        if let Some(e) = v.examples.iter().find(|e| e.split != Split::Valid) {
            anyhow::bail!(
                "{}: VolumeName {:?} belongs to the training split; --valid-reports must list \
                 validation studies only",
                vr.display(),
                e.name
            );
        }
        manifest.examples.extend(v.examples);
    }
    let has_valid = manifest.examples.iter().any(|e| e.split == Split::Valid);
    if !has_valid && !args.no_validation {
        return usage(format!(
            "{}: no validation studies (names starting valid_); pass CT-RATE's validation \
             reports with --valid-reports (and --valid-labels), or --no-validation to train \
             without a best checkpoint and validation reports",
            reports.display()
        ));
    }
    // The projector's logit input is as wide as the label set: the logits fed to it (a
    // head's or the cache's) must be exactly that many.
    if variant.input() == PrefixInput::LatentAndLogits {
        let (width, from) = match &args.classifier {
            Some(path) => (
                head_labels.as_ref().map_or(0, Vec::len),
                path.display().to_string(),
            ),
            None => (cache.first().n_logits(), cache_dir.display().to_string()),
        };
        if width == 0 {
            return usage(format!(
                "--variant {variant} reads anomaly logits, but {from} holds none: pass \
                 --classifier HEAD or a cache embedded with --classifier"
            ));
        }
        anyhow::ensure!(
            width == label_names.len(),
            "{from}: {width} logits, but the label set has {} labels {label_names:?}",
            label_names.len()
        );
    }
    if !resume && out.join(ARGS_FILE).exists() {
        // The same command again continues its run; another one never overwrites it.
        let stored = resumed_args(&out)?;
        if serde_json::to_value(&stored)? != serde_json::to_value(&args)? {
            return usage(format!(
                "--out {}: holds a run with other settings (see its {ARGS_FILE}); continue it \
                 with --resume {0} or choose another --out",
                out.display()
            ));
        }
        let run = RunDir(out.clone());
        if [run.last(), run.best()]
            .iter()
            .any(|d| resolve(d).is_some())
        {
            tracing::info!("{} holds this run: resuming it", out.display());
            resume = true;
        } else {
            tracing::info!(
                "{} holds this run without a checkpoint: starting it over",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    if !resume {
        let json = serde_json::to_string_pretty(&args)?;
        rad3d_prefix::io::write_atomic(&out.join(ARGS_FILE), json.as_bytes())?;
    }
    let llm_spec = LlmSpec::open(&llm_path)?;
    let (llm, tok) = llm_spec.load_for::<Autodiff<B>>(Path::new(""), &device, variant)?;
    let d_model = llm.hidden_size();
    let mut skipped = manifest.skipped.clone();
    let enc = |split, skipped: &mut SkipCounts| {
        encode_examples(
            &manifest.split(split),
            &cache,
            variant,
            tok.as_ref(),
            args.max_tokens,
            skipped,
        )
    };
    let train_set = enc(Split::Train, &mut skipped)?;
    let valid_set = enc(Split::Valid, &mut skipped)?;
    tracing::info!(
        "{} train / {} valid studies; skipped {:?}",
        train_set.len(),
        valid_set.len(),
        skipped
    );
    let Some(first) = train_set.first() else {
        anyhow::bail!(
            "{}: no training study has both a report and a cached embedding in {:?}",
            reports.display(),
            cache.dirs()
        );
    };
    let d_latent = first.input.len()
        - if variant.input() == PrefixInput::LatentAndLogits {
            label_names.len()
        } else {
            0
        };
    let projector = variant.projector_config(
        d_latent,
        label_names.len(),
        d_model,
        args.prefix_len,
        args.layers,
    );
    let prompt = PromptIds::for_variant(variant, tok.as_ref())?;
    // The projector's initial weights come from the run's seed: two runs with the same
    // settings are the same run.
    <Autodiff<B> as Backend>::seed(&device, args.seed);
    let model = PrefixModel::new(variant, &projector, llm, prompt, &device)?;
    let params = model.param_counts();
    let run_model = RunModel {
        variant,
        projector: projector.clone(),
        llm: llm_spec,
        labels: if variant.input() == PrefixInput::LatentAndLogits {
            label_names.clone()
        } else {
            Vec::new()
        },
        max_tokens: args.max_tokens,
        params: Some(params),
    };
    let json = serde_json::to_string_pretty(&run_model)?;
    rad3d_prefix::io::write_atomic(&out.join(MODEL_FILE), json.as_bytes())?;
    tracing::info!(
        "variant {variant}: {} trainable, {} frozen parameters",
        params.trainable,
        params.frozen
    );
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup_steps: args.warmup,
        linear_decay: args.linear_decay,
        grad_accum: args.grad_accum,
        grad_clip: args.clip,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every,
        resume,
        pad_id: tok.eos_id(),
        weight_decay: variant.weight_decay(),
        ..TrainConfig::default()
    };
    let progress = Progress::new("steps", 0);
    let mut observer = Observer(progress);
    let outcome = train(
        model,
        &train_set,
        &valid_set,
        &config,
        &out,
        &mut observer,
        &device,
    )?;
    observer.0.finish();
    tracing::info!(
        "done: {} steps, best validation loss {:?}",
        outcome.state.step,
        outcome.state.best_val_loss
    );
    if args.generate_tokens > 0 && !valid_set.is_empty() {
        let model = outcome.model.valid();
        let reports = generate_reports(
            &model,
            &valid_set,
            tok.as_ref(),
            args.generate_tokens,
            args.batch,
            &device,
        )?;
        let reports = with_probabilities(reports, &cache, &label_names);
        write_reports_csv(&out.join("reports_valid.csv"), &reports)?;
        write_reports_jsonl(&out.join("reports_valid.jsonl"), &reports)?;
        tracing::info!("wrote {} validation reports", reports.len());
    }
    Ok(Outcome::Done)
}

/// The classifier's probability of every label beside each report (the paper's Table 5):
/// the sigmoid of the study's logits — the head's with `--classifier`, else the cached
/// ones. Reports stay without probabilities when there are no logits or label names.
fn with_probabilities(
    mut reports: Vec<GeneratedReport>,
    cache: &Caches,
    labels: &[String],
) -> Vec<GeneratedReport> {
    if labels.is_empty() {
        return reports;
    }
    let probabilities = |name: &str| -> Option<Vec<(String, f32)>> {
        let logits = cache.lookup(name)?.logits?;
        (logits.len() == labels.len()).then(|| {
            labels
                .iter()
                .zip(logits)
                .map(|(l, x)| (l.clone(), 1.0 / (1.0 + (-x).exp())))
                .collect()
        })
    };
    let all: Option<Vec<Vec<(String, f32)>>> =
        reports.iter().map(|r| probabilities(&r.name)).collect();
    if let Some(all) = all {
        for (r, p) in reports.iter_mut().zip(all) {
            r.probabilities = p;
        }
    }
    reports
}
