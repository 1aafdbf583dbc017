//! Report-generation metrics exact to the reference tools (BLEU, METEOR, ROUGE,
//! CIDEr-D, sacreBLEU, BERTScore, GREEN) with bootstrap confidence intervals.

pub mod error;
pub mod meteor;

pub use error::{MetricsError, Result};
