//! UMAP (McInnes, Healy & Melville 2018) as `umap-learn` 0.5 computes it, for the paper's
//! Fig. 6 (V-2 against V-3 prefix embeddings), and scikit-learn's trustworthiness to judge
//! an embedding.
//!
//! The steps, one file each:
//! - [`knn`]: exact Euclidean nearest neighbours (what `umap-learn` does below 4,096
//!   points; above it uses NN-descent, an approximation of the same graph);
//! - [`graph`]: the fuzzy simplicial set — per-point `rho` and `sigma` by the same binary
//!   search (`smooth_knn_dist`), membership strengths, the fuzzy union `P + Pᵀ − P∘Pᵀ`;
//! - [`curve`]: the `a`, `b` of the low-dimensional similarity `1 / (1 + a d^{2b})` fitted
//!   to `min_dist` and `spread` by least squares, as `find_ab_params` does;
//! - [`init`]: PCA or uniform random initial coordinates, scaled as `umap-learn` scales them;
//! - [`layout`]: the negative-sampling SGD of `optimize_layout_euclidean` (attraction along
//!   each edge at its own rate, `negative_sample_rate` repulsions per attraction, a linearly
//!   decaying learning rate, gradients clipped at 4);
//! - [`trust`]: trustworthiness (Venna & Kaski 2001) exactly as
//!   `sklearn.manifold.trustworthiness` computes it.
//!
//! Written here rather than taken from a crate so that every step can be checked against
//! `umap-learn`'s code and scikit-learn's numbers; the layout runs single-threaded so an
//! embedding is a function of its seed. Random draws come from the project's
//! [`SplitMix64`](rad3d_io::SplitMix64), so coordinates differ from `umap-learn`'s (which
//! draws from numba's generator) while the method is the same: compare embeddings by
//! their trustworthiness, as `scripts/reference/umap_trustworthiness.py` does.
//!
//! ```
//! use rad3d_umap::{Data, Umap, UmapConfig, trustworthiness};
//! # fn main() -> Result<(), rad3d_umap::UmapError> {
//! // Two clusters of 20 points in 5 dimensions.
//! let rows: Vec<f32> = (0..40)
//!     .flat_map(|i| (0..5).map(move |d| (i / 20) as f32 * 10.0 + ((i * 7 + d * 3) % 11) as f32 * 0.1))
//!     .collect();
//! let data = Data::new(&rows, 40, 5)?;
//! let config = UmapConfig { n_neighbors: 5, n_components: 2, n_epochs: Some(50), ..Default::default() };
//! let embedding = Umap::new(config)?.fit(&data)?;
//! assert_eq!(embedding.coords.len(), 40 * 2);
//! let t = trustworthiness(&data, &embedding.as_data()?, 5)?;
//! assert!(t > 0.8, "{t}");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod curve;
mod error;
pub mod graph;
pub mod init;
pub mod knn;
pub mod layout;
pub mod plot;
pub mod trust;
mod umap;

pub use error::{Result, UmapError};
pub use init::Init;
pub use plot::write_scatter_svg;
pub use trust::trustworthiness;
pub use umap::{Data, Embedding, MAX_POINTS, Umap, UmapConfig};
