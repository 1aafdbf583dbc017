//! `rad3d preprocess`: CT-CLIP's preprocessing of one NIfTI CT (or a synthetic phantom).
//!
//! The output file holds tensor `volume` (f32, `[1, 240, 480, 480]`); `--json` prints one
//! line with `shape`, `mean`, `std`, `min`, `max`, `input_orientation`, `resampled_size`
//! and the time taken.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rad3d_prefix::classifier::CT_RATE_LABELS;
use rad3d_prefix::volume::phantom::{Finding, Phantom, PhantomConfig, Side};
use rad3d_prefix::volume::{Order, Preprocess, ReadOptions};

use crate::outcome::{Outcome, usage};

/// Flags of `rad3d preprocess`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Input `.nii` / `.nii.gz` CT.
    input: Option<PathBuf>,
    /// Output `.safetensors` file (tensor `volume`, f32 [1, 240, 480, 480]).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON line of statistics.
    #[arg(long)]
    json: bool,
    /// CT2Rep's window (HU [-1000, 200], (x + 400) / 600) instead of CT-CLIP's.
    #[arg(long)]
    ct2rep: bool,
    /// Clip HU before resampling instead of after (CT-CLIP resamples first).
    #[arg(long)]
    clip_first: bool,
    /// Override scl_slope / scl_inter: `--rescale 1,-1024`.
    #[arg(long, value_parser = parse_pair, allow_hyphen_values = true)]
    rescale: Option<(f64, f64)>,
    /// Volume index of a 4D file.
    #[arg(long)]
    volume: Option<usize>,
    /// Largest volume read, in voxels (refused from the header before allocating;
    /// default 512 × 512 × 2048).
    #[arg(long, default_value_t = ReadOptions::DEFAULT_MAX_VOXELS)]
    max_voxels: u64,
    /// Write a synthetic chest phantom (int16 NIfTI, `.nii` or `.nii.gz`) here instead.
    #[arg(long, conflicts_with_all = ["input", "out", "json"])]
    phantom: Option<PathBuf>,
    /// Phantom: 64×64×48 instead of 512×512×300.
    #[arg(long, requires = "phantom")]
    small: bool,
    /// Phantom: seed.
    #[arg(long, default_value_t = 0, requires = "phantom")]
    seed: u64,
    /// Phantom: add a finding by its CT-RATE label (repeatable; "Pleural effusion" is
    /// right-sided, "left pleural effusion" left-sided).
    #[arg(long, requires = "phantom")]
    finding: Vec<String>,
}

fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s.split_once(',').ok_or("expected SLOPE,INTERCEPT")?;
    Ok((
        a.trim().parse().map_err(|e| format!("{e}"))?,
        b.trim().parse().map_err(|e| format!("{e}"))?,
    ))
}

/// Whether `path` ends in `.<ext>` (case-insensitive).
fn has_extension(path: &Path, ext: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(&format!(".{ext}")))
}

/// Runs `rad3d preprocess`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    if let Some(path) = &args.phantom {
        return phantom(&args, path);
    }
    let Some(input) = &args.input else {
        return usage("give an INPUT file or --phantom OUT.nii.gz (see --help)");
    };
    if let Some(out) = &args.out {
        // The output is safetensors whatever its name says: refuse a misleading one.
        if !has_extension(out, "safetensors") {
            return usage(format!(
                "--out {}: preprocess writes a safetensors tensor; name the file *.safetensors",
                out.display()
            ));
        }
        crate::cmd::refuse_overwrite(out, &[input])?;
    } else if !args.json {
        return usage("nothing to do: pass --out OUT.safetensors and/or --json");
    }
    let start = Instant::now();
    let mut options = ReadOptions::new().max_voxels(args.max_voxels);
    if let Some((slope, inter)) = args.rescale {
        options = options.rescale(slope, inter);
    }
    if let Some(v) = args.volume {
        options = options.volume(v);
    }
    let volume = options.read(input)?;
    let read_s = start.elapsed().as_secs_f64();
    let mut recipe = if args.ct2rep {
        Preprocess::ct2rep()
    } else {
        Preprocess::ct_clip()
    };
    if args.clip_first {
        recipe = recipe.with_order(Order::ClipThenResample);
    }
    let out = recipe.apply(&volume)?;
    drop(volume);
    let preprocess_s = start.elapsed().as_secs_f64() - read_s;
    if let Some(path) = &args.out {
        out.save_safetensors(path)?;
    }
    let total_s = start.elapsed().as_secs_f64();
    if args.json {
        let s = out.stats();
        let [t, h, w] = out.shape();
        let line = serde_json::json!({
            "shape": [1, t, h, w],
            "mean": s.mean,
            "std": s.std,
            "min": s.min,
            "max": s.max,
            "input_orientation": out.input_orientation().to_string(),
            "resampled_size": out.resampled_size(),
            "seconds": { "read": read_s, "preprocess": preprocess_s, "total": total_s },
        });
        println!("{line}");
    }
    Ok(Outcome::Done)
}

/// `--phantom`: writes a synthetic chest CT with the requested findings.
fn phantom(args: &Args, path: &Path) -> Result<Outcome> {
    if !(has_extension(path, "nii") || has_extension(path, "nii.gz")) {
        return usage(format!(
            "--phantom {}: a phantom is a NIfTI file; name it *.nii or *.nii.gz",
            path.display()
        ));
    }
    let mut config = if args.small {
        PhantomConfig::small(args.seed)
    } else {
        PhantomConfig::full(args.seed)
    };
    for name in &args.finding {
        let lower = name.trim().to_ascii_lowercase();
        let (base, left) = match lower.strip_prefix("left ") {
            Some(base) => (base, true),
            None => (lower.as_str(), false),
        };
        let finding = Finding::all()
            .into_iter()
            .find(|f| f.label().eq_ignore_ascii_case(base))
            .with_context(|| format!("unknown finding {name:?}; labels: {CT_RATE_LABELS:?}"))?;
        config.findings.push(match finding {
            Finding::PleuralEffusion(_) if left => Finding::PleuralEffusion(Side::Left),
            other => other,
        });
    }
    let start = Instant::now();
    let volume = Phantom::write(path, &config)?;
    tracing::info!(
        "wrote {} ({:?} voxels, {:?} mm, {}) in {:.2} s",
        path.display(),
        volume.shape(),
        volume.spacing(),
        volume.orientation(),
        start.elapsed().as_secs_f64()
    );
    Ok(Outcome::Done)
}
