//! A label set from extracted entities, as the paper builds INSPECT's: entity mentions
//! counted over all reports, synonyms merged by UMLS CUI, a concept kept when it occurs more
//! than a threshold number of times (1,000 in the paper), and a per-study label CSV from
//! each study's entity list.
//!
//! The extraction itself (ReXKG, an LLM, a NER model) happens outside; it hands over two
//! CSV files (RFC 4180, header required, column order free):
//!
//! - **entity table**: `entity,cui,count` — one row per surface form, its UMLS CUI and how
//!   many times it occurs; a CUI may appear on many rows (its synonyms).
//! - **mentions**: first column the study id (its name is kept as the label CSV's id column,
//!   e.g. `impression_id`), then `entity` and optionally `cui`; one row per entity found in a
//!   study. A row's `cui`, when given, decides its concept; otherwise the entity is looked up
//!   in the entity table (case and surrounding space ignored). A row with an empty entity
//!   lists a study with no finding, so that it gets a row of zeros.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{ClassifierError, Result};
use crate::label_matrix::{LabelMatrix, write_csv};
use crate::labels::LabelSet;

/// One row of the entity table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityCount {
    /// The surface form.
    pub entity: String,
    /// Its UMLS concept id.
    pub cui: String,
    /// Occurrences over all reports.
    pub count: u64,
}

/// A concept kept as a label: its synonyms merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedLabel {
    /// The label name: the concept's most frequent surface form (ties: the first in
    /// alphabetical order).
    pub name: String,
    /// The UMLS concept id.
    pub cui: String,
    /// Occurrences of all its surface forms together.
    pub count: u64,
    /// Every surface form, most frequent first.
    pub synonyms: Vec<String>,
}

/// An open CSV file: its reader, the positions of the required and optional columns, and
/// the name of its first column.
struct Columns {
    reader: csv::Reader<std::fs::File>,
    required: Vec<usize>,
    optional: Vec<Option<usize>>,
    first: String,
}

/// A CSV reader over `path` and the position of each named column in its header.
fn open_with_columns(path: &Path, required: &[&str], optional: &[&str]) -> Result<Columns> {
    let file = std::fs::File::open(path).map_err(|e| ClassifierError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_err(path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let find = |name: &str| header.iter().position(|h| h == name);
    let mut cols = Vec::with_capacity(required.len());
    for name in required {
        cols.push(find(name).ok_or_else(|| {
            csv_err(
                path,
                1,
                format!("no column `{name}` (columns: {})", header.join(", ")),
            )
        })?);
    }
    Ok(Columns {
        optional: optional.iter().map(|n| find(n)).collect(),
        first: header.first().cloned().unwrap_or_default(),
        reader,
        required: cols,
    })
}

fn csv_err(path: &Path, line: u64, reason: String) -> ClassifierError {
    ClassifierError::Csv {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

/// Reads an entity table (`entity,cui,count`).
///
/// # Errors
/// [`ClassifierError::Csv`] naming the line for a missing column, an empty entity or CUI, a
/// count that is not a whole number, or a surface form listed twice.
pub fn read_entity_table(path: impl AsRef<Path>) -> Result<Vec<EntityCount>> {
    let path = path.as_ref();
    let Columns {
        mut reader,
        required: cols,
        ..
    } = open_with_columns(path, &["entity", "cui", "count"], &[])?;
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record
            .map_err(|e| csv_err(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(cols[i]).unwrap_or("").trim();
        let (entity, cui, raw) = (cell(0), cell(1), cell(2));
        if entity.is_empty() || cui.is_empty() {
            return Err(csv_err(path, line, "empty `entity` or `cui`".to_string()));
        }
        let count: u64 = raw
            .parse()
            .map_err(|_| csv_err(path, line, format!("count `{raw}` is not a whole number")))?;
        if let Some(first) = seen.insert(entity.to_lowercase(), line) {
            return Err(csv_err(
                path,
                line,
                format!("entity `{entity}` already listed on line {first}"),
            ));
        }
        rows.push(EntityCount {
            entity: entity.to_string(),
            cui: cui.to_string(),
            count,
        });
    }
    Ok(rows)
}

/// Merges surface forms by CUI and keeps the concepts occurring more than `more_than`
/// times, most frequent first (ties by name).
///
/// # Errors
/// [`ClassifierError::DuplicateLabel`] when two kept concepts would share a name.
pub fn merge_by_cui(rows: &[EntityCount], more_than: u64) -> Result<Vec<MergedLabel>> {
    let mut by_cui: BTreeMap<&str, Vec<&EntityCount>> = BTreeMap::new();
    for row in rows {
        by_cui.entry(row.cui.as_str()).or_default().push(row);
    }
    let mut kept: Vec<MergedLabel> = by_cui
        .into_iter()
        .filter_map(|(cui, mut forms)| {
            let count = forms.iter().map(|f| f.count).sum::<u64>();
            if count <= more_than {
                return None;
            }
            forms.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.entity.cmp(&b.entity)));
            Some(MergedLabel {
                name: forms[0].entity.clone(),
                cui: cui.to_string(),
                count,
                synonyms: forms.iter().map(|f| f.entity.clone()).collect(),
            })
        })
        .collect();
    kept.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let names: Vec<&str> = kept.iter().map(|m| m.name.as_str()).collect();
    if !names.is_empty() {
        LabelSet::named("entity table", &names)?;
    }
    Ok(kept)
}

/// The label set of merged concepts, in their order.
///
/// # Errors
/// As [`LabelSet::from_names`] (an empty list when nothing passed the threshold).
pub fn label_set_of(kept: &[MergedLabel]) -> Result<LabelSet> {
    let names: Vec<&str> = kept.iter().map(|m| m.name.as_str()).collect();
    LabelSet::named("entity table (nothing above the threshold)", &names)
}

/// Writes the kept concepts as `label,cui,count,synonyms` (synonyms joined by `|`).
///
/// # Errors
/// [`ClassifierError::Io`] when the file cannot be written.
pub fn write_label_set(path: impl AsRef<Path>, kept: &[MergedLabel]) -> Result<()> {
    write_csv(path.as_ref(), |w| {
        w.write_record(["label", "cui", "count", "synonyms"])?;
        for m in kept {
            let count = m.count.to_string();
            let synonyms = m.synonyms.join("|");
            w.write_record([m.name.as_str(), m.cui.as_str(), &count, &synonyms])?;
        }
        Ok(())
    })
}

/// What [`study_labels`] could not place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentionSkips {
    /// Mentions whose entity is neither in the table nor given a CUI.
    pub unknown_entity: usize,
    /// Mentions of concepts below the threshold.
    pub below_threshold: usize,
}

/// The per-study label matrix: study `s` is positive for a kept concept when one of its
/// mentions maps to the concept's CUI. Studies appear in first-mention order.
///
/// # Errors
/// [`ClassifierError::Csv`] for a missing `entity` column or an unreadable row,
/// [`ClassifierError::MissingId`] for a row without a study id, and the errors of
/// [`label_set_of`].
pub fn study_labels(
    mentions: impl AsRef<Path>,
    table: &[EntityCount],
    kept: &[MergedLabel],
) -> Result<(LabelMatrix, MentionSkips)> {
    let path = mentions.as_ref();
    let labels = label_set_of(kept)?;
    let Columns {
        mut reader,
        required: cols,
        optional: opt,
        first: id_column,
    } = open_with_columns(path, &["entity"], &["cui"])?;
    let cui_of_entity: HashMap<String, &str> = table
        .iter()
        .map(|r| (r.entity.trim().to_lowercase(), r.cui.as_str()))
        .collect();
    let label_of_cui: HashMap<&str, usize> = kept
        .iter()
        .enumerate()
        .map(|(i, m)| (m.cui.as_str(), i))
        .collect();
    let n = labels.len();
    let mut index: HashMap<String, usize> = HashMap::new();
    let (mut ids, mut values) = (Vec::new(), Vec::new());
    let mut skips = MentionSkips::default();
    for record in reader.records() {
        let record = record
            .map_err(|e| csv_err(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(0).unwrap_or("").trim();
        if id.is_empty() {
            return Err(ClassifierError::MissingId {
                path: path.to_path_buf(),
                line,
                column: id_column.clone(),
            });
        }
        let row = *index.entry(id.to_string()).or_insert_with(|| {
            ids.push(id.to_string());
            values.extend(std::iter::repeat_n(0u8, n));
            ids.len() - 1
        });
        let entity = record.get(cols[0]).unwrap_or("").trim();
        let given = opt[0]
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if entity.is_empty() && given.is_none() {
            continue;
        }
        let cui = match given {
            Some(c) => c,
            None => match cui_of_entity.get(&entity.to_lowercase()) {
                Some(c) => c,
                None => {
                    skips.unknown_entity += 1;
                    continue;
                }
            },
        };
        match label_of_cui.get(cui) {
            Some(&j) => values[row * n + j] = 1,
            None => skips.below_threshold += 1,
        }
    }
    if ids.is_empty() {
        return Err(csv_err(path, 0, "no mentions below the header".to_string()));
    }
    let matrix = LabelMatrix::new(id_column, labels, ids, values)?;
    Ok((matrix, skips))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn synonyms_merge_by_cui_and_the_threshold_is_strict() {
        let d = tempfile::tempdir().unwrap();
        let table = write(
            d.path(),
            "e.csv",
            "entity,cui,count\n\
             pleural effusion,C0032227,700\n\
             effusion,C0032227,400\n\
             atelectasis,C0004144,1001\n\
             nodule,C0028259,1000\n\
             embolus,C0013922,300\n",
        );
        let rows = read_entity_table(&table).unwrap();
        let kept = merge_by_cui(&rows, 1000).unwrap();
        let names: Vec<&str> = kept.iter().map(|m| m.name.as_str()).collect();
        // 1100 (two synonyms) > 1001 > 1000 (not kept: the paper keeps "> 1,000").
        assert_eq!(names, ["pleural effusion", "atelectasis"]);
        assert_eq!(kept[0].count, 1100);
        assert_eq!(kept[0].synonyms, ["pleural effusion", "effusion"]);

        let mentions = write(
            d.path(),
            "m.csv",
            "impression_id,entity,cui\n\
             s1,Effusion,\n\
             s1,nodule,\n\
             s2,,\n\
             s3,collapse,C0004144\n\
             s3,mystery,\n",
        );
        let (m, skips) = study_labels(&mentions, &rows, &kept).unwrap();
        assert_eq!(m.id_column(), "impression_id");
        assert_eq!(m.ids(), ["s1", "s2", "s3"]);
        assert_eq!(m.values(), [1, 0, 0, 0, 0, 1]);
        assert_eq!(
            skips,
            MentionSkips {
                unknown_entity: 1,
                below_threshold: 1
            }
        );
        let out = d.path().join("set.csv");
        write_label_set(&out, &kept).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with("label,cui,count,synonyms\npleural effusion,C0032227,1100,pleural effusion|effusion\n"),
            "{text}"
        );
    }

    #[test]
    fn bad_tables_name_the_line() {
        let d = tempfile::tempdir().unwrap();
        let t = write(d.path(), "a.csv", "entity,cui,count\nx,C1,12\ny,C2,many\n");
        let e = read_entity_table(&t).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`many`"), "{e}");
        let t = write(d.path(), "b.csv", "entity,count\nx,1\n");
        let e = read_entity_table(&t).unwrap_err().to_string();
        assert!(e.contains("no column `cui`"), "{e}");
        let t = write(d.path(), "c.csv", "entity,cui,count\nx,C1,1\nX,C2,1\n");
        let e = read_entity_table(&t).unwrap_err().to_string();
        assert!(e.contains("already listed on line 2"), "{e}");
        let rows = vec![EntityCount {
            entity: "a".into(),
            cui: "C1".into(),
            count: 5,
        }];
        let kept = merge_by_cui(&rows, 10).unwrap();
        assert!(kept.is_empty());
        let m = write(d.path(), "m.csv", "id,entity\ns,a\n");
        assert!(study_labels(&m, &rows, &kept).is_err());
    }
}
