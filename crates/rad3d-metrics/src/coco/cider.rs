//! CIDEr-D exactly as pycocoevalcap's `Cider` scorer computes it: n = 1..4, tf-idf
//! vectors with document frequencies taken from the references of the scored corpus and
//! `log(N)` for N samples, clipped cosine, Gaussian length penalty (σ = 6), mean over
//! orders, mean over references, × 10, mean over samples.
//!
//! # Document frequencies under resampling
//! pycocoevalcap recomputes document frequencies (and N) on whatever corpus it is given.
//! With [`DfMode::Corpus`] (the default) every resample is scored that way: a sample drawn
//! k times counts k times in every document frequency and in N, exactly as if the resampled
//! corpus had been handed to pycocoevalcap with distinct ids. [`DfMode::Fixed`] keeps the
//! document frequencies of the evaluated corpus, which makes a resample a plain mean of
//! fixed per-sample scores (faster; the convention of some papers).

use std::cell::RefCell;

use crate::corpus::{Corpus, CorpusMetric, MeanMetric, Pairable};
use crate::ngram::{FastMap, MAX_N, NGram, Vocab, ngram_counts, order};
use crate::text::split_tokens;
use crate::{MetricsError, Result};

/// pycocoevalcap's σ of the Gaussian length penalty.
const SIGMA: f64 = 6.0;

/// Where CIDEr-D's document frequencies come from when a corpus is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DfMode {
    /// Recompute them on each resampled corpus (pycocoevalcap's semantics).
    #[default]
    Corpus,
    /// Keep those of the evaluated corpus.
    Fixed,
}

/// Flat storage of every sample's n-gram entries: entry `e` is one n-gram of the union of
/// a hypothesis and one of its references, with the term-frequency products the clipped
/// cosine needs (scaled by the squared idf weight at scoring time). Flat arrays keep the
/// per-resample loop over all entries cache-friendly.
#[derive(Debug, Clone, Default)]
struct Entries {
    id: Vec<u32>,
    order: Vec<u8>,
    /// hyp tf².
    hh: Vec<f32>,
    /// ref tf².
    rr: Vec<f32>,
    /// min(hyp tf, ref tf) · ref tf (clipping).
    hr: Vec<f32>,
}

#[derive(Debug, Clone)]
struct RefPart {
    /// Range into [`Entries`].
    start: usize,
    end: usize,
    penalty: f64,
}

#[derive(Debug, Clone)]
struct Sample {
    refs: Vec<RefPart>,
    /// Range into `CiderD::df_ids`: the distinct n-grams over all references of the sample
    /// (its document-frequency votes).
    df_start: usize,
    df_end: usize,
}

/// Per-sample statistics of pycocoevalcap's CIDEr-D.
#[derive(Debug, Clone)]
pub struct CiderD {
    corpus: Corpus,
    samples: Vec<Sample>,
    entries: Entries,
    df_ids: Vec<u32>,
    n_ids: usize,
    mode: DfMode,
    /// Per-sample scores on the full corpus (used by [`DfMode::Fixed`]).
    full: Vec<f64>,
}

thread_local! {
    static DF_SCRATCH: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

impl CiderD {
    /// Cooks `corpus` (whitespace tokens as given) with document frequencies recomputed per
    /// resample ([`DfMode::Corpus`]).
    pub fn new(corpus: &Corpus) -> Self {
        Self::with_mode(corpus, DfMode::Corpus)
    }

    /// Cooks `corpus` choosing how resamples treat document frequencies.
    pub fn with_mode(corpus: &Corpus, mode: DfMode) -> Self {
        let mut vocab = Vocab::default();
        let mut ids: FastMap<NGram, u32> = FastMap::default();
        let mut intern = |g: NGram| {
            let next = ids.len() as u32;
            *ids.entry(g).or_insert(next)
        };
        let mut entries = Entries::default();
        let mut df_ids = Vec::new();
        let mut samples = Vec::with_capacity(corpus.len());
        let push = |e: &mut Entries, id: u32, g: &NGram, th: f32, tr: f32| {
            e.id.push(id);
            e.order.push(order(g) as u8 - 1);
            e.hh.push(th * th);
            e.rr.push(tr * tr);
            e.hr.push(th.min(tr) * tr);
        };
        for (h, rs) in corpus.hyps.iter().zip(&corpus.refs) {
            let h_ids = vocab.ids(split_tokens(h));
            let h_counts = ngram_counts(&h_ids, MAX_N);
            let h_bigrams = h_ids.len().saturating_sub(1) as f64;
            let df_start = df_ids.len();
            let mut refs = Vec::with_capacity(rs.len());
            for r in rs {
                let r_ids = vocab.ids(split_tokens(r));
                let r_counts = ngram_counts(&r_ids, MAX_N);
                // pycocoevalcap's "length" counts bigrams (its `n == 1` is the 2-gram slot).
                let delta = h_bigrams - r_ids.len().saturating_sub(1) as f64;
                let penalty = (-(delta * delta) / (2.0 * SIGMA * SIGMA)).exp();
                let start = entries.id.len();
                for (g, &th) in &h_counts {
                    let tr = r_counts.get(g).copied().unwrap_or(0);
                    push(&mut entries, intern(*g), g, th as f32, tr as f32);
                }
                for (g, &tr) in &r_counts {
                    let id = intern(*g);
                    df_ids.push(id);
                    if !h_counts.contains_key(g) {
                        push(&mut entries, id, g, 0.0, tr as f32);
                    }
                }
                refs.push(RefPart { start, end: entries.id.len(), penalty });
            }
            df_ids[df_start..].sort_unstable();
            let mut unique = df_ids.split_off(df_start);
            unique.dedup();
            df_ids.extend(unique);
            samples.push(Sample { refs, df_start, df_end: df_ids.len() });
        }
        let mut me = Self {
            corpus: corpus.clone(),
            samples,
            entries,
            df_ids,
            n_ids: ids.len(),
            mode,
            full: Vec::new(),
        };
        let mut full = vec![0.0; me.samples.len()];
        me.for_each_present(&vec![1; me.samples.len()], |i, s| full[i] = s);
        me.full = full;
        me
    }

    /// Per-sample CIDEr-D on the full corpus (pycocoevalcap's second return value).
    pub fn per_sample(&self) -> &[f64] {
        &self.full
    }

    /// The document-frequency mode.
    pub fn mode(&self) -> DfMode {
        self.mode
    }

    /// Scores every sample present in the corpus made of `counts[i]` copies of sample `i`
    /// with that corpus' document frequencies, calling `f(i, score)`.
    fn for_each_present(&self, counts: &[u32], mut f: impl FnMut(usize, f64)) {
        let n: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        if n == 0 {
            return;
        }
        DF_SCRATCH.with(|cell| {
            let mut df = cell.borrow_mut();
            // Zeroing the whole table is a memset of a few kB to MB: cheaper than undoing
            // the increments sample by sample.
            df.clear();
            df.resize(self.n_ids, 0);
            for (s, &c) in self.samples.iter().zip(counts).filter(|(_, c)| **c > 0) {
                for &id in &self.df_ids[s.df_start..s.df_end] {
                    df[id as usize] += c;
                }
            }
            let log_n = (n as f64).ln();
            // idf weight log(N) - log(max(1, df)) for every possible df ≤ N.
            let idf: Vec<f64> = (0..=n).map(|k| log_n - (k.max(1) as f64).ln()).collect();
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    f(i, self.score_sample(&self.samples[i], &df, &idf));
                }
            }
        });
    }

    /// One sample's CIDEr-D given document frequencies and the idf of each frequency.
    fn score_sample(&self, s: &Sample, df: &[u32], idf: &[f64]) -> f64 {
        let e = &self.entries;
        let mut total = [0.0f64; MAX_N];
        for r in &s.refs {
            let mut num = [0.0f64; MAX_N];
            let mut nh = [0.0f64; MAX_N];
            let mut nr = [0.0f64; MAX_N];
            for k in r.start..r.end {
                let w = idf[df[e.id[k] as usize] as usize];
                let w2 = w * w;
                let o = e.order[k] as usize & (MAX_N - 1);
                num[o] += f64::from(e.hr[k]) * w2;
                nh[o] += f64::from(e.hh[k]) * w2;
                nr[o] += f64::from(e.rr[k]) * w2;
            }
            for o in 0..MAX_N {
                let mut v = num[o];
                if nh[o] != 0.0 && nr[o] != 0.0 {
                    v /= nh[o].sqrt() * nr[o].sqrt();
                }
                total[o] += v * r.penalty;
            }
        }
        total.iter().sum::<f64>() / MAX_N as f64 / s.refs.len() as f64 * 10.0
    }
}

impl CorpusMetric for CiderD {
    fn names(&self) -> Vec<String> {
        vec!["cider_d".into()]
    }

    fn len(&self) -> usize {
        self.samples.len()
    }

    fn score_counts(&self, counts: &[u32], out: &mut [f64]) {
        let n: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        if n == 0 {
            out[0] = 0.0;
            return;
        }
        let mut sum = 0.0;
        match self.mode {
            DfMode::Fixed => {
                for (v, &c) in self.full.iter().zip(counts) {
                    if c > 0 {
                        sum += v * f64::from(c);
                    }
                }
            }
            DfMode::Corpus => {
                self.for_each_present(counts, |i, v| sum += v * f64::from(counts[i]));
            }
        }
        out[0] = sum / n as f64;
    }
}

impl Pairable for CiderD {
    fn stack(&self, other: &Self) -> Result<Self> {
        if self.mode != other.mode {
            return Err(MetricsError::Input(
                "cannot pair CIDEr-D with different df modes".into(),
            ));
        }
        let mut hyps = self.corpus.hyps.clone();
        hyps.extend_from_slice(&other.corpus.hyps);
        let mut refs = self.corpus.refs.clone();
        refs.extend_from_slice(&other.corpus.refs);
        let mut stacked = Self::with_mode(&Corpus::new(hyps, refs)?, self.mode);
        // Each system's full-corpus scores use its own corpus' document frequencies.
        stacked.full = self.full.iter().chain(&other.full).copied().collect();
        Ok(stacked)
    }
}

impl CiderD {
    /// The full-corpus per-sample scores as a mean metric (document frequencies fixed).
    pub fn to_mean_metric(&self) -> MeanMetric {
        MeanMetric::new(vec!["cider_d".into()], vec![self.full.clone()]).expect("one column")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(pairs: &[(&str, &str)]) -> Corpus {
        Corpus::single(
            pairs.iter().map(|p| p.0.to_string()).collect(),
            pairs.iter().map(|p| p.1.to_string()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn single_sample_corpus_scores_zero() {
        // log(N) = log(1) = 0 zeroes every tf-idf weight, as in pycocoevalcap.
        assert_eq!(CiderD::new(&corpus(&[("a b", "a b")])).score(), vec![0.0]);
    }

    #[test]
    fn resampled_counts_equal_duplicated_corpus() {
        let c = corpus(&[("a b c", "a b d"), ("x y", "x y z"), ("a q", "q a b")]);
        let m = CiderD::new(&c);
        let dup = corpus(&[("a b c", "a b d"), ("a b c", "a b d"), ("a q", "q a b")]);
        let want = CiderD::new(&dup).score()[0];
        let mut out = [0.0];
        m.score_counts(&[2, 0, 1], &mut out);
        assert!((out[0] - want).abs() < 1e-12, "{} vs {want}", out[0]);
        let fixed = CiderD::with_mode(&c, DfMode::Fixed);
        fixed.score_counts(&[2, 0, 1], &mut out);
        let f = fixed.per_sample();
        assert!((out[0] - (2.0 * f[0] + f[2]) / 3.0).abs() < 1e-12);
    }
}
