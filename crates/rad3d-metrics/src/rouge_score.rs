//! ROUGE-N / ROUGE-L / ROUGE-Lsum exactly as Google's `rouge-score` package computes them
//! (`RougeScorer(types, use_stemmer)`), including its tokenizer and NLTK Porter stemming.
//!
//! Hand-written because rouge-score is Python. Memory stays linear in the text: ROUGE-L
//! needs only the LCS length (two rows), and ROUGE-Lsum's union LCS reads back rouge-score's
//! exact backtrack without holding its full table (see `lcs::lcs_indices`).

use std::collections::HashMap;

use crate::corpus::{Corpus, MeanMetric};
use crate::lcs::{lcs_indices, lcs_len};
use rayon::prelude::*;

use crate::hash::FxMap;
use crate::ngram::Vocab;
use crate::porter::porter_stem;

/// Precision, recall and F-measure of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prf {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1 (`2PR / (P + R)`, 0 when both are 0).
    pub fmeasure: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Self {
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            fmeasure,
        }
    }
}

/// A rouge-score ROUGE type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RougeType {
    /// ROUGE-N on n-grams of this order (`rouge1`, `rouge2`, …).
    N(usize),
    /// ROUGE-L: LCS of the whole texts.
    L,
    /// ROUGE-Lsum: union LCS over newline-separated sentences.
    Lsum,
}

impl RougeType {
    /// rouge-score's name for the type (`rouge1`, `rougeL`, `rougeLsum`).
    pub fn name(self) -> String {
        match self {
            RougeType::N(n) => format!("rouge{n}"),
            RougeType::L => "rougeL".into(),
            RougeType::Lsum => "rougeLsum".into(),
        }
    }
}

/// rouge-score's tokenizer: lower-case, every run of characters outside `[a-z0-9]` becomes
/// a separator, optionally Porter-stem tokens longer than 3 characters.
#[derive(Debug, Default, Clone)]
pub struct RougeTokenizer {
    stem: bool,
    cache: HashMap<String, String>,
}

impl RougeTokenizer {
    /// A tokenizer, stemming when `stem` is set.
    pub fn new(stem: bool) -> Self {
        Self {
            stem,
            cache: HashMap::new(),
        }
    }

    /// Tokens of `text`.
    pub fn tokenize(&mut self, text: &str) -> Vec<String> {
        // Python lower-cases the whole string first: a few non-ASCII letters lower-case to
        // ASCII (the Kelvin sign to `k`, dotted capital I to `i` + a combining dot).
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        for tok in lower.split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit())) {
            if tok.is_empty() {
                continue;
            }
            if self.stem && tok.len() > 3 {
                let stemmed = self
                    .cache
                    .entry(tok.to_string())
                    .or_insert_with(|| porter_stem(tok))
                    .clone();
                // rouge-score drops tokens that are no longer `^[a-z0-9]+$` after stemming.
                if !stemmed.is_empty()
                    && stemmed
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                {
                    out.push(stemmed);
                }
            } else {
                out.push(tok.to_string());
            }
        }
        out
    }
}

/// rouge-score's `RougeScorer`.
#[derive(Debug, Clone)]
pub struct RougeScorer {
    types: Vec<RougeType>,
    tokenizer: RougeTokenizer,
    vocab: Vocab,
}

impl RougeScorer {
    /// A scorer for `types`, with the Porter stemmer when `use_stemmer`.
    pub fn new(types: &[RougeType], use_stemmer: bool) -> Self {
        Self {
            types: types.to_vec(),
            tokenizer: RougeTokenizer::new(use_stemmer),
            vocab: Vocab::default(),
        }
    }

    /// The types scored, in order.
    pub fn types(&self) -> &[RougeType] {
        &self.types
    }

    fn ids(&mut self, text: &str) -> Vec<u32> {
        let toks = self.tokenizer.tokenize(text);
        self.vocab.ids(toks.iter().map(String::as_str))
    }

    /// Scores `prediction` against `target` for every type (rouge-score's `score(target, prediction)`).
    pub fn score(&mut self, target: &str, prediction: &str) -> Vec<Prf> {
        let t = self.ids(target);
        let p = self.ids(prediction);
        let types = self.types.clone();
        types
            .iter()
            .map(|&ty| match ty {
                RougeType::N(n) => score_ngrams(&t, &p, n),
                RougeType::L => score_lcs(&t, &p),
                RougeType::Lsum => {
                    let ts = self.sentences(target);
                    let ps = self.sentences(prediction);
                    summary_level_lcs(&ts, &ps)
                }
            })
            .collect()
    }

    /// The best-F score over several targets per type (rouge-score's `score_multi`).
    pub fn score_multi(&mut self, targets: &[String], prediction: &str) -> Vec<Prf> {
        let all: Vec<Vec<Prf>> = targets.iter().map(|t| self.score(t, prediction)).collect();
        (0..self.types.len())
            .map(|k| {
                // numpy's argmax: the first maximum.
                let mut best = all[0][k];
                for s in &all[1..] {
                    if s[k].fmeasure > best.fmeasure {
                        best = s[k];
                    }
                }
                best
            })
            .collect()
    }

    fn sentences(&mut self, text: &str) -> Vec<Vec<u32>> {
        text.split('\n')
            .filter(|s| !s.is_empty())
            .map(|s| self.ids(s))
            .collect()
    }

    /// Per-sample precision, recall and F of every type over a corpus (references as
    /// targets, best reference per type), as a mean metric named `rouge1_p`, `rouge1_r`,
    /// `rouge1_f`, ….
    pub fn corpus(&mut self, corpus: &Corpus) -> MeanMetric {
        let mut names = Vec::new();
        for t in &self.types {
            for part in ["p", "r", "f"] {
                names.push(format!("{}_{part}", t.name()));
            }
        }
        let mut cols = vec![Vec::with_capacity(corpus.len()); names.len()];
        // Pairs are scored in parallel, each worker with a copy of the scorer (its stem
        // cache and vocabulary); scores do not depend on either.
        let template = self.clone();
        let scores: Vec<Vec<Prf>> = corpus
            .hyps
            .par_iter()
            .zip(corpus.refs.par_iter())
            .map_init(
                || template.clone(),
                |scorer, (h, rs)| scorer.score_multi(rs, h),
            )
            .collect();
        for s in &scores {
            for (k, prf) in s.iter().enumerate() {
                cols[3 * k].push(prf.precision);
                cols[3 * k + 1].push(prf.recall);
                cols[3 * k + 2].push(prf.fmeasure);
            }
        }
        MeanMetric::new(names, cols).expect("matching columns")
    }
}

fn ngram_counts(tokens: &[u32], n: usize) -> FxMap<&[u32], u32> {
    let mut m = FxMap::default();
    if n == 0 {
        return m;
    }
    for w in tokens.windows(n) {
        *m.entry(w).or_insert(0) += 1;
    }
    m
}

fn score_ngrams(target: &[u32], prediction: &[u32], n: usize) -> Prf {
    let t = ngram_counts(target, n);
    let p = ngram_counts(prediction, n);
    let inter: u32 = t
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let tc: u32 = t.values().sum();
    let pc: u32 = p.values().sum();
    Prf::new(
        f64::from(inter) / f64::from(pc.max(1)),
        f64::from(inter) / f64::from(tc.max(1)),
    )
}

fn score_lcs(target: &[u32], prediction: &[u32]) -> Prf {
    if target.is_empty() || prediction.is_empty() {
        return Prf::default();
    }
    let l = lcs_len(target, prediction) as f64;
    Prf::new(l / prediction.len() as f64, l / target.len() as f64)
}

fn summary_level_lcs(refs: &[Vec<u32>], cands: &[Vec<u32>]) -> Prf {
    if refs.is_empty() || cands.is_empty() {
        return Prf::default();
    }
    let m: usize = refs.iter().map(Vec::len).sum();
    let n: usize = cands.iter().map(Vec::len).sum();
    if m == 0 || n == 0 {
        return Prf::default();
    }
    let mut cnt_r: FxMap<u32, i64> = FxMap::default();
    let mut cnt_c: FxMap<u32, i64> = FxMap::default();
    for t in refs.iter().flatten() {
        *cnt_r.entry(*t).or_insert(0) += 1;
    }
    for t in cands.iter().flatten() {
        *cnt_c.entry(*t).or_insert(0) += 1;
    }
    let mut hits = 0usize;
    for r in refs {
        let mut union: Vec<usize> = cands.iter().flat_map(|c| lcs_indices(r, c)).collect();
        union.sort_unstable();
        union.dedup();
        for i in union {
            let t = r[i];
            let (cc, cr) = (cnt_c.entry(t).or_insert(0), *cnt_r.get(&t).unwrap_or(&0));
            if *cc > 0 && cr > 0 {
                hits += 1;
                *cc -= 1;
                *cnt_r.get_mut(&t).expect("counted") -= 1;
            }
        }
    }
    Prf::new(hits as f64 / n as f64, hits as f64 / m as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_matches_rouge_score_rules() {
        let mut t = RougeTokenizer::new(true);
        assert_eq!(
            t.tokenize("The Lungs, 3.5cm; effusions!"),
            vec!["the", "lung", "3", "5cm", "effus"]
        );
        let mut plain = RougeTokenizer::new(false);
        assert_eq!(plain.tokenize("Ünïcode café"), vec!["n", "code", "caf"]);
    }

    #[test]
    fn rouge_values() {
        let mut s = RougeScorer::new(
            &[
                RougeType::N(1),
                RougeType::N(2),
                RougeType::L,
                RougeType::Lsum,
            ],
            false,
        );
        let r = s.score("the cat sat", "the cat");
        assert!((r[0].precision - 1.0).abs() < 1e-12 && (r[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r[1].fmeasure - 2.0 * 1.0 * 0.5 / 1.5).abs() < 1e-12);
        assert_eq!(r[2], r[0]);
        assert_eq!(r[3], r[0]);
        assert_eq!(s.score("", "a")[2], Prf::default());
    }
}
