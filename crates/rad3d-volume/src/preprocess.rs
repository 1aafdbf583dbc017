//! The CT-CLIP preprocessing pipeline: reorient, resample, window, crop / pad.

use crate::error::{Result, VolumeError};
use crate::orientation::{Axcodes, AxisMap};
use crate::output::Preprocessed;
use crate::resample::{AxisPlan, resample_fused, resampled_size};
use crate::volume::{StridedView, Volume};

/// When the HU window is applied relative to resampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Interpolate raw HU, then clip and normalise (CT-CLIP's training order).
    #[default]
    ResampleThenClip,
    /// Clip HU first, interpolate the clipped values, then normalise.
    ClipThenResample,
}

/// A preprocessing recipe turning any [`Volume`] into a fixed-size network input.
///
/// Steps, all fused into one pass over the data:
/// 1. reorient to nibabel codes `L, P, S` and transpose to CT-CLIP's `(S, L, P) = (t, h, w)`;
/// 2. trilinear resampling (PyTorch `align_corners=False`) to `target_spacing`, output size
///    `floor(n × current / target)` per axis;
/// 3. clip to `hu_window`, then `(hu − offset) / divisor` (order per [`Order`]);
/// 4. centre crop / centre pad to `target_shape` with `pad_value`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// Target voxel size `(t, h, w)` in mm.
    pub target_spacing: [f64; 3],
    /// HU clip range `(min, max)`.
    pub hu_window: (f32, f32),
    /// Subtracted after clipping.
    pub offset: f32,
    /// Divides after subtracting `offset`.
    pub divisor: f32,
    /// Output shape `(t, h, w)`.
    pub target_shape: [usize; 3],
    /// Value written where the resampled volume does not reach (after normalisation).
    pub pad_value: f32,
    /// Window before or after resampling.
    pub order: Order,
}

impl Preprocess {
    /// CT-CLIP: spacing (1.5, 0.75, 0.75) mm, HU [−1000, 1000] / 1000, (240, 480, 480), pad −1.
    pub fn ct_clip() -> Preprocess {
        Preprocess {
            target_spacing: [1.5, 0.75, 0.75],
            hu_window: (-1000.0, 1000.0),
            offset: 0.0,
            divisor: 1000.0,
            target_shape: [240, 480, 480],
            pad_value: -1.0,
            order: Order::ResampleThenClip,
        }
    }

    /// CT2Rep: as CT-CLIP but HU [−1000, 200] mapped by `(x + 400) / 600`.
    pub fn ct2rep() -> Preprocess {
        Preprocess {
            hu_window: (-1000.0, 200.0),
            offset: -400.0,
            divisor: 600.0,
            ..Preprocess::ct_clip()
        }
    }

    /// The same recipe with another window / resampling order.
    pub fn with_order(mut self, order: Order) -> Preprocess {
        self.order = order;
        self
    }

    /// The same recipe with another output shape `(t, h, w)`.
    pub fn with_target_shape(mut self, shape: [usize; 3]) -> Preprocess {
        self.target_shape = shape;
        self
    }

    /// Check the recipe's parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value: String, reason| {
            Err(VolumeError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if self
            .target_spacing
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return bad(
                "target_spacing",
                format!("{:?}", self.target_spacing),
                "must be finite and > 0",
            );
        }
        let (lo, hi) = self.hu_window;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return bad(
                "hu_window",
                format!("{:?}", self.hu_window),
                "need finite min <= max",
            );
        }
        if !(self.divisor.is_finite() && self.divisor != 0.0 && self.offset.is_finite()) {
            return bad(
                "divisor",
                format!("{} (offset {})", self.divisor, self.offset),
                "need finite, non-zero divisor",
            );
        }
        if self.target_shape.contains(&0) || self.target_shape.iter().product::<usize>() > 1 << 31 {
            return bad(
                "target_shape",
                format!("{:?}", self.target_shape),
                "need 1..=2^31 voxels",
            );
        }
        Ok(())
    }

    /// Size `(t, h, w)` of `volume` after resampling, before crop / pad.
    pub fn resampled_size(&self, volume: &Volume) -> Result<[usize; 3]> {
        let map = AxisMap::between(volume.orientation(), Axcodes::CT_CLIP);
        let shape = map.target_shape(volume.shape());
        let spacing = map.source.map(|s| volume.spacing()[s]);
        // Storage order is (w, h, t); report (t, h, w).
        Ok([
            resampled_size(shape[2], spacing[2], self.target_spacing[0])?,
            resampled_size(shape[1], spacing[1], self.target_spacing[1])?,
            resampled_size(shape[0], spacing[0], self.target_spacing[2])?,
        ])
    }

    /// Run the recipe on `volume`: one fused, parallel pass from HU voxels to the
    /// `(t, h, w)` network input.
    pub fn apply(&self, volume: &Volume) -> Result<Preprocessed> {
        self.validate()?;
        let orientation = volume.orientation();
        let map = AxisMap::between(orientation, Axcodes::CT_CLIP);
        let view = StridedView::new(volume.data(), volume.shape(), map);
        let [rt, rh, rw] = self.resampled_size(volume)?;
        let [nt, nh, nw] = self.target_shape;
        let src = view.shape;
        let plans = [
            AxisPlan::new(src[0], rw, nw),
            AxisPlan::new(src[1], rh, nh),
            AxisPlan::new(src[2], rt, nt),
        ];
        let (lo, hi) = self.hu_window;
        let (offset, divisor) = (self.offset, self.divisor);
        let data = match self.order {
            Order::ResampleThenClip => resample_fused(
                &view,
                &plans,
                |v| v,
                |v| (v.clamp(lo, hi) - offset) / divisor,
                self.pad_value,
            ),
            Order::ClipThenResample => resample_fused(
                &view,
                &plans,
                |v| v.clamp(lo, hi),
                |v| (v - offset) / divisor,
                self.pad_value,
            ),
        };
        tracing::debug!(%orientation, resampled = ?[rt, rh, rw], "preprocessed volume");
        Ok(Preprocessed::new(
            data,
            self.target_shape,
            orientation,
            [rt, rh, rw],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused pipeline equals the step-by-step composition of public operations.
    #[test]
    fn fused_equals_composed_steps() {
        let shape = [21, 17, 9];
        let data: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|i| ((i * 7919) % 2600) as f32 - 1300.0)
            .collect();
        let vol = Volume::from_spacing(data, shape, [0.9, 1.1, 2.5], Axcodes::RAS).unwrap();
        for order in [Order::ResampleThenClip, Order::ClipThenResample] {
            let p = Preprocess::ct_clip()
                .with_order(order)
                .with_target_shape([20, 24, 16]);
            let fused = p.apply(&vol).unwrap();
            let mut steps = vol.reorient(Axcodes::CT_CLIP);
            if order == Order::ClipThenResample {
                steps.map_inplace(|v| v.clamp(-1000.0, 1000.0));
            }
            let [t, h, w] = p.target_spacing;
            let mut steps = steps.resample([w, h, t]).unwrap();
            steps.map_inplace(|v| v.clamp(-1000.0, 1000.0) / 1000.0);
            let rs = steps.shape();
            assert_eq!(fused.resampled_size(), [rs[2], rs[1], rs[0]]);
            let steps = steps.crop_or_pad([16, 24, 20], -1.0);
            assert_eq!(fused.data(), steps.data(), "{order:?}");
        }
    }

    #[test]
    fn rejects_bad_recipes() {
        let mut p = Preprocess::ct_clip();
        p.divisor = 0.0;
        assert!(p.validate().is_err());
        let mut p = Preprocess::ct2rep();
        p.target_spacing[1] = f64::NAN;
        assert!(p.validate().is_err());
        assert!(Preprocess::ct2rep().validate().is_ok());
    }
}
