//! The GPT-2 module: [`Gpt2`] and its blocks, embedding, forward pass and logits.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{Int, Tensor, backend::Backend};

use super::{Gpt2Config, Gpt2CrossAttention};
use crate::attention::fused_self_attention;
use crate::cache::{KvCache, StepContext};
use crate::kernels::Kernels;
use crate::model::embed_rows;

/// One GPT-2 block.
#[derive(Module, Debug)]
pub struct Gpt2Block<B: Backend> {
    /// `ln_1`.
    pub ln_1: LayerNorm<B>,
    /// `attn.c_attn`: `[D, 3 D]`.
    pub c_attn: Linear<B>,
    /// `attn.c_proj`: `[D, D]`.
    pub attn_proj: Linear<B>,
    /// `ln_2`.
    pub ln_2: LayerNorm<B>,
    /// `mlp.c_fc`: `[D, I]`.
    pub c_fc: Linear<B>,
    /// `mlp.c_proj`: `[I, D]`.
    pub mlp_proj: Linear<B>,
    /// Cross-attention over encoder states (`add_cross_attention` models only).
    pub cross: Option<Gpt2CrossAttention<B>>,
}

/// A GPT-2-family causal language model (output projection tied to `wte`).
#[derive(Module, Debug)]
pub struct Gpt2<B: Backend> {
    /// Token embeddings `[V, D]`.
    pub wte: Param<Tensor<B, 2>>,
    /// Position embeddings `[n_positions, D]`.
    pub wpe: Param<Tensor<B, 2>>,
    /// Blocks.
    pub blocks: Vec<Gpt2Block<B>>,
    /// Final LayerNorm.
    pub ln_f: LayerNorm<B>,
    /// The configuration the weights follow.
    #[module(skip)]
    pub config: Gpt2Config,
    /// The matmul kernels, chosen for the backend when the model was built.
    #[module(skip)]
    pub(crate) kernels: Kernels,
}

impl<B: Backend> Gpt2Block<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        config: &Gpt2Config,
        kernels: Kernels,
        ctx: &StepContext<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
        encoder: Option<&Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        let attn = fused_self_attention(
            &self.c_attn,
            self.ln_1.forward(x.clone()),
            config.num_heads,
            kernels,
            ctx,
            cache,
        );
        let x = x + kernels.linear(&self.attn_proj, attn);
        // As HF: cross-attention runs only when encoder states are given.
        let x = match (&self.cross, encoder) {
            (Some(cross), Some(encoder)) => cross.forward(x, encoder, config, kernels),
            _ => x,
        };
        let m = gelu_approximate(kernels.linear(&self.c_fc, self.ln_2.forward(x.clone())));
        x + kernels.linear(&self.mlp_proj, m)
    }
}

impl<B: Backend> Gpt2<B> {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]` (positions are added later, in
    /// the forward pass, so a prefix of embeddings gets positions too).
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        embed_rows(&self.wte, ids)
    }

    /// Final hidden states `[B, T, D]` of `embeds` `[B, T, D]`, continuing the sequences
    /// in `cache` (or starting fresh without one). `mask` `[B·T]` marks real tokens.
    pub(crate) fn forward_hidden_host(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        self.forward_hidden_encoded(embeds, mask, cache, None)
    }

    /// [`forward_hidden_host`](Self::forward_hidden_host) whose blocks' cross-attention
    /// reads `encoder` `[B, S, D]` (one row per row of `embeds`); without encoder states
    /// (or without cross-attention) the blocks skip it, as HF does.
    pub(crate) fn forward_hidden_encoded(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        mut cache: Option<&mut KvCache<B>>,
        encoder: Option<&Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        let [b, t, _] = embeds.dims();
        let device = embeds.device();
        let heads = self.config.num_heads;
        let ctx = StepContext::begin(cache.as_deref_mut(), b, t, mask, heads, &device);
        let pos = ctx.learned_positions(
            self.wpe.val(),
            b,
            0,
            self.config.max_position_embeddings,
            "GPT-2",
        );
        let mut x = embeds + pos;
        for (l, block) in self.blocks.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, l));
            x = block.forward(x, &self.config, self.kernels, &ctx, c, encoder);
        }
        self.ln_f.forward(x)
    }

    /// The output projection `[D, V]`: the transposed token embeddings (GPT-2 ties them).
    pub fn output_weight(&self) -> Tensor<B, 2> {
        self.wte.val().transpose()
    }

    /// Logits `[B, T, V]` of hidden states `[B, T, D]` (tied to `wte`).
    pub fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        // 2-D matmul on the transposed embeddings (see `Llama::logits`).
        self.kernels.project(hidden, self.output_weight())
    }

    /// A cache for `batch` sequences of up to `capacity` tokens.
    pub fn new_cache(&self, batch: usize, capacity: usize, device: &B::Device) -> KvCache<B> {
        let c = &self.config;
        KvCache::new(
            c.num_layers,
            batch,
            c.num_heads,
            capacity,
            c.head_dim(),
            device,
        )
    }
}
