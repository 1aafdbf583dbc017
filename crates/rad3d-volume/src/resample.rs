//! Trilinear resampling with PyTorch's `F.interpolate(mode="trilinear",
//! align_corners=False)` semantics, fused with reorientation, windowing and
//! centre crop / pad so a CT is read once and the output written once.
//!
//! PyTorch evaluates trilinear interpolation as nested linear interpolations —
//! along the last (fastest) axis first, then the middle, then the first — each
//! as `a·λ₀ + b·λ₁` in f32 with weights from `scale = in / out` (f32). Doing the
//! three passes separably in that same order gives the same arithmetic, hence
//! the same values, while touching each input voxel only a few times.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Result, VolumeError};
use crate::orientation::{AxisMap, voxel_sizes};
use crate::volume::{StridedView, Volume};

/// Output size CT-CLIP uses for one axis: `floor(n × (current / target))`.
///
/// Errors when the spacings are not finite and positive or the result is zero.
pub fn resampled_size(n: usize, current: f64, target: f64) -> Result<usize> {
    if !(target.is_finite() && target > 0.0) {
        return Err(VolumeError::InvalidConfig {
            field: "target_spacing",
            value: target.to_string(),
            reason: "must be finite and > 0",
        });
    }
    if !(current.is_finite() && current > 0.0) {
        return Err(VolumeError::BadSpacing {
            path: "<memory>".into(),
            axis: 0,
            value: current,
        });
    }
    let m = (n as f64 * (current / target)).floor();
    if !(m >= 1.0 && m < (1u64 << 32) as f64) {
        return Err(VolumeError::InvalidConfig {
            field: "target_spacing",
            value: format!("{target} (from {n} voxels of {current} mm)"),
            reason: "resampled size must be between 1 and 2^32",
        });
    }
    Ok(m as usize)
}

/// Interpolation taps for a run of output indices along one axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Taps {
    pub i0: Vec<usize>,
    pub i1: Vec<usize>,
    pub l0: Vec<f32>,
    pub l1: Vec<f32>,
}

/// PyTorch's `compute_source_index_and_lambda` (align_corners=False) for outputs `range`.
pub(crate) fn linear_taps(in_size: usize, out_size: usize, range: Range<usize>) -> Taps {
    let n = range.len();
    let mut t = Taps {
        i0: Vec::with_capacity(n),
        i1: Vec::with_capacity(n),
        l0: Vec::with_capacity(n),
        l1: Vec::with_capacity(n),
    };
    let scale = in_size as f32 / out_size as f32;
    for d in range {
        let (i0, l1) = if in_size == out_size {
            (d, 0.0f32)
        } else {
            let src = scale * (d as f32 + 0.5) - 0.5;
            // Negative source positions clamp to the first voxel (no extrapolation).
            let src = if src < 0.0 { 0.0 } else { src };
            let i0 = (src.floor() as usize).min(in_size - 1);
            (i0, (src - i0 as f32).clamp(0.0, 1.0))
        };
        let i1 = if i0 + 1 < in_size && in_size != out_size {
            i0 + 1
        } else {
            i0
        };
        t.i0.push(i0);
        t.i1.push(i1);
        t.l0.push(1.0 - l1);
        t.l1.push(l1);
    }
    t
}

/// One axis of a resample-then-crop/pad plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AxisPlan {
    /// Source length.
    pub input: usize,
    /// Length after resampling.
    pub resampled: usize,
    /// Length after crop / pad.
    pub output: usize,
    /// Output positions before the copied run (centre padding).
    pub pad_before: usize,
    /// First resampled index kept (centre crop).
    pub crop_start: usize,
    /// Taps of the kept resampled indices `crop_start .. crop_start + count`.
    pub taps: Taps,
}

impl AxisPlan {
    /// CT-CLIP's centre crop then centre pad: crop start `(n − N) / 2`, pad before `(N − n) / 2`.
    pub fn new(input: usize, resampled: usize, output: usize) -> AxisPlan {
        let crop_start = resampled.saturating_sub(output) / 2;
        let count = resampled.min(output);
        let pad_before = (output - count) / 2;
        let taps = linear_taps(input, resampled, crop_start..crop_start + count);
        AxisPlan {
            input,
            resampled,
            output,
            pad_before,
            crop_start,
            taps,
        }
    }

    pub fn count(&self) -> usize {
        self.taps.i0.len()
    }

    fn kept(&self) -> Range<usize> {
        self.pad_before..self.pad_before + self.count()
    }
}

/// Resample `view` (axes first-fastest) with `plans` (same axis order), reading each
/// source value through `pre` and writing `post(value)` into an output of shape
/// `[plans[0].output, plans[1].output, plans[2].output]` (first fastest); positions
/// outside the resampled run get `pad`.
pub(crate) fn resample_fused(
    view: &StridedView<'_>,
    plans: &[AxisPlan; 3],
    pre: impl Fn(f32) -> f32 + Sync,
    post: impl Fn(f32) -> f32 + Sync,
    pad: f32,
) -> Vec<f32> {
    let [p0, p1, p2] = plans;
    let out_plane = p0.output * p1.output;
    let total = out_plane * p2.output;
    // Zeroed allocation maps pages lazily, so every output value is written exactly once below.
    let mut out = vec![0.0f32; total];
    if total == 0 {
        return out;
    }
    let threads = rayon::current_num_threads().max(1);
    let per_task = p2.output.div_ceil(threads * 4).max(1);
    let rows = row_range(&p1.taps);
    out.par_chunks_mut(out_plane * per_task)
        .enumerate()
        .for_each(|(task, chunk)| {
            let mut work = Workspace::new(view, p0, p1, rows.clone());
            for (n, slice) in chunk.chunks_mut(out_plane).enumerate() {
                let f2 = task * per_task + n;
                if !p2.kept().contains(&f2) {
                    slice.fill(pad);
                    continue;
                }
                let r = f2 - p2.pad_before;
                let (k0, k1, l0, l1) = (p2.taps.i0[r], p2.taps.i1[r], p2.taps.l0[r], p2.taps.l1[r]);
                let (a, b) = work.planes(k0, k1, &pre);
                write_slice(slice, a, b, l0, l1, p0, p1, &post, pad);
            }
        });
    out
}

/// Blend two resampled planes into one output slice with padding around the kept run.
#[allow(clippy::too_many_arguments)]
fn write_slice(
    slice: &mut [f32],
    a: &[f32],
    b: &[f32],
    l0: f32,
    l1: f32,
    p0: &AxisPlan,
    p1: &AxisPlan,
    post: &(impl Fn(f32) -> f32 + Sync),
    pad: f32,
) {
    let c0 = p0.count();
    for (f1, row) in slice.chunks_mut(p0.output).enumerate() {
        if !p1.kept().contains(&f1) {
            row.fill(pad);
            continue;
        }
        let h = f1 - p1.pad_before;
        let (before, rest) = row.split_at_mut(p0.pad_before);
        let (mid, after) = rest.split_at_mut(c0);
        before.fill(pad);
        after.fill(pad);
        let (ra, rb) = (&a[h * c0..(h + 1) * c0], &b[h * c0..(h + 1) * c0]);
        for ((o, &x), &y) in mid.iter_mut().zip(ra).zip(rb) {
            *o = post(x * l0 + y * l1);
        }
    }
}

/// Source rows (axis 1) any kept output row reads.
fn row_range(t: &Taps) -> Range<usize> {
    let lo = t.i0.iter().copied().min().unwrap_or(0);
    let hi = t.i1.iter().copied().max().map_or(0, |v| v + 1);
    lo..hi
}

/// Per-task scratch: one source plane, its axis-0-resampled rows, and a two-entry
/// cache of fully in-plane-resampled source planes (consecutive output slices
/// mostly share their two source planes).
struct Workspace<'v, 'a> {
    view: &'v StridedView<'a>,
    p0: &'v AxisPlan,
    p1: &'v AxisPlan,
    rows: Range<usize>,
    source: Vec<f32>,
    rows_buf: Vec<f32>,
    slots: [(Option<usize>, Vec<f32>); 2],
}

impl<'v, 'a> Workspace<'v, 'a> {
    fn new(
        view: &'v StridedView<'a>,
        p0: &'v AxisPlan,
        p1: &'v AxisPlan,
        rows: Range<usize>,
    ) -> Self {
        let plane = p0.count() * p1.count();
        Workspace {
            view,
            p0,
            p1,
            source: vec![0.0; view.shape[0] * view.shape[1]],
            rows_buf: vec![0.0; rows.len() * p0.count()],
            rows,
            slots: [(None, vec![0.0; plane]), (None, vec![0.0; plane])],
        }
    }

    /// The resampled planes of source slices `k0` and `k1`.
    fn planes(&mut self, k0: usize, k1: usize, pre: &impl Fn(f32) -> f32) -> (&[f32], &[f32]) {
        let s0 = self.ensure(k0, k1, pre);
        let s1 = self.ensure(k1, k0, pre);
        (&self.slots[s0].1, &self.slots[s1].1)
    }

    fn ensure(&mut self, k: usize, keep: usize, pre: &impl Fn(f32) -> f32) -> usize {
        if let Some(s) = self.slots.iter().position(|(idx, _)| *idx == Some(k)) {
            return s;
        }
        let s = if self.slots[0].0 == Some(keep) { 1 } else { 0 };
        let mut plane = std::mem::take(&mut self.slots[s].1);
        self.resample_plane(k, &mut plane, pre);
        self.slots[s] = (Some(k), plane);
        s
    }

    /// Resample source plane `k` along axis 0 then axis 1 into `plane`.
    fn resample_plane(&mut self, k: usize, plane: &mut [f32], pre: &impl Fn(f32) -> f32) {
        let n0 = self.view.shape[0];
        self.view.copy_plane(k, &mut self.source, pre);
        let (t0, t1) = (&self.p0.taps, &self.p1.taps);
        let c0 = t0.i0.len();
        for (r, out) in self.rows.clone().zip(self.rows_buf.chunks_mut(c0)) {
            let src = &self.source[r * n0..(r + 1) * n0];
            for (w, o) in out.iter_mut().enumerate() {
                *o = src[t0.i0[w]] * t0.l0[w] + src[t0.i1[w]] * t0.l1[w];
            }
        }
        let base = self.rows.start;
        for (h, out) in plane.chunks_mut(c0).enumerate() {
            let a = &self.rows_buf[(t1.i0[h] - base) * c0..][..c0];
            let b = &self.rows_buf[(t1.i1[h] - base) * c0..][..c0];
            let (l0, l1) = (t1.l0[h], t1.l1[h]);
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = x * l0 + y * l1;
            }
        }
    }
}

impl Volume {
    /// Trilinear resampling (PyTorch semantics) of the storage axes to `target` spacing
    /// (mm per storage axis), output size `floor(n × current / target)` per axis.
    /// The affine is updated so world positions are preserved.
    pub fn resample(&self, target: [f64; 3]) -> Result<Volume> {
        let shape = self.shape();
        let spacing = self.spacing();
        let mut out_shape = [0; 3];
        for a in 0..3 {
            out_shape[a] = resampled_size(shape[a], spacing[a], target[a])?;
        }
        Ok(self.resample_to_shape(out_shape))
    }

    /// Trilinear resampling (PyTorch semantics) to an explicit grid size.
    ///
    /// # Panics
    /// When any of `shape` is zero.
    pub fn resample_to_shape(&self, shape: [usize; 3]) -> Volume {
        assert!(
            shape.iter().all(|&s| s > 0),
            "resample_to_shape: zero-sized output {shape:?}"
        );
        let src = self.shape();
        let plans: [AxisPlan; 3] =
            std::array::from_fn(|a| AxisPlan::new(src[a], shape[a], shape[a]));
        let identity = AxisMap {
            source: [0, 1, 2],
            flip: [false; 3],
        };
        let view = StridedView::new(self.data(), src, identity);
        let data = resample_fused(&view, &plans, |v| v, |v| v, 0.0);
        // Output voxel d sits at source position scale·(d + ½) − ½.
        let mut affine = *self.affine();
        for r in 0..3 {
            let old = affine[r];
            for a in 0..3 {
                let scale = src[a] as f64 / shape[a] as f64;
                affine[r][a] = old[a] * scale;
                affine[r][3] += old[a] * (scale - 1.0) / 2.0;
            }
        }
        debug_assert!(voxel_sizes(&affine).iter().all(|v| *v > 0.0));
        Volume::from_parts(data, shape, affine)
    }

    /// Centre crop / centre pad every storage axis to `shape` (CT-CLIP's rule: crop
    /// start `(n − N) / 2`, pad before `(N − n) / 2`, both floored), filling with `pad`.
    pub fn crop_or_pad(&self, shape: [usize; 3], pad: f32) -> Volume {
        let src = self.shape();
        let plans: [AxisPlan; 3] = std::array::from_fn(|a| AxisPlan::new(src[a], src[a], shape[a]));
        let identity = AxisMap {
            source: [0, 1, 2],
            flip: [false; 3],
        };
        let view = StridedView::new(self.data(), src, identity);
        let data = resample_fused(&view, &plans, |v| v, |v| v, pad);
        let mut affine = *self.affine();
        for r in 0..3 {
            let old = affine[r];
            for a in 0..3 {
                let shift = plans[a].crop_start as f64 - plans[a].pad_before as f64;
                affine[r][3] += old[a] * shift;
            }
        }
        Volume::from_parts(data, shape, affine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_match_pytorch_downsampling_and_upsampling() {
        // F.interpolate(torch.arange(5.)[None,None], size=3, mode="linear") = [0.3333, 2.0, 3.6667]
        let t = linear_taps(5, 3, 0..3);
        let v: Vec<f32> = (0..3)
            .map(|d| t.i0[d] as f32 * t.l0[d] + t.i1[d] as f32 * t.l1[d])
            .collect();
        let want = [1.0 / 3.0, 2.0, 11.0 / 3.0];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{v:?}");
        }
        // size 4 → 6: [0, 0.1667, 0.8333, 1.5, 2.1667, 2.8333, 3]... the first clamps to 0.
        let t = linear_taps(4, 6, 0..6);
        let v: Vec<f32> = (0..6)
            .map(|d| t.i0[d] as f32 * t.l0[d] + t.i1[d] as f32 * t.l1[d])
            .collect();
        let want = [0.0, 0.5, 1.1666666, 1.8333334, 2.5, 3.0];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{v:?}");
        }
    }

    #[test]
    fn size_formula() {
        assert_eq!(resampled_size(30, 3.0, 1.5).unwrap(), 60);
        assert_eq!(resampled_size(512, 0.7, 0.75).unwrap(), 477);
        assert_eq!(resampled_size(300, 1.25, 1.5).unwrap(), 250);
        assert!(resampled_size(1, 0.5, 1.5).is_err());
        assert!(resampled_size(10, 1.0, 0.0).is_err());
    }

    #[test]
    fn crop_and_pad_follow_ct_clip() {
        let v = Volume::from_spacing(
            (0..5 * 4).map(|x| x as f32).collect(),
            [5, 4, 1],
            [1.0; 3],
            crate::Axcodes::RAS,
        )
        .unwrap();
        let c = v.crop_or_pad([2, 7, 1], -1.0);
        // axis 0: 5 → 2 keeps indices 1..3; axis 1: 4 → 7 pads 1 before, 2 after.
        assert_eq!(c.get(0, 0, 0), Some(-1.0));
        assert_eq!(c.get(0, 1, 0), v.get(1, 0, 0));
        assert_eq!(c.get(1, 4, 0), v.get(2, 3, 0));
        assert_eq!(c.get(1, 5, 0), Some(-1.0));
    }
}
