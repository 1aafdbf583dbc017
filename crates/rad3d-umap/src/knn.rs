//! Exact Euclidean nearest neighbours, as `umap-learn` finds them for small data sets
//! (all pairwise distances, then each row's `k` smallest).

use rayon::prelude::*;

use crate::umap::Data;

/// Every point's `k` nearest neighbours (itself first, at distance 0), nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Knn {
    /// Number of points.
    pub n: usize,
    /// Neighbours per point.
    pub k: usize,
    /// `indices[i * k + j]`: point `i`'s `j`-th neighbour.
    pub indices: Vec<usize>,
    /// Its Euclidean distance.
    pub dists: Vec<f32>,
}

/// Squared Euclidean distance, accumulated in f64 so near-ties order as exactly as the
/// inputs allow.
pub(crate) fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

/// The `k` nearest neighbours of every point of `data` (`k ≤ data.len()`), the point
/// itself first; ties broken by index.
pub fn exact_knn(data: &Data<'_>, k: usize) -> Knn {
    let n = data.len();
    let k = k.min(n);
    let rows: Vec<(Vec<usize>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let p = data.row(i);
            let mut d: Vec<(f64, usize)> = (0..n)
                .map(|j| {
                    // The point itself always comes first, whatever duplicates exist.
                    let dist = if j == i {
                        -1.0
                    } else {
                        squared_distance(p, data.row(j))
                    };
                    (dist, j)
                })
                .collect();
            let by = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if k < n {
                d.select_nth_unstable_by(k - 1, by);
                d.truncate(k);
            }
            d.sort_unstable_by(by);
            let idx = d.iter().map(|&(_, j)| j).collect();
            let dist = d.iter().map(|&(s, _)| s.max(0.0).sqrt() as f32).collect();
            (idx, dist)
        })
        .collect();
    let mut indices = Vec::with_capacity(n * k);
    let mut dists = Vec::with_capacity(n * k);
    for (i, d) in rows {
        indices.extend(i);
        dists.extend(d);
    }
    Knn {
        n,
        k,
        indices,
        dists,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_on_a_line() {
        let rows = [0.0f32, 1.0, 3.0, 7.0];
        let data = Data::new(&rows, 4, 1).unwrap();
        let knn = exact_knn(&data, 3);
        assert_eq!(knn.indices, [0, 1, 2, 1, 0, 2, 2, 1, 0, 3, 2, 1]);
        assert_eq!(
            knn.dists,
            [0.0, 1.0, 3.0, 0.0, 1.0, 2.0, 0.0, 2.0, 3.0, 0.0, 4.0, 6.0]
        );
    }

    #[test]
    fn duplicates_keep_the_point_itself_first() {
        let rows = [5.0f32, 5.0, 5.0];
        let data = Data::new(&rows, 3, 1).unwrap();
        let knn = exact_knn(&data, 2);
        assert_eq!(knn.indices, [0, 1, 1, 0, 2, 0]);
    }
}
