//! Train a RAD3D-Prefix variant on cached CT embeddings.
//!
//! ```text
//! cargo run --release --example train -- --variant v3 --cache DIR --reports CSV \
//!     --labels CSV --llm DIR_OR_GGUF --out RUN_DIR [--epochs 10 --lr 2e-5 --batch 8 \
//!     --prefix-len 10 --layers 8]
//! cargo run --release --example train -- --resume RUN_DIR
//! cargo run --release --example train -- --sweep --variant v3 --d-model 2048
//! ```
//! Reports/labels follow CT-RATE (`VolumeName`, `Findings_EN`, label columns; the
//! official split is in the names: `train_…`/`valid_…`; pass both CSVs, or use
//! `--valid-reports`/`--valid-labels`). The run folder gets `args.json`, `metrics.jsonl`,
//! `loss.svg`, `checkpoints/{last,best}` and `reports_valid.{csv,jsonl}`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rad3d_prefix::ctvit::cache::EmbeddingCache;
use rad3d_prefix::llm::CausalLm;
use rad3d_prefix::model::{PrefixModel, PromptIds, ReportTokenizer, load_llm};
use rad3d_prefix::projector::{PrefixLayout, R2GEN_PROMPT_AFTER, R2GEN_PROMPT_BEFORE, Variant};
use rad3d_prefix::train::*;
use serde::{Deserialize, Serialize};

type B = Autodiff<Flex>;

#[derive(Parser, Debug, Clone, Serialize, Deserialize)]
#[command(about = "Train a RAD3D-Prefix variant on cached embeddings")]
struct Args {
    /// v1, v2, v3, linear, r2gengpt or finetuned.
    #[arg(long, default_value = "v3")]
    variant: String,
    /// Embedding cache folder (CT-CLIP latents, plus logits for v3/linear).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Reports CSV (`VolumeName`, `Findings_EN`).
    #[arg(long)]
    reports: Option<PathBuf>,
    /// Labels CSV (`VolumeName` + label columns).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Validation reports CSV, if separate.
    #[arg(long)]
    valid_reports: Option<PathBuf>,
    /// Validation labels CSV, if separate.
    #[arg(long)]
    valid_labels: Option<PathBuf>,
    /// HF model folder or GGUF file.
    #[arg(long)]
    llm: Option<PathBuf>,
    /// Run folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Resume the run in this folder (all other options come from its args.json).
    #[arg(long)]
    resume: Option<PathBuf>,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, default_value_t = 10)]
    prefix_len: usize,
    #[arg(long, default_value_t = 8)]
    layers: usize,
    /// Report tokens kept per study (EOS included).
    #[arg(long, default_value_t = 300)]
    max_tokens: usize,
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    #[arg(long)]
    linear_decay: bool,
    /// Clip the global gradient norm.
    #[arg(long)]
    clip: Option<f32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Checkpoint every N optimizer steps (epoch ends always checkpoint).
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// New tokens when generating the validation reports (0: skip generation).
    #[arg(long, default_value_t = 300)]
    generate_tokens: usize,
    /// Print the paper's prefix-length × depth grid with trainable-parameter counts.
    #[arg(long)]
    sweep: bool,
    /// LLM width for --sweep without --llm.
    #[arg(long)]
    d_model: Option<usize>,
}

struct Bar(ProgressBar);

impl TrainObserver for Bar {
    fn on_start(&mut self, total: usize, step: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(step as u64);
    }
    fn on_step(&mut self, m: &StepMetrics) {
        self.0.set_position(m.step as u64);
        self.0.set_message(format!(
            "epoch {} loss {:.4} lr {:.2e} {:.0} tok/s",
            m.epoch + 1,
            m.loss,
            m.lr,
            m.tokens as f64 / m.seconds.max(1e-9)
        ));
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

/// The cache keyed by normalised volume name.
struct Cache(EmbeddingCache);

impl EmbeddingLookup for Cache {
    fn lookup(&self, name: &str) -> Option<Embedding> {
        [
            name.to_string(),
            format!("{name}.nii.gz"),
            format!("{name}.nii"),
        ]
        .iter()
        .find_map(|n| self.0.get(n))
        .map(|e| Embedding {
            latent: e.latent.to_vec(),
            logits: e.logits.map(|l| l.to_vec()),
        })
    }
}

fn label_columns(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let header = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    Ok(header
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_string())
        .filter(|h| h != "VolumeName" && !h.is_empty())
        .collect())
}

fn sweep_only(args: &Args, variant: Variant) -> anyhow::Result<()> {
    let device = Default::default();
    let d_model = match (&args.llm, args.d_model) {
        (_, Some(d)) => d,
        (Some(p), None) => load_llm::<B>(p, &device)?.0.hidden_size(),
        (None, None) => bail!("--sweep needs --d-model or --llm"),
    };
    println!("variant {variant}, D = {d_model}, input 512 + 18 logits where the variant uses them");
    println!("{:>10} {:>7} {:>16}", "prefix_len", "layers", "trainable");
    for p in sweep(variant, 512, 18, d_model, &PAPER_PREFIX_LENS, &PAPER_DEPTHS) {
        println!(
            "{:>10} {:>7} {:>16}",
            p.prefix_len, p.num_layers, p.trainable_params
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // Training reallocates the same large buffers every step: keep them in the process.
    rad3d_train::keep_freed_memory();
    let cli = Args::parse();
    let (args, resume) = match &cli.resume {
        Some(dir) => {
            let text = std::fs::read_to_string(dir.join("args.json"))
                .with_context(|| format!("{}: not a run folder", dir.display()))?;
            (serde_json::from_str::<Args>(&text)?, true)
        }
        None => (cli.clone(), false),
    };
    let variant: Variant = args.variant.parse()?;
    if args.sweep {
        return sweep_only(&args, variant);
    }
    let need =
        |o: &Option<PathBuf>, flag: &str| o.clone().with_context(|| format!("{flag} is required"));
    let (cache_dir, reports, llm_path, out) = (
        need(&args.cache, "--cache")?,
        need(&args.reports, "--reports")?,
        need(&args.llm, "--llm")?,
        need(&args.out, "--out")?,
    );
    std::fs::create_dir_all(&out)?;
    if !resume {
        std::fs::write(out.join("args.json"), serde_json::to_string_pretty(&args)?)?;
    }
    let device = Default::default();
    let cache = EmbeddingCache::open(&cache_dir)?;
    let label_names = match (&args.labels, cache.labels()) {
        (Some(p), _) => label_columns(p)?,
        (None, Some(l)) => l.to_vec(),
        (None, None) => Vec::new(),
    };
    let mut manifest =
        Manifest::ct_rate(&reports, args.labels.as_deref(), &label_names, Split::Train)?;
    if let Some(vr) = &args.valid_reports {
        let v = Manifest::ct_rate(vr, args.valid_labels.as_deref(), &label_names, Split::Valid)?;
        manifest.examples.extend(v.examples);
    }
    let (llm, tok) = load_llm::<B>(&llm_path, &device)?;
    let d_model = llm.hidden_size();
    let cache = Cache(cache);
    let mut skipped = manifest.skipped.clone();
    let enc = |split, skipped: &mut SkipCounts| {
        encode_examples(
            &manifest.split(split),
            &cache,
            variant,
            &tok,
            args.max_tokens,
            skipped,
        )
    };
    let train_set = enc(Split::Train, &mut skipped)?;
    let valid_set = enc(Split::Valid, &mut skipped)?;
    eprintln!(
        "{} train / {} valid studies; skipped {:?}",
        train_set.len(),
        valid_set.len(),
        skipped
    );
    let d_latent = train_set
        .first()
        .map(|e| e.input.len())
        .context("no training examples")?
        - if variant.input() == rad3d_prefix::projector::PrefixInput::LatentAndLogits {
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
    let prompt = if variant.layout() == PrefixLayout::R2GenPrompt {
        let mut before: Vec<u32> = tok.bos_id().into_iter().collect();
        before.extend(tok.encode(R2GEN_PROMPT_BEFORE)?);
        PromptIds {
            before,
            after: tok.encode(R2GEN_PROMPT_AFTER)?,
        }
    } else {
        PromptIds::default()
    };
    eprintln!(
        "variant {variant}: projector {} trainable parameters",
        projector.num_params()
    );
    let model = PrefixModel::new(variant, &projector, llm, prompt, &device)?;
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
        ..TrainConfig::default()
    };
    let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
    )?);
    let outcome = train(
        model,
        &train_set,
        &valid_set,
        &config,
        &out,
        &mut Bar(bar.clone()),
        &device,
    )?;
    bar.finish();
    eprintln!(
        "done: {} steps, best validation loss {:?}",
        outcome.state.step, outcome.state.best_val_loss
    );
    if args.generate_tokens > 0 && !valid_set.is_empty() {
        let model = outcome.model.valid();
        let reports = generate_reports(
            &model,
            &valid_set,
            &tok,
            args.generate_tokens,
            args.batch,
            &Default::default(),
        )?;
        write_reports_csv(&out.join("reports_valid.csv"), &reports)?;
        write_reports_jsonl(&out.join("reports_valid.jsonl"), &reports)?;
        eprintln!("wrote {} validation reports", reports.len());
    }
    Ok(())
}
