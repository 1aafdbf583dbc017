//! The in-memory CT volume: f32 Hounsfield units on a 3D grid with a world affine.

use rayon::prelude::*;

use crate::error::{Result, VolumeError};
use crate::orientation::{Affine, Axcodes, AxisMap, io_orientation, is_invertible, voxel_sizes};

/// A 3D scalar volume in Hounsfield units.
///
/// Voxels are stored in NIfTI order: the first axis varies fastest, so voxel
/// `(i, j, k)` sits at `data[i + n0 * (j + n1 * k)]` — equivalently the row-major
/// array `[k][j][i]`. `affine` maps `(i, j, k, 1)` to RAS+ world millimetres.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    data: Vec<f32>,
    shape: [usize; 3],
    spacing: [f64; 3],
    affine: Affine,
}

impl Volume {
    /// Build a volume from NIfTI-ordered voxels and a voxel→world affine.
    ///
    /// The spacing is the length of each affine column. Errors when the data
    /// length disagrees with `shape` or the affine is singular or non-finite.
    pub fn new(data: Vec<f32>, shape: [usize; 3], affine: Affine) -> Result<Volume> {
        let expected = shape.iter().product::<usize>();
        if data.len() != expected || expected == 0 {
            return Err(VolumeError::ShapeMismatch {
                what: "Volume::new".into(),
                shape: shape.to_vec(),
                expected,
                found: data.len(),
            });
        }
        if !is_invertible(&affine) {
            return Err(VolumeError::SingularAffine {
                path: "<memory>".into(),
                source_name: "given",
                affine: Box::new([affine[0], affine[1], affine[2]]),
            });
        }
        Ok(Volume {
            data,
            shape,
            spacing: voxel_sizes(&affine),
            affine,
        })
    }

    /// Build a volume with an axis-aligned affine: voxel axes along `orientation`,
    /// voxel sizes `spacing` (mm), and the volume centred on the world origin.
    pub fn from_spacing(
        data: Vec<f32>,
        shape: [usize; 3],
        spacing: [f64; 3],
        orientation: Axcodes,
    ) -> Result<Volume> {
        for (axis, &s) in spacing.iter().enumerate() {
            if !(s.is_finite() && s > 0.0) {
                return Err(VolumeError::BadSpacing {
                    path: "<memory>".into(),
                    axis,
                    value: s,
                });
            }
        }
        let mut affine = [[0.0; 4]; 4];
        affine[3][3] = 1.0;
        for (v, dir) in orientation.0.iter().enumerate() {
            let sign = if dir.negative { -1.0 } else { 1.0 };
            affine[dir.world_axis][v] = sign * spacing[v];
        }
        for w in 0..3 {
            let centre: f64 = (0..3)
                .map(|v| affine[w][v] * (shape[v] as f64 - 1.0) / 2.0)
                .sum();
            affine[w][3] = -centre;
        }
        Volume::new(data, shape, affine)
    }

    /// Voxel values in NIfTI order (first axis fastest).
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Mutable voxel values in NIfTI order.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Take the voxel buffer.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Grid size `[n0, n1, n2]` (first axis fastest in memory).
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Voxel size in millimetres along each storage axis.
    pub fn spacing(&self) -> [f64; 3] {
        self.spacing
    }

    /// Voxel-index → RAS+ world-millimetre transform.
    pub fn affine(&self) -> &Affine {
        &self.affine
    }

    /// nibabel axis codes of the storage axes, e.g. `RAS` or `LPS`.
    pub fn orientation(&self) -> Axcodes {
        io_orientation(&self.affine)
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// `true` for a volume without voxels (never produced by this crate's constructors).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Voxel `(i, j, k)`, `None` outside the grid.
    pub fn get(&self, i: usize, j: usize, k: usize) -> Option<f32> {
        let [n0, n1, n2] = self.shape;
        (i < n0 && j < n1 && k < n2).then(|| self.data[i + n0 * (j + n1 * k)])
    }

    /// The same image re-stored so its axes follow `target` (flips and permutations only,
    /// no interpolation; nibabel's `as_reoriented`). Returns a clone when already there.
    pub fn reorient(&self, target: Axcodes) -> Volume {
        let map = AxisMap::between(self.orientation(), target);
        if map.source == [0, 1, 2] && map.flip == [false; 3] {
            return self.clone();
        }
        let view = StridedView::new(&self.data, self.shape, map);
        let shape = view.shape;
        let mut data = vec![0.0f32; self.data.len()];
        let plane = shape[0] * shape[1];
        data.par_chunks_mut(plane).enumerate().for_each(|(k, out)| {
            view.copy_plane(k, out, |v| v);
        });
        let affine = map.target_affine(&self.affine, self.shape);
        Volume {
            data,
            shape,
            spacing: voxel_sizes(&affine),
            affine,
        }
    }

    /// Apply `f` to every voxel in parallel (e.g. HU windowing).
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32 + Sync + Send) {
        self.data.par_iter_mut().for_each(|v| *v = f(*v));
    }

    pub(crate) fn from_parts(data: Vec<f32>, shape: [usize; 3], affine: Affine) -> Volume {
        Volume {
            data,
            shape,
            spacing: voxel_sizes(&affine),
            affine,
        }
    }
}

/// A read-only view of NIfTI-ordered data through an [`AxisMap`]: target voxel
/// `(a, b, c)` (first fastest) reads the source voxel the map points to.
pub(crate) struct StridedView<'a> {
    data: &'a [f32],
    /// Source flat index of target voxel (0, 0, 0).
    origin: isize,
    /// Source stride of one step along each target axis.
    strides: [isize; 3],
    /// Target shape.
    pub shape: [usize; 3],
}

impl<'a> StridedView<'a> {
    pub fn new(data: &'a [f32], shape: [usize; 3], map: AxisMap) -> StridedView<'a> {
        let src_strides = [1isize, shape[0] as isize, (shape[0] * shape[1]) as isize];
        let mut origin = 0isize;
        let mut strides = [0isize; 3];
        for t in 0..3 {
            let s = map.source[t];
            if map.flip[t] {
                strides[t] = -src_strides[s];
                origin += (shape[s] as isize - 1) * src_strides[s];
            } else {
                strides[t] = src_strides[s];
            }
        }
        StridedView {
            data,
            origin,
            strides,
            shape: map.target_shape(shape),
        }
    }

    /// Copy target plane `c` (shape `[shape[1]][shape[0]]`, first axis fastest) into
    /// `out`, mapping each value through `f`. Blocked so that both the strided reads
    /// and the contiguous writes stay in cache.
    pub fn copy_plane(&self, c: usize, out: &mut [f32], f: impl Fn(f32) -> f32) {
        const B: usize = 32;
        let [n0, n1, _] = self.shape;
        debug_assert_eq!(out.len(), n0 * n1);
        let base = self.origin + c as isize * self.strides[2];
        let (s0, s1) = (self.strides[0], self.strides[1]);
        if s0 == 1 {
            for b in 0..n1 {
                let start = (base + b as isize * s1) as usize;
                let src = &self.data[start..start + n0];
                for (o, &v) in out[b * n0..(b + 1) * n0].iter_mut().zip(src) {
                    *o = f(v);
                }
            }
            return;
        }
        for b0 in (0..n1).step_by(B) {
            for a0 in (0..n0).step_by(B) {
                for b in b0..(b0 + B).min(n1) {
                    let row = base + b as isize * s1;
                    let dst = &mut out[b * n0..(b + 1) * n0];
                    for (a, o) in dst.iter_mut().enumerate().take((a0 + B).min(n0)).skip(a0) {
                        *o = f(self.data[(row + a as isize * s0) as usize]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(shape: [usize; 3]) -> Vec<f32> {
        (0..shape.iter().product::<usize>())
            .map(|v| v as f32)
            .collect()
    }

    #[test]
    fn reorient_ras_to_lps_flips_first_two_axes() {
        let v = Volume::from_spacing(ramp([3, 4, 5]), [3, 4, 5], [1.0, 2.0, 3.0], Axcodes::RAS)
            .unwrap();
        let r = v.reorient(Axcodes::LPS);
        assert_eq!(r.orientation(), Axcodes::LPS);
        assert_eq!(r.shape(), [3, 4, 5]);
        assert_eq!(r.get(0, 0, 0), v.get(2, 3, 0));
        assert_eq!(r.get(1, 2, 4), v.get(1, 1, 4));
        // World coordinates of matching voxels agree.
        let w = |a: &Affine, i: [f64; 3]| -> [f64; 3] {
            std::array::from_fn(|r| (0..3).map(|c| a[r][c] * i[c]).sum::<f64>() + a[r][3])
        };
        assert_eq!(
            w(r.affine(), [0.0, 0.0, 0.0]),
            w(v.affine(), [2.0, 3.0, 0.0])
        );
    }

    #[test]
    fn reorient_to_ct_clip_transposes() {
        let v = Volume::from_spacing(ramp([3, 4, 5]), [3, 4, 5], [1.0, 2.0, 3.0], Axcodes::LPS)
            .unwrap();
        let r = v.reorient(Axcodes::CT_CLIP);
        assert_eq!(r.shape(), [4, 3, 5]);
        assert_eq!(r.spacing(), [2.0, 1.0, 3.0]);
        for (i, j, k) in [(0, 0, 0), (3, 2, 4), (1, 2, 3)] {
            assert_eq!(r.get(i, j, k), v.get(j, i, k));
        }
        // Back again is the identity.
        assert_eq!(r.reorient(Axcodes::LPS), v);
    }

    #[test]
    fn new_rejects_bad_input() {
        assert!(matches!(
            Volume::new(vec![0.0; 5], [2, 2, 2], crate::orientation::IDENTITY),
            Err(VolumeError::ShapeMismatch { .. })
        ));
        let mut a = crate::orientation::IDENTITY;
        a[2][2] = 0.0;
        assert!(matches!(
            Volume::new(vec![0.0; 8], [2, 2, 2], a),
            Err(VolumeError::SingularAffine { .. })
        ));
    }
}
