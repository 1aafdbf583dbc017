//! Scaled dot-product attention with grouped-query heads, shared by both families.
//!
//! Keys and values are never repeated to the query head count: the `G` query heads of
//! one key/value head are folded into the query length (`[B, Hkv, G·T, hd]`), so one
//! batched matmul serves the whole group and the cache stays at `Hkv` heads.

use burn::tensor::{Tensor, activation::softmax, backend::Backend};

/// Attention of `q` `[B, Hq, T, hd]` over `k`, `v` `[B, Hkv, S, hd]` (`Hkv` divides `Hq`),
/// with an optional additive `bias` `[B or 1, 1, T, S]`. Returns `[B, T, Hq·hd]`.
///
/// # Panics
/// If the head counts do not divide or the shapes disagree.
pub fn grouped_attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    bias: Option<&Tensor<B, 4>>,
    scale: f32,
) -> Tensor<B, 3> {
    let [b, hq, t, hd] = q.dims();
    let [_, hkv, s, _] = k.dims();
    assert_eq!(
        hq % hkv,
        0,
        "query heads {hq} not a multiple of kv heads {hkv}"
    );
    let g = hq / hkv;
    let q = q.reshape([b, hkv, g * t, hd]);
    let scores = q.matmul(k.swap_dims(2, 3)) * scale;
    let probs = match bias {
        Some(bias) => {
            let scores = scores.reshape([b, hkv, g, t, s]) + bias.clone().unsqueeze_dim::<5>(1);
            softmax(scores, 4).reshape([b, hkv, g * t, s])
        }
        None => softmax(scores, 3),
    };
    probs
        .matmul(v)
        .reshape([b, hq, t, hd])
        .swap_dims(1, 2)
        .reshape([b, t, hq * hd])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::Distribution;

    /// Grouped attention equals plain multi-head attention with K/V repeated per group.
    #[test]
    fn gqa_equals_repeated_kv() {
        let device = Default::default();
        let (b, hq, hkv, t, s, hd) = (2, 6, 2, 3, 5, 4);
        let q = Tensor::<Flex, 4>::random([b, hq, t, hd], Distribution::Normal(0.0, 1.0), &device);
        let k = Tensor::<Flex, 4>::random([b, hkv, s, hd], Distribution::Normal(0.0, 1.0), &device);
        let v = Tensor::<Flex, 4>::random([b, hkv, s, hd], Distribution::Normal(0.0, 1.0), &device);
        let bias = Tensor::<Flex, 4>::random([b, 1, t, s], Distribution::Normal(0.0, 1.0), &device);
        let got = grouped_attention(q.clone(), k.clone(), v.clone(), Some(&bias), 0.5);
        // Reference: repeat each kv head G times (HF repeat_kv order).
        let rep = |x: Tensor<Flex, 4>| {
            x.unsqueeze_dim::<5>(2)
                .repeat_dim(2, hq / hkv)
                .reshape([b, hq, s, hd])
        };
        let scores = q.matmul(rep(k).swap_dims(2, 3)) * 0.5 + bias;
        let want = softmax(scores, 3)
            .matmul(rep(v))
            .swap_dims(1, 2)
            .reshape([b, t, hq * hd]);
        got.into_data()
            .assert_approx_eq::<f32>(&want.into_data(), burn::tensor::Tolerance::absolute(1e-5));
    }
}
