//! The GPT-2 family: learned positions, pre-LayerNorm blocks, `gelu_new`, fused `c_attn`.
//!
//! HF stores GPT-2's projections as `Conv1D` with weights `[in, out]`, which is exactly
//! burn's `Linear` layout, so they load without a transpose. Checkpoints saved from
//! `GPT2LMHeadModel` prefix every name with `transformer.`, those saved from
//! `GPT2Model` (as on the hub) do not; both load.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::attention::{expand_bias, grouped_attention};
use crate::cache::{KvCache, SeqState, StepContext};
use crate::config::Gpt2Config;
use crate::error::Result;
use crate::linear::{linear_forward, matmul_rows};
use crate::weights::{HostTensor, RandomSource, TensorSource, check_tensors, take_checked};

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
}

impl Gpt2Config {
    /// Every tensor a HF checkpoint of this config holds (without the `transformer.`
    /// prefix), with its HF shape.
    pub fn hf_tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, i) = (self.hidden_size, self.inner_size());
        let mut out = vec![
            ("wte.weight".to_string(), vec![self.vocab_size, d]),
            (
                "wpe.weight".to_string(),
                vec![self.max_position_embeddings, d],
            ),
        ];
        for l in 0..self.num_layers {
            for (name, shape) in [
                ("ln_1.weight", vec![d]),
                ("ln_1.bias", vec![d]),
                ("attn.c_attn.weight", vec![d, 3 * d]),
                ("attn.c_attn.bias", vec![3 * d]),
                ("attn.c_proj.weight", vec![d, d]),
                ("attn.c_proj.bias", vec![d]),
                ("ln_2.weight", vec![d]),
                ("ln_2.bias", vec![d]),
                ("mlp.c_fc.weight", vec![d, i]),
                ("mlp.c_fc.bias", vec![i]),
                ("mlp.c_proj.weight", vec![i, d]),
                ("mlp.c_proj.bias", vec![d]),
            ] {
                out.push((format!("h.{l}.{name}"), shape));
            }
        }
        out.push(("ln_f.weight".into(), vec![d]));
        out.push(("ln_f.bias".into(), vec![d]));
        out
    }

    /// A model with seeded random weights (N(0, 0.02), unit norms).
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<Gpt2<B>> {
        let mut source = RandomSource::new(self.hf_tensor_shapes(), 0.02, seed);
        gpt2_from_tensors(self, &mut source, device)
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

/// Builds a GPT-2 model from HF-named tensors (with or without the `transformer.`
/// prefix). Missing, mis-shaped and unexpected tensors are errors naming them; the
/// causal-mask buffers (`attn.bias`, `attn.masked_bias`) and the tied `lm_head.weight`
/// are ignored.
pub fn gpt2_from_tensors<B: Backend>(
    config: &Gpt2Config,
    source: &mut dyn TensorSource,
    device: &B::Device,
) -> Result<Gpt2<B>> {
    config.validate(source.origin())?;
    let prefix = if source.shape("transformer.wte.weight").is_some() {
        "transformer."
    } else {
        ""
    };
    let expected: Vec<(String, Vec<usize>)> = config
        .hf_tensor_shapes()
        .into_iter()
        .map(|(n, s)| (format!("{prefix}{n}"), s))
        .collect();
    check_tensors(&*source, &expected, &|name| {
        name.ends_with(".attn.bias")
            || name.ends_with(".attn.masked_bias")
            || name == "lm_head.weight"
    })?;
    let eps = config.layer_norm_epsilon;
    let d = config.hidden_size;
    let layer_norm = |source: &mut dyn TensorSource, name: &str| -> Result<LayerNorm<B>> {
        let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init(device);
        ln.gamma = param(
            take_checked(source, &format!("{prefix}{name}.weight"))?,
            device,
        );
        ln.beta = Some(param(
            take_checked(source, &format!("{prefix}{name}.bias"))?,
            device,
        ));
        Ok(ln)
    };
    let linear = |source: &mut dyn TensorSource, name: &str| -> Result<Linear<B>> {
        let weight = param(
            take_checked(source, &format!("{prefix}{name}.weight"))?,
            device,
        );
        let bias = param(
            take_checked(source, &format!("{prefix}{name}.bias"))?,
            device,
        );
        Ok(Linear {
            weight,
            bias: Some(bias),
        })
    };
    let mut blocks = Vec::with_capacity(config.num_layers);
    for l in 0..config.num_layers {
        blocks.push(Gpt2Block {
            ln_1: layer_norm(source, &format!("h.{l}.ln_1"))?,
            c_attn: linear(source, &format!("h.{l}.attn.c_attn"))?,
            attn_proj: linear(source, &format!("h.{l}.attn.c_proj"))?,
            ln_2: layer_norm(source, &format!("h.{l}.ln_2"))?,
            c_fc: linear(source, &format!("h.{l}.mlp.c_fc"))?,
            mlp_proj: linear(source, &format!("h.{l}.mlp.c_proj"))?,
        });
    }
    let ln_f = layer_norm(source, "ln_f")?;
    let wte = param(
        take_checked(source, &format!("{prefix}wte.weight"))?,
        device,
    );
    let wpe = param(
        take_checked(source, &format!("{prefix}wpe.weight"))?,
        device,
    );
    Ok(Gpt2 {
        wte,
        wpe,
        blocks,
        ln_f,
        config: config.clone(),
    })
}

impl<B: Backend> Gpt2Block<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        config: &Gpt2Config,
        ctx: &StepContext<B>,
        cache: Option<(&mut KvCache<B>, usize)>,
    ) -> Tensor<B, 3> {
        let [b, t, _] = x.dims();
        let (h, hd) = (config.num_heads, config.head_dim());
        let qkv = linear_forward(&self.c_attn, self.ln_1.forward(x.clone()))
            .reshape([b, t, 3 * h, hd])
            .swap_dims(1, 2);
        let q = qkv.clone().narrow(1, 0, h);
        let k = qkv.clone().narrow(1, h, h);
        let v = qkv.narrow(1, 2 * h, h);
        let (k, v) = match cache {
            Some((cache, layer)) => cache.update(layer, k, v, ctx.start, ctx.total),
            None => (k, v),
        };
        let attn = grouped_attention(q, k, v, ctx.bias.as_ref(), (hd as f32).powf(-0.5));
        let x = x + linear_forward(&self.attn_proj, attn);
        let m = gelu_approximate(linear_forward(&self.c_fc, self.ln_2.forward(x.clone())));
        x + linear_forward(&self.mlp_proj, m)
    }
}

impl<B: Backend> Gpt2<B> {
    /// Token embeddings of `ids` `[B, T]` → `[B, T, D]` (positions are added later, in
    /// the forward pass, so a prefix of embeddings gets positions too).
    pub fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [b, t] = ids.dims();
        self.wte
            .val()
            .select(0, ids.reshape([b * t]))
            .reshape([b, t, self.config.hidden_size])
    }

    pub(crate) fn forward_hidden_host(
        &self,
        embeds: Tensor<B, 3>,
        mask: Option<&[bool]>,
        mut cache: Option<&mut KvCache<B>>,
    ) -> Tensor<B, 3> {
        let [b, t, d] = embeds.dims();
        let device = embeds.device();
        let mut ctx = match cache.as_deref_mut() {
            Some(c) => c.advance(t, mask, &device),
            None => SeqState::new(b, t).advance(t, mask, &device),
        };
        ctx.bias = ctx
            .bias
            .map(|bias| expand_bias(bias, b, self.config.num_heads));
        let max = self.config.max_position_embeddings;
        let last = ctx.positions.iter().copied().max().unwrap_or(0);
        assert!(last < max, "GPT-2 position {last} beyond n_positions {max}");
        let idx: Vec<i64> = ctx.positions.iter().map(|&p| p as i64).collect();
        let n = idx.len();
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n]), &device);
        let rows = if ctx.shared_positions { 1 } else { b };
        let pos = self.wpe.val().select(0, idx).reshape([rows, t, d]);
        let mut x = embeds + pos;
        for (l, block) in self.blocks.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, l));
            x = block.forward(x, &self.config, &ctx, c);
        }
        self.ln_f.forward(x)
    }

    /// The output projection `[D, V]`: the transposed token embeddings (GPT-2 ties them).
    pub fn output_weight(&self) -> Tensor<B, 2> {
        self.wte.val().transpose()
    }

    /// Logits `[B, T, V]` of hidden states `[B, T, D]` (tied to `wte`).
    pub fn logits(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, t, d] = hidden.dims();
        let w = self.output_weight();
        let v = w.dims()[1];
        // 2-D matmul on the transposed embeddings (see `Llama::logits`).
        matmul_rows(hidden.reshape([b * t, d]), w).reshape([b, t, v])
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
