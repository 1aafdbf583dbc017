//! `rad3d classifier train|eval`: the multi-label anomaly head on cached CT-CLIP latents.
//!
//! `train` fits the head with class-weighted BCE and early stopping on the validation
//! macro AUROC and saves it with its label names (the label CSV's columns). `eval` writes
//! the per-label AUROC / F1 / sensitivity / specificity table (`per_label.csv`) and its
//! chart (`per_label.svg`, as the paper's Fig. 7).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use rad3d_prefix::classifier::{
    AnomalyClassifier, AnomalyClassifierConfig, Evaluation, LabelSet, LatentDataset,
    TrainingConfig, load_head, predict, save_head, train_classifier, write_bar_chart,
};
use rad3d_prefix::train::{read_csv_header, read_labels};

use crate::cmd::caches::Caches;
use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, usage};

/// `rad3d classifier` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Train the anomaly head on cached latents and a labels CSV.
    Train(TrainArgs),
    /// Per-label metrics of a head on cached latents and a labels CSV.
    Eval(EvalArgs),
}

/// Flags of `rad3d classifier train`.
#[derive(clap::Args, Debug)]
pub(crate) struct TrainArgs {
    /// Embedding cache of the training studies.
    #[arg(long)]
    cache: PathBuf,
    /// Labels CSV: an id column first (`VolumeName`, `impression_id`, …), then one 0/1
    /// column per label; the columns name the labels (any set, any number).
    #[arg(long)]
    labels: PathBuf,
    /// Embedding cache of the validation studies (default: --cache).
    #[arg(long)]
    valid_cache: Option<PathBuf>,
    /// Validation labels CSV (early stopping on its macro AUROC).
    #[arg(long)]
    valid_labels: PathBuf,
    /// Output head file (`.safetensors`, label names stored inside).
    #[arg(long)]
    out: PathBuf,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Upper bound on epochs.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Epochs without a better validation macro AUROC before stopping.
    #[arg(long, default_value_t = 15)]
    patience: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Seed of the weights, the shuffling and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where training runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Flags of `rad3d classifier eval`.
#[derive(clap::Args, Debug)]
pub(crate) struct EvalArgs {
    /// Embedding cache of the studies to evaluate.
    #[arg(long)]
    cache: PathBuf,
    /// Labels CSV of those studies.
    #[arg(long)]
    labels: PathBuf,
    /// Head file (`rad3d classifier train` output or CT-CLIP's linear-probe checkpoint).
    #[arg(long)]
    head: PathBuf,
    /// Output folder for `per_label.csv` and `per_label.svg`.
    #[arg(long)]
    out: PathBuf,
    /// Probability threshold of F1, sensitivity and specificity.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Print the evaluation as JSON.
    #[arg(long)]
    json: bool,
    /// Where the head runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Runs `rad3d classifier …`.
pub(crate) fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Train(args) => {
            if !has_extension(&args.out, "safetensors") {
                return usage(format!(
                    "--out {}: a head is saved as safetensors; name it *.safetensors",
                    args.out.display()
                ));
            }
            run_on(args.device, Train(args))
        }
        Command::Eval(args) => run_on(args.device, Eval(args)),
    }
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// A head with its label names: stored ones, else CT-RATE's 18 for an 18-output head.
pub(crate) fn load_named_head<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<(AnomalyClassifier<B>, LabelSet)> {
    let (head, labels) = load_head::<B>(path, device)?;
    let labels = match labels {
        Some(l) => l,
        None if head.n_labels() == LabelSet::ct_rate().len() => LabelSet::ct_rate(),
        None => anyhow::bail!(
            "{}: no label names stored for its {} outputs (only an 18-output head defaults \
             to CT-RATE's labels)",
            path.display(),
            head.n_labels()
        ),
    };
    Ok((head, labels))
}

/// A label CSV's id column (its first) and label names (every other column, in order):
/// any label set, CT-RATE's 18 or an INSPECT-style one.
pub(crate) fn label_columns(path: &Path) -> Result<(String, Vec<String>)> {
    let set = LabelSet::from_csv_header(path)?;
    let id = read_csv_header(path)?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((id, set.names().to_vec()))
}

/// Latents and labels of every labelled study found in `caches`, in name order, with the
/// names; studies without a cached latent are counted and left out.
fn dataset(
    caches: &Caches,
    labels_csv: &Path,
    names: &[String],
) -> Result<(LatentDataset, Vec<String>)> {
    let (id_column, _) = label_columns(labels_csv)?;
    let table = read_labels(labels_csv, &id_column, names)?;
    let mut ids: Vec<&String> = table.rows.keys().collect();
    ids.sort();
    let (mut latents, mut labels, mut kept, mut missing) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for id in ids {
        match caches.latent(id) {
            Some(l) => {
                latents.extend(l);
                labels.extend(&table.rows[id]);
                kept.push(id.clone());
            }
            None => missing += 1,
        }
    }
    if missing > 0 {
        tracing::warn!(
            "{}: {missing} labelled studies have no cached latent in {:?}; left out",
            labels_csv.display(),
            caches.dirs()
        );
    }
    anyhow::ensure!(
        !kept.is_empty(),
        "{}: no labelled study has a cached latent in {:?}",
        labels_csv.display(),
        caches.dirs()
    );
    let d = caches.first().dim_latent();
    Ok((LatentDataset::new(latents, labels, d, names.len())?, kept))
}

/// Head training on the chosen backend.
struct Train(TrainArgs);

impl OnBackend for Train {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let args = self.0;
        let (_, names) = label_columns(&args.labels)?;
        let (_, valid_names) = label_columns(&args.valid_labels)?;
        anyhow::ensure!(
            names == valid_names,
            "{}: label columns {valid_names:?} differ from {}'s {names:?}",
            args.valid_labels.display(),
            args.labels.display()
        );
        let label_set = LabelSet::from_names(&names)?;
        let train_caches = Caches::open(std::slice::from_ref(&args.cache))?;
        let valid_caches = Caches::open(&[args.valid_cache.clone().unwrap_or(args.cache.clone())])?;
        let (train, _) = dataset(&train_caches, &args.labels, &names)?;
        let (valid, _) = dataset(&valid_caches, &args.valid_labels, &names)?;
        let head_config = AnomalyClassifierConfig::new(names.len()).with_d_latent(train.d_latent);
        let config = TrainingConfig::new()
            .with_learning_rate(args.lr)
            .with_max_epochs(args.epochs)
            .with_patience(args.patience)
            .with_batch_size(args.batch)
            .with_seed(args.seed);
        let (head, report) = train_classifier::<Autodiff<B>>(
            &head_config,
            &config,
            &label_set,
            &train,
            &valid,
            &device,
        )?;
        save_head(&head, &label_set, &args.out)
            .with_context(|| format!("saving {}", args.out.display()))?;
        tracing::info!(
            "{} train / {} valid studies; best epoch {} of {}, validation macro AUROC {:.4} → {}",
            train.len(),
            valid.len(),
            report.best_epoch,
            report.history.len(),
            report.best_evaluation.macro_avg.auroc.unwrap_or(f64::NAN),
            args.out.display()
        );
        Ok(Outcome::Done)
    }
}

/// Head evaluation on the chosen backend.
struct Eval(EvalArgs);

impl OnBackend for Eval {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let args = self.0;
        let (head, label_set) = load_named_head::<B>(&args.head, &device)?;
        let caches = Caches::open(std::slice::from_ref(&args.cache))?;
        let (data, _) = dataset(&caches, &args.labels, label_set.names())?;
        let probabilities = predict(&head, &data, &device);
        let evaluation = rad3d_prefix::classifier::evaluate(
            &probabilities,
            &data.labels,
            &label_set,
            args.threshold,
        )?;
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        let table = per_label_csv(&evaluation);
        rad3d_prefix::io::write_atomic(&args.out.join("per_label.csv"), table.as_bytes())?;
        write_bar_chart(
            &evaluation,
            "Anomaly classifier, per label",
            args.out.join("per_label.svg"),
        )?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&evaluation_json(&evaluation))?
            );
        } else {
            print!("{table}");
        }
        Ok(Outcome::Done)
    }
}

/// Sensitivity and specificity of one label's confusion counts.
fn rates(m: &rad3d_prefix::classifier::LabelMetrics) -> (f64, f64) {
    let c = &m.confusion;
    let ratio = |a: usize, b: usize| {
        if a + b == 0 {
            f64::NAN
        } else {
            a as f64 / (a + b) as f64
        }
    };
    (ratio(c.tp, c.fn_), ratio(c.tn, c.fp))
}

/// `label,auroc,f1,precision,sensitivity,specificity,support` rows plus the averages.
fn per_label_csv(e: &Evaluation) -> String {
    let mut s = String::from("label,auroc,f1,precision,sensitivity,specificity,support\n");
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for m in &e.per_label {
        let (sens, spec) = rates(m);
        s.push_str(&format!(
            "\"{}\",{},{:.4},{:.4},{:.4},{:.4},{}\n",
            m.name.replace('"', "\"\""),
            num(m.auroc),
            m.f1,
            m.precision,
            sens,
            spec,
            m.support
        ));
    }
    for (name, a) in [
        ("macro average", &e.macro_avg),
        ("micro average", &e.micro_avg),
    ] {
        s.push_str(&format!(
            "{name},{},{:.4},{:.4},{:.4},,\n",
            num(a.auroc),
            a.f1,
            a.precision,
            a.recall
        ));
    }
    s
}

/// The evaluation as JSON: threshold, per-label rows and both averages.
fn evaluation_json(e: &Evaluation) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = e
        .per_label
        .iter()
        .map(|m| {
            let (sens, spec) = rates(m);
            serde_json::json!({
                "label": m.name, "auroc": m.auroc, "f1": m.f1, "precision": m.precision,
                "sensitivity": sens, "specificity": spec, "support": m.support,
            })
        })
        .collect();
    serde_json::json!({
        "threshold": e.threshold,
        "per_label": labels,
        "macro": {"auroc": e.macro_avg.auroc, "f1": e.macro_avg.f1},
        "micro": {"auroc": e.micro_avg.auroc, "f1": e.micro_avg.f1},
    })
}
