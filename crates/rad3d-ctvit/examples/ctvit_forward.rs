//! Times one full-size CT-CLIP image forward (`[1, 1, 240, 480, 480]` by default) with random
//! weights and prints one JSON line with the time and the process's peak RSS.
//! Used by `scripts/bench/ctvit.sh`; run with `--release`.
//!
//! Usage: `ctvit_forward [frames] [size] [runs]`

use std::time::Instant;

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Distribution, Tensor};
use rad3d_ctvit::CtVitConfig;

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

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
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
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{{\"impl\": \"rust-flex\", \"shape\": [1, 1, {frames}, {size}, {size}], \"seconds\": {best:.4}, \"all_seconds\": {times:?}, \"peak_rss_mb\": {:.1}, \"latent_norm\": {norm:.4}}}",
        peak_rss_mb()
    );
}
