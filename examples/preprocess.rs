//! Preprocess a chest CT exactly as CT-CLIP expects, or write a synthetic phantom.
//!
//! ```sh
//! cargo run --release --example preprocess -- INPUT.nii[.gz] --out OUT.safetensors [--json]
//! cargo run --release --example preprocess -- --phantom OUT.nii.gz [--small] [--seed N] [--finding "Lung nodule"]
//! ```
//! The output file holds tensor `volume` (f32, `[1, 240, 480, 480]`); `--json` prints
//! one line with `shape`, `mean`, `std`, `min`, `max`, `input_orientation`,
//! `resampled_size` and the time taken.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rad3d_prefix::classifier::CT_RATE_LABELS;
use rad3d_prefix::volume::phantom::{Finding, Phantom, PhantomConfig, Side};
use rad3d_prefix::volume::{Order, Preprocess, ReadOptions};

#[derive(Parser, Debug)]
#[command(about = "CT-CLIP preprocessing of a NIfTI CT (or phantom generation)")]
struct Args {
    /// Input `.nii` / `.nii.gz` CT.
    input: Option<PathBuf>,
    /// Output safetensors file (tensor `volume`, f32 [1, 240, 480, 480]).
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
    /// Write a synthetic chest phantom (int16 NIfTI) here instead of preprocessing.
    #[arg(long)]
    phantom: Option<PathBuf>,
    /// Phantom: 64×64×48 instead of 512×512×300.
    #[arg(long)]
    small: bool,
    /// Phantom: seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Phantom: add a finding by its CT-RATE label (repeatable; "Pleural effusion" is right-sided).
    #[arg(long)]
    finding: Vec<String>,
}

fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s.split_once(',').ok_or("expected SLOPE,INTERCEPT")?;
    Ok((
        a.trim().parse().map_err(|e| format!("{e}"))?,
        b.trim().parse().map_err(|e| format!("{e}"))?,
    ))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.phantom {
        let mut config = if args.small {
            PhantomConfig::small(args.seed)
        } else {
            PhantomConfig::full(args.seed)
        };
        for name in &args.finding {
            let finding = Finding::all()
                .into_iter()
                .find(|f| f.label().eq_ignore_ascii_case(name))
                .with_context(|| format!("unknown finding {name:?}; labels: {CT_RATE_LABELS:?}"))?;
            let finding =
                if finding == Finding::PleuralEffusion(Side::Right) && name.contains("left") {
                    Finding::PleuralEffusion(Side::Left)
                } else {
                    finding
                };
            config.findings.push(finding);
        }
        let start = Instant::now();
        let volume = Phantom::write(path, &config)?;
        eprintln!(
            "wrote {} ({:?} voxels, {:?} mm, {}) in {:.2} s",
            path.display(),
            volume.shape(),
            volume.spacing(),
            volume.orientation(),
            start.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let Some(input) = &args.input else {
        bail!("give an INPUT file or --phantom OUT.nii.gz (see --help)")
    };
    let start = Instant::now();
    let mut options = ReadOptions::new();
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
    } else if args.out.is_none() {
        eprintln!("nothing written: pass --out OUT.safetensors and/or --json");
    }
    Ok(())
}
