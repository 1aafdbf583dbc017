//! Times one full-size CT-CLIP image forward (`[1, 1, 240, 480, 480]` by default) with random
//! weights and prints one JSON line with the time and the process's peak RSS.
//! Used by `scripts/bench/ctvit.sh`; run with `--release`.
//!
//! Usage: `ctvit_forward [frames] [size] [runs] [--stages]`; `--stages` also prints, on
//! stderr, where one forward spends its time (patch embedding, each transformer's PEG /
//! attention / feed-forward, quantiser, latent head).

use std::time::Instant;

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use rad3d_ctvit::{CtVit, CtVitConfig, Transformer};

type B = Flex;

/// Forces the lazily initialised random parameters into memory, so that the timed forward
/// measures the forward only (the PyTorch side initialises at construction).
struct Materialise;

impl ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Accumulated seconds per stage name, in first-seen order.
#[derive(Default)]
struct Stages(Vec<(String, f64)>);

impl Stages {
    /// Runs `f`, waits for the device, and adds the elapsed time to `name`.
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        B::sync(&Default::default()).expect("sync");
        let dt = start.elapsed().as_secs_f64();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, total)) => *total += dt,
            None => self.0.push((name.to_string(), dt)),
        }
        out
    }
}

/// The stages of `CtVit::forward`, timed one by one (same computation).
fn transformer_stages(
    stages: &mut Stages,
    prefix: &str,
    transformer: &Transformer<B>,
    mut x: Tensor<B, 3>,
    grid: [usize; 4],
    bias: Option<Tensor<B, 4>>,
) -> Tensor<B, 3> {
    for layer in &transformer.layers {
        x = stages.time(&format!("{prefix} PEG"), || {
            layer.peg.forward(x.clone(), grid) + x.clone()
        });
        x = stages.time(&format!("{prefix} attention"), || {
            layer.attn.forward(x.clone(), bias.clone()) + x.clone()
        });
        x = stages.time(&format!("{prefix} feed-forward"), || {
            layer.ff.forward(x.clone()) + x.clone()
        });
    }
    stages.time(&format!("{prefix} norm_out"), || {
        transformer.norm_out.forward(x)
    })
}

fn forward_stages(model: &CtVit<B>, video: Tensor<B, 5>) -> Stages {
    let mut stages = Stages::default();
    let total = Instant::now();
    let device = video.device();
    let [b, t, h, w] = model.token_grid(video.dims()).expect("tiles");
    let patch_emb = stages.time("patch embedding", || model.patch_emb.forward(video));
    let dim = patch_emb.dims()[4];
    let grid = [b, t, h, w];
    let bias = stages.time("position bias", || {
        model.spatial_rel_pos_bias.forward(h, w, &device)
    });
    let x = patch_emb.reshape([b * t, h * w, dim]);
    let x = transformer_stages(
        &mut stages,
        "spatial",
        &model.enc_spatial_transformer,
        x,
        grid,
        Some(bias),
    );
    let x = stages.time("to temporal layout", || {
        x.reshape([b, t, h, w, dim])
            .permute([0, 2, 3, 1, 4])
            .reshape([b * h * w, t, dim])
    });
    let x = transformer_stages(
        &mut stages,
        "temporal",
        &model.enc_temporal_transformer,
        x,
        grid,
        None,
    );
    let tokens = stages.time("to (b t h w) layout", || {
        x.reshape([b, h, w, t, dim])
            .permute([0, 3, 1, 2, 4])
            .reshape([b * t * h * w, dim])
    });
    let (tokens, _) = stages.time("vector quantiser", || model.vq.forward(tokens));
    let latent = stages.time("mean, latent head, l2", || {
        let pooled = tokens
            .reshape([b, t, h, w, dim])
            .mean_dim(1)
            .reshape([b, h * w * dim]);
        let raw = model.to_visual_latent.forward(pooled);
        let norm = raw.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        raw / norm
    });
    let _ = latent.into_data();
    stages
        .0
        .push(("total".into(), total.elapsed().as_secs_f64()));
    stages
}

fn main() {
    let stage_mode = std::env::args().any(|a| a == "--stages");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| a != "--stages")
        .map(|a| a.parse().expect("numeric arguments: frames size runs"))
        .collect();
    let frames = args.first().copied().unwrap_or(240);
    let size = args.get(1).copied().unwrap_or(480);
    let runs = args.get(2).copied().unwrap_or(1).max(1);
    let config = CtVitConfig {
        image_size: size,
        ..CtVitConfig::ct_clip()
    };
    let device = Default::default();
    let model = config.init::<B>(&device);
    model.visit(&mut Materialise);
    let input = Tensor::<B, 5>::random(
        [1, 1, frames, size, size],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let mut times = Vec::new();
    let mut norm = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let latent = model.forward(input.clone()).latent;
        let values = latent.into_data().to_vec::<f32>().expect("f32 latent");
        times.push(start.elapsed().as_secs_f64());
        norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    }
    if stage_mode {
        let stages = forward_stages(&model, input.clone());
        for (name, seconds) in &stages.0 {
            eprintln!("{name:>24}: {seconds:7.3} s");
        }
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{{\"impl\": \"rust-flex\", \"shape\": [1, 1, {frames}, {size}, {size}], \"seconds\": {best:.4}, \"all_seconds\": {times:?}, \"peak_rss_mb\": {:.1}, \"latent_norm\": {norm:.4}}}",
        peak_rss_mb()
    );
}
