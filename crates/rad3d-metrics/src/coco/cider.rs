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
/// a hypothesis and one of its references that occurs in some reference of the corpus,
/// with the term-frequency products the clipped cosine needs (scaled by the squared idf
/// weight at scoring time). Flat arrays, grouped by n-gram order, keep the per-resample
/// loop over all entries cache-friendly and free of memory-carried dependencies.
#[derive(Debug, Clone, Default)]
struct Entries {
    /// Dense id among the n-grams that occur in some reference.
    id: Vec<u32>,
    /// hyp tf².
    hh: Vec<f32>,
    /// ref tf².
    rr: Vec<f32>,
    /// min(hyp tf, ref tf) · ref tf (clipping).
    hr: Vec<f32>,
}

/// Entry segments per n-gram order: in both texts, in the hypothesis only, in the
/// reference only. One-sided entries add to one norm only (the others' products are 0),
/// so each segment's loop does only the work that can change a sum.
const SEGMENTS: usize = 3;

#[derive(Debug, Clone)]
struct RefPart {
    /// `bounds[3 o + k]..bounds[3 o + k + 1]`: the entries of order `o + 1` in
    /// [`Entries`] found in both texts (`k = 0`), the hypothesis only (1), the reference
    /// only (2); each segment in n-gram id order.
    bounds: [usize; SEGMENTS * MAX_N + 1],
    /// Σ hyp tf² of hypothesis n-grams found in no reference of the corpus: their document
    /// frequency is 0 in every resample, so their idf is always log(N).
    unseen_hh: [f64; MAX_N],
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
    /// Number of distinct reference n-grams (ids `0..n_ids`).
    n_ids: usize,
    mode: DfMode,
    /// Per-sample scores on the full corpus (used by [`DfMode::Fixed`]).
    full: Vec<f64>,
    /// For two stacked systems (see [`Pairable`]): the size of each half.
    pair_half: Option<usize>,
}

/// Per-thread scratch: document frequencies and squared idf weights per n-gram id, and
/// `ln(max(1, k))` for every document frequency `k` seen so far.
#[derive(Default)]
struct Scratch {
    df: Vec<u32>,
    w2: Vec<f64>,
    /// `ln[k] = ln(max(1, k))`: a resample needs the logarithm of ~10⁵ document
    /// frequencies, all small integers; looking them up instead of calling `ln` each time
    /// gives bit-identical weights at a fraction of the cost.
    ln: Vec<f64>,
    /// Batched document frequencies and squared weights: `[id * BATCH + b]`.
    df_batch: Vec<u32>,
    w2_batch: Vec<f64>,
}

/// Resamples [`CiderD::score_batch`] scores in one pass over the tf-idf entries: each
/// entry is read once for all of them and its weights for all of them share a cache line.
const BATCH: usize = 8;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A hypothesis/reference n-gram before the corpus-wide layout is known.
struct RawEntry {
    gram: u32,
    order: usize,
    th: f32,
    tr: f32,
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
        let mut grams: FastMap<NGram, u32> = FastMap::default();
        let mut intern = |g: NGram| {
            let next = grams.len() as u32;
            *grams.entry(g).or_insert(next)
        };
        // Pass 1: every n-gram of every hypothesis and reference, per reference part.
        let mut raw: Vec<Vec<(Vec<RawEntry>, f64)>> = Vec::with_capacity(corpus.len());
        let mut sample_ref_grams: Vec<Vec<u32>> = Vec::with_capacity(corpus.len());
        for (h, rs) in corpus.hyps.iter().zip(&corpus.refs) {
            let h_ids = vocab.ids(split_tokens(h));
            let h_counts = ngram_counts(&h_ids, MAX_N);
            let h_bigrams = h_ids.len().saturating_sub(1) as f64;
            let mut parts = Vec::with_capacity(rs.len());
            let mut ref_grams = Vec::new();
            for r in rs {
                let r_ids = vocab.ids(split_tokens(r));
                let r_counts = ngram_counts(&r_ids, MAX_N);
                // pycocoevalcap's "length" counts bigrams (its `n == 1` is the 2-gram slot).
                let delta = h_bigrams - r_ids.len().saturating_sub(1) as f64;
                let penalty = (-(delta * delta) / (2.0 * SIGMA * SIGMA)).exp();
                let mut entries = Vec::with_capacity(h_counts.len() + r_counts.len());
                for (g, &th) in &h_counts {
                    let tr = r_counts.get(g).copied().unwrap_or(0);
                    entries.push(RawEntry {
                        gram: intern(*g),
                        order: order(g) - 1,
                        th: th as f32,
                        tr: tr as f32,
                    });
                }
                for (g, &tr) in &r_counts {
                    let gram = intern(*g);
                    ref_grams.push(gram);
                    if !h_counts.contains_key(g) {
                        entries.push(RawEntry {
                            gram,
                            order: order(g) - 1,
                            th: 0.0,
                            tr: tr as f32,
                        });
                    }
                }
                parts.push((entries, penalty));
            }
            ref_grams.sort_unstable();
            ref_grams.dedup();
            sample_ref_grams.push(ref_grams);
            raw.push(parts);
        }
        // Dense ids for the n-grams that occur in some reference; others stay unseen.
        let mut dense = vec![u32::MAX; grams.len()];
        let mut n_ids = 0u32;
        let mut df_ids = Vec::new();
        let mut samples = Vec::with_capacity(raw.len());
        for ref_grams in &sample_ref_grams {
            let df_start = df_ids.len();
            for &g in ref_grams {
                if dense[g as usize] == u32::MAX {
                    dense[g as usize] = n_ids;
                    n_ids += 1;
                }
                df_ids.push(dense[g as usize]);
            }
            samples.push(Sample {
                refs: Vec::new(),
                df_start,
                df_end: df_ids.len(),
            });
        }
        // Pass 2: entries grouped by order, unseen hypothesis n-grams folded into sums.
        let mut entries = Entries::default();
        for (sample, parts) in samples.iter_mut().zip(raw) {
            for (mut list, penalty) in parts {
                list.sort_unstable_by_key(|e| (e.order, e.gram));
                let mut bounds = [0usize; SEGMENTS * MAX_N + 1];
                let mut unseen_hh = [0.0f64; MAX_N];
                let mut list = list.into_iter().peekable();
                let mut sides: [Vec<(u32, f32, f32)>; SEGMENTS] = Default::default();
                for o in 0..MAX_N {
                    for side in &mut sides {
                        side.clear();
                    }
                    while let Some(e) = list.next_if(|e| e.order == o) {
                        let id = dense[e.gram as usize];
                        if id == u32::MAX {
                            unseen_hh[o] += f64::from(e.th * e.th);
                            continue;
                        }
                        let side = match (e.th > 0.0, e.tr > 0.0) {
                            (true, true) => 0,
                            (true, false) => 1,
                            _ => 2,
                        };
                        sides[side].push((id, e.th, e.tr));
                    }
                    for (k, side) in sides.iter().enumerate() {
                        bounds[SEGMENTS * o + k] = entries.id.len();
                        for &(id, th, tr) in side {
                            entries.id.push(id);
                            entries.hh.push(th * th);
                            entries.rr.push(tr * tr);
                            entries.hr.push(th.min(tr) * tr);
                        }
                    }
                }
                bounds[SEGMENTS * MAX_N] = entries.id.len();
                sample.refs.push(RefPart {
                    bounds,
                    unseen_hh,
                    penalty,
                });
            }
        }
        let mut me = Self {
            corpus: corpus.clone(),
            samples,
            entries,
            df_ids,
            n_ids: n_ids as usize,
            mode,
            full: Vec::new(),
            pair_half: None,
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
        SCRATCH.with(|cell| {
            let scratch = &mut *cell.borrow_mut();
            let df = &mut scratch.df;
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
            // No document frequency exceeds N, the number of (resampled) samples.
            let ln = &mut scratch.ln;
            let top = usize::try_from(n).unwrap_or(usize::MAX);
            if ln.len() <= top {
                let from = ln.len();
                ln.extend((from..=top).map(|k| (k.max(1) as f64).ln()));
            }
            // Squared idf weight (log(N) - log(max(1, df)))² of every reference n-gram.
            let w2 = &mut scratch.w2;
            w2.clear();
            w2.extend(df.iter().map(|&d| {
                let w = log_n - ln[d as usize];
                w * w
            }));
            let unseen_w2 = log_n * log_n;
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    f(i, self.score_sample(&self.samples[i], w2, unseen_w2));
                }
            }
        });
    }

    /// One sample's CIDEr-D given the squared idf weight of each reference n-gram and of
    /// n-grams found in no reference.
    fn score_sample(&self, s: &Sample, w2: &[f64], unseen_w2: f64) -> f64 {
        let e = &self.entries;
        let mut total = 0.0f64;
        for r in &s.refs {
            for o in 0..MAX_N {
                let (mut num, mut nh, mut nr) = (0.0f64, r.unseen_hh[o] * unseen_w2, 0.0f64);
                let seg = |k: usize| r.bounds[SEGMENTS * o + k]..r.bounds[SEGMENTS * o + k + 1];
                for k in seg(0) {
                    let w = w2[e.id[k] as usize];
                    num += f64::from(e.hr[k]) * w;
                    nh += f64::from(e.hh[k]) * w;
                    nr += f64::from(e.rr[k]) * w;
                }
                for k in seg(1) {
                    nh += f64::from(e.hh[k]) * w2[e.id[k] as usize];
                }
                for k in seg(2) {
                    nr += f64::from(e.rr[k]) * w2[e.id[k] as usize];
                }
                if nh != 0.0 && nr != 0.0 {
                    num /= nh.sqrt() * nr.sqrt();
                }
                total += num * r.penalty;
            }
        }
        total / MAX_N as f64 / s.refs.len() as f64 * 10.0
    }

    /// CIDEr-D of up to [`BATCH`] resampled corpora at once ([`DfMode::Corpus`]): the same
    /// arithmetic, in the same order, as [`Self::for_each_present`] per corpus.
    fn score_corpus_batch(&self, counts: &[Vec<u32>], out: &mut [f64]) {
        let nb = counts.len();
        debug_assert!(nb <= BATCH);
        let mut totals = [0u64; BATCH];
        for (t, c) in totals.iter_mut().zip(counts) {
            *t = c.iter().map(|&x| u64::from(x)).sum();
        }
        let top = totals.iter().copied().max().unwrap_or(0);
        let multiplicities = |i: usize| {
            let mut cs = [0u32; BATCH];
            for (c, col) in cs.iter_mut().zip(counts) {
                *c = col[i];
            }
            cs
        };
        SCRATCH.with(|cell| {
            let scratch = &mut *cell.borrow_mut();
            let df = &mut scratch.df_batch;
            df.clear();
            df.resize(self.n_ids * BATCH, 0);
            for (i, s) in self.samples.iter().enumerate() {
                let cs = multiplicities(i);
                if cs.iter().all(|&c| c == 0) {
                    continue;
                }
                for &id in &self.df_ids[s.df_start..s.df_end] {
                    let row = &mut df[id as usize * BATCH..][..BATCH];
                    for (d, &c) in row.iter_mut().zip(&cs) {
                        *d += c;
                    }
                }
            }
            let ln = &mut scratch.ln;
            let top = usize::try_from(top).unwrap_or(usize::MAX);
            if ln.len() <= top {
                let from = ln.len();
                ln.extend((from..=top).map(|k| (k.max(1) as f64).ln()));
            }
            let mut log_n = [0.0f64; BATCH];
            let mut unseen_w2 = [0.0f64; BATCH];
            for b in 0..nb {
                log_n[b] = (totals[b] as f64).ln();
                unseen_w2[b] = log_n[b] * log_n[b];
            }
            let w2 = &mut scratch.w2_batch;
            w2.clear();
            w2.extend(df.chunks_exact(BATCH).flat_map(|row| {
                let mut w = [0.0f64; BATCH];
                for b in 0..BATCH {
                    let x = log_n[b] - ln[row[b] as usize];
                    w[b] = x * x;
                }
                w
            }));
            let mut sums = [0.0f64; BATCH];
            for (i, s) in self.samples.iter().enumerate() {
                let cs = multiplicities(i);
                if cs.iter().all(|&c| c == 0) {
                    continue;
                }
                let scores = self.score_sample_batch(s, w2, &unseen_w2);
                for b in 0..nb {
                    if cs[b] > 0 {
                        sums[b] += scores[b] * f64::from(cs[b]);
                    }
                }
            }
            for b in 0..nb {
                out[b] = if totals[b] == 0 {
                    0.0
                } else {
                    sums[b] / totals[b] as f64
                };
            }
        });
    }

    /// [`Self::score_sample`] under [`BATCH`] weightings at once (`w2[id * BATCH + b]`).
    fn score_sample_batch(&self, s: &Sample, w2: &[f64], unseen_w2: &[f64; BATCH]) -> [f64; BATCH] {
        let e = &self.entries;
        let mut total = [0.0f64; BATCH];
        for r in &s.refs {
            for o in 0..MAX_N {
                let mut num = [0.0f64; BATCH];
                let mut nh = [0.0f64; BATCH];
                let mut nr = [0.0f64; BATCH];
                for b in 0..BATCH {
                    nh[b] = r.unseen_hh[o] * unseen_w2[b];
                }
                let seg = |k: usize| r.bounds[SEGMENTS * o + k]..r.bounds[SEGMENTS * o + k + 1];
                for k in seg(0) {
                    let w = &w2[e.id[k] as usize * BATCH..][..BATCH];
                    let (hr, hh, rr) = (f64::from(e.hr[k]), f64::from(e.hh[k]), f64::from(e.rr[k]));
                    for b in 0..BATCH {
                        num[b] += hr * w[b];
                        nh[b] += hh * w[b];
                        nr[b] += rr * w[b];
                    }
                }
                for k in seg(1) {
                    let w = &w2[e.id[k] as usize * BATCH..][..BATCH];
                    let hh = f64::from(e.hh[k]);
                    for b in 0..BATCH {
                        nh[b] += hh * w[b];
                    }
                }
                for k in seg(2) {
                    let w = &w2[e.id[k] as usize * BATCH..][..BATCH];
                    let rr = f64::from(e.rr[k]);
                    for b in 0..BATCH {
                        nr[b] += rr * w[b];
                    }
                }
                for b in 0..BATCH {
                    if nh[b] != 0.0 && nr[b] != 0.0 {
                        num[b] /= nh[b].sqrt() * nr[b].sqrt();
                    }
                    total[b] += num[b] * r.penalty;
                }
            }
        }
        total.map(|t| t / MAX_N as f64 / s.refs.len() as f64 * 10.0)
    }

    /// Whether `counts` keeps exactly one of each stacked pair (a paired permutation): the
    /// corpus then holds every reference once, so its document frequencies are those of
    /// the evaluated corpus and the full-corpus per-sample scores apply exactly.
    fn is_permutation(&self, counts: &[u32]) -> bool {
        self.pair_half.is_some_and(|h| {
            counts.len() == 2 * h && (0..h).all(|i| counts[i] + counts[h + i] == 1)
        })
    }
}

impl CorpusMetric for CiderD {
    fn names(&self) -> Vec<String> {
        vec!["cider_d".into()]
    }

    fn score_batch(&self, counts: &[Vec<u32>], out: &mut [f64]) {
        if self.mode == DfMode::Fixed || counts.iter().any(|c| self.is_permutation(c)) {
            for (c, o) in counts.iter().zip(out.iter_mut()) {
                self.score_counts(c, std::slice::from_mut(o));
            }
            return;
        }
        for (c, o) in counts.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            self.score_corpus_batch(c, o);
        }
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
            _ if self.is_permutation(counts) => {
                for (v, &c) in self.full.iter().zip(counts) {
                    if c > 0 {
                        sum += v * f64::from(c);
                    }
                }
            }
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
        stacked.pair_half = (self.corpus.refs == other.corpus.refs).then_some(self.len());
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
    fn batched_resamples_equal_single_ones_bit_for_bit() {
        let c = corpus(&[
            ("a b c d", "a b d c"),
            ("x y", "x y z"),
            ("a q a q", "q a b"),
            ("lungs are clear", "the lungs are clear"),
            ("", "no effusion"),
        ]);
        let m = CiderD::new(&c);
        let counts: Vec<Vec<u32>> = vec![
            vec![1, 1, 1, 1, 1],
            vec![2, 0, 1, 0, 2],
            vec![0, 0, 0, 5, 0],
            vec![0, 0, 0, 0, 0],
            vec![1, 3, 0, 1, 0],
            vec![0, 1, 1, 1, 2],
            vec![5, 0, 0, 0, 0],
            vec![1, 1, 0, 2, 1],
            vec![0, 2, 2, 0, 1],
            vec![3, 1, 1, 0, 0],
        ];
        let mut batch = vec![0.0; counts.len()];
        m.score_batch(&counts, &mut batch);
        for (c, got) in counts.iter().zip(&batch) {
            let mut one = [0.0];
            m.score_counts(c, &mut one);
            assert_eq!(
                got.to_bits(),
                one[0].to_bits(),
                "{c:?}: {got} vs {}",
                one[0]
            );
        }
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
