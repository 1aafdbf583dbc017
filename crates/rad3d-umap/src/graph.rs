//! The fuzzy simplicial set of the neighbour graph, step by step as `umap-learn`'s
//! `smooth_knn_dist`, `compute_membership_strengths` and `fuzzy_simplicial_set` compute it.

use crate::knn::Knn;

/// Binary-search iterations per point (`n_iter`).
const N_ITER: usize = 64;
/// Stop when the kernel sum is this close to its target (`SMOOTH_K_TOLERANCE`).
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
/// Smallest `sigma` as a fraction of the mean neighbour distance (`MIN_K_DIST_SCALE`).
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// A symmetric weighted graph as sorted `(row, col, weight)` edges, no zero weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Number of vertices.
    pub n: usize,
    /// Edge heads (rows), ascending.
    pub heads: Vec<usize>,
    /// Edge tails (columns), ascending within a row.
    pub tails: Vec<usize>,
    /// Membership strengths in `(0, 1]`.
    pub weights: Vec<f64>,
}

/// Each point's `rho` (distance to its `local_connectivity`-th neighbour) and `sigma`
/// (the scale at which its kernel sum reaches `log2(k)`), as `smooth_knn_dist` finds them.
pub fn smooth_knn_dist(knn: &Knn, local_connectivity: f64) -> (Vec<f64>, Vec<f64>) {
    let k = knn.k;
    let target = (k as f64).log2();
    let mean_all = if knn.dists.is_empty() {
        0.0
    } else {
        knn.dists.iter().map(|&d| d as f64).sum::<f64>() / knn.dists.len() as f64
    };
    let mut rhos = vec![0.0; knn.n];
    let mut sigmas = vec![0.0; knn.n];
    for i in 0..knn.n {
        let row: Vec<f64> = knn.dists[i * k..(i + 1) * k]
            .iter()
            .map(|&d| d as f64)
            .collect();
        let non_zero: Vec<f64> = row.iter().copied().filter(|&d| d > 0.0).collect();
        let mut rho = 0.0;
        if non_zero.len() as f64 >= local_connectivity {
            let index = local_connectivity.floor() as usize;
            let interp = local_connectivity - index as f64;
            if index > 0 {
                rho = non_zero[index - 1];
                if interp > SMOOTH_K_TOLERANCE {
                    rho += interp * (non_zero[index] - non_zero[index - 1]);
                }
            } else {
                rho = interp * non_zero[0];
            }
        } else if let Some(max) = non_zero.iter().copied().reduce(f64::max) {
            rho = max;
        }
        let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..N_ITER {
            let psum: f64 = row[1..]
                .iter()
                .map(|&d| {
                    let d = d - rho;
                    if d > 0.0 { (-(d / mid)).exp() } else { 1.0 }
                })
                .sum();
            if (psum - target).abs() < SMOOTH_K_TOLERANCE {
                break;
            }
            if psum > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                if hi == f64::INFINITY {
                    mid *= 2.0;
                } else {
                    mid = (lo + hi) / 2.0;
                }
            }
        }
        let floor = if rho > 0.0 {
            MIN_K_DIST_SCALE * row.iter().sum::<f64>() / k as f64
        } else {
            MIN_K_DIST_SCALE * mean_all
        };
        rhos[i] = rho;
        sigmas[i] = mid.max(floor);
    }
    (rhos, sigmas)
}

/// The fuzzy union `P + Pᵀ − P∘Pᵀ` of the directed membership strengths
/// `exp(−(d − rho) / sigma)` (1 within `rho`, 0 to the point itself).
pub fn fuzzy_simplicial_set(knn: &Knn, local_connectivity: f32) -> Graph {
    let (rhos, sigmas) = smooth_knn_dist(knn, local_connectivity as f64);
    let k = knn.k;
    let mut directed: Vec<(usize, usize, f64)> = Vec::with_capacity(knn.n * k);
    for i in 0..knn.n {
        for j in 0..k {
            let t = knn.indices[i * k + j];
            let d = knn.dists[i * k + j] as f64;
            let w = if t == i {
                0.0
            } else if d - rhos[i] <= 0.0 || sigmas[i] == 0.0 {
                1.0
            } else {
                (-((d - rhos[i]) / sigmas[i])).exp()
            };
            if w > 0.0 {
                directed.push((i, t, w));
            }
        }
    }
    // P(i, j) and P(j, i) side by side: sort both directions by (row, col).
    let mut both: Vec<(usize, usize, f64, bool)> = directed
        .iter()
        .flat_map(|&(i, j, w)| [(i, j, w, false), (j, i, w, true)])
        .collect();
    both.sort_unstable_by_key(|e| (e.0, e.1, e.3));
    let mut graph = Graph {
        n: knn.n,
        heads: Vec::new(),
        tails: Vec::new(),
        weights: Vec::new(),
    };
    let mut s = 0;
    while s < both.len() {
        let (i, j) = (both[s].0, both[s].1);
        let (mut p, mut pt) = (0.0, 0.0);
        while s < both.len() && (both[s].0, both[s].1) == (i, j) {
            if both[s].3 {
                pt = both[s].2;
            } else {
                p = both[s].2;
            }
            s += 1;
        }
        let w = p + pt - p * pt;
        if w > 0.0 {
            graph.heads.push(i);
            graph.tails.push(j);
            graph.weights.push(w);
        }
    }
    graph
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knn::exact_knn;
    use crate::umap::Data;

    #[test]
    fn sigma_solves_the_kernel_sum() {
        let rows: Vec<f32> = (0..30)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 + i as f32 * 0.1)
            .collect();
        let data = Data::new(&rows, 30, 1).unwrap();
        let knn = exact_knn(&data, 6);
        let (rhos, sigmas) = smooth_knn_dist(&knn, 1.0);
        for i in 0..30 {
            let row = &knn.dists[i * 6..(i + 1) * 6];
            // rho is the nearest other point's distance.
            assert_eq!(rhos[i], row[1] as f64);
            let psum: f64 = row[1..]
                .iter()
                .map(|&d| {
                    let d = d as f64 - rhos[i];
                    if d > 0.0 {
                        (-(d / sigmas[i])).exp()
                    } else {
                        1.0
                    }
                })
                .sum();
            assert!((psum - 6f64.log2()).abs() < 1e-4, "{i}: {psum}");
        }
    }

    #[test]
    fn the_union_is_symmetric_with_strengths_in_0_1() {
        let rows: Vec<f32> = (0..40)
            .map(|i| ((i * 13) % 17) as f32 + (i as f32).cos())
            .collect();
        let data = Data::new(&rows, 20, 2).unwrap();
        let g = fuzzy_simplicial_set(&exact_knn(&data, 5), 1.0);
        let mut edges = std::collections::HashMap::new();
        for e in 0..g.heads.len() {
            assert!(g.weights[e] > 0.0 && g.weights[e] <= 1.0);
            assert_ne!(g.heads[e], g.tails[e]);
            edges.insert((g.heads[e], g.tails[e]), g.weights[e]);
        }
        for (&(i, j), &w) in &edges {
            assert_eq!(edges.get(&(j, i)), Some(&w));
        }
        // Every point's nearest neighbour is connected with strength 1.
        assert!(g.weights.contains(&1.0));
    }
}
