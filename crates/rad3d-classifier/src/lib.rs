//! Multi-label anomaly classifier over CT-CLIP latents: label sets (CT-RATE's 18, a label
//! CSV's columns, or concepts kept from an entity table), label CSVs, multi-label
//! iterative stratification, weighted BCE training,
//! AUROC/F1 evaluation (scored by `rad3d-metrics`), a per-label SVG bar chart, and CT-CLIP
//! linear-probe weights.
//!
//! The head is CT-CLIP's linear probe, `Linear(512 → N)` over `ReLU(latent)` with dropout in
//! training; its logits are the diagnostic prior RAD3D-Prefix feeds to the projector.
//!
//! ```no_run
//! use burn::backend::{Autodiff, Flex};
//! use rad3d_classifier::{
//!     AnomalyClassifierConfig, LabelSet, LatentDataset, TrainingConfig, train_classifier,
//!     write_bar_chart, save_head,
//! };
//!
//! # fn main() -> rad3d_classifier::Result<()> {
//! let device = Default::default();
//! let labels = LabelSet::ct_rate();
//! # let (train_x, train_y, val_x, val_y) = (vec![0.0; 512], vec![0.0; 18], vec![0.0; 512], vec![0.0; 18]);
//! let train = LatentDataset::new(train_x, train_y, 512, labels.len())?;
//! let valid = LatentDataset::new(val_x, val_y, 512, labels.len())?;
//! let (head, report) = train_classifier::<Autodiff<Flex>>(
//!     &AnomalyClassifierConfig::ct_rate(),
//!     &TrainingConfig::new(),
//!     &labels,
//!     &train,
//!     &valid,
//!     &device,
//! )?;
//! write_bar_chart(&report.best_evaluation, "validation", "per_label.svg")?;
//! save_head(&head, &labels, "classifier.safetensors")?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod chart;
mod entities;
mod error;
mod head;
mod label_matrix;
mod labels;
mod loss;
mod metrics;
mod stratify;
mod train;
mod weights;

pub use chart::write_bar_chart;
pub use entities::{
    EntityCount, MentionSkips, MergedLabel, label_set_of, merge_by_cui, read_entity_table,
    study_labels, write_label_set,
};
pub use error::{ClassifierError, Result};
pub use head::{AnomalyClassifier, AnomalyClassifierConfig};
pub use label_matrix::LabelMatrix;
pub use labels::{CT_RATE_LABELS, LabelSet};
pub use loss::{positive_weights, weighted_bce_with_logits};
pub use metrics::{Averages, Confusion, Evaluation, LabelMetrics, auroc, evaluate};
pub use stratify::{ProportionRow, ProportionTable, iterative_stratification};
pub use train::{
    EpochRecord, LatentDataset, TrainingConfig, TrainingReport, predict, train_classifier,
};
pub use weights::{BIAS_KEY, WEIGHT_KEY, load_head, save_head};
