//! Rotary position embeddings in HF's rotate-half convention, with LLaMA-3 and linear
//! frequency scaling.
//!
//! No position tables are stored: the cos/sin rows a step needs (`T` or `B·T`
//! positions × `head_dim`) are computed on the host, in f32 as transformers does, and
//! uploaded. That keeps 128k-context configs from allocating tables they never read.

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::config::RopeScaling;
use crate::llama::LlamaConfig;

/// Inverse frequencies of one head (`head_dim / 2` of them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rope {
    inv_freq: Vec<f32>,
}

impl Rope {
    /// The frequencies a LLaMA config implies (base `rope_theta`, optional scaling).
    pub(crate) fn new(config: &LlamaConfig) -> Self {
        let dim = config.head_dim;
        let base = config.rope_theta;
        let mut inv: Vec<f64> = (0..dim / 2)
            .map(|i| {
                // transformers computes the exponent in f32; round it the same way.
                let exponent = ((2 * i) as f32 / dim as f32) as f64;
                (1.0 / base.powf(exponent)) as f32 as f64
            })
            .collect();
        match config.rope_scaling {
            None => {}
            Some(RopeScaling::Linear { factor }) => inv.iter_mut().for_each(|f| *f /= factor),
            Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            }) => {
                let old = original_max_position_embeddings as f64;
                let low_wavelen = old / low_freq_factor;
                let high_wavelen = old / high_freq_factor;
                for f in &mut inv {
                    let wavelen = 2.0 * std::f64::consts::PI / *f;
                    if wavelen > low_wavelen {
                        *f /= factor;
                    } else if wavelen >= high_wavelen {
                        // Between the two bands: blend scaled and unscaled frequency.
                        let smooth = (old / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        *f = (1.0 - smooth) * *f / factor + smooth * *f;
                    }
                }
            }
        }
        Self {
            inv_freq: inv.into_iter().map(|f| f as f32).collect(),
        }
    }

    /// `cos` and sign-folded `sin` for the given positions, repeated over `heads`:
    /// `[batch, t, heads, head_dim]`, the layout of the projected queries or keys before
    /// the head transpose. `positions` holds `t` shared positions or `batch·t` row-major.
    /// `sin` carries `-sin` in its first half so that [`apply`](Self::apply) needs only
    /// a half swap instead of HF's `rotate_half` negation.
    ///
    /// The tables are materialised at the operands' full shape (built once per forward
    /// pass and shared by every layer) because CPU backends multiply equal-shaped
    /// contiguous tensors with vector instructions but walk broadcast ones element by
    /// element.
    pub(crate) fn cos_sin<B: Backend>(
        &self,
        positions: &[usize],
        batch: usize,
        t: usize,
        heads: usize,
        device: &B::Device,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let half = self.inv_freq.len();
        let dim = 2 * half;
        let shared = positions.len() == t;
        let row_len = t * heads * dim;
        let mut cos = Vec::with_capacity(batch * row_len);
        let mut sin = Vec::with_capacity(batch * row_len);
        for row in 0..batch {
            if shared && row > 0 {
                // Every row sees the same positions: repeat the first row's tables.
                cos.extend_from_within(..row_len);
                sin.extend_from_within(..row_len);
                continue;
            }
            for &p in &positions[row * t..][..t] {
                let angles = self.inv_freq.iter().map(|&f| f * p as f32);
                let (c, s): (Vec<f32>, Vec<f32>) = angles.map(|a| (a.cos(), a.sin())).unzip();
                for _ in 0..heads {
                    cos.extend_from_slice(&c);
                    cos.extend_from_slice(&c);
                    sin.extend(s.iter().map(|v| -v));
                    sin.extend_from_slice(&s);
                }
            }
        }
        let shape = [batch, t, heads, dim];
        (
            Tensor::from_data(TensorData::new(cos, shape), device),
            Tensor::from_data(TensorData::new(sin, shape), device),
        )
    }

    /// Rotates `x` (`head_dim` last, same shape as the tables) by the given `cos`/`sin` (from [`cos_sin`](Self::cos_sin)).
    pub(crate) fn apply<B: Backend>(
        x: Tensor<B, 4>,
        cos: &Tensor<B, 4>,
        sin: &Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        let [_, _, _, d] = x.dims();
        let half = d / 2;
        let swapped = Tensor::cat(
            vec![
                x.clone().narrow(3, half, half),
                x.clone().narrow(3, 0, half),
            ],
            3,
        );
        x * cos.clone() + swapped * sin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn llama3_scaling_matches_transformers() {
        // Values printed by transformers 5.24 `_compute_llama3_parameters` for
        // head_dim 16, theta 500000, factor 32, low 1, high 4, original 64.
        let mut c = LlamaConfig::new(256, 64, 128, 2, 4, 2, 16);
        c.rope_theta = 500000.0;
        c.rope_scaling = Some(RopeScaling::Llama3 {
            factor: 32.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 64,
        });
        let rope = Rope::new(&c);
        let expected = [
            1.0,
            0.067_133_04,
            0.001_175_188_5,
            2.278_957_8e-4,
            4.419_417e-5,
            8.570_256e-6,
            1.661_967_4e-6,
            3.222_933e-7,
        ];
        for (got, want) in rope.inv_freq.iter().zip(expected) {
            assert!(((got - want) / want).abs() < 1e-3, "{got} vs {want}");
        }
    }

    #[test]
    fn rotation_preserves_norm_and_is_identity_at_zero() {
        let c = LlamaConfig::new(10, 8, 8, 1, 1, 1, 8);
        let rope = Rope::new(&c);
        let device = Default::default();
        // [B = 1, T = 2, heads = 1, head_dim = 8]
        let x = Tensor::<Flex, 4>::from_floats(
            [[[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]; 2]],
            &device,
        );
        let (cos, sin) = rope.cos_sin::<Flex>(&[0, 5], 1, 2, 1, &device);
        let y = Rope::apply(x.clone(), &cos, &sin);
        let y: Vec<f32> = y.into_data().to_vec().unwrap();
        assert_eq!(&y[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let n0: f32 = (1..=8).map(|v| (v * v) as f32).sum();
        let n1: f32 = y[8..].iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-3);
    }

    /// Per-row positions land in their rows, shared ones in every row, each repeated over
    /// the heads.
    #[test]
    fn tables_follow_rows_and_repeat_over_heads() {
        let c = LlamaConfig::new(10, 8, 8, 1, 1, 1, 8);
        let rope = Rope::new(&c);
        let device = Default::default();
        let (per_row, _) = rope.cos_sin::<Flex>(&[3, 0], 2, 1, 3, &device);
        let (shared, _) = rope.cos_sin::<Flex>(&[3], 2, 1, 3, &device);
        let (single, _) = rope.cos_sin::<Flex>(&[3], 1, 1, 1, &device);
        assert_eq!(per_row.dims(), [2, 1, 3, 8]);
        let per_row: Vec<f32> = per_row.into_data().to_vec().unwrap();
        let shared: Vec<f32> = shared.into_data().to_vec().unwrap();
        let single: Vec<f32> = single.into_data().to_vec().unwrap();
        for head in 0..3 {
            assert_eq!(&per_row[head * 8..head * 8 + 8], &single[..]);
            assert_eq!(&per_row[24 + head * 8..24 + head * 8 + 8], &[1.0; 8]);
            assert_eq!(&shared[24 + head * 8..24 + head * 8 + 8], &single[..]);
        }
    }
}
