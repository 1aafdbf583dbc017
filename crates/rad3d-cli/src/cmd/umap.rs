//! `rad3d umap`: the paper's Fig. 6 — the prefix embeddings a trained projector gives the
//! studies of a cache (or the cached latents themselves), projected by UMAP and coloured by
//! a label.
//!
//! With `--run`, every study's projector input (its latent, and for V-3 its logits, as in
//! training) goes through the run's projector; the prefix tokens, flattened, are the points.
//! Without it the points are the cached latents. The output folder receives `umap.csv`
//! (`VolumeName`, one column per component, the colour group), `umap.svg` (one panel per
//! pair of components) and `umap.json` (settings, fitted `a`/`b`, and the embedding's
//! trustworthiness at `--neighbors`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rad3d_prefix::model::load_record;
use rad3d_prefix::projector::PrefixInput;
use rad3d_prefix::train::checkpoint::{resolve, verify};
use rad3d_prefix::train::{EmbeddingLookup, RunDir, normalize_volume_name};
use rad3d_prefix::umap::{
    Data, Embedding, Init, Umap, UmapConfig, trustworthiness, write_scatter_svg,
};
use serde_json::json;

use crate::cmd::caches::Caches;
use crate::cmd::train::{MODEL_FILE, RunModel};
use crate::outcome::{Outcome, usage};

/// Studies per projector forward.
const BATCH: usize = 256;

/// Flags of `rad3d umap`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Embedding cache of the studies to project (`rad3d embed` output).
    #[arg(long)]
    cache: PathBuf,
    /// Training run whose projector maps each study to its prefix (without it: the cached
    /// latents themselves).
    #[arg(long)]
    run: Option<PathBuf>,
    /// Which checkpoint of the run: `best` (validation) or `last`.
    #[arg(long, default_value = "best", requires = "run")]
    from: String,
    /// Classifier head whose logits replace the cached ones, as `rad3d train --classifier`.
    #[arg(long, requires = "run")]
    classifier: Option<PathBuf>,
    /// Label CSV (`VolumeName` and 0/1 label columns, CT-RATE's layout) for the colours.
    #[arg(long, requires = "color")]
    labels: Option<PathBuf>,
    /// The label column whose value colours the points.
    #[arg(long, requires = "labels")]
    color: Option<String>,
    /// UMAP components (the paper's Fig. 6 uses 3).
    #[arg(long, default_value_t = 3)]
    components: usize,
    /// Neighbours per point (umap-learn's `n_neighbors`).
    #[arg(long, default_value_t = 15)]
    neighbors: usize,
    /// Smallest distance between embedded points (umap-learn's `min_dist`).
    #[arg(long, default_value_t = 0.1)]
    min_dist: f32,
    /// Layout epochs (default: 500 up to 10,000 points, else 200).
    #[arg(long)]
    epochs: Option<usize>,
    /// Initial coordinates: `pca` or `random`.
    #[arg(long, default_value = "pca")]
    init: Init,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (umap.csv, umap.svg, umap.json).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `rad3d umap`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    if args.out.is_file() {
        return usage(format!(
            "--out {}: a file; name a folder for the embedding",
            args.out.display()
        ));
    }
    let umap = Umap::new(UmapConfig {
        n_neighbors: args.neighbors,
        n_components: args.components,
        min_dist: args.min_dist,
        n_epochs: args.epochs,
        init: args.init,
        seed: args.seed,
        ..Default::default()
    })
    .map_err(|e| crate::outcome::UsageError(e.to_string()))?;
    let mut caches = Caches::open(std::slice::from_ref(&args.cache))?;
    let device = Default::default();
    if let Some(path) = &args.classifier {
        let (head, _) = crate::cmd::classifier::load_named_head::<Flex>(path, &device)?;
        caches = caches.with_head(&head, path, &device)?;
    }
    let names: Vec<String> = caches.first().names().to_vec();
    let (points, dim, what) = match &args.run {
        Some(run) => prefixes::<Flex>(&args, run, &caches, &names, &device)?,
        None => {
            let rows: Vec<f32> = names
                .iter()
                .flat_map(|n| caches.latent(n).unwrap_or_default())
                .collect();
            (
                rows,
                caches.first().dim_latent(),
                json!({"input": "latent"}),
            )
        }
    };
    let data = Data::new(&points, names.len(), dim)
        .with_context(|| format!("{}: the points to project", args.cache.display()))?;
    tracing::info!("UMAP of {} points of {dim} values", names.len());
    let embedding = umap.fit(&data)?;
    let k = args.neighbors.min(names.len().saturating_sub(1) / 2);
    let trust = if k > 0 {
        Some(trustworthiness(&data, &embedding.as_data()?, k)?)
    } else {
        None
    };
    let (groups, group_names) = colours(&args, &names)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;
    write_csv(
        &args.out.join("umap.csv"),
        &names,
        &embedding,
        &groups,
        &group_names,
    )?;
    let title = match &args.run {
        Some(run) => format!("UMAP of the prefixes of {}", run.display()),
        None => format!("UMAP of the latents of {}", args.cache.display()),
    };
    write_scatter_svg(
        args.out.join("umap.svg"),
        &title,
        &embedding,
        &groups,
        &group_names,
    )?;
    let (a, b) = umap.ab();
    let summary = json!({
        "points": names.len(),
        "dim": dim,
        "source": what,
        "color": args.color,
        "config": umap.config(),
        "a": a,
        "b": b,
        "trustworthiness": trust.map(|t| json!({"k": k, "value": t})),
    });
    rad3d_prefix::io::write_atomic(
        &args.out.join("umap.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    println!(
        "{} points → {} components; trustworthiness {}",
        names.len(),
        args.components,
        trust.map_or("n/a".into(), |t| format!("{t:.4} at k = {k}"))
    );
    Ok(Outcome::Done)
}

/// Every study's prefix under the run's projector, flattened: (rows, width, description).
fn prefixes<B: Backend>(
    args: &Args,
    run: &Path,
    caches: &Caches,
    names: &[String],
    device: &B::Device,
) -> Result<(Vec<f32>, usize, serde_json::Value)> {
    let model_file = run.join(MODEL_FILE);
    let text = std::fs::read_to_string(&model_file).with_context(|| {
        format!(
            "{}: not a run folder of `rad3d train` (no readable {MODEL_FILE})",
            run.display()
        )
    })?;
    let run_model: RunModel = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid run model", model_file.display()))?;
    let dir = RunDir(run.to_path_buf());
    let checkpoint = match args.from.as_str() {
        "best" => dir.best(),
        "last" => dir.last(),
        other => return usage(format!("--from must be `best` or `last`, got {other:?}")),
    };
    let checkpoint =
        resolve(&checkpoint).with_context(|| format!("{}: no checkpoint", checkpoint.display()))?;
    verify(&checkpoint)?;
    let with_logits = run_model.variant.input() == PrefixInput::LatentAndLogits;
    if with_logits && args.classifier.is_none() {
        let cached = caches.first().labels().unwrap_or_default();
        anyhow::ensure!(
            run_model.labels.is_empty() || cached == run_model.labels.as_slice(),
            "{}: the cache's logits {cached:?} are not the {:?} the run's projector reads; \
             pass the run's head with --classifier",
            args.cache.display(),
            run_model.labels
        );
    }
    let projector = run_model.projector.init::<B>(device)?;
    let projector = load_record(projector, &checkpoint.join("projector.mpk"), device)?;
    let d_input = run_model.projector.d_input();
    let mut rows = Vec::new();
    let mut width = 0;
    for chunk in names.chunks(BATCH) {
        let mut inputs = Vec::with_capacity(chunk.len() * d_input);
        for name in chunk {
            let e = caches
                .lookup(name)
                .with_context(|| format!("{name}: not in the cache"))?;
            inputs.extend_from_slice(&e.latent);
            if with_logits {
                let logits = e.logits.with_context(|| {
                    format!(
                        "{name}: no logits in {} (V-3 reads them; pass --classifier)",
                        args.cache.display()
                    )
                })?;
                inputs.extend_from_slice(&logits);
            }
        }
        anyhow::ensure!(
            inputs.len() == chunk.len() * d_input,
            "{}: the run's projector reads {d_input} values per study, the cache gives {}",
            args.cache.display(),
            inputs.len() / chunk.len().max(1)
        );
        let x = Tensor::<B, 2>::from_data(TensorData::new(inputs, [chunk.len(), d_input]), device);
        let out = projector.forward(x);
        let [_, p, d] = out.dims();
        width = p * d;
        rows.extend(
            out.into_data()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("projector output unreadable: {e:?}"))?,
        );
    }
    let what = json!({
        "input": "prefix",
        "run": run.display().to_string(),
        "checkpoint": checkpoint.display().to_string(),
        "variant": run_model.variant.to_string(),
    });
    Ok((rows, width, what))
}

/// Each study's colour group and the group names: `NAME absent` / `NAME present` /
/// `unlabelled` from `--labels`/`--color`, else one group.
fn colours(args: &Args, names: &[String]) -> Result<(Vec<usize>, Vec<String>)> {
    let (Some(path), Some(column)) = (&args.labels, &args.color) else {
        return Ok((vec![0; names.len()], vec!["studies".into()]));
    };
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot read the label CSV", path.display()))?;
    let header = reader.headers()?.clone();
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let id = find("VolumeName").unwrap_or(0);
    let Some(col) = find(column) else {
        return usage(format!(
            "--color {column:?}: no such column in {} (columns: {})",
            path.display(),
            header.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let mut values: HashMap<String, bool> = HashMap::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), line + 2))?;
        let value = record.get(col).unwrap_or("").trim();
        let positive = match value.parse::<f64>() {
            Ok(v) if v == 0.0 || v == 1.0 => v == 1.0,
            _ => anyhow::bail!(
                "{}: row {}, column {column:?}: {value:?} is not 0 or 1",
                path.display(),
                line + 2
            ),
        };
        values.insert(
            normalize_volume_name(record.get(id).unwrap_or("")),
            positive,
        );
    }
    let groups = names
        .iter()
        .map(|n| match values.get(&normalize_volume_name(n)) {
            Some(false) => 0,
            Some(true) => 1,
            None => 2,
        })
        .collect::<Vec<_>>();
    let mut group_names = vec![format!("{column} absent"), format!("{column} present")];
    if groups.contains(&2) {
        group_names.push("unlabelled".into());
    }
    Ok((groups, group_names))
}

/// `VolumeName,umap_1,…,umap_c,group`.
fn write_csv(
    path: &Path,
    names: &[String],
    e: &Embedding,
    groups: &[usize],
    group_names: &[String],
) -> Result<()> {
    rad3d_prefix::io::write_atomic_with(path, |f| {
        let mut w = csv::Writer::from_writer(f);
        let mut header = vec!["VolumeName".to_string()];
        header.extend((1..=e.dims).map(|c| format!("umap_{c}")));
        header.push("group".into());
        w.write_record(&header)?;
        for (i, name) in names.iter().enumerate() {
            let mut row = vec![name.clone()];
            row.extend(e.point(i).iter().map(|v| v.to_string()));
            row.push(group_names[groups[i]].clone());
            w.write_record(&row)?;
        }
        w.flush()
    })?;
    Ok(())
}
