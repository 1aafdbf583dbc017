//! Initial coordinates, scaled as `umap-learn` scales them before the layout.

use rad3d_io::SplitMix64;
use rayon::prelude::*;
use serde::Serialize;

use crate::umap::Data;

/// Power-iteration rounds of the PCA (subspace iteration converges geometrically; the
/// layout only needs a good start).
const PCA_ROUNDS: usize = 200;
/// Rows per block of the parallel `Xᵀ S` product.
const BLOCK: usize = 64;

/// How the layout starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// The first principal components (`init="pca"`), scaled to a largest coordinate of 10,
    /// plus noise of standard deviation 1e-4. `umap-learn` defaults to a spectral layout of
    /// the graph, which needs a sparse eigensolver; PCA is its documented alternative and
    /// likewise keeps the global arrangement of the data.
    Pca,
    /// Uniform in `[-10, 10)` (`init="random"`).
    Random,
}

impl std::str::FromStr for Init {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pca" => Ok(Self::Pca),
            "random" => Ok(Self::Random),
            other => Err(format!("init must be `pca` or `random`, got {other:?}")),
        }
    }
}

/// The top `c` principal-component scores of `data` (subspace iteration on the centred
/// data, never forming the covariance matrix, so wide inputs such as flattened prefixes
/// cost `O(n·dim)` per round).
pub(crate) fn pca_scores(data: &Data<'_>, c: usize, seed: u64) -> Vec<f64> {
    let (n, d) = (data.len(), data.dim());
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(data.row(i)) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let centred = |i: usize, k: usize| data.row(i)[k] as f64 - mean[k];
    let mut rng = SplitMix64::new(seed ^ 0x5043_4131);
    // Columns of V (d × c), orthonormalised each round.
    let mut v: Vec<Vec<f64>> = (0..c)
        .map(|_| (0..d).map(|_| rng.gauss()).collect())
        .collect();
    orthonormalise(&mut v);
    for _ in 0..PCA_ROUNDS {
        // V ← Xᵀ (X V): rows in parallel for X V, row blocks reduced for Xᵀ S.
        let xv: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|i| {
                v.iter()
                    .map(|col| (0..d).map(|k| centred(i, k) * col[k]).sum())
                    .collect()
            })
            .collect();
        // Fixed blocks summed in order, so the result does not depend on thread timing.
        let blocks: Vec<Vec<Vec<f64>>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|blk| {
                let mut acc = vec![vec![0.0f64; d]; c];
                for i in blk * BLOCK..((blk + 1) * BLOCK).min(n) {
                    let row = data.row(i);
                    for (j, col) in acc.iter_mut().enumerate() {
                        let s = xv[i][j];
                        for (k, ck) in col.iter_mut().enumerate() {
                            *ck += (row[k] as f64 - mean[k]) * s;
                        }
                    }
                }
                acc
            })
            .collect();
        let mut next = vec![vec![0.0f64; d]; c];
        for blk in &blocks {
            for (x, y) in next.iter_mut().zip(blk) {
                x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
            }
        }
        orthonormalise(&mut next);
        let moved: f64 = next
            .iter()
            .zip(&v)
            .map(|(a, b)| 1.0 - dot(a, b).abs())
            .fold(0.0, f64::max);
        v = next;
        if moved < 1e-10 {
            break;
        }
    }
    let mut scores = vec![0.0; n * c];
    for i in 0..n {
        for (j, col) in v.iter().enumerate() {
            scores[i * c + j] = (0..d).map(|k| centred(i, k) * col[k]).sum();
        }
    }
    scores
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram–Schmidt; a column that vanishes (rank-deficient data) stays zero.
fn orthonormalise(cols: &mut [Vec<f64>]) {
    for j in 0..cols.len() {
        for p in 0..j {
            let (done, rest) = cols.split_at_mut(j);
            let proj = dot(&rest[0], &done[p]);
            for (x, y) in rest[0].iter_mut().zip(&done[p]) {
                *x -= proj * y;
            }
        }
        let norm = dot(&cols[j], &cols[j]).sqrt();
        if norm > 1e-300 {
            cols[j].iter_mut().for_each(|x| *x /= norm);
        } else {
            cols[j].iter_mut().for_each(|x| *x = 0.0);
        }
    }
}

/// Initial coordinates (`n × c`, row-major): PCA scores scaled to a largest absolute
/// value of 10 plus N(0, 1e-4) noise, or uniform in `[-10, 10)`; then, as `umap-learn`
/// does for every start, each dimension rescaled to `[0, 10]`.
pub(crate) fn initial_coords(data: &Data<'_>, c: usize, init: Init, seed: u64) -> Vec<f32> {
    let n = data.len();
    let mut rng = SplitMix64::new(seed);
    let mut coords: Vec<f64> = match init {
        Init::Random => (0..n * c).map(|_| rng.uniform() * 20.0 - 10.0).collect(),
        Init::Pca => {
            let scores = pca_scores(data, c, seed);
            let max = scores.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let expansion = if max > 0.0 { 10.0 / max } else { 1.0 };
            scores
                .iter()
                .map(|v| (v * expansion) as f32 as f64 + 1e-4 * rng.gauss())
                .collect()
        }
    };
    for j in 0..c {
        let (lo, hi) = (0..n).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
            (lo.min(coords[i * c + j]), hi.max(coords[i * c + j]))
        });
        let span = hi - lo;
        for i in 0..n {
            let v = &mut coords[i * c + j];
            *v = if span > 0.0 {
                10.0 * (*v - lo) / span
            } else {
                5.0
            };
        }
    }
    coords.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on a tilted line, each position twice with an orthogonal wobble of ±0.1
    /// (uncorrelated with the position): the first component is the line's direction, the
    /// second the wobble's.
    #[test]
    fn the_first_component_follows_the_largest_variance() {
        let n = 50;
        let rows: Vec<f32> = (0..n)
            .flat_map(|i| {
                let t = (i / 2) as f32 - 12.0;
                let w = if i % 2 == 0 { 0.1 } else { -0.1 };
                [t * 0.6 + w * 0.8, t * 0.8 - w * 0.6, 1.0]
            })
            .collect();
        let data = Data::new(&rows, n, 3).unwrap();
        let s = pca_scores(&data, 2, 3);
        for i in 0..n {
            let t = (i / 2) as f64 - 12.0;
            assert!((s[i * 2].abs() - t.abs()).abs() < 1e-4, "{i}: {}", s[i * 2]);
            assert!(
                (s[i * 2 + 1].abs() - 0.1).abs() < 1e-4,
                "{i}: {}",
                s[i * 2 + 1]
            );
        }
    }

    #[test]
    fn starts_span_0_to_10_in_every_dimension() {
        let rows: Vec<f32> = (0..60).map(|i| (i as f32 * 0.7).sin()).collect();
        let data = Data::new(&rows, 20, 3).unwrap();
        for init in [Init::Pca, Init::Random] {
            let c = initial_coords(&data, 2, init, 1);
            for j in 0..2 {
                let col: Vec<f32> = (0..20).map(|i| c[i * 2 + j]).collect();
                let lo = col.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                assert!(
                    lo.abs() < 1e-5 && (hi - 10.0).abs() < 1e-4,
                    "{init:?}: {lo} {hi}"
                );
            }
        }
    }
}
