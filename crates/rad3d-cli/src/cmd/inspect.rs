//! `rad3d inspect`: the INSPECT layout (its impressions CSV, the user's label CSV and split
//! files) read into the per-split files that `embed`, `classifier`, `train`, `report` and
//! `evaluate` take (`rad3d_train::write_inspect_splits`; walk-through in `docs/inspect.md`).

use std::path::PathBuf;

use anyhow::Result;
use rad3d_prefix::train::write_inspect_splits;

use crate::outcome::Outcome;

/// Flags of `rad3d inspect`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// INSPECT's `Final_Impressions.csv` (`impression_id`, `impressions`).
    #[arg(long)]
    impressions: PathBuf,
    /// Label CSV keyed by `impression_id` (e.g. `rad3d labels from-entities`' labels.csv).
    #[arg(long)]
    labels: PathBuf,
    /// Folder of split files, one id a line: train.txt, test.txt, optional valid.txt
    /// (`rad3d split` writes them).
    #[arg(long)]
    splits: PathBuf,
    /// Output folder: <split>_reports.csv, <split>_labels.csv, <split>_volumes.csv.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `rad3d inspect`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    crate::cmd::refuse_overwrite(&args.out, &[&args.splits])?;
    let written = write_inspect_splits(&args.impressions, &args.labels, &args.splits, &args.out)?;
    for s in &written {
        if s.missing_report + s.missing_labels > 0 {
            tracing::warn!(
                "{}: {} listed studies have no impression and {} no labels; left out",
                s.name,
                s.missing_report,
                s.missing_labels
            );
        }
        tracing::info!("{}: {} studies → {}", s.name, s.studies, args.out.display());
    }
    Ok(Outcome::Done)
}
