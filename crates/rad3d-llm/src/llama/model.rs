//! The LLaMA module: [`Llama`] and its blocks, embedding, forward pass and logits.
//!
//! Weights are kept in the layout the matmuls want (`[in, out]`, burn's `Linear`), with
//! q/k/v fused into one projection and gate/up into another, so a decode step runs
//! three matmuls per block instead of seven.

use burn::module::{Module, Param};
use burn::nn::{Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::{Int, Tensor, backend::Backend};

use super::LlamaConfig;
use crate::attention::grouped_attention;
use crate::cache::{KvCache, StepContext};
use crate::kernels::Kernels;
use crate::model::embed_rows;
use crate::rope::Rope;

/// One decoder block.
#[derive(Module, Debug)]
pub struct LlamaBlock<B: Backend> {
    /// `input_layernorm`.
    pub attn_norm: RmsNorm<B>,
    /// `q_proj`, `k_proj`, `v_proj` fused: `[D, (Hq + 2 Hkv) hd]`.
    pub qkv: Linear<B>,
    /// `o_proj`: `[Hq hd, D]`.
    pub o_proj: Linear<B>,
    /// `post_attention_layernorm`.
    pub mlp_norm: RmsNorm<B>,
    /// `gate_proj` and `up_proj` fused: `[D, 2 I]`.
    pub gate_up: Linear<B>,
    /// `down_proj`: `[I, D]`.
    pub down: Linear<B>,
}

/// A LLaMA-family causal language model.
#[derive(Module, Debug)]
pub struct Llama<B: Backend> {
    /// Token embeddings `[V, D]` (also the output projection when tied).
    pub embed_tokens: Param<Tensor<B, 2>>,
    /// Decoder blocks.
    pub layers: Vec<LlamaBlock<B>>,
    /// Final RMSNorm.
    pub norm: RmsNorm<B>,
    /// Separate output projection `[D, V]`; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Param<Tensor<B, 2>>>,
    /// The configuration the weights follow.
    #[module(skip)]
    pub config: LlamaConfig,
    #[module(skip)]
    pub(crate) rope: Rope,
    /// The matmul kernels, chosen for the backend when the model was built.
    #[module(skip)]
    pub(crate) kernels: Kernels,
}

/// RoPE tables of one forward pass, `(cos, sin)` for the queries and for the keys, each
/// `[B, T, heads, head_dim]` (see [`Rope::cos_sin`]).
struct RopeTables<B: Backend> {
    q: (Tensor<B, 4>, Tensor<B, 4>),
    k: (Tensor<B, 4>, Tensor<B, 4>),
}

impl<B: Backend> LlamaBlock<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        config: &LlamaConfig,
        kernels: Kernels,
        rope: &RopeTables<B>,
        ctx: &StepContext<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let [b, t, _] = x.dims();
        let (hq, hkv, hd) = (config.num_heads, config.num_kv_heads, config.head_dim);
        // Queries, keys and values as three contiguous products, rotated in the
        // `[B, T, heads, hd]` layout the products come in; only then transposed to heads.
        let [q, k, v] = kernels.linear_parts(
            &self.qkv,
            self.attn_norm.forward(x.clone()),
            [hq * hd, hkv * hd, hkv * hd],
        );
        let q = Rope::apply(q.reshape([b, t, hq, hd]), &rope.q.0, &rope.q.1).swap_dims(1, 2);
        let k = Rope::apply(k.reshape([b, t, hkv, hd]), &rope.k.0, &rope.k.1).swap_dims(1, 2);
        let v = v.reshape([b, t, hkv, hd]).swap_dims(1, 2);
        let (k, v) = match cache {
            Some((cache, layer)) => cache.update(layer, k, v, ctx.start, ctx.total),
            None => (k, v),
        };
        let attn = grouped_attention(q, k, v, ctx.bias.as_ref(), (hd as f32).powf(-0.5));
        let x = x + kernels.linear(&self.o_proj, attn);
        let i = config.intermediate_size;
        let [gate, up] =
            kernels.linear_parts(&self.gate_up, self.mlp_norm.forward(x.clone()), [i, i]);
        let h = silu(gate) * up;
        x + kernels.linear(&self.down, h)
    }
}

impl<B: Backend> Llama<B> {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]`.
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        embed_rows(&self.embed_tokens, ids)
    }

    /// Final hidden states `[B, T, D]` of `embeds` `[B, T, D]`, continuing the sequences
    /// in `cache` (or starting fresh without one). `mask` `[B·T]` marks real tokens.
    pub(crate) fn forward_hidden_host(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        mut cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        let [b, t, _] = embeds.dims();
        let device = embeds.device();
        let c = &self.config;
        let ctx = StepContext::begin(cache.as_deref_mut(), b, t, mask, c.num_heads, &device);
        let rope = RopeTables {
            q: self
                .rope
                .cos_sin::<B>(&ctx.positions, b, t, c.num_heads, &device),
            k: self
                .rope
                .cos_sin::<B>(&ctx.positions, b, t, c.num_kv_heads, &device),
        };
        let mut x = embeds;
        for (l, layer) in self.layers.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, l));
            x = layer.forward(x, &self.config, self.kernels, &rope, &ctx, c);
        }
        self.norm.forward(x)
    }

    /// The output projection `[D, V]`: `lm_head`, or the transposed token embeddings.
    pub fn output_weight(&self) -> Tensor<B, 2> {
        match &self.lm_head {
            Some(w) => w.val(),
            None => self.embed_tokens.val().transpose(),
        }
    }

    /// Logits `[B, T, V]` of hidden states `[B, T, D]`.
    pub fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        // A 2-D matmul: the batched path repacks the (transposed, strided) [D, V] weight on
        // every call, which made the output projection cost more than all blocks together.
        self.kernels.project(hidden, self.output_weight())
    }

    /// A cache for `batch` sequences of up to `capacity` tokens.
    pub fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B> {
        let c = &self.config;
        KvCache::new(
            c.num_layers,
            batch,
            c.num_kv_heads,
            capacity,
            c.head_dim,
            device,
        )
    }
}
