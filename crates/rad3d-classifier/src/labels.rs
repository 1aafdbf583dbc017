//! Label sets: CT-RATE's abnormalities (the default), sets read from a label CSV's header,
//! sets kept from an entity table (`entities.rs`), or any list.

use std::path::Path;

use crate::error::{ClassifierError, Result};

/// CT-RATE's 18 abnormality labels, in the order of the dataset's label CSVs
/// (`*_predicted_labels.csv`), which is the order of CT-CLIP's logits.
///
/// The synthetic phantom of `rad3d-volume` names its findings with these strings, in this
/// order (checked by this crate's tests).
pub const CT_RATE_LABELS: [&str; 18] = [
    "Medical material",
    "Arterial wall calcification",
    "Cardiomegaly",
    "Pericardial effusion",
    "Coronary artery wall calcification",
    "Hiatal hernia",
    "Lymphadenopathy",
    "Emphysema",
    "Atelectasis",
    "Lung nodule",
    "Lung opacity",
    "Pulmonary fibrotic sequela",
    "Pleural effusion",
    "Mosaic attenuation pattern",
    "Peribronchial thickening",
    "Consolidation",
    "Bronchiectasis",
    "Interlobular septal thickening",
];

/// An ordered list of label names; index `i` is logit `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    names: Vec<String>,
}

impl LabelSet {
    /// CT-RATE's 18 abnormalities in dataset column order.
    pub fn ct_rate() -> Self {
        Self {
            names: CT_RATE_LABELS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Any list of distinct, non-empty names.
    ///
    /// # Errors
    /// [`ClassifierError::Labels`] for an empty list or name,
    /// [`ClassifierError::DuplicateLabel`] for a repeated one.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        Self::named("list", names)
    }

    /// [`LabelSet::from_names`] with errors naming `source_name`.
    pub(crate) fn named<S: AsRef<str>>(source_name: &str, names: &[S]) -> Result<Self> {
        let names: Vec<String> = names
            .iter()
            .map(|s| s.as_ref().trim().to_string())
            .collect();
        let fail = |reason: String| ClassifierError::Labels {
            source_name: source_name.to_string(),
            reason,
        };
        if names.is_empty() {
            return Err(fail("no labels".to_string()));
        }
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                return Err(fail(format!("label {i} is empty")));
            }
            if names[..i].contains(n) {
                return Err(ClassifierError::DuplicateLabel {
                    source_name: source_name.to_string(),
                    name: n.clone(),
                });
            }
        }
        Ok(Self { names })
    }

    /// Reads the label names from a label CSV's header (first record, RFC 4180 quoting):
    /// the first column is the study id (`VolumeName`, `impression_id`, any name), every
    /// other column is a label, in logit order.
    ///
    /// # Errors
    /// [`ClassifierError::Io`] when the file cannot be read; [`ClassifierError::Labels`]
    /// or [`ClassifierError::DuplicateLabel`] naming the file when the header is malformed,
    /// has no label columns or repeats one.
    pub fn from_csv_header(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| ClassifierError::io(path, e))?;
        let source_name = path.display().to_string();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(file);
        let header = match reader.records().next() {
            Some(record) => record.map_err(|e| ClassifierError::Labels {
                source_name: source_name.clone(),
                reason: format!("header: {e}"),
            })?,
            None => csv::StringRecord::new(),
        };
        let names: Vec<&str> = header
            .iter()
            .skip(1)
            .map(|c| c.trim().trim_start_matches('\u{feff}'))
            .collect();
        Self::named(&source_name, &names)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the set is empty (never true for a constructed set).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names in logit order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Index of a label by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_rate_has_eighteen_in_dataset_order() {
        let set = LabelSet::ct_rate();
        assert_eq!(set.len(), 18);
        assert_eq!(set.names()[0], "Medical material");
        assert_eq!(set.index_of("Lung nodule"), Some(9));
        assert_eq!(set.names()[17], "Interlobular septal thickening");
    }

    #[test]
    fn csv_header_skips_volume_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(
            &path,
            "\u{feff}VolumeName,\"PE, acute\",\"Septal \"\"thickening\"\"\nlines\",Cardiomegaly\na.nii.gz,1,0,0\n",
        )
        .unwrap();
        let set = LabelSet::from_csv_header(&path).unwrap();
        assert_eq!(
            set.names(),
            ["PE, acute", "Septal \"thickening\"\nlines", "Cardiomegaly"]
        );
    }

    #[test]
    fn bad_lists_are_errors() {
        assert!(LabelSet::from_names::<&str>(&[]).is_err());
        let err = LabelSet::from_names(&["a", "a"]).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.csv");
        std::fs::write(&path, "VolumeName\n").unwrap();
        let err = LabelSet::from_csv_header(&path).unwrap_err();
        assert!(err.to_string().contains("empty.csv"), "{err}");
    }
}
