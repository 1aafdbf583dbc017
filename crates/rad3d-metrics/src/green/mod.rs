//! GREEN (Generative Radiology Report Evaluation and Error Notation, Ostmeier et al. 2024):
//! a judge LLM lists the clinically significant and insignificant errors of a candidate
//! report against a reference, and the matched findings;
//! GREEN = matched / (matched + Σ significant errors), 0 when nothing matched.
//!
//! This module reproduces the reference implementation (github.com/Stanford-AIMI/GREEN,
//! `green_score/`) character for character where it matters: the judge prompt
//! ([`make_prompt`]), the judge's chat format ([`chat_text`]), the response cleaning
//! ([`clean_response`]) and the parser ([`parse_response`], GREEN's `parse_error_counts`
//! with its regular expressions). [`judge`] runs a judge model through `rad3d-llm`.
//! GREEN's "representative error sentences" of its summary (k-means over
//! sentence-transformer embeddings) are not reproduced; everything numeric is.

pub mod judge;
mod parse;

pub use judge::{Green, GreenOptions};
pub use parse::{clean_response, parse_response};

/// GREEN's three response sections, in its order.
pub const CATEGORIES: [&str; 3] = [
    "Clinically Significant Errors",
    "Clinically Insignificant Errors",
    "Matched Findings",
];

/// GREEN's six error sub-categories (a)–(f), verbatim.
pub const SUB_CATEGORIES: [&str; 6] = [
    "(a) False report of a finding in the candidate",
    "(b) Missing a finding present in the reference",
    "(c) Misidentification of a finding's anatomic location/position",
    "(d) Misassessment of the severity of a finding",
    "(e) Mentioning a comparison that isn't in the reference",
    "(f) Omitting a comparison detailing a change from a prior study",
];

/// Words of each report GREEN keeps in the prompt (`make_prompt(..., max_len=300)`).
pub const PROMPT_MAX_WORDS: usize = 300;

/// The judge prompt for one pair, as GREEN's `make_prompt`: each report is split on
/// whitespace, cut to its first `PROMPT_MAX_WORDS` words and re-joined with single spaces.
pub fn make_prompt(reference: &str, candidate: &str) -> String {
    let clip = |text: &str| {
        python_split(text)
            .take(PROMPT_MAX_WORDS)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (text1, text2) = (clip(reference), clip(candidate));
    format!(
        "Objective: Evaluate the accuracy of a candidate radiology report in comparison to a reference radiology report composed by expert radiologists.\n\n    Process Overview: You will be presented with:\n\n    1. The criteria for making a judgment.\n    2. The reference radiology report.\n    3. The candidate radiology report.\n    4. The desired format for your assessment.\n\n    1. Criteria for Judgment:\n\n    For each candidate report, determine:\n\n    The count of clinically significant errors.\n    The count of clinically insignificant errors.\n\n    Errors can fall into one of these categories:\n\n    a) False report of a finding in the candidate.\n    b) Missing a finding present in the reference.\n    c) Misidentification of a finding's anatomic location/position.\n    d) Misassessment of the severity of a finding.\n    e) Mentioning a comparison that isn't in the reference.\n    f) Omitting a comparison detailing a change from a prior study.\n    Note: Concentrate on the clinical findings rather than the report's writing style. Evaluate only the findings that appear in both reports.\n\n    2. Reference Report:\n    {text1}\n\n    3. Candidate Report:\n    {text2}\n\n    4. Reporting Your Assessment:\n\n    Follow this specific format for your output, even if no errors are found:\n    ```\n    [Explanation]:\n    <Explanation>\n\n    [Clinically Significant Errors]:\n    (a) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>\n    ....\n    (f) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>\n\n    [Clinically Insignificant Errors]:\n    (a) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>\n    ....\n    (f) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>\n\n    [Matched Findings]:\n    <The number of matched findings>. <Finding 1>; <Finding 2>; ...; <Finding n>\n    ```\n"
    )
}

/// The text GREEN feeds its judge: its chat template (rendered by `transformers` with
/// `trim_blocks`) over `[human: prompt, gpt: ""]` with `add_generation_prompt=True`.
/// `eos` is the judge tokenizer's end-of-sequence token (`</s>` for GREEN-RadLlama2-7b).
pub fn chat_text(prompt: &str, eos: &str) -> String {
    format!("<|user|>\n{prompt}{eos}\n<|assistant|>\n{eos}\n<|assistant|>\n")
}

/// Python's `str.split()` without arguments: runs of whitespace (as `str.isspace`) split.
fn python_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_python_space).filter(|w| !w.is_empty())
}

/// Python's `str.isspace` for one character (Unicode White_Space plus U+001C..U+001F).
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Error counts and matched findings the judge reported for one pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GreenCounts {
    /// Clinically significant errors per sub-category (a)–(f).
    pub significant: [u64; 6],
    /// Clinically insignificant errors per sub-category (a)–(f).
    pub insignificant: [u64; 6],
    /// Number of matched findings.
    pub matched: u64,
}

impl GreenCounts {
    /// GREEN = matched / (matched + Σ significant), 0 when nothing matched.
    pub fn green(&self) -> f64 {
        if self.matched == 0 {
            return 0.0;
        }
        let errors: f64 = self.significant.iter().map(|&c| c as f64).sum();
        self.matched as f64 / (self.matched as f64 + errors)
    }

    /// Σ clinically significant errors.
    pub fn total_significant(&self) -> u64 {
        self.significant
            .iter()
            .fold(0u64, |a, &c| a.saturating_add(c))
    }
}

/// One scored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct GreenSample {
    /// The reference report.
    pub reference: String,
    /// The candidate report.
    pub hypothesis: String,
    /// The judge's cleaned response (GREEN's `green_analysis`).
    pub response: String,
    /// The parsed counts.
    pub counts: GreenCounts,
    /// The pair's GREEN score.
    pub green: f64,
}

/// Corpus-level summary, as GREEN's `compute_summary` (without representative sentences).
#[derive(Debug, Clone, PartialEq)]
pub struct GreenSummary {
    /// Mean GREEN over pairs (`np.mean`).
    pub mean: f64,
    /// Population standard deviation of GREEN (`np.std`, ddof 0).
    pub std: f64,
    /// Σ clinically significant errors per sub-category over all pairs.
    pub significant_totals: [u64; 6],
    /// Σ clinically insignificant errors per sub-category over all pairs.
    pub insignificant_totals: [u64; 6],
    /// Σ matched findings over all pairs.
    pub matched_total: u64,
    /// Per sub-category, the fraction of pairs with no significant error of that kind
    /// (GREEN's `compute_accuracy`).
    pub accuracy: [f64; 6],
}

/// Per-pair results and their summary.
#[derive(Debug, Clone, PartialEq)]
pub struct GreenResult {
    /// One entry per pair, in input order.
    pub samples: Vec<GreenSample>,
    /// The summary over all pairs.
    pub summary: GreenSummary,
}

impl GreenResult {
    /// Scores judge responses that were already generated (no model needed): each is
    /// parsed as GREEN does.
    pub fn from_responses<R, H, S>(refs: &[R], hyps: &[H], responses: &[S]) -> crate::Result<Self>
    where
        R: AsRef<str>,
        H: AsRef<str>,
        S: AsRef<str>,
    {
        if refs.len() != hyps.len() || refs.len() != responses.len() {
            return Err(crate::MetricsError::Input(format!(
                "{} references, {} hypotheses and {} judge responses",
                refs.len(),
                hyps.len(),
                responses.len()
            )));
        }
        let samples = refs
            .iter()
            .zip(hyps)
            .zip(responses)
            .map(|((r, h), s)| {
                let counts = parse_response(s.as_ref());
                GreenSample {
                    reference: r.as_ref().to_string(),
                    hypothesis: h.as_ref().to_string(),
                    response: s.as_ref().to_string(),
                    green: counts.green(),
                    counts,
                }
            })
            .collect::<Vec<_>>();
        let summary = summarize(&samples);
        Ok(Self { samples, summary })
    }
}

/// The summary of scored pairs (zeros for none).
pub fn summarize(samples: &[GreenSample]) -> GreenSummary {
    let n = samples.len() as f64;
    let mut summary = GreenSummary {
        mean: 0.0,
        std: 0.0,
        significant_totals: [0; 6],
        insignificant_totals: [0; 6],
        matched_total: 0,
        accuracy: [0.0; 6],
    };
    if samples.is_empty() {
        return summary;
    }
    summary.mean = samples.iter().map(|s| s.green).sum::<f64>() / n;
    summary.std = (samples
        .iter()
        .map(|s| (s.green - summary.mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    for s in samples {
        for k in 0..6 {
            summary.significant_totals[k] =
                summary.significant_totals[k].saturating_add(s.counts.significant[k]);
            summary.insignificant_totals[k] =
                summary.insignificant_totals[k].saturating_add(s.counts.insignificant[k]);
            if s.counts.significant[k] == 0 {
                summary.accuracy[k] += 1.0 / n;
            }
        }
        summary.matched_total = summary.matched_total.saturating_add(s.counts.matched);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_clips_and_normalises_whitespace() {
        let long: String = (0..305).map(|i| format!("w{i} ")).collect();
        let p = make_prompt(&long, " a\t\nb ");
        assert!(p.contains("w299\n\n    3. Candidate Report:\n    a b\n\n"));
        assert!(!p.contains("w300"));
    }

    #[test]
    fn green_formula() {
        let mut c = GreenCounts {
            matched: 2,
            ..Default::default()
        };
        c.significant[1] = 3;
        c.insignificant[0] = 9;
        assert_eq!(c.green(), 0.4);
        c.matched = 0;
        assert_eq!(c.green(), 0.0);
    }

    #[test]
    fn summary_statistics() {
        let sample = |green: f64, a: u64| GreenSample {
            reference: String::new(),
            hypothesis: String::new(),
            response: String::new(),
            counts: GreenCounts {
                significant: [a, 0, 0, 0, 0, 0],
                ..Default::default()
            },
            green,
        };
        let s = summarize(&[sample(1.0, 0), sample(0.0, 2)]);
        assert_eq!((s.mean, s.std), (0.5, 0.5));
        assert_eq!(s.significant_totals[0], 2);
        assert_eq!(s.accuracy, [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }
}
