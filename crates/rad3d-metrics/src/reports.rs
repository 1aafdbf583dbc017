//! Report files: one report per line (`.txt`), or `.csv` / `.jsonl` with an id column and a
//! text column, and the join of generated reports to references on those ids.
//!
//! CSV is RFC 4180 (through the `csv` crate): quoted fields may hold commas, doubled quotes
//! and newlines, as CT-RATE's report files (`VolumeName,ClinicalInformation_EN,Findings_EN,
//! Impressions_EN`) do. JSONL lines are objects; the trainer's generated reports
//! (`{"name", "generated", "reference"}`, one `GeneratedReport` per line) read as they are.
//!
//! # Columns
//! Explicit names ([`ReportColumns`]) win; a named column that is missing is an error
//! listing the columns present. Otherwise:
//! - the id is the first column that [`is_id_column`] accepts, else a column called `name`
//!   (the trainer's field);
//! - the text is the first of `report`, `text`, `findings`, `findings_en`, `generated`,
//!   `prediction`, `hypothesis`, `reference`, `hyp`, `ref` present (any case) — generated
//!   text is preferred over reference text, so a trainer file yields what the model wrote
//!   (name the `reference` column explicitly to read its references) — else the last column
//!   that is not the id.
//!
//! # Ids
//! Ids are normalised by [`normalize_id`] (trimmed, a trailing `.nii.gz` or `.nii`
//! stripped), so CT-RATE's `valid_1_a_1.nii.gz` joins the trainer's `valid_1_a_1`. Two
//! reports with the same id in one file are an error. Plain text files take the 0-based
//! line number as id.
//!
//! # Limits
//! A report longer than [`MAX_REPORT_BYTES`], a CSV record or JSONL line longer than
//! [`MAX_RECORD_BYTES`] and a file with more than [`MAX_REPORTS`] reports are refused while
//! reading, before they are held in memory.

use std::cell::Cell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;

use crate::error::{MetricsError, Result};

/// The longest report text accepted, in bytes of UTF-8 (64 KiB; radiology reports are a
/// few KiB).
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// The longest CSV record or JSONL line accepted, in bytes: several report-sized fields
/// (CT-RATE rows hold clinical information, findings and impressions) plus quoting.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The most reports one file (or one in-memory set) may hold.
pub const MAX_REPORTS: usize = 1_000_000;

/// How many unmatched ids an alignment error lists per side.
const SHOW_IDS: usize = 5;

/// Column names taken as the report text, in order of preference (any case); without one,
/// the last column that is not the id. `generated` precedes `reference`: in a file holding
/// both (the trainer's), the generated text is the one scored.
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

/// The id field of the trainer's `GeneratedReport`, taken as id when no column
/// [`is_id_column`].
const NAME_COLUMN: &str = "name";

/// Explicit id and text column names for `.csv` and `.jsonl` files; `None` picks the
/// column automatically (see the [module docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportColumns {
    /// The id column.
    pub id: Option<String>,
    /// The text column.
    pub text: Option<String>,
}

impl ReportColumns {
    /// Whether both columns are picked automatically.
    pub fn is_auto(&self) -> bool {
        self.id.is_none() && self.text.is_none()
    }
}

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

/// A report id as joined: trimmed, with a trailing `.nii.gz` or `.nii` removed (CT-RATE's
/// CSVs name volumes `valid_1_a_1.nii.gz`, the trainer writes `valid_1_a_1`).
pub fn normalize_id(id: &str) -> String {
    let id = id.trim();
    id.strip_suffix(".nii.gz")
        .or_else(|| id.strip_suffix(".nii"))
        .unwrap_or(id)
        .to_string()
}

/// Position of `name` among `names`: exact, else ignoring ASCII case.
fn find_column(names: &[String], name: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n == name)
        .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
}

/// Picks `(id column, text column)` from header names.
///
/// # Errors
/// [`MetricsError::MissingColumn`] for a named column that is absent;
/// [`MetricsError::Reports`] (prefixed by `at`) when no column names an id or no other
/// column is left for the text.
fn pick_columns(
    path: &Path,
    at: &str,
    names: &[String],
    columns: &ReportColumns,
) -> Result<(usize, usize)> {
    let missing = |column: &str| MetricsError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        present: names.to_vec(),
    };
    let id = match &columns.id {
        Some(c) => find_column(names, c).ok_or_else(|| missing(c))?,
        None => names
            .iter()
            .position(|n| is_id_column(n))
            .or_else(|| find_column(names, NAME_COLUMN))
            .ok_or_else(|| {
                report_err(
                    path,
                    format!(
                        "{at}no id column (id, *_id, study, volume…, name) among [{}]",
                        names.join(", ")
                    ),
                )
            })?,
    };
    let text = match &columns.text {
        Some(c) => find_column(names, c).ok_or_else(|| missing(c))?,
        None => TEXT_COLUMNS
            .iter()
            .filter_map(|t| names.iter().position(|n| n.eq_ignore_ascii_case(t)))
            .find(|&i| i != id)
            .or_else(|| (0..names.len()).rev().find(|&i| i != id))
            .ok_or_else(|| {
                report_err(path, format!("{at}no text column besides `{}`", names[id]))
            })?,
    };
    Ok((id, text))
}

fn report_err(path: &Path, reason: String) -> MetricsError {
    MetricsError::Reports {
        path: path.to_path_buf(),
        reason,
    }
}

fn too_large(path: &Path, at: String, what: String) -> MetricsError {
    MetricsError::TooLarge {
        path: path.to_path_buf(),
        at,
        what,
    }
}

/// Collects `(id, text)` pairs of one file: normalises ids, refuses duplicates, oversized
/// texts and more than [`MAX_REPORTS`] reports as they arrive.
struct Collector<'p> {
    path: &'p Path,
    out: Vec<(String, String)>,
    /// Normalised id → line (or index) of its first occurrence.
    seen: HashMap<String, u64>,
}

impl<'p> Collector<'p> {
    fn new(path: &'p Path) -> Self {
        Self {
            path,
            out: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Adds one report found at `line`.
    fn push(&mut self, line: u64, id: &str, text: String) -> Result<()> {
        if self.out.len() >= MAX_REPORTS {
            return Err(too_large(
                self.path,
                format!("line {line}"),
                format!("more than {MAX_REPORTS} reports"),
            ));
        }
        let id = normalize_id(id);
        if text.len() > MAX_REPORT_BYTES {
            return Err(too_large(
                self.path,
                format!("line {line}, id {id:?}"),
                format!(
                    "report of {} bytes exceeds the limit of {MAX_REPORT_BYTES} bytes",
                    text.len()
                ),
            ));
        }
        match self.seen.entry(id) {
            Entry::Occupied(e) => Err(MetricsError::DuplicateId {
                path: self.path.to_path_buf(),
                id: e.key().clone(),
                line: Some(line),
            }),
            Entry::Vacant(e) => {
                self.out.push((e.key().clone(), text));
                e.insert(line);
                Ok(())
            }
        }
    }
}

/// Reads reports with their ids, choosing the columns automatically (see the
/// [module docs](self)): `.csv` and `.jsonl`/`.ndjson` by their id and text columns, any
/// other file one report per line with its 0-based line number as id.
///
/// # Errors
/// As [`read_reports_with`].
pub fn read_reports(path: impl AsRef<Path>) -> Result<Vec<(String, String)>> {
    read_reports_with(path, &ReportColumns::default())
}

/// Reads reports with their ids from `.csv` and `.jsonl`/`.ndjson` files by the given (or
/// automatically chosen) id and text columns, from any other file one report per line with
/// its 0-based line number as id. Ids are normalised ([`normalize_id`]).
///
/// # Errors
/// [`MetricsError::Io`] when the file cannot be read; [`MetricsError::MissingColumn`] for a
/// named column the file lacks; [`MetricsError::DuplicateId`] when an id repeats;
/// [`MetricsError::TooLarge`] beyond the limits ([`MAX_REPORT_BYTES`], [`MAX_RECORD_BYTES`],
/// [`MAX_REPORTS`]); [`MetricsError::Reports`] naming the line when a row is malformed,
/// and when columns are named for a plain text file.
pub fn read_reports_with(
    path: impl AsRef<Path>,
    columns: &ReportColumns,
) -> Result<Vec<(String, String)>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match extension(path).as_str() {
        "csv" => read_csv_with(path, file, columns),
        "jsonl" | "ndjson" => read_jsonl(path, BufReader::new(file), columns),
        _ if !columns.is_auto() => Err(report_err(
            path,
            "id and text columns can be named for .csv and .jsonl files only".into(),
        )),
        _ => read_lines(path, BufReader::new(file)),
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads the next line (without its terminator: `\n`, `\r\n` or a lone `\r`, so files
/// from old Mac tools split as well) into `buf`, refusing one longer than `limit` bytes
/// before reading past it. `Ok(false)` at the end of the input.
///
/// Hand-written rather than `BufRead::read_until`, which knows one terminator byte only.
fn next_line(
    path: &Path,
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    line: u64,
    limit: usize,
) -> Result<bool> {
    let io = |source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    };
    buf.clear();
    let mut any = false;
    loop {
        let chunk = reader.fill_buf().map_err(io)?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(k) => {
                let cr = chunk[k] == b'\r';
                let take = k.min(limit + 1 - buf.len().min(limit + 1));
                buf.extend_from_slice(&chunk[..take]);
                reader.consume(k + 1);
                if cr {
                    // `\r\n` is one terminator.
                    let next = reader.fill_buf().map_err(io)?;
                    if next.first() == Some(&b'\n') {
                        reader.consume(1);
                    }
                }
                break;
            }
            None => {
                let n = chunk.len();
                let take = n.min(limit + 1 - buf.len().min(limit + 1));
                buf.extend_from_slice(&chunk[..take]);
                reader.consume(n);
                if buf.len() > limit {
                    break;
                }
            }
        }
    }
    if !any {
        return Ok(false);
    }
    if buf.len() > limit {
        return Err(too_large(
            path,
            format!("line {line}"),
            format!("line longer than the limit of {limit} bytes"),
        ));
    }
    Ok(true)
}

fn utf8(path: &Path, line: u64, buf: &[u8]) -> Result<String> {
    String::from_utf8(buf.to_vec())
        .map_err(|e| report_err(path, format!("line {line}: not UTF-8 ({e})")))
}

/// One report per line, its 0-based line number as id.
fn read_lines(path: &Path, mut reader: impl BufRead) -> Result<Vec<(String, String)>> {
    let mut out = Collector::new(path);
    let mut buf = Vec::new();
    let mut line = 1;
    while next_line(path, &mut reader, &mut buf, line, MAX_REPORT_BYTES)? {
        let text = utf8(path, line, &buf)?;
        out.push(line, &(line - 1).to_string(), text)?;
        line += 1;
    }
    Ok(out.out)
}

/// Reads the id and text columns of a CSV from `reader`, choosing them automatically;
/// `path` names it in errors.
///
/// # Errors
/// As [`read_reports_with`].
pub fn read_csv(path: &Path, reader: impl Read) -> Result<Vec<(String, String)>> {
    read_csv_with(path, reader, &ReportColumns::default())
}

/// A reader that fails once more than `limit` bytes were read since the counter was last
/// reset: bounds what the CSV parser buffers for one record.
struct Bounded<R> {
    inner: R,
    since_reset: Rc<Cell<usize>>,
    tripped: Rc<Cell<bool>>,
    limit: usize,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since_reset.get() > self.limit {
            self.tripped.set(true);
            return Err(std::io::Error::other("record too long"));
        }
        let n = self.inner.read(buf)?;
        self.since_reset.set(self.since_reset.get() + n);
        Ok(n)
    }
}

/// Reads the id and text columns of a CSV from `reader` by the given (or automatically
/// chosen) names; `path` names it in errors.
///
/// # Errors
/// As [`read_reports_with`].
pub fn read_csv_with(
    path: &Path,
    reader: impl Read,
    columns: &ReportColumns,
) -> Result<Vec<(String, String)>> {
    let since_reset = Rc::new(Cell::new(0));
    let tripped = Rc::new(Cell::new(false));
    let bounded = Bounded {
        inner: reader,
        since_reset: since_reset.clone(),
        tripped: tripped.clone(),
        // The parser reads ahead by its buffer (8 KiB): leave room for it.
        limit: MAX_RECORD_BYTES + 64 * 1024,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bounded);
    let csv_err = |e: csv::Error, row: usize| {
        if tripped.get() {
            too_large(
                path,
                format!("data row {row}"),
                format!("CSV record longer than the limit of {MAX_RECORD_BYTES} bytes"),
            )
        } else {
            report_err(path, e.to_string())
        }
    };
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| csv_err(e, 0))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err(report_err(path, "empty CSV".into()));
    }
    let (id, text) = pick_columns(path, "", &names, columns)?;
    let mut out = Collector::new(path);
    let mut record = csv::StringRecord::new();
    loop {
        since_reset.set(0);
        let row = out.out.len() + 1;
        if !reader
            .read_record(&mut record)
            .map_err(|e| csv_err(e, row))?
        {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let get = |k: usize| {
            record.get(k).ok_or_else(|| {
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
        let (i, t) = (get(id)?, get(text)?);
        out.push(line, i, t.to_string())?;
    }
    Ok(out.out)
}

fn read_jsonl(
    path: &Path,
    mut reader: impl BufRead,
    columns: &ReportColumns,
) -> Result<Vec<(String, String)>> {
    let mut out = Collector::new(path);
    let mut cols: Option<(String, String)> = None;
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        line += 1;
        if !next_line(path, &mut reader, &mut buf, line, MAX_RECORD_BYTES)? {
            break;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = |reason: String| report_err(path, format!("line {line}: {reason}"));
        let v: Value = serde_json::from_slice(&buf).map_err(|e| at(e.to_string()))?;
        let obj = v.as_object().ok_or_else(|| at("not an object".into()))?;
        let (id, txt) = match &cols {
            Some(c) => c,
            None => {
                let names: Vec<String> = obj.keys().cloned().collect();
                let (a, b) = pick_columns(path, &format!("line {line}: "), &names, columns)?;
                cols.insert((names[a].clone(), names[b].clone()))
            }
        };
        let field = |k: &str| match obj.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(at(format!("no field {k:?}"))),
        };
        out.push(line, &field(id)?, field(txt)?)?;
    }
    Ok(out.out)
}

/// Reports of one file (or an in-memory set named by a label) with unique, normalised ids,
/// within the size limits: what [`evaluate`](crate::evaluation::evaluate) scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSet {
    path: PathBuf,
    reports: Vec<(String, String)>,
}

impl ReportSet {
    /// Reads `path` with [`read_reports_with`].
    ///
    /// # Errors
    /// As [`read_reports_with`].
    pub fn read(path: impl AsRef<Path>, columns: &ReportColumns) -> Result<Self> {
        let path = path.as_ref();
        Ok(Self {
            path: path.to_path_buf(),
            reports: read_reports_with(path, columns)?,
        })
    }

    /// In-memory `(id, text)` reports; `label` stands for the file in errors and output.
    /// Ids are normalised ([`normalize_id`]).
    ///
    /// # Errors
    /// [`MetricsError::DuplicateId`] and [`MetricsError::TooLarge`] as for a file (the
    /// "line" is the 1-based position).
    pub fn new(label: impl Into<PathBuf>, reports: Vec<(String, String)>) -> Result<Self> {
        let path = label.into();
        if reports.len() > MAX_REPORTS {
            return Err(too_large(
                &path,
                format!("report {}", MAX_REPORTS + 1),
                format!("more than {MAX_REPORTS} reports"),
            ));
        }
        let mut out = Collector::new(&path);
        for (k, (id, text)) in reports.into_iter().enumerate() {
            out.push(k as u64 + 1, &id, text)?;
        }
        let reports = out.out;
        Ok(Self { path, reports })
    }

    /// The file (or label).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `(id, text)` pairs in file order.
    pub fn reports(&self) -> &[(String, String)] {
        &self.reports
    }

    /// Number of reports.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether there are no reports.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The texts in file order.
    pub fn texts(&self) -> Vec<String> {
        self.reports.iter().map(|(_, t)| t.clone()).collect()
    }

    /// The texts of `self` in the order of `refs`' ids (see [`align_reports`]).
    ///
    /// # Errors
    /// As [`align_reports`].
    pub fn aligned_to(&self, refs: &ReportSet) -> Result<Vec<String>> {
        align_reports(&refs.reports, self.reports.clone(), &self.path)
    }
}

/// Hypothesis texts in reference order, joined on normalised ids (line numbers for plain
/// text files). `what` names the hypothesis file in errors.
///
/// # Errors
/// [`MetricsError::DuplicateId`] when a hypothesis id repeats; [`MetricsError::UnmatchedIds`]
/// when a reference has no hypothesis or a hypothesis matches no reference, with how many on
/// each side and the first few of each.
pub fn align_reports(
    refs: &[(String, String)],
    hyps: Vec<(String, String)>,
    what: &Path,
) -> Result<Vec<String>> {
    let n_hyps = hyps.len();
    let mut by_id: HashMap<String, (usize, String)> = HashMap::with_capacity(n_hyps);
    for (k, (id, text)) in hyps.into_iter().enumerate() {
        match by_id.entry(normalize_id(&id)) {
            Entry::Occupied(e) => {
                return Err(MetricsError::DuplicateId {
                    path: what.to_path_buf(),
                    id: e.key().clone(),
                    line: None,
                });
            }
            Entry::Vacant(e) => {
                e.insert((k, text));
            }
        }
    }
    let mut out = Vec::with_capacity(refs.len());
    let mut missing = Vec::new();
    for (id, _) in refs {
        match by_id.remove(&normalize_id(id)) {
            Some((_, text)) => out.push(text),
            None => missing.push(normalize_id(id)),
        }
    }
    if missing.is_empty() && by_id.is_empty() {
        return Ok(out);
    }
    let mut extra: Vec<(usize, String)> = by_id.into_iter().map(|(id, (k, _))| (k, id)).collect();
    extra.sort_unstable();
    Err(MetricsError::UnmatchedIds {
        path: what.to_path_buf(),
        reports: n_hyps,
        references: refs.len(),
        missing: missing.len(),
        missing_first: missing.into_iter().take(SHOW_IDS).collect(),
        extra: extra.len(),
        extra_first: extra.into_iter().take(SHOW_IDS).map(|(_, id)| id).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Vec<(String, String)>> {
        read_csv(Path::new("r.csv"), text.as_bytes())
    }

    fn jsonl(text: &str, columns: &ReportColumns) -> Result<Vec<(String, String)>> {
        read_jsonl(Path::new("h.jsonl"), text.as_bytes(), columns)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn ct_rate_columns_with_quoted_multiline_fields() {
        let rows = csv(
            "VolumeName,ClinicalInformation_EN,Findings_EN,Impressions_EN\r\n\
             a.nii.gz,\"Cough, fever\",\"Heart normal.\nNo \"\"effusion\"\".\",None\r\n\
             b.nii,x,Clear lungs.,None\r\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            pairs(&[
                ("a", "Heart normal.\nNo \"effusion\"."),
                ("b", "Clear lungs.")
            ])
        );
    }

    #[test]
    fn column_choice_and_errors() {
        // No known text column: the last non-id column.
        assert_eq!(csv("study,a,b\ns1,x,y\n").unwrap(), pairs(&[("s1", "y")]));
        let e = csv("title,text\nx,y\n").unwrap_err().to_string();
        assert!(e.contains("r.csv") && e.contains("no id column"), "{e}");
        let e = csv("id,report\n1,ok\n2\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`report`"), "{e}");
        assert!(csv("").is_err());
    }

    #[test]
    fn explicit_columns_and_missing_column_error() {
        let cols = ReportColumns {
            id: Some("VolumeName".into()),
            text: Some("Impressions_EN".into()),
        };
        let rows = read_csv_with(
            Path::new("r.csv"),
            "VolumeName,Findings_EN,Impressions_EN\n v.nii.gz ,f,imp\n".as_bytes(),
            &cols,
        )
        .unwrap();
        assert_eq!(rows, pairs(&[("v", "imp")]));
        let cols = ReportColumns {
            id: None,
            text: Some("Impression".into()),
        };
        let e =
            read_csv_with(Path::new("r.csv"), "id,findings\n1,x\n".as_bytes(), &cols).unwrap_err();
        assert!(
            matches!(&e, MetricsError::MissingColumn { column, present, .. }
                if column == "Impression" && present == &["id", "findings"]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "r.csv: no column `Impression` (columns present: id, findings)"
        );
    }

    #[test]
    fn ids_are_normalised_and_unique() {
        assert_eq!(normalize_id(" valid_1_a_1.nii.gz "), "valid_1_a_1");
        assert_eq!(normalize_id("valid_1_a_1.nii"), "valid_1_a_1");
        assert_eq!(normalize_id("valid_1_a_1"), "valid_1_a_1");
        let e = csv("id,report\na.nii.gz,x\nb,y\na,z\n").unwrap_err();
        assert!(
            matches!(&e, MetricsError::DuplicateId { id, line: Some(4), .. } if id == "a"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "r.csv: duplicate id \"a\" (line 4)");
        let e = jsonl(
            "{\"id\": \"q\", \"report\": \"b\"}\n{\"id\": \"q\", \"report\": \"c\"}\n",
            &ReportColumns::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("h.jsonl: duplicate id \"q\""), "{e}");
    }

    #[test]
    fn trainer_jsonl_reads_generated_text() {
        // serde of rad3d_train::GeneratedReport, one per line.
        let text = "{\"name\":\"valid_1_a_1\",\"generated\":\"No effusion.\",\"reference\":\"Small effusion.\"}\n\
                    {\"name\":\"valid_2_a_1\",\"generated\":\"Clear.\",\"reference\":\"Clear lungs.\"}\n";
        let rows = jsonl(text, &ReportColumns::default()).unwrap();
        assert_eq!(
            rows,
            pairs(&[("valid_1_a_1", "No effusion."), ("valid_2_a_1", "Clear.")])
        );
        let refs = jsonl(
            text,
            &ReportColumns {
                id: None,
                text: Some("reference".into()),
            },
        )
        .unwrap();
        assert_eq!(refs[0].1, "Small effusion.");
        // CT-RATE's references join the trainer's names.
        let ct =
            csv("VolumeName,Findings_EN\nvalid_2_a_1.nii.gz,B\nvalid_1_a_1.nii.gz,A\n").unwrap();
        assert_eq!(
            align_reports(&ct, rows, Path::new("h.jsonl")).unwrap(),
            ["Clear.", "No effusion."]
        );
    }

    #[test]
    fn jsonl_and_alignment() {
        let p = Path::new("h.jsonl");
        let rows = jsonl(
            "{\"id\": 2, \"report\": \"b\"}\n\n{\"id\": 1, \"report\": \"a\"}\n",
            &ReportColumns::default(),
        )
        .unwrap();
        assert_eq!(rows[0], ("2".into(), "b".into()));
        let refs = pairs(&[("1", "A"), ("2", "B")]);
        assert_eq!(align_reports(&refs, rows.clone(), p).unwrap(), ["a", "b"]);
        let e = align_reports(&refs[..1], rows, p).unwrap_err().to_string();
        assert_eq!(
            e,
            "h.jsonl: ids do not match the references (2 reports, 1 references): 0 references \
             have no report; 1 reports match no reference (first: \"2\")"
        );
        let e = jsonl("[1]\n", &ReportColumns::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1: not an object"), "{e}");
    }

    #[test]
    fn unmatched_ids_list_counts_and_first_five() {
        let refs: Vec<(String, String)> = (0..8).map(|i| (format!("r{i}"), "x".into())).collect();
        let hyps: Vec<(String, String)> = (2..8)
            .map(|i| format!("r{i}"))
            .chain((0..7).map(|i| format!("h{i}")))
            .map(|id| (id, "y".into()))
            .collect();
        let e = align_reports(&refs, hyps, Path::new("hyps.csv")).unwrap_err();
        match &e {
            MetricsError::UnmatchedIds {
                missing,
                missing_first,
                extra,
                extra_first,
                ..
            } => {
                assert_eq!((*missing, *extra), (2, 7));
                assert_eq!(missing_first, &["r0", "r1"]);
                assert_eq!(extra_first, &["h0", "h1", "h2", "h3", "h4"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            e.to_string(),
            "hyps.csv: ids do not match the references (13 reports, 8 references): 2 \
             references have no report (first: \"r0\", \"r1\"); 7 reports match no reference \
             (first: \"h0\", \"h1\", \"h2\", \"h3\", \"h4\")"
        );
        // Plain text files: line numbers.
        let refs = read_lines(Path::new("r.txt"), "a\nb\nc".as_bytes()).unwrap();
        let hyps = read_lines(Path::new("h.txt"), "a\r\nb\n".as_bytes()).unwrap();
        assert_eq!(hyps, pairs(&[("0", "a"), ("1", "b")]));
        let e = align_reports(&refs, hyps, Path::new("h.txt")).unwrap_err();
        assert!(
            e.to_string()
                .contains("1 references have no report (first: \"2\")"),
            "{e}"
        );
    }

    #[test]
    fn text_lines_split_on_lf_crlf_and_lone_cr() {
        let want = pairs(&[("0", "a b"), ("1", ""), ("2", "c")]);
        for text in [
            "a b\n\nc\n",
            "a b\r\n\r\nc\r\n",
            "a b\r\rc\r",
            "a b\r\rc",
            "a b\n\r\nc",
        ] {
            // A one-byte buffer puts every terminator on a buffer boundary, `\r\n` split.
            let tiny = std::io::BufReader::with_capacity(1, text.as_bytes());
            for got in [
                read_lines(Path::new("h.txt"), text.as_bytes()).unwrap(),
                read_lines(Path::new("h.txt"), tiny).unwrap(),
            ] {
                assert_eq!(got, want, "{text:?}");
            }
        }
        let e = read_lines(Path::new("h.txt"), "\r".as_bytes()).unwrap();
        assert_eq!(e, pairs(&[("0", "")]));
    }

    #[test]
    fn oversized_inputs_are_refused() {
        let long = "x".repeat(MAX_REPORT_BYTES + 1);
        let e = read_lines(Path::new("h.txt"), format!("ok\n{long}\n").as_bytes()).unwrap_err();
        assert!(
            matches!(&e, MetricsError::TooLarge { at, .. } if at == "line 2"),
            "{e:?}"
        );
        let fits = "x".repeat(MAX_REPORT_BYTES);
        assert_eq!(
            read_lines(Path::new("h.txt"), format!("{fits}\r\n").as_bytes())
                .unwrap()
                .len(),
            1
        );
        let e = csv(&format!("id,report\na,{long}\n")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("r.csv: line 2, id \"a\": report of 65537 bytes"),
            "{e}"
        );
        let huge = "x".repeat(MAX_RECORD_BYTES + 200_000);
        let e = csv(&format!("id,report\na,ok\nb,\"{huge}\"\n")).unwrap_err();
        assert!(
            matches!(&e, MetricsError::TooLarge { at, .. } if at == "data row 2"),
            "{e:?}"
        );
        let e = jsonl(
            &format!("{{\"id\": \"a\", \"report\": \"{huge}\"}}\n"),
            &ReportColumns::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, MetricsError::TooLarge { at, .. } if at == "line 1"),
            "{e:?}"
        );
        let many = "\n".repeat(MAX_REPORTS + 1);
        let e = read_lines(Path::new("h.txt"), many.as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 1000001: more than 1000000 reports"),
            "{e}"
        );
    }
}
