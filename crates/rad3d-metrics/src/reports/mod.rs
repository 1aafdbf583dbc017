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
use std::path::Path;
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

mod set;
pub use set::{ReportSet, align_reports};

#[cfg(test)]
mod tests;
