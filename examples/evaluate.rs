//! Score generated reports against references with every metric the paper reports.
//!
//! ```text
//! cargo run --release --example evaluate -- --refs REFS.txt --hyps HYPS.txt \
//!     [--tokenize none|basic] [--bootstrap 5000] [--compare HYPS_B.txt] \
//!     [--bertscore MODEL_DIR] [--green JUDGE] [--json]
//! ```
//! Inputs: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column (`id`,
//! `*_id`, `study`, `volume…`) and a text column (`report`, `text`, `findings`, …);
//! id-keyed files are joined on the id. pycocoevalcap metrics (BLEU-1..4, METEOR, ROUGE-L,
//! CIDEr-D) see the `--tokenize`d text (default `basic`: lower-case, `. , ; : ? ! ( )` split
//! off); rouge-score (Porter stemmer on, mean F over pairs) and sacreBLEU (13a) see the raw
//! text, as their Python packages do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rad3d_prefix::metrics::coco::{CiderD, CocoBleu, DfMode, coco_rouge_l};
use rad3d_prefix::metrics::meteor::{Meteor, MeteorMode, MeteorResources, MeteorResult};
use rad3d_prefix::metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_prefix::metrics::sacrebleu::SacreBleu;
use rad3d_prefix::metrics::significance::{
    PairedResult, ResampleConfig, bootstrap, paired_bootstrap, paired_permutation,
};
use rad3d_prefix::metrics::text::Tokenize;
use rad3d_prefix::metrics::{Corpus, CorpusMetric, MeanMetric};
use serde_json::{Map, Value, json};

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
    /// METEOR data directory (default: target/assets/meteor).
    #[arg(long)]
    meteor_dir: Option<PathBuf>,
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

/// Reads reports with their ids (line numbers for plain text).
fn read_reports(path: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => read_csv(&text).with_context(|| format!("parsing {}", path.display())),
        "jsonl" | "ndjson" => {
            read_jsonl(&text).with_context(|| format!("parsing {}", path.display()))
        }
        _ => Ok(text
            .lines()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.trim_end_matches('\r').to_string()))
            .collect()),
    }
}

fn is_id_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id"
        || n.ends_with("_id")
        || n.ends_with("id_")
        || n == "study"
        || n.starts_with("volume")
        || n == "accession"
}

/// Picks (id column, text column) from the header names.
fn pick_columns(names: &[String]) -> Result<(usize, usize)> {
    let id = names
        .iter()
        .position(|n| is_id_column(n))
        .context("no id column (id, *_id, study, volume…)")?;
    const TEXT: [&str; 10] = [
        "report",
        "text",
        "findings",
        "findings_en",
        "generated",
        "prediction",
        "hypothesis",
        "reference",
        "hyp",
        "ref",
    ];
    let text = TEXT
        .iter()
        .find_map(|t| names.iter().position(|n| n.eq_ignore_ascii_case(t)))
        .or_else(|| (0..names.len()).rev().find(|&i| i != id))
        .context("no text column")?;
    Ok((id, text))
}

/// Minimal RFC 4180 CSV: quoted fields may hold commas, quotes (`""`) and newlines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn read_csv(text: &str) -> Result<Vec<(String, String)>> {
    let rows = parse_csv(text);
    let Some((header, body)) = rows.split_first() else {
        bail!("empty CSV")
    };
    let (id, txt) = pick_columns(header)?;
    body.iter()
        .enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(i, r)| {
            let get = |k: usize| {
                r.get(k)
                    .cloned()
                    .with_context(|| format!("row {}: missing column {k}", i + 2))
            };
            Ok((get(id)?, get(txt)?))
        })
        .collect()
}

fn read_jsonl(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cols = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line).with_context(|| format!("line {}", i + 1))?;
        let obj = v
            .as_object()
            .with_context(|| format!("line {}: not an object", i + 1))?;
        let names: Vec<String> = obj.keys().cloned().collect();
        let (id, txt) = match &cols {
            Some(c) => c,
            None => {
                let (a, b) = pick_columns(&names)?;
                cols.insert((names[a].clone(), names[b].clone()))
            }
        };
        let field = |k: &str| -> Result<String> {
            match obj.get(k) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => bail!("line {}: no field {k:?}", i + 1),
            }
        };
        out.push((field(id)?, field(txt)?));
    }
    Ok(out)
}

/// Hypotheses in reference order: joined on ids for id-keyed files, by line otherwise.
fn align(
    refs: &[(String, String)],
    hyps: Vec<(String, String)>,
    what: &Path,
) -> Result<Vec<String>> {
    if refs.len() != hyps.len() {
        bail!(
            "{}: {} reports but {} references",
            what.display(),
            hyps.len(),
            refs.len()
        );
    }
    let mut by_id: HashMap<String, String> = hyps.into_iter().collect();
    refs.iter()
        .map(|(id, _)| {
            by_id
                .remove(id)
                .with_context(|| format!("{}: no report with id {id:?}", what.display()))
        })
        .collect()
}

/// Every corpus metric of one system.
struct System {
    bleu: CocoBleu,
    /// Per-sample statistics; a resample sums those drawn, as the jar's `EVAL` line does.
    meteor: MeteorResult,
    rouge_l: MeanMetric,
    cider: CiderD,
    rouge: MeanMetric,
    sacre: SacreBleu,
    /// Model-based per-sample metrics (BERTScore, GREEN) when requested.
    extra: Vec<MeanMetric>,
}

impl System {
    /// Scores `raw` with every metric, recording each metric's seconds in `seconds`.
    fn score(
        raw: &Corpus,
        tokenize: Tokenize,
        df: DfMode,
        meteor: &Meteor,
        seconds: &mut Map<String, Value>,
    ) -> Self {
        let mut timed = |name: &str, clock: Instant| {
            seconds.insert(name.to_string(), json!(clock.elapsed().as_secs_f64()));
        };
        let clock = Instant::now();
        let tok = raw.map_text(|t| tokenize.apply(t));
        timed("tokenize", clock);
        let pairs: Vec<(Vec<&str>, &str)> = tok
            .refs
            .iter()
            .zip(&tok.hyps)
            .map(|(rs, h)| (rs.iter().map(String::as_str).collect(), h.as_str()))
            .collect();
        let clock = Instant::now();
        let met = meteor.corpus(&pairs);
        timed("meteor", clock);
        let clock = Instant::now();
        let bleu = CocoBleu::new(&tok);
        timed("bleu", clock);
        let clock = Instant::now();
        let rouge_l = coco_rouge_l(&tok);
        timed("rouge_l", clock);
        let clock = Instant::now();
        let cider = CiderD::with_mode(&tok, df);
        timed("cider_d", clock);
        let clock = Instant::now();
        let types = [
            RougeType::N(1),
            RougeType::N(2),
            RougeType::L,
            RougeType::Lsum,
        ];
        let rouge_all = RougeScorer::new(&types, true).corpus(raw);
        timed("rouge_score_4_types", clock);
        let names = rouge_all.names();
        let keep = ["rouge1_f", "rouge2_f", "rougeL_f"];
        let cols = keep
            .iter()
            .map(|k| {
                rouge_all
                    .column(names.iter().position(|n| n == k).expect("scored"))
                    .to_vec()
            })
            .collect();
        let clock = Instant::now();
        let sacre = SacreBleu::new(raw);
        timed("sacrebleu", clock);
        Self {
            bleu,
            meteor: met,
            rouge_l,
            cider,
            rouge: MeanMetric::new(keep.iter().map(|s| s.to_string()).collect(), cols)
                .expect("columns"),
            sacre,
            extra: Vec::new(),
        }
    }

    fn metrics(&self) -> [&dyn CorpusMetric; 6] {
        [
            &self.bleu,
            &self.meteor,
            &self.rouge_l,
            &self.cider,
            &self.rouge,
            &self.sacre,
        ]
    }

    /// `(name, value)` in output order.
    fn scores(&self) -> Vec<(String, f64)> {
        self.metrics()
            .iter()
            .flat_map(|m| m.names().into_iter().zip(m.score()))
            .collect()
    }
}

fn paired(
    a: &System,
    b: &System,
    cfg: &ResampleConfig,
    permutation: bool,
) -> Result<Vec<PairedResult>> {
    Ok(if permutation {
        [
            paired_permutation(&a.bleu, &b.bleu, cfg)?,
            paired_permutation(&a.meteor, &b.meteor, cfg)?,
            paired_permutation(&a.rouge_l, &b.rouge_l, cfg)?,
            paired_permutation(&a.cider, &b.cider, cfg)?,
            paired_permutation(&a.rouge, &b.rouge, cfg)?,
            paired_permutation(&a.sacre, &b.sacre, cfg)?,
            a.extra
                .iter()
                .zip(&b.extra)
                .map(|(x, y)| paired_permutation(x, y, cfg))
                .collect::<rad3d_prefix::metrics::Result<Vec<_>>>()?
                .concat(),
        ]
        .concat()
    } else {
        let mut out = Vec::new();
        for (x, y) in a.metrics().iter().zip(b.metrics()) {
            out.extend(paired_bootstrap(*x, y, cfg)?);
        }
        out
    })
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

    /// Per-sample model-based scores of `corpus` (raw text), as mean metrics.
    #[cfg_attr(
        not(any(feature = "bertscore", feature = "green")),
        allow(unused_variables)
    )]
    fn score(&self, corpus: &Corpus) -> Result<Vec<MeanMetric>> {
        #[allow(unused_mut)]
        let mut out = Vec::new();
        #[cfg(any(feature = "bertscore", feature = "green"))]
        let refs: Vec<&str> = corpus.refs.iter().map(|r| r[0].as_str()).collect();
        #[cfg(feature = "bertscore")]
        if let Some(scorer) = &self.bertscore {
            let opts = rad3d_prefix::metrics::bertscore::BertScoreOptions::default();
            let r = scorer.score(&refs, &corpus.hyps, &opts)?;
            let col = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
            out.push(MeanMetric::new(
                vec![
                    "bertscore_p".into(),
                    "bertscore_r".into(),
                    "bertscore_f".into(),
                ],
                vec![col(&r.precision), col(&r.recall), col(&r.f1)],
            )?);
        }
        #[cfg(feature = "green")]
        if let Some(judge) = &self.green {
            let r = judge.score(&refs, &corpus.hyps)?;
            let col = r.samples.iter().map(|s| s.green).collect();
            out.push(MeanMetric::new(vec!["green".into()], vec![col])?);
        }
        Ok(out)
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

    let refs = read_reports(&args.refs)?;
    let hyps = align(&refs, read_reports(&args.hyps)?, &args.hyps)?;
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

    let clock = Instant::now();
    let mut a = System::score(&corpus, tokenize, df, &meteor, &mut seconds);
    seconds.insert(
        "score_all_metrics".into(),
        json!(clock.elapsed().as_secs_f64()),
    );
    let models = Models::load(&args)?;
    let clock = Instant::now();
    a.extra = models.score(&corpus)?;
    if !a.extra.is_empty() {
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
        let res = bootstrap(&a.metrics(), &cfg)?;
        seconds.insert("bootstrap".into(), json!(clock.elapsed().as_secs_f64()));
        let mut ci = Map::new();
        for r in &res {
            ci.insert(
                r.name.clone(),
                json!({"lower": r.interval.lower, "upper": r.interval.upper}),
            );
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
        let hyps_b = align(&refs, read_reports(path)?, path)?;
        let corpus_b = corpus.with_hyps(hyps_b)?;
        let mut b = System::score(&corpus_b, tokenize, df, &meteor, &mut Map::new());
        b.extra = models.score(&corpus_b)?;
        let n = args.resamples.or(args.bootstrap).unwrap_or(5000);
        let cfg = ResampleConfig {
            resamples: n,
            confidence: 0.95,
            seed: args.seed,
        };
        let clock = Instant::now();
        let perm = paired(&a, &b, &cfg, true)?;
        seconds.insert(
            "paired_permutation".into(),
            json!(clock.elapsed().as_secs_f64()),
        );
        let clock = Instant::now();
        let boot = paired(&a, &b, &cfg, false)?;
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
        return Ok(());
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
        if let Some(c) = &cis {
            line.push_str(&format!(
                "  [{:>9.4}, {:>9.4}]",
                c[k].interval.lower, c[k].interval.upper
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
    Ok(())
}
