//! `rad3d embed`: CT-CLIP image latents (and optionally anomaly logits) for a whole dataset
//! into an embedding cache (format: `docs/cache-format.md`).
//!
//! Input is a folder of NIfTI files (`.nii` / `.nii.gz`, searched recursively, cached under
//! their paths relative to the folder) or a CT-RATE-style CSV with a `VolumeName` column and
//! optional `RescaleSlope`, `RescaleIntercept`, `XYSpacing`, `ZSpacing` columns that
//! override the NIfTI header. Re-running skips volumes already cached; volumes that fail
//! are appended to the cache's `errors.tsv`, skipped, and make the exit code 3. `--shard
//! i/n` takes every n-th volume (from i) of the name-sorted list, so n machines can share
//! one output folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use rad3d_prefix::classifier::LabelSet;
use rad3d_prefix::ctvit::cache::{ERRORS_FILE, EmbeddingCacheWriter};
use rad3d_prefix::ctvit::embed::{
    EmbedEvent, embed_volumes, jobs_from_csv, jobs_from_dir, parse_shard, shard_jobs,
};
use rad3d_prefix::ctvit::{CtVit, CtVitConfig};
use rad3d_prefix::model::{load_record, save_record};
use rad3d_prefix::pipeline::load_encoder;
use rad3d_prefix::volume::{Preprocess, ReadOptions};

use crate::cmd::classifier::load_named_head;
use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, usage};
use crate::progress::Progress;

/// Flags of `rad3d embed`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Folder of NIfTI files, or a CSV with a `VolumeName` column.
    input: PathBuf,
    /// Where the volumes named in a CSV live (default: the CSV's folder). CT-RATE's nested
    /// layout (`train_1/train_1_a/train_1_a_1.nii.gz`) is found automatically.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Output cache folder.
    #[arg(long, default_value = "embeddings")]
    out: PathBuf,
    /// CT-CLIP checkpoint (`.pt` or `.safetensors`).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Random encoder weights instead of a checkpoint (smoke tests and timing only), kept
    /// in the cache folder as `encoder.mpk` and reused by later runs.
    #[arg(long, conflicts_with = "checkpoint")]
    random_weights: bool,
    /// Encoder configuration: `ct-clip`, `tiny`, or a JSON file of CtVitConfig fields.
    #[arg(long, default_value = "ct-clip")]
    config: String,
    /// Classifier head (`rad3d` head file or CT-CLIP's linear-probe checkpoint) whose
    /// logits are cached next to the latents.
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Process part `i` of `n` (`i/n`, zero-based) to split the work across machines.
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Volumes per cache shard file: a crash loses at most the volumes of the shard being
    /// filled.
    #[arg(long, default_value_t = 64)]
    shard_size: usize,
    /// Largest volume read, in voxels (refused from the header before allocating;
    /// default 512 × 512 × 2048).
    #[arg(long, default_value_t = ReadOptions::DEFAULT_MAX_VOXELS)]
    max_voxels: u64,
    /// Where the encoder runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Reads the encoder configuration `spec` names.
pub(crate) fn load_config(spec: &str) -> Result<CtVitConfig> {
    Ok(match spec {
        "ct-clip" => CtVitConfig::ct_clip(),
        "tiny" => CtVitConfig::tiny(),
        path => {
            let json = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            CtVitConfig::from_json_str(&json, path)?
        }
    })
}

/// File in the cache folder that keeps `--random-weights`' encoder.
pub(crate) const RANDOM_ENCODER_FILE: &str = "encoder.mpk";

/// A random encoder kept in the cache folder: drawn and saved on the first run, read back
/// on every later one, so that resumed runs and `rad3d export --checkpoint
/// CACHE/encoder.mpk` use the very weights the cached latents came from.
fn random_encoder<B: Backend>(
    out: &Path,
    config: &CtVitConfig,
    device: &B::Device,
) -> Result<CtVit<B>> {
    let path = out.join(RANDOM_ENCODER_FILE);
    if path.exists() {
        return Ok(load_record(config.init(device), &path, device)?);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let encoder = config.init(device);
    save_record(&encoder, &path)?;
    tracing::info!("random encoder weights saved to {}", path.display());
    Ok(encoder)
}

/// Runs `rad3d embed`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    if args.checkpoint.is_none() && !args.random_weights {
        return usage("give --checkpoint (or --random-weights for a smoke test)");
    }
    if args.shard_size == 0 {
        return usage("--shard-size must be at least 1");
    }
    let device = args.device;
    run_on(device, Embed(args))
}

/// The embedding job, run on the chosen backend.
struct Embed(Args);

impl OnBackend for Embed {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let args = self.0;
        let (part, parts) = parse_shard(&args.shard)?;
        let config = load_config(&args.config)?;
        let encoder: CtVit<B> = match &args.checkpoint {
            Some(path) => load_encoder(path, &config, &device)?,
            None => random_encoder(&args.out, &config, &device)?,
        };
        let (head, labels) = match &args.classifier {
            Some(path) => {
                let (head, labels) = load_named_head::<B>(path, &device)?;
                if head.d_latent() != config.dim_latent {
                    anyhow::bail!(
                        "{}: the head reads {}-d latents, the encoder writes {}",
                        path.display(),
                        head.d_latent(),
                        config.dim_latent
                    );
                }
                (Some(head), Some(labels))
            }
            None => (None, None),
        };
        let head_fn = head
            .as_ref()
            .map(|h| move |latent: Tensor<B, 2>| h.forward(latent));
        let head_fn = head_fn
            .as_ref()
            .map(|f| f as &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>);

        let jobs = if args.input.is_dir() {
            jobs_from_dir(&args.input)?
        } else {
            let data_dir = match &args.data_dir {
                Some(d) => d.clone(),
                None => args.input.parent().unwrap_or(Path::new(".")).to_path_buf(),
            };
            jobs_from_csv(&args.input, &data_dir)?
        };
        let jobs = jobs
            .into_iter()
            .map(|j| j.with_max_voxels(args.max_voxels))
            .collect();
        let (jobs, tag) = shard_jobs(jobs, part, parts);

        let n_logits = labels.as_ref().map_or(0, LabelSet::len);
        let label_names = labels.map(|l| l.names().to_vec());
        let mut writer = EmbeddingCacheWriter::open(
            &args.out,
            &tag,
            args.shard_size,
            config.dim_latent,
            n_logits,
            label_names,
        )?;
        let preprocess = Preprocess::ct_clip().with_target_shape(config.input_shape());

        let progress = Progress::new("volumes", 0);
        let start = Instant::now();
        let result = embed_volumes(
            &encoder,
            &preprocess,
            head_fn,
            &jobs,
            &mut writer,
            &device,
            |event| match event {
                EmbedEvent::Started {
                    to_encode,
                    already_cached,
                } => {
                    progress.set_length(to_encode as u64);
                    if already_cached > 0 {
                        progress
                            .println(format!("{already_cached} volumes already cached, skipped"));
                    }
                }
                EmbedEvent::Begin { name } => progress.set_message(name.to_string()),
                EmbedEvent::Encoded { .. } => progress.inc(1),
                EmbedEvent::Failed { name, error } => {
                    progress.println(format!("failed {name}: {error}"));
                    progress.inc(1);
                }
            },
        );
        // Keep what was encoded even when the cache failed part-way.
        let finished = writer.finish();
        let summary = result?;
        finished?;
        progress.finish();
        tracing::info!(
            "shard {part}/{parts}: {} volumes, {} already cached, {} encoded, {} failed in {:.1} s → {}",
            summary.total,
            summary.already_cached,
            summary.encoded,
            summary.failed.len(),
            start.elapsed().as_secs_f64(),
            args.out.display(),
        );
        Ok(if summary.failed.is_empty() {
            Outcome::Done
        } else {
            Outcome::Partial {
                failed: summary.failed.len(),
                listed_in: Some(args.out.join(ERRORS_FILE)),
            }
        })
    }
}
