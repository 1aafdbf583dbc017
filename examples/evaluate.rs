//! Score generated reports against references with every metric the paper reports.
//!
//! ```text
//! cargo run --release --example evaluate -- --refs REFS.txt --hyps HYPS.txt \
//!     [--tokenize none|basic] [--bootstrap 5000] [--compare HYPS_B.txt] \
//!     [--bertscore MODEL_DIR] [--green JUDGE] [--meteor-dir DIR | --meteor-approx] [--json]
//! ```
//! The job itself is `rad3d_metrics::evaluation::evaluate_files`; this prints its result.
//! Inputs: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column (`id`,
//! `*_id`, `study`, `volume…`) and a text column (`report`, `text`, `findings`, …);
//! id-keyed files are joined on the id. pycocoevalcap metrics (BLEU-1..4, METEOR, ROUGE-L,
//! CIDEr-D) see the `--tokenize`d text (default `basic`: lower-case, `. , ; : ? ! ( )` split
//! off); rouge-score (Porter stemmer on, mean F over pairs) and sacreBLEU (13a) see the raw
//! text, as their Python packages do.

use std::path::PathBuf;

#[cfg(any(feature = "bertscore", feature = "green"))]
use anyhow::Context;
use anyhow::{Result, bail};
use clap::Parser;
use rad3d_prefix::metrics::coco::DfMode;
use rad3d_prefix::metrics::evaluation::{
    EvaluateFiles, EvaluateOptions, ModelMetric, evaluate_files,
};
use rad3d_prefix::metrics::text::Tokenize;

#[derive(Parser, Debug)]
#[command(about = "Report-generation metrics exact to the reference tools, with bootstrap CIs")]
struct Args {
    /// Reference reports (.txt one per line, .csv or .jsonl with id and text columns).
    #[arg(long)]
    refs: PathBuf,
    /// Generated reports (system A), same formats.
    #[arg(long)]
    hyps: PathBuf,
    /// Tokenization for the pycocoevalcap metrics: `none` (text as given) or `basic`.
    #[arg(long, default_value = "basic")]
    tokenize: String,
    /// Bootstrap resamples for 95 % confidence intervals of every corpus metric.
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
    /// METEOR data directory (default: the first of $RAD3D_ASSETS/meteor, the per-user
    /// data directory and target/assets/meteor that holds the data).
    #[arg(long)]
    meteor_dir: Option<PathBuf>,
    /// Score METEOR with exact + stem matching only (no synonym/paraphrase data; not
    /// METEOR 1.5).
    #[arg(long)]
    meteor_approx: bool,
    /// BERTScore model directory (HF BERT/RoBERTa: config.json, safetensors, tokenizer.json).
    #[arg(long)]
    bertscore: Option<PathBuf>,
    /// GREEN judge model (directory or GGUF).
    #[arg(long)]
    green: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Add wall-clock seconds of each stage to the output.
    #[arg(long)]
    timings: bool,
}

/// The model-based metrics requested on the command line (BERTScore, GREEN), each behind
/// its feature.
struct Models {
    #[cfg(feature = "bertscore")]
    bertscore: Option<rad3d_prefix::metrics::bertscore::BertScorer<burn::backend::Flex>>,
    #[cfg(feature = "green")]
    green: Option<rad3d_prefix::metrics::green::Green<burn::backend::Flex>>,
}

impl Models {
    #[cfg_attr(
        not(any(feature = "bertscore", feature = "green")),
        allow(unused_variables)
    )]
    fn load(args: &Args) -> Result<Self> {
        #[cfg(any(feature = "bertscore", feature = "green"))]
        let device = Default::default();
        Ok(Self {
            #[cfg(feature = "bertscore")]
            bertscore: match &args.bertscore {
                Some(dir) => Some(
                    rad3d_prefix::metrics::bertscore::BertScorer::load(dir, None, &device)
                        .with_context(|| format!("loading BERTScore model {}", dir.display()))?,
                ),
                None => None,
            },
            #[cfg(feature = "green")]
            green: match &args.green {
                Some(judge) => Some(
                    rad3d_prefix::metrics::green::Green::new(judge, &device)
                        .with_context(|| format!("loading GREEN judge {}", judge.display()))?,
                ),
                None => None,
            },
        })
    }

    /// The loaded models as metric providers.
    fn providers(&self) -> Vec<&dyn ModelMetric> {
        #[allow(unused_mut)]
        let mut out: Vec<&dyn ModelMetric> = Vec::new();
        #[cfg(feature = "bertscore")]
        if let Some(scorer) = &self.bertscore {
            out.push(scorer);
        }
        #[cfg(feature = "green")]
        if let Some(judge) = &self.green {
            out.push(judge);
        }
        out
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let tokenize: Tokenize = args.tokenize.parse()?;
    let df = match args.cider_df.as_str() {
        "corpus" => DfMode::Corpus,
        "fixed" => DfMode::Fixed,
        other => bail!("--cider-df must be `corpus` or `fixed`, got {other:?}"),
    };
    #[cfg(not(feature = "bertscore"))]
    if args.bertscore.is_some() {
        bail!(
            "--bertscore needs the `bertscore` feature: cargo run --release --features bertscore --example evaluate"
        );
    }
    #[cfg(not(feature = "green"))]
    if args.green.is_some() {
        bail!(
            "--green needs the `green` feature: cargo run --release --features green --example evaluate"
        );
    }

    let options = EvaluateOptions {
        tokenize,
        cider_df: df,
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
    let models = Models::load(&args)?;
    let ev = evaluate_files(&files, &models.providers(), &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
        return Ok(());
    }
    println!(
        "{} report pairs; pycocoevalcap metrics on `{}`-tokenized text",
        ev.samples, args.tokenize
    );
    if let Some(note) = &ev.meteor_note {
        println!("note: {note}");
    }
    let mut header = format!("{:<10} {:>9}", "metric", "A");
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
        let mut line = format!("{name:<10} {v:>9.4}");
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
    Ok(())
}
