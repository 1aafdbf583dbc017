//! The linear-probe anomaly head of CT-CLIP: `Linear(latent → labels)` over `ReLU(latent)`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;

/// Configuration of [`AnomalyClassifier`].
#[derive(Config, Debug)]
pub struct AnomalyClassifierConfig {
    /// Width of the image latent (512 for CT-CLIP).
    #[config(default = 512)]
    pub d_latent: usize,
    /// Number of labels (18 for CT-RATE).
    pub n_labels: usize,
    /// Dropout applied to `ReLU(latent)` during training (0.3 in CT-CLIP's linear probe).
    #[config(default = 0.3)]
    pub dropout: f64,
}

/// Multi-label head: `logits = W · dropout(ReLU(latent)) + b`.
///
/// Dropout is active only on autodiff backends with training enabled; inference is
/// deterministic.
#[derive(Module, Debug)]
pub struct AnomalyClassifier<B: Backend> {
    /// The linear layer (`classifier` in CT-CLIP's `ImageLatentsClassifier`).
    pub linear: Linear<B>,
    /// Dropout before the linear layer.
    pub dropout: Dropout,
}

impl AnomalyClassifierConfig {
    /// CT-RATE's 18-label head over 512-d CT-CLIP latents.
    pub fn ct_rate() -> Self {
        Self::new(18)
    }

    /// Builds a randomly initialised head.
    pub fn init<B: Backend>(&self, device: &B::Device) -> AnomalyClassifier<B> {
        AnomalyClassifier {
            linear: LinearConfig::new(self.d_latent, self.n_labels).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl<B: Backend> AnomalyClassifier<B> {
    /// Logits (kept soft: the projector consumes these, not thresholded labels).
    ///
    /// # Shapes
    /// - `latent`: `[batch, d_latent]` → `[batch, n_labels]`
    pub fn forward(&self, latent: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear.forward(self.dropout.forward(relu(latent)))
    }

    /// Per-label probabilities `sigmoid(logits)`.
    pub fn probabilities(&self, latent: Tensor<B, 2>) -> Tensor<B, 2> {
        sigmoid(self.forward(latent))
    }

    /// Logits with the ReLU features shifted by `center` before the linear layer:
    /// `W · (dropout(ReLU(latent)) - center) + b`.
    ///
    /// This is the same function as [`Self::forward`] once the bias is moved by
    /// [`Self::shift_bias`]; training uses it because centred features keep the bias and the
    /// weights decoupled (see `train.rs`).
    ///
    /// # Shapes
    /// - `latent`: `[batch, d_latent]`, `center`: `[1, d_latent]` → `[batch, n_labels]`
    pub(crate) fn forward_centered(
        &self,
        latent: Tensor<B, 2>,
        center: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        self.linear
            .forward(self.dropout.forward(relu(latent)) - center)
    }

    /// Adds `sign · center · W` to the bias (creating a zero bias if there is none), keeping
    /// the parameter's id so an optimiser's state stays attached.
    ///
    /// `head.shift_bias(m, 1.0).forward_centered(x, m)` equals `head.forward(x)`, and
    /// `shift_bias(m, -1.0)` undoes it.
    pub(crate) fn shift_bias(mut self, center: Tensor<B, 2>, sign: f64) -> Self {
        let n = self.n_labels();
        let shift = center
            .matmul(self.linear.weight.val().set_require_grad(false))
            .reshape([n])
            * sign;
        self.linear.bias = Some(match self.linear.bias.take() {
            Some(bias) => bias.map(|b| (b.set_require_grad(false) + shift).require_grad()),
            None => Param::from_tensor(shift),
        });
        self
    }

    /// Number of labels.
    pub fn n_labels(&self) -> usize {
        self.linear.weight.lazy_shape().as_slice()[1]
    }

    /// Width of the latent input.
    pub fn d_latent(&self) -> usize {
        self.linear.weight.lazy_shape().as_slice()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn relu_then_linear() {
        let device = Default::default();
        let mut head = AnomalyClassifierConfig::new(2)
            .with_d_latent(3)
            .init::<Flex>(&device);
        // burn stores [in, out].
        head.linear.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 0.0, 2.0, 1.0, -1.0, 3.0], [3, 2]),
            &device,
        ));
        head.linear.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.5f32, -0.5], [2]),
            &device,
        )));
        let latent =
            Tensor::<Flex, 2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), &device);
        // ReLU → [1, 0, 0.5]; logits = [1 - 0.5 + 0.5, 0 + 1.5 - 0.5] = [1, 1].
        let logits = head.forward(latent).into_data().to_vec::<f32>().unwrap();
        assert_eq!(logits, vec![1.0, 1.0]);
        assert_eq!(head.n_labels(), 2);
        assert_eq!(head.d_latent(), 3);

        // Centred coordinates: b' = b + m·W with m = [1, 2, 0] and W rows [1, 0], [2, 1],
        // [-1, 3] → m·W = [5, 2], b' = [5.5, 1.5]; the function is unchanged.
        let center =
            Tensor::<Flex, 2>::from_data(TensorData::new(vec![1.0f32, 2.0, 0.0], [1, 3]), &device);
        let shifted = head.shift_bias(center.clone(), 1.0);
        let bias = shifted.linear.bias.as_ref().unwrap().val().into_data();
        assert_eq!(bias.to_vec::<f32>().unwrap(), vec![5.5, 1.5]);
        let latent =
            Tensor::<Flex, 2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), &device);
        let centred = shifted.forward_centered(latent.clone(), center.clone());
        assert_eq!(centred.into_data().to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
        let back = shifted.shift_bias(center, -1.0);
        assert_eq!(
            back.forward(latent).into_data().to_vec::<f32>().unwrap(),
            vec![1.0, 1.0]
        );
    }
}
