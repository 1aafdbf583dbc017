//! ROUGE-L as pycocoevalcap's `Rouge` scorer computes it: β = 1.2, best precision and
//! best recall over the references, mean over samples.

use rayon::prelude::*;

use crate::corpus::{Corpus, MeanMetric};
use crate::lcs::lcs_len;
use crate::ngram::Vocab;

/// pycocoevalcap's β (recall weighted 1.44× precision).
const BETA: f64 = 1.2;

/// ROUGE-L of one hypothesis against its references, as `Rouge.calc_score`.
///
/// Tokens are `str.split(" ")`: a single space separates them, so an empty text is one
/// empty token and double spaces make empty tokens, as the reference sees them.
pub fn rouge_l_sample(hyp: &str, refs: &[String]) -> f64 {
    let mut vocab = Vocab::default();
    rouge_l_with(&mut vocab, hyp, refs)
}

fn rouge_l_with(vocab: &mut Vocab, hyp: &str, refs: &[String]) -> f64 {
    let c = vocab.ids(hyp.split(' '));
    let (mut prec_max, mut rec_max) = (0.0f64, 0.0f64);
    for r in refs {
        let r = vocab.ids(r.split(' '));
        let lcs = lcs_len(&r, &c) as f64;
        prec_max = prec_max.max(lcs / c.len() as f64);
        rec_max = rec_max.max(lcs / r.len() as f64);
    }
    if prec_max != 0.0 && rec_max != 0.0 {
        ((1.0 + BETA * BETA) * prec_max * rec_max) / (rec_max + BETA * BETA * prec_max)
    } else {
        0.0
    }
}

/// Per-sample pycocoevalcap ROUGE-L of a corpus; the corpus score is their mean.
pub fn coco_rouge_l(corpus: &Corpus) -> MeanMetric {
    let values = corpus
        .hyps
        .par_iter()
        .zip(corpus.refs.par_iter())
        .map_init(Vocab::default, |vocab, (h, rs)| rouge_l_with(vocab, h, rs))
        .collect();
    MeanMetric::new(vec!["rouge_l".into()], vec![values]).expect("one column")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_value() {
        // LCS("a b c d", "a c e") = 2: P = 2/3, R = 2/4.
        let (p, r) = (2.0 / 3.0, 0.5);
        let want = (1.0 + 1.44) * p * r / (r + 1.44 * p);
        assert!((rouge_l_sample("a c e", &["a b c d".into()]) - want).abs() < 1e-12);
        assert_eq!(rouge_l_sample("", &["a".into()]), 0.0);
        assert!((rouge_l_sample("x y", &["x y".into()]) - 1.0).abs() < 1e-12);
    }
}
