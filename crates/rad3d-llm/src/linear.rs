//! Linear layers for decoding: a decode step multiplies one row per sequence by each
//! weight matrix, which is bound by reading the weights from memory. CPU matmul kernels
//! run such thin products on one thread, leaving the other cores' memory bandwidth
//! unused, so for few rows the weight is split into column shards multiplied in
//! parallel (each shard reads its own part of every weight row).

use burn::nn::Linear;
use burn::tensor::{Tensor, backend::Backend};
use rayon::prelude::*;

/// Inputs with at most this many rows (batch × new tokens) are sharded; larger products
/// are parallelised by the matmul kernel itself.
const SHARD_MAX_ROWS: usize = 4;

/// Shards narrower than this are not worth a task.
const SHARD_MIN_COLS: usize = 128;

/// `x` `[B, T, in]` through `linear` (weight `[in, out]`, optional bias) → `[B, T, out]`,
/// equal to `linear.forward(x)`.
pub fn linear_forward<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [b, t, d] = x.dims();
    let rows = b * t;
    let w = linear.weight.val();
    let n = w.dims()[1];
    let threads = rayon::current_num_threads();
    let shards = threads.min(n / SHARD_MIN_COLS);
    if rows > SHARD_MAX_ROWS || shards < 2 {
        return linear.forward(x);
    }
    let x = x.reshape([rows, d]);
    let cols = n.div_ceil(shards);
    let parts: Vec<Tensor<B, 2>> = (0..shards)
        .into_par_iter()
        .map(|s| {
            let start = s * cols;
            let len = cols.min(n - start);
            x.clone().matmul(w.clone().narrow(1, start, len))
        })
        .collect();
    let y = Tensor::cat(parts, 1);
    let y = match &linear.bias {
        Some(bias) => y + bias.val().unsqueeze::<2>(),
        None => y,
    };
    y.reshape([b, t, n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn sharded_equals_plain_linear() {
        let device = Default::default();
        for (rows, bias) in [(1, false), (3, true), (9, true)] {
            let lin = Linear::<Flex> {
                weight: Param::from_tensor(Tensor::random(
                    [64, 1000],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )),
                bias: bias.then(|| {
                    Param::from_tensor(Tensor::random(
                        [1000],
                        Distribution::Normal(0.0, 1.0),
                        &device,
                    ))
                }),
            };
            let x =
                Tensor::<Flex, 3>::random([rows, 1, 64], Distribution::Normal(0.0, 1.0), &device);
            let got = linear_forward(&lin, x.clone());
            assert_eq!(got.dims(), [rows, 1, 1000]);
            got.into_data()
                .assert_approx_eq::<f32>(&lin.forward(x).into_data(), Tolerance::absolute(1e-4));
        }
    }
}
