//! Report files: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column and a
//! text column, and the join of generated reports to references on those ids.
//!
//! CSV is RFC 4180 (through the `csv` crate): quoted fields may hold commas, doubled quotes
//! and newlines, as CT-RATE's report files (`VolumeName,ClinicalInformation_EN,Findings_EN,
//! Impressions_EN`) do.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{MetricsError, Result};

/// Column names taken as the report text, in order of preference (any case); without one,
/// the last column that is not the id.
const TEXT_COLUMNS: [&str; 10] = [
    "report",
    "text",
    "findings",
    "findings_en",
    "generated",
    "prediction",
    "hypothesis",
    "reference",
    "hyp",
    "ref",
];

/// Whether a column names a report id: `id`, `*_id`, `study`, `volume…`, `accession`.
pub fn is_id_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id"
        || n.ends_with("_id")
        || n.ends_with("id_")
        || n == "study"
        || n.starts_with("volume")
        || n == "accession"
}

/// Picks `(id column, text column)` from header names.
///
/// # Errors
/// The reason, when no column names an id or no other column is left for the text.
fn pick_columns(names: &[String]) -> std::result::Result<(usize, usize), String> {
    let id = names.iter().position(|n| is_id_column(n)).ok_or_else(|| {
        format!(
            "no id column (id, *_id, study, volume…) among [{}]",
            names.join(", ")
        )
    })?;
    let text = TEXT_COLUMNS
        .iter()
        .find_map(|t| names.iter().position(|n| n.eq_ignore_ascii_case(t)))
        .or_else(|| (0..names.len()).rev().find(|&i| i != id))
        .ok_or_else(|| format!("no text column besides `{}`", names[id]))?;
    Ok((id, text))
}

fn report_err(path: &Path, reason: String) -> MetricsError {
    MetricsError::Reports {
        path: path.to_path_buf(),
        reason,
    }
}

/// Reads reports with their ids: `.csv` and `.jsonl`/`.ndjson` by their id and text
/// columns, any other file one report per line with its 0-based line number as id.
///
/// # Errors
/// [`MetricsError::Io`] when the file cannot be read; [`MetricsError::Reports`] naming the
/// line and column when a row is malformed or a column is missing.
pub fn read_reports(path: impl AsRef<Path>) -> Result<Vec<(String, String)>> {
    let path = path.as_ref();
    let io = |source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => read_csv(path, std::fs::File::open(path).map_err(io)?),
        "jsonl" | "ndjson" => read_jsonl(path, &std::fs::read_to_string(path).map_err(io)?),
        _ => Ok(std::fs::read_to_string(path)
            .map_err(io)?
            .lines()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.trim_end_matches('\r').to_string()))
            .collect()),
    }
}

/// Reads the id and text columns of a CSV from `reader`; `path` names it in errors.
///
/// # Errors
/// As [`read_reports`].
pub fn read_csv(path: &Path, reader: impl std::io::Read) -> Result<Vec<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| report_err(path, e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err(report_err(path, "empty CSV".into()));
    }
    let (id, text) = pick_columns(&names).map_err(|r| report_err(path, r))?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| report_err(path, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |k: usize| {
            record.get(k).map(str::to_string).ok_or_else(|| {
                report_err(
                    path,
                    format!(
                        "line {line}: no value in column `{}` ({} fields)",
                        names[k],
                        record.len()
                    ),
                )
            })
        };
        out.push((get(id)?, get(text)?));
    }
    Ok(out)
}

fn read_jsonl(path: &Path, text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cols: Option<(String, String)> = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |reason: String| report_err(path, format!("line {}: {reason}", i + 1));
        let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let obj = v.as_object().ok_or_else(|| at("not an object".into()))?;
        let (id, txt) = match &cols {
            Some(c) => c,
            None => {
                let names: Vec<String> = obj.keys().cloned().collect();
                let (a, b) = pick_columns(&names).map_err(at)?;
                cols.insert((names[a].clone(), names[b].clone()))
            }
        };
        let field = |k: &str| match obj.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(at(format!("no field {k:?}"))),
        };
        out.push((field(id)?, field(txt)?));
    }
    Ok(out)
}

/// Hypothesis texts in reference order: joined on ids (for id-keyed files), by line
/// otherwise. `what` names the hypothesis file in errors.
///
/// # Errors
/// [`MetricsError::Reports`] when the counts differ or a reference id has no report.
pub fn align_reports(
    refs: &[(String, String)],
    hyps: Vec<(String, String)>,
    what: &Path,
) -> Result<Vec<String>> {
    if refs.len() != hyps.len() {
        return Err(report_err(
            what,
            format!("{} reports but {} references", hyps.len(), refs.len()),
        ));
    }
    let mut by_id: HashMap<String, String> = hyps.into_iter().collect();
    refs.iter()
        .map(|(id, _)| {
            by_id
                .remove(id)
                .ok_or_else(|| report_err(what, format!("no report with id {id:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Vec<(String, String)>> {
        read_csv(Path::new("r.csv"), text.as_bytes())
    }

    #[test]
    fn ct_rate_columns_with_quoted_multiline_fields() {
        let rows = csv(
            "VolumeName,ClinicalInformation_EN,Findings_EN,Impressions_EN\r\n\
             a.nii.gz,\"Cough, fever\",\"Heart normal.\nNo \"\"effusion\"\".\",None\r\n\
             b.nii.gz,x,Clear lungs.,None\r\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            [
                ("a.nii.gz".into(), "Heart normal.\nNo \"effusion\".".into()),
                ("b.nii.gz".into(), "Clear lungs.".into())
            ]
        );
    }

    #[test]
    fn column_choice_and_errors() {
        // No known text column: the last non-id column.
        assert_eq!(
            csv("study,a,b\ns1,x,y\n").unwrap(),
            [("s1".into(), "y".into())]
        );
        let e = csv("name,text\nx,y\n").unwrap_err().to_string();
        assert!(e.contains("r.csv") && e.contains("no id column"), "{e}");
        let e = csv("id,report\n1,ok\n2\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`report`"), "{e}");
        assert!(csv("").is_err());
    }

    #[test]
    fn jsonl_and_alignment() {
        let p = Path::new("h.jsonl");
        let rows = read_jsonl(
            p,
            "{\"id\": 2, \"report\": \"b\"}\n\n{\"id\": 1, \"report\": \"a\"}\n",
        )
        .unwrap();
        assert_eq!(rows[0], ("2".into(), "b".into()));
        let refs = vec![("1".to_string(), "A".to_string()), ("2".into(), "B".into())];
        assert_eq!(align_reports(&refs, rows.clone(), p).unwrap(), ["a", "b"]);
        let e = align_reports(&refs[..1], rows, p).unwrap_err().to_string();
        assert!(
            e.contains("h.jsonl") && e.contains("2 reports but 1 references"),
            "{e}"
        );
        let e = read_jsonl(p, "[1]\n").unwrap_err().to_string();
        assert!(e.contains("line 1: not an object"), "{e}");
    }
}
