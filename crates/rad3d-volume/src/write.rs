//! NIfTI-1 writing (`.nii`, or gzip-compressed when the name ends in `.gz`).

use std::io::{self, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Result, VolumeError};
use crate::orientation::{Affine, det3, invert3, voxel_sizes};
use crate::volume::Volume;

/// Voxel type written to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteDtype {
    /// Signed 16-bit integers (CT's usual storage): values are rounded and clamped.
    #[default]
    Int16,
    /// 32-bit floats, written exactly.
    Float32,
}

/// Write `volume` as a single-file NIfTI-1 image with both sform and qform set
/// from its affine (codes "aligned" and "scanner"); `.gz` names are compressed.
pub fn write_nifti(path: impl AsRef<Path>, volume: &Volume, dtype: WriteDtype) -> Result<()> {
    let path = path.as_ref();
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    // Written to a temporary sibling and renamed: an interrupted write never leaves a
    // truncated file under the requested name.
    rad3d_io::write_atomic_with(path, |file| {
        if gz {
            let mut enc = GzEncoder::new(file, Compression::default());
            write_to(&mut enc, volume, dtype).and_then(|_| enc.finish()?.flush())
        } else {
            write_to(file, volume, dtype).and_then(|_| file.flush())
        }
    })
    .map_err(|e| VolumeError::write(path, e))
}

/// Serialize `volume` as NIfTI-1 bytes (uncompressed) into `w`.
pub fn write_to(w: &mut impl Write, volume: &Volume, dtype: WriteDtype) -> io::Result<()> {
    w.write_all(&header_bytes(volume, dtype))?;
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in volume.data().chunks(1 << 18) {
        buf.clear();
        match dtype {
            WriteDtype::Int16 => {
                for &v in chunk {
                    let q = v.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16;
                    buf.extend_from_slice(&q.to_le_bytes());
                }
            }
            WriteDtype::Float32 => {
                for &v in chunk {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// The 348-byte little-endian header plus the 4-byte "no extensions" flag.
fn header_bytes(volume: &Volume, dtype: WriteDtype) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    let put =
        |h: &mut Vec<u8>, at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    let shape = volume.shape();
    let affine = volume.affine();
    let (code, bitpix) = match dtype {
        WriteDtype::Int16 => (4i16, 16i16),
        WriteDtype::Float32 => (16, 32),
    };
    put(&mut h, 0, &348i32.to_le_bytes());
    h[38] = b'r';
    let dims = [
        3i16,
        shape[0] as i16,
        shape[1] as i16,
        shape[2] as i16,
        1,
        1,
        1,
        1,
    ];
    for (i, d) in dims.iter().enumerate() {
        put(&mut h, 40 + 2 * i, &d.to_le_bytes());
    }
    put(&mut h, 70, &code.to_le_bytes());
    put(&mut h, 72, &bitpix.to_le_bytes());
    let (quat, offset, qfac) = affine_to_quaternion(affine);
    let zooms = voxel_sizes(affine);
    let pixdim = [
        qfac as f32,
        zooms[0] as f32,
        zooms[1] as f32,
        zooms[2] as f32,
        1.0,
        1.0,
        1.0,
        1.0,
    ];
    for (i, p) in pixdim.iter().enumerate() {
        put(&mut h, 76 + 4 * i, &p.to_le_bytes());
    }
    put(&mut h, 108, &352f32.to_le_bytes()); // vox_offset
    put(&mut h, 112, &1f32.to_le_bytes()); // scl_slope
    h[123] = 2; // xyzt_units: millimetres
    let descrip = b"rad3d-volume";
    put(&mut h, 148, descrip);
    put(&mut h, 252, &1i16.to_le_bytes()); // qform_code: scanner
    put(&mut h, 254, &2i16.to_le_bytes()); // sform_code: aligned
    for (i, v) in [quat[1], quat[2], quat[3], offset[0], offset[1], offset[2]]
        .iter()
        .enumerate()
    {
        put(&mut h, 256 + 4 * i, &(*v as f32).to_le_bytes());
    }
    for r in 0..3 {
        for c in 0..4 {
            put(
                &mut h,
                280 + 16 * r + 4 * c,
                &(affine[r][c] as f32).to_le_bytes(),
            );
        }
    }
    put(&mut h, 344, b"n+1\0");
    h
}

/// NIfTI qform parameters of an affine: unit quaternion (w, x, y, z) with w ≥ 0,
/// offset, and qfac (−1 when the voxel axes are left-handed).
fn affine_to_quaternion(a: &Affine) -> ([f64; 4], [f64; 3], f64) {
    let zooms = voxel_sizes(a);
    let mut m = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            m[r][c] = a[r][c] / zooms[c];
        }
    }
    // Orthogonalise (polar factor by Newton's iteration) so oblique shears still give a rotation.
    for _ in 0..50 {
        let Some(inv) = invert3(&m) else { break };
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = 0.5 * (m[r][c] + inv[c][r]);
            }
        }
    }
    let qfac = if det3(&m) < 0.0 { -1.0 } else { 1.0 };
    for row in m.iter_mut() {
        row[2] *= qfac;
    }
    let trace = m[0][0] + m[1][1] + m[2][2];
    let q = if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [
            0.25 * s,
            (m[2][1] - m[1][2]) / s,
            (m[0][2] - m[2][0]) / s,
            (m[1][0] - m[0][1]) / s,
        ]
    } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
        [
            (m[2][1] - m[1][2]) / s,
            0.25 * s,
            (m[0][1] + m[1][0]) / s,
            (m[0][2] + m[2][0]) / s,
        ]
    } else if m[1][1] > m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
        [
            (m[0][2] - m[2][0]) / s,
            (m[0][1] + m[1][0]) / s,
            0.25 * s,
            (m[1][2] + m[2][1]) / s,
        ]
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
        [
            (m[1][0] - m[0][1]) / s,
            (m[0][2] + m[2][0]) / s,
            (m[1][2] + m[2][1]) / s,
            0.25 * s,
        ]
    };
    let q = if q[0] < 0.0 { q.map(|v| -v) } else { q };
    (q, [a[0][3], a[1][3], a[2][3]], qfac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orientation::Axcodes;

    #[test]
    fn quaternion_round_trips_through_reader() {
        // Write with sform, then blank the sform code so the reader must use the qform.
        for codes in ["LPS", "RAS", "PLS", "SAR"] {
            let shape = [4, 5, 6];
            let data: Vec<f32> = (0..120).map(|v| v as f32 - 60.0).collect();
            let vol = Volume::from_spacing(data, shape, [0.7, 0.8, 1.25], codes.parse().unwrap())
                .unwrap();
            let mut bytes = Vec::new();
            write_to(&mut bytes, &vol, WriteDtype::Int16).unwrap();
            bytes[254] = 0;
            let back = crate::ReadOptions::new()
                .read_bytes(&bytes, "q.nii")
                .unwrap();
            assert_eq!(back.orientation(), codes.parse::<Axcodes>().unwrap());
            for r in 0..3 {
                for c in 0..4 {
                    assert!(
                        (back.affine()[r][c] - vol.affine()[r][c]).abs() < 2e-3,
                        "{codes} {r} {c}"
                    );
                }
            }
            assert_eq!(back.data(), vol.data());
        }
    }
}
