//! Progress reporting: the loop calls an observer; libraries never print.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One optimizer step (also one line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Steps taken, this one included.
    pub step: usize,
    /// Steps of the whole run.
    pub total_steps: usize,
    /// Epoch (0-based).
    pub epoch: usize,
    /// Mean loss of the step's batches.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping (when clipping is on).
    pub grad_norm: Option<f64>,
    /// Report tokens in the step.
    pub tokens: usize,
    /// Wall time of the step.
    pub seconds: f64,
}

/// End of an epoch (also one line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Mean training loss of the epoch's batches.
    pub train_loss: f64,
    /// Token-weighted validation loss.
    pub val_loss: Option<f64>,
    /// Whether this is the best validation loss so far.
    pub best: bool,
    /// Optimizer steps taken.
    pub step: usize,
}

/// Receives progress events; every method has a no-op default.
pub trait TrainObserver {
    /// Training starts (or resumes at `step`).
    fn on_start(&mut self, _total_steps: usize, _step: usize) {}
    /// An optimizer step finished.
    fn on_step(&mut self, _m: &StepMetrics) {}
    /// An epoch finished.
    fn on_epoch(&mut self, _m: &EpochMetrics) {}
    /// A checkpoint was written.
    fn on_checkpoint(&mut self, _dir: &Path) {}
}

/// Ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl TrainObserver for Silent {}

/// Collects events in memory (for tests and notebooks).
#[derive(Debug, Default, Clone)]
pub struct Recording {
    /// Steps seen.
    pub steps: Vec<StepMetrics>,
    /// Epochs seen.
    pub epochs: Vec<EpochMetrics>,
}

impl TrainObserver for Recording {
    fn on_step(&mut self, m: &StepMetrics) {
        self.steps.push(m.clone());
    }
    fn on_epoch(&mut self, m: &EpochMetrics) {
        self.epochs.push(m.clone());
    }
}
