//! Encoded examples, seeded shuffling and padded batches.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_io::SplitMix64;

/// One training example ready for batching.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedExample {
    /// Volume name.
    pub name: String,
    /// Projector input (latent, or latent ⧺ logits); empty for bare-LM training.
    pub input: Vec<f32>,
    /// Report token ids, EOS last.
    pub tokens: Vec<u32>,
}

/// A padded batch on a device.
#[derive(Debug, Clone)]
pub struct TokenBatch<B: Backend> {
    /// Projector inputs `[batch, d_input]` (None for bare-LM training).
    pub inputs: Option<Tensor<B, 2>>,
    /// Token ids `[batch, T]`, right-padded with `pad_id`.
    pub tokens: Tensor<B, 2, Int>,
    /// 1 for report tokens, 0 for padding, `[batch, T]`.
    pub mask: Tensor<B, 2>,
    /// Number of real (unpadded) tokens.
    pub num_tokens: usize,
}

impl<B: Backend> TokenBatch<B> {
    /// Pads `examples` to their longest report and moves them to `device`.
    ///
    /// # Panics
    /// If `examples` is empty or inputs have different widths (the data set checks both).
    pub fn from_examples(examples: &[&EncodedExample], pad_id: u32, device: &B::Device) -> Self {
        assert!(!examples.is_empty(), "empty batch");
        let b = examples.len();
        let t = examples
            .iter()
            .map(|e| e.tokens.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut ids = vec![pad_id as i64; b * t];
        let mut mask = vec![0f32; b * t];
        let mut num_tokens = 0;
        for (i, e) in examples.iter().enumerate() {
            for (j, &tok) in e.tokens.iter().enumerate() {
                ids[i * t + j] = tok as i64;
                mask[i * t + j] = 1.0;
            }
            num_tokens += e.tokens.len();
        }
        let d = examples[0].input.len();
        let inputs = (d > 0).then(|| {
            let flat: Vec<f32> = examples
                .iter()
                .flat_map(|e| {
                    assert_eq!(e.input.len(), d, "input width of {}", e.name);
                    e.input.iter().copied()
                })
                .collect();
            Tensor::from_data(TensorData::new(flat, [b, d]), device)
        });
        Self {
            inputs,
            tokens: Tensor::from_data(TensorData::new(ids, [b, t]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, t]), device),
            num_tokens,
        }
    }
}

impl<B: AutodiffBackend> TokenBatch<B> {
    /// The same batch outside the autodiff graph (for gradient-free evaluation).
    pub fn inner(&self) -> TokenBatch<B::InnerBackend> {
        TokenBatch {
            inputs: self.inputs.clone().map(Tensor::inner),
            tokens: self.tokens.clone().inner(),
            mask: self.mask.clone().inner(),
            num_tokens: self.num_tokens,
        }
    }
}

/// The order of examples in `epoch`: a Fisher–Yates shuffle seeded by `(seed, epoch)`
/// alone, so any epoch's order can be recomputed when resuming.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed ^ (epoch as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn shuffles_are_seeded_permutations() {
        let a = epoch_order(50, 7, 0);
        assert_eq!(a, epoch_order(50, 7, 0));
        assert_ne!(a, epoch_order(50, 7, 1));
        assert_ne!(a, epoch_order(50, 8, 0));
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn batches_pad_and_mask() {
        let e1 = EncodedExample {
            name: "a".into(),
            input: vec![1.0, 2.0],
            tokens: vec![5, 6, 2],
        };
        let e2 = EncodedExample {
            name: "b".into(),
            input: vec![3.0, 4.0],
            tokens: vec![7, 2],
        };
        let b = TokenBatch::<Flex>::from_examples(&[&e1, &e2], 0, &Default::default());
        assert_eq!(b.num_tokens, 5);
        assert_eq!(
            b.tokens.to_data().convert::<i64>().to_vec::<i64>().unwrap(),
            vec![5, 6, 2, 7, 2, 0]
        );
        assert_eq!(
            b.mask.to_data().to_vec::<f32>().unwrap(),
            vec![1., 1., 1., 1., 1., 0.]
        );
        assert_eq!(b.inputs.unwrap().dims(), [2, 2]);
    }
}
