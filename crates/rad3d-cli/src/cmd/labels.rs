//! `rad3d labels from-entities`: a label set from extracted report entities, as the paper
//! builds INSPECT's (synonyms merged by UMLS CUI, concepts kept above a count), and the
//! per-study label CSV. Input formats: `rad3d_classifier`'s `entities` module and
//! `docs/inspect.md`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rad3d_prefix::classifier::{merge_by_cui, read_entity_table, study_labels, write_label_set};

use crate::outcome::Outcome;

/// `rad3d labels` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Keep the concepts of an entity table that occur often enough; write the label set
    /// and every study's labels.
    FromEntities(FromEntitiesArgs),
}

/// Flags of `rad3d labels from-entities`.
#[derive(clap::Args, Debug)]
pub(crate) struct FromEntitiesArgs {
    /// Entity table: `entity,cui,count` rows (one per surface form).
    #[arg(long)]
    entities: PathBuf,
    /// Mentions: study id (first column), `entity`, optional `cui`; one row per entity found
    /// in a study, an empty entity for a study with none.
    #[arg(long)]
    mentions: PathBuf,
    /// Keep concepts occurring more than this many times (the paper: 1000).
    #[arg(long, default_value_t = 1000)]
    more_than: u64,
    /// Output folder: `label_set.csv` (label, cui, count, synonyms) and `labels.csv`.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `rad3d labels …`.
pub(crate) fn run(command: Command) -> Result<Outcome> {
    let Command::FromEntities(args) = command;
    let table = read_entity_table(&args.entities)?;
    let kept = merge_by_cui(&table, args.more_than)?;
    anyhow::ensure!(
        !kept.is_empty(),
        "{}: no concept occurs more than {} times; lower --more-than",
        args.entities.display(),
        args.more_than
    );
    let (matrix, skips) = study_labels(&args.mentions, &table, &kept)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    write_label_set(args.out.join("label_set.csv"), &kept)?;
    matrix.write(args.out.join("labels.csv"))?;
    if skips.unknown_entity > 0 {
        tracing::warn!(
            "{}: {} mentions name an entity missing from {} and carry no cui; left out",
            args.mentions.display(),
            skips.unknown_entity,
            args.entities.display()
        );
    }
    tracing::info!(
        "{} of {} concepts kept (> {} occurrences), {} studies labelled → {}",
        kept.len(),
        table
            .iter()
            .map(|r| r.cui.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        args.more_than,
        matrix.len(),
        args.out.display()
    );
    Ok(Outcome::Done)
}
