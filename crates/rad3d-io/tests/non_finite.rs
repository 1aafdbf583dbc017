//! NaN or infinite weights are damage: reading them is an error naming file and tensor.
#![cfg(feature = "checkpoint")]

use rad3d_io::{CheckpointReader, IoError};

#[test]
fn nan_and_infinite_weights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let good: Vec<u8> = [1.0f32, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bad: Vec<u8> = [1.0f32, f32::NAN, f32::INFINITY, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let view = |bytes: &'static [u8], n: usize| {
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![n], bytes).unwrap()
    };
    let (good, bad): (&'static [u8], &'static [u8]) = (good.leak(), bad.leak());
    safetensors::serialize_to_file(
        [("good", view(good, 3)), ("bad", view(bad, 4))],
        None,
        &path,
    )
    .unwrap();
    let reader = CheckpointReader::open(&path).unwrap();
    assert_eq!(
        reader.read_f32("good").unwrap().to_vec::<f32>().unwrap(),
        [1.0, 2.0, 3.0]
    );
    match reader.read_f32("bad").unwrap_err() {
        IoError::NonFinite {
            path: p,
            name,
            count,
            first,
        } => {
            assert_eq!(
                (p, name.as_str(), count, first),
                (path.clone(), "bad", 2, 1)
            );
        }
        other => panic!("{other:?}"),
    }
}
