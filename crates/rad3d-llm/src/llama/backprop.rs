//! Backpropagation through a frozen LLaMA: the gradient of a loss with respect to the
//! input embeddings, with every weight held fixed.
//!
//! The frozen-LLM variants train only what feeds the prefix, so all they need from the
//! LLM's backward pass is `∂L/∂embeddings`. Recording the forward pass in an autodiff
//! graph costs far more than that: every composite op (RMSNorm, SiLU, softmax, RoPE) is
//! several recorded element-wise ops, each with its own backward and temporaries. Here
//! the forward pass keeps just the activations the closed-form backward of each block
//! reads ([`LlamaTape`]), and [`Llama::backward_frozen`] applies those closed forms —
//! no graph, no weight gradients, and a fraction of the memory traffic.

use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Tensor, backend::Backend};

use super::{Llama, LlamaBlock};
use crate::cache::StepContext;
use crate::kernels::Kernels;
use crate::rope::Rope;

/// What the backward pass of one RMSNorm reads: its input's normalised form and the
/// root mean square it was divided by.
#[derive(Debug, Clone)]
struct NormTape<B: Backend> {
    normed: Tensor<B, 3>,
    rms: Tensor<B, 3>,
}

/// `x / rms(x) · γ`, as `burn::nn::RmsNorm` computes it, keeping what its backward needs.
fn rms_norm_taped<B: Backend>(
    x: Tensor<B, 3>,
    gamma: &Tensor<B, 1>,
    eps: f64,
) -> (Tensor<B, 3>, NormTape<B>) {
    let rms = (x.clone().square().mean_dim(2) + eps).sqrt();
    let normed = x / rms.clone();
    let y = normed.clone() * gamma.clone().unsqueeze::<3>();
    (y, NormTape { normed, rms })
}

/// `∂L/∂x` of `y = x / rms(x) · γ` from `∂L/∂y`: with `n = x / rms` and `g = ∂L/∂y · γ`,
/// `∂L/∂x = (g − n · mean(g ⊙ n)) / rms`.
fn rms_norm_backward<B: Backend>(
    tape: NormTape<B>,
    gamma: &Tensor<B, 1>,
    dy: Tensor<B, 3>,
) -> Tensor<B, 3> {
    let g = dy * gamma.clone().unsqueeze::<3>();
    let mean = (g.clone() * tape.normed.clone()).mean_dim(2);
    (g - tape.normed * mean) / tape.rms
}

/// Activations of one decoder block.
#[derive(Debug, Clone)]
struct BlockTape<B: Backend> {
    attn_norm: NormTape<B>,
    /// Rotated queries, grouped: `[B, Hkv, G·T, hd]`.
    q: Tensor<B, 4>,
    /// Rotated keys `[B, Hkv, T, hd]`.
    k: Tensor<B, 4>,
    /// Values `[B, Hkv, T, hd]`.
    v: Tensor<B, 4>,
    /// Attention probabilities `[B, Hkv, G·T, T]`.
    probs: Tensor<B, 4>,
    mlp_norm: NormTape<B>,
    /// SwiGLU inputs `[B, T, I]`.
    gate: Tensor<B, 3>,
    up: Tensor<B, 3>,
}

/// The activations of one [`Llama::forward_taped`] pass, consumed by
/// [`Llama::backward_frozen`].
#[derive(Debug, Clone)]
pub struct LlamaTape<B: Backend> {
    blocks: Vec<BlockTape<B>>,
    final_norm: NormTape<B>,
    /// RoPE tables `(cos, −sin)` for queries and keys: the transposed rotation.
    unrotate_q: (Tensor<B, 4>, Tensor<B, 4>),
    unrotate_k: (Tensor<B, 4>, Tensor<B, 4>),
}

/// `x` `[B, T, heads·hd]` as `[B, heads, T, hd]`, contiguous.
fn to_heads<B: Backend>(x: Tensor<B, 3>, heads: usize) -> Tensor<B, 4> {
    let [b, t, w] = x.dims();
    let hd = w / heads;
    x.reshape([b, t, heads, hd])
        .swap_dims(1, 2)
        .reshape([b, heads, t, hd])
}

/// `x` `[B, heads, T, hd]` as `[B, T, heads, hd]`, contiguous.
fn from_heads<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, t, hd] = x.dims();
    x.swap_dims(1, 2)
        .reshape([b, t, h * hd])
        .reshape([b, t, h, hd])
}

/// `dy` `[B, T, out]` back through a linear layer's weight `[in, out]` → `[B, T, in]`.
fn linear_input_grad<B: Backend>(
    kernels: Kernels,
    w: Tensor<B, 2>,
    dy: Tensor<B, 3>,
) -> Tensor<B, 3> {
    kernels.project(dy, w.transpose())
}

impl<B: Backend> Llama<B> {
    /// Final hidden states `[B, T, D]` of complete, unpadded sequences `embeds`
    /// `[B, T, D]` (positions from 0, causal attention) — the values of
    /// [`forward_hidden`](crate::CausalLm::forward_hidden) without mask or cache — and the
    /// activations [`backward_frozen`](Self::backward_frozen) needs.
    ///
    /// Call it on a model outside any autodiff graph (an inner-backend copy).
    pub fn forward_taped(&self, embeds: Tensor<B, 3>) -> (Tensor<B, 3>, LlamaTape<B>) {
        let [b, t, _] = embeds.dims();
        let device = embeds.device();
        let c = &self.config;
        let ctx = StepContext::begin(None, b, t, None, c.num_heads, &device);
        let bias = ctx.bias;
        let rope = &self.rope;
        let (cos_q, sin_q) = rope.cos_sin::<B>(&ctx.positions, b, t, c.num_heads, &device);
        let (cos_k, sin_k) = rope.cos_sin::<B>(&ctx.positions, b, t, c.num_kv_heads, &device);
        let mut x = embeds;
        let mut blocks = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (y, tape) =
                self.block_taped(layer, x, bias.as_ref(), (&cos_q, &sin_q), (&cos_k, &sin_k));
            blocks.push(tape);
            x = y;
        }
        let (hidden, final_norm) = rms_norm_taped(x, &self.norm.gamma.val(), self.norm.epsilon);
        let tape = LlamaTape {
            blocks,
            final_norm,
            unrotate_q: (cos_q, sin_q.neg()),
            unrotate_k: (cos_k, sin_k.neg()),
        };
        (hidden, tape)
    }

    fn block_taped(
        &self,
        layer: &LlamaBlock<B>,
        x: Tensor<B, 3>,
        bias: Option<&Tensor<B, 4>>,
        rope_q: (&Tensor<B, 4>, &Tensor<B, 4>),
        rope_k: (&Tensor<B, 4>, &Tensor<B, 4>),
    ) -> (Tensor<B, 3>, BlockTape<B>) {
        let c = &self.config;
        let [b, t, _] = x.dims();
        let (hq, hkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let g = hq / hkv;
        let (a, attn_norm) =
            rms_norm_taped(x.clone(), &layer.attn_norm.gamma.val(), c.rms_norm_eps);
        let [q, k, v] = self
            .kernels
            .linear_parts(&layer.qkv, a, [hq * hd, hkv * hd, hkv * hd]);
        let q = Rope::apply(q.reshape([b, t, hq, hd]), rope_q.0, rope_q.1)
            .swap_dims(1, 2)
            .reshape([b, hkv, g * t, hd]);
        let k = Rope::apply(k.reshape([b, t, hkv, hd]), rope_k.0, rope_k.1)
            .swap_dims(1, 2)
            .reshape([b, hkv, t, hd]);
        let v = to_heads(v, hkv);
        let scores = q.clone().matmul(k.clone().swap_dims(2, 3)) * (hd as f32).powf(-0.5);
        let scores = match bias {
            Some(bias) => scores + bias.clone().reshape([b, hkv, g * t, t]),
            None => scores,
        };
        let probs = softmax(scores, 3);
        let attn = from_heads(probs.clone().matmul(v.clone()).reshape([b, hq, t, hd])).reshape([
            b,
            t,
            hq * hd,
        ]);
        let x = x + self.kernels.linear(&layer.o_proj, attn);
        let i = c.intermediate_size;
        let (m, mlp_norm) = rms_norm_taped(x.clone(), &layer.mlp_norm.gamma.val(), c.rms_norm_eps);
        let [gate, up] = self.kernels.linear_parts(&layer.gate_up, m, [i, i]);
        let h = gate.clone() * sigmoid(gate.clone()) * up.clone();
        let y = x + self.kernels.linear(&layer.down, h);
        let tape = BlockTape {
            attn_norm,
            q,
            k,
            v,
            probs,
            mlp_norm,
            gate,
            up,
        };
        (y, tape)
    }

    /// `∂L/∂embeds` `[B, T, D]` of the pass that recorded `tape`, from `∂L/∂hidden`
    /// `[B, T, D]`, with the weights held fixed (no weight gradients are formed).
    pub fn backward_frozen(&self, tape: LlamaTape<B>, d_hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        let LlamaTape {
            blocks,
            final_norm,
            unrotate_q,
            unrotate_k,
        } = tape;
        let mut dx = rms_norm_backward(final_norm, &self.norm.gamma.val(), d_hidden);
        for (layer, tape) in self.layers.iter().zip(blocks).rev() {
            dx = self.block_backward(layer, tape, dx, &unrotate_q, &unrotate_k);
        }
        dx
    }

    fn block_backward(
        &self,
        layer: &LlamaBlock<B>,
        tape: BlockTape<B>,
        dy: Tensor<B, 3>,
        unrotate_q: &(Tensor<B, 4>, Tensor<B, 4>),
        unrotate_k: &(Tensor<B, 4>, Tensor<B, 4>),
    ) -> Tensor<B, 3> {
        let c = &self.config;
        let [b, t, _] = dy.dims();
        let (hq, hkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let g = hq / hkv;
        let scale = (hd as f32).powf(-0.5);

        // MLP: y = x + down(silu(gate) ⊙ up).
        let dh = linear_input_grad(self.kernels, layer.down.weight.val(), dy.clone());
        let s = sigmoid(tape.gate.clone());
        let silu = tape.gate.clone() * s.clone();
        let d_up = dh.clone() * silu;
        // silu'(x) = σ(x) · (1 + x · (1 − σ(x)))
        let d_silu = s.clone() * ((s.neg() + 1.0) * tape.gate + 1.0);
        let d_gate = dh * tape.up * d_silu;
        let dm = linear_input_grad(
            self.kernels,
            layer.gate_up.weight.val(),
            Tensor::cat(vec![d_gate, d_up], 2),
        );
        let dx = dy + rms_norm_backward(tape.mlp_norm, &layer.mlp_norm.gamma.val(), dm);

        // Attention: x_mid = x + o_proj(attn(q, k, v)).
        let d_attn = linear_input_grad(self.kernels, layer.o_proj.weight.val(), dx.clone());
        let d_out = to_heads(d_attn, hq).reshape([b, hkv, g * t, hd]);
        let d_probs = d_out.clone().matmul(tape.v.swap_dims(2, 3));
        let dv = tape.probs.clone().swap_dims(2, 3).matmul(d_out);
        // Softmax: ∂s = p ⊙ (∂p − Σ_k ∂p ⊙ p).
        let dot = (d_probs.clone() * tape.probs.clone()).sum_dim(3);
        let d_scores = tape.probs * (d_probs - dot);
        let dq = (d_scores.clone().matmul(tape.k) * scale).reshape([b, hq, t, hd]);
        let dk = d_scores.swap_dims(2, 3).matmul(tape.q) * scale;
        let dq = Rope::apply(from_heads(dq), &unrotate_q.0, &unrotate_q.1).reshape([b, t, hq * hd]);
        let dk =
            Rope::apply(from_heads(dk), &unrotate_k.0, &unrotate_k.1).reshape([b, t, hkv * hd]);
        let dv = from_heads(dv).reshape([b, t, hkv * hd]);
        let da = linear_input_grad(
            self.kernels,
            layer.qkv.weight.val(),
            Tensor::cat(vec![dq, dk, dv], 2),
        );
        dx + rms_norm_backward(tape.attn_norm, &layer.attn_norm.gamma.val(), da)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tensor, Tolerance};

    use crate::CausalLm;
    use crate::llama::LlamaConfig;

    type A = Autodiff<Flex>;

    fn config(heads: usize, kv_heads: usize, bias: bool) -> LlamaConfig {
        let json = serde_json::json!({
            "hidden_size": 32,
            "intermediate_size": 48,
            "num_hidden_layers": 2,
            "num_attention_heads": heads,
            "num_key_value_heads": kv_heads,
            "vocab_size": 50,
            "max_position_embeddings": 64,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "attention_bias": bias,
            "mlp_bias": bias,
            "tie_word_embeddings": true
        });
        LlamaConfig::from_hf_json(&json, std::path::Path::new("test")).expect("config")
    }

    /// The taped forward equals the model's forward, and the frozen backward equals
    /// autodiff's input gradient of `Σ hidden ⊙ r` for a random `r`, for multi-head,
    /// grouped-query and multi-query attention, with and without biases.
    #[test]
    fn frozen_backward_equals_autodiff() {
        let device = Default::default();
        for (heads, kv, bias) in [(4, 4, false), (4, 2, true), (4, 1, false)] {
            let cfg = config(heads, kv, bias);
            let model = cfg.init::<A>(7, &device).expect("init").freeze();
            let (b, t, d) = (2, 9, cfg.hidden_size);
            let x = Tensor::<A, 3>::random([b, t, d], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let r = Tensor::<A, 3>::random([b, t, d], Distribution::Normal(0.0, 1.0), &device);
            let hidden = model.forward_hidden(x.clone(), None, None);
            let grads = (hidden.clone() * r.clone()).sum().backward();
            let want = x.grad(&grads).expect("input gradient");

            let inner = burn::module::AutodiffModule::valid(&model);
            let (got_hidden, tape) = inner.forward_taped(x.clone().inner());
            got_hidden
                .into_data()
                .assert_approx_eq::<f32>(&hidden.inner().into_data(), Tolerance::absolute(1e-5));
            let got = inner.backward_frozen(tape, r.inner());
            got.into_data()
                .assert_approx_eq::<f32>(&want.into_data(), Tolerance::absolute(1e-4));
        }
    }
}
