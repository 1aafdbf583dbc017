//! Single-layer projectors: the paper's linear ablation and R2GenGPT's visual tokens.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::ProjectorError;

fn check_positive(field: &'static str, value: usize) -> crate::Result<()> {
    if value == 0 {
        return Err(ProjectorError::Config {
            field,
            value: value.to_string(),
            reason: "must be positive",
        });
    }
    Ok(())
}

/// Configuration of [`LinearMapper`].
#[derive(Config, Debug, PartialEq)]
pub struct LinearMapperConfig {
    /// Input width.
    pub d_input: usize,
    /// LLM embedding width `D`.
    pub d_model: usize,
    /// Number of prefix tokens.
    #[config(default = 10)]
    pub prefix_len: usize,
}

/// `Linear(in → prefix_len × D)` reshaped to `prefix_len` tokens (ClipCap's MLP-free ablation).
#[derive(Module, Debug)]
pub struct LinearMapper<B: Backend> {
    /// The projection.
    pub linear: Linear<B>,
    prefix_len: usize,
}

impl LinearMapperConfig {
    /// Exact trainable-parameter count.
    pub fn num_params(&self) -> usize {
        (self.d_input + 1) * self.prefix_len * self.d_model
    }

    /// Builds the mapper.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<LinearMapper<B>> {
        check_positive("d_input", self.d_input)?;
        check_positive("d_model", self.d_model)?;
        check_positive("prefix_len", self.prefix_len)?;
        Ok(LinearMapper {
            linear: LinearConfig::new(self.d_input, self.prefix_len * self.d_model).init(device),
            prefix_len: self.prefix_len,
        })
    }
}

impl<B: Backend> LinearMapper<B> {
    /// Number of prefix tokens.
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// # Shapes
    /// - input: `[batch, d_input]` → `[batch, prefix_len, D]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, _] = input.dims();
        let out = self.linear.forward(input);
        let d = out.dims()[1] / self.prefix_len;
        out.reshape([batch, self.prefix_len, d])
    }
}

/// Configuration of [`VisualTokenProjector`] (R2GenGPT's `llama_proj` + `layer_norm`).
#[derive(Config, Debug, PartialEq)]
pub struct VisualTokenConfig {
    /// Input width.
    pub d_input: usize,
    /// LLM embedding width `D`.
    pub d_model: usize,
    /// Number of visual tokens. R2GenGPT projects each visual feature token; a single
    /// global CT latent gives one token.
    #[config(default = 1)]
    pub num_tokens: usize,
}

/// `LayerNorm(Linear(x))` per visual token, as R2GenGPT does before its prompt wrapper.
#[derive(Module, Debug)]
pub struct VisualTokenProjector<B: Backend> {
    /// `llama_proj`: input → `num_tokens × D`.
    pub proj: Linear<B>,
    /// `layer_norm` over `D`.
    pub norm: LayerNorm<B>,
    num_tokens: usize,
}

impl VisualTokenConfig {
    /// Exact trainable-parameter count.
    pub fn num_params(&self) -> usize {
        (self.d_input + 1) * self.num_tokens * self.d_model + 2 * self.d_model
    }

    /// Builds the projector.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<VisualTokenProjector<B>> {
        check_positive("d_input", self.d_input)?;
        check_positive("d_model", self.d_model)?;
        check_positive("num_tokens", self.num_tokens)?;
        Ok(VisualTokenProjector {
            proj: LinearConfig::new(self.d_input, self.num_tokens * self.d_model).init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
            num_tokens: self.num_tokens,
        })
    }
}

impl<B: Backend> VisualTokenProjector<B> {
    /// Number of visual tokens.
    pub fn num_tokens(&self) -> usize {
        self.num_tokens
    }

    /// # Shapes
    /// - input: `[batch, d_input]` → `[batch, num_tokens, D]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, _] = input.dims();
        let out = self.proj.forward(input);
        let d = out.dims()[1] / self.num_tokens;
        self.norm.forward(out.reshape([batch, self.num_tokens, d]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Distribution, Tolerance};

    type B = Flex;

    #[test]
    fn linear_mapper_counts_and_shapes() {
        let cfg = LinearMapperConfig::new(512, 2048);
        assert_eq!(cfg.num_params(), 513 * 20_480);
        let small = LinearMapperConfig::new(6, 8).with_prefix_len(3);
        let m = small.init::<B>(&Default::default()).unwrap();
        assert_eq!(m.num_params(), small.num_params());
        let x = Tensor::<B, 2>::random([2, 6], Distribution::Default, &Default::default());
        let y = m.forward(x.clone());
        assert_eq!(y.dims(), [2, 3, 8]);
        // Token t is output columns t·D … (t+1)·D of the linear layer.
        let flat = m.linear.forward(x).slice([0..2, 8..16]);
        y.slice([0..2, 1..2, 0..8])
            .reshape([2, 8])
            .into_data()
            .assert_approx_eq::<f32>(&flat.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn visual_tokens_are_layer_normalised() {
        let cfg = VisualTokenConfig::new(5, 16).with_num_tokens(2);
        let m = cfg.init::<B>(&Default::default()).unwrap();
        assert_eq!(m.num_params(), cfg.num_params());
        let x = Tensor::<B, 2>::random([3, 5], Distribution::Normal(2.0, 3.0), &Default::default());
        let y = m.forward(x);
        assert_eq!(y.dims(), [3, 2, 16]);
        let mean = y.clone().mean_dim(2).abs().max().into_scalar();
        let var = y.var_bias(2).mean().into_scalar();
        assert!(mean < 1e-5, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-3, "var {var}");
        assert!(
            VisualTokenConfig::new(5, 16)
                .with_num_tokens(0)
                .init::<B>(&Default::default())
                .is_err()
        );
    }
}
