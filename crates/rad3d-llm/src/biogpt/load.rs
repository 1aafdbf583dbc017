//! Building a BioGPT from HF-named tensors (`biogpt.…`, `output_projection.weight`) and
//! random initialisation.
//!
//! HF stores `nn.Linear` weights `[out, in]`; q/k/v are fused into one `[D, 3 D]`
//! projection (as GPT-2's `c_attn`) so one product serves all three. Checkpoints saved
//! from `BioGptForCausalLM` prefix the body with `biogpt.`, those saved from
//! `BioGptModel` do not; both load. A tied model's file may still carry
//! `output_projection.weight` (`pytorch_model.bin` files do): it is ignored.

use burn::tensor::backend::Backend;

use super::config::{LAYER_NORM_EPS, POSITION_OFFSET};
use super::{BioGpt, BioGptBlock, BioGptConfig};
use crate::error::Result;
use crate::kernels::Kernels;
use crate::weights::{
    RandomSource, TensorSource, check_layer_count, check_tensors, fused_linear, layer_norm, param,
    take_checked,
};

const HEAD: &str = "output_projection.weight";

impl BioGptConfig {
    /// Every tensor a HF `BioGptForCausalLM` checkpoint of this config holds (body
    /// names without the `biogpt.` prefix), with its HF shape.
    pub fn hf_tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, i, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let mut out = vec![
            ("embed_tokens.weight".to_string(), vec![v, d]),
            (
                "embed_positions.weight".to_string(),
                vec![self.max_position_embeddings + POSITION_OFFSET, d],
            ),
        ];
        for l in 0..self.num_layers {
            for (name, shape) in [
                ("self_attn_layer_norm.weight", vec![d]),
                ("self_attn_layer_norm.bias", vec![d]),
                ("self_attn.q_proj.weight", vec![d, d]),
                ("self_attn.q_proj.bias", vec![d]),
                ("self_attn.k_proj.weight", vec![d, d]),
                ("self_attn.k_proj.bias", vec![d]),
                ("self_attn.v_proj.weight", vec![d, d]),
                ("self_attn.v_proj.bias", vec![d]),
                ("self_attn.out_proj.weight", vec![d, d]),
                ("self_attn.out_proj.bias", vec![d]),
                ("final_layer_norm.weight", vec![d]),
                ("final_layer_norm.bias", vec![d]),
                ("fc1.weight", vec![i, d]),
                ("fc1.bias", vec![i]),
                ("fc2.weight", vec![d, i]),
                ("fc2.bias", vec![d]),
            ] {
                out.push((format!("layers.{l}.{name}"), shape));
            }
        }
        out.push(("layer_norm.weight".into(), vec![d]));
        out.push(("layer_norm.bias".into(), vec![d]));
        out
    }

    /// A model with seeded random weights (N(0, 0.02), unit norms).
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<BioGpt<B>> {
        let mut shapes = self.hf_tensor_shapes();
        if !self.tie_word_embeddings {
            shapes.push((HEAD.into(), vec![self.vocab_size, self.hidden_size]));
        }
        let mut source = RandomSource::new(shapes, 0.02, seed);
        biogpt_from_tensors(self, &mut source, device)
    }
}

/// Builds a BioGPT from HF-named tensors (with or without the `biogpt.` prefix).
/// Missing, mis-shaped and unexpected tensors are errors naming them and the file;
/// nothing is read before the whole list checks out.
pub fn biogpt_from_tensors<B: Backend>(
    config: &BioGptConfig,
    source: &mut dyn TensorSource,
    device: &B::Device,
) -> Result<BioGpt<B>> {
    config.validate(source.origin())?;
    check_layer_count(
        &*source,
        &["biogpt.layers.", "layers."],
        config.num_layers,
        "num_hidden_layers",
    )?;
    let prefix = if source.shape("biogpt.embed_tokens.weight").is_some() {
        "biogpt."
    } else {
        ""
    };
    let tied = config.tie_word_embeddings;
    let mut expected: Vec<(String, Vec<usize>)> = config
        .hf_tensor_shapes()
        .into_iter()
        .map(|(n, s)| (format!("{prefix}{n}"), s))
        .collect();
    if !tied {
        expected.push((HEAD.into(), vec![config.vocab_size, config.hidden_size]));
    }
    check_tensors(&*source, &expected, &|name| tied && name == HEAD)?;
    let eps = LAYER_NORM_EPS;
    let mut take = |name: &str| take_checked(source, &format!("{prefix}{name}"));
    let mut blocks = Vec::with_capacity(config.num_layers);
    for l in 0..config.num_layers {
        let mut layer = |name: &str| take(&format!("layers.{l}.{name}"));
        let attn_norm = layer_norm(
            layer("self_attn_layer_norm.weight")?,
            layer("self_attn_layer_norm.bias")?,
            eps,
            device,
        );
        let qkv_w = vec![
            layer("self_attn.q_proj.weight")?,
            layer("self_attn.k_proj.weight")?,
            layer("self_attn.v_proj.weight")?,
        ];
        let qkv_b = vec![
            layer("self_attn.q_proj.bias")?,
            layer("self_attn.k_proj.bias")?,
            layer("self_attn.v_proj.bias")?,
        ];
        let out_w = vec![layer("self_attn.out_proj.weight")?];
        let out_b = vec![layer("self_attn.out_proj.bias")?];
        let mlp_norm = layer_norm(
            layer("final_layer_norm.weight")?,
            layer("final_layer_norm.bias")?,
            eps,
            device,
        );
        let fc1 = fused_linear(
            vec![layer("fc1.weight")?],
            Some(vec![layer("fc1.bias")?]),
            device,
        );
        let fc2 = fused_linear(
            vec![layer("fc2.weight")?],
            Some(vec![layer("fc2.bias")?]),
            device,
        );
        blocks.push(BioGptBlock {
            attn_norm,
            qkv: fused_linear(qkv_w, Some(qkv_b), device),
            out_proj: fused_linear(out_w, Some(out_b), device),
            mlp_norm,
            fc1,
            fc2,
        });
    }
    let norm = layer_norm(
        take("layer_norm.weight")?,
        take("layer_norm.bias")?,
        eps,
        device,
    );
    let embed_tokens = param(take("embed_tokens.weight")?, device);
    let embed_positions = param(take("embed_positions.weight")?, device);
    let output_projection = if tied {
        None
    } else {
        Some(param(take_checked(source, HEAD)?.transposed(), device))
    };
    Ok(BioGpt {
        embed_tokens,
        embed_positions,
        blocks,
        norm,
        output_projection,
        config: config.clone(),
        kernels: Kernels::for_backend::<B>(device),
    })
}
