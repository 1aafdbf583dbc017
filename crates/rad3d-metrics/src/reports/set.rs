//! A file's reports as one checked set, and the join of hypotheses to references by id.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

use super::{
    Collector, MAX_REPORTS, ReportColumns, SHOW_IDS, normalize_id, read_reports_with, too_large,
};
use crate::error::{MetricsError, Result};

/// Reports of one file (or an in-memory set named by a label) with unique, normalised ids,
/// within the size limits: what [`evaluate`](crate::evaluation::evaluate) scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSet {
    path: PathBuf,
    reports: Vec<(String, String)>,
}

impl ReportSet {
    /// Reads `path` with [`read_reports_with`].
    ///
    /// # Errors
    /// As [`read_reports_with`].
    pub fn read(path: impl AsRef<Path>, columns: &ReportColumns) -> Result<Self> {
        let path = path.as_ref();
        Ok(Self {
            path: path.to_path_buf(),
            reports: read_reports_with(path, columns)?,
        })
    }

    /// In-memory `(id, text)` reports; `label` stands for the file in errors and output.
    /// Ids are normalised ([`normalize_id`]).
    ///
    /// # Errors
    /// [`MetricsError::DuplicateId`] and [`MetricsError::TooLarge`] as for a file (the
    /// "line" is the 1-based position).
    pub fn new(label: impl Into<PathBuf>, reports: Vec<(String, String)>) -> Result<Self> {
        let path = label.into();
        if reports.len() > MAX_REPORTS {
            return Err(too_large(
                &path,
                format!("report {}", MAX_REPORTS + 1),
                format!("more than {MAX_REPORTS} reports"),
            ));
        }
        let mut out = Collector::new(&path);
        for (k, (id, text)) in reports.into_iter().enumerate() {
            out.push(k as u64 + 1, &id, text)?;
        }
        let reports = out.out;
        Ok(Self { path, reports })
    }

    /// The file (or label).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `(id, text)` pairs in file order.
    pub fn reports(&self) -> &[(String, String)] {
        &self.reports
    }

    /// Number of reports.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether there are no reports.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The texts in file order.
    pub fn texts(&self) -> Vec<String> {
        self.reports.iter().map(|(_, t)| t.clone()).collect()
    }

    /// The texts of `self` in the order of `refs`' ids (see [`align_reports`]).
    ///
    /// # Errors
    /// As [`align_reports`].
    pub fn aligned_to(&self, refs: &ReportSet) -> Result<Vec<String>> {
        align_reports(&refs.reports, self.reports.clone(), &self.path)
    }
}

/// Hypothesis texts in reference order, joined on normalised ids (line numbers for plain
/// text files). `what` names the hypothesis file in errors.
///
/// # Errors
/// [`MetricsError::DuplicateId`] when a hypothesis id repeats; [`MetricsError::UnmatchedIds`]
/// when a reference has no hypothesis or a hypothesis matches no reference, with how many on
/// each side and the first few of each.
pub fn align_reports(
    refs: &[(String, String)],
    hyps: Vec<(String, String)>,
    what: &Path,
) -> Result<Vec<String>> {
    let n_hyps = hyps.len();
    let mut by_id: HashMap<String, (usize, String)> = HashMap::with_capacity(n_hyps);
    for (k, (id, text)) in hyps.into_iter().enumerate() {
        match by_id.entry(normalize_id(&id)) {
            Entry::Occupied(e) => {
                return Err(MetricsError::DuplicateId {
                    path: what.to_path_buf(),
                    id: e.key().clone(),
                    line: None,
                });
            }
            Entry::Vacant(e) => {
                e.insert((k, text));
            }
        }
    }
    let mut out = Vec::with_capacity(refs.len());
    let mut missing = Vec::new();
    for (id, _) in refs {
        match by_id.remove(&normalize_id(id)) {
            Some((_, text)) => out.push(text),
            None => missing.push(normalize_id(id)),
        }
    }
    if missing.is_empty() && by_id.is_empty() {
        return Ok(out);
    }
    let mut extra: Vec<(usize, String)> = by_id.into_iter().map(|(id, (k, _))| (k, id)).collect();
    extra.sort_unstable();
    Err(MetricsError::UnmatchedIds {
        path: what.to_path_buf(),
        reports: n_hyps,
        references: refs.len(),
        missing: missing.len(),
        missing_first: missing.into_iter().take(SHOW_IDS).collect(),
        extra: extra.len(),
        extra_first: extra.into_iter().take(SHOW_IDS).map(|(_, id)| id).collect(),
    })
}
