//! The boundary between the architectures and the matmul kernels: [`Kernels`], chosen
//! once per model from its backend, multiplies every linear layer, output projection and
//! (in the frozen backward pass) transposed weight.
//!
//! The generic path is Burn's own tensor code and is correct on every backend. With the
//! `flex` feature (on by default), host backends get the CPU fast paths of this folder:
//!
//! - `few_rows.rs`: products of at most 16 rows on Flex read the weight in place with
//!   AVX-512 kernels (decoding);
//! - `shard.rs`: other thin products are split into column shards across the thread
//!   pool, because the CPU matmul runs them on one thread.
//!
//! Without the feature the crate has no CPU backend dependency and every product takes
//! the generic path.
//!
//! Burn's `Linear::forward` on a `[B, T, in]` input runs a *batched* matmul against the
//! broadcast `[1, in, out]` weight: at decode time (T = 1) that is B separate
//! vector-matrix products, each streaming the whole weight from memory. Flattening the
//! rows first, as every method here does, makes it one `[B·T, in] × [in, out]` product
//! that reads the weight once.

#[cfg(feature = "flex")]
mod few_rows;
#[cfg(feature = "flex")]
mod shard;

use burn::nn::Linear;
use burn::tensor::{Tensor, backend::Backend};

/// Products with fewer multiply-adds than this run on one thread in the CPU matmul
/// kernel (Burn Flex's parallel threshold, 192³).
const KERNEL_PARALLEL_OPS: usize = 192 * 192 * 192;

/// Whether a `[rows, d] × [d, n]` product is too thin for the CPU kernel to parallelise.
fn thin(rows: usize, d: usize, n: usize) -> bool {
    rows == 1 || rows * d * n < KERNEL_PARALLEL_OPS
}

/// Whether `B` computes on the host (Flex, NdArray, or either under autodiff), where
/// splitting work across the thread pool pays; device backends parallelise inside each
/// kernel.
pub fn host_backend<B: Backend>(device: &B::Device) -> bool {
    let name = B::name(device);
    name.contains("flex") || name.contains("ndarray")
}

/// The matmul kernels a model multiplies with.
///
/// Chosen once, when the model is built ([`for_backend`](Self::for_backend)), and stored
/// in it, so no product asks the backend for its name. The choice only distinguishes
/// host from device backends, which an autodiff wrapper does not change: a model keeps
/// the right kernels through [`AutodiffModule::valid`](burn::module::AutodiffModule::valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kernels {
    /// Whether the CPU fast paths apply (host backend, `flex` feature).
    #[cfg_attr(not(feature = "flex"), allow(dead_code))]
    host: bool,
}

impl Kernels {
    /// The kernels for backend `B`: the CPU fast paths on host backends when the `flex`
    /// feature is on, Burn's matmul otherwise.
    pub fn for_backend<B: Backend>(device: &B::Device) -> Self {
        Self {
            host: cfg!(feature = "flex") && host_backend::<B>(device),
        }
    }

    /// `x` `[rows, in]` × `w` `[in, out]` → `[rows, out]`, the same values as
    /// `x.matmul(w)`.
    pub fn matmul_rows<B: Backend>(self, x: Tensor<B, 2>, w: Tensor<B, 2>) -> Tensor<B, 2> {
        #[cfg(feature = "flex")]
        if self.host {
            if let Some(y) = few_rows::few_rows_matmul(&x, &w) {
                return y;
            }
            return shard::matmul(x, w);
        }
        x.matmul(w)
    }

    /// `x` `[B, T, in]` × `w` `[in, out]` → `[B, T, out]`, as one 2-D product.
    pub(crate) fn project<B: Backend>(self, x: Tensor<B, 3>, w: Tensor<B, 2>) -> Tensor<B, 3> {
        let [b, t, d] = x.dims();
        let n = w.dims()[1];
        self.matmul_rows(x.reshape([b * t, d]), w)
            .reshape([b, t, n])
    }

    /// `x` `[B, T, in]` through `linear` (weight `[in, out]`, optional bias) →
    /// `[B, T, out]`; the same values as `linear.forward(x)`, computed as one 2-D product.
    pub(crate) fn linear<B: Backend>(self, linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, t, d] = x.dims();
        let w = linear.weight.val();
        let n = w.dims()[1];
        let y = self.matmul_rows(x.reshape([b * t, d]), w);
        add_bias(linear, y, 0, n).reshape([b, t, n])
    }

    /// `x` `[B, T, in]` through `linear` as one product per column block of the weight
    /// (`widths` summing to `out`) → one `[B, T, width]` tensor per block.
    ///
    /// Equal to splitting [`linear`](Self::linear)`(linear, x)` along its last axis, but
    /// every block comes out contiguous, so the element-wise work on them (SwiGLU's gate
    /// and up, RoPE on queries and keys) runs on plain buffers instead of strided views.
    ///
    /// # Panics
    /// If `widths` do not sum to the weight's output width.
    pub(crate) fn linear_parts<B: Backend, const N: usize>(
        self,
        linear: &Linear<B>,
        x: Tensor<B, 3>,
        widths: [usize; N],
    ) -> [Tensor<B, 3>; N] {
        let [b, t, d] = x.dims();
        let w = linear.weight.val();
        let n = w.dims()[1];
        assert_eq!(
            widths.iter().sum::<usize>(),
            n,
            "column blocks must cover the weight"
        );
        let starts: [usize; N] = std::array::from_fn(|k| widths[..k].iter().sum());
        if thin(b * t, d, n) {
            // Decoding: one (sharded) product and views of it; a product per block would
            // multiply the thread hand-offs, and the blocks are too small for strides to cost.
            let y = self.linear(linear, x);
            return std::array::from_fn(|k| y.clone().narrow(2, starts[k], widths[k]));
        }
        let x = x.reshape([b * t, d]);
        std::array::from_fn(|k| {
            let (start, len) = (starts[k], widths[k]);
            let y = self.matmul_rows(x.clone(), w.clone().narrow(1, start, len));
            add_bias(linear, y, start, len).reshape([b, t, len])
        })
    }
}

/// `y` `[rows, len]` plus columns `start..start + len` of `linear`'s bias, if it has one.
fn add_bias<B: Backend>(
    linear: &Linear<B>,
    y: Tensor<B, 2>,
    start: usize,
    len: usize,
) -> Tensor<B, 2> {
    match &linear.bias {
        Some(bias) => y + bias.val().narrow(0, start, len).unsqueeze::<2>(),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;
    use burn::tensor::{Distribution, Tolerance};

    /// Flattened, sharded and split products agree with `Linear::forward`, for a
    /// single row, a few rows (sharded) and many rows (left to the kernel).
    #[test]
    fn equals_plain_linear() {
        let device = Default::default();
        for (b, t, out, bias) in [(1, 1, 1000, false), (3, 1, 1000, true), (2, 40, 333, true)] {
            let lin = Linear::<Flex> {
                weight: Param::from_tensor(Tensor::random(
                    [96, out],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )),
                bias: bias.then(|| {
                    Param::from_tensor(Tensor::random(
                        [out],
                        Distribution::Normal(0.0, 1.0),
                        &device,
                    ))
                }),
            };
            let x = Tensor::<Flex, 3>::random([b, t, 96], Distribution::Normal(0.0, 1.0), &device);
            let want = lin.forward(x.clone());
            let kernels = Kernels::for_backend::<Flex>(&device);
            let parts =
                kernels.linear_parts(&lin, x.clone(), [out / 3, out / 2, out - out / 3 - out / 2]);
            let split = Tensor::cat(parts.to_vec(), 2);
            for got in [kernels.linear(&lin, x), split] {
                got.into_data()
                    .assert_approx_eq::<f32>(&want.clone().into_data(), Tolerance::absolute(1e-4));
            }
        }
    }
}
