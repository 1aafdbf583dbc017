//! PEG: CTViT's position-generating depthwise 3D convolution with causal padding.

use burn::module::Module;
use burn::nn::PaddingConfig3d;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Depthwise `3×3×3` convolution, zero-padded 2-before/0-after on the first grid axis
/// (causal) and 1/1 on the other two, with bias.
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
    /// # Shapes
    /// - `x`: `[n, seq, dim]` with `n · seq = b · t · h · w`
    /// - `grid`: `[b, t, h, w]`
    /// - output: same as `x`
    pub fn forward(&self, x: Tensor<B, 3>, grid: [usize; 4]) -> Tensor<B, 3> {
        let [n, seq, dim] = x.dims();
        let [b, t, h, w] = grid;
        let x = x.reshape([b, t, h, w, dim]).permute([0, 4, 1, 2, 3]);
        // Causal padding on the first grid axis: two zero planes before, none after.
        let zeros = Tensor::zeros([b, dim, 2, h, w], &x.device());
        let x = Tensor::cat(vec![zeros, x], 2);
        self.dsconv
            .forward(x)
            .permute([0, 2, 3, 4, 1])
            .reshape([n, seq, dim])
    }
}
