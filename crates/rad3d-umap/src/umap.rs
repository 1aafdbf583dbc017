//! The whole fit: neighbours → fuzzy graph → initial coordinates → layout.

use serde::Serialize;

use crate::curve::find_ab;
use crate::error::{Result, UmapError};
use crate::graph::fuzzy_simplicial_set;
use crate::init::{Init, initial_coords};
use crate::knn::exact_knn;
use crate::layout::{LayoutParams, optimize_layout};

/// The most points one fit takes: the neighbour search is exact, `O(n²·dim)`.
pub const MAX_POINTS: usize = 200_000;

/// Points to embed: `n` rows of `dim` finite values, row-major, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    rows: &'a [f32],
    n: usize,
    dim: usize,
}

impl<'a> Data<'a> {
    /// Checks the shape and that every value is finite.
    ///
    /// # Errors
    /// [`UmapError::Data`] when `rows.len() != n * dim`, `dim == 0`, `n` exceeds
    /// [`MAX_POINTS`] or a value is NaN or infinite (naming its row and column).
    pub fn new(rows: &'a [f32], n: usize, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(UmapError::Data("points have no coordinates (dim 0)".into()));
        }
        if n > MAX_POINTS {
            return Err(UmapError::Data(format!(
                "{n} points; the exact neighbour search takes at most {MAX_POINTS}"
            )));
        }
        if n.checked_mul(dim) != Some(rows.len()) {
            return Err(UmapError::Data(format!(
                "{} values are not {n} points of {dim}",
                rows.len()
            )));
        }
        if let Some(k) = rows.iter().position(|v| !v.is_finite()) {
            return Err(UmapError::Data(format!(
                "point {} coordinate {} is {}",
                k / dim,
                k % dim,
                rows[k]
            )));
        }
        Ok(Self { rows, n, dim })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Point `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.rows[i * self.dim..(i + 1) * self.dim]
    }

    /// All values, row-major.
    pub fn rows(&self) -> &'a [f32] {
        self.rows
    }
}

/// UMAP's settings, named and defaulted as `umap.UMAP`'s (metric Euclidean).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UmapConfig {
    /// Neighbours per point, the point itself included (`n_neighbors`, 15).
    pub n_neighbors: usize,
    /// Output dimensions (`n_components`, 2; the paper's Fig. 6 uses 3).
    pub n_components: usize,
    /// Smallest distance between embedded points (`min_dist`, 0.1).
    pub min_dist: f32,
    /// Scale of embedded distances (`spread`, 1.0).
    pub spread: f32,
    /// Layout epochs (`n_epochs`; `None`: 500 up to 10,000 points, else 200).
    pub n_epochs: Option<usize>,
    /// Initial learning rate (`learning_rate`, 1.0).
    pub learning_rate: f32,
    /// Repulsive samples per attraction (`negative_sample_rate`, 5).
    pub negative_sample_rate: usize,
    /// Weight of repulsion (`repulsion_strength`, 1.0).
    pub repulsion_strength: f32,
    /// Neighbours assumed connected (`local_connectivity`, 1.0).
    pub local_connectivity: f32,
    /// Initial coordinates (`init`; `umap-learn`'s default is spectral, ours PCA — see
    /// [`Init`]).
    pub init: Init,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for UmapConfig {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            n_components: 2,
            min_dist: 0.1,
            spread: 1.0,
            n_epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            local_connectivity: 1.0,
            init: Init::Pca,
            seed: 0,
        }
    }
}

/// An embedding: `n` points of `dims` coordinates, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Number of points.
    pub n: usize,
    /// Coordinates per point.
    pub dims: usize,
    /// The coordinates.
    pub coords: Vec<f32>,
}

impl Embedding {
    /// The embedding as [`Data`] (for [`trustworthiness`](crate::trustworthiness)).
    ///
    /// # Errors
    /// As [`Data::new`] (a diverged layout with non-finite coordinates).
    pub fn as_data(&self) -> Result<Data<'_>> {
        Data::new(&self.coords, self.n, self.dims)
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> &[f32] {
        &self.coords[i * self.dims..(i + 1) * self.dims]
    }
}

/// A configured UMAP.
#[derive(Debug, Clone)]
pub struct Umap {
    config: UmapConfig,
    a: f32,
    b: f32,
}

fn refuse(field: &'static str, value: impl ToString, reason: &str) -> UmapError {
    UmapError::Config {
        field,
        value: value.to_string(),
        reason: reason.into(),
    }
}

impl Umap {
    /// Checks the settings and fits `a`, `b` to `min_dist` and `spread`.
    ///
    /// # Errors
    /// [`UmapError::Config`] for a setting outside its range.
    pub fn new(config: UmapConfig) -> Result<Self> {
        let c = &config;
        if c.n_neighbors < 2 {
            return Err(refuse("n_neighbors", c.n_neighbors, "must be at least 2"));
        }
        if !(1..=100).contains(&c.n_components) {
            return Err(refuse("n_components", c.n_components, "must be 1 to 100"));
        }
        if !(c.spread.is_finite() && c.spread > 0.0) {
            return Err(refuse("spread", c.spread, "must be positive"));
        }
        if !(c.min_dist.is_finite() && c.min_dist >= 0.0 && c.min_dist <= c.spread) {
            return Err(refuse("min_dist", c.min_dist, "must be in [0, spread]"));
        }
        if c.n_epochs.is_some_and(|e| !(1..=100_000).contains(&e)) {
            return Err(refuse(
                "n_epochs",
                c.n_epochs.unwrap_or(0),
                "must be 1 to 100000",
            ));
        }
        if !(c.learning_rate.is_finite() && c.learning_rate > 0.0) {
            return Err(refuse("learning_rate", c.learning_rate, "must be positive"));
        }
        if c.negative_sample_rate > 1000 {
            return Err(refuse(
                "negative_sample_rate",
                c.negative_sample_rate,
                "at most 1000",
            ));
        }
        if !(c.repulsion_strength.is_finite() && c.repulsion_strength >= 0.0) {
            return Err(refuse(
                "repulsion_strength",
                c.repulsion_strength,
                "must be ≥ 0",
            ));
        }
        if !(c.local_connectivity.is_finite() && c.local_connectivity >= 0.0) {
            return Err(refuse(
                "local_connectivity",
                c.local_connectivity,
                "must be ≥ 0",
            ));
        }
        let (a, b) = find_ab(c.spread as f64, c.min_dist as f64);
        Ok(Self {
            config,
            a: a as f32,
            b: b as f32,
        })
    }

    /// The settings.
    pub fn config(&self) -> &UmapConfig {
        &self.config
    }

    /// The fitted `(a, b)` of `1 / (1 + a d^{2b})`.
    pub fn ab(&self) -> (f32, f32) {
        (self.a, self.b)
    }

    /// Embeds `data`.
    ///
    /// # Errors
    /// [`UmapError::Data`] when there are not more points than `n_neighbors`, or the
    /// layout diverges to non-finite coordinates.
    pub fn fit(&self, data: &Data<'_>) -> Result<Embedding> {
        let c = &self.config;
        let n = data.len();
        if n <= c.n_neighbors {
            return Err(UmapError::Data(format!(
                "{n} points; UMAP with n_neighbors = {} needs more",
                c.n_neighbors
            )));
        }
        let knn = exact_knn(data, c.n_neighbors);
        let graph = fuzzy_simplicial_set(&knn, c.local_connectivity);
        let n_epochs = c.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 });
        let mut coords = initial_coords(data, c.n_components, c.init, c.seed);
        let params = LayoutParams {
            a: self.a,
            b: self.b,
            gamma: c.repulsion_strength,
            initial_alpha: c.learning_rate,
            negative_sample_rate: c.negative_sample_rate,
            n_epochs,
            seed: c.seed,
        };
        optimize_layout(&mut coords, c.n_components, &graph, &params);
        let embedding = Embedding {
            n,
            dims: c.n_components,
            coords,
        };
        embedding.as_data()?;
        Ok(embedding)
    }
}
