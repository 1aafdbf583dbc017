//! Synthetic studies with known findings: latents that encode the labels, classifier-like
//! logits, and CT-RATE-style templated findings text. Used by the acceptance test and the
//! quickstart, and to score generated reports at the finding level.

use serde::{Deserialize, Serialize};

use crate::dataset::{Example, Split};
use crate::encode::Embedding;
use rad3d_io::SplitMix64;
use rad3d_metrics::Confusion;

/// One finding: its name as written in reports, and its sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingTemplate {
    /// Name as it appears in the text (e.g. "Pericardial effusion-thickening").
    pub name: String,
    /// Sentences stating the finding is present.
    pub positive: Vec<String>,
    /// Sentences stating it is absent (CT-RATE phrasing, "… was not observed.").
    pub negative: Vec<String>,
}

impl FindingTemplate {
    /// Standard templates for `name`.
    pub fn standard(name: &str) -> Self {
        Self {
            name: name.to_string(),
            positive: vec![
                format!("{name} is observed."),
                format!("{name} is present."),
            ],
            negative: vec![
                format!("{name} was not observed."),
                format!("No {} is seen.", name.to_lowercase()),
            ],
        }
    }
}

/// A few CT-RATE abnormalities, phrased as in its reports.
pub fn ct_rate_style_findings() -> Vec<FindingTemplate> {
    [
        "Cardiomegaly",
        "Pericardial effusion-thickening",
        "Pleural effusion",
        "Emphysema",
        "Atelectasis",
        "Lung nodule",
        "Consolidation",
        "Hiatal hernia",
        "Bronchiectasis",
        "Lymphadenopathy",
    ]
    .iter()
    .map(|n| FindingTemplate::standard(n))
    .collect()
}

/// A generated study.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticStudy {
    /// Example (name, report, labels, split).
    pub example: Example,
    /// Latent and logits.
    pub embedding: Embedding,
}

impl SyntheticStudy {
    /// Which findings the study has (its labels above 0.5), in template order.
    pub fn present(&self) -> Vec<bool> {
        self.example
            .labels
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|l| *l > 0.5)
            .collect()
    }
}

fn gauss(rng: &mut SplitMix64) -> f32 {
    rng.gauss() as f32
}

/// Options of [`synthetic_studies`].
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticOptions {
    /// Latent width.
    pub d_latent: usize,
    /// Probability that a finding is present.
    pub prevalence: f64,
    /// Noise added to the latent (std), relative to unit-norm finding directions.
    pub latent_noise: f32,
    /// Magnitude of the logits (±) before noise.
    pub logit_scale: f32,
    /// Noise on the logits (std).
    pub logit_noise: f32,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticOptions {
    fn default() -> Self {
        Self {
            d_latent: 512,
            prevalence: 0.4,
            latent_noise: 0.3,
            logit_scale: 3.0,
            logit_noise: 0.5,
            seed: 7,
        }
    }
}

/// `n` studies over `findings`: labels drawn with `prevalence`; the latent is the sum of a
/// fixed random direction per present finding plus noise (L2-normalised like CT-CLIP's);
/// logits are `±logit_scale` plus noise; the report lists every finding in order with a
/// randomly chosen positive or negative sentence.
pub fn synthetic_studies(
    findings: &[FindingTemplate],
    n: usize,
    split: Split,
    name_prefix: &str,
    opts: &SyntheticOptions,
) -> Vec<SyntheticStudy> {
    // Directions depend on the seed only, so train and validation share them.
    let mut dir_rng = SplitMix64::new(opts.seed);
    let dirs: Vec<Vec<f32>> = findings
        .iter()
        .map(|_| {
            let v: Vec<f32> = (0..opts.d_latent).map(|_| gauss(&mut dir_rng)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect();
    let mut rng = SplitMix64::new(
        opts.seed
            ^ name_prefix.bytes().fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            }),
    );
    let noise = opts.latent_noise / (opts.d_latent as f32).sqrt();
    (0..n)
        .map(|i| {
            let labels: Vec<f32> = findings
                .iter()
                .map(|_| f32::from(rng.uniform() < opts.prevalence))
                .collect();
            let mut latent: Vec<f32> = (0..opts.d_latent)
                .map(|_| gauss(&mut rng) * noise)
                .collect();
            for (l, d) in labels.iter().zip(&dirs) {
                if *l > 0.5 {
                    latent.iter_mut().zip(d).for_each(|(x, y)| *x += y);
                }
            }
            let norm = latent.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            latent.iter_mut().for_each(|x| *x /= norm);
            let logits = labels
                .iter()
                .map(|l| (2.0 * l - 1.0) * opts.logit_scale + gauss(&mut rng) * opts.logit_noise)
                .collect();
            let report = findings
                .iter()
                .zip(&labels)
                .map(|(f, l)| {
                    let pool = if *l > 0.5 { &f.positive } else { &f.negative };
                    pool[rng.below(pool.len() as u64) as usize].clone()
                })
                .collect::<Vec<_>>()
                .join(" ");
            SyntheticStudy {
                example: Example {
                    name: format!("{name_prefix}_{i}"),
                    report,
                    labels: Some(labels),
                    split,
                },
                embedding: Embedding {
                    latent,
                    logits: Some(logits),
                },
            }
        })
        .collect()
}

/// Which findings a report states as present: a finding counts when a sentence names it
/// without negation ("not", "no ").
pub fn extract_findings(report: &str, findings: &[FindingTemplate]) -> Vec<bool> {
    let sentences: Vec<String> = report
        .split('.')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    findings
        .iter()
        .map(|f| {
            let name = f.name.to_lowercase();
            sentences
                .iter()
                .any(|s| s.contains(&name) && !s.contains(" not ") && !s.starts_with("no "))
        })
        .collect()
}

/// A radiologist's note for a study: one word per finding in template order, the first
/// word of its name when present and `No` when absent, then a full stop, e.g.
/// `Cardiomegaly No Pleural No No .`.
///
/// Small LMs pre-trained on `[note ; report]` learn to write the report the note asks
/// for, the way an instruction-following LLM writes from context it is given. Frozen,
/// such an LM is what a prefix projector can steer: the projector learns to express the
/// image as context the LM already reads, as RAD3D-Prefix does with a pre-trained LLM.
/// The matching prefix length is [`note_len`] (BOS included).
pub fn findings_note(labels: &[f32], findings: &[FindingTemplate]) -> String {
    let mut words: Vec<&str> = findings
        .iter()
        .zip(labels)
        .map(|(f, l)| {
            if *l > 0.5 {
                f.name.split_whitespace().next().unwrap_or("Finding")
            } else {
                "No"
            }
        })
        .collect();
    words.push(".");
    words.join(" ")
}

/// Tokens a [`findings_note`] occupies after BOS, plus the BOS: the prefix length that
/// stands in for it.
pub fn note_len(findings: &[FindingTemplate]) -> usize {
    findings.len() + 2
}

/// Micro-averaged precision, recall and F1 of predicted positive findings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FindingScores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// Finding-level micro P/R/F1 over studies (counted by [`rad3d_metrics::Confusion`]).
pub fn finding_f1(predicted: &[Vec<bool>], truth: &[Vec<bool>]) -> FindingScores {
    let mut counts = Confusion::default();
    for (p, t) in predicted.iter().zip(truth) {
        for (&a, &b) in p.iter().zip(t) {
            counts.add(a, b);
        }
    }
    FindingScores {
        precision: counts.precision(),
        recall: counts.recall(),
        f1: counts.f1(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_state_the_labels() {
        let f = ct_rate_style_findings();
        let studies =
            synthetic_studies(&f, 40, Split::Train, "train", &SyntheticOptions::default());
        let pred: Vec<_> = studies
            .iter()
            .map(|s| extract_findings(&s.example.report, &f))
            .collect();
        let truth: Vec<_> = studies.iter().map(SyntheticStudy::present).collect();
        assert_eq!(pred, truth);
        assert_eq!(finding_f1(&pred, &truth).f1, 1.0);
        let latent = &studies[0].embedding.latent;
        let norm: f32 = latent.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(
            studies[0]
                .example
                .report
                .to_lowercase()
                .contains("pericardial effusion-thickening")
        );
    }

    #[test]
    fn notes_name_present_findings_in_order() {
        let f = &ct_rate_style_findings()[..3];
        assert_eq!(
            findings_note(&[1.0, 0.0, 1.0], f),
            "Cardiomegaly No Pleural ."
        );
        assert_eq!(note_len(f), 5);
    }

    #[test]
    fn f1_counts() {
        let s = finding_f1(&[vec![true, true, false]], &[vec![true, false, true]]);
        assert_eq!((s.precision, s.recall, s.f1), (0.5, 0.5, 0.5));
    }
}
