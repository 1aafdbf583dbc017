//! Building a GPT-2 from HF-named tensors (with or without the `transformer.` prefix)
//! and random initialisation.
//!
//! HF stores GPT-2's projections as `Conv1D` with weights `[in, out]`, which is exactly
//! burn's `Linear` layout, so they load without a transpose. Checkpoints saved from
//! `GPT2LMHeadModel` prefix every name with `transformer.`, those saved from
//! `GPT2Model` (as on the hub) do not; both load.

use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::backend::Backend;

use super::cross::{Gpt2CrossAttention, cross_tensor_shapes};
use super::{Gpt2, Gpt2Block, Gpt2Config};
use crate::error::Result;
use crate::kernels::Kernels;
use crate::weights::{
    RandomSource, TensorSource, check_layer_count, check_tensors, param, take_checked,
};

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
            if self.add_cross_attention {
                for (name, shape) in cross_tensor_shapes(d) {
                    out.push((format!("h.{l}.{name}"), shape));
                }
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
    check_layer_count(
        &*source,
        &["transformer.h.", "h."],
        config.num_layers,
        "n_layer",
    )?;
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
            || name.ends_with(".crossattention.bias")
            || name.ends_with(".crossattention.masked_bias")
            || name == "lm_head.weight"
    })?;
    let mut blocks = Vec::with_capacity(config.num_layers);
    for l in 0..config.num_layers {
        let name = |n: &str| format!("{prefix}h.{l}.{n}");
        blocks.push(Gpt2Block {
            ln_1: layer_norm(config, source, &name("ln_1"), device)?,
            c_attn: linear(source, &name("attn.c_attn"), device)?,
            attn_proj: linear(source, &name("attn.c_proj"), device)?,
            ln_2: layer_norm(config, source, &name("ln_2"), device)?,
            c_fc: linear(source, &name("mlp.c_fc"), device)?,
            mlp_proj: linear(source, &name("mlp.c_proj"), device)?,
            cross: if config.add_cross_attention {
                Some(cross_from_tensors(config, source, prefix, l, device)?)
            } else {
                None
            },
        });
    }
    let ln_f = layer_norm(config, source, &format!("{prefix}ln_f"), device)?;
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
        kernels: Kernels::for_backend::<B>(device),
    })
}

/// The LayerNorm `name` (`.weight`, `.bias`).
fn layer_norm<B: Backend>(
    config: &Gpt2Config,
    source: &mut dyn TensorSource,
    name: &str,
    device: &B::Device,
) -> Result<LayerNorm<B>> {
    let mut ln = LayerNormConfig::new(config.hidden_size)
        .with_epsilon(config.layer_norm_epsilon)
        .init(device);
    ln.gamma = param(take_checked(source, &format!("{name}.weight"))?, device);
    ln.beta = Some(param(
        take_checked(source, &format!("{name}.bias"))?,
        device,
    ));
    Ok(ln)
}

/// The `Conv1D` `name` (`.weight` `[in, out]`, `.bias`) as a burn `Linear`.
fn linear<B: Backend>(
    source: &mut dyn TensorSource,
    name: &str,
    device: &B::Device,
) -> Result<Linear<B>> {
    let weight = param(take_checked(source, &format!("{name}.weight"))?, device);
    let bias = param(take_checked(source, &format!("{name}.bias"))?, device);
    Ok(Linear {
        weight,
        bias: Some(bias),
    })
}

/// Block `layer`'s cross-attention (`h.N.ln_cross_attn`, `h.N.crossattention.*`).
pub(crate) fn cross_from_tensors<B: Backend>(
    config: &Gpt2Config,
    source: &mut dyn TensorSource,
    prefix: &str,
    layer: usize,
    device: &B::Device,
) -> Result<Gpt2CrossAttention<B>> {
    let name = |n: &str| format!("{prefix}h.{layer}.{n}");
    Ok(Gpt2CrossAttention {
        ln: layer_norm(config, source, &name("ln_cross_attn"), device)?,
        q_attn: linear(source, &name("crossattention.q_attn"), device)?,
        kv_attn: linear(source, &name("crossattention.c_attn"), device)?,
        proj: linear(source, &name("crossattention.c_proj"), device)?,
    })
}
