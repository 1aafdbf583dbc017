//! The training loop: Adam (or AdamW, with weight decay) over whatever parameters require gradients, seeded order,
//! gradient accumulation and clipping, validation per epoch, atomic resumable checkpoints.

use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::{AdamConfig, AdamWConfig, GradientsAccumulator, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use serde::{Deserialize, Serialize};

use crate::batch::{EncodedExample, TokenBatch, epoch_order};
use crate::checkpoint::{remove_stale_temporaries, resolve, verify, write_atomic};
use crate::error::{Result, TrainError, io_err};
use crate::model::TrainModel;
use crate::observer::{EpochMetrics, StepMetrics, TrainObserver};
use crate::schedule::LrSchedule;

/// Options of a training run (defaults: the paper's Adam, lr 2e-5, 10 epochs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warmup steps (0: none).
    pub warmup_steps: usize,
    /// Decay the rate linearly to 0 over the run after warmup.
    pub linear_decay: bool,
    /// Batches whose gradients are averaged per optimizer step.
    pub grad_accum: usize,
    /// Clip the global L2 norm of all gradients to this value.
    pub grad_clip: Option<f32>,
    /// Seed of the data order.
    pub seed: u64,
    /// Also checkpoint every this many optimizer steps (epoch ends always checkpoint).
    pub checkpoint_every: Option<usize>,
    /// Stop after this many optimizer steps *without* writing a checkpoint, exactly as
    /// if the process were killed there (for testing resumption).
    pub interrupt_after_steps: Option<usize>,
    /// Continue from `RUN_DIR/checkpoints/last` if it exists.
    pub resume: bool,
    /// Id used to pad batches (masked out of the loss).
    pub pad_id: u32,
    /// Adam β₁.
    pub beta_1: f32,
    /// Adam β₂.
    pub beta_2: f32,
    /// Adam ε (PyTorch's default 1e-8).
    pub epsilon: f32,
    /// Decoupled weight decay: `Some` trains with AdamW (the fine-tuned decoder's
    /// optimizer), `None` with Adam (the paper's).
    #[serde(default)]
    pub weight_decay: Option<f32>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 8,
            lr: 2e-5,
            warmup_steps: 0,
            linear_decay: false,
            grad_accum: 1,
            grad_clip: None,
            seed: 42,
            checkpoint_every: None,
            interrupt_after_steps: None,
            resume: false,
            pad_id: 0,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: None,
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<()> {
        let bad = |field, value: String, reason| {
            Err(TrainError::Config {
                field,
                value,
                reason,
            })
        };
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be positive");
        }
        if self.grad_accum == 0 {
            return bad("grad_accum", "0".into(), "must be positive");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr.to_string(), "must be a positive number");
        }
        if let Some(c) = self.grad_clip
            && (c.is_nan() || c <= 0.0)
        {
            return bad("grad_clip", c.to_string(), "must be positive");
        }
        if let Some(w) = self.weight_decay
            && !(w >= 0.0 && w.is_finite())
        {
            return bad("weight_decay", w.to_string(), "must be a number ≥ 0");
        }
        Ok(())
    }

    /// Optimizer steps per epoch for `n` training examples.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size).div_ceil(self.grad_accum)
    }
}

/// Progress saved with each checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Current epoch (0-based); equals `epochs` when training is complete.
    pub epoch: usize,
    /// Batches of the current epoch already consumed.
    pub batches_done: usize,
    /// Optimizer steps taken.
    pub step: usize,
    /// Sum and count of batch losses so far in the current epoch.
    pub epoch_loss_sum: f64,
    /// Number of batches in `epoch_loss_sum`.
    pub epoch_loss_count: usize,
    /// Best validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Validation loss after each finished epoch.
    pub val_losses: Vec<f64>,
    /// Length of `metrics.jsonl` when the checkpoint was written.
    pub metrics_len: u64,
}

/// How a run ended.
#[derive(Debug)]
pub struct TrainOutcome<M> {
    /// The trained model (last state).
    pub model: M,
    /// Final progress.
    pub state: TrainState,
    /// Whether the run stopped early because of `interrupt_after_steps`.
    pub interrupted: bool,
    /// The step it resumed from, if it resumed.
    pub resumed_from_step: Option<usize>,
}

/// Paths inside a run folder.
#[derive(Debug, Clone)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    /// The last checkpoint.
    pub fn last(&self) -> PathBuf {
        self.0.join("checkpoints").join("last")
    }
    /// The best-validation checkpoint.
    pub fn best(&self) -> PathBuf {
        self.0.join("checkpoints").join("best")
    }
    /// Per-step and per-epoch metrics, one JSON object per line.
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.jsonl")
    }
    /// The loss-curve image.
    pub fn loss_svg(&self) -> PathBuf {
        self.0.join("loss.svg")
    }
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

/// Sum of squared gradient entries over the module's parameters.
struct GradNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    sum: f64,
    _b: PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            self.sum += g.powi_scalar(2).sum().into_scalar().elem::<f64>();
        }
    }
}

struct GradScale<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    factor: f32,
    _b: PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradScale<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads
                .register::<B::InnerBackend, D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `max` (PyTorch's
/// `clip_grad_norm_`; burn's own clipping is per tensor). Returns the norm before clipping.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    grads: &mut GradientsParams,
    max: f32,
) -> f64 {
    let mut v = GradNorm::<B> {
        grads,
        sum: 0.0,
        _b: PhantomData,
    };
    model.visit(&mut v);
    let norm = v.sum.sqrt();
    if norm > max as f64 {
        let factor = (max as f64 / (norm + 1e-6)) as f32;
        model.visit(&mut GradScale::<B> {
            grads,
            factor,
            _b: PhantomData,
        });
    }
    norm
}

/// Token-weighted mean loss over `examples` (fixed order, no parameter update).
pub fn evaluate<B: AutodiffBackend, M: TrainModel<B>>(
    model: &M,
    examples: &[EncodedExample],
    batch_size: usize,
    pad_id: u32,
    device: &B::Device,
) -> Option<f64> {
    if examples.is_empty() {
        return None;
    }
    let mut sum = 0.0;
    let mut tokens = 0usize;
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&EncodedExample> = chunk.iter().collect();
        let batch = TokenBatch::<B>::from_examples(&refs, pad_id, device);
        let loss = model.eval_loss(&batch);
        sum += loss * batch.num_tokens as f64;
        tokens += batch.num_tokens;
    }
    Some(sum / tokens.max(1) as f64)
}

struct Metrics {
    path: PathBuf,
}

impl Metrics {
    fn open(path: PathBuf, keep_len: Option<u64>) -> Result<Self> {
        if let Some(len) = keep_len {
            // Lines written after the checkpoint we resume from describe steps that will be
            // redone: drop them. A file shorter than the checkpoint recorded lost its tail:
            // it is cut back to its last complete line, never padded (extending it would
            // fill the gap with NUL bytes).
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
            {
                let found = f.metadata().map_err(io_err(&path))?.len();
                let keep = if found >= len {
                    len
                } else {
                    let text = std::fs::read(&path).map_err(io_err(&path))?;
                    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    tracing::warn!(
                        path = %path.display(),
                        "metrics file shorter than its checkpoint recorded ({found} of {len} bytes): \
                         the lost lines stay lost"
                    );
                    complete as u64
                };
                f.set_len(keep).map_err(io_err(&path))?;
            }
        } else if path.exists() {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
        Ok(Self { path })
    }

    fn write(&self, value: serde_json::Value) -> Result<u64> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        writeln!(f, "{value}").map_err(io_err(&self.path))?;
        f.metadata().map(|m| m.len()).map_err(io_err(&self.path))
    }

    fn len(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

fn save_checkpoint<B: AutodiffBackend, M: TrainModel<B>, O: Optimizer<M, B>>(
    dest: &Path,
    model: &M,
    optim: &O,
    state: &TrainState,
    config: &TrainConfig,
) -> Result<()> {
    write_atomic(dest, |tmp| {
        model.save_trainable(tmp)?;
        let stem = tmp.join("optimizer");
        recorder()
            .record(optim.to_record(), stem.clone())
            .map_err(|e| TrainError::Checkpoint {
                path: stem,
                reason: e.to_string(),
            })?;
        let js = |p: PathBuf, v: String| std::fs::write(&p, v).map_err(io_err(p));
        js(
            tmp.join("state.json"),
            serde_json::to_string_pretty(state).expect("plain struct"),
        )?;
        js(
            tmp.join("train_config.json"),
            serde_json::to_string_pretty(config).expect("plain struct"),
        )
    })
}

/// Reads and verifies a checkpoint's progress record.
pub fn read_state(dir: &Path) -> Result<TrainState> {
    let p = dir.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(io_err(&p))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
        path: p,
        reason: e.to_string(),
    })
}

/// The verified checkpoint a resumed run continues from: `last/`, or `best/` when `last/`
/// is missing or damaged. A run asked to resume never silently starts over: with neither
/// it is an error naming what was found.
fn resume_point(run: &RunDir) -> Result<PathBuf> {
    let mut problems = Vec::new();
    for candidate in [run.last(), run.best()] {
        match resolve(&candidate) {
            Some(dir) => match verify(&dir) {
                Ok(_) => {
                    if !problems.is_empty() {
                        tracing::warn!(
                            dir = %dir.display(),
                            "resuming from the best checkpoint: {}",
                            problems.join("; ")
                        );
                    }
                    return Ok(dir);
                }
                Err(e) => problems.push(e.to_string()),
            },
            None => problems.push(format!("{}: no checkpoint", candidate.display())),
        }
    }
    Err(TrainError::Checkpoint {
        path: run.last(),
        reason: format!("nothing to resume from: {}", problems.join("; ")),
    })
}

/// Loads the trainable weights of a verified checkpoint folder into `model`.
pub fn load_weights<B: AutodiffBackend, M: TrainModel<B>>(
    model: M,
    dir: &Path,
    device: &B::Device,
) -> Result<M> {
    verify(dir)?;
    model.load_trainable(dir, device)
}

/// Trains `model` on `train`, validating on `valid` after every epoch; everything is
/// written under `run_dir` (see [`RunDir`]). Only parameters that require gradients
/// are updated and get Adam moments: freeze a sub-module with `no_grad()` beforehand.
/// With [`TrainConfig::weight_decay`] the optimizer is AdamW.
pub fn train<B: AutodiffBackend, M: TrainModel<B>>(
    model: M,
    train: &[EncodedExample],
    valid: &[EncodedExample],
    config: &TrainConfig,
    run_dir: &Path,
    observer: &mut dyn TrainObserver,
    device: &B::Device,
) -> Result<TrainOutcome<M>> {
    config.validate()?;
    let data = (train, valid);
    match config.weight_decay {
        None => {
            let optim = AdamConfig::new()
                .with_beta_1(config.beta_1)
                .with_beta_2(config.beta_2)
                .with_epsilon(config.epsilon)
                .init::<B, M>();
            train_with(model, optim, data, config, run_dir, observer, device)
        }
        Some(decay) => {
            let optim = AdamWConfig::new()
                .with_beta_1(config.beta_1)
                .with_beta_2(config.beta_2)
                .with_epsilon(config.epsilon)
                .with_weight_decay(decay)
                .init::<B, M>();
            train_with(model, optim, data, config, run_dir, observer, device)
        }
    }
}

/// [`train`] with its optimizer chosen.
fn train_with<B: AutodiffBackend, M: TrainModel<B>, O: Optimizer<M, B>>(
    mut model: M,
    mut optim: O,
    (train, valid): (&[EncodedExample], &[EncodedExample]),
    config: &TrainConfig,
    run_dir: &Path,
    observer: &mut dyn TrainObserver,
    device: &B::Device,
) -> Result<TrainOutcome<M>> {
    if train.is_empty() {
        return Err(TrainError::Data {
            what: "training set".into(),
            reason: "no examples".into(),
        });
    }
    let run = RunDir(run_dir.to_path_buf());
    std::fs::create_dir_all(run_dir).map_err(io_err(run_dir))?;
    let n_batches = train.len().div_ceil(config.batch_size);
    let total_steps = config.epochs * config.steps_per_epoch(train.len());
    let schedule = LrSchedule {
        base: config.lr,
        warmup_steps: config.warmup_steps,
        linear_decay: config.linear_decay,
        total_steps,
    };

    let mut state = TrainState::default();
    let mut resumed_from_step = None;
    let stale = remove_stale_temporaries(&run_dir.join("checkpoints"))?;
    if stale > 0 {
        tracing::info!(
            stale,
            "removed temporary folders of interrupted checkpoint writes"
        );
    }
    let existing = if config.resume {
        Some(resume_point(&run)?)
    } else {
        None
    };
    let metrics = if let Some(dir) = existing {
        state = read_state(&dir)?;
        model = model.load_trainable(&dir, device)?;
        let stem = dir.join("optimizer");
        let record = recorder()
            .load(stem.clone(), device)
            .map_err(|e| TrainError::Checkpoint {
                path: stem.with_extension("mpk"),
                reason: e.to_string(),
            })?;
        optim = optim.load_record(record);
        resumed_from_step = Some(state.step);
        tracing::info!(step = state.step, epoch = state.epoch, dir = %dir.display(), "resuming");
        Metrics::open(run.metrics(), Some(state.metrics_len))?
    } else {
        Metrics::open(run.metrics(), None)?
    };
    observer.on_start(total_steps, state.step);

    while state.epoch < config.epochs {
        let order = epoch_order(train.len(), config.seed, state.epoch);
        let batches: Vec<Vec<&EncodedExample>> = order
            .chunks(config.batch_size)
            .map(|c| c.iter().map(|&i| &train[i]).collect())
            .collect();
        while state.batches_done < n_batches {
            let start = Instant::now();
            let end = (state.batches_done + config.grad_accum).min(n_batches);
            let group = end - state.batches_done;
            let mut acc = GradientsAccumulator::<M>::new();
            let mut loss_sum = 0.0;
            let mut tokens = 0;
            for examples in &batches[state.batches_done..end] {
                let batch = TokenBatch::<B>::from_examples(examples, config.pad_id, device);
                let loss = model.loss(&batch);
                let value: f64 = loss.clone().into_scalar().elem::<f64>();
                if !value.is_finite() {
                    return Err(TrainError::Data {
                        what: format!("step {}", state.step),
                        reason: format!("loss is {value}"),
                    });
                }
                loss_sum += value;
                tokens += batch.num_tokens;
                let grads = loss.div_scalar(group as f64).backward();
                acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
            }
            let mut grads = acc.grads();
            let grad_norm = config
                .grad_clip
                .map(|c| clip_global_norm(&model, &mut grads, c));
            let lr = schedule.at(state.step);
            model = optim.step(lr, model, grads);
            state.step += 1;
            state.batches_done = end;
            state.epoch_loss_sum += loss_sum;
            state.epoch_loss_count += group;
            let secs = start.elapsed().as_secs_f64();
            let m = StepMetrics {
                step: state.step,
                total_steps,
                epoch: state.epoch,
                loss: loss_sum / group as f64,
                lr,
                grad_norm,
                tokens,
                seconds: secs,
            };
            metrics.write(serde_json::to_value(&m).expect("plain struct"))?;
            observer.on_step(&m);
            if config.interrupt_after_steps == Some(state.step) {
                return Ok(TrainOutcome {
                    model,
                    state,
                    interrupted: true,
                    resumed_from_step,
                });
            }
            let periodic = config
                .checkpoint_every
                .is_some_and(|k| k > 0 && state.step.is_multiple_of(k));
            if periodic && state.batches_done < n_batches {
                state.metrics_len = metrics.len();
                save_checkpoint(&run.last(), &model, &optim, &state, config)?;
                observer.on_checkpoint(&run.last());
            }
        }
        let val_loss = evaluate(&model, valid, config.batch_size, config.pad_id, device);
        let train_loss = state.epoch_loss_sum / state.epoch_loss_count.max(1) as f64;
        let improved = match (val_loss, state.best_val_loss) {
            (Some(v), Some(b)) => v < b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if improved {
            state.best_val_loss = val_loss;
        }
        if let Some(v) = val_loss {
            state.val_losses.push(v);
        }
        let em = EpochMetrics {
            epoch: state.epoch,
            train_loss,
            val_loss,
            best: improved,
            step: state.step,
        };
        metrics.write(serde_json::to_value(&em).expect("plain struct"))?;
        state.epoch += 1;
        state.batches_done = 0;
        state.epoch_loss_sum = 0.0;
        state.epoch_loss_count = 0;
        state.metrics_len = metrics.len();
        if improved {
            save_checkpoint(&run.best(), &model, &optim, &state, config)?;
        }
        save_checkpoint(&run.last(), &model, &optim, &state, config)?;
        observer.on_epoch(&em);
        observer.on_checkpoint(&run.last());
    }
    if let Err(e) = crate::plot::plot_metrics(&run.metrics(), &run.loss_svg()) {
        tracing::warn!(error = %e, "could not draw the loss curve");
    }
    Ok(TrainOutcome {
        model,
        state,
        interrupted: false,
        resumed_from_step,
    })
}
