//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong computing metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A report file (CSV, JSONL) is malformed, lacks a column or does not match the references.
    #[error("{path}: {reason}")]
    Reports {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the line and column.
        reason: String,
    },
    /// A column named explicitly (see [`ReportColumns`](crate::reports::ReportColumns)) is
    /// not in the file.
    #[error("{path}: no column `{column}` (columns present: {})", .present.join(", "))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the file has.
        present: Vec<String>,
    },
    /// Two reports of one file carry the same (normalised) id.
    #[error("{path}: duplicate id {id:?}{}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    DuplicateId {
        /// The file.
        path: PathBuf,
        /// The id, normalised (see [`normalize_id`](crate::reports::normalize_id)).
        id: String,
        /// Line of the second occurrence, when known.
        line: Option<u64>,
    },
    /// The ids of a report file do not match those of the references.
    #[error(
        "{path}: ids do not match the references ({reports} reports, {references} references): \
         {missing} references have no report{}; {extra} reports match no reference{}",
        first_ids(.missing_first),
        first_ids(.extra_first)
    )]
    UnmatchedIds {
        /// The report file.
        path: PathBuf,
        /// Number of reports in it.
        reports: usize,
        /// Number of references.
        references: usize,
        /// Number of reference ids without a report.
        missing: usize,
        /// The first (at most five) of them, in reference order.
        missing_first: Vec<String>,
        /// Number of report ids matching no reference.
        extra: usize,
        /// The first (at most five) of them, in file order.
        extra_first: Vec<String>,
    },
    /// An input beyond the limits this crate accepts (report size, report count), refused
    /// before it is read into memory.
    #[error("{path}: {at}: {what}")]
    TooLarge {
        /// The file (or the label of in-memory reports).
        path: PathBuf,
        /// Where: a line or an id.
        at: String,
        /// What exceeds which limit.
        what: String,
    },
    /// Nothing to score: an empty reference or hypothesis file, or a corpus of zero pairs.
    /// Scoring it would report zeros as if they were measurements.
    #[error("{what}: no reports to score")]
    EmptyCorpus {
        /// The file (or the corpus) that is empty.
        what: String,
    },
    /// A METEOR segment whose candidate matches exceed
    /// [`MAX_CANDIDATE_MATCHES`](crate::meteor::align::MAX_CANDIDATE_MATCHES): the
    /// alignment search (as METEOR 1.5 runs it) keeps every candidate, so such a segment
    /// would need memory quadratic in its length.
    #[error(
        "METEOR: sample {sample}{}: more than {limit} candidate matches ({hyp_words} hypothesis \
         words against a reference of {ref_words} words); the segment is too long or too \
         repetitive to align",
        .id.as_ref().map(|i| format!(" (id {i:?})")).unwrap_or_default()
    )]
    MeteorSegmentTooLarge {
        /// 0-based position of the pair in the corpus.
        sample: usize,
        /// The report's id, when known (the evaluation fills it in).
        id: Option<String>,
        /// Words of the normalised hypothesis.
        hyp_words: usize,
        /// Words of the normalised reference being aligned.
        ref_words: usize,
        /// The limit.
        limit: usize,
    },
    /// A metric produced NaN or an infinite value, which only bad input or a faulty model
    /// produces; reporting it would poison means and intervals silently.
    #[error("metric `{metric}` is {value} for {at}")]
    NonFinite {
        /// The value's name (`bertscore_f`, `meteor`, …).
        metric: String,
        /// Where: the report id, or `corpus` for a corpus-level value.
        at: String,
        /// The value.
        value: f64,
    },
    /// More resamples requested than [`MAX_RESAMPLES`](crate::significance::MAX_RESAMPLES).
    #[error("{requested} resamples requested; at most {limit} are allowed")]
    TooManyResamples {
        /// Resamples asked for.
        requested: usize,
        /// The limit.
        limit: usize,
    },
    /// No directory searched holds METEOR's data (synonyms, paraphrases, function words,
    /// nonbreaking prefixes).
    #[error(
        "METEOR data not found; searched: {} (run scripts/fetch-assets.sh, set RAD3D_ASSETS, \
         or ask explicitly for exact + stem matching only)",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    MeteorDataMissing {
        /// Every directory searched, in order.
        searched: Vec<PathBuf>,
    },
    /// A chart could not be drawn.
    #[error("{path}: drawing the chart failed: {reason}")]
    Chart {
        /// The chart file.
        path: PathBuf,
        /// The drawing library's message.
        reason: String,
    },
    /// Inputs that cannot be scored together (e.g. different numbers of references and hypotheses).
    #[error("invalid input: {0}")]
    Input(String),
    /// A model file (config, tokenizer, baseline) is missing or malformed.
    #[error("{path}: {reason}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint tensor is missing, mis-shaped or of an unsupported dtype.
    #[error("{path}: tensor `{tensor}`: {reason}")]
    Tensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name in the checkpoint.
        tensor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The GREEN judge model failed to load or generate.
    #[cfg(feature = "green")]
    #[error("GREEN judge: {0}")]
    Judge(#[from] rad3d_llm::LlmError),
}

impl From<rad3d_io::IoError> for MetricsError {
    fn from(e: rad3d_io::IoError) -> Self {
        match e {
            rad3d_io::IoError::Io { path, source } => Self::Io { path, source },
            // The other variants come from rad3d-io's checkpoint reader, which this crate
            // never calls; keep their message rather than lose it.
            other => Self::Input(other.to_string()),
        }
    }
}

/// `" (first: a, b, …)"` for a non-empty id list, else nothing.
fn first_ids(ids: &[String]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
    format!(" (first: {})", quoted.join(", "))
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MetricsError>;
