//! Building a LLaMA from HF-named tensors: the checkpoint's tensor list, the fusing of
//! q/k/v and gate/up into single `[in, out]` projections, and random initialisation.

use burn::nn::RmsNorm;
use burn::tensor::backend::Backend;

use super::{Llama, LlamaBlock, LlamaConfig};
use crate::error::Result;
use crate::kernels::Kernels;
use crate::rope::Rope;
use crate::weights::{
    HostTensor, RandomSource, TensorSource, check_layer_count, check_tensors, fused_linear, param,
    take_checked,
};

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
    check_layer_count(
        &*source,
        &["model.layers."],
        config.num_layers,
        "num_hidden_layers",
    )?;
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
        kernels: Kernels::for_backend::<B>(device),
    })
}
