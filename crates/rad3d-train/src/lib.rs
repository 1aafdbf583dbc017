//! Datasets, training loops, checkpoints and report generation for RAD3D-Prefix.
//!
//! - [`Manifest`]: CT-RATE / INSPECT report and label tables joined by volume name,
//!   with skip counts instead of silent misalignment; [`encode_examples`] joins them
//!   with cached embeddings for a [`Variant`](rad3d_projector::Variant).
//! - [`TrainModel`]: what the loop optimises — `rad3d-model`'s `PrefixModel` for every
//!   variant (frozen LLMs get no gradients and no optimizer state) or [`TextLm`], a bare
//!   LM trained with the same loop; [`report_nll`] and its fused / frozen-LLM forms.
//! - [`train`]: Adam (AdamW with weight decay) with warmup/decay, accumulation, global-norm clipping, seeded
//!   order, validation per epoch, atomic verified checkpoints, exact resumption,
//!   `metrics.jsonl` and a loss-curve PNG.
//! - [`generate_reports`]: reports for a split (each variant's decoding) → CSV / JSONL.
//! - [`sweep`]: prefix-length × depth grids with trainable-parameter counts, and the chart
//!   of a scored grid ([`write_sweep_svg`]).
//!
//! ```no_run
//! use std::collections::HashMap;
//! use std::path::Path;
//! use burn::backend::{Autodiff, Flex};
//! use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer, load_llm};
//! use rad3d_projector::Variant;
//! use rad3d_train::*;
//!
//! type B = Autodiff<Flex>;
//! let device = Default::default();
//! let labels: Vec<String> = vec!["Cardiomegaly".into(), "Emphysema".into()];
//! let manifest = Manifest::ct_rate(
//!     Path::new("train_reports.csv"), Some(Path::new("labels.csv")), &labels, Split::Train)?;
//! let cache: HashMap<String, Embedding> = HashMap::new(); // or a CT-CLIP embedding cache
//! let (llm, tok) = load_llm::<B>(Path::new("SmolLM2-135M-Instruct.Q4_1.gguf"), &device)?;
//! let d_model = rad3d_llm::CausalLm::hidden_size(&llm);
//! let mut skipped = manifest.skipped.clone();
//! let variant = Variant::V3;
//! let train_set = encode_examples(&manifest.split(Split::Train), &cache, variant, &tok, 300, &mut skipped)?;
//! let valid_set = encode_examples(&manifest.split(Split::Valid), &cache, variant, &tok, 300, &mut skipped)?;
//! let projector = variant.projector_config(512, labels.len(), d_model, 10, 8);
//! let model = PrefixModel::new(variant, &projector, llm, PromptIds::default(), &device)?;
//! let config = TrainConfig { pad_id: tok.eos_id(), ..TrainConfig::default() };
//! let outcome = train(model, &train_set, &valid_set, &config, Path::new("runs/v3"), &mut Silent, &device)?;
//! # Ok::<(), TrainError>(())
//! ```

pub mod allocator;
mod batch;
pub mod checkpoint;
mod dataset;
mod encode;
mod error;
mod generate;
mod inspect;
mod model;
mod nll;
mod observer;
mod plot;
mod schedule;
mod sweep;
pub mod synthetic;
mod trainer;

pub use allocator::keep_freed_memory;
pub use batch::{EncodedExample, TokenBatch, epoch_order};
pub use dataset::{
    Example, LabelTable, Manifest, SkipCounts, Split, normalize_volume_name, read_csv_header,
    read_labels, read_reports, read_split_file,
};
pub use encode::{Embedding, EmbeddingLookup, encode_examples};
pub use error::{Result, TrainError};
pub use generate::{GeneratedReport, generate_reports, write_reports_csv, write_reports_jsonl};
pub use inspect::{INSPECT_ID, INSPECT_TEXT, InspectSplit, write_inspect_splits};
pub use model::{TextLm, TrainModel, prefix_loss};
pub use nll::{report_nll, report_nll_frozen, report_nll_fused};
pub use observer::{EpochMetrics, Recording, Silent, StepMetrics, TrainObserver};
pub use plot::{draw_loss_svg, plot_metrics};
pub use rad3d_io::SplitMix64;
pub use schedule::LrSchedule;
pub use sweep::{PAPER_DEPTHS, PAPER_PREFIX_LENS, SweepPoint, SweepResult, sweep, write_sweep_svg};
pub use trainer::{
    RunDir, TrainConfig, TrainOutcome, TrainState, clip_global_norm, evaluate, load_weights,
    read_state, train,
};
