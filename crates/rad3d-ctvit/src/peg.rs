//! PEG: CTViT's position-generating depthwise 3D convolution with causal padding.

use burn::module::Module;
use burn::nn::PaddingConfig3d;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

/// Depthwise `3×3×3` convolution, zero-padded 2-before/0-after on the first grid axis
/// (causal) and 1/1 on the other two, with bias. The `Conv3d` holds the checkpoint's
/// weights; the forward computes the same convolution through 2D kernels.
#[derive(Module, Debug)]
pub struct Peg<B: Backend> {
    /// `Conv3d(dim, dim, 3, groups = dim)`; weight `[dim, 1, 3, 3, 3]`.
    pub dsconv: Conv3d<B>,
}

impl<B: Backend> Peg<B> {
    /// Builds a randomly initialised PEG.
    pub fn init(dim: usize, device: &B::Device) -> Self {
        let dsconv = Conv3dConfig::new([dim, dim], [3, 3, 3])
            .with_groups(dim)
            .with_padding(PaddingConfig3d::Explicit(0, 1, 1))
            .init(device);
        Self { dsconv }
    }

    /// Applies the convolution to a token buffer.
    ///
    /// Like the reference, the buffer is *reinterpreted* as `(b, t, h, w, d)` whatever its
    /// current axis order: in the temporal transformer (buffer `((b h w), t, d)`) this is
    /// the reference's reshape quirk, and reproducing it literally keeps parity for any grid.
    ///
    /// The 3×3×3 depthwise kernel runs as three 3×3 depthwise 2D convolutions over the
    /// `(h, w)` planes, one per tap of the first axis, whose outputs are shifted by 2, 1 and
    /// 0 planes (the causal padding) and summed: the same sum of 27 products per output,
    /// but through the backends' depthwise 2D kernels, which a grouped 3D convolution with
    /// one channel per group does not reach (it fell back to a per-group matrix product
    /// that cost seconds per layer at CT-CLIP's size).
    ///
    /// # Shapes
    /// - `x`: `[n, seq, dim]` with `n · seq = b · t · h · w`
    /// - `grid`: `[b, t, h, w]`
    /// - output: same as `x`
    pub fn forward(&self, x: Tensor<B, 3>, grid: [usize; 4]) -> Tensor<B, 3> {
        let [n, seq, dim] = x.dims();
        let [b, t, h, w] = grid;
        let planes = x.reshape([b * t, h, w, dim]).permute([0, 3, 1, 2]);
        let weight = self.dsconv.weight.val();
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], dim);
        let mut out: Option<Tensor<B, 5>> = None;
        for tap in 0..3 {
            // Tap `tap` of the first axis reads plane `i + tap - 2` for output plane `i`.
            let shift = 2 - tap;
            if shift >= t {
                continue;
            }
            let kernel = weight
                .clone()
                .slice([0..dim, 0..1, tap..tap + 1, 0..3, 0..3])
                .reshape([dim, 1, 3, 3]);
            let y =
                conv2d(planes.clone(), kernel, None, options.clone()).reshape([b, t, dim, h, w]);
            let y = if shift == 0 {
                y
            } else {
                let zeros = Tensor::zeros([b, shift, dim, h, w], &y.device());
                Tensor::cat(vec![zeros, y.narrow(1, 0, t - shift)], 1)
            };
            out = Some(match out {
                Some(acc) => acc + y,
                None => y,
            });
        }
        let out = out.expect("the unshifted tap always contributes");
        let out = out.permute([0, 1, 3, 4, 2]);
        let out = match &self.dsconv.bias {
            Some(bias) => out + bias.val().reshape([1, 1, 1, 1, dim]),
            None => out,
        };
        out.reshape([n, seq, dim])
    }
}
