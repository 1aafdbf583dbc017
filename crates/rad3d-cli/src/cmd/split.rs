//! `rad3d split`: a multi-label stratified train/test (and optionally validation) split of
//! a label CSV by iterative stratification (Sechidis et al. 2011), fixed by a seed.
//!
//! Writes `train.txt`, `test.txt` (and `valid.txt` with `--valid-fraction`), one study id a
//! line in the label CSV's order, and each label's share of positives in every part as
//! `proportions.csv` and `proportions.md`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rad3d_prefix::classifier::{LabelMatrix, ProportionTable, iterative_stratification};

use crate::outcome::{Outcome, usage};

/// Flags of `rad3d split`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Label CSV: an id column, then one 0/1 column per label.
    #[arg(long)]
    labels: PathBuf,
    /// Share of the studies in the test part.
    #[arg(long)]
    test_fraction: f64,
    /// Share of the studies in a validation part (`valid.txt`; 0: none).
    #[arg(long, default_value_t = 0.0)]
    valid_fraction: f64,
    /// Seed of the tie-breaking draws: the same seed gives the same split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `rad3d split`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    let (test, valid) = (args.test_fraction, args.valid_fraction);
    let in_range = test > 0.0 && test < 1.0 && (0.0..1.0).contains(&valid);
    if !in_range || test + valid >= 1.0 {
        return usage(format!(
            "--test-fraction {test} and --valid-fraction {valid}: each in [0, 1), test above 0, \
             together below 1"
        ));
    }
    let matrix = LabelMatrix::read(&args.labels)?;
    let (names, fractions): (Vec<&str>, Vec<f64>) = if valid > 0.0 {
        (
            vec!["train", "valid", "test"],
            vec![1.0 - test - valid, valid, test],
        )
    } else {
        (vec!["train", "test"], vec![1.0 - test, test])
    };
    let fold_of = iterative_stratification(&matrix, &fractions, args.seed)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (j, name) in names.iter().enumerate() {
        let ids: String = matrix
            .ids()
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f == j)
            .map(|(id, _)| format!("{id}\n"))
            .collect();
        rad3d_prefix::io::write_atomic(&args.out.join(format!("{name}.txt")), ids.as_bytes())?;
    }
    let table = ProportionTable::new(&matrix, &fold_of, &names);
    rad3d_prefix::io::write_atomic(&args.out.join("proportions.csv"), table.to_csv().as_bytes())?;
    let md = table.to_markdown();
    rad3d_prefix::io::write_atomic(&args.out.join("proportions.md"), md.as_bytes())?;
    let worst = table
        .rows
        .iter()
        .map(|r| r.max_deviation_pp())
        .fold(0.0, f64::max);
    tracing::info!(
        "{} studies → {}; largest label share deviation {worst:.2} pp",
        matrix.len(),
        names
            .iter()
            .zip(&table.sizes)
            .map(|(n, s)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !crate::logging::quiet() {
        print!("{md}");
    }
    Ok(Outcome::Done)
}
