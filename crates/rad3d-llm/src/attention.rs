//! Scaled dot-product attention with grouped-query heads, shared by both families.
//!
//! Keys and values are never repeated to the query head count: the `G` query heads of
//! one key/value head are folded into the query length (`[B, Hkv, G·T, hd]`), so one
//! batched matmul serves the whole group and the cache stays at `Hkv` heads.

use burn::nn::Linear;
use burn::tensor::{Tensor, activation::softmax, backend::Backend};

use crate::cache::{KvCache, StepContext};
use crate::kernels::Kernels;

/// Attention of `q` `[B, Hq, T, hd]` over `k`, `v` `[B, Hkv, S, hd]` (`Hkv` divides `Hq`),
/// with an optional additive `bias` `[B or 1, 1, T, S]`, or `[B, Hq, T, S]` as
/// [`expand_bias`] makes it. Returns `[B, T, Hq·hd]`.
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
        // Same shape as the scores: an element-wise add on contiguous buffers.
        Some(bias) if bias.dims() == [b, hq, t, s] => {
            softmax(scores + bias.clone().reshape([b, hkv, g * t, s]), 3)
        }
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

/// Multi-head self-attention through one fused projection `qkv` (`[D, 3 D]`, columns
/// `[q | k | v]`) of the normed input `x` `[B, T, D]`, continuing `cache` (layer index
/// beside it) when given; returns the heads concatenated, `[B, T, D]`, before the output
/// projection. Shared by the families with plain multi-head attention and learned
/// positions (GPT-2, BioGPT).
pub(crate) fn fused_self_attention<B: Backend>(
    qkv: &Linear<B>,
    x: Tensor<B, 3>,
    heads: usize,
    kernels: Kernels,
    ctx: &StepContext<B>,
    cache: Option<(&mut KvCache<B>, usize)>,
) -> Tensor<B, 3> {
    let [b, t, d] = x.dims();
    let hd = d / heads;
    let qkv = kernels
        .linear(qkv, x)
        .reshape([b, t, 3 * heads, hd])
        .swap_dims(1, 2);
    let q = qkv.clone().narrow(1, 0, heads);
    let k = qkv.clone().narrow(1, heads, heads);
    let v = qkv.narrow(1, 2 * heads, heads);
    let (k, v) = match cache {
        Some((cache, layer)) => cache.update(layer, k, v, ctx.start, ctx.total),
        None => (k, v),
    };
    grouped_attention(q, k, v, ctx.bias.as_ref(), (hd as f32).powf(-0.5))
}

/// The bias `[B or 1, 1, T, S]` repeated to every row and query head, `[B, Hq, T, S]`.
///
/// Built once per forward pass and shared by every layer: adding a bias broadcast over
/// heads (and rows) walks the scores element by element on CPU backends, while a bias of
/// the scores' own shape is a vectorised in-place add.
pub(crate) fn expand_bias<B: Backend>(
    bias: Tensor<B, 4>,
    batch: usize,
    heads: usize,
) -> Tensor<B, 4> {
    let rows = bias.dims()[0];
    let bias = if rows == batch {
        bias
    } else {
        bias.repeat_dim(0, batch)
    };
    bias.repeat_dim(1, heads)
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
        let scores = q.clone().matmul(rep(k.clone()).swap_dims(2, 3)) * 0.5 + bias.clone();
        let want = softmax(scores, 3)
            .matmul(rep(v.clone()))
            .swap_dims(1, 2)
            .reshape([b, t, hq * hd]);
        got.into_data().assert_approx_eq::<f32>(
            &want.clone().into_data(),
            burn::tensor::Tolerance::absolute(1e-5),
        );
        // The same with the bias expanded to the scores' shape, from a shared row too.
        let got = grouped_attention(
            q.clone(),
            k.clone(),
            v.clone(),
            Some(&expand_bias(bias.clone(), b, hq)),
            0.5,
        );
        got.into_data()
            .assert_approx_eq::<f32>(&want.into_data(), burn::tensor::Tolerance::absolute(1e-5));
        let shared = bias.narrow(0, 0, 1);
        let plain = grouped_attention(q.clone(), k.clone(), v.clone(), Some(&shared), 0.5);
        let expanded = grouped_attention(q, k, v, Some(&expand_bias(shared, b, hq)), 0.5);
        expanded
            .into_data()
            .assert_approx_eq::<f32>(&plain.into_data(), burn::tensor::Tolerance::absolute(1e-6));
    }
}
