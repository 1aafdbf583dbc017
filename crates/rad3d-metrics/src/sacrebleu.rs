//! sacreBLEU's corpus BLEU with its defaults: the `13a` tokenizer, `exp` smoothing, no
//! lower-casing, n-grams up to 4, closest reference length.

use crate::Result;
use crate::corpus::{Corpus, CorpusMetric, Pairable};
use rayon::prelude::*;

use crate::ngram::{ClipScratch, MAX_N, Vocab, clipped_matches};
use crate::text::{python_rstrip, split_tokens};

/// sacreBLEU's floor for `log(0)` (`my_log`).
const LOG_ZERO: f64 = -9_999_999_999.0;

/// sacreBLEU's `13a` tokenizer (mteval-v13a), returning the tokens joined by single spaces.
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let chars: Vec<char> = format!(" {line} ").chars().collect();

    // 1. Symbols and most punctuation become their own tokens.
    let mut s: Vec<char> = Vec::with_capacity(chars.len() * 2);
    for &c in &chars {
        let spaced = matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/');
        if spaced {
            s.extend([' ', c, ' ']);
        } else {
            s.push(c);
        }
    }
    // 2. Period and comma unless preceded by a digit: `([^0-9])([\.,])` → `\1 \2 `.
    let s = sub_pairs(
        &s,
        |a, b| !a.is_ascii_digit() && matches!(b, '.' | ','),
        |a, b| [a, ' ', b, ' '],
    );
    // 3. Period and comma unless followed by a digit: `([\.,])([^0-9])` → ` \1 \2`.
    let s = sub_pairs(
        &s,
        |a, b| matches!(a, '.' | ',') && !b.is_ascii_digit(),
        |a, b| [' ', a, ' ', b],
    );
    // 4. Dash preceded by a digit: `([0-9])(-)` → `\1 \2 `.
    let s = sub_pairs(
        &s,
        |a, b| a.is_ascii_digit() && b == '-',
        |a, b| [a, ' ', b, ' '],
    );
    let s: String = s.into_iter().collect();
    split_tokens(&s).join(" ")
}

/// Python's `re.sub` for a two-character pattern: scan left to right, replace each
/// non-overlapping match and resume after it.
fn sub_pairs(
    s: &[char],
    pattern: impl Fn(char, char) -> bool,
    repl: impl Fn(char, char) -> [char; 4],
) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < s.len() {
        if i + 1 < s.len() && pattern(s[i], s[i + 1]) {
            out.extend(repl(s[i], s[i + 1]));
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// The sacreBLEU release this module was checked against: it scores the public fixture
/// pairs exactly as sacreBLEU 2.6.0 does (`corpus_score` 14.473555766188523), and the 13a
/// tokenizer and `exp` smoothing have not changed across 2.x.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// sacreBLEU 2.x's signature of the scores [`SacreBleu`] computes on `corpus`, e.g.
/// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0` (`nrefs:var` when samples
/// have different numbers of references, as sacreBLEU writes it).
pub fn signature(corpus: &Corpus) -> String {
    let first = corpus.refs.first().map_or(0, Vec::len);
    let nrefs = if corpus.refs.iter().all(|r| r.len() == first) {
        first.to_string()
    } else {
        "var".to_string()
    };
    format!("nrefs:{nrefs}|case:mixed|eff:no|tok:13a|smooth:exp|version:{SACREBLEU_VERSION}")
}

/// One sample's sacreBLEU statistics: `[hyp_len, ref_len, correct×4, total×4]`.
pub type SacreStats = [u64; 2 + 2 * MAX_N];

/// Per-sample statistics of sacreBLEU corpus BLEU.
#[derive(Debug, Clone, PartialEq)]
pub struct SacreBleu {
    stats: Vec<SacreStats>,
}

impl SacreBleu {
    /// Tokenizes (13a) and counts every sample of `corpus` (raw, untokenized text).
    /// Samples are counted in parallel, each worker with its own vocabulary (a sample's
    /// n-grams meet only its own references).
    pub fn new(corpus: &Corpus) -> Self {
        let stats = corpus
            .hyps
            .par_iter()
            .zip(corpus.refs.par_iter())
            .map_init(Scratch::default, |scratch, (h, rs)| {
                segment_stats(scratch, h, rs)
            })
            .collect();
        Self { stats }
    }

    /// The per-sample statistics.
    pub fn stats(&self) -> &[SacreStats] {
        &self.stats
    }
}

fn preprocess(s: &str) -> String {
    tokenize_13a(python_rstrip(s))
}

/// A worker's reusable state: its vocabulary and counting buffers.
#[derive(Default)]
struct Scratch {
    vocab: Vocab,
    clip: ClipScratch,
}

fn segment_stats(scratch: &mut Scratch, hyp: &str, refs: &[String]) -> SacreStats {
    let vocab = &mut scratch.vocab;
    let ref_ids: Vec<Vec<u32>> = refs
        .iter()
        .map(|r| vocab.ids(split_tokens(&preprocess(r))))
        .collect();
    let ids = vocab.ids(split_tokens(&preprocess(hyp)));
    let hyp_len = ids.len() as u64;
    let ref_len = ref_ids
        .iter()
        .map(|r| r.len() as u64)
        .min_by_key(|&l| (l.abs_diff(hyp_len), l))
        .unwrap_or(0);
    let mut st = [0u64; 2 + 2 * MAX_N];
    st[0] = hyp_len;
    st[1] = ref_len;
    let correct = clipped_matches(&ids, &ref_ids, &mut scratch.clip);
    for n in 0..MAX_N {
        st[2 + MAX_N + n] = (ids.len() as u64).saturating_sub(n as u64);
        st[2 + n] = u64::from(correct[n]);
    }
    st
}

/// sacreBLEU's `compute_bleu` with `exp` smoothing on summed statistics (score in 0..100).
pub fn bleu_from_stats(st: &SacreStats) -> f64 {
    let (sys_len, ref_len) = (st[0] as f64, st[1] as f64);
    let correct = &st[2..2 + MAX_N];
    let total = &st[2 + MAX_N..];
    let bp = if st[0] < st[1] {
        if st[0] > 0 {
            (1.0 - ref_len / sys_len).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    if correct.iter().all(|&c| c == 0) {
        return 0.0;
    }
    let mut precisions = [0.0f64; MAX_N];
    let mut smooth = 1.0;
    for n in 0..MAX_N {
        if total[n] == 0 {
            break;
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    let logs: f64 = precisions
        .iter()
        .map(|&p| if p == 0.0 { LOG_ZERO } else { p.ln() })
        .sum();
    bp * (logs / MAX_N as f64).exp()
}

impl CorpusMetric for SacreBleu {
    fn names(&self) -> Vec<String> {
        vec!["sacrebleu".into()]
    }

    fn len(&self) -> usize {
        self.stats.len()
    }

    fn score_counts(&self, counts: &[u32], out: &mut [f64]) {
        let mut sum = [0u64; 2 + 2 * MAX_N];
        for (s, &c) in self.stats.iter().zip(counts) {
            if c > 0 {
                for (a, v) in sum.iter_mut().zip(s) {
                    *a += u64::from(c) * v;
                }
            }
        }
        out[0] = bleu_from_stats(&sum);
    }
}

impl Pairable for SacreBleu {
    fn stack(&self, other: &Self) -> Result<Self> {
        let mut stats = self.stats.clone();
        stats.extend_from_slice(&other.stats);
        Ok(Self { stats })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_13a_cases() {
        assert_eq!(tokenize_13a("Hello, world."), "Hello , world .");
        assert_eq!(
            tokenize_13a("It is 3.5 cm, 1,200 ml."),
            "It is 3.5 cm , 1,200 ml ."
        );
        assert_eq!(
            tokenize_13a("T2-weighted (a&amp;b) 5-6"),
            "T2 - weighted ( a & b ) 5 - 6"
        );
        assert_eq!(tokenize_13a("x..y"), "x . . y");
    }

    #[test]
    fn identical_is_hundred() {
        let c = Corpus::single(vec!["a b c d e".into()], vec!["a b c d e".into()]).unwrap();
        assert!((SacreBleu::new(&c).score()[0] - 100.0).abs() < 1e-9);
        assert_eq!(
            signature(&c),
            "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
        );
        let two = Corpus::new(
            vec!["a".into(), "b".into()],
            vec![vec!["a".into()], vec!["b".into(), "c".into()]],
        )
        .unwrap();
        assert!(signature(&two).starts_with("nrefs:var|"));
    }
}
