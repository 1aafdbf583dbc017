//! Checkpoint loading: name mapping against the real CT-CLIP key list, wrapper prefixes,
//! PyTorch files, and typed errors for corrupt checkpoints.

use rad3d_io::IoError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::tensor::Tensor;
use rad3d_ctvit::{
    CheckpointReader, CtVitConfig, CtVitError, IGNORED_PREFIXES, IGNORED_SUFFIXES,
    load_ctclip_checkpoint, load_into, visual_key_map,
};
use safetensors::tensor::{Dtype, TensorView};

type B = Flex;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
        .join("ctvit");
    if dir.join("ctvit_tiny.safetensors").is_file() {
        Some(dir)
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("fixtures missing at {} under CI", dir.display());
    } else {
        eprintln!("skipping: no fixtures at {}", dir.display());
        None
    }
}

#[test]
fn key_map_matches_real_ctclip_key_list() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("ctclip_full_keys.txt")).unwrap();
    let map: HashMap<String, Vec<usize>> = visual_key_map(&CtVitConfig::ct_clip())
        .into_iter()
        .collect();
    let ignored = |n: &str| {
        IGNORED_PREFIXES.iter().any(|p| n.starts_with(p))
            || IGNORED_SUFFIXES.iter().any(|s| n.ends_with(s))
    };
    let mut listed = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, shape, role) = (cols[0], cols[1], cols[3]);
        let shape: Vec<usize> = shape
            .trim_matches(['[', ']'])
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim().parse().unwrap())
            .collect();
        listed += 1;
        match role {
            "used" | "used_zero_buffer" => {
                assert_eq!(map.get(name), Some(&shape), "{name}");
                assert!(!ignored(name), "{name} is used but ignored");
            }
            "unused_at_inference" => {
                assert!(ignored(name), "{name} is neither mapped nor ignored");
                assert!(!map.contains_key(name), "{name}");
            }
            other => panic!("unknown role {other}"),
        }
    }
    assert_eq!(listed, 159);
    // Nothing mapped that the real checkpoint lacks.
    for name in map.keys() {
        assert!(
            text.contains(&format!("{name}\t")),
            "{name} not in the real key list"
        );
    }
}

/// One raw tensor: (name, dtype, shape, bytes).
type RawTensor = (String, Dtype, Vec<usize>, Vec<u8>);

/// All tensors of the fixture, plus its metadata.
fn fixture_tensors(path: &Path) -> (Vec<RawTensor>, HashMap<String, String>) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut out: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    (out, meta.metadata().clone().unwrap_or_default())
}

fn write(path: &Path, tensors: &[RawTensor]) {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn weights_only(t: &[RawTensor]) -> Vec<RawTensor> {
    t.iter()
        .filter(|(n, ..)| !n.starts_with("fixture."))
        .cloned()
        .collect()
}

#[test]
fn corrupt_checkpoints_give_typed_errors() {
    let Some(dir) = fixtures() else { return };
    let src = dir.join("ctvit_tiny.safetensors");
    let (all, meta) = fixture_tensors(&src);
    let config = CtVitConfig::from_json_str(&meta["config"], "metadata").unwrap();
    let weights = weights_only(&all);
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let load = |p: &Path| load_ctclip_checkpoint::<B>(p, &config, &device);
    let target = "visual_transformer.enc_temporal_transformer.layers.1.1.to_q.weight";

    // A clean weights-only copy loads.
    let good = tmp.path().join("good.safetensors");
    write(&good, &weights);
    load(&good).unwrap();

    let missing = tmp.path().join("missing.safetensors");
    write(
        &missing,
        &weights
            .iter()
            .filter(|t| t.0 != target)
            .cloned()
            .collect::<Vec<_>>(),
    );
    match load(&missing) {
        Err(CtVitError::Checkpoint(IoError::MissingTensors { path, names })) => {
            assert_eq!(names, vec![target.to_string()]);
            assert_eq!(path, missing);
        }
        other => panic!("{other:?}"),
    }

    let shaped = tmp.path().join("shape.safetensors");
    let mut w = weights.clone();
    let t = w.iter_mut().find(|t| t.0 == target).unwrap();
    // Same element count, different shape (a transpose would not change a square matrix).
    let n: usize = t.2.iter().product();
    t.2 = vec![n, 1];
    write(&shaped, &w);
    let err = load(&shaped).unwrap_err();
    assert!(
        matches!(&err, CtVitError::Checkpoint(IoError::ShapeMismatch { name, .. }) if name == target),
        "{err}"
    );
    assert!(err.to_string().contains("shape.safetensors"), "{err}");

    let typed = tmp.path().join("dtype.safetensors");
    let mut w = weights.clone();
    let t = w.iter_mut().find(|t| t.0 == target).unwrap();
    t.1 = Dtype::I32;
    write(&typed, &w);
    let err = load(&typed).unwrap_err();
    assert!(
        matches!(&err, CtVitError::Checkpoint(IoError::DType { name, .. }) if name == target),
        "{err}"
    );

    let unexpected = tmp.path().join("extra.safetensors");
    let mut w = weights.clone();
    w.push((
        "visual_transformer.surprise.weight".into(),
        Dtype::F32,
        vec![1],
        vec![0; 4],
    ));
    write(&unexpected, &w);
    let err = load(&unexpected).unwrap_err();
    assert!(
        err.to_string()
            .contains("visual_transformer.surprise.weight"),
        "{err}"
    );

    let truncated = tmp.path().join("truncated.safetensors");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&truncated).unwrap_err();
    assert!(
        matches!(err, CtVitError::Checkpoint(IoError::NotACheckpoint { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("truncated.safetensors"), "{err}");

    let text = tmp.path().join("notes.pt");
    std::fs::write(&text, "these are not weights").unwrap();
    let err = load(&text).unwrap_err();
    assert!(
        matches!(err, CtVitError::Checkpoint(IoError::NotACheckpoint { .. })),
        "{err}"
    );

    let truncated_pt = tmp.path().join("cut.pt");
    std::fs::write(&truncated_pt, b"PK\x03\x04\x14\x00\x00\x00").unwrap();
    let err = load(&truncated_pt).unwrap_err();
    assert!(err.to_string().contains("cut.pt"), "{err}");

    let err = load(&tmp.path().join("absent.pt")).unwrap_err();
    assert!(matches!(err, CtVitError::Io { .. }), "{err}");
}

#[test]
fn wrapper_prefix_is_stripped_and_text_tower_ignored() {
    let Some(dir) = fixtures() else { return };
    let src = dir.join("ctvit_tiny.safetensors");
    let (all, meta) = fixture_tensors(&src);
    let config = CtVitConfig::from_json_str(&meta["config"], "metadata").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut w: Vec<_> = weights_only(&all)
        .into_iter()
        .map(|(n, d, s, b)| (format!("state_dict.{n}"), d, s, b))
        .collect();
    w.push((
        "state_dict.text_transformer.embeddings.word_embeddings.weight".into(),
        Dtype::F32,
        vec![2, 2],
        vec![0; 16],
    ));
    w.push((
        "state_dict.temperature".into(),
        Dtype::F32,
        vec![],
        vec![0; 4],
    ));
    let wrapped = tmp.path().join("wrapped.safetensors");
    write(&wrapped, &w);
    let device = Default::default();
    let reader = CheckpointReader::open(&wrapped).unwrap();
    assert_eq!(reader.prefix(), "state_dict.");
    let model = load_into::<B>(config.init(&device), &config, &reader).unwrap();
    let fixture = CheckpointReader::open(&src).unwrap();
    let input = Tensor::<B, 5>::from_data(fixture.read_f32("fixture.input").unwrap(), &device);
    let latent = model
        .forward(input)
        .latent
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let expected = fixture
        .read_f32("fixture.latent")
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let diff = latent
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "{diff}");
}

/// PyTorch `.pt` files: written by the reference Python environment when it is present
/// (developer machines); skipped otherwise.
#[test]
fn loads_pytorch_checkpoint_with_wrapper_dict() {
    let Some(dir) = fixtures() else { return };
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-ref/bin/python");
    if !python.is_file() {
        eprintln!("skipping: no reference Python at {}", python.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pt = tmp.path().join("CT-CLIP_test.pt");
    let script = format!(
        "import torch; from safetensors.torch import load_file; t = load_file('{}'); \
         sd = {{k: v for k, v in t.items() if not k.startswith('fixture.')}}; \
         torch.save({{'state_dict': sd, 'epoch': 3}}, '{}')",
        dir.join("ctvit_tiny.safetensors").display(),
        pt.display()
    );
    let status = std::process::Command::new(&python)
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    if !status.success() {
        eprintln!("skipping: reference Python could not write a .pt file");
        return;
    }
    let fixture = CheckpointReader::open(dir.join("ctvit_tiny.safetensors")).unwrap();
    let config =
        CtVitConfig::from_json_str(&fixture.metadata("config").unwrap(), "metadata").unwrap();
    let device = Default::default();
    let model = load_ctclip_checkpoint::<B>(&pt, &config, &device).unwrap();
    let input = Tensor::<B, 5>::from_data(fixture.read_f32("fixture.input").unwrap(), &device);
    let out = model.forward(input);
    let expected = fixture
        .read_i64("fixture.vq_indices")
        .unwrap()
        .to_vec::<i64>()
        .unwrap();
    let got = out
        .indices
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    assert_eq!(got, expected);
}
