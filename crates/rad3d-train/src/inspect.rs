//! The INSPECT layout (Huang et al. 2023, CT pulmonary angiograms with impressions) read
//! into the per-split files every other command takes, as CT-RATE's are.
//!
//! INSPECT ships `Final_Impressions.csv` (`impression_id`, `impressions`) and one volume per
//! study, `CTPA/<impression_id>.nii.gz`. Its anomaly labels and split are the user's: a
//! label CSV keyed by `impression_id` (`rad3d labels from-entities` writes one) and split
//! files, one id a line (`rad3d split` writes `train.txt`, `valid.txt`, `test.txt`).
//!
//! For each split this writes `<split>_reports.csv` (`VolumeName`, `Findings_EN`: the
//! impression is the text to generate), `<split>_labels.csv` (`VolumeName` + the label
//! columns) and `<split>_volumes.csv` (`VolumeName`, for `rad3d embed` and `rad3d report`
//! with `--data-dir CTPA`), with `VolumeName` = `<impression_id>.nii.gz`.

use std::collections::HashSet;
use std::path::Path;

use crate::dataset::{read_csv_header, read_labels, read_reports};
use crate::error::{Result, TrainError};

/// INSPECT's id column.
pub const INSPECT_ID: &str = "impression_id";
/// INSPECT's text column.
pub const INSPECT_TEXT: &str = "impressions";

/// Rows written per split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectSplit {
    /// `train`, `valid` or `test`.
    pub name: String,
    /// Studies written (listed, with an impression and labels).
    pub studies: usize,
    /// Listed ids without an impression (or with an empty one).
    pub missing_report: usize,
    /// Listed ids without a labels row.
    pub missing_labels: usize,
}

/// Reads the INSPECT layout and writes the per-split files into `out` (see the module
/// documentation). `splits` holds `train.txt` and `test.txt`, and optionally `valid.txt`.
///
/// # Errors
/// [`TrainError::Csv`] for unreadable files, a missing column, a duplicate id or an id in
/// two splits; [`TrainError::Data`] when a split ends up empty.
pub fn write_inspect_splits(
    impressions: &Path,
    labels: &Path,
    splits: &Path,
    out: &Path,
) -> Result<Vec<InspectSplit>> {
    let (reports, _) = read_reports(impressions, INSPECT_ID, INSPECT_TEXT)?;
    let reports: std::collections::HashMap<String, String> = reports.into_iter().collect();
    let header = read_csv_header(labels)?;
    let id_col = header.first().cloned().unwrap_or_default();
    let names: Vec<String> = header.iter().skip(1).cloned().collect();
    let table = read_labels(labels, &id_col, &names)?;
    std::fs::create_dir_all(out).map_err(crate::error::io_err(out))?;
    let mut seen = HashSet::new();
    let mut written = Vec::new();
    for name in ["train", "valid", "test"] {
        let list = splits.join(format!("{name}.txt"));
        if name == "valid" && !list.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&list).map_err(crate::error::io_err(&list))?;
        let mut split = InspectSplit {
            name: name.to_string(),
            studies: 0,
            missing_report: 0,
            missing_labels: 0,
        };
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut report_csv = String::from("VolumeName,Findings_EN\n");
        let mut labels_csv = format!(
            "VolumeName,{}\n",
            names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(",")
        );
        let mut volumes_csv = String::from("VolumeName\n");
        for id in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !seen.insert(id.to_string()) {
                return Err(TrainError::Csv {
                    path: list.clone(),
                    reason: format!("`{id}` is listed twice or in two splits"),
                });
            }
            let Some(report) = reports.get(id) else {
                split.missing_report += 1;
                continue;
            };
            let Some(row) = table.rows.get(id) else {
                split.missing_labels += 1;
                continue;
            };
            let volume = format!("{id}.nii.gz");
            report_csv.push_str(&format!("{},{}\n", quote(&volume), quote(report)));
            let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
            labels_csv.push_str(&format!("{},{}\n", quote(&volume), cells.join(",")));
            volumes_csv.push_str(&format!("{}\n", quote(&volume)));
            split.studies += 1;
        }
        if split.studies == 0 {
            return Err(TrainError::Data {
                what: list.display().to_string(),
                reason: format!(
                    "no study with an impression and labels ({} without an impression, {} \
                     without labels)",
                    split.missing_report, split.missing_labels
                ),
            });
        }
        for (file, body) in [
            (format!("{name}_reports.csv"), report_csv),
            (format!("{name}_labels.csv"), labels_csv),
            (format!("{name}_volumes.csv"), volumes_csv),
        ] {
            rad3d_io::write_atomic(&out.join(file), body.as_bytes())?;
        }
        written.push(split);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_become_ct_rate_shaped_files() {
        let d = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(d.path().join(name), text).unwrap();
        w(
            "imp.csv",
            "impression_id,impressions\nA,\"1. No PE.\n2. Small effusion.\"\nB,Acute PE.\nC,\nD,Normal.\n",
        );
        w(
            "labels.csv",
            "impression_id,PE,\"Effusion, pleural\"\nA,0,1\nB,1,0\nC,0,0\n",
        );
        std::fs::create_dir(d.path().join("split")).unwrap();
        w("split/train.txt", "A\nC\nD\n");
        w("split/test.txt", "B\n");
        let out = d.path().join("out");
        let done = write_inspect_splits(
            &d.path().join("imp.csv"),
            &d.path().join("labels.csv"),
            &d.path().join("split"),
            &out,
        )
        .unwrap();
        assert_eq!(done[0].studies, 1);
        assert_eq!((done[0].missing_report, done[0].missing_labels), (1, 1));
        assert_eq!(done[1].name, "test");
        let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
        assert_eq!(
            read("train_reports.csv"),
            "VolumeName,Findings_EN\n\"A.nii.gz\",\"1. No PE.\n2. Small effusion.\"\n"
        );
        assert_eq!(
            read("test_labels.csv"),
            "VolumeName,\"PE\",\"Effusion, pleural\"\n\"B.nii.gz\",1,0\n"
        );
        assert_eq!(read("test_volumes.csv"), "VolumeName\n\"B.nii.gz\"\n");

        w("split/test.txt", "B\nA\n");
        let e = write_inspect_splits(
            &d.path().join("imp.csv"),
            &d.path().join("labels.csv"),
            &d.path().join("split"),
            &out,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`A` is listed twice"), "{e}");
    }
}
