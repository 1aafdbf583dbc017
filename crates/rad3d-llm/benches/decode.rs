//! Decoding throughput on the CPU (Flex backend) with seeded random weights: prefill of a
//! 10-row prefix + 6 prompt tokens, then 32 greedy steps (EOS disabled), batch 1 and 8.
//!
//! Two small configs: a 4-layer model of SmolLM2-135M's shape (576 wide, 9/3 heads,
//! its 49152-token vocabulary, so the output projection weighs as in the real model) and
//! a 4-layer, 256-wide GPT-2. Throughput is new tokens over the batch per second.
//!
//! `cargo bench -p rad3d-llm --bench decode`

use std::hint::black_box;
use std::time::Duration;

use burn::backend::Flex;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rad3d_llm::{
    CausalLm, GenerationConfig, Gpt2Config, LlamaConfig, Llm, ModelConfig, generate,
    synthetic_prefix,
};

const PREFIX: usize = 10;
const PROMPT: [u32; 6] = [12, 345, 678, 9, 1011, 1213];
const STEPS: usize = 32;

fn configs() -> Vec<(&'static str, ModelConfig)> {
    let llama = LlamaConfig {
        num_layers: 4,
        ..LlamaConfig::smollm2_135m()
    };
    let gpt2 = Gpt2Config {
        vocab_size: 8192,
        max_position_embeddings: 256,
        bos_token_id: None,
        eos_token_ids: vec![0],
        ..Gpt2Config::new(256, 4, 4)
    };
    vec![
        ("llama-smollm2-4l", llama.into()),
        ("gpt2-256w-4l", gpt2.into()),
    ]
}

fn decode(c: &mut Criterion) {
    let device = Default::default();
    let config = GenerationConfig::greedy(STEPS)
        .with_min_new_tokens(STEPS)
        .with_eos(vec![]);
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (name, cfg) in configs() {
        let model: Llm<Flex> = cfg.init(0, &device).expect("valid bench config");
        for batch in [1usize, 8] {
            let prefix = synthetic_prefix::<Flex>(batch, PREFIX, model.hidden_size(), &device);
            let prompts = vec![PROMPT.to_vec(); batch];
            group.throughput(Throughput::Elements((batch * STEPS) as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("batch{batch}")),
                &batch,
                |b, _| {
                    b.iter(|| {
                        let out =
                            generate(&model, Some(prefix.clone()), &prompts, &config).unwrap();
                        black_box(out)
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
