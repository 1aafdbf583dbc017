//! A tiny GPT-style causal LM (token embeddings + sinusoidal positions, pre-LN transformer
//! blocks with a causal mask, untied head) for the training tests: small enough to
//! pre-train on synthetic reports in seconds.
#![allow(dead_code)]

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{
    Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    PositionalEncoding, PositionalEncodingConfig,
};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rad3d_train::{LmBackbone, OutputHead};

#[derive(Config, Debug)]
pub struct TinyLmConfig {
    pub vocab: usize,
    #[config(default = 64)]
    pub d_model: usize,
    #[config(default = 2)]
    pub layers: usize,
    #[config(default = 4)]
    pub heads: usize,
    #[config(default = 128)]
    pub max_len: usize,
}

#[derive(Module, Debug)]
pub struct TinyLm<B: Backend> {
    pub tok: Embedding<B>,
    pub pos: PositionalEncoding<B>,
    pub blocks: TransformerEncoder<B>,
    pub norm: LayerNorm<B>,
    pub head: Linear<B>,
}

impl TinyLmConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> TinyLm<B> {
        let lm = TinyLm {
            tok: EmbeddingConfig::new(self.vocab, self.d_model).init(device),
            // Fixed sinusoids generalise to positions a prefix shifts the report to.
            pos: PositionalEncodingConfig::new(self.d_model)
                .with_max_sequence_size(self.max_len)
                .init(device),
            blocks: TransformerEncoderConfig::new(
                self.d_model,
                4 * self.d_model,
                self.heads,
                self.layers,
            )
            .with_dropout(0.0)
            .with_norm_first(true)
            .init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: LinearConfig::new(self.d_model, self.vocab).init(device),
        };
        // Fix the weights now, from the generator state the caller seeded.
        rad3d_train::materialize(&lm);
        lm
    }
}

impl<B: Backend> LmBackbone<B> for TinyLm<B> {
    fn d_model(&self) -> usize {
        self.tok.weight.dims()[1]
    }

    fn vocab_size(&self) -> usize {
        self.tok.weight.dims()[0]
    }

    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.tok.forward(ids)
    }

    fn hidden(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, t, _] = embeddings.dims();
        let device = embeddings.device();
        let x = self.pos.forward(embeddings);
        let mask = generate_autoregressive_mask::<B>(b, t, &device);
        let h = self
            .blocks
            .forward(TransformerEncoderInput::new(x).mask_attn(mask));
        self.norm.forward(h)
    }

    fn output_head(&self) -> OutputHead<B> {
        OutputHead {
            weight: self.head.weight.val(),
            bias: self.head.bias.as_ref().map(|b| b.val()),
        }
    }
}
