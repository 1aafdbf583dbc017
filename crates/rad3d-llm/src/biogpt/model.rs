//! The BioGPT module: [`BioGpt`] and its blocks, scaled embedding, forward pass and
//! logits.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::activation::gelu;
use burn::tensor::{Int, Tensor, backend::Backend};

use super::BioGptConfig;
use super::config::POSITION_OFFSET;
use crate::attention::fused_self_attention;
use crate::cache::{KvCache, StepContext};
use crate::kernels::Kernels;
use crate::model::embed_rows;

/// One BioGPT block (pre-LayerNorm attention, then a pre-LayerNorm GELU MLP).
#[derive(Module, Debug)]
pub struct BioGptBlock<B: Backend> {
    /// `self_attn_layer_norm`.
    pub attn_norm: LayerNorm<B>,
    /// `self_attn.{q,k,v}_proj` fused: `[D, 3 D]`.
    pub qkv: Linear<B>,
    /// `self_attn.out_proj`: `[D, D]`.
    pub out_proj: Linear<B>,
    /// `final_layer_norm` (the block's second norm, before the MLP).
    pub mlp_norm: LayerNorm<B>,
    /// `fc1`: `[D, I]`.
    pub fc1: Linear<B>,
    /// `fc2`: `[I, D]`.
    pub fc2: Linear<B>,
}

/// A BioGPT causal language model (`BioGptForCausalLM`).
#[derive(Module, Debug)]
pub struct BioGpt<B: Backend> {
    /// Token embeddings `[V, D]` (unscaled, as stored).
    pub embed_tokens: Param<Tensor<B, 2>>,
    /// Learned positions `[max_positions + 2, D]`; position `p` is row `p + 2`.
    pub embed_positions: Param<Tensor<B, 2>>,
    /// Blocks.
    pub blocks: Vec<BioGptBlock<B>>,
    /// Final LayerNorm (`biogpt.layer_norm`).
    pub norm: LayerNorm<B>,
    /// Untied `output_projection` stored as `[D, V]`; `None` when tied to the embeddings.
    pub output_projection: Option<Param<Tensor<B, 2>>>,
    /// The configuration the weights follow.
    #[module(skip)]
    pub config: BioGptConfig,
    /// The matmul kernels, chosen for the backend when the model was built.
    #[module(skip)]
    pub(crate) kernels: Kernels,
}

impl<B: Backend> BioGptBlock<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        config: &BioGptConfig,
        kernels: Kernels,
        ctx: &StepContext<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let attn = fused_self_attention(
            &self.qkv,
            self.attn_norm.forward(x.clone()),
            config.num_heads,
            kernels,
            ctx,
            cache,
        );
        let x = x + kernels.linear(&self.out_proj, attn);
        let m = gelu(kernels.linear(&self.fc1, self.mlp_norm.forward(x.clone())));
        x + kernels.linear(&self.fc2, m)
    }
}

impl<B: Backend> BioGpt<B> {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]`, already multiplied by `sqrt(D)`
    /// (with `scale_embedding`): the space the decoder stack receives, so a prefix of
    /// embeddings joins them as they are. Positions are added in the forward pass, so
    /// the prefix gets positions too.
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let rows = embed_rows(&self.embed_tokens, ids);
        if self.config.scale_embedding {
            rows * self.config.embed_scale()
        } else {
            rows
        }
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
        let heads = self.config.num_heads;
        let ctx = StepContext::begin(cache.as_deref_mut(), b, t, mask, heads, &device);
        let pos = ctx.learned_positions(
            self.embed_positions.val(),
            b,
            POSITION_OFFSET,
            self.config.max_position_embeddings,
            "BioGPT",
        );
        let mut x = embeds + pos;
        for (l, block) in self.blocks.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, l));
            x = block.forward(x, &self.config, self.kernels, &ctx, c);
        }
        self.norm.forward(x)
    }

    /// The output projection `[D, V]`: `output_projection`, or the transposed (unscaled)
    /// token embeddings when tied.
    pub fn output_weight(&self) -> Tensor<B, 2> {
        match &self.output_projection {
            Some(w) => w.val(),
            None => self.embed_tokens.val().transpose(),
        }
    }

    /// Logits `[B, T, V]` of hidden states `[B, T, D]`.
    pub fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        // A 2-D matmul on the [D, V] weight (see `Llama::logits`).
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
