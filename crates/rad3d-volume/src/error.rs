//! The crate's single error type.

use std::path::PathBuf;

/// Result alias used throughout `rad3d-volume`.
pub type Result<T> = std::result::Result<T, VolumeError>;

/// Everything that can go wrong while reading, preprocessing or writing a volume.
///
/// Every variant that concerns a file names it (`path`); in-memory inputs are named
/// by the label the caller gave (for example `"<memory>"`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VolumeError {
    /// The operating system refused to read or write the file.
    #[error("{path}: I/O error: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a single-file NIfTI-1 image (bad `sizeof_hdr` or magic).
    #[error("{path}: not a NIfTI-1 file: {reason}")]
    NotNifti {
        /// File concerned.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The file (or its decompressed stream) ends before the header or voxel data does.
    #[error("{path}: truncated: {what} needs {expected} bytes but only {found} are present")]
    Truncated {
        /// File concerned.
        path: PathBuf,
        /// Which part is cut short (`"header"`, `"voxel data"`).
        what: &'static str,
        /// Bytes required.
        expected: u64,
        /// Bytes available.
        found: u64,
    },
    /// The gzip stream is corrupt or ends before its end-of-stream marker.
    #[error("{path}: corrupt or truncated gzip stream: {source}")]
    Gzip {
        /// File concerned.
        path: PathBuf,
        /// Decoder error.
        source: std::io::Error,
    },
    /// A header field holds a value this reader cannot accept.
    #[error("{path}: invalid header field `{field}` = {value}: {reason}")]
    InvalidHeader {
        /// File concerned.
        path: PathBuf,
        /// Header field name as in the NIfTI-1 standard.
        field: &'static str,
        /// Offending value, formatted.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The image has fewer than three spatial dimensions.
    #[error("{path}: need 3 spatial dimensions, header `dim[0]` = {ndim}")]
    TooFewDims {
        /// File concerned.
        path: PathBuf,
        /// Number of dimensions declared.
        ndim: usize,
    },
    /// The header declares more voxels than the configured limit allows.
    #[error("{path}: header dims {dims:?} hold {voxels} voxels, above the limit of {limit}")]
    TooManyVoxels {
        /// File concerned.
        path: PathBuf,
        /// Declared dims (`dim[1..=dim[0]]`).
        dims: Vec<usize>,
        /// Their product.
        voxels: u128,
        /// The limit in force (`ReadOptions::max_voxels`).
        limit: u64,
    },
    /// A 4D (or higher) image holds several volumes and none was selected.
    #[error("{path}: holds {count} volumes (dims {dims:?}); select one with `ReadOptions::volume`")]
    MultipleVolumes {
        /// File concerned.
        path: PathBuf,
        /// Declared dims.
        dims: Vec<usize>,
        /// Number of 3D volumes in the file.
        count: usize,
    },
    /// The selected volume index is past the end of a 4D image.
    #[error("{path}: volume {index} requested but the file holds {count}")]
    VolumeOutOfRange {
        /// File concerned.
        path: PathBuf,
        /// Index asked for.
        index: usize,
        /// Volumes available.
        count: usize,
    },
    /// The NIfTI datatype is not a real scalar type CT uses.
    #[error("{path}: unsupported NIfTI datatype code {code} (bitpix {bitpix})")]
    UnsupportedDatatype {
        /// File concerned.
        path: PathBuf,
        /// `datatype` header code.
        code: i16,
        /// `bitpix` header value.
        bitpix: i16,
    },
    /// A voxel spacing is zero, negative, infinite or NaN.
    #[error("{path}: bad spacing on axis {axis}: {value} mm (must be finite and > 0)")]
    BadSpacing {
        /// File concerned.
        path: PathBuf,
        /// Voxel axis (0 = i, 1 = j, 2 = k).
        axis: usize,
        /// Offending value.
        value: f64,
    },
    /// The voxel-to-world affine cannot be inverted (or holds non-finite values).
    #[error("{path}: singular or non-finite {source_name} affine {affine:?}")]
    SingularAffine {
        /// File concerned.
        path: PathBuf,
        /// Which header transform was used (`"sform"`, `"qform"`, `"pixdim"`, `"given"`).
        source_name: &'static str,
        /// The 3×4 rotation/zoom/translation block (boxed to keep the error small).
        affine: Box<[[f64; 4]; 3]>,
    },
    /// Voxels are NaN or infinite after scaling and replacement was not requested.
    #[error(
        "{path}: {count} NaN or infinite voxels (first at flat index {first_index}); \
         use `ReadOptions::replace_non_finite` to replace them"
    )]
    NonFiniteVoxels {
        /// File concerned.
        path: PathBuf,
        /// How many voxels are affected.
        count: usize,
        /// Flat (NIfTI order) index of the first one.
        first_index: usize,
    },
    /// `scl_slope` is valid but `scl_inter` is not finite.
    #[error("{path}: scl_slope = {slope} but scl_inter = {inter} is not finite")]
    BadScaling {
        /// File concerned.
        path: PathBuf,
        /// Slope found.
        slope: f64,
        /// Intercept found.
        inter: f64,
    },
    /// Data length and declared shape disagree.
    #[error("{what}: shape {shape:?} needs {expected} values, got {found}")]
    ShapeMismatch {
        /// What was being built.
        what: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Values required.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A preprocessing or phantom parameter is out of range.
    #[error("invalid configuration `{field}` = {value}: {reason}")]
    InvalidConfig {
        /// Field name.
        field: &'static str,
        /// Offending value, formatted.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A safetensors file is malformed or lacks the expected tensor.
    #[error("{path}: safetensors: {reason}")]
    Safetensors {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl VolumeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VolumeError::Io {
            path: path.into(),
            source,
        }
    }

    /// A failed atomic write of `path` (see `rad3d_io::write_atomic`).
    pub(crate) fn write(path: &std::path::Path, error: rad3d_io::IoError) -> Self {
        match error {
            rad3d_io::IoError::Io { source, .. } => Self::io(path, source),
            other => Self::io(path, std::io::Error::other(other.to_string())),
        }
    }
}
