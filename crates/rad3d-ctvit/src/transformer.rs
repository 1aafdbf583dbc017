//! CTViT's transformer stack (used both spatially and temporally).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::attention::Attention;
use crate::feedforward::FeedForward;
use crate::peg::Peg;

/// One layer: `x += PEG(x); x += Attention(x); x += FeedForward(x)`.
#[derive(Module, Debug)]
pub struct TransformerLayer<B: Backend> {
    /// Position-generating convolution (checkpoint index 0).
    pub peg: Peg<B>,
    /// Self-attention (index 1; index 2, cross-attention, is empty in CTViT).
    pub attn: Attention<B>,
    /// Feed-forward (index 3).
    pub ff: FeedForward<B>,
}

/// A stack of [`TransformerLayer`]s followed by a bias-less LayerNorm (`norm_out`).
#[derive(Module, Debug)]
pub struct Transformer<B: Backend> {
    /// The layers.
    pub layers: Vec<TransformerLayer<B>>,
    /// Final norm; its beta is a zero buffer in real checkpoints but is loaded as stored.
    pub norm_out: LayerNorm<B>,
}

/// Sizes of one transformer stack.
#[derive(Debug, Clone, Copy)]
pub struct TransformerDims {
    /// Token width.
    pub dim: usize,
    /// Number of layers.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head.
    pub dim_head: usize,
    /// GEGLU half width.
    pub ff_inner: usize,
}

impl<B: Backend> Transformer<B> {
    /// Builds a randomly initialised stack.
    pub fn init(dims: TransformerDims, device: &B::Device) -> Self {
        let layers = (0..dims.depth)
            .map(|_| TransformerLayer {
                peg: Peg::init(dims.dim, device),
                attn: Attention::init(dims.dim, dims.heads, dims.dim_head, device),
                ff: FeedForward::init(dims.dim, dims.ff_inner, device),
            })
            .collect();
        Self {
            layers,
            norm_out: LayerNormConfig::new(dims.dim).init(device),
        }
    }

    /// Runs the stack over a token buffer.
    ///
    /// # Shapes
    /// - `x`: `[n, seq, dim]`; `grid` `[b, t, h, w]` tells the PEG how to view the buffer
    /// - `bias`: optional `[1, heads, seq, seq]` attention bias shared by every layer
    /// - output: `[n, seq, dim]`
    pub fn forward(
        &self,
        mut x: Tensor<B, 3>,
        grid: [usize; 4],
        bias: Option<Tensor<B, 4>>,
    ) -> Tensor<B, 3> {
        for layer in &self.layers {
            x = layer.peg.forward(x.clone(), grid) + x;
            x = layer.attn.forward(x.clone(), bias.clone()) + x;
            x = layer.ff.forward(x.clone()) + x;
        }
        self.norm_out.forward(x)
    }
}
