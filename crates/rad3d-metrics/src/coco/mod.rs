//! The pycocoevalcap-compatible scorers (what R2Gen, R2GenGPT and CT2Rep report): corpus
//! BLEU-1..4, ROUGE-L and CIDEr-D on whitespace tokens of the given text.

mod bleu;
mod cider;
mod rouge_l;

pub use bleu::{BleuSample, CocoBleu};
pub use cider::{CiderD, DfMode};
pub use rouge_l::{coco_rouge_l, rouge_l_sample};
