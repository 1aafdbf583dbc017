//! PyTorch `.pt` checkpoints in torch.save's layout: every value must come back exactly,
//! strided and offset views included, and damaged variants (built here from
//! `contiguous.pt`) must be refused with an error naming the file and tensor — never
//! read as zeros.
//!
//! The checkpoints are written here, at test time, in the byte layout torch.save uses (zip
//! entries `<case>/data.pkl`, `<case>/data/<key>`, the pickle's opcodes as torch emits
//! them). The expected values in `tests/data/pt/<case>.json` are torch's own, written by
//! `scripts/reference/make_pt_cases.py` from files torch.save produced.
#![cfg(feature = "checkpoint")]

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rad3d_io::{CheckpointReader, IoError};
use rad3d_testutil::torch_save::{self, Pickle};
use zip::ZipArchive;

/// A case's expected values (`<case>.json`) or its checkpoint (`<case>.pt`, written once
/// per test process into a temporary folder).
fn data(name: &str) -> PathBuf {
    let Some(case) = name.strip_suffix(".pt") else {
        return Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/pt")
            .join(name);
    };
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for case in CASES {
            torch_save(dir.path(), case);
        }
        dir
    });
    dir.path().join(format!("{case}.pt"))
}

/// The cases, as torch.save would see them.
const CASES: [&str; 6] = [
    "contiguous",
    "transposed",
    "offset_views",
    "dtypes",
    "nested",
    "parameters",
];

/// A value of a checkpoint's pickle.
enum Obj {
    /// A `dict` (`ordered`: `collections.OrderedDict`, as a `state_dict` is).
    Dict(bool, Vec<(&'static str, Obj)>),
    /// A view `(name in the JSON, storage key, shape, stride, offset)`.
    Tensor(&'static str, &'static str, Vec<usize>, Vec<usize>, usize),
    /// `nn.Parameter` around a tensor.
    Param(Box<Obj>),
}

/// One storage: key, torch storage type, element count.
type Storage = (&'static str, &'static str, usize);

fn tensor(
    json: &'static str,
    key: &'static str,
    shape: &[usize],
    stride: &[usize],
    offset: usize,
) -> Obj {
    Obj::Tensor(json, key, shape.to_vec(), stride.to_vec(), offset)
}

/// What make_pt_cases.py saved for `case`: the object and its storages.
fn layout(case: &str) -> (Obj, Vec<Storage>) {
    use Obj::{Dict, Param};
    match case {
        "contiguous" => (
            Dict(
                true,
                vec![
                    ("weight", tensor("weight", "0", &[3, 4], &[4, 1], 0)),
                    ("bias", tensor("bias", "1", &[3], &[1], 0)),
                ],
            ),
            vec![("0", "FloatStorage", 12), ("1", "FloatStorage", 3)],
        ),
        // The transpose of a row-major 3 × 4 matrix: strides (1, 4) into its storage.
        "transposed" => (
            Dict(true, vec![("t", tensor("t", "0", &[4, 3], &[1, 4], 0))]),
            vec![("0", "FloatStorage", 12)],
        ),
        // A row, a column and a block of one 3 × 4 storage.
        "offset_views" => (
            Dict(
                true,
                vec![
                    ("row", tensor("row", "0", &[4], &[1], 4)),
                    ("col", tensor("col", "0", &[3], &[4], 2)),
                    ("tail", tensor("tail", "0", &[2, 2], &[4, 1], 5)),
                ],
            ),
            vec![("0", "FloatStorage", 12)],
        ),
        "dtypes" => (
            Dict(
                true,
                vec![
                    ("f16", tensor("f16", "0", &[3, 4], &[4, 1], 0)),
                    ("bf16", tensor("bf16", "1", &[3, 4], &[4, 1], 0)),
                    ("f64", tensor("f64", "2", &[4, 3], &[1, 4], 0)),
                    ("i64", tensor("i64", "3", &[2, 3], &[3, 1], 0)),
                    ("scalar", tensor("scalar", "4", &[], &[], 0)),
                ],
            ),
            vec![
                ("0", "HalfStorage", 12),
                ("1", "BFloat16Storage", 12),
                ("2", "DoubleStorage", 12),
                ("3", "LongStorage", 6),
                ("4", "FloatStorage", 1),
            ],
        ),
        "nested" => (
            Dict(
                false,
                vec![
                    (
                        "state_dict",
                        Dict(
                            true,
                            vec![
                                (
                                    "encoder.weight",
                                    tensor("state_dict.encoder.weight", "0", &[3, 4], &[4, 1], 0),
                                ),
                                (
                                    "encoder.bias",
                                    tensor("state_dict.encoder.bias", "1", &[2], &[1], 0),
                                ),
                            ],
                        ),
                    ),
                    (
                        "model",
                        Dict(
                            false,
                            vec![(
                                "head",
                                Dict(
                                    false,
                                    vec![("w", tensor("model.head.w", "2", &[1, 1], &[1, 1], 0))],
                                ),
                            )],
                        ),
                    ),
                ],
            ),
            vec![
                ("0", "FloatStorage", 12),
                ("1", "FloatStorage", 2),
                ("2", "FloatStorage", 1),
            ],
        ),
        "parameters" => (
            Dict(
                true,
                vec![
                    (
                        "weight",
                        Param(Box::new(tensor("weight", "0", &[2, 2], &[2, 1], 0))),
                    ),
                    ("bias", Param(Box::new(tensor("bias", "1", &[2], &[1], 0)))),
                ],
            ),
            vec![("0", "FloatStorage", 4), ("1", "FloatStorage", 2)],
        ),
        other => panic!("no case {other}"),
    }
}

/// Writes a case's object with the shared pickle writer.
trait WriteObj {
    fn obj(&mut self, obj: &Obj, storages: &[Storage]);
}

impl WriteObj for Pickle {
    fn obj(&mut self, obj: &Obj, storages: &[Storage]) {
        match obj {
            Obj::Dict(ordered, items) => {
                if *ordered {
                    self.ordered_dict();
                } else {
                    self.0.push(b'}');
                }
                if !items.is_empty() {
                    self.0.push(b'(');
                    for (key, value) in items {
                        self.string(key);
                        self.obj(value, storages);
                    }
                    self.0.push(b'u');
                }
            }
            Obj::Tensor(_, key, shape, stride, offset) => {
                let (_, kind, numel) = storages.iter().find(|s| s.0 == *key).unwrap();
                self.tensor((key, kind, *numel), *offset, shape, stride);
            }
            Obj::Param(inner) => self.parameter(|p| p.obj(inner, storages)),
        }
    }
}

/// Every view of `obj` with its JSON name.
fn views<'a>(obj: &'a Obj, out: &mut Vec<&'a Obj>) {
    match obj {
        Obj::Dict(_, items) => items.iter().for_each(|(_, v)| views(v, out)),
        Obj::Tensor(..) => out.push(obj),
        Obj::Param(inner) => views(inner, out),
    }
}

/// Writes `<dir>/<case>.pt`: each view's expected values (torch's, from the JSON) placed
/// in its storage through its offset and strides, then the zip torch.save writes.
fn torch_save(dir: &Path, case: &str) {
    let (obj, storages) = layout(case);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data(&format!("{case}.json"))).unwrap())
            .unwrap();
    let mut cells: Vec<Vec<f64>> = storages.iter().map(|s| vec![0.0; s.2]).collect();
    let mut all = Vec::new();
    views(&obj, &mut all);
    for view in all {
        let Obj::Tensor(name, key, shape, stride, offset) = view else {
            unreachable!()
        };
        let values: Vec<f64> = serde_json::from_value(json[*name]["values"].clone()).unwrap();
        let k = storages.iter().position(|s| s.0 == *key).unwrap();
        for (flat, v) in values.into_iter().enumerate() {
            let (mut rest, mut at) = (flat, *offset);
            for d in (0..shape.len()).rev() {
                at += (rest % shape[d]) * stride[d];
                rest /= shape[d];
            }
            cells[k][at] = v;
        }
    }
    let mut pickle = Pickle::new();
    pickle.obj(&obj, &storages);
    let mut entries = vec![(format!("{case}/data.pkl"), pickle.finish())];
    entries.push((format!("{case}/byteorder"), b"little".to_vec()));
    for ((key, kind, _), values) in storages.iter().zip(&cells) {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| match *kind {
                "HalfStorage" => half::f16::from_f64(v).to_le_bytes().to_vec(),
                "BFloat16Storage" => half::bf16::from_f64(v).to_le_bytes().to_vec(),
                "DoubleStorage" => v.to_le_bytes().to_vec(),
                "LongStorage" => (v as i64).to_le_bytes().to_vec(),
                _ => (v as f32).to_le_bytes().to_vec(),
            })
            .collect();
        entries.push((format!("{case}/data/{key}"), bytes));
    }
    entries.push((format!("{case}/version"), b"3\n".to_vec()));
    write_zip(dir, &format!("{case}.pt"), &entries);
}

/// Every tensor of a case against its JSON: dtype family, shape and exact values.
fn check_case(case: &str) {
    let reader = CheckpointReader::open(data(&format!("{case}.pt"))).unwrap();
    let json = std::fs::read_to_string(data(&format!("{case}.json"))).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
    let mut names: Vec<&String> = expected.keys().collect();
    names.sort();
    assert_eq!(
        reader.raw_names().iter().collect::<Vec<_>>(),
        names,
        "{case}"
    );
    for (name, want) in &expected {
        let shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!(reader.shape(name).unwrap(), shape, "{case}/{name}");
        if want["dtype"] == "int64" {
            let values: Vec<i64> = serde_json::from_value(want["values"].clone()).unwrap();
            let got = reader.read_i64(name).unwrap();
            assert_eq!(got.shape.as_slice(), shape.as_slice(), "{case}/{name}");
            assert_eq!(got.to_vec::<i64>().unwrap(), values, "{case}/{name}");
            assert!(!reader.dtype(name).unwrap().1);
        } else {
            let values: Vec<f64> = serde_json::from_value(want["values"].clone()).unwrap();
            let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
            let got = reader.read_f32(name).unwrap();
            assert_eq!(got.shape.as_slice(), shape.as_slice(), "{case}/{name}");
            assert_eq!(got.to_vec::<f32>().unwrap(), values, "{case}/{name}");
            assert!(reader.dtype(name).unwrap().1);
        }
    }
}

#[test]
fn contiguous_tensors_read_exactly() {
    check_case("contiguous");
}

#[test]
fn transposed_view_is_gathered_through_its_strides() {
    check_case("transposed");
    // The storage order is the untransposed matrix; reading it flat (what a reader that
    // ignores strides returns) would start -2.0, -1.5, -1.0.
    let r = CheckpointReader::open(data("transposed.pt")).unwrap();
    let t = r.read_f32("t").unwrap().to_vec::<f32>().unwrap();
    assert_eq!(&t[..3], &[-2.0, 0.0, 2.0]);
}

#[test]
fn views_sharing_a_storage_honour_their_offsets() {
    check_case("offset_views");
}

#[test]
fn half_bfloat_double_and_integer_storages_decode() {
    check_case("dtypes");
    let r = CheckpointReader::open(data("dtypes.pt")).unwrap();
    assert_eq!(r.dtype("bf16").unwrap(), ("BF16".to_string(), true));
    assert_eq!(r.dtype("i64").unwrap(), ("I64".to_string(), false));
    let err = r.read_f32("i64").unwrap_err();
    assert!(
        matches!(err, IoError::DType { ref name, .. } if name == "i64"),
        "{err}"
    );
}

#[test]
fn nested_dicts_and_parameters_are_found_by_dotted_names() {
    check_case("nested");
    check_case("parameters");
    let mut r = CheckpointReader::open(data("nested.pt")).unwrap();
    r.detect_prefix("encoder.bias");
    assert_eq!(r.prefix(), "state_dict.");
    assert_eq!(r.names(), ["encoder.bias", "encoder.weight"]);
    assert_eq!(
        r.read_f32("encoder.bias").unwrap().to_vec::<f32>().unwrap(),
        [1.0, 2.0]
    );
}

/// The entries of `contiguous.pt` as (name, bytes), in archive order.
fn entries() -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(data("contiguous.pt")).unwrap();
    let mut zip = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            (f.name().to_string(), buf)
        })
        .collect()
}

/// A valid zip (fresh checksums) of `entries` under `name` in `dir`.
fn write_zip(dir: &Path, name: &str, entries: &[(String, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    torch_save::write_zip(&path, entries);
    path
}

/// `contiguous.pt` with `edit` applied to its entries.
fn damaged(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>),
) -> CheckpointReader {
    let mut e = entries();
    edit(&mut e);
    CheckpointReader::open(write_zip(dir, name, &e)).unwrap()
}

/// `data.pkl` with the first occurrence of `from` replaced by `to`.
fn patch_pickle(entries: &mut [(String, Vec<u8>)], from: &[u8], to: &[u8]) {
    let (_, pkl) = entries
        .iter_mut()
        .find(|(n, _)| n.ends_with("data.pkl"))
        .unwrap();
    let at = pkl.windows(from.len()).position(|w| w == from).unwrap();
    pkl.splice(at..at + from.len(), to.iter().copied());
}

/// The weight's `_rebuild_tensor_v2` arguments in contiguous.pt: BINPERSID, offset 0,
/// size (3, 4).
const WEIGHT_ARGS: &[u8] = b"QK\x00K\x03K\x04\x86";

fn assert_names(err: &IoError, file: &str, tensor: &str) {
    let msg = err.to_string();
    assert!(err.path().ends_with(file), "{msg}");
    assert!(msg.contains(&format!("`{tensor}`")), "{msg}");
}

#[test]
fn undamaged_rewrite_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let r = damaged(dir.path(), "same.pt", |_| {});
    assert_eq!(
        r.read_f32("bias").unwrap().to_vec::<f32>().unwrap(),
        [0.25, -1.5, 3.0]
    );
}

#[test]
fn missing_storage_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = damaged(dir.path(), "missing.pt", |e| {
        e.retain(|(n, _)| !n.ends_with("data/1"));
    });
    let err = r.read_f32("bias").unwrap_err();
    assert!(
        matches!(err, IoError::MissingStorage { ref key, .. } if key == "1"),
        "{err}"
    );
    assert_names(&err, "missing.pt", "bias");
    // The other tensor does not depend on the lost entry.
    assert!(r.read_f32("weight").is_ok());
}

#[test]
fn short_storage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = damaged(dir.path(), "short.pt", |e| {
        let (_, b) = e.iter_mut().find(|(n, _)| n.ends_with("data/0")).unwrap();
        b.truncate(20);
    });
    let err = r.read_f32("weight").unwrap_err();
    assert!(
        matches!(
            err,
            IoError::StorageTooShort {
                needed: 48,
                found: 20,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, "short.pt", "weight");
}

#[test]
fn checksum_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(data("contiguous.pt")).unwrap();
    // The weight storage starts with -2.0, -1.5 (f32, little-endian); change one bit
    // inside it without touching the recorded CRC.
    let start: Vec<u8> = [-2.0f32, -1.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = bytes.windows(8).position(|w| w == start).unwrap();
    bytes[at + 1] ^= 0x01;
    let path = dir.path().join("crc.pt");
    std::fs::write(&path, bytes).unwrap();
    let r = CheckpointReader::open(&path).unwrap();
    let err = r.read_f32("weight").unwrap_err();
    assert!(
        matches!(err, IoError::CorruptEntry { ref name, .. } if name.as_deref() == Some("weight")),
        "{err}"
    );
    assert_names(&err, "crc.pt", "weight");
    assert!(err.to_string().to_lowercase().contains("checksum"), "{err}");
}

#[test]
fn offset_past_the_storage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Offset 10 into a 12-element storage for a 3x4 view.
    let r = damaged(dir.path(), "offset.pt", |e| {
        patch_pickle(e, WEIGHT_ARGS, b"QK\x0aK\x03K\x04\x86");
    });
    let err = r.read_f32("weight").unwrap_err();
    assert!(matches!(err, IoError::TensorLayout { .. }), "{err}");
    assert_names(&err, "offset.pt", "weight");
}

#[test]
fn huge_declared_size_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // 2^31 - 1 rows: tens of gigabytes of f32 from a 2 KB file.
    let r = damaged(dir.path(), "huge.pt", |e| {
        patch_pickle(e, WEIGHT_ARGS, b"QK\x00J\xff\xff\xff\x7fK\x04\x86");
    });
    assert_eq!(r.shape("weight").unwrap(), [2_147_483_647, 4]);
    let err = r.read_f32("weight").unwrap_err();
    assert!(matches!(err, IoError::TensorTooLarge { .. }), "{err}");
    assert_names(&err, "huge.pt", "weight");
    // A LONG1 beyond i64 products: the extent computation must not wrap around.
    let r = damaged(dir.path(), "overflow.pt", |e| {
        let big = b"QK\x00\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x3fK\x04\x86";
        patch_pickle(e, WEIGHT_ARGS, big);
    });
    let err = r.read_f32("weight").unwrap_err();
    assert!(
        matches!(
            err,
            IoError::TensorTooLarge { .. } | IoError::TensorLayout { .. }
        ),
        "{err}"
    );
}

#[test]
fn negative_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = damaged(dir.path(), "negative.pt", |e| {
        patch_pickle(e, WEIGHT_ARGS, b"QK\x00J\xff\xff\xff\xffK\x04\x86");
    });
    let err = r.read_f32("weight").unwrap_err();
    assert!(matches!(err, IoError::TensorLayout { .. }), "{err}");
    assert!(err.to_string().contains("negative size"), "{err}");
    assert_names(&err, "negative.pt", "weight");
}

#[test]
fn unknown_globals_are_refused_not_executed() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = entries();
    patch_pickle(&mut e, b"ccollections\nOrderedDict\n", b"cos\nsystem\n");
    let path = write_zip(dir.path(), "evil.pt", &e);
    let err = CheckpointReader::open(path).unwrap_err();
    assert!(matches!(err, IoError::UnsupportedPickle { .. }), "{err}");
    assert!(err.to_string().contains("os.system"), "{err}");
}

/// The shared CT-CLIP fixtures: `ctvit_tiny.pt` and `ctvit_tiny_strided.pt` (28 weights
/// saved as transposed views) hold the same weights as `ctvit_tiny.safetensors`.
#[test]
fn ctclip_fixture_checkpoints_match_their_safetensors() {
    let dir = std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
        .join("ctvit");
    let Ok(reference) = CheckpointReader::open(dir.join("ctvit_tiny.safetensors")) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "fixtures missing at {} under CI",
            dir.display()
        );
        eprintln!("skipping: no fixtures at {}", dir.display());
        return;
    };
    for file in ["ctvit_tiny.pt", "ctvit_tiny_strided.pt"] {
        let mut pt = CheckpointReader::open(dir.join(file)).unwrap();
        pt.set_prefix("state_dict.");
        let names = pt.names();
        assert!(names.len() > 50, "{file}: {} tensors", names.len());
        for name in names {
            let got = pt.read_f32(&name).unwrap();
            let want = reference.read_f32(&name).unwrap();
            assert_eq!(got.shape, want.shape, "{file}/{name}");
            assert_eq!(
                got.to_vec::<f32>().unwrap(),
                want.to_vec::<f32>().unwrap(),
                "{file}/{name}"
            );
        }
    }
}
