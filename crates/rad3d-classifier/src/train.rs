//! Training the anomaly head from cached latents: class-weighted BCE, Adam, early stopping
//! on validation macro AUROC.

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

use crate::error::ClassifierError;

/// Local alias: burn's `Config` derive refers to `Result` unqualified.
type ClResult<T> = crate::error::Result<T>;
use crate::head::{AnomalyClassifier, AnomalyClassifierConfig};
use crate::labels::LabelSet;
use crate::loss::{positive_weights, weighted_bce_with_logits};
use crate::metrics::{Evaluation, evaluate};

/// Latents with their 0/1 labels, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentDataset {
    /// `[n, d_latent]` values.
    pub latents: Vec<f32>,
    /// `[n, n_labels]` 0/1 values.
    pub labels: Vec<f32>,
    /// Latent width.
    pub d_latent: usize,
    /// Number of labels.
    pub n_labels: usize,
}

impl LatentDataset {
    /// Checks that both matrices have the same number of rows.
    pub fn new(
        latents: Vec<f32>,
        labels: Vec<f32>,
        d_latent: usize,
        n_labels: usize,
    ) -> ClResult<Self> {
        let ok = d_latent > 0
            && n_labels > 0
            && latents.len().is_multiple_of(d_latent)
            && labels.len().is_multiple_of(n_labels)
            && latents.len() / d_latent == labels.len() / n_labels
            && !latents.is_empty();
        if !ok {
            return Err(ClassifierError::Data(format!(
                "{} latent values (width {d_latent}) and {} label values ({n_labels} labels) do not pair up",
                latents.len(),
                labels.len()
            )));
        }
        Ok(Self {
            latents,
            labels,
            d_latent,
            n_labels,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.latents.len() / self.d_latent
    }

    /// Whether there are no samples (never true for a constructed dataset).
    pub fn is_empty(&self) -> bool {
        self.latents.is_empty()
    }

    fn rows<B: Backend>(&self, idx: &[usize], device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (d, c) = (self.d_latent, self.n_labels);
        let mut x = Vec::with_capacity(idx.len() * d);
        let mut y = Vec::with_capacity(idx.len() * c);
        for &i in idx {
            x.extend_from_slice(&self.latents[i * d..(i + 1) * d]);
            y.extend_from_slice(&self.labels[i * c..(i + 1) * c]);
        }
        (
            Tensor::from_data(TensorData::new(x, [idx.len(), d]), device),
            Tensor::from_data(TensorData::new(y, [idx.len(), c]), device),
        )
    }
}

/// Optimisation settings.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Mini-batch size.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Upper bound on epochs.
    #[config(default = 200)]
    pub max_epochs: usize,
    /// Epochs without a better validation macro AUROC before stopping.
    #[config(default = 15)]
    pub patience: usize,
    /// Seed of the shuffling and of dropout.
    #[config(default = 42)]
    pub seed: u64,
}

/// One epoch of the training log.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// Epoch number (from 1).
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation macro AUROC (0 when undefined).
    pub val_macro_auroc: f64,
}

/// What [`train_classifier`] returns besides the best head.
#[derive(Debug, Clone)]
pub struct TrainingReport {
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Validation evaluation of the kept weights (threshold 0.5).
    pub best_evaluation: Evaluation,
    /// Per-epoch log.
    pub history: Vec<EpochRecord>,
}

/// Per-component mean of `ReLU(latent)` over a dataset, `[d_latent]`.
fn relu_mean(data: &LatentDataset) -> Vec<f32> {
    let mut sum = vec![0.0f64; data.d_latent];
    for row in data.latents.chunks_exact(data.d_latent) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v.max(0.0));
        }
    }
    sum.iter()
        .map(|&s| (s / data.len() as f64) as f32)
        .collect()
}

/// Probabilities of a head on a dataset, row-major `[n, n_labels]`.
pub fn predict<B: Backend>(
    head: &AnomalyClassifier<B>,
    data: &LatentDataset,
    device: &B::Device,
) -> Vec<f32> {
    let idx: Vec<usize> = (0..data.len()).collect();
    let (x, _) = data.rows::<B>(&idx, device);
    head.probabilities(x)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")
}

/// Trains a fresh head and returns the weights of the epoch with the best validation macro
/// AUROC (early stopping after `patience` epochs without improvement).
pub fn train_classifier<B: AutodiffBackend>(
    head_config: &AnomalyClassifierConfig,
    config: &TrainingConfig,
    labels: &LabelSet,
    train: &LatentDataset,
    valid: &LatentDataset,
    device: &B::Device,
) -> ClResult<(AnomalyClassifier<B::InnerBackend>, TrainingReport)> {
    for (name, data) in [("training", train), ("validation", valid)] {
        if data.d_latent != head_config.d_latent || data.n_labels != head_config.n_labels {
            return Err(ClassifierError::Data(format!(
                "{name} data is [{}, {}] but the head is {}→{}",
                data.d_latent, data.n_labels, head_config.d_latent, head_config.n_labels
            )));
        }
    }
    if labels.len() != head_config.n_labels || config.batch_size == 0 {
        return Err(ClassifierError::Data(format!(
            "{} label names for a {}-label head, batch size {}",
            labels.len(),
            head_config.n_labels,
            config.batch_size
        )));
    }
    B::seed(device, config.seed);
    let pos_weight = positive_weights(&train.labels, train.n_labels)?;
    let pos_weight =
        Tensor::<B, 1>::from_data(TensorData::new(pos_weight, [train.n_labels]), device);
    // Optimise in centred coordinates: logits = W·(dropout(ReLU(x)) - m) + b' with m the
    // training mean of ReLU(x) and b' = b + m·W, folded back for every evaluated head. It is
    // the same model (same dropout, same function), but with uncentred features (CT-CLIP
    // latents after ReLU are all ≥ 0) the plain bias has to travel ~|m·W| while Adam moves it
    // by about one learning rate per step, so for hundreds of steps the weights carry the
    // offset instead and the threshold-0.5 calibration lags far behind the ranking. Early
    // stopping on AUROC, which ignores the bias, then keeps such an uncalibrated epoch: the
    // rare labels' recall collapsed although their class weights were right.
    let center = relu_mean(train);
    let center_inner = Tensor::<B::InnerBackend, 2>::from_data(
        TensorData::new(center.clone(), [1, train.d_latent]),
        device,
    );
    let center = Tensor::<B, 2>::from_data(TensorData::new(center, [1, train.d_latent]), device);
    let mut model = head_config
        .init::<B>(device)
        .shift_bias(center.clone(), 1.0);
    let mut optim = AdamConfig::new().init::<B, AnomalyClassifier<B>>();
    let mut rng = rad3d_io::SplitMix64::new(config.seed ^ 0x5DEE_CE66);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let inner_device = device.clone();
    let evaluate_now = |m: &AnomalyClassifier<B::InnerBackend>| {
        let probs = predict(m, valid, &inner_device);
        evaluate(&probs, &valid.labels, labels, 0.5)
    };
    let mut best = (
        0usize,
        f64::NEG_INFINITY,
        model.valid().shift_bias(center_inner.clone(), -1.0),
        None,
    );
    let mut history = Vec::new();
    for epoch in 1..=config.max_epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut loss_sum = 0.0;
        let mut batches = 0;
        for chunk in order.chunks(config.batch_size) {
            let (x, y) = train.rows::<B>(chunk, device);
            let logits = model.forward_centered(x, center.clone());
            let loss = weighted_bce_with_logits(logits, y, pos_weight.clone());
            loss_sum += loss.clone().into_scalar().elem::<f64>();
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
        }
        let current = model.valid().shift_bias(center_inner.clone(), -1.0);
        let evaluation = evaluate_now(&current)?;
        let score = evaluation.macro_avg.auroc.unwrap_or(0.0);
        history.push(EpochRecord {
            epoch,
            train_loss: loss_sum / batches as f64,
            val_macro_auroc: score,
        });
        tracing::debug!(epoch, score, "classifier epoch");
        if score > best.1 {
            best = (epoch, score, current, Some(evaluation));
        } else if epoch - best.0 >= config.patience {
            break;
        }
    }
    let (best_epoch, _, head, evaluation) = best;
    let best_evaluation = match evaluation {
        Some(e) => e,
        None => evaluate_now(&head)?,
    };
    Ok((
        head,
        TrainingReport {
            best_epoch,
            best_evaluation,
            history,
        },
    ))
}
