//! The embedding's layout: `umap-learn`'s `optimize_layout_euclidean` (single-threaded,
//! head and tail embeddings the same, both ends of an edge moved).

use rad3d_io::SplitMix64;

use crate::graph::Graph;

/// Largest gradient step per coordinate (`clip`).
const CLIP: f32 = 4.0;

/// Settings of the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutParams {
    /// `a` of `1 / (1 + a d^{2b})`.
    pub a: f32,
    /// `b` of `1 / (1 + a d^{2b})`.
    pub b: f32,
    /// Repulsion weight (`gamma`).
    pub gamma: f32,
    /// Learning rate of the first epoch, decaying linearly to 0.
    pub initial_alpha: f32,
    /// Repulsive samples per attraction.
    pub negative_sample_rate: usize,
    /// Epochs.
    pub n_epochs: usize,
    /// Seed of the negative samples.
    pub seed: u64,
}

fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

fn squared_distance(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// How often each edge is sampled: an edge of weight `w` every `max(w) / w` epochs;
/// edges below `max(w) / n_epochs` are never sampled (`make_epochs_per_sample` after
/// `umap-learn` drops them from the graph; with 10 epochs or fewer it drops those below
/// `max(w) / default_epochs`).
pub fn epochs_per_sample(
    weights: &[f64],
    n_epochs: usize,
    default_epochs: usize,
) -> Vec<Option<f64>> {
    let max = weights.iter().copied().fold(0.0f64, f64::max);
    let cut = max
        / if n_epochs > 10 {
            n_epochs
        } else {
            default_epochs
        } as f64;
    weights
        .iter()
        .map(|&w| (w >= cut && w > 0.0).then(|| max / w))
        .collect()
}

/// Moves `coords` (`n × dims`, row-major) to the layout of `graph`.
pub fn optimize_layout(coords: &mut [f32], dims: usize, graph: &Graph, p: &LayoutParams) {
    let n = graph.n;
    let default_epochs = if n <= 10_000 { 500 } else { 200 };
    let eps = epochs_per_sample(&graph.weights, p.n_epochs, default_epochs);
    let edges: Vec<(usize, usize, f64)> = graph
        .heads
        .iter()
        .zip(&graph.tails)
        .zip(&eps)
        .filter_map(|((&h, &t), e)| e.map(|e| (h, t, e)))
        .collect();
    let rate = p.negative_sample_rate.max(1) as f64;
    let neg_eps: Vec<f64> = edges.iter().map(|e| e.2 / rate).collect();
    let mut next_sample: Vec<f64> = edges.iter().map(|e| e.2).collect();
    let mut next_negative = neg_eps.clone();
    let (a, b) = (p.a, p.b);
    let mut rng = SplitMix64::new(p.seed ^ 0x4e45_4741);
    let mut alpha = p.initial_alpha;
    let mut current = vec![0.0f32; dims];
    for epoch in 0..p.n_epochs {
        let e_f = epoch as f64;
        for (s, &(j, k, eps_s)) in edges.iter().enumerate() {
            if next_sample[s] > e_f {
                continue;
            }
            current.copy_from_slice(&coords[j * dims..(j + 1) * dims]);
            let d2 = squared_distance(&current, &coords[k * dims..(k + 1) * dims]);
            let coeff = if d2 > 0.0 {
                -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0)
            } else {
                0.0
            };
            for d in 0..dims {
                let g = clip(coeff * (current[d] - coords[k * dims + d]));
                current[d] += g * alpha;
                coords[k * dims + d] -= g * alpha;
            }
            next_sample[s] += eps_s;
            let n_neg = ((e_f - next_negative[s]) / neg_eps[s]).max(0.0) as usize;
            for _ in 0..n_neg {
                let k = rng.below(n as u64) as usize;
                if k == j {
                    // The point itself: at distance 0 from itself, no repulsion.
                    continue;
                }
                let other = &coords[k * dims..(k + 1) * dims];
                let d2 = squared_distance(&current, other);
                let coeff = if d2 > 0.0 {
                    2.0 * p.gamma * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
                } else {
                    0.0
                };
                if coeff > 0.0 {
                    for d in 0..dims {
                        current[d] += clip(coeff * (current[d] - other[d])) * alpha;
                    }
                }
            }
            next_negative[s] += n_neg as f64 * neg_eps[s];
            coords[j * dims..(j + 1) * dims].copy_from_slice(&current);
        }
        alpha = p.initial_alpha * (1.0 - epoch as f32 / p.n_epochs as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavier_edges_are_sampled_more_often() {
        let eps = epochs_per_sample(&[1.0, 0.5, 0.25, 0.001], 200, 500);
        assert_eq!(eps, [Some(1.0), Some(2.0), Some(4.0), None]);
        // Few epochs: the cut follows the default epoch count.
        let eps = epochs_per_sample(&[1.0, 0.05, 0.001], 5, 500);
        assert_eq!(eps, [Some(1.0), Some(20.0), None]);
    }
}
