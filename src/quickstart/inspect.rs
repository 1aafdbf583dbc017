//! An INSPECT-shaped folder of synthetic studies, so that the documented INSPECT workflow
//! (`docs/inspect.md`) runs end to end without the dataset.
//!
//! The layout is INSPECT's: `CTPA/<impression_id>.nii.gz` and `Final_Impressions.csv`
//! (`impression_id`, `impressions`). Next to them are the two files an entity extractor
//! (ReXKG, an LLM) hands over, which the workflow turns into labels: `entities.csv`
//! (`entity,cui,count`: every surface form with its concept and how often it occurs) and
//! `mentions.csv` (`impression_id,entity`: the entities found in each report). Each of the
//! quickstart's findings is one concept named by two synonyms; one more concept occurs too
//! rarely to become a label.

use std::collections::BTreeMap;
use std::path::Path;

use rad3d_io::SplitMix64;
use rad3d_volume::{Phantom, PhantomConfig, WriteDtype, write_nifti};

use super::cohort::{FINDINGS, io, templates};
use super::ct_rate::draw_study;
use crate::error::Result;

/// Surface forms of each finding's concept (a made-up CUI each), most common first.
const SYNONYMS: [(&str, &str, &str); 5] = [
    ("C9000001", "cardiomegaly", "enlarged heart"),
    ("C9000002", "pleural effusion", "effusion"),
    ("C9000003", "consolidation", "airspace consolidation"),
    ("C9000004", "bronchiectasis", "bronchial dilatation"),
    (
        "C9000005",
        "septal thickening",
        "interlobular septal thickening",
    ),
];

/// A concept that occurs in one report only: below any sensible threshold.
const RARE: (&str, &str) = ("C9000099", "azygos lobe");

/// Writes an INSPECT-shaped folder of `n` studies under `dir`, drawn from `seed`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_inspect_layout(dir: &Path, n: usize, seed: u64) -> Result<()> {
    debug_assert_eq!(SYNONYMS.len(), FINDINGS.len());
    let mut rng = SplitMix64::new(seed);
    let templates = templates();
    let ctpa = dir.join("CTPA");
    std::fs::create_dir_all(&ctpa).map_err(io(&ctpa))?;
    let mut impressions = String::from("impression_id,impressions\n");
    let mut mentions = String::from("impression_id,entity\n");
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for i in 0..n {
        let id = format!("PE{:06x}", rng.next_u64() & 0xff_ffff);
        let id = format!("{id}{i:04}");
        let (present, findings, sentences) = draw_study(&mut rng, &templates);
        let volume =
            Phantom::generate(&PhantomConfig::small(rng.next_u64()).with_findings(findings))?;
        write_nifti(
            ctpa.join(format!("{id}.nii.gz")),
            &volume,
            WriteDtype::Int16,
        )?;
        impressions.push_str(&format!(
            "{id},\"{}\"\n",
            sentences.join(" ").replace('"', "\"\"")
        ));
        let mut any = false;
        for (yes, (_, common, synonym)) in present.iter().zip(&SYNONYMS) {
            if *yes {
                // The extractor reports the wording it found: mostly the common form.
                let form = if rng.uniform() < 0.7 { common } else { synonym };
                mentions.push_str(&format!("{id},{form}\n"));
                *counts.entry(form).or_default() += 1;
                any = true;
            }
        }
        if i == 0 {
            mentions.push_str(&format!("{id},{}\n", RARE.1));
            *counts.entry(RARE.1).or_default() += 1;
            any = true;
        }
        if !any {
            mentions.push_str(&format!("{id},\n"));
        }
    }
    let mut entities = String::from("entity,cui,count\n");
    let forms = SYNONYMS
        .iter()
        .flat_map(|(cui, a, b)| [(*a, *cui), (*b, *cui)])
        .chain([(RARE.1, RARE.0)]);
    for (form, cui) in forms {
        entities.push_str(&format!(
            "{form},{cui},{}\n",
            counts.get(form).copied().unwrap_or(0)
        ));
    }
    for (file, text) in [
        ("Final_Impressions.csv", impressions),
        ("mentions.csv", mentions),
        ("entities.csv", entities),
    ] {
        rad3d_io::write_atomic(&dir.join(file), text.as_bytes())?;
    }
    Ok(())
}
