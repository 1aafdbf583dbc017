//! Criterion bench `preprocess`: read + CT-CLIP preprocessing of a 512×512×300 int16
//! chest phantom stored as `.nii.gz` and `.nii`, plus the in-memory steps alone.
//!
//! Run: `cargo bench -p rad3d-volume --bench preprocess`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rad3d_volume::phantom::{Finding, Phantom, PhantomConfig};
use rad3d_volume::{Preprocess, WriteDtype, read_nifti, write_nifti};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        PhantomConfig::full(0).with_findings(vec![Finding::LungNodule, Finding::Cardiomegaly]);
    let volume = Phantom::generate(&config).expect("phantom");
    let nii = dir.path().join("phantom.nii");
    let nii_gz = dir.path().join("phantom.nii.gz");
    write_nifti(&nii, &volume, WriteDtype::Int16).expect("write .nii");
    write_nifti(&nii_gz, &volume, WriteDtype::Int16).expect("write .nii.gz");
    let recipe = Preprocess::ct_clip();

    let mut g = c.benchmark_group("preprocess");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    g.bench_function("cpu_read_nii_gz_512x512x300", |b| {
        b.iter(|| read_nifti(&nii_gz).unwrap())
    });
    g.bench_function("cpu_read_nii_512x512x300", |b| {
        b.iter(|| read_nifti(&nii).unwrap())
    });
    g.bench_function("cpu_ct_clip_in_memory_512x512x300", |b| {
        b.iter(|| recipe.apply(&volume).unwrap())
    });
    g.bench_function("cpu_end_to_end_nii_gz_512x512x300", |b| {
        b.iter(|| recipe.apply(&read_nifti(&nii_gz).unwrap()).unwrap())
    });
    g.bench_function("cpu_end_to_end_nii_512x512x300", |b| {
        b.iter(|| recipe.apply(&read_nifti(&nii).unwrap()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
