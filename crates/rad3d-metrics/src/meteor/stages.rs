//! The candidate-match stages of METEOR 1.5's aligner (exact, stem, synonym,
//! paraphrase): every match each stage proposes, with how many candidates cover each
//! word, for the beam search in `align` to choose from.

use super::align::{EXACT, MAX_CANDIDATE_MATCHES, Match, PARAPHRASE, STEM, SYNONYM, WordInfo};
use super::paraphrase::ParaphraseTable;
use crate::hash::FxMap;

/// Candidate matches, grouped by the reference index they start at.
pub(super) struct Stage {
    pub(super) keys1: Vec<i32>,
    pub(super) keys2: Vec<i32>,
    pub(super) matches: Vec<Vec<Match>>,
    pub(super) cov1: Vec<u32>,
    pub(super) cov2: Vec<u32>,
    /// Candidates stored so far (all stages).
    pub(super) total: usize,
    /// Set when a candidate was refused because [`MAX_CANDIDATE_MATCHES`] were stored.
    pub(super) overflow: bool,
}

impl Stage {
    pub(super) fn new(words1: &[&WordInfo], words2: &[&WordInfo]) -> Self {
        Self {
            keys1: words1.iter().map(|w| w.key).collect(),
            keys2: words2.iter().map(|w| w.key).collect(),
            matches: vec![Vec::new(); words2.len()],
            cov1: vec![0; words1.len()],
            cov2: vec![0; words2.len()],
            total: 0,
            overflow: false,
        }
    }

    fn add(&mut self, m: Match) {
        // The jar keeps every candidate; past the limit the alignment is refused instead
        // (see `MAX_CANDIDATE_MATCHES`), so stop storing them.
        if self.total >= MAX_CANDIDATE_MATCHES {
            self.overflow = true;
            return;
        }
        self.total += 1;
        for k in 0..m.match_len {
            self.cov1[m.match_start + k] += 1;
        }
        for k in 0..m.len {
            self.cov2[m.start + k] += 1;
        }
        self.matches[m.start].push(m);
    }

    fn add_word(&mut self, module: u8, j: usize, i: usize) {
        self.add(Match {
            start: j,
            len: 1,
            match_start: i,
            match_len: 1,
            module,
        });
    }
}

pub(super) fn match_exact(s: &mut Stage) {
    for j in 0..s.keys2.len() {
        if s.overflow {
            return;
        }
        for i in 0..s.keys1.len() {
            if s.keys1[i] == s.keys2[j] {
                s.add_word(EXACT, j, i);
            }
        }
    }
}

pub(super) fn match_stem(s: &mut Stage, words1: &[&WordInfo], words2: &[&WordInfo]) {
    for (j, w2) in words2.iter().enumerate() {
        if s.overflow {
            return;
        }
        for (i, w1) in words1.iter().enumerate() {
            if w1.stem == w2.stem && s.keys1[i] != s.keys2[j] {
                s.add_word(STEM, j, i);
            }
        }
    }
}

pub(super) fn match_synonym(s: &mut Stage, words1: &[&WordInfo], words2: &[&WordInfo]) {
    // Which words of line 1 hold each of their synsets (one bit per word): a word of line
    // 2 then finds every word sharing a synset with it from its own synsets alone, instead
    // of intersecting its list with each word's list of line 1.
    let stride = words1.len().div_ceil(64);
    let mut rows: FxMap<u32, u32> = FxMap::default();
    let mut holders: Vec<u64> = Vec::new();
    for (i, w1) in words1.iter().enumerate() {
        for &id in &w1.synsets {
            let next = rows.len() as u32;
            let row = *rows.entry(id).or_insert(next);
            if row == next {
                holders.resize(holders.len() + stride, 0);
            }
            holders[row as usize * stride + i / 64] |= 1 << (i % 64);
        }
    }
    if rows.is_empty() {
        return;
    }
    let mut shared = vec![0u64; stride];
    for (j, w2) in words2.iter().enumerate() {
        shared.fill(0);
        for id in &w2.synsets {
            if let Some(&row) = rows.get(id) {
                let row = &holders[row as usize * stride..][..stride];
                for (acc, h) in shared.iter_mut().zip(row) {
                    *acc |= h;
                }
            }
        }
        // Line-1 words in ascending order, as the pairwise loop visits them.
        for (k, &word) in shared.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = 64 * k + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if s.keys1[i] != s.keys2[j] {
                    s.add_word(SYNONYM, j, i);
                }
            }
        }
    }
}

/// Positions at which `phrase` occurs in `line` (ascending).
fn occurrences<'l>(line: &'l [u64], phrase: &'l [u64]) -> impl Iterator<Item = usize> + 'l {
    // Comparing the first word before the whole phrase keeps the usual miss to one load.
    (0..line.len()).filter(move |&i| match phrase.first() {
        Some(&w) => line[i] == w && line[i..].starts_with(phrase),
        None => true,
    })
}

/// A line's paraphrase keys and a 256-bit signature of them (one bit per key): most
/// paraphrases of a phrase start with a word the other line lacks, which the signature
/// rules out without scanning the line.
struct ParaLine {
    keys: Vec<u64>,
    bits: [u64; 4],
}

impl ParaLine {
    fn new(words: &[&WordInfo]) -> Self {
        let keys: Vec<u64> = words.iter().map(|w| w.para).collect();
        let mut bits = [0u64; 4];
        for &k in &keys {
            let (word, bit) = Self::slot(k);
            bits[word] |= bit;
        }
        Self { keys, bits }
    }

    /// Signature slot of a key; the keys are well-mixed hashes, so their top bits serve.
    #[inline]
    fn slot(key: u64) -> (usize, u64) {
        let h = key >> 56;
        ((h >> 6) as usize, 1 << (h & 63))
    }

    /// Whether `key` may occur in the line (no false negatives).
    #[inline]
    fn may_contain(&self, key: u64) -> bool {
        let (word, bit) = Self::slot(key);
        self.bits[word] & bit != 0
    }
}

pub(super) fn match_paraphrase(
    s: &mut Stage,
    words1: &[&WordInfo],
    words2: &[&WordInfo],
    t: &ParaphraseTable,
) {
    let line1 = ParaLine::new(words1);
    let line2 = ParaLine::new(words2);
    let mut found = Vec::new();
    // Paraphrases in line 1 of phrases of line 2 ...
    for j in 0..line2.keys.len() {
        let may_occur = |w| line1.may_contain(w);
        t.for_each_path_where(&line2.keys, j, may_occur, |len, words| {
            for i in occurrences(&line1.keys, words) {
                found.push(Match {
                    start: j,
                    len,
                    match_start: i,
                    match_len: words.len(),
                    module: PARAPHRASE,
                });
            }
        });
    }
    // ... then in line 2 of phrases of line 1.
    for i in 0..line1.keys.len() {
        let may_occur = |w| line2.may_contain(w);
        t.for_each_path_where(&line1.keys, i, may_occur, |len, words| {
            for j in occurrences(&line2.keys, words) {
                found.push(Match {
                    start: j,
                    len: words.len(),
                    match_start: i,
                    match_len: len,
                    module: PARAPHRASE,
                });
            }
        });
    }
    for m in found {
        s.add(m);
    }
}
