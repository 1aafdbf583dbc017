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

use rayon::prelude::*;

use crate::corpus::{Corpus, CorpusMetric, MeanMetric, Pairable};
use crate::hash::FxMap;
use crate::ngram::{MAX_N, NGram, Vocab, ngram_counts, order};
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

impl Entries {
    /// Appends `other`'s entries after these.
    fn append(&mut self, other: &Entries) {
        self.id.extend_from_slice(&other.id);
        self.hh.extend_from_slice(&other.hh);
        self.rr.extend_from_slice(&other.rr);
        self.hr.extend_from_slice(&other.hr);
    }
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

/// One sample's n-grams before the corpus-wide ids are known (see [`CiderD::with_mode`]).
struct CookedSample {
    /// The sample's distinct n-grams in the order the corpus-wide numbering first meets
    /// them: the hypothesis' in counting-map order, then each reference's new ones.
    touched: Vec<NGram>,
    /// Per reference: its entries (see [`pack`]) and its length penalty.
    parts: Vec<(Vec<u128>, f64)>,
    /// Local indices (into `touched`) of the n-grams of all references.
    ref_grams: Vec<u32>,
}

/// An entry of a reference part, packed so that sorting the integers orders entries by
/// n-gram order, then id: `order`, `gram` (a local index, later the corpus-wide id) and
/// the hypothesis and reference counts. Within a part each n-gram occurs once, so
/// the counts never decide the order.
#[inline]
fn pack(order: usize, gram: u32, th: u32, tr: u32) -> u128 {
    (order as u128) << 96 | u128::from(gram) << 64 | u128::from(th) << 32 | u128::from(tr)
}

/// `(order, gram, th, tr)` of a [`pack`]ed entry.
#[inline]
fn unpack(e: u128) -> (usize, u32, u32, u32) {
    (
        (e >> 96) as usize,
        (e >> 64) as u32,
        (e >> 32) as u32,
        e as u32,
    )
}

/// Replaces a packed entry's gram by `f(gram)`.
#[inline]
fn regram(e: u128, f: impl Fn(u32) -> u32) -> u128 {
    let (order, gram, th, tr) = unpack(e);
    pack(order, f(gram), th, tr)
}

/// Counts one sample's n-grams (token ids as the corpus-wide vocabulary numbers them).
fn cook_sample(h_ids: &[u32], r_ids: &[Vec<u32>]) -> CookedSample {
    let h_counts = ngram_counts(h_ids, MAX_N);
    let h_bigrams = h_ids.len().saturating_sub(1) as f64;
    // Local index of each n-gram met so far; the hypothesis' come first, in the order
    // the original single pass interned them (its counting map's iteration order).
    let mut local: FxMap<NGram, u32> =
        FxMap::with_capacity_and_hasher(h_counts.len() * 2, Default::default());
    let mut touched: Vec<NGram> = Vec::with_capacity(h_counts.len() * 2);
    // Without references nothing is interned (and so numbered) at all.
    if !r_ids.is_empty() {
        for g in h_counts.keys() {
            local.insert(*g, touched.len() as u32);
            touched.push(*g);
        }
    }
    let mut parts = Vec::with_capacity(r_ids.len());
    let mut ref_grams = Vec::new();
    for r in r_ids {
        let r_counts = ngram_counts(r, MAX_N);
        // pycocoevalcap's "length" counts bigrams (its `n == 1` is the 2-gram slot).
        let delta = h_bigrams - r.len().saturating_sub(1) as f64;
        let penalty = (-(delta * delta) / (2.0 * SIGMA * SIGMA)).exp();
        let mut entries = Vec::with_capacity(h_counts.len() + r_counts.len());
        // The map is unchanged since `touched` was filled: the k-th n-gram is still `k`.
        for (k, (g, &th)) in h_counts.iter().enumerate() {
            let tr = r_counts.get(g).copied().unwrap_or(0);
            entries.push(pack(order(g) - 1, k as u32, th, tr));
        }
        for (g, &tr) in &r_counts {
            let next = touched.len() as u32;
            let id = *local.entry(*g).or_insert(next);
            if id == next {
                touched.push(*g);
            }
            ref_grams.push(id);
            if !h_counts.contains_key(g) {
                entries.push(pack(order(g) - 1, id, 0, tr));
            }
        }
        parts.push((entries, penalty));
    }
    CookedSample {
        touched,
        parts,
        ref_grams,
    }
}

/// One sample's share of [`Entries`], with part bounds relative to its first entry.
#[derive(Default)]
struct SampleEntries {
    entries: Entries,
    refs: Vec<RefPart>,
}

/// Lays one sample's parts out as [`Entries`] segments (`dense`: corpus-wide gram id →
/// dense reference n-gram id, `u32::MAX` for n-grams found in no reference).
fn layout_sample(parts: &[(Vec<u128>, f64)], dense: &[u32]) -> SampleEntries {
    let mut out = SampleEntries::default();
    let n: usize = parts.iter().map(|(l, _)| l.len()).sum();
    let e = &mut out.entries;
    e.id.reserve(n);
    e.hh.reserve(n);
    e.rr.reserve(n);
    e.hr.reserve(n);
    let mut sides: [Vec<(u32, f32, f32)>; SEGMENTS] = Default::default();
    for (list, penalty) in parts {
        let mut bounds = [0usize; SEGMENTS * MAX_N + 1];
        let mut unseen_hh = [0.0f64; MAX_N];
        let mut list = list.iter().map(|&x| unpack(x)).peekable();
        for o in 0..MAX_N {
            for side in &mut sides {
                side.clear();
            }
            while let Some((_, gram, th, tr)) = list.next_if(|x| x.0 == o) {
                let (th, tr) = (th as f32, tr as f32);
                let id = dense[gram as usize];
                if id == u32::MAX {
                    unseen_hh[o] += f64::from(th * th);
                    continue;
                }
                let side = match (th > 0.0, tr > 0.0) {
                    (true, true) => 0,
                    (true, false) => 1,
                    _ => 2,
                };
                sides[side].push((id, th, tr));
            }
            for (k, side) in sides.iter().enumerate() {
                bounds[SEGMENTS * o + k] = e.id.len();
                for &(id, th, tr) in side {
                    e.id.push(id);
                    e.hh.push(th * th);
                    e.rr.push(tr * tr);
                    e.hr.push(th.min(tr) * tr);
                }
            }
        }
        bounds[SEGMENTS * MAX_N] = e.id.len();
        out.refs.push(RefPart {
            bounds,
            unseen_hh,
            penalty: *penalty,
        });
    }
    out
}

impl CiderD {
    /// Cooks `corpus` (whitespace tokens as given) with document frequencies recomputed per
    /// resample ([`DfMode::Corpus`]).
    pub fn new(corpus: &Corpus) -> Self {
        Self::with_mode(corpus, DfMode::Corpus)
    }

    /// Cooks `corpus` choosing how resamples treat document frequencies.
    ///
    /// Scores depend on the order of each part's entries, which follows the corpus-wide
    /// numbering of n-grams by first sight; the numbering (and the token ids whose hashes
    /// order each counting map) is done in one sequential pass, everything else per sample
    /// in parallel.
    pub fn with_mode(corpus: &Corpus, mode: DfMode) -> Self {
        let mut vocab = Vocab::default();
        let ids: Vec<(Vec<u32>, Vec<Vec<u32>>)> = corpus
            .hyps
            .iter()
            .zip(&corpus.refs)
            .map(|(h, rs)| {
                let h = vocab.ids(split_tokens(h));
                (h, rs.iter().map(|r| vocab.ids(split_tokens(r))).collect())
            })
            .collect();
        let mut cooked: Vec<CookedSample> =
            ids.par_iter().map(|(h, rs)| cook_sample(h, rs)).collect();
        // Corpus-wide ids by first sight, sample by sample.
        let mut grams: FxMap<NGram, u32> = FxMap::default();
        let global: Vec<Vec<u32>> = cooked
            .iter_mut()
            .map(|c| {
                let touched = std::mem::take(&mut c.touched);
                touched
                    .into_iter()
                    .map(|g| {
                        let next = grams.len() as u32;
                        *grams.entry(g).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        let n_grams = grams.len();
        drop(grams);
        // Entries by (order, id) and each sample's distinct reference n-grams.
        let sample_ref_grams: Vec<Vec<u32>> = cooked
            .par_iter_mut()
            .zip(&global)
            .map(|(c, map)| {
                for (list, _) in &mut c.parts {
                    for e in list.iter_mut() {
                        *e = regram(*e, |g| map[g as usize]);
                    }
                    list.sort_unstable();
                }
                let mut rg: Vec<u32> = c.ref_grams.iter().map(|&g| map[g as usize]).collect();
                rg.sort_unstable();
                rg.dedup();
                rg
            })
            .collect();
        // Dense ids for the n-grams that occur in some reference; others stay unseen.
        let mut dense = vec![u32::MAX; n_grams];
        let mut n_ids = 0u32;
        let mut df_ids = Vec::new();
        let mut samples = Vec::with_capacity(cooked.len());
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
        // Entries grouped by order, unseen hypothesis n-grams folded into sums.
        let laid: Vec<SampleEntries> = cooked
            .par_iter()
            .map(|c| layout_sample(&c.parts, &dense))
            .collect();
        drop(cooked);
        let total: usize = laid.iter().map(|l| l.entries.id.len()).sum();
        let mut entries = Entries {
            id: Vec::with_capacity(total),
            hh: Vec::with_capacity(total),
            rr: Vec::with_capacity(total),
            hr: Vec::with_capacity(total),
        };
        for (sample, mut l) in samples.iter_mut().zip(laid) {
            let offset = entries.id.len();
            for r in &mut l.refs {
                for b in &mut r.bounds {
                    *b += offset;
                }
            }
            sample.refs = l.refs;
            entries.append(&l.entries);
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
        me.full = me.full_corpus_scores();
        me
    }

    /// Every sample's score on the full corpus, in parallel: with the corpus fixed, the
    /// weights are shared and each score is independent of the others.
    fn full_corpus_scores(&self) -> Vec<f64> {
        let n = self.samples.len();
        if n == 0 {
            return Vec::new();
        }
        // A scratch of its own: the thread-local one may be borrowed by a caller on this
        // thread while the pool runs other work here.
        let mut scratch = Scratch::default();
        let unseen_w2 = self.fill_weights(&vec![1; n], n as u64, &mut scratch);
        self.samples
            .par_iter()
            .map(|s| self.score_sample(s, &scratch.w2, unseen_w2))
            .collect()
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
            let unseen_w2 = self.fill_weights(counts, n, scratch);
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    f(
                        i,
                        self.score_sample(&self.samples[i], &scratch.w2, unseen_w2),
                    );
                }
            }
        });
    }

    /// Fills `scratch.w2` with the squared idf weight (log(N) − log(max(1, df)))² of every
    /// reference n-gram in the corpus made of `counts[i]` copies of sample `i` (`n` samples
    /// in all, `n > 0`); returns the weight of an n-gram found in no reference, log(N)².
    fn fill_weights(&self, counts: &[u32], n: u64, scratch: &mut Scratch) -> f64 {
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
        let w2 = &mut scratch.w2;
        w2.clear();
        w2.extend(df.iter().map(|&d| {
            let w = log_n - ln[d as usize];
            w * w
        }));
        log_n * log_n
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
