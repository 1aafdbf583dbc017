//! Bad input gives a typed error naming the file, never a panic or a huge allocation.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use rad3d_volume::{Axcodes, ReadOptions, Volume, VolumeError, WriteDtype, read_nifti, write_to};

/// A valid little 3D int16 NIfTI image (4×3×2, LPS, 0.7×0.8×1.5 mm) as bytes.
fn valid_nii() -> Vec<u8> {
    let data: Vec<f32> = (0..24).map(|v| v as f32 * 10.0 - 100.0).collect();
    let vol = Volume::from_spacing(data, [4, 3, 2], [0.7, 0.8, 1.5], Axcodes::LPS).unwrap();
    let mut bytes = Vec::new();
    write_to(&mut bytes, &vol, WriteDtype::Int16).unwrap();
    bytes
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn set_i16(b: &mut [u8], at: usize, v: i16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn set_f32(b: &mut [u8], at: usize, v: f32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn read(bytes: &[u8]) -> Result<Volume, VolumeError> {
    ReadOptions::new().read_bytes(bytes, "case.nii")
}

#[test]
fn valid_file_reads_back_in_memory_and_on_disk() {
    let bytes = valid_nii();
    let v = read(&bytes).unwrap();
    assert_eq!(v.shape(), [4, 3, 2]);
    assert_eq!(v.orientation(), Axcodes::LPS);
    assert_eq!(v.get(1, 0, 0), Some(-90.0));
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("a.nii", bytes.clone()),
        ("a.nii.gz", gz(&bytes)),
        ("gz_named_plain.nii.gz", bytes.clone()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        assert_eq!(read_nifti(&p).unwrap(), v, "{name}");
    }
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken_scan.nii");
    std::fs::write(&p, b"definitely not nifti").unwrap();
    let e = read_nifti(&p).unwrap_err();
    assert!(e.to_string().contains("broken_scan.nii"), "{e}");
    let e = read_nifti(dir.path().join("missing.nii")).unwrap_err();
    assert!(
        matches!(e, VolumeError::Io { .. }) && e.to_string().contains("missing.nii"),
        "{e}"
    );
}

#[test]
fn bad_magic_and_sizeof_hdr() {
    let mut b = valid_nii();
    b[344..348].copy_from_slice(b"abcd");
    assert!(matches!(read(&b), Err(VolumeError::NotNifti { .. })));
    let mut b = valid_nii();
    b[344..348].copy_from_slice(b"ni1\0");
    assert!(matches!(read(&b), Err(VolumeError::NotNifti { .. })));
    let mut b = valid_nii();
    b[0..4].copy_from_slice(&1234i32.to_le_bytes());
    assert!(matches!(read(&b), Err(VolumeError::NotNifti { .. })));
    let mut b = valid_nii();
    b[0..4].copy_from_slice(&540i32.to_le_bytes());
    let e = read(&b).unwrap_err();
    assert!(e.to_string().contains("NIfTI-2"), "{e}");
}

#[test]
fn truncated_files_and_streams() {
    let b = valid_nii();
    for cut in [0, 10, 347, 350, b.len() - 1] {
        let e = read(&b[..cut]).unwrap_err();
        assert!(matches!(e, VolumeError::Truncated { .. }), "cut {cut}: {e}");
    }
    let z = gz(&b);
    for cut in [5, 20, z.len() / 2, z.len() - 9, z.len() - 1] {
        let e = read(&z[..cut]).unwrap_err();
        assert!(
            matches!(e, VolumeError::Truncated { .. } | VolumeError::Gzip { .. }),
            "gz cut {cut}: {e}"
        );
    }
    // Corrupt CRC in the gzip trailer.
    let mut z = gz(&b);
    let n = z.len();
    z[n - 8] ^= 0xff;
    assert!(matches!(read(&z), Err(VolumeError::Gzip { .. })));
}

#[test]
fn voxel_limit_is_checked_before_allocating() {
    let mut b = valid_nii();
    for (i, d) in [32767i16, 32767, 32767].iter().enumerate() {
        set_i16(&mut b, 42 + 2 * i, *d);
    }
    // 2^45 voxels claimed by a 376-byte file: refused by the default 2^29 limit.
    assert!(matches!(read(&b), Err(VolumeError::TooManyVoxels { .. })));
    // A configurable limit.
    let e = ReadOptions::new()
        .max_voxels(10)
        .read_bytes(&valid_nii(), "x.nii")
        .unwrap_err();
    assert!(
        matches!(
            e,
            VolumeError::TooManyVoxels {
                voxels: 24,
                limit: 10,
                ..
            }
        ),
        "{e}"
    );
    // Under the limit but far beyond the data: truncated, and gzip too.
    let mut b = valid_nii();
    set_i16(&mut b, 42, 1000);
    set_i16(&mut b, 44, 1000);
    assert!(matches!(read(&b), Err(VolumeError::Truncated { .. })));
    assert!(matches!(read(&gz(&b)), Err(VolumeError::Truncated { .. })));
}

/// A NIfTI header declaring `dims` int16 voxels, followed by only `data_bytes` of them.
fn header_only(dims: [i16; 3], data_bytes: usize) -> Vec<u8> {
    let mut b = valid_nii();
    for (i, d) in dims.iter().enumerate() {
        set_i16(&mut b, 42 + 2 * i, *d);
    }
    b.truncate(352 + data_bytes);
    b
}

#[test]
fn gzip_bomb_is_refused_from_its_header() {
    // The header of a 4 GiB int16 volume that gzip shrinks to a few MB: 2048 × 2048 × 512
    // voxels would take 8 GiB as f32. Only its header and a few voxels are written here,
    // with the gzip trailer's size field set to what the whole stream would declare
    // (2^32 + 352 bytes, modulo 2^32), so nothing hints that the data is missing.
    let mut bomb = gz(&header_only([2048, 2048, 512], 16));
    let n = bomb.len();
    bomb[n - 4..].copy_from_slice(&352u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.nii.gz");
    std::fs::write(&path, &bomb).unwrap();
    let started = std::time::Instant::now();
    let e = read_nifti(&path).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match &e {
        VolumeError::TooManyVoxels {
            dims,
            voxels,
            limit,
            ..
        } => {
            assert_eq!(dims, &[2048, 2048, 512]);
            assert_eq!(*voxels, 1 << 31);
            assert_eq!(*limit, ReadOptions::DEFAULT_MAX_VOXELS);
        }
        other => panic!("expected TooManyVoxels, got {other}"),
    }
    let message = e.to_string();
    assert!(
        message.contains("bomb.nii.gz") && message.contains("[2048, 2048, 512]"),
        "{message}"
    );
    // Raising the limit admits the header; missing data is then found before the 8 GiB
    // are allocated: from the file length for `.nii`, and for gzip (whose trailer here
    // tells the truth) as data arrives.
    let raised = ReadOptions::new().max_voxels(1 << 31);
    let plain = dir.path().join("short.nii");
    let short = header_only([2048, 2048, 512], 16);
    std::fs::write(&plain, &short).unwrap();
    let short_gz = dir.path().join("short.nii.gz");
    std::fs::write(&short_gz, gz(&short)).unwrap();
    for p in [&plain, &short_gz] {
        let e = raised.read(p).unwrap_err();
        assert!(
            matches!(e, VolumeError::Truncated { .. } | VolumeError::Gzip { .. }),
            "{e}"
        );
    }
}

#[test]
fn dimensionality_and_4d_selection() {
    let mut b = valid_nii();
    set_i16(&mut b, 40, 2);
    assert!(matches!(
        read(&b),
        Err(VolumeError::TooFewDims { ndim: 2, .. })
    ));
    let mut b = valid_nii();
    set_i16(&mut b, 46, 0);
    assert!(matches!(read(&b), Err(VolumeError::InvalidHeader { .. })));
    // Make it 4D with two volumes of 4×3×1.
    let mut b = valid_nii();
    set_i16(&mut b, 40, 4);
    set_i16(&mut b, 46, 1);
    set_i16(&mut b, 48, 2);
    assert!(matches!(
        read(&b),
        Err(VolumeError::MultipleVolumes { count: 2, .. })
    ));
    let second = ReadOptions::new()
        .volume(1)
        .read_bytes(&b, "4d.nii")
        .unwrap();
    assert_eq!(second.shape(), [4, 3, 1]);
    assert_eq!(second.get(0, 0, 0), Some(20.0));
    let e = ReadOptions::new()
        .volume(2)
        .read_bytes(&b, "4d.nii")
        .unwrap_err();
    assert!(matches!(
        e,
        VolumeError::VolumeOutOfRange {
            index: 2,
            count: 2,
            ..
        }
    ));
}

#[test]
fn bad_spacing_and_singular_affine() {
    // As in nibabel: the sform ignores pixdim, and a zero or negative pixdim is repaired
    // (to 1 or its absolute value) before the qform or pixdim transform uses it.
    let reference = read(&valid_nii()).unwrap();
    for (axis, v) in [(0, 0.0f32), (1, -1.0), (2, f32::NAN), (0, f32::INFINITY)] {
        let mut b = valid_nii();
        set_f32(&mut b, 80 + 4 * axis, v);
        assert_eq!(read(&b).unwrap().affine(), reference.affine(), "{axis} {v}");
    }
    let mut b = valid_nii();
    set_i16(&mut b, 254, 0); // sform_code: qform used
    set_f32(&mut b, 80 + 4, -0.8);
    assert_eq!(read(&b).unwrap().spacing(), reference.spacing());
    // A non-finite spacing the transform needs is refused (nibabel's affine would be NaN).
    for (axis, v) in [(2, f32::NAN), (0, f32::INFINITY)] {
        let mut b = valid_nii();
        set_i16(&mut b, 254, 0);
        set_f32(&mut b, 80 + 4 * axis, v);
        assert!(
            matches!(read(&b), Err(VolumeError::BadSpacing { axis: a, .. }) if a == axis),
            "{axis} {v}"
        );
    }
    let mut b = valid_nii();
    // sform row z = 0 → singular.
    for c in 0..4 {
        set_f32(&mut b, 312 + 4 * c, 0.0);
    }
    assert!(matches!(
        read(&b),
        Err(VolumeError::SingularAffine {
            source_name: "sform",
            ..
        })
    ));
    let mut b = valid_nii();
    set_f32(&mut b, 280, f32::NAN);
    assert!(matches!(read(&b), Err(VolumeError::SingularAffine { .. })));
}

#[test]
fn non_finite_voxels_error_or_replace() {
    let data: Vec<f32> = vec![1.0, f32::NAN, 3.0, f32::INFINITY, 5.0, 6.0, 7.0, 8.0];
    let vol = Volume::from_spacing(data, [2, 2, 2], [1.0; 3], Axcodes::RAS).unwrap();
    let mut b = Vec::new();
    write_to(&mut b, &vol, WriteDtype::Float32).unwrap();
    let e = read(&b).unwrap_err();
    assert!(
        matches!(
            e,
            VolumeError::NonFiniteVoxels {
                count: 2,
                first_index: 1,
                ..
            }
        ),
        "{e}"
    );
    let v = ReadOptions::new()
        .replace_non_finite(-1024.0)
        .read_bytes(&b, "nan.nii")
        .unwrap();
    assert_eq!(v.data(), &[1.0, -1024.0, 3.0, -1024.0, 5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn scaling_semantics_and_override() {
    let mut b = valid_nii();
    set_f32(&mut b, 112, 2.0);
    set_f32(&mut b, 116, -1024.0);
    assert_eq!(read(&b).unwrap().get(1, 0, 0), Some(-90.0 * 2.0 - 1024.0));
    for slope in [0.0, f32::NAN] {
        set_f32(&mut b, 112, slope);
        assert_eq!(
            read(&b).unwrap().get(1, 0, 0),
            Some(-90.0),
            "slope {slope} means no scaling"
        );
    }
    let v = ReadOptions::new()
        .rescale(1.0, -1024.0)
        .read_bytes(&b, "o.nii")
        .unwrap();
    assert_eq!(v.get(1, 0, 0), Some(-90.0 - 1024.0));
    set_f32(&mut b, 112, 1.0);
    set_f32(&mut b, 116, f32::NAN);
    assert!(matches!(read(&b), Err(VolumeError::BadScaling { .. })));
}

#[test]
fn every_datatype_reads() {
    // (code, bytes of the value 7 then 200 little-endian)
    let cases: [(i16, Vec<u8>); 10] = [
        (2, vec![7, 200]),
        (256, vec![7, 0x80 + 72]),
        (4, [7i16.to_le_bytes(), 200i16.to_le_bytes()].concat()),
        (512, [7u16.to_le_bytes(), 200u16.to_le_bytes()].concat()),
        (8, [7i32.to_le_bytes(), 200i32.to_le_bytes()].concat()),
        (768, [7u32.to_le_bytes(), 200u32.to_le_bytes()].concat()),
        (1024, [7i64.to_le_bytes(), 200i64.to_le_bytes()].concat()),
        (1280, [7u64.to_le_bytes(), 200u64.to_le_bytes()].concat()),
        (16, [7f32.to_le_bytes(), 200f32.to_le_bytes()].concat()),
        (64, [7f64.to_le_bytes(), 200f64.to_le_bytes()].concat()),
    ];
    for (code, payload) in cases {
        let mut b = valid_nii()[..352].to_vec();
        set_i16(&mut b, 40, 3);
        for (i, d) in [2i16, 1, 1].iter().enumerate() {
            set_i16(&mut b, 42 + 2 * i, *d);
        }
        set_i16(&mut b, 70, code);
        b.extend_from_slice(&payload);
        let v = read(&b).unwrap_or_else(|e| panic!("datatype {code}: {e}"));
        let second = if code == 256 { -56.0 } else { 200.0 };
        assert_eq!(v.data(), &[7.0, second], "datatype {code}");
    }
    let mut b = valid_nii();
    set_i16(&mut b, 70, 32); // complex64
    assert!(matches!(
        read(&b),
        Err(VolumeError::UnsupportedDatatype { code: 32, .. })
    ));
}

#[test]
fn big_endian_files_read() {
    let le = valid_nii();
    let mut be = le.clone();
    // Swap every header field we rely on, then the int16 data.
    let swap = |b: &mut [u8], at: usize, n: usize| b[at..at + n].reverse();
    swap(&mut be, 0, 4);
    for i in 0..8 {
        swap(&mut be, 40 + 2 * i, 2);
    }
    for at in [70, 72, 252, 254] {
        swap(&mut be, at, 2);
    }
    for i in 0..8 {
        swap(&mut be, 76 + 4 * i, 4);
    }
    for at in [108, 112, 116] {
        swap(&mut be, at, 4);
    }
    for i in 0..18 {
        swap(&mut be, 256 + 4 * i, 4);
    }
    for i in 0..24 {
        swap(&mut be, 352 + 2 * i, 2);
    }
    assert_eq!(read(&be).unwrap(), read(&le).unwrap());
}
