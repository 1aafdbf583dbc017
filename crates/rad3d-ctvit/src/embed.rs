//! Dataset-scale embedding extraction: the list of volumes (a directory of NIfTI files or a
//! CT-RATE-style metadata CSV), `--shard i/n` selection, and the resumable loop that reads,
//! preprocesses and encodes each volume into an [`EmbeddingCacheWriter`].
//!
//! A volume that cannot be read, preprocessed or encoded is appended to the cache's errors
//! file and skipped; only cache I/O failures stop the loop. That includes a file whose header
//! declares more voxels than its job's [`VolumeJob::max_voxels`]: it is refused before any
//! allocation, so one gzip bomb cannot exhaust memory in a dataset-scale run. Volumes already in the cache are
//! skipped without being read, so an interrupted run resumes where its last shard ended.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rad3d_volume::{Preprocess, ReadOptions, Volume};

use crate::cache::EmbeddingCacheWriter;
use crate::error::{CtVitError, Result};
use crate::model::CtVit;

/// One volume to encode, with the header overrides a metadata CSV may carry.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeJob {
    /// Name stored in the cache (CT-RATE's `VolumeName`, e.g. `train_1_a_1.nii.gz`).
    pub name: String,
    /// The NIfTI file.
    pub path: PathBuf,
    /// `(slope, intercept)` replacing the header's scaling.
    pub rescale: Option<(f64, f64)>,
    /// In-plane voxel size `(x, y)` in mm replacing the header's (voxel axes 0 and 1).
    pub xy_spacing: Option<[f64; 2]>,
    /// Slice spacing in mm replacing the header's (voxel axis 2).
    pub z_spacing: Option<f64>,
    /// Largest volume read, in voxels (`ReadOptions::max_voxels`; default
    /// [`ReadOptions::DEFAULT_MAX_VOXELS`], which every CT-RATE volume fits). A file whose
    /// header declares more is refused before anything is allocated and, like any read
    /// error, recorded in the errors file while the run goes on.
    pub max_voxels: u64,
}

impl VolumeJob {
    /// A job that reads `path` with its own header and stores it as `name`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            rescale: None,
            xy_spacing: None,
            z_spacing: None,
            max_voxels: ReadOptions::DEFAULT_MAX_VOXELS,
        }
    }

    /// The same job with another voxel limit (see [`VolumeJob::max_voxels`]).
    pub fn with_max_voxels(mut self, limit: u64) -> Self {
        self.max_voxels = limit;
        self
    }

    /// Reads the volume and applies the overrides: scaling while reading, spacings by
    /// rebuilding an axis-aligned affine in the file's own orientation.
    pub fn read(&self) -> rad3d_volume::Result<Volume> {
        let mut options = ReadOptions::new().max_voxels(self.max_voxels);
        if let Some((slope, intercept)) = self.rescale {
            options = options.rescale(slope, intercept);
        }
        let volume = options.read(&self.path)?;
        if self.xy_spacing.is_none() && self.z_spacing.is_none() {
            return Ok(volume);
        }
        let [sx, sy, sz] = volume.spacing();
        let [x, y] = self.xy_spacing.unwrap_or([sx, sy]);
        let spacing = [x, y, self.z_spacing.unwrap_or(sz)];
        let (shape, orientation) = (volume.shape(), volume.orientation());
        Volume::from_spacing(volume.into_data(), shape, spacing, orientation)
    }
}

fn manifest_err(path: &Path, reason: impl Into<String>) -> CtVitError {
    CtVitError::Manifest {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn is_nifti(name: &str) -> bool {
    name.ends_with(".nii") || name.ends_with(".nii.gz")
}

/// Every `.nii` / `.nii.gz` file under `dir` (recursively), named by its path relative to
/// `dir` with `/` separators (`p1/ct.nii.gz`), sorted by name. Names by path, not by file
/// name: two patients' `ct.nii.gz` are two volumes. A file directly in `dir` is named by
/// its file name, as CT-RATE's `VolumeName` names it.
pub fn jobs_from_dir(dir: impl AsRef<Path>) -> Result<Vec<VolumeJob>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(|e| CtVitError::io(dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| CtVitError::io(dir, e))?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_nifti)
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let dir = dir.as_ref();
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    let mut jobs: Vec<VolumeJob> = paths
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            VolumeJob::new(name, path)
        })
        .collect();
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(jobs)
}

/// Where a CT-RATE volume lives under `data_dir`: `data_dir/<name>` if present, else CT-RATE's
/// nested layout `train_1/train_1_a/train_1_a_1.nii.gz` (also below a `train/` or `valid/`
/// folder). A name without extension gets `.nii.gz`. Returns the direct path when nothing
/// exists, so the read error names it.
pub fn locate_volume(data_dir: &Path, name: &str) -> PathBuf {
    let file = if is_nifti(name) {
        name.to_string()
    } else {
        format!("{name}.nii.gz")
    };
    let direct = data_dir.join(&file);
    if direct.exists() {
        return direct;
    }
    let stem = file.trim_end_matches(".gz").trim_end_matches(".nii");
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() >= 4 {
        let patient = parts[..2].join("_");
        let scan = parts[..3].join("_");
        for base in [data_dir.to_path_buf(), data_dir.join(parts[0])] {
            let candidate = base.join(&patient).join(&scan).join(&file);
            if candidate.exists() {
                return candidate;
            }
        }
    }
    direct
}

fn csv_err(path: &Path, e: ::csv::Error) -> CtVitError {
    match e.into_kind() {
        ::csv::ErrorKind::Io(source) => CtVitError::io(path, source),
        other => manifest_err(path, format!("{other:?}")),
    }
}

/// The numbers in a spacing cell: `"[0.75, 0.7]"`, `"0.75"` or `"0.75 0.7"`.
fn parse_numbers(cell: &str) -> std::result::Result<Vec<f64>, String> {
    cell.trim_matches(|c: char| c == '[' || c == ']' || c == '(' || c == ')' || c.is_whitespace())
        .split([',', ' ', ';'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("`{p}` is not a positive number"))
        })
        .collect()
}

/// Volumes listed in a CT-RATE-style CSV: a `VolumeName` column and optional
/// `RescaleSlope`, `RescaleIntercept`, `XYSpacing`, `ZSpacing` columns (empty cells keep the
/// header's values). Files are found with [`locate_volume`] under `data_dir`. Rows are sorted
/// by name and repeated names (CT-RATE lists some volumes twice) kept once.
pub fn jobs_from_csv(csv: impl AsRef<Path>, data_dir: impl AsRef<Path>) -> Result<Vec<VolumeJob>> {
    let (csv, data_dir) = (csv.as_ref(), data_dir.as_ref());
    // The `csv` crate: RFC 4180 quoting (CT-RATE writes spacings as `"[0.75, 0.75]"`).
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_path(csv)
        .map_err(|e| csv_err(csv, e))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_err(csv, e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let name_col = col("VolumeName")
        .ok_or_else(|| manifest_err(csv, format!("no `VolumeName` column in header {header:?}")))?;
    let (slope, intercept) = (col("RescaleSlope"), col("RescaleIntercept"));
    let (xy, z) = (col("XYSpacing"), col("ZSpacing"));
    let mut jobs = Vec::new();
    for record in reader.records() {
        let cells = record.map_err(|e| csv_err(csv, e))?;
        if cells.iter().all(str::is_empty) {
            continue;
        }
        let line_no = cells.position().map_or(0, |p| p.line());
        let cell = |c: Option<usize>| c.and_then(|i| cells.get(i)).filter(|s| !s.is_empty());
        let Some(name) = cell(Some(name_col)) else {
            return Err(manifest_err(
                csv,
                format!("line {line_no}: empty VolumeName"),
            ));
        };
        let bad = |column: &str, e: String| {
            manifest_err(csv, format!("line {line_no} (`{name}`), {column}: {e}"))
        };
        let number = |c: Option<usize>, column: &str| -> Result<Option<f64>> {
            cell(c)
                .map(|s| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| bad(column, format!("`{s}` is not a number")))
                })
                .transpose()
        };
        let rescale = match (
            number(slope, "RescaleSlope")?,
            number(intercept, "RescaleIntercept")?,
        ) {
            (Some(s), Some(i)) => Some((s, i)),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "RescaleSlope/RescaleIntercept",
                    "give both or neither".into(),
                ));
            }
        };
        let xy_spacing = match cell(xy).map(parse_numbers).transpose() {
            Err(e) => return Err(bad("XYSpacing", e)),
            Ok(None) => None,
            Ok(Some(v)) => match v[..] {
                [s] => Some([s, s]),
                [sx, sy] => Some([sx, sy]),
                _ => {
                    return Err(bad(
                        "XYSpacing",
                        format!("expected 1 or 2 values, got {v:?}"),
                    ));
                }
            },
        };
        let z_spacing = match cell(z).map(parse_numbers).transpose() {
            Err(e) => return Err(bad("ZSpacing", e)),
            Ok(None) => None,
            Ok(Some(v)) => match v[..] {
                [s] => Some(s),
                _ => return Err(bad("ZSpacing", format!("expected 1 value, got {v:?}"))),
            },
        };
        jobs.push(VolumeJob {
            name: name.to_string(),
            path: locate_volume(data_dir, name),
            rescale,
            xy_spacing,
            z_spacing,
            max_voxels: ReadOptions::DEFAULT_MAX_VOXELS,
        });
    }
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    jobs.dedup_by(|later, first| later.name == first.name);
    Ok(jobs)
}

/// Parses `--shard i/n` (zero-based `i < n`).
pub fn parse_shard(spec: &str) -> Result<(usize, usize)> {
    let err = |reason: &str| CtVitError::Config {
        source_name: "--shard".into(),
        reason: format!("`{spec}`: {reason}"),
    };
    let (i, n) = spec.split_once('/').ok_or_else(|| err("expected i/n"))?;
    let i: usize = i.trim().parse().map_err(|_| err("i is not a number"))?;
    let n: usize = n.trim().parse().map_err(|_| err("n is not a number"))?;
    if n == 0 || i >= n {
        return Err(err("need 0 <= i < n"));
    }
    Ok((i, n))
}

/// Part `part` of `parts` of a name-sorted job list (every `parts`-th job from `part`), so
/// that machines given the same list split it without overlap. Also the writer tag to use.
pub fn shard_jobs(jobs: Vec<VolumeJob>, part: usize, parts: usize) -> (Vec<VolumeJob>, String) {
    let mine = jobs
        .into_iter()
        .enumerate()
        .filter(|(k, _)| parts > 0 && k % parts == part)
        .map(|(_, j)| j)
        .collect();
    (mine, format!("part-{part}of{parts}"))
}

/// Progress of [`embed_volumes`], for a progress bar or a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedEvent<'a> {
    /// Before the first volume.
    Started {
        /// Volumes to read and encode in this run.
        to_encode: usize,
        /// Volumes skipped because the cache already holds them.
        already_cached: usize,
    },
    /// A volume is being read and encoded.
    Begin {
        /// Its name.
        name: &'a str,
    },
    /// A volume was encoded and handed to the cache writer.
    Encoded {
        /// Its name.
        name: &'a str,
    },
    /// A volume failed and was recorded in the errors file.
    Failed {
        /// Its name.
        name: &'a str,
        /// The error recorded.
        error: &'a str,
    },
}

/// What one [`embed_volumes`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedSummary {
    /// Jobs given.
    pub total: usize,
    /// Jobs skipped because their name was already cached.
    pub already_cached: usize,
    /// Jobs encoded in this run.
    pub encoded: usize,
    /// Jobs that failed, with their errors, in job order.
    pub failed: Vec<(String, String)>,
}

/// Reads, preprocesses and encodes one volume; any failure is returned as its message
/// (panics inside the backend included, so one bad volume never ends a long run).
///
/// Returns the l2-normalised latent `[1, dim_latent]` and, when `head` is given, its logits.
pub fn encode_job<B: Backend>(
    job: &VolumeJob,
    encoder: &CtVit<B>,
    preprocess: &Preprocess,
    head: Option<&dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>>,
    device: &B::Device,
) -> std::result::Result<(Vec<f32>, Option<Vec<f32>>), String> {
    let volume = job.read().map_err(|e| e.to_string())?;
    let pre = preprocess
        .apply(&volume)
        .map_err(|e| format!("{}: {e}", job.path.display()))?;
    drop(volume);
    let [t, h, w] = pre.shape();
    let shape = [1, 1, t, h, w];
    encoder
        .token_grid(shape)
        .map_err(|e| format!("{}: {e}", job.path.display()))?;
    let to_vec = |x: Tensor<B, 2>| {
        x.into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))
    };
    let run = || {
        let input = Tensor::<B, 5>::from_data(TensorData::new(pre.into_data(), shape), device);
        let latent = encoder.forward(input).latent;
        let logits = head.map(|f| f(latent.clone()));
        let (latent, logits) = (to_vec(latent)?, logits.map(to_vec).transpose()?);
        // NaN weights give NaN outputs: the volume fails (and is listed in errors.tsv)
        // instead of entering the cache, which refuses them anyway.
        for (what, values) in [("latent", Some(&latent)), ("logits", logits.as_ref())] {
            if let Some(v) = values.and_then(|v| v.iter().find(|x| !x.is_finite())) {
                return Err(format!(
                    "{}: the encoder produced a {what} value of {v}; are its weights damaged?",
                    job.path.display()
                ));
            }
        }
        Ok((latent, logits))
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(format!("{}: encoder panicked: {msg}", job.path.display()))
    })
}

/// Encodes every job not yet in `writer`'s cache and pushes its latent (and `head`'s logits)
/// to it; failures go to the errors file (`errors.tsv`) and are skipped.
///
/// The caller finishes the writer (flushing the last partial shard). `head` must produce as
/// many logits as the writer was opened with. Returns an error only when the cache itself
/// cannot be written.
pub fn embed_volumes<B: Backend>(
    encoder: &CtVit<B>,
    preprocess: &Preprocess,
    head: Option<&dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>>,
    jobs: &[VolumeJob],
    writer: &mut EmbeddingCacheWriter,
    device: &B::Device,
    mut on_event: impl FnMut(EmbedEvent<'_>),
) -> Result<EmbedSummary> {
    let todo: Vec<&VolumeJob> = jobs.iter().filter(|j| !writer.contains(&j.name)).collect();
    let mut summary = EmbedSummary {
        total: jobs.len(),
        already_cached: jobs.len() - todo.len(),
        ..EmbedSummary::default()
    };
    on_event(EmbedEvent::Started {
        to_encode: todo.len(),
        already_cached: summary.already_cached,
    });
    for job in todo {
        on_event(EmbedEvent::Begin { name: &job.name });
        match encode_job(job, encoder, preprocess, head, device) {
            Ok((latent, logits)) => {
                writer.push(&job.name, &latent, logits.as_deref())?;
                summary.encoded += 1;
                on_event(EmbedEvent::Encoded { name: &job.name });
            }
            Err(error) => {
                tracing::warn!(volume = %job.name, %error, "skipping volume");
                writer.record_error(&job.name, &error)?;
                on_event(EmbedEvent::Failed {
                    name: &job.name,
                    error: &error,
                });
                summary.failed.push((job.name.clone(), error));
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_cells() {
        assert_eq!(parse_numbers("[0.75, 0.7]").unwrap(), [0.75, 0.7]);
        assert_eq!(parse_numbers("1.5").unwrap(), [1.5]);
        assert!(parse_numbers("[0.75, x]").is_err());
        assert!(parse_numbers("-1").is_err());
    }

    #[test]
    fn csv_manifest_with_overrides_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("train_1").join("train_1_a");
        fs::create_dir_all(&nested).unwrap();
        fs::write(nested.join("train_1_a_1.nii.gz"), b"").unwrap();
        let csv = dir.path().join("meta.csv");
        fs::write(
            &csv,
            "\u{feff}VolumeName,RescaleSlope,RescaleIntercept,XYSpacing,ZSpacing\n\
             train_1_a_1.nii.gz,1,-1024,\"[0.75, 0.7]\",1.5\n\
             b.nii.gz,,,,\n\
             train_1_a_1.nii.gz,1,-1024,\"[0.75, 0.7]\",1.5\n",
        )
        .unwrap();
        let jobs = jobs_from_csv(&csv, dir.path()).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs[0],
            VolumeJob::new("b.nii.gz", dir.path().join("b.nii.gz"))
        );
        assert_eq!(jobs[1].path, nested.join("train_1_a_1.nii.gz"));
        assert_eq!(jobs[1].rescale, Some((1.0, -1024.0)));
        assert_eq!(jobs[1].xy_spacing, Some([0.75, 0.7]));
        assert_eq!(jobs[1].z_spacing, Some(1.5));

        fs::write(&csv, "VolumeName,RescaleSlope\nx.nii.gz,abc\n").unwrap();
        let err = jobs_from_csv(&csv, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("RescaleSlope") && err.contains("abc"),
            "{err}"
        );
        fs::write(&csv, "Name\nx.nii.gz\n").unwrap();
        let err = jobs_from_csv(&csv, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("VolumeName") && err.contains("meta.csv"),
            "{err}"
        );
    }

    #[test]
    fn shards_partition_the_list() {
        assert_eq!(parse_shard("2/8").unwrap(), (2, 8));
        for bad in ["8/8", "1", "a/2", "0/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let jobs: Vec<VolumeJob> = (0..7)
            .map(|i| VolumeJob::new(format!("v{i}"), format!("v{i}.nii")))
            .collect();
        let mut seen = Vec::new();
        for part in 0..3 {
            let (mine, tag) = shard_jobs(jobs.clone(), part, 3);
            assert_eq!(tag, format!("part-{part}of3"));
            seen.extend(mine.into_iter().map(|j| j.name));
        }
        seen.sort();
        assert_eq!(
            seen,
            jobs.iter().map(|j| j.name.clone()).collect::<Vec<_>>()
        );
    }
}
