//! Parity against CT-CLIP's reference classes over every `ctvit/*.safetensors` fixture.

use std::path::PathBuf;

use burn::backend::Flex;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_ctvit::{CheckpointReader, CtVitConfig, load_into};

type B = Flex;

fn max_abs_diff(a: TensorData, b: TensorData) -> f32 {
    assert_eq!(a.shape, b.shape, "shape mismatch");
    let a = a.to_vec::<f32>().unwrap();
    let b = b.to_vec::<f32>().unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_every_reference_fixture() {
    let Some(dir) =
        rad3d_testutil::require(rad3d_testutil::fixtures().join("ctvit"), "CT-ViT fixtures")
    else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no ctvit/*.safetensors fixture in {}",
        dir.display()
    );
    let device = Default::default();
    for file in files {
        let reader = CheckpointReader::open(&file).unwrap();
        let json = reader
            .metadata("config")
            .expect("fixture has config metadata");
        let config = CtVitConfig::from_json_str(&json, &file.display().to_string()).unwrap();
        let model = load_into::<B>(config.init(&device), &config, &reader).unwrap();
        let fixture = |name: &str| reader.read_f32(&format!("fixture.{name}")).unwrap();
        let input = Tensor::<B, 5>::from_data(fixture("input"), &device);
        let out = model.forward(input);

        let expected_idx_data = reader.read_i64("fixture.vq_indices").unwrap();
        let expected_shape = expected_idx_data.shape.clone();
        let expected_idx: Vec<i64> = expected_idx_data.to_vec::<i64>().unwrap();
        let got_idx: Vec<i64> = out
            .indices
            .clone()
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        assert_eq!(
            got_idx,
            expected_idx,
            "{}: VQ indices differ",
            file.display()
        );
        let idx_shape: Tensor<B, 4, Int> = out.indices;
        assert_eq!(idx_shape.dims().to_vec(), expected_shape.to_vec());

        let checks: [(&str, TensorData, f32); 8] = [
            ("patch_emb", out.patch_emb.into_data(), 1e-4),
            ("cpb_bias", out.cpb_bias.into_data(), 1e-4),
            ("spatial_out", out.spatial_out.into_data(), 1e-4),
            ("tokens_pre_vq", out.tokens_pre_vq.into_data(), 1e-4),
            ("tokens", out.tokens.into_data(), 1e-4),
            ("pooled", out.pooled.into_data(), 1e-4),
            ("latent_raw", out.latent_raw.into_data(), 1e-4),
            ("latent", out.latent.into_data(), 1e-4),
        ];
        for (name, got, tol) in checks {
            let diff = max_abs_diff(got, fixture(name));
            eprintln!("{} {name}: max |Δ| = {diff:.3e}", file.display());
            assert!(
                diff <= tol,
                "{}: {name} max |Δ| {diff} > {tol}",
                file.display()
            );
        }
    }
}
