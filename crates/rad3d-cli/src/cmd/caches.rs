//! Embedding caches as the training commands read them: one or more cache folders looked
//! up by normalised volume name, optionally with logits recomputed by a classifier head.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rad3d_prefix::classifier::AnomalyClassifier;
use rad3d_prefix::ctvit::cache::EmbeddingCache;
use rad3d_prefix::train::{Embedding, EmbeddingLookup, normalize_volume_name};

/// Latents per head forward when logits are recomputed.
const HEAD_BATCH: usize = 1024;

/// One cache and its index from volume name (last path component, extension stripped) to
/// cached name; `None` marks a volume name that two cached paths share.
struct Indexed {
    cache: EmbeddingCache,
    by_volume: HashMap<String, Option<String>>,
}

/// Caches searched in order.
pub(crate) struct Caches {
    caches: Vec<Indexed>,
    /// Logits by (cache index, cached name) when a head replaced the cached ones.
    head_logits: Option<HashMap<(usize, String), Vec<f32>>>,
    dirs: Vec<PathBuf>,
}

impl Caches {
    /// Opens every folder; all must hold latents of one width and the same logits.
    pub(crate) fn open(dirs: &[PathBuf]) -> Result<Self> {
        let mut caches: Vec<Indexed> = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let cache = EmbeddingCache::open(dir)?;
            if let Some(first) = caches.first().map(|c| &c.cache) {
                let shape = |c: &EmbeddingCache| {
                    (
                        c.dim_latent(),
                        c.n_logits(),
                        c.labels().map(<[String]>::to_vec),
                    )
                };
                if shape(&cache) != shape(first) {
                    anyhow::bail!(
                        "{}: {}-d latents with {} logits {:?}, but {} holds {}-d latents with {} \
                         logits {:?}; caches read together must come from the same encoder and head",
                        dir.display(),
                        cache.dim_latent(),
                        cache.n_logits(),
                        cache.labels(),
                        dirs[0].display(),
                        first.dim_latent(),
                        first.n_logits(),
                        first.labels()
                    );
                }
            }
            let mut by_volume: HashMap<String, Option<String>> = HashMap::new();
            for name in cache.names() {
                let file = name.rsplit('/').next().unwrap_or(name);
                by_volume
                    .entry(normalize_volume_name(file))
                    .and_modify(|e| *e = None)
                    .or_insert_with(|| Some(name.clone()));
            }
            caches.push(Indexed { cache, by_volume });
        }
        anyhow::ensure!(!caches.is_empty(), "no embedding cache given");
        Ok(Self {
            caches,
            head_logits: None,
            dirs: dirs.to_vec(),
        })
    }

    /// The first cache (its widths and labels are every cache's).
    pub(crate) fn first(&self) -> &EmbeddingCache {
        &self.caches[0].cache
    }

    /// The folders, in search order.
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Where `name` (`train_1_a_1`, `train_1_a_1.nii.gz`, …) is cached: (cache index,
    /// cached name).
    fn find(&self, name: &str) -> Option<(usize, String)> {
        self.caches.iter().enumerate().find_map(|(i, c)| {
            [
                name.to_string(),
                format!("{name}.nii.gz"),
                format!("{name}.nii"),
            ]
            .into_iter()
            .find(|n| c.cache.get(n).is_some())
            .or_else(|| {
                c.by_volume
                    .get(&normalize_volume_name(name))?
                    .as_ref()
                    .cloned()
            })
            .map(|key| (i, key))
        })
    }

    /// The latent cached for `name`.
    pub(crate) fn latent(&self, name: &str) -> Option<Vec<f32>> {
        let (i, key) = self.find(name)?;
        self.caches[i].cache.get(&key).map(|e| e.latent.to_vec())
    }

    /// Replaces every cached logit by `head`'s logits on the cached latent, so a head
    /// trained after embedding (`rad3d classifier train`) can feed V-3.
    pub(crate) fn with_head<B: Backend>(
        mut self,
        head: &AnomalyClassifier<B>,
        path: &Path,
        device: &B::Device,
    ) -> Result<Self> {
        let d = self.first().dim_latent();
        anyhow::ensure!(
            head.d_latent() == d,
            "{}: the head reads {}-d latents, the cache holds {d}-d ones",
            path.display(),
            head.d_latent()
        );
        let n = head.n_labels();
        let mut logits = HashMap::new();
        for (i, c) in self.caches.iter().enumerate() {
            for chunk in c.cache.names().chunks(HEAD_BATCH) {
                let values: Vec<f32> = chunk
                    .iter()
                    .filter_map(|name| c.cache.get(name))
                    .flat_map(|e| e.latent.iter().copied())
                    .collect();
                let rows = values.len() / d;
                let x = Tensor::<B, 2>::from_data(TensorData::new(values, [rows, d]), device);
                let out = head.forward(x).into_data().to_vec::<f32>().map_err(|e| {
                    anyhow::anyhow!("{}: head output unreadable: {e:?}", path.display())
                })?;
                for (name, row) in chunk.iter().zip(out.chunks(n)) {
                    logits.insert((i, name.clone()), row.to_vec());
                }
            }
        }
        self.head_logits = Some(logits);
        Ok(self)
    }
}

impl EmbeddingLookup for Caches {
    fn lookup(&self, name: &str) -> Option<Embedding> {
        let (i, key) = self.find(name)?;
        let entry = self.caches[i].cache.get(&key)?;
        let logits = match &self.head_logits {
            Some(map) => map.get(&(i, key)).cloned(),
            None => entry.logits.map(<[f32]>::to_vec),
        };
        Some(Embedding {
            latent: entry.latent.to_vec(),
            logits,
        })
    }
}
