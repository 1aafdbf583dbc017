//! Parity with ClipCap's `TransformerMapper` (PyTorch) over every fixture file:
//! the shared ones in `$RAD3D_FIXTURES/projector/` and the extra configurations in
//! `tests/data/` (made by `scripts/reference/projector_clipcap.py`).

use std::path::Path;

use burn::backend::Flex;
use burn::tensor::Tensor;
use rad3d_projector::{NamedTensors, load_clipcap_mapper, save_clipcap_mapper};

type B = Flex;

use rad3d_testutil::safetensors_in;

fn max_abs_diff<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).abs().max().into_scalar()
}

/// Checks one file; returns the largest |Δ| over transformer_in, transformer_out, output.
fn check(path: &Path) -> f32 {
    let device = burn::tensor::ops::Device::<B>::default();
    let (config, mapper) = load_clipcap_mapper::<B>(path, &device)
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    let mut f = NamedTensors::read(path).unwrap();
    let dims = f.shape("fixture.input").expect("fixture.input").to_vec();
    let input: Tensor<B, 2> = f
        .take("fixture.input", [dims[0], dims[1]], &device)
        .unwrap();
    let batch = input.dims()[0];
    let seq = config.clip_len + config.prefix_len;
    let d = config.d_model;
    let t_in: Tensor<B, 3> = f
        .take("fixture.transformer_in", [batch, seq, d], &device)
        .unwrap();
    let t_out: Tensor<B, 3> = f
        .take("fixture.transformer_out", [batch, seq, d], &device)
        .unwrap();
    let want: Tensor<B, 3> = f
        .take("fixture.output", [batch, config.prefix_len, d], &device)
        .unwrap();

    let got_in = mapper.transformer_input(input.clone());
    let got_out = mapper.transformer(t_in.clone());
    let got = mapper.forward(input);
    let d_in = max_abs_diff(got_in, t_in);
    let d_out = max_abs_diff(got_out, t_out);
    let d_final = max_abs_diff(got, want);
    eprintln!(
        "{}: {config:?}\n  max|Δ| transformer_in {d_in:.2e}, transformer_out {d_out:.2e}, output {d_final:.2e}",
        path.display()
    );
    for (what, v) in [
        ("transformer_in", d_in),
        ("transformer_out", d_out),
        ("output", d_final),
    ] {
        assert!(
            v <= 1e-5,
            "{}: {what} max |Δ| = {v:e} > 1e-5",
            path.display()
        );
    }
    d_in.max(d_out).max(d_final)
}

#[test]
fn shared_fixtures_match_clipcap() {
    let dir = rad3d_testutil::fixtures().join("projector");
    if !dir.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "fixtures missing at {} (CI=true)",
            dir.display()
        );
        eprintln!("skip: fixtures missing at {}", dir.display());
        return;
    }
    let files = safetensors_in(&dir);
    assert!(!files.is_empty(), "no *.safetensors in {}", dir.display());
    for f in files {
        check(&f);
    }
}

#[test]
fn extra_configurations_match_clipcap() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let files = safetensors_in(&dir);
    assert!(
        files.len() >= 3,
        "expected the reference fixtures in {}",
        dir.display()
    );
    for f in files {
        check(&f);
    }
}

#[test]
fn save_then_load_round_trips_under_clipcap_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let src = dir.join("mapper_clip3_prefix5_l2_h4.safetensors");
    let device = Default::default();
    let (config, mapper) = load_clipcap_mapper::<B>(&src, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.safetensors");
    save_clipcap_mapper(&mapper, &config, &out).unwrap();
    let (config2, mapper2) = load_clipcap_mapper::<B>(&out, &device).unwrap();
    assert_eq!(config, config2);
    let x = Tensor::<B, 2>::ones([2, config.d_input], &device);
    assert_eq!(
        max_abs_diff(mapper.forward(x.clone()), mapper2.forward(x)),
        0.0
    );
}
