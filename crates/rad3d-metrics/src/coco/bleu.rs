//! Corpus BLEU-1..4 exactly as pycocoevalcap's `BleuScorer` computes it with
//! `option="closest"`.

use rayon::prelude::*;

use crate::corpus::{Corpus, CorpusMetric, Pairable};
use crate::ngram::{ClipScratch, MAX_N, Vocab, clipped_matches};
use crate::text::split_tokens;
use crate::{MetricsError, Result};

/// pycocoevalcap's denominators add `small = 1e-9` …
const SMALL: f64 = 1e-9;
/// … and its numerators `tiny = 1e-15`, so a zero count gives a tiny, not zero, precision.
const TINY: f64 = 1e-15;

/// One sample's BLEU sufficient statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BleuSample {
    /// Hypothesis length in tokens.
    pub testlen: u32,
    /// Length of the reference closest in length (ties: the shorter).
    pub reflen: u32,
    /// Hypothesis n-grams per order (`max(0, len - n + 1)`).
    pub guess: [u32; MAX_N],
    /// Clipped matching n-grams per order.
    pub correct: [u32; MAX_N],
}

/// Per-sample statistics of pycocoevalcap corpus BLEU (whitespace tokens).
#[derive(Debug, Clone, PartialEq)]
pub struct CocoBleu {
    samples: Vec<BleuSample>,
}

impl CocoBleu {
    /// Cooks every sample of `corpus` (texts split on whitespace as given), in parallel:
    /// a sample's n-grams are only compared with its own references, so each worker
    /// interns tokens in its own vocabulary.
    pub fn new(corpus: &Corpus) -> Self {
        let samples = corpus
            .hyps
            .par_iter()
            .zip(corpus.refs.par_iter())
            .map_init(Scratch::default, |scratch, (h, rs)| cook(scratch, h, rs))
            .collect();
        Self { samples }
    }

    /// The per-sample statistics.
    pub fn samples(&self) -> &[BleuSample] {
        &self.samples
    }

    /// Per-sample BLEU-1..4 as pycocoevalcap's `compute_score` returns them (its second value).
    pub fn per_sample(&self) -> Vec<[f64; MAX_N]> {
        self.samples
            .iter()
            .map(|s| {
                let t = totals(std::iter::once((s, 1)));
                bleu_from_totals(&t)
            })
            .collect()
    }
}

/// A worker's reusable state: its vocabulary and counting buffers.
#[derive(Default)]
struct Scratch {
    vocab: Vocab,
    clip: ClipScratch,
}

fn cook(scratch: &mut Scratch, hyp: &str, refs: &[String]) -> BleuSample {
    let vocab = &mut scratch.vocab;
    let ref_ids: Vec<Vec<u32>> = refs.iter().map(|r| vocab.ids(split_tokens(r))).collect();
    let hyp_ids = vocab.ids(split_tokens(hyp));
    let testlen = hyp_ids.len() as u32;
    // min over (|l - testlen|, l): the closest reference length, the shorter on ties.
    let reflen = ref_ids
        .iter()
        .map(|r| r.len() as u32)
        .min_by_key(|&l| (l.abs_diff(testlen), l))
        .unwrap_or(0);
    let mut guess = [0; MAX_N];
    for (k, g) in guess.iter_mut().enumerate() {
        *g = (testlen + 1).saturating_sub(k as u32 + 1);
    }
    let correct = clipped_matches(&hyp_ids, &ref_ids, &mut scratch.clip);
    BleuSample {
        testlen,
        reflen,
        guess,
        correct,
    }
}

/// Summed statistics (testlen, reflen, guess, correct) over weighted samples.
struct Totals {
    testlen: f64,
    reflen: f64,
    guess: [f64; MAX_N],
    correct: [f64; MAX_N],
}

fn totals<'a>(samples: impl Iterator<Item = (&'a BleuSample, u32)>) -> Totals {
    let (mut testlen, mut reflen) = (0u64, 0u64);
    let mut guess = [0u64; MAX_N];
    let mut correct = [0u64; MAX_N];
    for (s, c) in samples {
        let c = u64::from(c);
        testlen += c * u64::from(s.testlen);
        reflen += c * u64::from(s.reflen);
        for k in 0..MAX_N {
            guess[k] += c * u64::from(s.guess[k]);
            correct[k] += c * u64::from(s.correct[k]);
        }
    }
    Totals {
        testlen: testlen as f64,
        reflen: reflen as f64,
        guess: guess.map(|g| g as f64),
        correct: correct.map(|g| g as f64),
    }
}

fn bleu_from_totals(t: &Totals) -> [f64; MAX_N] {
    let mut bleus = [0.0; MAX_N];
    let mut bleu = 1.0;
    for (k, b) in bleus.iter_mut().enumerate() {
        bleu *= (t.correct[k] + TINY) / (t.guess[k] + SMALL);
        // Python's `bleu ** (1. / (k + 1))` is libm's `pow`. With a constant exponent of
        // 0.5 the compiler would call `sqrt` instead, which rounds differently from `pow`
        // in the last bit for some values; `black_box` keeps the exponent opaque.
        *b = bleu.powf(std::hint::black_box(1.0 / (k as f64 + 1.0)));
    }
    let ratio = (t.testlen + TINY) / (t.reflen + SMALL);
    if ratio < 1.0 {
        let bp = (1.0 - 1.0 / ratio).exp();
        for b in &mut bleus {
            *b *= bp;
        }
    }
    bleus
}

impl CorpusMetric for CocoBleu {
    fn names(&self) -> Vec<String> {
        (1..=MAX_N).map(|n| format!("bleu_{n}")).collect()
    }

    fn len(&self) -> usize {
        self.samples.len()
    }

    fn score_counts(&self, counts: &[u32], out: &mut [f64]) {
        let t = totals(
            self.samples
                .iter()
                .zip(counts.iter().copied())
                .filter(|&(_, c)| c > 0),
        );
        out.copy_from_slice(&bleu_from_totals(&t));
    }
}

impl Pairable for CocoBleu {
    fn stack(&self, other: &Self) -> Result<Self> {
        let mut samples = self.samples.clone();
        samples.extend_from_slice(&other.samples);
        if samples.len() > u32::MAX as usize {
            return Err(MetricsError::Input("too many samples to pair".into()));
        }
        Ok(Self { samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(h: &[&str], r: &[&str]) -> Corpus {
        Corpus::single(
            h.iter().map(|s| s.to_string()).collect(),
            r.iter().map(|s| s.to_string()).collect(),
        )
        .unwrap()
    }

    /// A sample of 19 hypothesis tokens (14, 7, 3, 1 matches) against a 30-token
    /// reference: pycocoevalcap's per-sample BLEU-2 is `pow(x, 0.5)` times the brevity
    /// penalty, and `pow(x, 0.5)` is here one ulp above `sqrt(x)`.
    #[test]
    fn per_sample_bleu_is_pythons_pow_to_the_bit() {
        let sample = BleuSample {
            testlen: 19,
            reflen: 30,
            guess: [19, 18, 17, 16],
            correct: [14, 7, 3, 1],
        };
        let got = bleu_from_totals(&totals(std::iter::once((&sample, 1))));
        let x = (14.0 + TINY) / (19.0 + SMALL) * ((7.0 + TINY) / (18.0 + SMALL));
        // What Python prints for `x ** 0.5` and for BleuScorer's per-sample BLEU-2.
        assert_ne!(x.sqrt(), 0.5353033790023545);
        assert_eq!(got[1], 0.30003114359707006, "{}", got[1]);
    }

    #[test]
    fn identical_text_scores_one() {
        let b = CocoBleu::new(&corpus(&["a b c d e"], &["a b c d e"]));
        for v in b.score() {
            assert!((v - 1.0).abs() < 1e-9, "{v}");
        }
    }

    #[test]
    fn closest_reference_and_clipping() {
        let c = Corpus::new(
            vec!["the the the".into()],
            vec![vec!["the cat".into(), "a the cat sat".into()]],
        )
        .unwrap();
        let b = CocoBleu::new(&c);
        let s = b.samples()[0];
        // |2-3| = |4-3|: the shorter reference wins the tie.
        assert_eq!(s.reflen, 2);
        assert_eq!(s.correct[0], 1);
        assert_eq!(s.guess, [3, 2, 1, 0]);
    }
}
