//! Header edge cases read as nibabel reads them: the files and nibabel's affines (or errors)
//! come from `scripts/reference/make_qform_cases.py`.

use std::path::Path;

use rad3d_volume::{VolumeError, read_nifti};

#[test]
fn header_transforms_match_nibabel() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qform");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = expected["cases"].as_object().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, want) in cases {
        let got = read_nifti(dir.join(name));
        match (&got, want.get("affine")) {
            (Ok(volume), Some(affine)) => {
                let affine: Vec<Vec<f64>> = serde_json::from_value(affine.clone()).unwrap();
                let ours = volume.affine();
                let worst = (0..4)
                    .flat_map(|r| (0..4).map(move |c| (r, c)))
                    .map(|(r, c)| (ours[r][c] - affine[r][c]).abs())
                    .fold(0.0, f64::max);
                if worst > 1e-6 {
                    failures.push(format!("{name}: ours {ours:?}, nibabel {affine:?}"));
                }
            }
            (Err(e), None) => {
                // nibabel refuses only bad quaternions among these cases.
                if !matches!(e, VolumeError::InvalidHeader { .. }) {
                    failures.push(format!("{name}: unexpected error kind {e}"));
                }
            }
            (Ok(_), None) => failures.push(format!("{name}: read, nibabel refuses: {want}")),
            (Err(e), Some(_)) => failures.push(format!("{name}: refused ({e}), nibabel reads it")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
