//! `rad3d evaluate`: score generated reports against references with every metric the
//! paper reports, with bootstrap intervals and paired tests — a thin layer over
//! `rad3d_metrics::evaluation::evaluate_files`.
//!
//! Inputs: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column and a text
//! column (found by name, or named with `--id-column`/`--text-column`); id-keyed files are
//! joined on the id with `.nii`/`.nii.gz` stripped, and ids present on one side only are
//! an error that lists them. pycocoevalcap metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D)
//! see the `--tokenize`d text; rouge-score, sacreBLEU, BERTScore and GREEN see the raw
//! text, as their Python packages do. BERTScore and GREEN are bootstrapped and compared
//! like every other metric and run on `--device`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rad3d_prefix::metrics::coco::DfMode;
use rad3d_prefix::metrics::evaluation::{
    EvaluateFiles, EvaluateOptions, Evaluation, ModelMetric, evaluate_files, table_markdown,
    write_interval_chart, write_table_csv,
};
use rad3d_prefix::metrics::reports::ReportColumns;
use rad3d_prefix::metrics::text::Tokenize;

use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, UsageError, usage};

/// Flags of `rad3d evaluate`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Reference reports (.txt one per line, .csv or .jsonl with id and text columns).
    #[arg(long)]
    refs: PathBuf,
    /// Generated reports (system A), same formats.
    #[arg(long)]
    hyps: PathBuf,
    /// Id column of CSV/JSONL inputs (default: found by name, e.g. `VolumeName`).
    #[arg(long)]
    id_column: Option<String>,
    /// Text column of the references (default: found by name, e.g. `Findings_EN`).
    #[arg(long)]
    text_column: Option<String>,
    /// Text column of the generated reports (default: found by name, e.g. `generated`).
    #[arg(long)]
    hyp_text_column: Option<String>,
    /// Tokenization for the pycocoevalcap metrics: `none` (text as given) or `basic`.
    #[arg(long, default_value = "basic")]
    tokenize: String,
    /// Bootstrap resamples for 95 % confidence intervals of every metric.
    #[arg(long)]
    bootstrap: Option<usize>,
    /// A second system's reports: paired permutation and paired bootstrap tests against A.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Resamples of the paired tests (default: --bootstrap, else 5000).
    #[arg(long)]
    resamples: Option<usize>,
    /// Seed of all resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// CIDEr-D document frequencies under resampling: `corpus` (recomputed per resample, as
    /// pycocoevalcap would on that corpus) or `fixed` (those of the full corpus).
    #[arg(long, default_value = "corpus")]
    cider_df: String,
    /// METEOR data folder (default: $RAD3D_ASSETS/meteor, then the per-user data folder,
    /// then the checkout's target/assets/meteor; missing data is an error).
    #[arg(long)]
    meteor_dir: Option<PathBuf>,
    /// Score METEOR with exact + stem matching only (not METEOR 1.5; said in the output).
    #[arg(long, conflicts_with = "meteor_dir")]
    meteor_approx: bool,
    /// BERTScore model folder (HF BERT/RoBERTa: config.json, model.safetensors,
    /// tokenizer.json).
    #[arg(long)]
    bertscore: Option<PathBuf>,
    /// BERTScore: hidden layer (1-based, as bert-score's `num_layers`; default the last).
    #[arg(long, requires = "bertscore")]
    bertscore_layer: Option<usize>,
    /// BERTScore: idf weighting from the references (bert-score's `idf=True`).
    #[arg(long, requires = "bertscore")]
    idf: bool,
    /// BERTScore: rescale with baselines from this bert-score baseline file (`.tsv`).
    #[arg(long, requires = "bertscore")]
    baseline: Option<PathBuf>,
    /// GREEN judge model (folder or GGUF; needs a build with `--features green`).
    #[arg(long)]
    green: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Add wall-clock seconds of each stage to the output.
    #[arg(long)]
    timings: bool,
    /// Write the paper's table columns (Avg. BLEU, METEOR, Avg. ROUGE-1/2, ROUGE-L,
    /// BERTScore-F1, GREEN) for each system: `.csv` or `.md`.
    #[arg(long)]
    table: Option<PathBuf>,
    /// Write every per-sample score of system A as CSV.
    #[arg(long)]
    per_sample: Option<PathBuf>,
    /// Write the bootstrap intervals of each system as an SVG chart (needs --bootstrap).
    #[arg(long, requires = "bootstrap")]
    plot: Option<PathBuf>,
    /// Name of system A in tables and charts.
    #[arg(long, default_value = "A")]
    name: String,
    /// Name of system B in tables and charts.
    #[arg(long, default_value = "B")]
    compare_name: String,
    /// Where BERTScore and GREEN run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Runs `rad3d evaluate`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    if cfg!(not(feature = "bertscore")) && args.bertscore.is_some() {
        return usage(
            "--bertscore: this rad3d was built without BERTScore; build it with the default \
             features (`cargo install --path crates/rad3d-cli`)",
        );
    }
    if cfg!(not(feature = "green")) && args.green.is_some() {
        return usage(
            "--green: this rad3d was built without GREEN; build it with \
             `cargo install --path crates/rad3d-cli --features green`",
        );
    }
    crate::cmd::refuse_same_input(&args.refs, &args.hyps, "--hyps")?;
    if let Some(b) = &args.compare {
        crate::cmd::refuse_same_input(&args.refs, b, "--compare")?;
        crate::cmd::refuse_same_input(&args.hyps, b, "--compare")?;
    }
    if let Some(table) = &args.table {
        let ext = table.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "csv" | "md") {
            return usage(format!(
                "--table {}: name it *.csv or *.md",
                table.display()
            ));
        }
    }
    let device = args.device;
    run_on(device, Evaluate(args))
}

/// The evaluation, with its models on the chosen backend.
struct Evaluate(Args);

impl OnBackend for Evaluate {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        evaluate::<B>(&self.0, &device)
    }
}

/// The model-based metrics asked for, loaded on `B`.
struct Models<B: Backend> {
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
    #[cfg_attr(
        not(any(feature = "bertscore", feature = "green")),
        allow(unused_variables)
    )]
    fn load(args: &Args, device: &B::Device) -> Result<Self> {
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
}

fn evaluate<B: Backend>(args: &Args, device: &B::Device) -> Result<Outcome> {
    let tokenize: Tokenize = args
        .tokenize
        .parse()
        .map_err(|e| UsageError(format!("--tokenize: {e}")))?;
    let cider_df = match args.cider_df.as_str() {
        "corpus" => DfMode::Corpus,
        "fixed" => DfMode::Fixed,
        other => {
            return usage(format!(
                "--cider-df must be `corpus` or `fixed`, got {other:?}"
            ));
        }
    };
    let options = EvaluateOptions {
        tokenize,
        cider_df,
        bootstrap: args.bootstrap,
        compare_resamples: args.resamples,
        seed: args.seed,
        confidence: 0.95,
        timings: args.timings,
        meteor_approx: args.meteor_approx,
    };
    let mut files = EvaluateFiles::new(&args.refs, &args.hyps);
    files.compare = args.compare.clone();
    files.meteor_dir = args.meteor_dir.clone();
    files.ref_columns = ReportColumns {
        id: args.id_column.clone(),
        text: args.text_column.clone(),
    };
    files.hyp_columns = ReportColumns {
        id: args.id_column.clone(),
        text: args.hyp_text_column.clone(),
    };
    let models = Models::<B>::load(args, device)?;
    #[cfg(feature = "bertscore")]
    let bertscore = models.bertscore.as_ref().map(|(scorer, options)| {
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
    if let Some(g) = &models.green {
        providers.push(g);
    }
    let a = evaluate_files(&files, &providers, &options)?;
    // System B on its own (same references, same models) for its table row and chart.
    let b = match &args.compare {
        Some(path) if args.table.is_some() || args.plot.is_some() => {
            let mut only_b = files.clone();
            only_b.hyps = path.clone();
            only_b.compare = None;
            Some(evaluate_files(&only_b, &providers, &options)?)
        }
        _ => None,
    };
    let mut systems: Vec<(&str, &Evaluation)> = vec![(args.name.as_str(), &a)];
    if let Some(b) = &b {
        systems.push((args.compare_name.as_str(), b));
    }
    if let Some(path) = &args.table {
        if path.extension().is_some_and(|e| e == "md") {
            rad3d_prefix::io::write_atomic(path, table_markdown(&systems)?.as_bytes())?;
        } else {
            write_table_csv(path, &systems)?;
        }
    }
    if let Some(path) = &args.per_sample {
        a.write_per_sample_csv(path)?;
    }
    if let Some(path) = &args.plot {
        write_interval_chart(path, &systems)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        print_table(&a, &args.tokenize);
    }
    Ok(Outcome::Done)
}

/// The human-readable table: every value, its interval and the comparison with B.
fn print_table(ev: &Evaluation, tokenize: &str) {
    println!(
        "{} report pairs; pycocoevalcap metrics on `{tokenize}`-tokenized text; sacreBLEU {}",
        ev.samples, ev.sacrebleu_signature
    );
    if let Some(note) = &ev.meteor_note {
        println!("note: {note}");
    }
    let mut header = format!("{:<12} {:>9}", "metric", "A");
    if ev.bootstrap.is_some() {
        header.push_str(&format!("  {:>21}", "95% CI"));
    }
    if ev.compare.is_some() {
        header.push_str(&format!(
            "  {:>9} {:>9} {:>21} {:>8}",
            "B", "B-A", "95% CI of B-A", "p(perm)"
        ));
    }
    println!("{header}");
    for (k, (name, v)) in ev.values.iter().enumerate() {
        let mut line = format!("{name:<12} {v:>9.4}");
        if let Some(c) = &ev.bootstrap {
            let i = c.intervals[k].interval;
            line.push_str(&format!("  [{:>9.4}, {:>9.4}]", i.lower, i.upper));
        }
        if let Some(c) = &ev.compare {
            let (perm, boot) = (&c.permutation[k], &c.bootstrap[k]);
            line.push_str(&format!(
                "  {:>9.4} {:>+9.4} [{:>+9.4}, {:>+9.4}] {:>8.4}",
                perm.b, boot.delta.point, boot.delta.lower, boot.delta.upper, perm.p_value
            ));
        }
        println!("{line}");
    }
    if let Some(seconds) = &ev.seconds {
        println!("seconds: {seconds:?}");
    }
}
