//! Thin products on host backends, split into column shards multiplied in parallel.
//!
//! CPU kernels run thin products on one thread (a single row always goes through a
//! single-threaded vector kernel; a few rows stay below the size at which the kernel
//! parallelises), which leaves the other cores' memory bandwidth idle while decoding is
//! bound by it. Such products are split here into column shards multiplied in parallel;
//! each output column is computed exactly as without the split.

use burn::tensor::{Tensor, backend::Backend};
use rayon::prelude::*;

use super::thin;

/// Shards narrower than this are not worth a task.
const SHARD_MIN_COLS: usize = 64;

/// `x` `[rows, in]` × `w` `[in, out]` → `[rows, out]`, sharded over the columns of `w`
/// across the thread pool when the product is too thin for the kernel to parallelise.
pub(super) fn matmul<B: Backend>(x: Tensor<B, 2>, w: Tensor<B, 2>) -> Tensor<B, 2> {
    let [rows, d] = x.dims();
    let n = w.dims()[1];
    let threads = rayon::current_num_threads();
    let shards = threads.min(n / SHARD_MIN_COLS);
    if shards < 2 || !thin(rows, d, n) {
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
