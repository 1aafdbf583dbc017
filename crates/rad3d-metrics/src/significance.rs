//! Percentile bootstrap confidence intervals, paired bootstrap and paired permutation
//! (approximate randomization) tests over corpus metrics, seeded and parallel.
//!
//! Every resample is scored by [`CorpusMetric::score_counts`] (or, eight resamples at a
//! time, [`CorpusMetric::score_batch`], with the same results), i.e. corpus BLEU, CIDEr-D,
//! sacreBLEU and METEOR are re-aggregated from per-sample statistics exactly as the
//! reference tool would score the resampled corpus. Resample `r` draws from its own RNG
//! seeded by `(seed, r)`, so results do not depend on the number of threads.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::corpus::{CorpusMetric, Pairable};
use crate::{MetricsError, Result};

/// The most resamples (or permutations) accepted: the resample × value matrix is allocated
/// up front, and a million resamples already pin percentiles far below any reported digit.
pub const MAX_RESAMPLES: usize = 1_000_000;

/// Settings shared by the resampling procedures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleConfig {
    /// Number of resamples (bootstrap) or permutations.
    pub resamples: usize,
    /// Confidence level of the intervals, e.g. 0.95.
    pub confidence: f64,
    /// RNG seed.
    pub seed: u64,
}

impl Default for ResampleConfig {
    /// The paper's setting: 5,000 resamples, 95 % intervals, seed 0.
    fn default() -> Self {
        Self {
            resamples: 5000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl ResampleConfig {
    /// Checks the settings alone (not the corpus): at least one and at most
    /// [`MAX_RESAMPLES`] resamples, a confidence in (0, 1).
    ///
    /// # Errors
    /// [`MetricsError::TooManyResamples`] or [`MetricsError::Input`].
    pub fn validate(&self) -> Result<()> {
        if self.resamples == 0 {
            return Err(MetricsError::Input("resamples must be at least 1".into()));
        }
        if self.resamples > MAX_RESAMPLES {
            return Err(MetricsError::TooManyResamples {
                requested: self.resamples,
                limit: MAX_RESAMPLES,
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(MetricsError::Input(format!(
                "confidence must lie in (0, 1), got {}",
                self.confidence
            )));
        }
        Ok(())
    }

    fn check(&self, n: usize) -> Result<()> {
        self.validate()?;
        if n == 0 {
            return Err(MetricsError::Input(
                "cannot resample an empty corpus".into(),
            ));
        }
        Ok(())
    }
}

/// A point estimate with its percentile confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Value on the full corpus.
    pub point: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// A named value's bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedInterval {
    /// Metric value name (`bleu_4`, `cider_d`, …).
    pub name: String,
    /// The interval.
    #[serde(flatten)]
    pub interval: Interval,
}

/// Outcome of a paired test between systems A and B on one metric value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedResult {
    /// Metric value name.
    pub name: String,
    /// A's score on the full corpus.
    pub a: f64,
    /// B's score on the full corpus.
    pub b: f64,
    /// `b - a` with its percentile interval (bootstrap) or the observed value (permutation).
    pub delta: Interval,
    /// Two-sided p-value for "no difference".
    pub p_value: f64,
}

/// SplitMix64 finaliser: decorrelates the per-resample seeds.
fn mix(seed: u64, r: u64) -> u64 {
    let mut z = seed ^ r.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn rng_for(seed: u64, r: usize) -> StdRng {
    StdRng::seed_from_u64(mix(seed, r as u64))
}

/// Multiplicities of a bootstrap resample of `n` samples into `counts`.
fn draw_counts(rng: &mut StdRng, counts: &mut [u32]) {
    counts.fill(0);
    let n = counts.len();
    for _ in 0..n {
        counts[rng.random_range(0..n)] += 1;
    }
}

/// numpy's default (`linear`) percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn interval(point: f64, mut draws: Vec<f64>, confidence: f64) -> Interval {
    draws.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Interval {
        point,
        lower: percentile(&draws, alpha),
        upper: percentile(&draws, 1.0 - alpha),
    }
}

fn check_lengths(metrics: &[&dyn CorpusMetric]) -> Result<usize> {
    let n = metrics.first().map_or(0, |m| m.len());
    if let Some(m) = metrics.iter().find(|m| m.len() != n) {
        return Err(MetricsError::Input(format!(
            "metrics over different numbers of samples ({n} and {})",
            m.len()
        )));
    }
    Ok(n)
}

/// Scores every metric on one corpus given by `counts` into consecutive slices of `out`.
fn score_all(metrics: &[&dyn CorpusMetric], widths: &[usize], counts: &[u32], out: &mut [f64]) {
    let mut start = 0;
    for (m, &w) in metrics.iter().zip(widths) {
        m.score_counts(counts, &mut out[start..start + w]);
        start += w;
    }
}

/// Resamples handed to [`CorpusMetric::score_batch`] at once.
const BATCH: usize = 8;

/// The one resampling loop behind every procedure here: resamples are split into batches
/// of up to [`BATCH`] consecutive indices; `fill(scratch, first, rows)` fills the rows of
/// resamples `first..first + rows.len() / width` of a row-major matrix (`width` values per
/// resample), in parallel, each worker with its own `scratch` from `init` — nothing is
/// allocated per resample.
fn resample_rows<S>(
    resamples: usize,
    width: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, &mut [f64]) + Sync + Send,
) -> Rows {
    let mut values = vec![0.0; resamples * width];
    if width > 0 {
        values
            .par_chunks_mut(width * BATCH)
            .enumerate()
            .for_each_init(init, |scratch, (k, rows)| fill(scratch, k * BATCH, rows));
    }
    Rows { values, width }
}

/// Row-major resample × value matrix.
struct Rows {
    values: Vec<f64>,
    width: usize,
}

impl Rows {
    /// Value `k` of every resample.
    fn column(&self, k: usize) -> Vec<f64> {
        self.values
            .chunks_exact(self.width)
            .map(|row| row[k])
            .collect()
    }
}

/// Percentile bootstrap intervals of every value of every metric, all scored on the same
/// resamples.
///
/// # Errors
/// [`MetricsError::Input`] for an empty corpus, zero resamples, a confidence outside
/// (0, 1) or metrics over different numbers of samples.
pub fn bootstrap(
    metrics: &[&dyn CorpusMetric],
    cfg: &ResampleConfig,
) -> Result<Vec<NamedInterval>> {
    let n = check_lengths(metrics)?;
    cfg.check(n)?;
    let names: Vec<String> = metrics.iter().flat_map(|m| m.names()).collect();
    let widths: Vec<usize> = metrics.iter().map(|m| m.names().len()).collect();
    let mut point = vec![0.0; names.len()];
    score_all(metrics, &widths, &vec![1; n], &mut point);
    let width = names.len();
    let max_w = widths.iter().copied().max().unwrap_or(0);
    let draws = resample_rows(
        cfg.resamples,
        width,
        || (vec![vec![0u32; n]; BATCH], vec![0.0; BATCH * max_w]),
        |(counts, scores), first, rows| {
            let b = rows.len() / width;
            for (k, c) in counts[..b].iter_mut().enumerate() {
                draw_counts(&mut rng_for(cfg.seed, first + k), c);
            }
            let mut col = 0;
            for (m, &w) in metrics.iter().zip(&widths) {
                let part = &mut scores[..b * w];
                m.score_batch(&counts[..b], part);
                for (row, s) in rows
                    .chunks_exact_mut(width)
                    .zip(part.chunks_exact(w.max(1)))
                {
                    row[col..col + w].copy_from_slice(&s[..w]);
                }
                col += w;
            }
        },
    );
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(k, name)| NamedInterval {
            name,
            interval: interval(point[k], draws.column(k), cfg.confidence),
        })
        .collect())
}

/// Paired bootstrap: both systems are scored on the same resamples; the interval is that
/// of `b - a` and the p-value is sacreBLEU's (`(1 + #{|Δ* − mean Δ*| ≥ |Δ|}) / (R + 1)`,
/// the resampled differences centred to simulate "no difference").
///
/// # Errors
/// As [`bootstrap`], and when `a` and `b` differ in sample count or value names.
pub fn paired_bootstrap(
    a: &dyn CorpusMetric,
    b: &dyn CorpusMetric,
    cfg: &ResampleConfig,
) -> Result<Vec<PairedResult>> {
    let n = check_lengths(&[a, b])?;
    cfg.check(n)?;
    let names = a.names();
    if names != b.names() {
        return Err(MetricsError::Input(format!(
            "cannot pair {:?} with {:?}",
            names,
            b.names()
        )));
    }
    let (pa, pb) = (a.score(), b.score());
    let w = names.len();
    let deltas = resample_rows(
        cfg.resamples,
        w,
        || {
            (
                vec![vec![0u32; n]; BATCH],
                vec![0.0; BATCH * w],
                vec![0.0; BATCH * w],
            )
        },
        |(counts, sa, sb), first, rows| {
            let k = rows.len() / w;
            for (j, c) in counts[..k].iter_mut().enumerate() {
                draw_counts(&mut rng_for(cfg.seed, first + j), c);
            }
            a.score_batch(&counts[..k], &mut sa[..k * w]);
            b.score_batch(&counts[..k], &mut sb[..k * w]);
            for ((d, x), y) in rows.iter_mut().zip(&sb[..k * w]).zip(&sa[..k * w]) {
                *d = x - y;
            }
        },
    );
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let obs = pb[k] - pa[k];
            let col = deltas.column(k);
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let extreme = col.iter().filter(|&&d| at_least(d - mean, obs)).count();
            let p_value = (1 + extreme) as f64 / (cfg.resamples + 1) as f64;
            PairedResult {
                name,
                a: pa[k],
                b: pb[k],
                delta: interval(obs, col, cfg.confidence),
                p_value,
            }
        })
        .collect())
}

/// `|x| ≥ |obs|` up to rounding noise (a re-summed identical score must count as equal).
fn at_least(x: f64, obs: f64) -> bool {
    x.abs() >= obs.abs() - 1e-12 * obs.abs().max(1.0)
}

/// Paired permutation test (approximate randomization): each permutation swaps A's and B's
/// output of every sample with probability ½ and rescores both corpora; the p-value is
/// `(1 + #{|Δ*| ≥ |Δ|}) / (R + 1)`. The delta interval is the observed difference only.
///
/// # Errors
/// As [`paired_bootstrap`], and whatever [`Pairable::stack`] reports.
pub fn paired_permutation<M: Pairable>(
    a: &M,
    b: &M,
    cfg: &ResampleConfig,
) -> Result<Vec<PairedResult>> {
    let n = check_lengths(&[a, b])?;
    cfg.check(n)?;
    let names = a.names();
    let stacked = a.stack(b)?;
    let (pa, pb) = (a.score(), b.score());
    let w = names.len();
    let deltas = resample_rows(
        cfg.resamples,
        w,
        || {
            (
                vec![0u32; 2 * n],
                vec![0u32; 2 * n],
                vec![0.0; w],
                vec![0.0; w],
            )
        },
        |(ca, cb, sa, sb), first, rows| {
            for (k, row) in rows.chunks_exact_mut(w).enumerate() {
                let mut rng = rng_for(cfg.seed, first + k);
                for i in 0..n {
                    let swap = rng.random_bool(0.5);
                    ca[i] = u32::from(!swap);
                    ca[n + i] = u32::from(swap);
                    cb[i] = u32::from(swap);
                    cb[n + i] = u32::from(!swap);
                }
                stacked.score_counts(ca, sa);
                stacked.score_counts(cb, sb);
                for ((d, x), y) in row.iter_mut().zip(sb.iter()).zip(sa.iter()) {
                    *d = x - y;
                }
            }
        },
    );
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let obs = pb[k] - pa[k];
            let extreme = deltas
                .values
                .chunks_exact(w)
                .filter(|d| at_least(d[k], obs))
                .count();
            let p_value = (1 + extreme) as f64 / (cfg.resamples + 1) as f64;
            PairedResult {
                name,
                a: pa[k],
                b: pb[k],
                delta: Interval {
                    point: obs,
                    lower: obs,
                    upper: obs,
                },
                p_value,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::MeanMetric;

    fn mean(values: Vec<f64>) -> MeanMetric {
        MeanMetric::new(vec!["m".into()], vec![values]).unwrap()
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let m = mean((0..50).map(f64::from).collect());
        let cfg = ResampleConfig {
            resamples: 2000,
            ..Default::default()
        };
        let a = bootstrap(&[&m], &cfg).unwrap();
        let b = bootstrap(&[&m], &cfg).unwrap();
        assert_eq!(a, b);
        let i = a[0].interval;
        assert_eq!(i.point, 24.5);
        // Standard error of the mean ≈ 14.43/√50 ≈ 2.04: the 95 % interval is ≈ ±4.
        assert!(i.lower < 24.5 && i.upper > 24.5);
        assert!((i.upper - i.lower - 8.0).abs() < 1.5, "{i:?}");
    }

    #[test]
    fn clearly_different_systems_have_small_p() {
        let a = mean((0..40).map(|i| f64::from(i % 5) * 0.1).collect());
        let b = mean((0..40).map(|i| f64::from(i % 5) * 0.1 + 0.3).collect());
        let cfg = ResampleConfig {
            resamples: 999,
            ..Default::default()
        };
        let p = paired_permutation(&a, &b, &cfg).unwrap();
        assert!(p[0].p_value <= 0.002, "{p:?}");
        assert!((p[0].delta.point - 0.3).abs() < 1e-12);
        let bs = paired_bootstrap(&a, &b, &cfg).unwrap();
        assert!(bs[0].p_value <= 0.002 && bs[0].delta.lower > 0.29, "{bs:?}");
        let same = paired_permutation(&a, &a, &cfg).unwrap();
        assert_eq!(same[0].p_value, 1.0);
    }

    #[test]
    fn bad_settings_are_errors() {
        let m = mean(vec![1.0]);
        assert!(
            bootstrap(
                &[&m],
                &ResampleConfig {
                    resamples: 0,
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            bootstrap(
                &[&m],
                &ResampleConfig {
                    confidence: 1.0,
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(bootstrap(&[&mean(vec![])], &ResampleConfig::default()).is_err());
        let too_many = ResampleConfig {
            resamples: MAX_RESAMPLES + 1,
            ..Default::default()
        };
        assert!(matches!(
            bootstrap(&[&m], &too_many),
            Err(MetricsError::TooManyResamples {
                requested: 1_000_001,
                limit: 1_000_000
            })
        ));
    }
}
