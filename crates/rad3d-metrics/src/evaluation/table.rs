//! The paper's results table (one row per system) as CSV and Markdown, and the per-sample
//! score file.

use std::path::Path;

use super::{Evaluation, PerSample};
use crate::error::{MetricsError, Result};

/// One system's row of the paper's table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperRow {
    /// Mean of pycocoevalcap BLEU-1..4 (`Avg. BLEU`).
    pub avg_bleu: f64,
    /// METEOR 1.5 (`METEOR`).
    pub meteor: f64,
    /// Mean of rouge-score ROUGE-1 F and ROUGE-2 F (`Avg. ROUGE-1/2`).
    pub avg_rouge_1_2: f64,
    /// pycocoevalcap ROUGE-L (`ROUGE-L`), the one the suite reports as `rouge_l`.
    pub rouge_l: f64,
    /// BERTScore F1 (`BERTScore-F1`), when it was scored.
    pub bertscore_f1: Option<f64>,
    /// GREEN (`GREEN`), when it was scored.
    pub green: Option<f64>,
}

/// Column headers of the table, in order (the system name comes first).
pub const PAPER_COLUMNS: [&str; 6] = [
    "Avg. BLEU",
    "METEOR",
    "Avg. ROUGE-1/2",
    "ROUGE-L",
    "BERTScore-F1",
    "GREEN",
];

impl PaperRow {
    /// The row's cells in [`PAPER_COLUMNS`] order (`None`: not scored).
    pub fn cells(&self) -> [Option<f64>; 6] {
        [
            Some(self.avg_bleu),
            Some(self.meteor),
            Some(self.avg_rouge_1_2),
            Some(self.rouge_l),
            self.bertscore_f1,
            self.green,
        ]
    }
}

impl Evaluation {
    /// The paper's table row of this evaluation.
    ///
    /// # Errors
    /// [`MetricsError::Input`] when a value the row needs is absent (an evaluation not made
    /// by [`evaluate`](super::evaluate)).
    pub fn paper_row(&self) -> Result<PaperRow> {
        let get = |name: &str| {
            self.value(name)
                .ok_or_else(|| MetricsError::Input(format!("the evaluation has no value `{name}`")))
        };
        let bleu = [
            get("bleu_1")?,
            get("bleu_2")?,
            get("bleu_3")?,
            get("bleu_4")?,
        ];
        Ok(PaperRow {
            avg_bleu: bleu.iter().sum::<f64>() / 4.0,
            meteor: get("meteor")?,
            avg_rouge_1_2: (get("rouge1_f")? + get("rouge2_f")?) / 2.0,
            rouge_l: get("rouge_l")?,
            bertscore_f1: self.value("bertscore_f"),
            green: self.value("green"),
        })
    }
}

/// Column headers and, per system, its cells (`None`: not scored).
type Table = (Vec<&'static str>, Vec<Vec<Option<f64>>>);

/// The table, keeping the optional columns some row has.
fn table(rows: &[(&str, &Evaluation)]) -> Result<Table> {
    let cells: Vec<[Option<f64>; 6]> = rows
        .iter()
        .map(|(_, e)| e.paper_row().map(|r| r.cells()))
        .collect::<Result<_>>()?;
    let keep: Vec<usize> = (0..PAPER_COLUMNS.len())
        .filter(|&k| cells.iter().any(|c| c[k].is_some()))
        .collect();
    let header = keep.iter().map(|&k| PAPER_COLUMNS[k]).collect();
    let body = cells
        .iter()
        .map(|c| keep.iter().map(|&k| c[k]).collect())
        .collect();
    Ok((header, body))
}

/// The paper's table as CSV text: `System`, then [`PAPER_COLUMNS`] (BERTScore-F1 and GREEN
/// only when some system has them; empty where a system lacks them), values at full
/// precision.
///
/// # Errors
/// As [`Evaluation::paper_row`].
pub fn table_csv(rows: &[(&str, &Evaluation)]) -> Result<String> {
    let (header, body) = table(rows)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| MetricsError::Input(format!("writing CSV: {e}"));
    w.write_record(std::iter::once("System").chain(header.iter().copied()))
        .map_err(csv_err)?;
    for ((name, _), cells) in rows.iter().zip(&body) {
        let values = cells
            .iter()
            .map(|c| c.map(|v| v.to_string()).unwrap_or_default());
        w.write_record(std::iter::once(name.to_string()).chain(values))
            .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MetricsError::Input(format!("writing CSV: {}", e.error())))?;
    String::from_utf8(bytes).map_err(|e| MetricsError::Input(format!("writing CSV: {e}")))
}

/// Writes [`table_csv`] to `path`, replacing it atomically.
///
/// # Errors
/// As [`Evaluation::paper_row`]; [`MetricsError::Io`] when the file cannot be written.
pub fn write_table_csv(path: impl AsRef<Path>, rows: &[(&str, &Evaluation)]) -> Result<()> {
    let text = table_csv(rows)?;
    Ok(rad3d_io::write_atomic(path.as_ref(), text.as_bytes())?)
}

/// The paper's table in Markdown: one row per system, values to four decimals, `–` where a
/// system lacks an optional column.
///
/// # Errors
/// As [`Evaluation::paper_row`].
pub fn table_markdown(rows: &[(&str, &Evaluation)]) -> Result<String> {
    let (header, body) = table(rows)?;
    let mut out = format!("| System | {} |\n", header.join(" | "));
    out.push_str(&format!("|---|{}\n", "---:|".repeat(header.len())));
    for ((name, _), cells) in rows.iter().zip(&body) {
        let values: Vec<String> = cells
            .iter()
            .map(|c| c.map_or("–".to_string(), |v| format!("{v:.4}")))
            .collect();
        // A `|` in a system name would split the cell.
        out.push_str(&format!(
            "| {} | {} |\n",
            name.replace('|', "\\|"),
            values.join(" | ")
        ));
    }
    Ok(out)
}

/// Writes `per_sample` as CSV: `id`, then one column per name, values at full precision.
pub(super) fn write_per_sample_csv(path: &Path, per_sample: &PerSample) -> Result<()> {
    rad3d_io::write_atomic_with(path, |f| {
        let mut w = csv::Writer::from_writer(f);
        w.write_record(std::iter::once("id").chain(per_sample.names.iter().map(String::as_str)))?;
        for (i, id) in per_sample.ids.iter().enumerate() {
            let values = per_sample.columns.iter().map(|c| c[i].to_string());
            w.write_record(std::iter::once(id.clone()).chain(values))?;
        }
        w.flush()
    })?;
    Ok(())
}
