//! Cosine-similarity vector quantiser (vector-quantize-pytorch 1.1.2, eval mode).

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::attention::l2_normalize;

/// Rows of the similarity matrix computed at once; bounds the `[rows, codebook]` scratch
/// (4096 × 8192 floats = 128 MiB at CT-CLIP size).
const CHUNK_ROWS: usize = 4096;

/// Snaps each token to the codebook row of highest cosine similarity and returns the
/// *raw* stored row (not its normalised version), as the reference does.
#[derive(Module, Debug)]
pub struct VectorQuantizer<B: Backend> {
    /// Codebook `[codebook_size, dim]` (`vq._codebook.embed` without its leading 1).
    pub codebook: Param<Tensor<B, 2>>,
}

impl<B: Backend> VectorQuantizer<B> {
    /// Builds a random codebook.
    pub fn init(codebook_size: usize, dim: usize, device: &B::Device) -> Self {
        let rows = Tensor::random(
            [codebook_size, dim],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        Self {
            codebook: Param::from_tensor(l2_normalize(rows)),
        }
    }

    /// Quantises a batch of tokens.
    ///
    /// # Shapes
    /// - `tokens`: `[m, dim]`
    /// - output: (`[m, dim]` codebook rows, `[m]` indices)
    pub fn forward(&self, tokens: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
        let [m, _] = tokens.dims();
        let codebook = self.codebook.val();
        let normalized_t = l2_normalize(codebook.clone()).transpose();
        let tokens = l2_normalize(tokens);
        let mut indices = Vec::with_capacity(m.div_ceil(CHUNK_ROWS));
        let mut start = 0;
        while start < m {
            let end = (start + CHUNK_ROWS).min(m);
            let sim = tokens
                .clone()
                .narrow(0, start, end - start)
                .matmul(normalized_t.clone());
            indices.push(sim.argmax(1).squeeze_dim::<1>(1));
            start = end;
        }
        let indices = Tensor::cat(indices, 0);
        (codebook.select(0, indices.clone()), indices)
    }
}
