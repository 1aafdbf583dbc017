//! Trustworthiness (Venna & Kaski 2001), computed exactly as
//! `sklearn.manifold.trustworthiness` (Euclidean metric) does:
//!
//! `T(k) = 1 − 2 / (n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k)`
//!
//! where `Uᵢ` are the `k` nearest neighbours of point `i` in the embedding that are not
//! among its `k` nearest in the input, and `r(i, j)` is `j`'s rank (from 1) among `i`'s
//! neighbours in the input. 1 means every embedded neighbourhood is a true one.

use rayon::prelude::*;

use crate::error::{Result, UmapError};
use crate::knn::squared_distance;
use crate::umap::Data;

/// Indices of every other point, nearest first (ties by index).
fn ranked(data: &Data<'_>, i: usize) -> Vec<usize> {
    let p = data.row(i);
    let mut d: Vec<(f64, usize)> = (0..data.len())
        .filter(|&j| j != i)
        .map(|j| (squared_distance(p, data.row(j)), j))
        .collect();
    d.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().map(|(_, j)| j).collect()
}

/// Trustworthiness of `embedded` as a picture of `input` at `k` neighbours.
///
/// # Errors
/// [`UmapError::Data`] when the two hold different numbers of points or `k ≥ n / 2`
/// (scikit-learn's bound, where the normalisation is no longer positive).
pub fn trustworthiness(input: &Data<'_>, embedded: &Data<'_>, k: usize) -> Result<f64> {
    let n = input.len();
    if embedded.len() != n {
        return Err(UmapError::Data(format!(
            "{} embedded points for {n} input points",
            embedded.len()
        )));
    }
    if k == 0 || 2 * k >= n {
        return Err(UmapError::Data(format!(
            "trustworthiness at k = {k} needs 0 < k < n / 2 = {}",
            n as f64 / 2.0
        )));
    }
    let penalty: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let original = ranked(input, i);
            let mut rank = vec![0usize; n];
            for (r, &j) in original.iter().enumerate() {
                rank[j] = r + 1;
            }
            ranked(embedded, i)
                .into_iter()
                .take(k)
                .map(|j| rank[j].saturating_sub(k) as f64)
                .sum::<f64>()
        })
        .collect::<Vec<f64>>()
        .into_iter()
        .sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isometry_is_fully_trustworthy() {
        let rows: Vec<f32> = (0..40).map(|i| ((i * 7919) % 101) as f32 / 10.0).collect();
        let x = Data::new(&rows, 20, 2).unwrap();
        let moved: Vec<f32> = rows.iter().map(|v| v * 3.0 + 1.0).collect();
        let y = Data::new(&moved, 20, 2).unwrap();
        assert_eq!(trustworthiness(&x, &y, 5).unwrap(), 1.0);
    }

    #[test]
    fn refuses_a_k_past_half_the_points() {
        let rows = [0.0f32; 10];
        let x = Data::new(&rows, 10, 1).unwrap();
        assert!(trustworthiness(&x, &x, 5).is_err());
    }
}
