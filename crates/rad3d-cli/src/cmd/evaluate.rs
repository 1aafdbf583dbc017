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

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::Backend;
use rad3d_prefix::metrics::evaluation::{
    EvaluateFiles, Evaluation, ModelMetric, evaluate_files, table_markdown, write_interval_chart,
    write_table_csv,
};

use crate::cmd::scoring::{Models, ScoringArgs};
use crate::device::{OnBackend, run_on};
use crate::outcome::{Outcome, usage};

/// Flags of `rad3d evaluate`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Reference reports (.txt one per line, .csv or .jsonl with id and text columns).
    #[arg(long)]
    refs: PathBuf,
    /// Generated reports (system A), same formats.
    #[arg(long)]
    hyps: PathBuf,
    /// Bootstrap resamples for 95 % confidence intervals of every metric.
    #[arg(long)]
    bootstrap: Option<usize>,
    /// A second system's reports: paired permutation and paired bootstrap tests against A.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Resamples of the paired tests (default: --bootstrap, else 5000).
    #[arg(long)]
    resamples: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
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
    #[command(flatten)]
    scoring: ScoringArgs,
}

/// Runs `rad3d evaluate`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    args.scoring.check_features()?;
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
    let device = args.scoring.device;
    run_on(device, Evaluate(args))
}

/// The evaluation, with its models on the chosen backend.
struct Evaluate(Args);

impl OnBackend for Evaluate {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let models = Models::<B>::load(&self.0.scoring, &device)?;
        models.with_providers(|providers| evaluate(&self.0, providers))
    }
}

fn evaluate(args: &Args, providers: &[&dyn ModelMetric]) -> Result<Outcome> {
    let options = args.scoring.options(args.bootstrap, args.resamples)?;
    let mut files = EvaluateFiles::new(&args.refs, &args.hyps);
    files.compare = args.compare.clone();
    files.meteor_dir = args.scoring.meteor_dir.clone();
    files.ref_columns = args.scoring.ref_columns();
    files.hyp_columns = args.scoring.hyp_columns();
    let a = evaluate_files(&files, providers, &options)?;
    // System B on its own (same references, same models) for its table row and chart.
    let b = match &args.compare {
        Some(path) if args.table.is_some() || args.plot.is_some() => {
            let mut only_b = files.clone();
            only_b.hyps = path.clone();
            only_b.compare = None;
            Some(evaluate_files(&only_b, providers, &options)?)
        }
        _ => None,
    };
    let mut systems: Vec<(&str, &Evaluation)> = vec![(args.name.as_str(), &a)];
    if let Some(b) = &b {
        systems.push((args.compare_name.as_str(), b));
    }
    if let Some(path) = &args.table {
        write_table(path, &systems)?;
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
        print_table(&a, &args.scoring.tokenize);
    }
    Ok(Outcome::Done)
}

/// Writes the paper's table as Markdown (`*.md`) or CSV (anything else).
pub(crate) fn write_table(path: &Path, systems: &[(&str, &Evaluation)]) -> Result<()> {
    if path.extension().is_some_and(|e| e == "md") {
        rad3d_prefix::io::write_atomic(path, table_markdown(systems)?.as_bytes())?;
    } else {
        write_table_csv(path, systems)?;
    }
    Ok(())
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
