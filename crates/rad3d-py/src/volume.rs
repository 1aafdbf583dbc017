//! The volume bindings: NIfTI reading and the CT-CLIP preprocessing of `rad3d-volume`,
//! returned as numpy arrays that own the Rust buffers (no copy).

use std::path::PathBuf;

use numpy::ndarray::{Array2, Array3, ShapeBuilder};
use numpy::{IntoPyArray, PyArray2, PyArray3};
use pyo3::prelude::*;
use rad3d_volume::{Order, Preprocess, ReadOptions, Volume};

use crate::error::{input, to_py};

/// Registers the volume functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_nifti, m)?)?;
    m.add_function(wrap_pyfunction!(preprocess, m)?)?;
    Ok(())
}

/// How to read a file: `rescale` overrides `scl_slope` / `scl_inter`, `volume` picks one
/// volume of a 4D file, `max_voxels` refuses larger files from their header.
fn read(
    path: &PathBuf,
    rescale: Option<(f64, f64)>,
    volume: Option<usize>,
    max_voxels: Option<u64>,
) -> PyResult<Volume> {
    let mut options = ReadOptions::new();
    if let Some(limit) = max_voxels {
        options = options.max_voxels(limit);
    }
    if let Some((slope, inter)) = rescale {
        options = options.rescale(slope, inter);
    }
    if let Some(v) = volume {
        options = options.volume(v);
    }
    options.read(path).map_err(to_py)
}

/// Voxels and affine of [`read_nifti`].
type VoxelsAffine<'py> = (Bound<'py, PyArray3<f32>>, Bound<'py, PyArray2<f64>>);

/// A NIfTI file as `(voxels, affine)`: float32 Hounsfield units indexed `[i, j, k]` as
/// nibabel's `get_fdata()` (Fortran order, no copy) and the float64 4×4 voxel→world affine.
#[pyfunction]
#[pyo3(signature = (path, *, rescale=None, volume=None, max_voxels=None))]
fn read_nifti<'py>(
    py: Python<'py>,
    path: PathBuf,
    rescale: Option<(f64, f64)>,
    volume: Option<usize>,
    max_voxels: Option<u64>,
) -> PyResult<VoxelsAffine<'py>> {
    let vol = py.detach(|| read(&path, rescale, volume, max_voxels))?;
    let affine = Array2::from_shape_fn((4, 4), |(r, c)| vol.affine()[r][c]);
    let [n0, n1, n2] = vol.shape();
    // NIfTI order: the first axis varies fastest, i.e. a Fortran-ordered [n0, n1, n2].
    let data = Array3::from_shape_vec((n0, n1, n2).f(), vol.into_data())
        .map_err(|e| input(format!("{}: {e}", path.display())))?;
    Ok((data.into_pyarray(py), affine.into_pyarray(py)))
}

/// CT-CLIP's preprocessing of a NIfTI file (or CT2Rep's with `recipe="ct2rep"`): float32
/// `[240, 480, 480]` indexed `(slice, row, column)`, C order, no copy.
#[pyfunction]
#[pyo3(signature = (
    path, *, recipe="ct-clip", clip_first=false, rescale=None, volume=None, max_voxels=None
))]
#[allow(clippy::too_many_arguments)]
fn preprocess<'py>(
    py: Python<'py>,
    path: PathBuf,
    recipe: &str,
    clip_first: bool,
    rescale: Option<(f64, f64)>,
    volume: Option<usize>,
    max_voxels: Option<u64>,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let mut steps = match recipe {
        "ct-clip" => Preprocess::ct_clip(),
        "ct2rep" => Preprocess::ct2rep(),
        other => {
            return Err(input(format!(
                "recipe must be \"ct-clip\" or \"ct2rep\", got {other:?}"
            )));
        }
    };
    if clip_first {
        steps = steps.with_order(Order::ClipThenResample);
    }
    let out = py.detach(|| {
        let vol = read(&path, rescale, volume, max_voxels)?;
        steps.apply(&vol).map_err(to_py)
    })?;
    let shape = out.shape();
    let data = Array3::from_shape_vec(shape, out.into_data())
        .map_err(|e| input(format!("{}: {e}", path.display())))?;
    Ok(data.into_pyarray(py))
}
