//! `a` and `b` of the embedding's similarity curve `1 / (1 + a d^{2b})`, fitted by least
//! squares to UMAP's target curve (1 below `min_dist`, `exp(−(d − min_dist) / spread)`
//! above) on 300 points of `[0, 3·spread]`, as `umap-learn`'s `find_ab_params` does with
//! `scipy.optimize.curve_fit` (Levenberg–Marquardt from `a = b = 1`).

/// Sample points of the fit.
const SAMPLES: usize = 300;

fn target(x: f64, spread: f64, min_dist: f64) -> f64 {
    if x < min_dist {
        1.0
    } else {
        (-(x - min_dist) / spread).exp()
    }
}

/// Residuals and Jacobian columns at `(a, b)`.
fn residuals(xs: &[f64], ys: &[f64], a: f64, b: f64) -> (Vec<f64>, Vec<[f64; 2]>) {
    let mut r = Vec::with_capacity(xs.len());
    let mut j = Vec::with_capacity(xs.len());
    for (&x, &y) in xs.iter().zip(ys) {
        let u = if x > 0.0 { x.powf(2.0 * b) } else { 0.0 };
        let den = 1.0 + a * u;
        r.push(1.0 / den - y);
        let d_a = -u / (den * den);
        let d_b = if x > 0.0 {
            -a * u * 2.0 * x.ln() / (den * den)
        } else {
            0.0
        };
        j.push([d_a, d_b]);
    }
    (r, j)
}

fn cost(r: &[f64]) -> f64 {
    r.iter().map(|v| v * v).sum()
}

/// The fitted `(a, b)` for `spread` and `min_dist`.
pub fn find_ab(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..SAMPLES)
        .map(|i| 3.0 * spread * i as f64 / (SAMPLES - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs.iter().map(|&x| target(x, spread, min_dist)).collect();
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let (mut r, mut jac) = residuals(&xs, &ys, a, b);
    let mut c = cost(&r);
    for _ in 0..10_000 {
        // Normal equations of the damped step (Marquardt's diagonal scaling).
        let (mut h, mut g) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
        for (ri, ji) in r.iter().zip(&jac) {
            for p in 0..2 {
                g[p] += ji[p] * ri;
                for q in 0..2 {
                    h[p][q] += ji[p] * ji[q];
                }
            }
        }
        let m = [
            [h[0][0] * (1.0 + lambda), h[0][1]],
            [h[1][0], h[1][1] * (1.0 + lambda)],
        ];
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det == 0.0 || !det.is_finite() {
            break;
        }
        let da = -(m[1][1] * g[0] - m[0][1] * g[1]) / det;
        let db = -(m[0][0] * g[1] - m[1][0] * g[0]) / det;
        let (na, nb) = (a + da, b + db);
        let (nr, nj) = residuals(&xs, &ys, na, nb);
        let nc = cost(&nr);
        if nc.is_finite() && nc <= c {
            let small =
                da.abs() <= 1e-12 * (a.abs() + 1e-12) && db.abs() <= 1e-12 * (b.abs() + 1e-12);
            (a, b, r, jac) = (na, nb, nr, nj);
            let converged = (c - nc) <= 1e-15 * c || small;
            c = nc;
            lambda = (lambda / 10.0).max(1e-12);
            if converged {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `umap-learn`'s values for its defaults (`find_ab_params(1.0, 0.1)`), and for
    /// `min_dist = 0.5` (both from scipy's fit).
    #[test]
    fn matches_umap_learn() {
        let (a, b) = find_ab(1.0, 0.1);
        assert!((a - 1.576_943_460_405_378).abs() < 1e-4, "{a}");
        assert!((b - 0.895_060_878_122_785_9).abs() < 1e-4, "{b}");
    }
}
