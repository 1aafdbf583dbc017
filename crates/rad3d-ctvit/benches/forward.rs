//! Forward pass of the CT-ViT encoder on small configurations (Flex CPU backend).
//!
//! The full-size comparison against PyTorch lives in `scripts/bench/ctvit.sh`.

use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use rad3d_ctvit::CtVitConfig;

type B = Flex;

fn bench_forward(c: &mut Criterion) {
    let device = Default::default();
    let cases = [
        (
            "cpu_forward_tiny_16x32x32",
            CtVitConfig::tiny(),
            [1, 1, 16, 32, 32],
        ),
        (
            "cpu_forward_small_40x96x96",
            CtVitConfig::new(128, 1024, 96, 16, 8, 2, 2, 32, 4).with_dim_latent(128),
            [1, 1, 40, 96, 96],
        ),
    ];
    for (name, config, shape) in cases {
        let model = config.init::<B>(&device);
        let input = Tensor::<B, 5>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
        // Materialise the lazy parameters outside the timed loop.
        let _ = model.forward(input.clone()).latent.into_data();
        c.bench_function(name, |b| {
            b.iter(|| model.forward(input.clone()).latent.into_data())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_forward
}
criterion_main!(benches);
