//! Linear layers as decoding needs them.
//!
//! Burn's `Linear::forward` on a `[B, T, in]` input runs a *batched* matmul against the
//! broadcast `[1, in, out]` weight: at decode time (T = 1) that is B separate
//! vector-matrix products, each streaming the whole weight from memory. Flattening the
//! rows first makes it one `[B·T, in] × [in, out]` product that reads the weight once.
//!
//! CPU kernels also run thin products on one thread (a single row always goes through a
//! single-threaded vector kernel; a few rows stay below the size at which the kernel
//! parallelises), which leaves the other cores' memory bandwidth idle while decoding is
//! bound by it. On CPU backends such products are split into column shards multiplied in
//! parallel; each output column is computed exactly as without the split.

use burn::nn::Linear;
use burn::tensor::{Tensor, backend::Backend};
use rayon::prelude::*;

/// Products with fewer multiply-adds than this run on one thread in the CPU matmul
/// kernel (Burn Flex's parallel threshold, 192³), so they are sharded here instead.
const KERNEL_PARALLEL_OPS: usize = 192 * 192 * 192;

/// Shards narrower than this are not worth a task.
const SHARD_MIN_COLS: usize = 64;

/// Whether a `[rows, d] × [d, n]` product is too thin for the CPU kernel to parallelise.
fn thin(rows: usize, d: usize, n: usize) -> bool {
    rows == 1 || rows * d * n < KERNEL_PARALLEL_OPS
}

/// Whether `B` computes on the host (Flex, NdArray), where splitting work across the
/// thread pool pays; device backends parallelise inside each kernel.
pub fn host_backend<B: Backend>(device: &B::Device) -> bool {
    let name = B::name(device);
    name.contains("flex") || name.contains("ndarray")
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

/// `x` `[B, T, in]` through `linear` (weight `[in, out]`, optional bias) → `[B, T, out]`;
/// the same values as `linear.forward(x)`, computed as one 2-D product.
pub fn linear_forward<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [b, t, d] = x.dims();
    let w = linear.weight.val();
    let n = w.dims()[1];
    let y = matmul_rows(x.reshape([b * t, d]), w);
    add_bias(linear, y, 0, n).reshape([b, t, n])
}

/// `x` `[B, T, in]` through `linear` as one product per column block of the weight
/// (`widths` summing to `out`) → one `[B, T, width]` tensor per block.
///
/// Equal to splitting `linear_forward(linear, x)` along its last axis, but every block
/// comes out contiguous, so the element-wise work on them (SwiGLU's gate and up, RoPE on
/// queries and keys) runs on plain buffers instead of strided views.
///
/// # Panics
/// If `widths` do not sum to the weight's output width.
pub fn linear_forward_parts<B: Backend, const N: usize>(
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
        let y = linear_forward(linear, x);
        return std::array::from_fn(|k| y.clone().narrow(2, starts[k], widths[k]));
    }
    let x = x.reshape([b * t, d]);
    std::array::from_fn(|k| {
        let (start, len) = (starts[k], widths[k]);
        let y = matmul_rows(x.clone(), w.clone().narrow(1, start, len));
        add_bias(linear, y, start, len).reshape([b, t, len])
    })
}

/// `x` `[rows, in]` × `w` `[in, out]` → `[rows, out]`, sharded over the columns of `w`
/// across the thread pool when the product is too thin for the kernel to parallelise.
pub fn matmul_rows<B: Backend>(x: Tensor<B, 2>, w: Tensor<B, 2>) -> Tensor<B, 2> {
    if let Some(y) = crate::host_matmul::few_rows_matmul(&x, &w) {
        return y;
    }
    let [rows, d] = x.dims();
    let n = w.dims()[1];
    let threads = rayon::current_num_threads();
    let shards = threads.min(n / SHARD_MIN_COLS);
    if shards < 2 || !thin(rows, d, n) || !host_backend::<B>(&x.device()) {
        return x.matmul(w);
    }
    // Shard widths rounded to 16 columns keep every shard's rows SIMD-aligned.
    let cols = n.div_ceil(shards).div_ceil(16) * 16;
    let parts: Vec<Tensor<B, 2>> = (0..n.div_ceil(cols))
        .into_par_iter()
        .map(|s| {
            let start = s * cols;
            let len = cols.min(n - start);
            x.clone().matmul(w.clone().narrow(1, start, len))
        })
        .collect();
    Tensor::cat(parts, 1)
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
            let parts =
                linear_forward_parts(&lin, x.clone(), [out / 3, out / 2, out - out / 3 - out / 2]);
            let split = Tensor::cat(parts.to_vec(), 2);
            for got in [linear_forward(&lin, x), split] {
                got.into_data()
                    .assert_approx_eq::<f32>(&want.clone().into_data(), Tolerance::absolute(1e-4));
            }
        }
    }
}
