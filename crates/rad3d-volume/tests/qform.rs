//! Header edge cases read as nibabel reads them. The 368-byte files are written here, field
//! for field as `scripts/reference/make_qform_cases.py` writes them; nibabel's affines (or
//! errors) for them are that script's `expected.json`.

use std::path::Path;

/// Raw header fields of one case (unset: nibabel's defaults in the script's `header()`).
#[derive(Default, Clone)]
struct Fields {
    pixdim: [Option<f32>; 4],
    qform_code: i16,
    sform_code: i16,
    quatern: [f32; 3],
    qoffset: [f32; 3],
    srow: Option<[[f32; 4]; 3]>,
}

/// A 2×2×2 int16 single-file NIfTI-1 image with `f`'s header fields, data 0..8.
fn nifti_bytes(f: &Fields) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    let put =
        |h: &mut Vec<u8>, at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, &348i32.to_le_bytes());
    for (k, d) in [3i16, 2, 2, 2, 1, 1, 1, 1].iter().enumerate() {
        put(&mut h, 40 + 2 * k, &d.to_le_bytes());
    }
    put(&mut h, 70, &4i16.to_le_bytes()); // int16
    put(&mut h, 72, &16i16.to_le_bytes());
    for k in 0..8 {
        let v = f.pixdim.get(k).copied().flatten().unwrap_or(1.0);
        put(&mut h, 76 + 4 * k, &v.to_le_bytes());
    }
    put(&mut h, 108, &352f32.to_le_bytes());
    put(&mut h, 112, &1f32.to_le_bytes());
    put(&mut h, 252, &f.qform_code.to_le_bytes());
    put(&mut h, 254, &f.sform_code.to_le_bytes());
    for k in 0..3 {
        put(&mut h, 256 + 4 * k, &f.quatern[k].to_le_bytes());
        put(&mut h, 268 + 4 * k, &f.qoffset[k].to_le_bytes());
    }
    for (r, row) in f.srow.unwrap_or_default().iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put(&mut h, 280 + 16 * r + 4 * c, &v.to_le_bytes());
        }
    }
    put(&mut h, 344, b"n+1\0");
    h.extend((0..8i16).flat_map(i16::to_le_bytes));
    h
}

/// The script's `qform()`: qform code 1, quaternion (b, c, d), an offset.
fn qform(b: f32, c: f32, d: f32) -> Fields {
    Fields {
        qform_code: 1,
        quatern: [b, c, d],
        qoffset: [-10.5, 20.25, -30.0],
        ..Fields::default()
    }
}

/// The script's `sform()`: sform code 1, an oblique anisotropic srow block.
fn sform() -> Fields {
    Fields {
        sform_code: 1,
        srow: Some([
            [-0.7, 0.05, 0.0, 90.0],
            [0.04, 0.8, 0.1, -120.0],
            [0.0, -0.2, 1.5, 33.0],
        ]),
        ..Fields::default()
    }
}

fn pixdim(mut f: Fields, p: [Option<f32>; 4]) -> Fields {
    f.pixdim = p;
    f
}

/// `b` with `b² − 1 ≈ eps`, rounded to the header's float32.
fn norm_one_plus(eps: f64) -> f32 {
    (1.0 + eps).sqrt() as f32
}

/// Every case of `make_qform_cases.py`, by file name.
fn cases() -> Vec<(&'static str, Fields)> {
    let oblique = || qform(0.1, -0.2, 0.2);
    let spaced = |q0: Option<f32>| pixdim(oblique(), [q0, Some(0.7), Some(0.8), Some(1.5)]);
    vec![
        ("qfac_m1.nii", spaced(Some(-1.0))),
        ("qfac_p1.nii", spaced(Some(1.0))),
        ("qfac_m0p5.nii", spaced(Some(-0.5))),
        ("qfac_m2.nii", spaced(Some(-2.0))),
        ("qfac_0.nii", spaced(Some(0.0))),
        ("qfac_p3.nii", spaced(Some(3.0))),
        (
            "quat_norm_over_7e-7.nii",
            qform(norm_one_plus(7e-7), 0.0, 0.0),
        ),
        (
            "quat_norm_over_2e-7.nii",
            qform(norm_one_plus(2e-7), 0.0, 0.0),
        ),
        (
            "quat_norm_under_2e-7.nii",
            qform(norm_one_plus(-2e-7), 0.0, 0.0),
        ),
        (
            "quat_norm_under_1e-6.nii",
            qform(norm_one_plus(-1e-6), 0.0, 0.0),
        ),
        ("quat_norm_over_1e-3.nii", qform(0.6, 0.6, 0.53)),
        ("quat_oblique.nii", spaced(None)),
        (
            "sform_pixdim_zero.nii",
            pixdim(sform(), [None, Some(0.0), None, None]),
        ),
        (
            "sform_pixdim_negative.nii",
            pixdim(sform(), [None, None, None, Some(-1.5)]),
        ),
        (
            "qform_pixdim_negative.nii",
            pixdim(oblique(), [None, Some(0.7), Some(-0.8), Some(1.5)]),
        ),
        (
            "qform_pixdim_zero.nii",
            pixdim(oblique(), [None, Some(0.7), Some(0.8), Some(0.0)]),
        ),
        (
            "qform_negative_pixdim_and_qfac_m1.nii",
            pixdim(
                qform(0.0, 0.0, 0.0),
                [Some(-1.0), Some(-0.7), None, Some(2.0)],
            ),
        ),
        (
            "base_pixdim_negative_and_zero.nii",
            pixdim(Fields::default(), [None, Some(-0.7), Some(0.0), Some(1.5)]),
        ),
        ("sform_with_bad_quaternion.nii", {
            let mut f = sform();
            f.qform_code = 1;
            f.quatern = [0.9, 0.9, 0.0];
            f
        }),
        ("sform_code_invalid_uses_qform.nii", {
            let mut f = oblique();
            f.sform_code = 7;
            f.srow = Some([[2.0, 0.0, 0.0, 0.0], [0.0; 4], [0.0; 4]]);
            f
        }),
        ("qform_code_invalid_uses_base.nii", {
            let mut f = pixdim(Fields::default(), [None, Some(0.9), None, None]);
            f.qform_code = -3;
            f.quatern = [0.5, 0.0, 0.0];
            f
        }),
    ]
}

use rad3d_volume::{VolumeError, read_nifti};

#[test]
fn header_transforms_match_nibabel() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qform");
    let text = std::fs::read_to_string(data.join("expected.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let written = cases();
    for (name, fields) in &written {
        std::fs::write(dir.join(name), nifti_bytes(fields)).unwrap();
    }
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = expected["cases"].as_object().unwrap();
    assert_eq!(cases.len(), written.len());
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
