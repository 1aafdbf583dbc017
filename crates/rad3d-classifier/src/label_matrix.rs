//! A label CSV as data: one row per study, an id column first, then one 0/1 column per
//! label (the columns name the label set, in logit order).
//!
//! ```text
//! impression_id,Pulmonary embolism,Pleural effusion,...
//! PE0a1b,1,0,...
//! ```
//!
//! Reading checks what a label file must satisfy before anything trains on it: label names
//! distinct and non-empty, every cell exactly `0` or `1`, every id present and unique, every
//! row as wide as the header.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{ClassifierError, Result};
use crate::labels::LabelSet;

/// Studies × labels, multi-hot, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatrix {
    id_column: String,
    labels: LabelSet,
    ids: Vec<String>,
    /// Row-major `ids.len() × labels.len()` values, each 0 or 1.
    values: Vec<u8>,
}

impl LabelMatrix {
    /// A matrix from its parts; `values` is row-major, one row of `labels.len()` per id.
    ///
    /// # Errors
    /// [`ClassifierError::Data`] when the sizes disagree or a value is not 0/1,
    /// [`ClassifierError::MissingId`] / [`ClassifierError::DuplicateId`] for bad ids.
    pub fn new(
        id_column: impl Into<String>,
        labels: LabelSet,
        ids: Vec<String>,
        values: Vec<u8>,
    ) -> Result<Self> {
        let id_column = id_column.into();
        if values.len() != ids.len() * labels.len() {
            return Err(ClassifierError::Data(format!(
                "{} values for {} studies × {} labels",
                values.len(),
                ids.len(),
                labels.len()
            )));
        }
        if let Some(v) = values.iter().find(|&&v| v > 1) {
            return Err(ClassifierError::Data(format!(
                "label value {v} is not 0 or 1"
            )));
        }
        let mut seen = HashSet::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let line = i as u64 + 2;
            if id.trim().is_empty() {
                return Err(ClassifierError::MissingId {
                    path: "list".into(),
                    line,
                    column: id_column.clone(),
                });
            }
            if !seen.insert(id.as_str()) {
                return Err(ClassifierError::DuplicateId {
                    path: "list".into(),
                    line,
                    id: id.clone(),
                });
            }
        }
        Ok(Self {
            id_column,
            labels,
            ids,
            values,
        })
    }

    /// Reads a label CSV (see the module documentation).
    ///
    /// # Errors
    /// [`ClassifierError::Io`] when unreadable; [`ClassifierError::Labels`] /
    /// [`ClassifierError::DuplicateLabel`] for a bad header; [`ClassifierError::Csv`] for a
    /// malformed or short row; [`ClassifierError::NotBinary`], [`ClassifierError::MissingId`]
    /// and [`ClassifierError::DuplicateId`] naming the line.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let labels = LabelSet::from_csv_header(path)?;
        let file = std::fs::File::open(path).map_err(|e| ClassifierError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new().from_reader(file);
        let csv_err = |line: u64, reason: String| ClassifierError::Csv {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let id_column = reader
            .headers()
            .map_err(|e| csv_err(1, e.to_string()))?
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}')
            .to_string();
        let n = labels.len();
        let (mut ids, mut values) = (Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                csv_err(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let id = record.get(0).unwrap_or("").trim();
            if id.is_empty() {
                return Err(ClassifierError::MissingId {
                    path: path.to_path_buf(),
                    line,
                    column: id_column.clone(),
                });
            }
            if !seen.insert(id.to_string()) {
                return Err(ClassifierError::DuplicateId {
                    path: path.to_path_buf(),
                    line,
                    id: id.to_string(),
                });
            }
            for (j, name) in labels.names().iter().enumerate() {
                let raw = record.get(j + 1).unwrap_or("").trim();
                values.push(match raw {
                    "0" => 0,
                    "1" => 1,
                    _ => {
                        return Err(ClassifierError::NotBinary {
                            path: path.to_path_buf(),
                            line,
                            column: name.clone(),
                            value: raw.to_string(),
                        });
                    }
                });
            }
            ids.push(id.to_string());
        }
        if ids.is_empty() {
            return Err(csv_err(0, "no studies below the header".to_string()));
        }
        debug_assert_eq!(values.len(), ids.len() * n);
        Ok(Self {
            id_column,
            labels,
            ids,
            values,
        })
    }

    /// Writes the matrix as a label CSV (temporary file + rename).
    ///
    /// # Errors
    /// [`ClassifierError::Io`] when the file cannot be written.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        write_csv(path.as_ref(), |w| {
            let header = std::iter::once(self.id_column.as_str())
                .chain(self.labels.names().iter().map(String::as_str));
            w.write_record(header)?;
            for (i, id) in self.ids.iter().enumerate() {
                let row = self.row(i).iter().map(|v| if *v == 1 { "1" } else { "0" });
                w.write_record(std::iter::once(id.as_str()).chain(row))?;
            }
            Ok(())
        })
    }

    /// The id column's name (`VolumeName`, `impression_id`, …).
    pub fn id_column(&self) -> &str {
        &self.id_column
    }

    /// The label set the columns name.
    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Study ids in file order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Number of studies.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no studies (never true for a matrix read from a file).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row `i`'s labels, 0/1, in label order.
    pub fn row(&self, i: usize) -> &[u8] {
        let n = self.labels.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[u8] {
        &self.values
    }

    /// Positive studies per label.
    pub fn positives(&self) -> Vec<usize> {
        positives_of(&self.values, self.labels.len(), 0..self.len())
    }

    /// Positive studies per label among `rows`.
    pub fn positives_in(&self, rows: impl IntoIterator<Item = usize>) -> Vec<usize> {
        positives_of(&self.values, self.labels.len(), rows)
    }
}

/// Writes the records `fill` produces as a CSV file at `path` (temporary file + rename).
pub(crate) fn write_csv(
    path: &Path,
    fill: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
) -> Result<()> {
    let to_io = |e: String| ClassifierError::io(path, std::io::Error::other(e));
    let mut writer = csv::Writer::from_writer(Vec::new());
    fill(&mut writer).map_err(|e| to_io(e.to_string()))?;
    let bytes = writer.into_inner().map_err(|e| to_io(e.to_string()))?;
    rad3d_io::write_atomic(path, &bytes)?;
    Ok(())
}

fn positives_of(values: &[u8], n: usize, rows: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut counts = vec![0; n];
    for r in rows {
        for (c, v) in counts.iter_mut().zip(&values[r * n..(r + 1) * n]) {
            *c += usize::from(*v);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_any_names_and_writes_back_the_same_file() {
        let (dir, path) =
            file("impression_id,PE,\"Effusion, pleural\",Atelectasis\na,1,0,1\nb,0,0,0\n");
        let m = LabelMatrix::read(&path).unwrap();
        assert_eq!(m.id_column(), "impression_id");
        assert_eq!(
            m.labels().names(),
            ["PE", "Effusion, pleural", "Atelectasis"]
        );
        assert_eq!(m.ids(), ["a", "b"]);
        assert_eq!(m.row(0), [1, 0, 1]);
        assert_eq!(m.positives(), [1, 0, 1]);
        let out = dir.path().join("again.csv");
        m.write(&out).unwrap();
        assert_eq!(LabelMatrix::read(&out).unwrap(), m);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            std::fs::read_to_string(&path).unwrap()
        );
    }

    #[test]
    fn bad_files_are_typed_errors_naming_line_and_value() {
        let (_d, p) = file("id,A,B\nx,1,0\ny,0,yes\n");
        match LabelMatrix::read(&p).unwrap_err() {
            ClassifierError::NotBinary {
                line,
                column,
                value,
                ..
            } => assert_eq!((line, column.as_str(), value.as_str()), (3, "B", "yes")),
            e => panic!("{e}"),
        }
        let (_d, p) = file("id,A,B\nx,1,0\nx,0,1\n");
        assert!(matches!(
            LabelMatrix::read(&p).unwrap_err(),
            ClassifierError::DuplicateId { line: 3, .. }
        ));
        let (_d, p) = file("id,A,B\n,1,0\n");
        assert!(matches!(
            LabelMatrix::read(&p).unwrap_err(),
            ClassifierError::MissingId { line: 2, .. }
        ));
        let (_d, p) = file("id,A,A\nx,1,0\n");
        assert!(matches!(
            LabelMatrix::read(&p).unwrap_err(),
            ClassifierError::DuplicateLabel { .. }
        ));
        let (_d, p) = file("id,A,B\nx,1\n");
        let e = LabelMatrix::read(&p).unwrap_err();
        assert!(matches!(e, ClassifierError::Csv { .. }), "{e}");
        let (_d, p) = file("id,A\n");
        assert!(
            LabelMatrix::read(&p)
                .unwrap_err()
                .to_string()
                .contains("no studies")
        );
        let (_d, p) = file("id,A,B\nx,0.5,0\n");
        assert!(
            LabelMatrix::read(&p)
                .unwrap_err()
                .to_string()
                .contains("`0.5` is not 0 or 1")
        );
    }
}
