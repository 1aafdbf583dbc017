//! Embedding cache: per-volume CT-CLIP latents (and optional classifier logits) stored in
//! safetensors shards, written atomically and resumably. Format: `docs/cache-format.md`.
//!
//! A cache is a directory of `*.safetensors` shards. Each shard holds `latent` `[n, d]` f32,
//! optionally `logits` `[n, l]` f32, and in its metadata `volumes` (JSON list of the `n`
//! volume names, row order), `dim_latent`, optional `labels` (JSON list) and
//! `format_version`. Volumes that failed are listed in `errors.tsv`.
//!
//! A writer holds the lock file `.<tag>.lock` while it writes, so a second writer of the
//! same tag is refused instead of overwriting the first one's shards. NaN or infinite
//! latents and logits are refused both when written and when read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};

use crate::error::{CtVitError, Result};

/// Version written to every shard's metadata.
pub const FORMAT_VERSION: &str = "1";
/// Name of the tab-separated file listing volumes that failed (`name<TAB>error`).
pub const ERRORS_FILE: &str = "errors.tsv";

fn cache_err(path: &Path, reason: impl Into<String>) -> CtVitError {
    CtVitError::Cache {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The content of one shard.
struct Shard {
    volumes: Vec<String>,
    latent: Vec<f32>,
    logits: Option<Vec<f32>>,
    dim_latent: usize,
    n_logits: usize,
    labels: Option<Vec<String>>,
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn read_shard(path: &Path) -> Result<Shard> {
    let bytes = fs::read(path).map_err(|e| CtVitError::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| cache_err(path, format!("not a safetensors shard ({e:?})")))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| cache_err(path, format!("bad header ({e:?})")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let volumes: Vec<String> = meta
        .get("volumes")
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or_else(|| cache_err(path, "metadata `volumes` missing or not a JSON list"))?;
    let labels: Option<Vec<String>> = match meta.get("labels") {
        Some(v) => Some(
            serde_json::from_str(v)
                .map_err(|e| cache_err(path, format!("metadata `labels`: {e}")))?,
        ),
        None => None,
    };
    let tensor = |name: &str| -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        match st.tensor(name) {
            Ok(view) => {
                if view.dtype() != Dtype::F32 || view.shape().len() != 2 {
                    return Err(cache_err(
                        path,
                        format!(
                            "`{name}` must be 2-D f32, found {:?} {:?}",
                            view.dtype(),
                            view.shape()
                        ),
                    ));
                }
                Ok(Some((view.shape().to_vec(), f32s(view.data()))))
            }
            Err(_) => Ok(None),
        }
    };
    let (lshape, latent) =
        tensor("latent")?.ok_or_else(|| cache_err(path, "tensor `latent` missing"))?;
    if lshape[0] != volumes.len() {
        return Err(cache_err(
            path,
            format!(
                "`latent` has {} rows for {} volumes",
                lshape[0],
                volumes.len()
            ),
        ));
    }
    let (n_logits, logits) = match tensor("logits")? {
        Some((shape, values)) => {
            if shape[0] != volumes.len() {
                return Err(cache_err(path, "`logits` row count differs from `volumes`"));
            }
            (shape[1], Some(values))
        }
        None => (0, None),
    };
    check_finite(path, "latent", &latent, lshape[1], &volumes)?;
    if let Some(values) = &logits {
        check_finite(path, "logits", values, n_logits, &volumes)?;
    }
    Ok(Shard {
        volumes,
        latent,
        logits,
        dim_latent: lshape[1],
        n_logits,
        labels,
    })
}

/// Refuses NaN or infinite values in `values` (one row of `width` per volume), naming the
/// volume of the first: a NaN latent would otherwise train, classify or generate from
/// garbage without a word.
fn check_finite(
    path: &Path,
    tensor: &str,
    values: &[f32],
    width: usize,
    volumes: &[String],
) -> Result<()> {
    match rad3d_io::IoError::check_finite(values, path, tensor) {
        Ok(()) => Ok(()),
        Err(rad3d_io::IoError::NonFinite { count, first, .. }) => Err(CtVitError::NonFinite {
            path: path.to_path_buf(),
            tensor: tensor.to_string(),
            // A value exists, so the width is positive.
            volume: volumes
                .get(first / width.max(1))
                .cloned()
                .unwrap_or_default(),
            value: values[first],
            count,
        }),
        Err(e) => Err(CtVitError::Checkpoint(e)),
    }
}

fn shard_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| CtVitError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// One cached volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachedEmbedding<'a> {
    /// Volume name as given when writing.
    pub name: &'a str,
    /// The latent (`dim_latent` values).
    pub latent: &'a [f32],
    /// Classifier logits, if the cache has them.
    pub logits: Option<&'a [f32]>,
}

/// Read access to a cache directory (all shards loaded into memory: 50 000 volumes of
/// 512-d latents are ~100 MB).
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    names: Vec<String>,
    latent: Vec<f32>,
    logits: Option<Vec<f32>>,
    dim_latent: usize,
    n_logits: usize,
    labels: Option<Vec<String>>,
    index: HashMap<String, usize>,
}

impl EmbeddingCache {
    /// Opens every shard of a cache directory. Shards must agree on widths; a volume present
    /// in several shards (e.g. two machines overlapping) keeps its first occurrence.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut cache = Self {
            names: Vec::new(),
            latent: Vec::new(),
            logits: None,
            dim_latent: 0,
            n_logits: 0,
            labels: None,
            index: HashMap::new(),
        };
        for (k, path) in shard_paths(dir)?.iter().enumerate() {
            let shard = read_shard(path)?;
            if k == 0 {
                cache.dim_latent = shard.dim_latent;
                cache.n_logits = shard.n_logits;
                cache.labels = shard.labels.clone();
                cache.logits = shard.logits.as_ref().map(|_| Vec::new());
            } else if shard.dim_latent != cache.dim_latent
                || shard.n_logits != cache.n_logits
                || shard.labels != cache.labels
            {
                return Err(cache_err(
                    path,
                    "shard widths or labels differ from the other shards",
                ));
            }
            for (i, name) in shard.volumes.iter().enumerate() {
                if cache.index.contains_key(name) {
                    tracing::warn!(volume = %name, shard = %path.display(), "duplicate volume ignored");
                    continue;
                }
                cache.index.insert(name.clone(), cache.names.len());
                cache.names.push(name.clone());
                let d = shard.dim_latent;
                cache
                    .latent
                    .extend_from_slice(&shard.latent[i * d..(i + 1) * d]);
                if let (Some(dst), Some(src)) = (cache.logits.as_mut(), shard.logits.as_ref()) {
                    let l = shard.n_logits;
                    dst.extend_from_slice(&src[i * l..(i + 1) * l]);
                }
            }
        }
        Ok(cache)
    }

    /// Number of cached volumes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the cache holds no volume.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Latent width (0 for an empty cache).
    pub fn dim_latent(&self) -> usize {
        self.dim_latent
    }

    /// Logit count (0 when the cache has no logits).
    pub fn n_logits(&self) -> usize {
        self.n_logits
    }

    /// Label names of the logits, if recorded.
    pub fn labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    /// Volume names in cache order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn at(&self, i: usize) -> CachedEmbedding<'_> {
        let (d, l) = (self.dim_latent, self.n_logits);
        CachedEmbedding {
            name: &self.names[i],
            latent: &self.latent[i * d..(i + 1) * d],
            logits: self.logits.as_ref().map(|v| &v[i * l..(i + 1) * l]),
        }
    }

    /// Looks a volume up by name.
    pub fn get(&self, name: &str) -> Option<CachedEmbedding<'_>> {
        self.index.get(name).map(|&i| self.at(i))
    }

    /// Iterates over all volumes in cache order.
    pub fn iter(&self) -> impl Iterator<Item = CachedEmbedding<'_>> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }
}

/// Volumes that failed, from a cache's `errors.tsv` (last error per volume).
pub fn read_errors(dir: impl AsRef<Path>) -> Result<BTreeMap<String, String>> {
    let path = dir.as_ref().join(ERRORS_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(CtVitError::io(&path, e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect())
}

/// Writes a cache incrementally. Finished shards are never rewritten; each shard is written
/// to a temporary file and renamed, so a crash leaves only complete shards. Reopening the
/// directory skips every volume already in a shard.
#[derive(Debug)]
pub struct EmbeddingCacheWriter {
    dir: PathBuf,
    tag: String,
    shard_size: usize,
    dim_latent: usize,
    n_logits: usize,
    labels: Option<Vec<String>>,
    done: HashSet<String>,
    next_seq: usize,
    pending_names: Vec<String>,
    pending_latent: Vec<f32>,
    pending_logits: Vec<f32>,
    /// Held for the writer's lifetime (see [`lock_tag`]).
    _lock: fs::File,
}

/// The lock file of writer tag `tag` in `dir`.
fn lock_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(format!(".{tag}.lock"))
}

/// Takes the exclusive lock of writer tag `tag` in `dir`: two writers of one tag would
/// number their shards alike and replace each other's. The lock is the operating system's
/// (`flock`), so it is released when its holder exits however it ends, and a run killed
/// part-way never leaves a lock that blocks the next. The file stays (it holds the last
/// holder's process id, for the error message).
fn lock_tag(dir: &Path, tag: &str) -> Result<fs::File> {
    let path = lock_path(dir, tag);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| CtVitError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let holder = match holder.trim() {
                "" => "unknown process".to_string(),
                pid => format!("process {pid}"),
            };
            return Err(CtVitError::Locked {
                lock: path,
                tag: tag.to_string(),
                holder,
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(CtVitError::io(&path, e)),
    }
    // Only the holder writes the file, so the id is never torn.
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| CtVitError::io(&path, e))?;
    Ok(file)
}

impl EmbeddingCacheWriter {
    /// Opens (creating if needed) a cache directory for writing.
    ///
    /// `tag` distinguishes writers sharing a directory (e.g. `"part-2of8"`) so their shard
    /// names never collide; `labels` names the logits (pass `None` and `n_logits = 0` for
    /// latents only).
    pub fn open(
        dir: impl AsRef<Path>,
        tag: &str,
        shard_size: usize,
        dim_latent: usize,
        n_logits: usize,
        labels: Option<Vec<String>>,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if shard_size == 0 || dim_latent == 0 {
            return Err(cache_err(
                &dir,
                "shard size and latent width must be positive",
            ));
        }
        if tag.is_empty() || tag.contains(['/', '\\', '.']) {
            return Err(cache_err(&dir, format!("invalid writer tag `{tag}`")));
        }
        if labels.as_ref().is_some_and(|l| l.len() != n_logits) {
            return Err(cache_err(&dir, "label count differs from logit count"));
        }
        fs::create_dir_all(&dir).map_err(|e| CtVitError::io(&dir, e))?;
        // Before reading the shards: what another writer of this tag is writing is not
        // yet known to be complete.
        let lock = lock_tag(&dir, tag)?;
        let mut done = HashSet::new();
        let mut next_seq = 0;
        for path in shard_paths(&dir)? {
            let shard = read_shard(&path)?;
            if shard.dim_latent != dim_latent || shard.n_logits != n_logits {
                return Err(cache_err(
                    &path,
                    format!(
                        "existing shard is [{}] latents / {} logits, this run writes [{dim_latent}] / {n_logits}",
                        shard.dim_latent, shard.n_logits
                    ),
                ));
            }
            done.extend(shard.volumes);
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if let Some(seq) = stem
                .strip_prefix(tag)
                .and_then(|s| s.strip_prefix('-'))
                .and_then(|s| s.parse::<usize>().ok())
            {
                next_seq = next_seq.max(seq + 1);
            }
        }
        Ok(Self {
            dir,
            tag: tag.to_string(),
            shard_size,
            dim_latent,
            n_logits,
            labels,
            done,
            next_seq,
            pending_names: Vec::new(),
            pending_latent: Vec::new(),
            pending_logits: Vec::new(),
            _lock: lock,
        })
    }

    /// Whether a volume is already stored (in a finished shard or pending).
    pub fn contains(&self, name: &str) -> bool {
        self.done.contains(name)
    }

    /// Number of volumes stored or pending.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Whether nothing is stored yet.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// Adds one volume; writes a shard when `shard_size` volumes are pending.
    pub fn push(&mut self, name: &str, latent: &[f32], logits: Option<&[f32]>) -> Result<()> {
        if latent.len() != self.dim_latent {
            return Err(cache_err(
                &self.dir,
                format!(
                    "`{name}`: latent has {} values, expected {}",
                    latent.len(),
                    self.dim_latent
                ),
            ));
        }
        match (logits, self.n_logits) {
            (None, 0) => {}
            (Some(l), n) if l.len() == n && n > 0 => {}
            _ => {
                return Err(cache_err(
                    &self.dir,
                    format!("`{name}`: expected {} logits", self.n_logits),
                ));
            }
        }
        let names = [name.to_string()];
        check_finite(&self.dir, "latent", latent, self.dim_latent, &names)?;
        if let Some(l) = logits {
            check_finite(&self.dir, "logits", l, self.n_logits, &names)?;
        }
        if !self.done.insert(name.to_string()) {
            return Err(cache_err(&self.dir, format!("`{name}` is already cached")));
        }
        self.pending_names.push(name.to_string());
        self.pending_latent.extend_from_slice(latent);
        if let Some(l) = logits {
            self.pending_logits.extend_from_slice(l);
        }
        if self.pending_names.len() >= self.shard_size {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a failed volume and its error to `errors.tsv`.
    pub fn record_error(&mut self, name: &str, error: &str) -> Result<()> {
        let path = self.dir.join(ERRORS_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CtVitError::io(&path, e))?;
        let error = error.replace(['\t', '\n', '\r'], " ");
        writeln!(file, "{name}\t{error}").map_err(|e| CtVitError::io(&path, e))
    }

    /// Writes pending volumes as one shard (temporary file, fsync, rename).
    pub fn flush(&mut self) -> Result<()> {
        if self.pending_names.is_empty() {
            return Ok(());
        }
        let n = self.pending_names.len();
        let to_bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let latent = to_bytes(&self.pending_latent);
        let logits = to_bytes(&self.pending_logits);
        let mut tensors = vec![(
            "latent",
            TensorView::new(Dtype::F32, vec![n, self.dim_latent], &latent)
                .expect("length matches shape"),
        )];
        if self.n_logits > 0 {
            tensors.push((
                "logits",
                TensorView::new(Dtype::F32, vec![n, self.n_logits], &logits)
                    .expect("length matches shape"),
            ));
        }
        let mut meta = HashMap::new();
        meta.insert(
            "volumes".to_string(),
            serde_json::to_string(&self.pending_names).expect("strings serialise"),
        );
        meta.insert("dim_latent".to_string(), self.dim_latent.to_string());
        meta.insert("format_version".to_string(), FORMAT_VERSION.to_string());
        if let Some(labels) = &self.labels {
            meta.insert(
                "labels".to_string(),
                serde_json::to_string(labels).expect("strings serialise"),
            );
        }
        let bytes = safetensors::serialize(tensors, Some(meta))
            .map_err(|e| cache_err(&self.dir, format!("serialising shard: {e:?}")))?;
        let name = format!("{}-{:05}.safetensors", self.tag, self.next_seq);
        let final_path = self.dir.join(&name);
        rad3d_io::write_atomic(&final_path, &bytes)?;
        tracing::debug!(shard = %final_path.display(), volumes = n, "wrote cache shard");
        self.next_seq += 1;
        self.pending_names.clear();
        self.pending_latent.clear();
        self.pending_logits.clear();
        Ok(())
    }

    /// Flushes the last partial shard.
    pub fn finish(mut self) -> Result<()> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latent(seed: f32) -> Vec<f32> {
        (0..4).map(|i| seed + i as f32 * 0.25).collect()
    }

    #[test]
    fn round_trip_resume_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let labels = Some(vec!["x".to_string(), "y".to_string()]);
        let mut w =
            EmbeddingCacheWriter::open(dir.path(), "part-0of1", 2, 4, 2, labels.clone()).unwrap();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            w.push(name, &latent(i as f32), Some(&[i as f32, -(i as f32)]))
                .unwrap();
        }
        w.record_error("bad.nii.gz", "truncated\tgzip").unwrap();
        // Simulated crash: "c" is pending and never flushed; a stray temp file remains.
        fs::write(
            dir.path().join(".part-0of1-00001.safetensors.tmp"),
            b"partial",
        )
        .unwrap();
        drop(w);

        let mut w = EmbeddingCacheWriter::open(dir.path(), "part-0of1", 2, 4, 2, labels).unwrap();
        assert!(w.contains("a") && w.contains("b") && !w.contains("c"));
        w.push("c", &latent(2.0), Some(&[2.0, -2.0])).unwrap();
        assert!(w.push("c", &latent(2.0), Some(&[2.0, -2.0])).is_err());
        assert!(w.push("d", &latent(2.0)[..3], Some(&[0.0, 0.0])).is_err());
        w.finish().unwrap();

        let cache = EmbeddingCache::open(dir.path()).unwrap();
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.names(), ["a", "b", "c"]);
        assert_eq!(cache.dim_latent(), 4);
        assert_eq!(cache.labels().unwrap(), ["x", "y"]);
        let c = cache.get("c").unwrap();
        assert_eq!(c.latent, latent(2.0).as_slice());
        assert_eq!(c.logits.unwrap(), &[2.0, -2.0]);
        assert!(cache.get("zzz").is_none());
        assert_eq!(cache.iter().count(), 3);
        let errors = read_errors(dir.path()).unwrap();
        assert_eq!(errors["bad.nii.gz"], "truncated gzip");
    }

    #[test]
    fn mismatched_widths_and_corrupt_shards_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EmbeddingCacheWriter::open(dir.path(), "p", 8, 4, 0, None).unwrap();
        w.push("a", &latent(0.0), None).unwrap();
        w.finish().unwrap();
        let err = EmbeddingCacheWriter::open(dir.path(), "p", 8, 5, 0, None).unwrap_err();
        assert!(err.to_string().contains("p-00000.safetensors"), "{err}");
        fs::write(dir.path().join("q-00000.safetensors"), b"garbage").unwrap();
        let err = EmbeddingCache::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("q-00000"), "{err}");
    }
}
