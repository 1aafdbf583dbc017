//! Report/label manifests (CT-RATE and INSPECT layouts) and their join with embeddings.
//!
//! Nothing is aligned by row order: every table is keyed by volume name, and whatever
//! cannot be joined is either an error (duplicates, wrong label columns) or skipped with
//! a count that is logged and returned ([`SkipCounts`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Which part of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Valid,
    /// Held-out test.
    Test,
}

impl Split {
    /// Parses `train`, `valid`/`validation`/`val`, `test` (any case).
    pub fn parse(s: &str) -> Option<Split> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Split::Train),
            "valid" | "validation" | "val" => Some(Split::Valid),
            "test" | "testing" => Some(Split::Test),
            _ => None,
        }
    }

    /// CT-RATE's official split is in the volume name: `train_…` or `valid_…`.
    pub fn from_ct_rate_name(name: &str) -> Option<Split> {
        if name.starts_with("train_") {
            Some(Split::Train)
        } else if name.starts_with("valid_") {
            Some(Split::Valid)
        } else {
            None
        }
    }
}

/// Strips `.nii.gz`, `.nii`, `.npz`, `.pt` so names from CSVs and caches compare equal.
pub fn normalize_volume_name(name: &str) -> String {
    let n = name.trim();
    for ext in [".nii.gz", ".nii", ".npz", ".pt"] {
        if let Some(s) = n.strip_suffix(ext) {
            return s.to_string();
        }
    }
    n.to_string()
}

/// How many rows were left out, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipCounts {
    /// Reports whose text is empty.
    pub empty_report: usize,
    /// Reports without a labels row.
    pub missing_labels: usize,
    /// Reports without an entry in the split file.
    pub missing_split: usize,
    /// Examples without an embedding in the cache.
    pub missing_embedding: usize,
}

impl SkipCounts {
    /// Total skipped rows.
    pub fn total(&self) -> usize {
        self.empty_report + self.missing_labels + self.missing_split + self.missing_embedding
    }
}

/// One study: its name, report and (if known) multi-hot labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Normalised volume name.
    pub name: String,
    /// Findings text.
    pub report: String,
    /// Labels in the manifest's label order.
    pub labels: Option<Vec<f32>>,
    /// Split the study belongs to.
    pub split: Split,
}

/// A joined, validated list of examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// The examples, in reports-file order.
    pub examples: Vec<Example>,
    /// Label names (empty when no labels file was given).
    pub label_names: Vec<String>,
    /// What was skipped.
    pub skipped: SkipCounts,
}

fn open_csv(path: &Path) -> Result<(Vec<String>, csv::Reader<std::fs::File>)> {
    let file = std::fs::File::open(path).map_err(crate::error::io_err(path))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| csv_err(path, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    Ok((headers, reader))
}

/// The column names of a CSV file (trimmed, byte-order mark removed).
///
/// # Errors
/// [`TrainError::Io`] when the file cannot be opened, [`TrainError::Csv`] when its header
/// cannot be read.
pub fn read_csv_header(path: &Path) -> Result<Vec<String>> {
    open_csv(path).map(|(headers, _)| headers)
}

fn csv_err(path: &Path, e: csv::Error) -> TrainError {
    TrainError::Csv {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn column(path: &Path, headers: &[String], name: &str) -> Result<usize> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| TrainError::Csv {
            path: path.to_path_buf(),
            reason: format!("no column `{name}` (columns: {})", headers.join(", ")),
        })
}

/// Reads `id_col` → `text_col` from a reports CSV. Duplicate names are an error; empty
/// reports are skipped and counted. Returns rows in file order.
pub fn read_reports(
    path: &Path,
    id_col: &str,
    text_col: &str,
) -> Result<(Vec<(String, String)>, usize)> {
    let (headers, mut reader) = open_csv(path)?;
    let id = column(path, &headers, id_col)?;
    let text = column(path, &headers, text_col)?;
    let mut seen = HashSet::new();
    let mut dups = Vec::new();
    let mut rows = Vec::new();
    let mut empty = 0;
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_err(path, e))?;
        let name = normalize_volume_name(rec.get(id).unwrap_or(""));
        if name.is_empty() {
            return Err(TrainError::Csv {
                path: path.to_path_buf(),
                reason: format!(
                    "empty `{id_col}` at line {}",
                    rec.position().map_or(0, |p| p.line())
                ),
            });
        }
        if !seen.insert(name.clone()) {
            dups.push(name);
            continue;
        }
        let report = rec.get(text).unwrap_or("").trim().to_string();
        if report.is_empty() {
            empty += 1;
            continue;
        }
        rows.push((name, report));
    }
    if !dups.is_empty() {
        return Err(duplicates(path, &dups));
    }
    Ok((rows, empty))
}

fn duplicates(path: &Path, dups: &[String]) -> TrainError {
    TrainError::Csv {
        path: path.to_path_buf(),
        reason: format!(
            "{} duplicate volume name(s): {}{}",
            dups.len(),
            dups.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if dups.len() > 5 { ", …" } else { "" }
        ),
    }
}

/// Multi-hot labels keyed by volume name.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelTable {
    /// Label names, in the order given by the caller.
    pub names: Vec<String>,
    /// Labels per volume.
    pub rows: HashMap<String, Vec<f32>>,
}

/// Reads a labels CSV: `id_col` plus exactly the columns in `label_names` (any order in
/// the file; values 0/1 or any number). Missing or extra label columns are an error that
/// names them; so are duplicate names and unparsable values.
pub fn read_labels(path: &Path, id_col: &str, label_names: &[String]) -> Result<LabelTable> {
    let (headers, mut reader) = open_csv(path)?;
    let id = column(path, &headers, id_col)?;
    let missing: Vec<&String> = label_names
        .iter()
        .filter(|n| !headers.contains(n))
        .collect();
    let extra: Vec<&String> = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != id && !label_names.contains(h) && !h.is_empty())
        .map(|(_, h)| h)
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(TrainError::Csv {
            path: path.to_path_buf(),
            reason: format!(
                "label columns do not match the label set: missing [{}], unexpected [{}]",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                extra
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let cols: Vec<usize> = label_names
        .iter()
        .map(|n| headers.iter().position(|h| h == n).expect("checked above"))
        .collect();
    let mut rows = HashMap::new();
    let mut dups = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_err(path, e))?;
        let name = normalize_volume_name(rec.get(id).unwrap_or(""));
        let mut values = Vec::with_capacity(cols.len());
        for (&c, label) in cols.iter().zip(label_names) {
            let raw = rec.get(c).unwrap_or("").trim();
            let v: f32 = raw.parse().map_err(|_| TrainError::Csv {
                path: path.to_path_buf(),
                reason: format!("volume `{name}`, column `{label}`: `{raw}` is not a number"),
            })?;
            values.push(v);
        }
        if rows.insert(name.clone(), values).is_some() {
            dups.push(name);
        }
    }
    if !dups.is_empty() {
        return Err(duplicates(path, &dups));
    }
    Ok(LabelTable {
        names: label_names.to_vec(),
        rows,
    })
}

/// Reads an INSPECT-style split file: a CSV with `id_col` and a `split` column
/// (`train`/`valid`/`test`).
pub fn read_split_file(path: &Path, id_col: &str) -> Result<HashMap<String, Split>> {
    let (headers, mut reader) = open_csv(path)?;
    let id = column(path, &headers, id_col)?;
    let split = column(path, &headers, "split")?;
    let mut out = HashMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_err(path, e))?;
        let name = normalize_volume_name(rec.get(id).unwrap_or(""));
        let raw = rec.get(split).unwrap_or("");
        let s = Split::parse(raw).ok_or_else(|| TrainError::Csv {
            path: path.to_path_buf(),
            reason: format!("volume `{name}`: unknown split `{raw}`"),
        })?;
        if out.insert(name.clone(), s).is_some() {
            return Err(duplicates(path, &[name]));
        }
    }
    Ok(out)
}

impl Manifest {
    /// CT-RATE layout: reports CSV (`VolumeName`, `Findings_EN`), optional labels CSV
    /// (`VolumeName` + `label_names`); the split comes from the `train_`/`valid_` name
    /// prefix (the official split), or `default_split` for other names.
    pub fn ct_rate(
        reports: &Path,
        labels: Option<&Path>,
        label_names: &[String],
        default_split: Split,
    ) -> Result<Manifest> {
        Self::build(
            reports,
            "VolumeName",
            "Findings_EN",
            labels,
            label_names,
            |name| Some(Split::from_ct_rate_name(name).unwrap_or(default_split)),
        )
    }

    /// INSPECT-style layout: any reports CSV, labels CSV and split file keyed by `id_col`.
    pub fn inspect(
        reports: &Path,
        id_col: &str,
        text_col: &str,
        labels: Option<&Path>,
        label_names: &[String],
        split_file: &Path,
    ) -> Result<Manifest> {
        let splits = read_split_file(split_file, id_col)?;
        Self::build(reports, id_col, text_col, labels, label_names, |name| {
            splits.get(name).copied()
        })
    }

    fn build(
        reports: &Path,
        id_col: &str,
        text_col: &str,
        labels: Option<&Path>,
        label_names: &[String],
        split_of: impl Fn(&str) -> Option<Split>,
    ) -> Result<Manifest> {
        let (rows, empty) = read_reports(reports, id_col, text_col)?;
        let table = labels
            .map(|p| read_labels(p, id_col, label_names))
            .transpose()?;
        let mut skipped = SkipCounts {
            empty_report: empty,
            ..Default::default()
        };
        let mut examples = Vec::new();
        for (name, report) in rows {
            let labels = match &table {
                Some(t) => match t.rows.get(&name) {
                    Some(l) => Some(l.clone()),
                    None => {
                        skipped.missing_labels += 1;
                        continue;
                    }
                },
                None => None,
            };
            let Some(split) = split_of(&name) else {
                skipped.missing_split += 1;
                continue;
            };
            examples.push(Example {
                name,
                report,
                labels,
                split,
            });
        }
        if skipped.total() > 0 {
            tracing::warn!(
                file = %reports.display(),
                empty_report = skipped.empty_report,
                missing_labels = skipped.missing_labels,
                missing_split = skipped.missing_split,
                "skipped report rows"
            );
        }
        if examples.is_empty() {
            return Err(TrainError::Data {
                what: reports.display().to_string(),
                reason: format!("no usable examples ({skipped:?})"),
            });
        }
        Ok(Manifest {
            examples,
            label_names: table.map(|t| t.names).unwrap_or_default(),
            skipped,
        })
    }

    /// The examples of one split.
    pub fn split(&self, split: Split) -> Vec<&Example> {
        self.examples.iter().filter(|e| e.split == split).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ct_rate_join_skips_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let reports = write(
            d.path(),
            "r.csv",
            "VolumeName,ClinicalInformation_EN,Findings_EN\n\
             train_1_a_1.nii.gz,x,\"Cardiomegaly is seen, mild.\"\n\
             train_2_a_1.nii.gz,x,\n\
             valid_1_a_1.nii.gz,x,No effusion.\n\
             train_3_a_1.nii.gz,x,\"Multi\nline.\"\n",
        );
        let labels = write(
            d.path(),
            "l.csv",
            "VolumeName,Effusion,Cardiomegaly\n\
             train_1_a_1.nii.gz,0,1\nvalid_1_a_1.nii.gz,0,0\ntrain_2_a_1.nii.gz,1,1\n",
        );
        let m = Manifest::ct_rate(
            &reports,
            Some(&labels),
            &names(&["Cardiomegaly", "Effusion"]),
            Split::Train,
        )
        .unwrap();
        assert_eq!(m.examples.len(), 2);
        assert_eq!(m.examples[0].name, "train_1_a_1");
        assert_eq!(m.examples[0].labels, Some(vec![1.0, 0.0]));
        assert_eq!(m.examples[1].split, Split::Valid);
        assert_eq!(m.skipped.empty_report, 1);
        assert_eq!(m.skipped.missing_labels, 1);
        assert_eq!(m.split(Split::Train).len(), 1);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let d = tempfile::tempdir().unwrap();
        let dup = write(
            d.path(),
            "d.csv",
            "VolumeName,Findings_EN\na,x\nb,y\na.nii.gz,z\n",
        );
        let e = Manifest::ct_rate(&dup, None, &[], Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate") && e.contains("a"), "{e}");

        let ok = write(d.path(), "ok.csv", "VolumeName,Findings_EN\na,x\n");
        let labels = write(d.path(), "l.csv", "VolumeName,Cardiomegaly,Extra\na,1,0\n");
        let e = Manifest::ct_rate(
            &ok,
            Some(&labels),
            &names(&["Cardiomegaly", "Emphysema"]),
            Split::Train,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("missing [Emphysema]") && e.contains("unexpected [Extra]"),
            "{e}"
        );

        let bad = write(d.path(), "b.csv", "VolumeName,Cardiomegaly\na,yes\n");
        let e = Manifest::ct_rate(&ok, Some(&bad), &names(&["Cardiomegaly"]), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`yes` is not a number"), "{e}");

        let nocol = write(d.path(), "n.csv", "Name,Text\na,x\n");
        let e = Manifest::ct_rate(&nocol, None, &[], Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `VolumeName`"), "{e}");

        let empty = write(d.path(), "e.csv", "VolumeName,Findings_EN\na,\n");
        assert!(Manifest::ct_rate(&empty, None, &[], Split::Train).is_err());
    }

    #[test]
    fn inspect_layout_uses_the_split_file() {
        let d = tempfile::tempdir().unwrap();
        let reports = write(d.path(), "r.csv", "id,impression\np1,A.\np2,B.\np3,C.\n");
        let split = write(d.path(), "s.csv", "id,split\np1,train\np2,TEST\n");
        let m = Manifest::inspect(&reports, "id", "impression", None, &[], &split).unwrap();
        assert_eq!(m.examples.len(), 2);
        assert_eq!(m.split(Split::Test)[0].name, "p2");
        assert_eq!(m.skipped.missing_split, 1);
    }
}
