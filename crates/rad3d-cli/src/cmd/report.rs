//! `rad3d report`: findings reports for new scans with an exported pipeline.
//!
//! Inputs are NIfTI files and folders (searched recursively; a volume in a folder is named
//! by its path relative to that folder, a file by its file name). The output is a CSV
//! (`VolumeName`, `report`, then one probability column per label) or JSONL
//! (`{"VolumeName", "report", "probabilities": {label: p}}`). Re-running with the same
//! output skips the volumes it already holds and appends the rest; a volume that fails is
//! listed in `<out>.errors.tsv` and makes the exit code 3.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use rad3d_prefix::ctvit::embed::{jobs_from_csv, jobs_from_dir};
use rad3d_prefix::pipeline::{Pipeline, Report};
use rad3d_prefix::volume::ReadOptions;

use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, usage};
use crate::progress::Progress;

/// Flags of `rad3d report`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Pipeline folder (`rad3d export` output).
    pipeline: PathBuf,
    /// NIfTI files, folders of NIfTI files, or CSVs with a `VolumeName` column (volumes
    /// found under --data-dir).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where the volumes named in a CSV input live (default: the CSV's folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Output `.csv` or `.jsonl` (appended to when it exists: finished volumes are skipped).
    #[arg(long)]
    out: PathBuf,
    /// Volumes encoded and decoded together.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Largest volume read, in voxels (refused from the header before allocating;
    /// default 512 × 512 × 2048).
    #[arg(long, default_value_t = ReadOptions::DEFAULT_MAX_VOXELS)]
    max_voxels: u64,
    /// Where the models run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Output file kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

/// Runs `rad3d report`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("csv") => Format::Csv,
        Some("jsonl") => Format::Jsonl,
        _ => {
            return usage(format!(
                "--out {}: name the output *.csv or *.jsonl",
                args.out.display()
            ));
        }
    };
    if args.batch == 0 {
        return usage("--batch must be at least 1");
    }
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    crate::cmd::refuse_overwrite(&args.out, &inputs)?;
    let device = args.device;
    run_on(device, ReportJob(args, format))
}

/// The volumes named by the inputs: (name, path), names unique.
fn volumes(inputs: &[PathBuf], data_dir: Option<&Path>) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            out.extend(jobs_from_dir(input)?.into_iter().map(|j| (j.name, j.path)));
        } else if input
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let dir = data_dir
                .map(Path::to_path_buf)
                .or_else(|| input.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            out.extend(
                jobs_from_csv(input, &dir)?
                    .into_iter()
                    .map(|j| (j.name, j.path)),
            );
        } else {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("{}: not a file name", input.display()))?;
            out.push((name, input.clone()));
        }
    }
    let mut seen = BTreeSet::new();
    for (name, path) in &out {
        if !seen.insert(name.as_str()) {
            anyhow::bail!(
                "{}: a second volume named {name:?}; give its folder instead so that volumes \
                 are named by relative path",
                path.display()
            );
        }
    }
    Ok(out)
}

/// The names already in an output file, after cutting off a last line that a crash left
/// unfinished.
fn finished(path: &Path, format: Format, header: &str) -> Result<BTreeSet<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeSet::new());
    };
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    if complete.len() != text.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(complete.len() as u64)
            .with_context(|| format!("truncating {}", path.display()))?;
    }
    let mut names = BTreeSet::new();
    match format {
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(complete.as_bytes());
            let found: Vec<String> = reader
                .headers()
                .with_context(|| format!("{}: unreadable header", path.display()))?
                .iter()
                .map(str::to_string)
                .collect();
            if !complete.is_empty() && found.join(",") != header {
                anyhow::bail!(
                    "{}: holds columns {found:?}, not this pipeline's; choose another --out",
                    path.display()
                );
            }
            for record in reader.records() {
                let record = record.with_context(|| format!("reading {}", path.display()))?;
                names.insert(record.get(0).unwrap_or_default().to_string());
            }
        }
        Format::Jsonl => {
            for (i, line) in complete.lines().enumerate() {
                let value: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("{}: line {}", path.display(), i + 1))?;
                let name = value["VolumeName"].as_str().with_context(|| {
                    format!("{}: line {} has no VolumeName", path.display(), i + 1)
                })?;
                names.insert(name.to_string());
            }
        }
    }
    Ok(names)
}

/// One output line (with its newline).
fn line(format: Format, name: &str, report: &Report) -> Result<String> {
    Ok(match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut row = vec![name.to_string(), report.text.clone()];
            row.extend(
                report
                    .finding_probabilities
                    .iter()
                    .map(|(_, p)| p.to_string()),
            );
            w.write_record(&row)?;
            String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?
        }
        Format::Jsonl => {
            let probabilities: serde_json::Map<String, serde_json::Value> = report
                .finding_probabilities
                .iter()
                .map(|(l, p)| (l.clone(), serde_json::json!(p)))
                .collect();
            let value = serde_json::json!({
                "VolumeName": name,
                "report": report.text,
                "probabilities": probabilities,
            });
            format!("{value}\n")
        }
    })
}

/// Report writing on the chosen backend.
struct ReportJob(Args, Format);

impl OnBackend for ReportJob {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let (args, format) = (self.0, self.1);
        let pipeline = Pipeline::<B>::load(&args.pipeline, &device)?;
        let labels = pipeline.labels().names().to_vec();
        let mut header_cols = vec!["VolumeName".to_string(), "report".to_string()];
        header_cols.extend(labels.iter().cloned());
        let header = header_cols.join(",");
        let done = finished(&args.out, format, &header)?;
        let todo: Vec<(String, PathBuf)> = volumes(&args.inputs, args.data_dir.as_deref())?
            .into_iter()
            .filter(|(name, _)| !done.contains(name))
            .collect();
        if !done.is_empty() {
            tracing::info!(
                "{}: {} volumes already reported",
                args.out.display(),
                done.len()
            );
        }
        let fresh = !args.out.exists() || std::fs::metadata(&args.out)?.len() == 0;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.out)
            .with_context(|| format!("opening {}", args.out.display()))?;
        if fresh && format == Format::Csv {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&header_cols)?;
            file.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
        }
        let progress = Progress::new("volumes", todo.len() as u64);
        let mut failed: Vec<(String, String)> = Vec::new();
        for chunk in todo.chunks(args.batch) {
            let mut volumes = Vec::with_capacity(chunk.len());
            let mut names = Vec::with_capacity(chunk.len());
            for (name, path) in chunk {
                match ReadOptions::new().max_voxels(args.max_voxels).read(path) {
                    Ok(v) => {
                        volumes.push(v);
                        names.push(name.as_str());
                    }
                    Err(e) => failed.push((name.clone(), e.to_string())),
                }
            }
            progress.set_message(names.join(", "));
            match pipeline.generate(&volumes) {
                Ok(reports) => {
                    let mut text = String::new();
                    for (name, report) in names.iter().zip(&reports) {
                        text.push_str(&line(format, name, report)?);
                    }
                    // One write and a flush per batch: a crash loses at most this batch.
                    file.write_all(text.as_bytes())?;
                    file.flush()?;
                }
                Err(e) => failed.extend(names.iter().map(|n| (n.to_string(), e.to_string()))),
            }
            progress.inc(chunk.len() as u64);
        }
        progress.finish();
        if failed.is_empty() {
            return Ok(Outcome::Done);
        }
        let errors = PathBuf::from(format!("{}.errors.tsv", args.out.display()));
        let listing: String = failed
            .iter()
            .map(|(n, e)| format!("{n}\t{}\n", e.replace(['\n', '\t'], " ")))
            .collect();
        rad3d_prefix::io::write_atomic(&errors, listing.as_bytes())?;
        Ok(Outcome::Partial {
            failed: failed.len(),
            listed_in: Some(errors),
        })
    }
}
