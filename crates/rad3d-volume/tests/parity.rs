//! Parity with the nibabel + PyTorch reference (`scripts/reference/preprocess_ref.py`).
//!
//! Each `tests/data/*.ref.safetensors` holds, for one input CT, a strided grid of the
//! reference output, three full lines, a full-resolution patch, whole-tensor
//! statistics and the resampled size. The real CTs are read from the shared fixtures;
//! the oblique phantom input is stored beside its reference.

use std::path::{Path, PathBuf};

use rad3d_volume::{Preprocess, Preprocessed, read_nifti};
use safetensors::SafeTensors;

const TOL: f32 = 1e-4;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    if dir.join("ct").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("fixtures missing at {} (set RAD3D_FIXTURES)", dir.display());
    }
    eprintln!(
        "skipping: fixtures not found at {} (set RAD3D_FIXTURES)",
        dir.display()
    );
    None
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn f32s(st: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn max_delta(name: &str, got: impl IntoIterator<Item = f32>, want: &[f32]) -> f32 {
    let got: Vec<f32> = got.into_iter().collect();
    assert_eq!(got.len(), want.len(), "{name}: length");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Compare a preprocessed output with a stored reference; returns the worst |Δ|.
fn check(out: &Preprocessed, reference: &Path) -> f32 {
    let bytes = std::fs::read(reference).unwrap_or_else(|e| panic!("{}: {e}", reference.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(out.shape(), [240, 480, 480]);
    assert_eq!(
        out.input_orientation().to_string(),
        meta["input_orientation"]
    );
    let rs = st.tensor("resampled_size").unwrap();
    let rs: Vec<usize> = rs
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
        .collect();
    assert_eq!(out.resampled_size().to_vec(), rs);

    let at = |t: usize, h: usize, w: usize| out.get(t, h, w).unwrap();
    let mut worst = 0.0f32;
    let grid = (3..240).step_by(8).flat_map(|t| {
        (5..480)
            .step_by(12)
            .flat_map(move |h| (7..480).step_by(12).map(move |w| (t, h, w)))
    });
    worst = worst.max(max_delta(
        "grid",
        grid.map(|(t, h, w)| at(t, h, w)),
        &f32s(&st, "grid"),
    ));
    worst = worst.max(max_delta(
        "line_t",
        (0..240).map(|t| at(t, 237, 241)),
        &f32s(&st, "line_t"),
    ));
    worst = worst.max(max_delta(
        "line_h",
        (0..480).map(|h| at(120, h, 243)),
        &f32s(&st, "line_h"),
    ));
    worst = worst.max(max_delta(
        "line_w",
        (0..480).map(|w| at(118, 239, w)),
        &f32s(&st, "line_w"),
    ));
    let patch = (208..272).flat_map(|h| (208..272).map(move |w| (h, w)));
    worst = worst.max(max_delta(
        "patch",
        patch.map(|(h, w)| at(120, h, w)),
        &f32s(&st, "patch"),
    ));

    let stats = st.tensor("stats").unwrap();
    let stats: Vec<f64> = stats
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let s = out.stats();
    assert!(
        (s.mean - stats[0]).abs() < 1e-6,
        "mean {} vs {}",
        s.mean,
        stats[0]
    );
    assert!(
        (s.std - stats[1]).abs() < 1e-6,
        "std {} vs {}",
        s.std,
        stats[1]
    );
    assert!((s.min as f64 - stats[2]).abs() < 1e-4 && (s.max as f64 - stats[3]).abs() < 1e-4);
    assert!(worst <= TOL, "{}: max |Δ| = {worst}", reference.display());
    worst
}

#[test]
fn real_ct_ras_and_lps_match_reference() {
    let Some(dir) = fixtures() else { return };
    for (name, orientation) in [("example_ct_sm", "RAS"), ("ct_cropped", "LPS")] {
        let volume = read_nifti(dir.join(format!("ct/{name}.nii.gz"))).unwrap();
        assert_eq!(volume.orientation().to_string(), orientation);
        let out = Preprocess::ct_clip().apply(&volume).unwrap();
        let worst = check(&out, &data_dir().join(format!("{name}.ref.safetensors")));
        eprintln!("{name}: max |Δ| = {worst:e}");
    }
}

#[test]
fn oblique_phantom_matches_reference() {
    // Non-dyadic spacings and a rotated, permuted affine exercise the interpolation
    // weights and nibabel's orientation rules; no external fixture needed.
    let volume = read_nifti(data_dir().join("phantom_oblique.nii.gz")).unwrap();
    let out = Preprocess::ct_clip().apply(&volume).unwrap();
    let worst = check(&out, &data_dir().join("phantom_oblique.ref.safetensors"));
    eprintln!("phantom_oblique: max |Δ| = {worst:e}");
}
