//! A CT-RATE-shaped folder of synthetic studies, so that the documented CT-RATE workflow
//! (`docs/ct-rate.md`) runs end to end without the dataset.
//!
//! The layout and quirks are CT-RATE's: `dataset/{train,valid}/train_N/train_N_a/
//! train_N_a_1.nii.gz`; `radiology_text_reports/{train,validation}_reports.csv`
//! (`VolumeName`, `ClinicalInformation_EN`, `Technique_EN`, `Findings_EN`,
//! `Impressions_EN`); `metadata/{train,validation}_metadata.csv` whose `XYSpacing`
//! (`"[5.6, 5.6]"`), `ZSpacing`, `RescaleSlope` and `RescaleIntercept` are right where the
//! NIfTI header is wrong (1 mm voxels, values stored as HU + 1024 without scaling), with
//! one volume listed twice; and `multi_abnormality_labels/{train,valid}_predicted_labels.csv`
//! with CT-RATE's 18 label columns. Reports state the quickstart's five findings, so the
//! quickstart's small LM (`rad3d quickstart --decoder-only`) can write them.

use std::path::Path;

use rad3d_classifier::CT_RATE_LABELS;
use rad3d_io::SplitMix64;
use rad3d_volume::{Finding, Phantom, PhantomConfig, Side, Volume, WriteDtype, write_nifti};

use super::cohort::{FINDINGS, io, templates};
use crate::error::Result;

/// Values are stored shifted by this much, with a header that does not say so.
const STORED_OFFSET: f32 = 1024.0;

/// One study of the folder.
struct Study {
    name: String,
    present: Vec<bool>,
    report: String,
}

/// Writes a CT-RATE-shaped folder with `n_train` training and `n_valid` validation studies
/// under `dir` (created if needed), drawn from `seed`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_ct_rate_layout(dir: &Path, n_train: usize, n_valid: usize, seed: u64) -> Result<()> {
    let mut rng = SplitMix64::new(seed);
    let templates = templates();
    for (split, folder, meta, labels_file, n) in [
        ("train", "train", "train", "train", n_train),
        ("valid", "valid", "validation", "valid", n_valid),
    ] {
        let mut studies = Vec::with_capacity(n);
        for i in 1..=n {
            let name = format!("{split}_{i}_a_1");
            let (present, findings, sentences) = draw_study(&mut rng, &templates);
            let volume =
                Phantom::generate(&PhantomConfig::small(rng.next_u64()).with_findings(findings))?;
            let folder_path = dir
                .join("dataset")
                .join(folder)
                .join(format!("{split}_{i}"))
                .join(format!("{split}_{i}_a"));
            std::fs::create_dir_all(&folder_path).map_err(io(&folder_path))?;
            write_quirky(&folder_path.join(format!("{name}.nii.gz")), volume)?;
            studies.push(Study {
                name,
                present,
                report: sentences.join(" "),
            });
        }
        write_csvs(dir, meta, labels_file, &studies)?;
    }
    Ok(())
}

/// One synthetic study: which of the quickstart's findings it has (each with chance 0.4),
/// the phantom findings to draw, and one report sentence per finding.
pub(super) fn draw_study(
    rng: &mut SplitMix64,
    templates: &[rad3d_train::synthetic::FindingTemplate],
) -> (Vec<bool>, Vec<Finding>, Vec<String>) {
    let mut present = Vec::new();
    let mut findings = Vec::new();
    let mut sentences = Vec::new();
    for ((finding, _), template) in FINDINGS.iter().zip(templates) {
        let yes = rng.uniform() < 0.4;
        present.push(yes);
        let pool = if yes {
            &template.positive
        } else {
            &template.negative
        };
        sentences.push(pool[rng.below(pool.len() as u64) as usize].clone());
        if yes {
            findings.push(match finding {
                Finding::PleuralEffusion(_) if rng.uniform() < 0.5 => {
                    Finding::PleuralEffusion(Side::Left)
                }
                f => *f,
            });
        }
    }
    (present, findings, sentences)
}

/// Writes `volume` as CT-RATE's files are: 1 mm voxels in the header and values stored
/// as HU + 1024 with no scaling, so only the metadata CSV gives the right numbers.
fn write_quirky(path: &Path, volume: Volume) -> Result<()> {
    let (shape, orientation) = (volume.shape(), volume.orientation());
    let stored: Vec<f32> = volume
        .into_data()
        .iter()
        .map(|v| v + STORED_OFFSET)
        .collect();
    let wrong = Volume::from_spacing(stored, shape, [1.0, 1.0, 1.0], orientation)?;
    write_nifti(path, &wrong, WriteDtype::Int16)?;
    Ok(())
}

/// Reports, metadata (one volume listed twice) and labels of one split.
fn write_csvs(dir: &Path, meta: &str, labels_file: &str, studies: &[Study]) -> Result<()> {
    let spacing = PhantomConfig::small(0).spacing;
    let mut reports =
        String::from("VolumeName,ClinicalInformation_EN,Technique_EN,Findings_EN,Impressions_EN\n");
    let mut metadata =
        String::from("VolumeName,Manufacturer,XYSpacing,ZSpacing,RescaleSlope,RescaleIntercept\n");
    let mut labels = format!("VolumeName,{}\n", CT_RATE_LABELS.join(","));
    for (k, s) in studies.iter().enumerate() {
        let file = format!("{}.nii.gz", s.name);
        reports.push_str(&format!(
            "{file},Not given.,\"Non-contrast chest CT, axial slices.\",\"{}\",See findings.\n",
            s.report.replace('"', "\"\"")
        ));
        let row = format!(
            "{file},PHANTOM,\"[{}, {}]\",{},1,-{STORED_OFFSET}\n",
            spacing[0], spacing[1], spacing[2]
        );
        metadata.push_str(&row);
        if k == 0 {
            // CT-RATE lists some volumes twice.
            metadata.push_str(&row);
        }
        let row: Vec<&str> = CT_RATE_LABELS
            .iter()
            .map(|label| {
                let on = FINDINGS
                    .iter()
                    .zip(&s.present)
                    .any(|((_, name), &yes)| yes && name == label);
                if on { "1" } else { "0" }
            })
            .collect();
        labels.push_str(&format!("{file},{}\n", row.join(",")));
    }
    for (sub, file, text) in [
        (
            "radiology_text_reports",
            format!("{meta}_reports.csv"),
            reports,
        ),
        ("metadata", format!("{meta}_metadata.csv"), metadata),
        (
            "multi_abnormality_labels",
            format!("{labels_file}_predicted_labels.csv"),
            labels,
        ),
    ] {
        let folder = dir.join(sub);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        rad3d_io::write_atomic(&folder.join(file), text.as_bytes())?;
    }
    Ok(())
}
