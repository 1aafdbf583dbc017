//! The LLaMA family: RMSNorm, SwiGLU, rotate-half RoPE, grouped-query attention, tied or
//! separate `lm_head`.
//!
//! Weights are kept in the layout the matmuls want (`[in, out]`, burn's `Linear`), with
//! q/k/v fused into one projection and gate/up into another, so a decode step runs
//! three matmuls per block instead of seven.

use burn::module::{Module, Param};
use burn::nn::{Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::attention::{expand_bias, grouped_attention};
use crate::cache::{KvCache, SeqState, StepContext};
use crate::config::LlamaConfig;
use crate::error::Result;
use crate::linear::{linear_forward, linear_forward_parts, matmul_rows};
use crate::rope::Rope;
use crate::weights::{HostTensor, RandomSource, TensorSource, check_tensors, take_checked};

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
}

impl LlamaConfig {
    /// Every tensor a HF checkpoint of this config holds, with its HF shape.
    pub fn hf_tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, i, v, hd) = (
            self.hidden_size,
            self.intermediate_size,
            self.vocab_size,
            self.head_dim,
        );
        let (q, kv) = (self.num_heads * hd, self.num_kv_heads * hd);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, d])];
        for l in 0..self.num_layers {
            let p = format!("model.layers.{l}");
            let mut push = |name: &str, shape: Vec<usize>| out.push((format!("{p}.{name}"), shape));
            push("input_layernorm.weight", vec![d]);
            push("post_attention_layernorm.weight", vec![d]);
            push("self_attn.q_proj.weight", vec![q, d]);
            push("self_attn.k_proj.weight", vec![kv, d]);
            push("self_attn.v_proj.weight", vec![kv, d]);
            push("self_attn.o_proj.weight", vec![d, q]);
            if self.attention_bias {
                push("self_attn.q_proj.bias", vec![q]);
                push("self_attn.k_proj.bias", vec![kv]);
                push("self_attn.v_proj.bias", vec![kv]);
                push("self_attn.o_proj.bias", vec![d]);
            }
            push("mlp.gate_proj.weight", vec![i, d]);
            push("mlp.up_proj.weight", vec![i, d]);
            push("mlp.down_proj.weight", vec![d, i]);
            if self.mlp_bias {
                push("mlp.gate_proj.bias", vec![i]);
                push("mlp.up_proj.bias", vec![i]);
                push("mlp.down_proj.bias", vec![d]);
            }
        }
        out.push(("model.norm.weight".into(), vec![d]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".into(), vec![v, d]));
        }
        out
    }

    /// A model with seeded random weights (N(0, 0.02), unit norms).
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<Llama<B>> {
        let mut source = RandomSource::new(self.hf_tensor_shapes(), 0.02, seed);
        llama_from_tensors(self, &mut source, device)
    }
}

fn param<B: Backend, const D: usize>(t: HostTensor, device: &B::Device) -> Param<Tensor<B, D>> {
    let shape: [usize; D] = t
        .shape
        .clone()
        .try_into()
        .expect("tensor rank checked by caller");
    Param::from_tensor(Tensor::from_data(TensorData::new(t.data, shape), device))
}

/// Stacks HF `[out, in]` weights along `out` and stores the result as `[in, Σ out]`.
fn fused_linear<B: Backend>(
    weights: Vec<HostTensor>,
    biases: Option<Vec<HostTensor>>,
    device: &B::Device,
) -> Linear<B> {
    let cols = weights[0].shape[1];
    let rows: usize = weights.iter().map(|w| w.shape[0]).sum();
    let mut data = Vec::with_capacity(rows * cols);
    for w in weights {
        data.extend_from_slice(&w.data);
    }
    let w = HostTensor::new(vec![rows, cols], data).transposed();
    let bias = biases.map(|bs| {
        let data: Vec<f32> = bs.into_iter().flat_map(|b| b.data).collect();
        param(HostTensor::new(vec![rows], data), device)
    });
    Linear {
        weight: param(w, device),
        bias,
    }
}

fn rms_norm<B: Backend>(gamma: HostTensor, eps: f64, device: &B::Device) -> RmsNorm<B> {
    RmsNorm {
        gamma: param(gamma, device),
        epsilon: eps,
    }
}

/// Builds a LLaMA model from HF-named, HF-shaped f32 tensors — a safetensors checkpoint,
/// a GGUF file mapped to HF names, or anything else implementing [`TensorSource`].
///
/// Every missing or mis-shaped tensor is reported (with the source's file) before any is
/// read; tensors left over (other than `rotary_emb.inv_freq` buffers and a tied
/// `lm_head.weight`) are reported as unexpected.
pub fn llama_from_tensors<B: Backend>(
    config: &LlamaConfig,
    source: &mut dyn TensorSource,
    device: &B::Device,
) -> Result<Llama<B>> {
    config.validate(source.origin())?;
    let tied = config.tie_word_embeddings;
    check_tensors(&*source, &config.hf_tensor_shapes(), &|name| {
        name.ends_with("rotary_emb.inv_freq") || (tied && name == "lm_head.weight")
    })?;
    let embed_tokens = param(take_checked(source, "model.embed_tokens.weight")?, device);
    let mut layers = Vec::with_capacity(config.num_layers);
    for l in 0..config.num_layers {
        let p = format!("model.layers.{l}");
        let mut take = |name: &str| take_checked(source, &format!("{p}.{name}"));
        let attn_norm = rms_norm(take("input_layernorm.weight")?, config.rms_norm_eps, device);
        let mlp_norm = rms_norm(
            take("post_attention_layernorm.weight")?,
            config.rms_norm_eps,
            device,
        );
        let qkv_w = vec![
            take("self_attn.q_proj.weight")?,
            take("self_attn.k_proj.weight")?,
            take("self_attn.v_proj.weight")?,
        ];
        let (qkv_b, o_b) = if config.attention_bias {
            let b = vec![
                take("self_attn.q_proj.bias")?,
                take("self_attn.k_proj.bias")?,
                take("self_attn.v_proj.bias")?,
            ];
            (Some(b), Some(vec![take("self_attn.o_proj.bias")?]))
        } else {
            (None, None)
        };
        let o_w = vec![take("self_attn.o_proj.weight")?];
        let gu_w = vec![take("mlp.gate_proj.weight")?, take("mlp.up_proj.weight")?];
        let (gu_b, down_b) = if config.mlp_bias {
            let b = vec![take("mlp.gate_proj.bias")?, take("mlp.up_proj.bias")?];
            (Some(b), Some(vec![take("mlp.down_proj.bias")?]))
        } else {
            (None, None)
        };
        let down_w = vec![take("mlp.down_proj.weight")?];
        layers.push(LlamaBlock {
            attn_norm,
            qkv: fused_linear(qkv_w, qkv_b, device),
            o_proj: fused_linear(o_w, o_b, device),
            mlp_norm,
            gate_up: fused_linear(gu_w, gu_b, device),
            down: fused_linear(down_w, down_b, device),
        });
    }
    let norm = rms_norm(
        take_checked(source, "model.norm.weight")?,
        config.rms_norm_eps,
        device,
    );
    let lm_head = if tied {
        None
    } else {
        Some(param(
            take_checked(source, "lm_head.weight")?.transposed(),
            device,
        ))
    };
    Ok(Llama {
        embed_tokens,
        layers,
        norm,
        lm_head,
        config: config.clone(),
        rope: Rope::new(config),
    })
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
        rope: &RopeTables<B>,
        ctx: &StepContext<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let [b, t, _] = x.dims();
        let (hq, hkv, hd) = (config.num_heads, config.num_kv_heads, config.head_dim);
        // Queries, keys and values as three contiguous products, rotated in the
        // `[B, T, heads, hd]` layout the products come in; only then transposed to heads.
        let [q, k, v] = linear_forward_parts(
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
        let x = x + linear_forward(&self.o_proj, attn);
        let i = config.intermediate_size;
        let [gate, up] =
            linear_forward_parts(&self.gate_up, self.mlp_norm.forward(x.clone()), [i, i]);
        let h = silu(gate) * up;
        x + linear_forward(&self.down, h)
    }
}

impl<B: Backend> Llama<B> {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]`.
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [b, t] = ids.dims();
        let d = self.config.hidden_size;
        self.embed_tokens
            .val()
            .select(0, ids.reshape([b * t]))
            .reshape([b, t, d])
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
        let mut ctx = match cache.as_deref_mut() {
            Some(c) => c.advance(t, mask, &device),
            None => SeqState::new(b, t).advance(t, mask, &device),
        };
        ctx.bias = ctx
            .bias
            .map(|bias| expand_bias(bias, b, self.config.num_heads));
        let c = &self.config;
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
            x = layer.forward(x, &self.config, &rope, &ctx, c);
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
        let w = self.output_weight();
        let [b, t, d] = hidden.dims();
        let v = w.dims()[1];
        // A 2-D matmul: the batched path repacks the (transposed, strided) [D, V] weight on
        // every call, which made the output projection cost more than all blocks together.
        matmul_rows(hidden.reshape([b * t, d]), w).reshape([b, t, v])
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
