//! NIfTI-1 reading (`.nii`, `.nii.gz`) into a [`Volume`] of Hounsfield units.
//!
//! The header is parsed by the `nifti` crate; the voxel data is streamed here in
//! chunks straight into the f32 output so that no raw full-size copy is kept, the
//! voxel limit is checked before anything is allocated, and every way a file can
//! be cut short or corrupt becomes a typed [`VolumeError`].

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use nifti::NiftiHeader;

use crate::error::{Result, VolumeError};
use crate::orientation::{Affine, is_invertible};
use crate::volume::Volume;

/// Size of a NIfTI-1 header in bytes.
const HEADER_SIZE: usize = 348;
/// Bytes decoded and converted per step; a multiple of every voxel size.
const CHUNK: usize = 1 << 20;

/// How to read a NIfTI file. `ReadOptions::default()` reads a 3D CT of at most
/// [`ReadOptions::DEFAULT_MAX_VOXELS`] voxels with the header's scaling and rejects
/// NaN/infinite voxels.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Largest accepted product of the header dims, checked before anything is allocated
    /// (default [`ReadOptions::DEFAULT_MAX_VOXELS`]).
    pub max_voxels: u64,
    /// Which 3D volume of a 4D file to read (`None`: the file must hold exactly one).
    pub volume: Option<usize>,
    /// `(slope, intercept)` to use instead of the header's `scl_slope` / `scl_inter`
    /// (CT-RATE ships them in its metadata CSV).
    pub rescale: Option<(f64, f64)>,
    /// Replace NaN / infinite voxels with this value instead of failing.
    pub replace_non_finite: Option<f32>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_voxels: Self::DEFAULT_MAX_VOXELS,
            volume: None,
            rescale: None,
            replace_non_finite: None,
        }
    }
}

// A CT-RATE-sized volume (512 × 512, ~1000 slices) must stay well under the default limit.
const _: () = assert!(512 * 512 * 1100 < ReadOptions::DEFAULT_MAX_VOXELS);

/// Read a `.nii` or `.nii.gz` file with default options.
pub fn read_nifti(path: impl AsRef<Path>) -> Result<Volume> {
    ReadOptions::default().read(path)
}

impl ReadOptions {
    /// The default voxel limit: 2²⁹ = 512 × 512 × 2048 voxels, 2 GiB as f32.
    ///
    /// CT-RATE volumes are at most 512 × 512 in-plane with about a thousand slices, so this
    /// admits all of them with room to spare, while a small gzip file whose honest header
    /// declares 2048 × 2048 × 512 (2³¹ voxels, 8 GiB as f32) is refused from the header
    /// alone. Raise it with [`ReadOptions::max_voxels`].
    pub const DEFAULT_MAX_VOXELS: u64 = 1 << 29;

    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the voxel limit (the largest product of the header dims accepted; all volumes
    /// of a 4D file count, as their dims are checked before one is selected).
    pub fn max_voxels(mut self, limit: u64) -> Self {
        self.max_voxels = limit;
        self
    }

    /// Select volume `index` of a 4D file.
    pub fn volume(mut self, index: usize) -> Self {
        self.volume = Some(index);
        self
    }

    /// Override the header's scaling: HU = raw × `slope` + `intercept`.
    pub fn rescale(mut self, slope: f64, intercept: f64) -> Self {
        self.rescale = Some((slope, intercept));
        self
    }

    /// Replace NaN / infinite voxels with `value` instead of returning an error.
    pub fn replace_non_finite(mut self, value: f32) -> Self {
        self.replace_non_finite = Some(value);
        self
    }

    /// Read a file; gzip is recognised by its magic bytes, not by the extension.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Volume> {
        let path = path.as_ref();
        let io_err = |e| VolumeError::io(path, e);
        let mut file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut magic = [0u8; 2];
        let got = read_full(&mut file, &mut magic).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        if got == 2 && magic == [0x1f, 0x8b] {
            let hint = gzip_size_hint(&mut file, len).map_err(io_err)?;
            let reader = MultiGzDecoder::new(io::BufReader::with_capacity(1 << 16, file));
            self.read_stream(reader, path, Source::Gzip { isize_hint: hint })
        } else {
            self.read_stream(file, path, Source::Plain { len })
        }
    }

    /// Read an in-memory `.nii` or `.nii.gz` image; `name` labels errors.
    pub fn read_bytes(&self, bytes: &[u8], name: &str) -> Result<Volume> {
        let path = Path::new(name);
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let hint = (bytes.len() >= 18).then(|| {
                let t = &bytes[bytes.len() - 4..];
                u32::from_le_bytes([t[0], t[1], t[2], t[3]])
            });
            let reader = MultiGzDecoder::new(bytes);
            self.read_stream(reader, path, Source::Gzip { isize_hint: hint })
        } else {
            self.read_stream(
                bytes,
                path,
                Source::Plain {
                    len: bytes.len() as u64,
                },
            )
        }
    }

    fn read_stream<R: Read>(&self, mut reader: R, path: &Path, source: Source) -> Result<Volume> {
        let gz = matches!(source, Source::Gzip { .. });
        let stream_err = |e: io::Error| {
            if gz {
                VolumeError::Gzip {
                    path: path.into(),
                    source: e,
                }
            } else {
                VolumeError::io(path, e)
            }
        };
        let mut raw = [0u8; HEADER_SIZE];
        let got = read_full(&mut reader, &mut raw).map_err(stream_err)?;
        if got < HEADER_SIZE {
            return Err(VolumeError::Truncated {
                path: path.into(),
                what: "header",
                expected: HEADER_SIZE as u64,
                found: got as u64,
            });
        }
        let layout = Layout::parse(&raw, path, self)?;

        // Skip extensions and unselected volumes; `take` bounds the skip by the stream.
        let skip = layout.data_start - HEADER_SIZE as u64;
        let skipped =
            io::copy(&mut (&mut reader).take(skip), &mut io::sink()).map_err(stream_err)?;
        let needed = layout.data_start + layout.volume_bytes;
        if skipped < skip {
            return Err(truncated(path, needed, HEADER_SIZE as u64 + skipped));
        }
        let capacity = match source {
            Source::Plain { len } if len < needed => return Err(truncated(path, needed, len)),
            Source::Plain { .. } => layout.voxels,
            // A matching gzip trailer size lets us allocate once; otherwise grow as data arrives
            // so a lying header cannot force a huge allocation on a tiny stream.
            Source::Gzip {
                isize_hint: Some(h),
            } if h as u64 >= needed.min(1 << 32) || h as u64 == needed % (1 << 32) => layout.voxels,
            Source::Gzip { .. } => layout.voxels.min(CHUNK),
        };
        let mut data: Vec<f32> = Vec::with_capacity(capacity);
        let mut buf = vec![0u8; CHUNK.min(layout.volume_bytes as usize)];
        let mut done = 0u64;
        let mut non_finite = 0usize;
        let mut first_bad = usize::MAX;
        while done < layout.volume_bytes {
            let want = (layout.volume_bytes - done).min(CHUNK as u64) as usize;
            let got = read_full(&mut reader, &mut buf[..want]).map_err(stream_err)?;
            if got < want {
                return Err(truncated(
                    path,
                    needed,
                    layout.data_start + done + got as u64,
                ));
            }
            if data.capacity() - data.len() < want / layout.dtype.size() {
                let grow = data.capacity().max(want / layout.dtype.size());
                data.reserve(grow.min(layout.voxels - data.len()));
            }
            let start = data.len();
            convert(
                layout.dtype,
                layout.big_endian,
                &buf[..want],
                layout.slope,
                layout.inter,
                &mut data,
            );
            let fresh = &mut data[start..];
            if !fresh.iter().all(|v| v.is_finite()) {
                for (i, v) in fresh.iter_mut().enumerate() {
                    if !v.is_finite() {
                        non_finite += 1;
                        first_bad = first_bad.min(start + i);
                        if let Some(r) = self.replace_non_finite {
                            *v = r;
                        }
                    }
                }
            }
            done += want as u64;
        }
        if non_finite > 0 && self.replace_non_finite.is_none() {
            return Err(VolumeError::NonFiniteVoxels {
                path: path.into(),
                count: non_finite,
                first_index: first_bad,
            });
        }
        if non_finite > 0 {
            tracing::warn!(path = %path.display(), count = non_finite, "replaced non-finite voxels");
        }
        if gz {
            // Decode to the end so a corrupt or truncated trailer (CRC, length) is reported.
            io::copy(&mut reader, &mut io::sink()).map_err(stream_err)?;
        }
        Ok(Volume::from_parts(data, layout.shape, layout.affine))
    }
}

/// Where the bytes come from, with what is known of their length up front.
enum Source {
    Plain { len: u64 },
    Gzip { isize_hint: Option<u32> },
}

fn truncated(path: &Path, expected: u64, found: u64) -> VolumeError {
    VolumeError::Truncated {
        path: path.into(),
        what: "voxel data",
        expected,
        found,
    }
}

/// gzip's trailer holds the uncompressed size modulo 2³² (of the last member).
fn gzip_size_hint(file: &mut File, len: u64) -> io::Result<Option<u32>> {
    if len < 18 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(-4))?;
    let mut t = [0u8; 4];
    file.read_exact(&mut t)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Some(u32::from_le_bytes(t)))
}

/// Read until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// NIfTI voxel datatypes that hold real scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Dtype {
    fn from_code(code: i16) -> Option<Dtype> {
        Some(match code {
            2 => Dtype::U8,
            4 => Dtype::I16,
            8 => Dtype::I32,
            16 => Dtype::F32,
            64 => Dtype::F64,
            256 => Dtype::I8,
            512 => Dtype::U16,
            768 => Dtype::U32,
            1024 => Dtype::I64,
            1280 => Dtype::U64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::I64 | Dtype::U64 | Dtype::F64 => 8,
        }
    }
}

/// Everything the data loop needs, validated from the header.
struct Layout {
    shape: [usize; 3],
    voxels: usize,
    dtype: Dtype,
    big_endian: bool,
    /// Byte offset of the selected volume in the (decompressed) stream.
    data_start: u64,
    volume_bytes: u64,
    slope: f64,
    inter: f64,
    affine: Affine,
}

impl Layout {
    fn parse(raw: &[u8; HEADER_SIZE], path: &Path, opts: &ReadOptions) -> Result<Layout> {
        let not_nifti = |reason: String| VolumeError::NotNifti {
            path: path.into(),
            reason,
        };
        let le = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let be = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let big_endian = match (le, be) {
            (348, _) => false,
            (_, 348) => true,
            (540, _) | (_, 540) => {
                return Err(not_nifti("NIfTI-2 headers are not supported".into()));
            }
            _ => return Err(not_nifti(format!("sizeof_hdr is {le}, expected 348"))),
        };
        match &raw[344..348] {
            b"n+1\0" => {}
            b"ni1\0" => {
                return Err(not_nifti(
                    "header/image pairs (.hdr/.img) are not supported".into(),
                ));
            }
            m => return Err(not_nifti(format!("bad magic {m:?}, expected \"n+1\\0\""))),
        }
        let h = NiftiHeader::from_reader(&raw[..]).map_err(|e| not_nifti(e.to_string()))?;
        // The nifti crate guesses byte order from dim[0]; trust sizeof_hdr instead.
        let dim: [i16; 8] = std::array::from_fn(|i| {
            let b = [raw[40 + 2 * i], raw[41 + 2 * i]];
            if big_endian {
                i16::from_be_bytes(b)
            } else {
                i16::from_le_bytes(b)
            }
        });
        let h = if (h.endianness == nifti::Endianness::Big) == big_endian {
            h
        } else {
            return Err(not_nifti(format!(
                "inconsistent byte order (dim[0] = {})",
                dim[0]
            )));
        };
        let invalid =
            |field: &'static str, value: String, reason: &'static str| VolumeError::InvalidHeader {
                path: path.into(),
                field,
                value,
                reason,
            };
        let ndim = dim[0];
        if !(1..=7).contains(&ndim) {
            return Err(invalid(
                "dim[0]",
                ndim.to_string(),
                "must be between 1 and 7",
            ));
        }
        let ndim = ndim as usize;
        if ndim < 3 {
            return Err(VolumeError::TooFewDims {
                path: path.into(),
                ndim,
            });
        }
        let dims: Vec<usize> = dim[1..=ndim].iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&d) = dim[1..=ndim].iter().find(|&&d| d < 1) {
            let reason = if d == 0 {
                "zero-sized axis"
            } else {
                "negative size"
            };
            return Err(invalid("dim", format!("{:?}", &dim[1..=ndim]), reason));
        }
        let total: u128 = dims.iter().map(|&d| d as u128).product();
        if total > opts.max_voxels as u128 {
            return Err(VolumeError::TooManyVoxels {
                path: path.into(),
                dims,
                voxels: total,
                limit: opts.max_voxels,
            });
        }
        let shape = [dims[0], dims[1], dims[2]];
        let voxels = shape.iter().product::<usize>();
        let count = dims[3..].iter().product::<usize>();
        let index = match (opts.volume, count) {
            (None, 1) => 0,
            (None, _) => {
                return Err(VolumeError::MultipleVolumes {
                    path: path.into(),
                    dims,
                    count,
                });
            }
            (Some(i), c) if i >= c => {
                return Err(VolumeError::VolumeOutOfRange {
                    path: path.into(),
                    index: i,
                    count: c,
                });
            }
            (Some(i), _) => i,
        };
        let dtype = Dtype::from_code(h.datatype).ok_or(VolumeError::UnsupportedDatatype {
            path: path.into(),
            code: h.datatype,
            bitpix: h.bitpix,
        })?;
        let vox_offset = h.vox_offset;
        if !(vox_offset.is_finite()
            && vox_offset >= HEADER_SIZE as f32
            && vox_offset < (1u64 << 31) as f32)
        {
            return Err(invalid(
                "vox_offset",
                vox_offset.to_string(),
                "must be a byte offset of at least 348",
            ));
        }
        let volume_bytes = (voxels * dtype.size()) as u64;
        let data_start = vox_offset as u64 + index as u64 * volume_bytes;
        let (affine, source_name) = header_affine(&h, shape, path)?;
        if !is_invertible(&affine) {
            return Err(VolumeError::SingularAffine {
                path: path.into(),
                source_name,
                affine: Box::new([affine[0], affine[1], affine[2]]),
            });
        }
        let (slope, inter) = match opts.rescale {
            Some((s, i)) if s.is_finite() && s != 0.0 && i.is_finite() => (s, i),
            Some((s, i)) => {
                return Err(VolumeError::BadScaling {
                    path: path.into(),
                    slope: s,
                    inter: i,
                });
            }
            None => {
                let (s, i) = (h.scl_slope as f64, h.scl_inter as f64);
                // nibabel: a zero or non-finite slope means "no scaling".
                if s == 0.0 || !s.is_finite() {
                    (1.0, 0.0)
                } else if !i.is_finite() {
                    return Err(VolumeError::BadScaling {
                        path: path.into(),
                        slope: s,
                        inter: i,
                    });
                } else {
                    (s, i)
                }
            }
        };
        Ok(Layout {
            shape,
            voxels,
            dtype,
            big_endian,
            data_start,
            volume_bytes,
            slope,
            inter,
            affine,
        })
    }
}

/// nibabel's threshold below which `1 - |(b, c, d)|²` counts as zero
/// (`Nifti1Header.quaternion_threshold = np.finfo(np.float32).eps * 3`): the quaternion
/// fields are float32, so a smaller difference is rounding, not information.
const QUATERNION_THRESHOLD: f64 = f32::EPSILON as f64 * 3.0;

/// nibabel's `get_best_affine` on the header as `nibabel.load` leaves it: sform if its
/// code is set, else qform, else pixdim.
///
/// `nibabel.load` first runs the header checks with `fix=True`, and the affine is built
/// from the repaired fields, so we repair the same way:
/// - `qform_code` / `sform_code` outside 0..=5 become 0 (`_chk_xform_code`);
/// - `pixdim[1..=3]` of 0 become 1 and negative ones their absolute value
///   (`_chk_pixdims`), while NaN and infinity stay;
/// - `pixdim[0]` (qfac) other than exactly -1 or 1 becomes 1 (`_chk_qfac`), so only -1
///   flips the third axis.
///
/// Spacings are read only when the qform or pixdim transform uses them; a non-finite one
/// there is refused where nibabel would return a non-finite affine.
fn header_affine(
    h: &NiftiHeader,
    shape: [usize; 3],
    path: &Path,
) -> Result<(Affine, &'static str)> {
    let f = |v: f32| v as f64;
    let code_set = |code: i16| (1..=5).contains(&code);
    if code_set(h.sform_code) {
        let rows = [h.srow_x, h.srow_y, h.srow_z];
        let mut a = crate::orientation::IDENTITY;
        for (r, row) in rows.iter().enumerate() {
            for c in 0..4 {
                a[r][c] = f(row[c]);
            }
        }
        return Ok((a, "sform"));
    }
    let mut p = [0.0; 3];
    for (axis, p) in p.iter_mut().enumerate() {
        let v = f(h.pixdim[axis + 1]);
        *p = if v == 0.0 { 1.0 } else { v.abs() };
        if !p.is_finite() {
            return Err(VolumeError::BadSpacing {
                path: path.into(),
                axis,
                value: v,
            });
        }
    }
    if code_set(h.qform_code) {
        let (b, c, d) = (f(h.quatern_b), f(h.quatern_c), f(h.quatern_d));
        // nibabel's `fillpositive`: w² within the threshold of 0 means w = 0 (a 180° turn);
        // clearly negative means (b, c, d) is not part of a unit quaternion.
        let w2 = 1.0 - (b * b + c * c + d * d);
        let a = if w2.abs() < QUATERNION_THRESHOLD {
            0.0
        } else if w2 > 0.0 {
            w2.sqrt()
        } else {
            return Err(VolumeError::InvalidHeader {
                path: PathBuf::from(path),
                field: "quatern_b/c/d",
                value: format!("({b}, {c}, {d})"),
                reason: "1 - (b² + c² + d²) is negative beyond float32 rounding (nibabel refuses it)",
            });
        };
        let r = quat_to_matrix([a, b, c, d]);
        let qfac = if h.pixdim[0] == -1.0 { -1.0 } else { 1.0 };
        let z = [p[0], p[1], p[2] * qfac];
        let mut out = crate::orientation::IDENTITY;
        for i in 0..3 {
            for j in 0..3 {
                out[i][j] = r[i][j] * z[j];
            }
        }
        out[0][3] = f(h.quatern_x);
        out[1][3] = f(h.quatern_y);
        out[2][3] = f(h.quatern_z);
        return Ok((out, "qform"));
    }
    // nibabel's shape_zoom_affine: x flipped, origin at the volume centre.
    let mut out = crate::orientation::IDENTITY;
    let z = [-p[0], p[1], p[2]];
    for i in 0..3 {
        out[i][i] = z[i];
        out[i][3] = -((shape[i] as f64 - 1.0) / 2.0) * z[i];
    }
    Ok((out, "pixdim"))
}

/// nibabel's `quat2mat` for a (w, x, y, z) quaternion.
fn quat_to_matrix(q: [f64; 4]) -> [[f64; 3]; 3] {
    let [w, x, y, z] = q;
    let n = w * w + x * x + y * y + z * z;
    if n < f64::EPSILON {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let s = 2.0 / n;
    let (xs, ys, zs) = (x * s, y * s, z * s);
    let (wx, wy, wz) = (w * xs, w * ys, w * zs);
    let (xx, xy, xz) = (x * xs, x * ys, x * zs);
    let (yy, yz, zz) = (y * ys, y * zs, z * zs);
    [
        [1.0 - (yy + zz), xy - wz, xz + wy],
        [xy + wz, 1.0 - (xx + zz), yz - wx],
        [xz - wy, yz + wx, 1.0 - (xx + yy)],
    ]
}

/// Little/big-endian decoding of one raw voxel type.
trait Raw: Copy {
    const N: usize;
    fn le(b: &[u8]) -> Self;
    fn be(b: &[u8]) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! raw_impl {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            const N: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn le(b: &[u8]) -> Self { <$t>::from_le_bytes(b.try_into().expect("chunk of voxel size")) }
            #[inline(always)]
            fn be(b: &[u8]) -> Self { <$t>::from_be_bytes(b.try_into().expect("chunk of voxel size")) }
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
raw_impl!(u8, i8, i16, u16, i32, u32, i64, u64, f32, f64);

/// Small integer types are exact in f32, so scale in f32 (fast, same values as f64
/// for CT's integer slopes); wide types go through f64.
fn convert_typed<T: Raw>(
    bytes: &[u8],
    be: bool,
    slope: f64,
    inter: f64,
    out: &mut Vec<f32>,
    small: bool,
) {
    let chunks = bytes.chunks_exact(T::N);
    let decode = if be { T::be } else { T::le };
    if small {
        let (s, i) = (slope as f32, inter as f32);
        if s == 1.0 && i == 0.0 {
            out.extend(chunks.map(|c| decode(c).to_f64() as f32));
        } else {
            out.extend(chunks.map(|c| (decode(c).to_f64() as f32) * s + i));
        }
    } else {
        out.extend(chunks.map(|c| (decode(c).to_f64() * slope + inter) as f32));
    }
}

fn convert(dtype: Dtype, be: bool, bytes: &[u8], slope: f64, inter: f64, out: &mut Vec<f32>) {
    match dtype {
        Dtype::U8 => convert_typed::<u8>(bytes, be, slope, inter, out, true),
        Dtype::I8 => convert_typed::<i8>(bytes, be, slope, inter, out, true),
        Dtype::I16 => convert_typed::<i16>(bytes, be, slope, inter, out, true),
        Dtype::U16 => convert_typed::<u16>(bytes, be, slope, inter, out, true),
        Dtype::I32 => convert_typed::<i32>(bytes, be, slope, inter, out, false),
        Dtype::U32 => convert_typed::<u32>(bytes, be, slope, inter, out, false),
        Dtype::I64 => convert_typed::<i64>(bytes, be, slope, inter, out, false),
        Dtype::U64 => convert_typed::<u64>(bytes, be, slope, inter, out, false),
        Dtype::F32 => convert_typed::<f32>(bytes, be, slope, inter, out, false),
        Dtype::F64 => convert_typed::<f64>(bytes, be, slope, inter, out, false),
    }
}
