//! One V-3 optimizer step, timed: batch 4, 128 report tokens, frozen SmolLM2-135M
//! (random weights of its shape from `config.json`, or the GGUF when given), ClipCap
//! mapper D = 576, 8 layers, input 512 + 18. Prints one JSON line with the mean step
//! time over the timed steps, peak RSS and the trainable-parameter count.
//!
//! `cargo run --release -p rad3d-train --example train_step -- CONFIG_JSON_OR_GGUF [STEPS]`
//! (used by `scripts/bench/train_step.sh`).

use std::path::Path;
use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use rad3d_llm::{Llm, ModelConfig};
use rad3d_model::{PrefixModel, PromptIds, load_llm};
use rad3d_projector::Variant;
use rad3d_train::{TokenBatch, TrainModel};

type B = Autodiff<Flex>;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Training reallocates the same large buffers every step: keep them in the process.
    rad3d_train::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let source = args
        .get(1)
        .ok_or("usage: train_step CONFIG_JSON_OR_GGUF [STEPS]")?;
    let steps: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let device = Default::default();
    B::seed(&device, 0);
    let llm: Llm<B> = if source.ends_with(".gguf") {
        load_llm::<B>(Path::new(source), &device)?.0
    } else {
        ModelConfig::from_hf_file(Path::new(source))?.init::<B>(0, &device)?
    };
    let projector = Variant::V3.projector_config(512, 18, 576, 10, 8);
    let mut model = PrefixModel::new(Variant::V3, &projector, llm, PromptIds::default(), &device)?;
    let trainable = model.projector.num_params();
    let (batch, tokens) = (4, 128);
    let mk_batch = || TokenBatch::<B> {
        inputs: Some(Tensor::random(
            [batch, 530],
            Distribution::Normal(0.0, 1.0),
            &device,
        )),
        tokens: Tensor::<B, 2, Int>::random(
            [batch, tokens],
            Distribution::Uniform(0.0, 49152.0),
            &device,
        ),
        mask: Tensor::ones([batch, tokens], &device),
        num_tokens: batch * tokens,
    };
    let mut optim = AdamConfig::new()
        .with_epsilon(1e-8)
        .init::<B, PrefixModel<B, Llm<B>>>();
    let mut times = Vec::new();
    // Mean seconds in the forward pass, the backward pass and the optimizer update.
    let mut phases = [0.0f64; 3];
    // Step 0 warms up allocators and kernels; steps 1.. are timed.
    for i in 0..=steps {
        let b = mk_batch();
        let start = Instant::now();
        let loss = model.loss(&b);
        B::sync(&device)?;
        let forward = start.elapsed();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        B::sync(&device)?;
        let backward = start.elapsed();
        model = optim.step(2e-5, model, grads);
        // Make sure the update has run before stopping the clock.
        let _ = model.projector.clone().into_record();
        B::sync(&device)?;
        let total = start.elapsed();
        if i > 0 {
            times.push(total.as_secs_f64());
            let ends = [forward, backward, total].map(|d| d.as_secs_f64());
            for k in 0..3 {
                let begin = if k == 0 { 0.0 } else { ends[k - 1] };
                phases[k] += (ends[k] - begin) / steps as f64;
            }
        }
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let [fwd, bwd, opt] = phases;
    println!(
        "{{\"impl\": \"rad3d (burn Flex)\", \"seconds_per_step\": {mean:.4}, \"steps\": {}, \"forward_s\": {fwd:.4}, \"backward_s\": {bwd:.4}, \"optimizer_s\": {opt:.4}, \"peak_rss_mb\": {:.0}, \"trainable_params\": {trainable}, \"adam_state_tensors\": {}}}",
        times.len(),
        peak_rss_mb(),
        optim.to_record().len()
    );
    Ok(())
}
