//! `rad3d compare`: several systems' reports against one reference set, laid out as the
//! paper's Tables 1, 2 and 4 — a thin layer over
//! `rad3d_prefix::metrics::evaluation::compare_systems`.
//!
//! Every system gets every metric with bootstrap intervals; every system but the one named
//! by `--against` is tested against it (paired permutation and paired bootstrap tests, as
//! `rad3d evaluate --compare` does for one pair). The output folder receives the paper's
//! columns (`table.md`, `table.csv`), each value with its interval and p-value
//! (`significance.md`, `significance.csv`), the interval chart (`intervals.svg`) and
//! everything as JSON (`compare.json`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rad3d_prefix::metrics::evaluation::{
    EvaluateFiles, Evaluation, ModelMetric, System, compare_systems, significance_csv,
    significance_markdown, write_interval_chart,
};
use rad3d_prefix::metrics::reports::ReportSet;
use serde_json::{Value, json};

use crate::cmd::scoring::{Models, ScoringArgs};
use crate::device::{OnBackend, run_on};
use crate::outcome::{Outcome, UsageError, usage};

/// Flags of `rad3d compare`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Reference reports (.txt one per line, .csv or .jsonl with id and text columns).
    #[arg(long)]
    refs: PathBuf,
    /// A system as `NAME=PATH` (its generated reports, same formats); two or more, in the
    /// order of the table's rows.
    #[arg(long = "run", value_name = "NAME=PATH", required = true)]
    runs: Vec<String>,
    /// The system every other is tested against (default: the first --run).
    #[arg(long)]
    against: Option<String>,
    /// Bootstrap resamples for 95 % confidence intervals (the paper draws 5,000).
    #[arg(long, default_value_t = 5000)]
    bootstrap: usize,
    /// Resamples of the paired tests (default: --bootstrap).
    #[arg(long)]
    resamples: Option<usize>,
    /// Output folder: table.md/.csv, significance.md/.csv, intervals.svg, compare.json.
    #[arg(long)]
    out: PathBuf,
    /// Print the JSON (also written to compare.json) instead of the significance table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    scoring: ScoringArgs,
}

/// `NAME=PATH` flags as (name, path), checked.
fn parse_runs(runs: &[String], refs: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = Vec::with_capacity(runs.len());
    for run in runs {
        let Some((name, path)) = run.split_once('=') else {
            return usage(format!("--run {run:?}: write it as NAME=PATH"));
        };
        let name = name.trim();
        if name.is_empty() || path.is_empty() {
            return usage(format!("--run {run:?}: both NAME and PATH are needed"));
        }
        if out.iter().any(|(n, _)| n == name) {
            return usage(format!("--run: two systems are named {name:?}"));
        }
        let path = PathBuf::from(path);
        crate::cmd::refuse_same_input(refs, &path, "--run")?;
        out.push((name.to_string(), path));
    }
    if out.len() < 2 {
        return usage("--run: a comparison needs at least two systems");
    }
    Ok(out)
}

/// Runs `rad3d compare`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    args.scoring.check_features()?;
    let runs = parse_runs(&args.runs, &args.refs)?;
    let against = match &args.against {
        None => 0,
        Some(name) => runs.iter().position(|(n, _)| n == name).ok_or_else(|| {
            UsageError(format!(
                "--against {name:?}: no --run has that name (the runs: {})",
                runs.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
    };
    if args.out.is_file() {
        return usage(format!(
            "--out {}: a file; name a folder for the tables",
            args.out.display()
        ));
    }
    let device = args.scoring.device;
    run_on(
        device,
        Compare {
            args,
            runs,
            against,
        },
    )
}

/// The comparison, with its models on the chosen backend.
struct Compare {
    args: Args,
    runs: Vec<(String, PathBuf)>,
    against: usize,
}

impl OnBackend for Compare {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let models = Models::<B>::load(&self.args.scoring, &device)?;
        models.with_providers(|providers| self.compare(providers))
    }
}

impl Compare {
    fn compare(&self, providers: &[&dyn ModelMetric]) -> Result<Outcome> {
        let args = &self.args;
        let options = args.scoring.options(Some(args.bootstrap), args.resamples)?;
        options.validate(true)?;
        let refs = ReportSet::read(&args.refs, &args.scoring.ref_columns())?;
        let systems = self
            .runs
            .iter()
            .map(|(name, path)| {
                Ok(System {
                    name: name.clone(),
                    reports: ReportSet::read(path, &args.scoring.hyp_columns())?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut files = EvaluateFiles::new(&args.refs, &self.runs[0].1);
        files.meteor_dir = args.scoring.meteor_dir.clone();
        let meteor = files.meteor_source(&options).load()?;
        let evaluations =
            compare_systems(&refs, &systems, self.against, &meteor, providers, &options)?;
        let rows: Vec<(&str, &Evaluation)> = systems
            .iter()
            .map(|s| s.name.as_str())
            .zip(&evaluations)
            .collect();
        let against = systems[self.against].name.as_str();
        let out = &args.out;
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create the output folder", out.display()))?;
        let write = |name: &str, text: &str| -> Result<()> {
            Ok(rad3d_prefix::io::write_atomic(
                &out.join(name),
                text.as_bytes(),
            )?)
        };
        crate::cmd::evaluate::write_table(&out.join("table.md"), &rows)?;
        crate::cmd::evaluate::write_table(&out.join("table.csv"), &rows)?;
        let significance = significance_markdown(&rows, against);
        write("significance.md", &significance)?;
        write("significance.csv", &significance_csv(&rows)?)?;
        write_interval_chart(out.join("intervals.svg"), &rows)?;
        let json = self.json(&rows, against);
        write("compare.json", &serde_json::to_string_pretty(&json)?)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&json)?);
        } else {
            print!("{significance}");
        }
        Ok(Outcome::Done)
    }

    /// `{against, systems: [{name, file, ...evaluation}]}`.
    fn json(&self, rows: &[(&str, &Evaluation)], against: &str) -> Value {
        let systems: Vec<Value> = rows
            .iter()
            .zip(&self.runs)
            .map(|((name, e), (_, path))| {
                let mut v = e.to_json();
                if let Value::Object(m) = &mut v {
                    m.insert("name".into(), json!(name));
                    m.insert("file".into(), json!(path.display().to_string()));
                }
                v
            })
            .collect();
        json!({ "against": against, "systems": systems })
    }
}
