//! `bert-score` rescaling baselines (`rescale_baseline/<lang>/<model>.tsv`).

use std::path::Path;

use crate::error::{MetricsError, Result};

/// Baseline values for rescaling (one row of a `bert-score` baseline file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Baseline precision.
    pub p: f32,
    /// Baseline recall.
    pub r: f32,
    /// Baseline F1.
    pub f: f32,
}

impl Baseline {
    /// Reads the row for `layer` of a `bert-score` baseline file
    /// (`rescale_baseline/<lang>/<model>.tsv`: a header `LAYER,P,R,F`, then one row per
    /// layer starting at layer 0; like `bert-score`, the row is chosen by position).
    /// Despite the extension the files are comma-separated; tab-separated ones are read too.
    ///
    /// # Errors
    /// [`MetricsError::Io`] when the file cannot be read, [`MetricsError::Model`] naming the
    /// row and column when there is no row for `layer` or a value is not a number.
    pub fn from_file(path: impl AsRef<Path>, layer: usize) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let err = |reason: String| MetricsError::Model {
            path: path.to_path_buf(),
            reason,
        };
        let header_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        let delimiter = if header_line.contains(&b'\t') {
            b'\t'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(text.as_slice());
        let headers = reader
            .headers()
            .map_err(|e| err(format!("header: {e}")))?
            .clone();
        let mut rows = 0;
        for record in reader.records() {
            let record = record.map_err(|e| err(e.to_string()))?;
            if rows < layer {
                rows += 1;
                continue;
            }
            let line = record.position().map_or(0, |p| p.line());
            let value = |col: usize| -> Result<f32> {
                let name = headers.get(col).unwrap_or("?");
                let raw = record.get(col).ok_or_else(|| {
                    err(format!(
                        "line {line} (layer {layer}): no column {col} `{name}`: a row holds LAYER,P,R,F"
                    ))
                })?;
                raw.trim().parse::<f32>().map_err(|e| {
                    err(format!(
                        "line {line} (layer {layer}), column `{name}`: `{raw}`: {e}"
                    ))
                })
            };
            return Ok(Self {
                p: value(1)?,
                r: value(2)?,
                f: value(3)?,
            });
        }
        Err(err(format!("no row for layer {layer} ({rows} rows)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_file_rows() {
        let dir = std::env::temp_dir().join(format!("rad3d-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.tsv");
        std::fs::write(&path, "LAYER,P,R,F\n0,0.1,0.2,0.3\n1,0.5,0.25,0.125\n").unwrap();
        let expected = Baseline {
            p: 0.5,
            r: 0.25,
            f: 0.125,
        };
        assert_eq!(Baseline::from_file(&path, 1).unwrap(), expected);
        assert!(Baseline::from_file(&path, 2).is_err());
        let tabs = dir.join("t.tsv");
        std::fs::write(
            &tabs,
            "LAYER\tP\tR\tF\n0\t0.1\t0.2\t0.3\n\n1\t0.5\t0.25\t0.125\n",
        )
        .unwrap();
        assert_eq!(Baseline::from_file(&tabs, 1).unwrap(), expected);
        let bad = dir.join("bad.tsv");
        std::fs::write(&bad, "LAYER,P,R,F\n0,0.1,x,0.3\n").unwrap();
        let e = Baseline::from_file(&bad, 0).unwrap_err().to_string();
        assert!(
            e.contains("bad.tsv") && e.contains("column `R`") && e.contains("line 2"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
