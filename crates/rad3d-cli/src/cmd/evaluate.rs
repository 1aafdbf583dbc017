//! `rad3d evaluate`: score generated reports against references with every metric the
//! paper reports, with bootstrap intervals and paired tests.
//!
//! Inputs: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column (`id`,
//! `*_id`, `study`, `volume…`) and a text column (`report`, `text`, `findings`, …);
//! id-keyed files are joined on the id. pycocoevalcap metrics (BLEU-1..4, METEOR, ROUGE-L,
//! CIDEr-D) see the `--tokenize`d text (default `basic`: lower-case, `. , ; : ? ! ( )` split
//! off); rouge-score (Porter stemmer on, mean F over pairs) and sacreBLEU (13a) see the raw
//! text, as their Python packages do. BERTScore (`--bertscore DIR`) and GREEN (`--green
//! JUDGE`, with the `green` feature) run on `--device`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rad3d_prefix::metrics::coco::DfMode;
use rad3d_prefix::metrics::meteor::{Meteor, MeteorMode, MeteorResources};
use rad3d_prefix::metrics::reports::{align_reports, read_reports};
use rad3d_prefix::metrics::significance::ResampleConfig;
use rad3d_prefix::metrics::text::Tokenize;
use rad3d_prefix::metrics::{Corpus, MetricSuite, SuiteConfig};
use serde_json::{Map, Value, json};

use crate::device::{DeviceChoice, OnBackend, run_on};
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
    /// METEOR data folder (default: found at run time; see `docs/ct-rate.md`).
    #[arg(long)]
    meteor_dir: Option<PathBuf>,
    /// BERTScore model folder (HF BERT/RoBERTa: config.json, safetensors, tokenizer.json).
    #[arg(long)]
    bertscore: Option<PathBuf>,
    /// GREEN judge model (folder or GGUF).
    #[arg(long)]
    green: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Add wall-clock seconds of each stage to the output.
    #[arg(long)]
    timings: bool,
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
    let device = args.device;
    run_on(device, Evaluate(args))
}

/// The model-based metrics requested on the command line, each behind its feature.
struct Models<B: Backend> {
    #[cfg(feature = "bertscore")]
    bertscore: Option<rad3d_prefix::metrics::bertscore::BertScorer<B>>,
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
                Some(dir) => Some(
                    rad3d_prefix::metrics::bertscore::BertScorer::load(dir, None, device)
                        .with_context(|| format!("loading BERTScore model {}", dir.display()))?,
                ),
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

    /// Adds the model-based per-sample scores of `corpus` (raw text) to `suite`.
    #[cfg_attr(
        not(any(feature = "bertscore", feature = "green")),
        allow(unused_variables)
    )]
    fn score(&self, corpus: &Corpus, suite: &mut MetricSuite) -> Result<()> {
        #[cfg(feature = "bertscore")]
        if let Some(scorer) = &self.bertscore {
            let opts = rad3d_prefix::metrics::bertscore::BertScoreOptions::default();
            suite.add_model_metric(rad3d_prefix::metrics::suite::bertscore_metric(
                scorer, corpus, &opts,
            )?);
        }
        #[cfg(feature = "green")]
        if let Some(judge) = &self.green {
            suite.add_model_metric(rad3d_prefix::metrics::suite::green_metric(judge, corpus)?);
        }
        Ok(())
    }
}

/// The evaluation, with its models on the chosen backend.
struct Evaluate(Args);

impl OnBackend for Evaluate {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        evaluate::<B>(&self.0, &device)
    }
}

fn evaluate<B: Backend>(args: &Args, device: &B::Device) -> Result<Outcome> {
    let tokenize: Tokenize = args
        .tokenize
        .parse()
        .map_err(|e| crate::outcome::UsageError(format!("--tokenize: {e}")))?;
    let df = match args.cider_df.as_str() {
        "corpus" => DfMode::Corpus,
        "fixed" => DfMode::Fixed,
        other => {
            return usage(format!(
                "--cider-df must be `corpus` or `fixed`, got {other:?}"
            ));
        }
    };

    let refs = read_reports(&args.refs)?;
    let hyps = align_reports(&refs, read_reports(&args.hyps)?, &args.hyps)?;
    let ref_texts: Vec<String> = refs.iter().map(|(_, t)| t.clone()).collect();
    let corpus = Corpus::single(hyps, ref_texts)?;
    let resources = match &args.meteor_dir {
        Some(d) => MeteorResources::from_dir(d),
        None => MeteorResources::default_location(),
    };
    let mut seconds = Map::new();
    let clock = Instant::now();
    let meteor = Meteor::new(&resources)?;
    seconds.insert(
        "load_meteor_data".into(),
        json!(clock.elapsed().as_secs_f64()),
    );
    let meteor_note = (meteor.mode() == MeteorMode::ExactStem).then(|| {
        "METEOR: synonym/paraphrase data missing (run scripts/fetch-assets.sh): exact + stem \
         matching only, not METEOR 1.5"
            .to_string()
    });

    let config = SuiteConfig {
        tokenize,
        cider_df: df,
    };
    let clock = Instant::now();
    let mut a = MetricSuite::score(&corpus, &meteor, &config);
    for (stage, s) in &a.seconds {
        seconds.insert(stage.clone(), json!(s));
    }
    seconds.insert(
        "score_all_metrics".into(),
        json!(clock.elapsed().as_secs_f64()),
    );
    let models = Models::<B>::load(args, device)?;
    let clock = Instant::now();
    models.score(&corpus, &mut a)?;
    if !a.model_metrics.is_empty() {
        seconds.insert("model_metrics".into(), json!(clock.elapsed().as_secs_f64()));
    }
    let mut out = Map::new();
    for (name, v) in a.scores() {
        out.insert(name, json!(v));
    }
    out.insert("samples".into(), json!(corpus.len()));
    if let Some(note) = &meteor_note {
        out.insert("meteor_note".into(), json!(note));
    }

    let mut cis = None;
    if let Some(n) = args.bootstrap {
        let cfg = ResampleConfig {
            resamples: n,
            confidence: 0.95,
            seed: args.seed,
        };
        let clock = Instant::now();
        let res = a.bootstrap(&cfg)?.all;
        seconds.insert("bootstrap".into(), json!(clock.elapsed().as_secs_f64()));
        let mut ci = Map::new();
        for r in &res {
            if let Some(interval) = r.ci {
                ci.insert(
                    r.name.clone(),
                    json!({"lower": interval.lower, "upper": interval.upper}),
                );
            }
        }
        out.insert("ci".into(), Value::Object(ci));
        out.insert(
            "bootstrap".into(),
            json!({"resamples": n, "confidence": 0.95, "seed": args.seed}),
        );
        cis = Some(res);
    }

    let mut comparison = None;
    if let Some(path) = &args.compare {
        let hyps_b = align_reports(&refs, read_reports(path)?, path)?;
        let corpus_b = corpus.with_hyps(hyps_b)?;
        let mut b = MetricSuite::score(&corpus_b, &meteor, &config);
        models.score(&corpus_b, &mut b)?;
        let n = args.resamples.or(args.bootstrap).unwrap_or(5000);
        let cfg = ResampleConfig {
            resamples: n,
            confidence: 0.95,
            seed: args.seed,
        };
        let clock = Instant::now();
        let perm = a.paired_permutation(&b, &cfg)?;
        seconds.insert(
            "paired_permutation".into(),
            json!(clock.elapsed().as_secs_f64()),
        );
        let clock = Instant::now();
        let boot = a.paired_bootstrap(&b, &cfg)?;
        seconds.insert(
            "paired_bootstrap".into(),
            json!(clock.elapsed().as_secs_f64()),
        );
        let mut p = Map::new();
        let mut pb = Map::new();
        let mut cmp = Map::new();
        for (x, y) in perm.iter().zip(&boot) {
            p.insert(x.name.clone(), json!(x.p_value));
            pb.insert(y.name.clone(), json!(y.p_value));
            cmp.insert(
                x.name.clone(),
                json!({"b": x.b, "delta": y.delta.point, "delta_lower": y.delta.lower, "delta_upper": y.delta.upper}),
            );
        }
        out.insert("p_value".into(), Value::Object(p));
        out.insert("p_value_paired_bootstrap".into(), Value::Object(pb));
        out.insert(
            "compare".into(),
            json!({"file": path.display().to_string(), "resamples": n, "metrics": cmp}),
        );
        comparison = Some((perm, boot));
    }

    if args.timings {
        out.insert("seconds".into(), Value::Object(seconds.clone()));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&Value::Object(out))?);
        return Ok(Outcome::Done);
    }
    println!(
        "{} report pairs; pycocoevalcap metrics on `{}`-tokenized text",
        corpus.len(),
        args.tokenize
    );
    if let Some(note) = &meteor_note {
        println!("note: {note}");
    }
    let mut header = format!("{:<10} {:>9}", "metric", "A");
    if cis.is_some() {
        header.push_str(&format!("  {:>21}", "95% CI"));
    }
    if comparison.is_some() {
        header.push_str(&format!(
            "  {:>9} {:>9} {:>21} {:>8}",
            "B", "B-A", "95% CI of B-A", "p(perm)"
        ));
    }
    println!("{header}");
    for (k, (name, v)) in a.scores().iter().enumerate() {
        let mut line = format!("{name:<10} {v:>9.4}");
        if let Some(interval) = cis.as_ref().and_then(|c| c[k].ci) {
            line.push_str(&format!(
                "  [{:>9.4}, {:>9.4}]",
                interval.lower, interval.upper
            ));
        }
        if let Some((perm, boot)) = &comparison {
            line.push_str(&format!(
                "  {:>9.4} {:>+9.4} [{:>+9.4}, {:>+9.4}] {:>8.4}",
                perm[k].b,
                boot[k].delta.point,
                boot[k].delta.lower,
                boot[k].delta.upper,
                perm[k].p_value
            ));
        }
        println!("{line}");
    }
    if args.timings {
        println!("seconds: {}", Value::Object(seconds));
    }
    Ok(Outcome::Done)
}
