//! METEOR 1.5's aligner: candidate matches from the exact, stem, synonym and
//! paraphrase stages, then a left-to-right beam search for the alignment
//! with most (search-weighted) matched words, fewest chunks and smallest
//! total distance.
//!
//! This follows the reference search step for step, including details that
//! change results: words are compared through Java `String.hashCode` keys,
//! search weights are truncated into integer totals, and the distance of a
//! newly chosen match is charged to the path that skips the word.

use std::cmp::Reverse;

use rust_stemmers::{Algorithm, Stemmer};

use super::paraphrase::{FxSet, ParaphraseTable};
use super::stats::{MeteorStats, STAGES};
use super::synonym::SynonymDictionary;

/// Beam width of the search (`Constants.DEFAULT_BEAM_SIZE`).
pub const BEAM_SIZE: usize = 40;

/// Stage weights used only to rank partial alignments during the search.
const SEARCH_WEIGHTS: [f64; STAGES] = [1.0, 0.5, 0.5, 0.5];

/// Stage index of each matcher.
const EXACT: u8 = 0;
const STEM: u8 = 1;
const SYNONYM: u8 = 2;
const PARAPHRASE: u8 = 3;

/// A candidate match: `len` words of line 2 (the reference) at `start`
/// against `match_len` words of line 1 (the hypothesis) at `match_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// First reference word.
    pub start: usize,
    /// Reference words covered.
    pub len: usize,
    /// First hypothesis word.
    pub match_start: usize,
    /// Hypothesis words covered.
    pub match_len: usize,
    /// Stage that produced the match (0 exact … 3 paraphrase).
    pub module: u8,
}

/// The resources the matchers need; absent ones disable their stage.
pub struct Matchers<'a> {
    /// Function words (for the δ weighting).
    pub function_words: &'a FxSet<String>,
    /// Synonym stage.
    pub synonyms: Option<&'a SynonymDictionary>,
    /// Paraphrase stage.
    pub paraphrases: Option<&'a ParaphraseTable>,
}

/// Java's `String.hashCode` (over UTF-16 units): the jar compares words by it.
pub fn java_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for u in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(u));
    }
    h
}

/// What the matchers need to know about one (normalised) word; a corpus computes it
/// once per distinct word instead of once per occurrence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordInfo {
    /// Java `hashCode` of the word (the exact stage compares these).
    pub key: i32,
    /// Java `hashCode` of its Snowball English stem.
    pub stem: i32,
    /// Sorted synset ids of the word and its base forms (empty without synonym data).
    pub synsets: Vec<u32>,
    /// 256-bit signature of `synsets` (one bit per id): disjoint signatures rule out a
    /// shared synset without walking both lists, which most word pairs are.
    pub synset_bits: [u64; 4],
    /// Paraphrase-table key of the word.
    pub para: u64,
    /// Whether it is a function word.
    pub function: bool,
}

impl WordInfo {
    /// Computes a word's matcher data (`stemmer`: Snowball English).
    pub fn new(word: &str, m: &Matchers<'_>, stemmer: &Stemmer) -> Self {
        let synsets: Vec<u32> = m.synonyms.map(|d| d.lookup(word)).unwrap_or_default();
        let mut synset_bits = [0u64; 4];
        for &id in &synsets {
            let h = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
            synset_bits[(h >> 6) as usize] |= 1 << (h & 63);
        }
        Self {
            key: java_hash(word),
            stem: java_hash(&stemmer.stem(word)),
            synsets,
            synset_bits,
            para: m.paraphrases.map_or(0, |t| t.translate(word)),
            function: is_function_word(m, word),
        }
    }
}

/// The Snowball English stemmer the stem stage uses.
pub fn english_stemmer() -> Stemmer {
    Stemmer::create(Algorithm::English)
}

/// Candidate matches, grouped by the reference index they start at.
struct Stage {
    keys1: Vec<i32>,
    keys2: Vec<i32>,
    matches: Vec<Vec<Match>>,
    cov1: Vec<u32>,
    cov2: Vec<u32>,
}

impl Stage {
    fn new(words1: &[&WordInfo], words2: &[&WordInfo]) -> Self {
        Self {
            keys1: words1.iter().map(|w| w.key).collect(),
            keys2: words2.iter().map(|w| w.key).collect(),
            matches: vec![Vec::new(); words2.len()],
            cov1: vec![0; words1.len()],
            cov2: vec![0; words2.len()],
        }
    }

    fn add(&mut self, m: Match) {
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

fn match_exact(s: &mut Stage) {
    for j in 0..s.keys2.len() {
        for i in 0..s.keys1.len() {
            if s.keys1[i] == s.keys2[j] {
                s.add_word(EXACT, j, i);
            }
        }
    }
}

fn match_stem(s: &mut Stage, words1: &[&WordInfo], words2: &[&WordInfo]) {
    for (j, w2) in words2.iter().enumerate() {
        for (i, w1) in words1.iter().enumerate() {
            if w1.stem == w2.stem && s.keys1[i] != s.keys2[j] {
                s.add_word(STEM, j, i);
            }
        }
    }
}

fn match_synonym(s: &mut Stage, words1: &[&WordInfo], words2: &[&WordInfo]) {
    for (j, w2) in words2.iter().enumerate() {
        if w2.synsets.is_empty() {
            continue;
        }
        for (i, w1) in words1.iter().enumerate() {
            let may_share = (0..4).any(|k| w1.synset_bits[k] & w2.synset_bits[k] != 0);
            if may_share
                && s.keys1[i] != s.keys2[j]
                && SynonymDictionary::intersect(&w1.synsets, &w2.synsets)
            {
                s.add_word(SYNONYM, j, i);
            }
        }
    }
}

/// Positions at which `phrase` occurs in `line` (ascending).
fn occurrences<'l>(line: &'l [u64], phrase: &'l [u64]) -> impl Iterator<Item = usize> + 'l {
    (0..line.len())
        .filter(move |&i| phrase.len() <= line.len() - i && line[i..i + phrase.len()] == *phrase)
}

fn match_paraphrase(
    s: &mut Stage,
    words1: &[&WordInfo],
    words2: &[&WordInfo],
    t: &ParaphraseTable,
) {
    let line1: Vec<u64> = words1.iter().map(|w| w.para).collect();
    let line2: Vec<u64> = words2.iter().map(|w| w.para).collect();
    let mut found = Vec::new();
    // Paraphrases in line 1 of phrases of line 2 ...
    for j in 0..line2.len() {
        t.for_each_path(&line2, j, |len, words| {
            for i in occurrences(&line1, words) {
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
    for i in 0..line1.len() {
        t.for_each_path(&line1, i, |len, words| {
            for j in occurrences(&line2, words) {
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

/// Used-word bits of a path; inline up to 384 words (both lines together).
#[derive(Clone)]
enum Bits {
    Inline([u64; 6]),
    Heap(Vec<u64>),
}

impl Default for Bits {
    fn default() -> Self {
        Self::Inline([0; 6])
    }
}

impl Bits {
    fn new(n: usize) -> Self {
        if n <= 6 * 64 {
            Self::Inline([0; 6])
        } else {
            Self::Heap(vec![0; n.div_ceil(64)])
        }
    }

    #[inline]
    fn words(&self) -> &[u64] {
        match self {
            Self::Inline(a) => a,
            Self::Heap(v) => v,
        }
    }

    #[inline]
    fn get(&self, i: usize) -> bool {
        self.words()[i / 64] >> (i % 64) & 1 == 1
    }

    #[inline]
    fn set(&mut self, i: usize) {
        let w = match self {
            Self::Inline(a) => &mut a[..],
            Self::Heap(v) => &mut v[..],
        };
        w[i / 64] |= 1 << (i % 64);
    }
}

/// No chosen match yet (end of a path's match list).
const NIL: u32 = u32::MAX;

/// A path of the beam search. The reference keeps a full match array per
/// path; here a path keeps the head of its chosen matches (a list in an
/// arena shared by the search) and a bitset of used words, since it only
/// ever reads the certain matches fixed before the search (see [`Search`]).
#[derive(Clone, Default)]
struct Partial {
    /// Last chosen match in the arena, or [`NIL`].
    chosen: u32,
    /// Used words: bits `0..n1` for line 1, `n1..n1 + n2` for line 2.
    used: Bits,
    matches1: i32,
    matches2: i32,
    chunks: i32,
    idx: usize,
    last_match_end: i64,
    distance: i32,
}

/// What all paths of one search share.
struct Search<'s> {
    stage: &'s Stage,
    /// Certain one-to-one matches, by reference start (fixed before the search).
    fixed: Vec<Option<Match>>,
    n1: usize,
}

impl Partial {
    fn is_used(&self, m: &Match, n1: usize) -> bool {
        (0..m.len).any(|k| self.used.get(n1 + m.start + k))
            || (0..m.match_len).any(|k| self.used.get(m.match_start + k))
    }

    fn set_used(&mut self, m: &Match, n1: usize) {
        for k in 0..m.len {
            self.used.set(n1 + m.start + k);
        }
        for k in 0..m.match_len {
            self.used.set(m.match_start + k);
        }
    }

    /// Adds a match's totals; the weighted totals are `int += double` in the
    /// reference, i.e. truncated after each addition.
    fn count(&mut self, m: &Match) {
        let w = SEARCH_WEIGHTS[m.module as usize];
        self.matches1 = (f64::from(self.matches1) + m.match_len as f64 * w) as i32;
        self.matches2 = (f64::from(self.matches2) + m.len as f64 * w) as i32;
        if self.last_match_end != -1 && m.match_start as i64 != self.last_match_end {
            self.chunks += 1;
        }
        self.idx = m.start + m.len;
        self.last_match_end = (m.match_start + m.match_len) as i64;
    }

    /// `PARTIAL_COMPARE_TOTAL`: more weighted matches, then fewer chunks, then less distance.
    fn rank(&self) -> (Reverse<i32>, i32, i32) {
        (
            Reverse(self.matches1 + self.matches2),
            self.chunks,
            self.distance,
        )
    }

    /// [`Self::rank`] then `position`, packed so that sorting the integers (unstably)
    /// orders paths exactly as a stable sort by rank would; sorting these keys instead of
    /// the paths themselves moves 16 bytes per element instead of a whole path.
    fn sort_key(&self, position: usize) -> u128 {
        // Order-preserving map of i32 onto u32.
        let ord = |x: i32| u128::from((x as u32) ^ 0x8000_0000);
        let matches = u128::from(!((self.matches1 + self.matches2) as u32 ^ 0x8000_0000));
        (matches << 96) | (ord(self.chunks) << 64) | (ord(self.distance) << 32) | position as u128
    }
}

fn distance(m: &Match) -> i32 {
    (m.start as i32 - m.match_start as i32).abs()
}

impl Search<'_> {
    fn start(&self) -> Partial {
        let mut p = Partial {
            chosen: NIL,
            used: Bits::new(self.n1 + self.fixed.len()),
            matches1: 0,
            matches2: 0,
            chunks: 0,
            idx: 0,
            last_match_end: -1,
            distance: 0,
        };
        for m in self.fixed.iter().flatten() {
            p.set_used(m, self.n1);
        }
        p
    }

    /// Runs the beam search; returns the best path and the arena of chosen matches.
    fn resolve(&self) -> (Partial, Vec<(Match, u32)>) {
        let s = self.stage;
        let n1 = self.n1;
        let n = s.matches.len();
        let mut arena: Vec<(Match, u32)> = Vec::new();
        let mut next: Vec<Partial> = vec![self.start()];
        let mut paths: Vec<Partial> = Vec::new();
        let mut order: Vec<u128> = Vec::new();
        for current in 0..=n {
            std::mem::swap(&mut paths, &mut next);
            next.clear();
            // Stable, as Java's Collections.sort (see `sort_key`).
            order.clear();
            order.extend(paths.iter().enumerate().map(|(i, p)| p.sort_key(i)));
            order.sort_unstable();
            let mut fallback = None;
            for (rank, &key) in order.iter().take(BEAM_SIZE).enumerate() {
                let mut path = std::mem::take(&mut paths[key as u32 as usize]);
                if current == n {
                    if path.last_match_end != -1 {
                        path.chunks += 1;
                    }
                    next.push(path);
                    continue;
                }
                if path.used.get(n1 + current) {
                    if current < path.idx {
                        next.push(path);
                    } else if let Some(m) = self.fixed.get(path.idx).copied().flatten() {
                        // Only certain matches start at or after the current word.
                        path.count(&m);
                        path.distance += distance(&m);
                        next.push(path);
                    } else if rank == 0 {
                        fallback = Some(path);
                    }
                    continue;
                }
                for m in &s.matches[current] {
                    if path.is_used(m, n1) {
                        continue;
                    }
                    let mut np = path.clone();
                    np.set_used(m, n1);
                    arena.push((*m, np.chosen));
                    np.chosen = (arena.len() - 1) as u32;
                    np.count(m);
                    // The reference charges this distance to the skipping path.
                    path.distance += distance(m);
                    next.push(np);
                }
                if path.last_match_end != -1 {
                    path.chunks += 1;
                    path.last_match_end = -1;
                }
                path.idx += 1;
                next.push(path);
            }
            if next.is_empty()
                && let Some(p) = fallback
            {
                tracing::warn!("METEOR search: no path could continue; keeping the best one");
                next.push(p);
            }
        }
        next.sort_by_key(Partial::rank);
        let best = next.into_iter().next().unwrap_or_else(|| self.start());
        (best, arena)
    }

    /// The final alignment: matches by reference start.
    fn matches_of(&self, best: &Partial, arena: &[(Match, u32)]) -> Vec<Option<Match>> {
        let mut all = self.fixed.clone();
        let mut at = best.chosen;
        while at != NIL {
            let (m, prev) = arena[at as usize];
            all[m.start] = Some(m);
            at = prev;
        }
        all
    }
}

/// Counts chunks of a final alignment as `getCountAndChunks` does.
fn count_chunks(matches: &[Option<Match>]) -> i32 {
    let mut chunks = 0;
    let mut idx = 0;
    let mut last_match_end: i64 = -1;
    while idx < matches.len() {
        match matches[idx] {
            None => {
                if last_match_end != -1 {
                    chunks += 1;
                    last_match_end = -1;
                }
                idx += 1;
            }
            Some(m) => {
                if last_match_end != -1 && m.match_start as i64 != last_match_end {
                    chunks += 1;
                }
                idx = m.start + m.len;
                last_match_end = (m.match_start + m.match_len) as i64;
            }
        }
    }
    if last_match_end != -1 {
        chunks += 1;
    }
    chunks
}

/// Function-word test on the lower-cased word, as the reference does it.
fn is_function_word(m: &Matchers<'_>, w: &str) -> bool {
    if w.bytes().any(|b| b.is_ascii_uppercase()) || !w.is_ascii() {
        m.function_words.contains(&w.to_lowercase())
    } else {
        m.function_words.contains(w)
    }
}

/// Aligns hypothesis `words1` with reference `words2` (both normalised) and
/// returns the segment's statistics.
pub fn align(words1: &[String], words2: &[String], m: &Matchers<'_>) -> MeteorStats {
    let stemmer = english_stemmer();
    let info1: Vec<WordInfo> = words1
        .iter()
        .map(|w| WordInfo::new(w, m, &stemmer))
        .collect();
    let info2: Vec<WordInfo> = words2
        .iter()
        .map(|w| WordInfo::new(w, m, &stemmer))
        .collect();
    let r1: Vec<&WordInfo> = info1.iter().collect();
    let r2: Vec<&WordInfo> = info2.iter().collect();
    align_words(&r1, &r2, m)
}

/// [`align`] on precomputed word data (see [`WordInfo`]).
pub fn align_words(words1: &[&WordInfo], words2: &[&WordInfo], m: &Matchers<'_>) -> MeteorStats {
    let mut s = Stage::new(words1, words2);
    // Identical sentences need only exact matches (avoids beam search errors).
    let identical = s.keys1 == s.keys2;
    match_exact(&mut s);
    if !identical {
        match_stem(&mut s, words1, words2);
        if m.synonyms.is_some() {
            match_synonym(&mut s, words1, words2);
        }
        if let Some(t) = m.paraphrases {
            match_paraphrase(&mut s, words1, words2, t);
        }
    }

    // One-to-one matches that overlap nothing else are certain.
    let mut fixed = vec![None; words2.len()];
    for (slot, cands) in fixed.iter_mut().zip(&s.matches) {
        if let [m] = cands[..] {
            let overlap = (0..m.len).any(|k| s.cov2[m.start + k] != 1)
                || (0..m.match_len).any(|k| s.cov1[m.match_start + k] != 1);
            if !overlap {
                *slot = Some(m);
            }
        }
    }
    let search = Search {
        stage: &s,
        fixed,
        n1: words1.len(),
    };
    let (best, arena) = search.resolve();
    let best_matches = search.matches_of(&best, &arena);

    let mut st = MeteorStats {
        test_length: words1.len() as f64,
        reference_length: words2.len() as f64,
        test_function_words: words1.iter().filter(|w| w.function).count() as f64,
        reference_function_words: words2.iter().filter(|w| w.function).count() as f64,
        ..MeteorStats::default()
    };
    for mt in best_matches.iter().flatten() {
        let md = mt.module as usize;
        for k in 0..mt.match_len {
            if words1[mt.match_start + k].function {
                st.test_function_matches[md] += 1.0;
            } else {
                st.test_content_matches[md] += 1.0;
            }
        }
        for k in 0..mt.len {
            if words2[mt.start + k].function {
                st.reference_function_matches[md] += 1.0;
            } else {
                st.reference_content_matches[md] += 1.0;
            }
        }
    }
    st.chunks = f64::from(count_chunks(&best_matches));
    for i in 0..STAGES {
        st.test_word_matches += st.test_content_matches[i] + st.test_function_matches[i];
        st.reference_word_matches +=
            st.reference_content_matches[i] + st.reference_function_matches[i];
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_java() {
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("Aa"), java_hash("BB"));
        assert_eq!(java_hash(""), 0);
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn exact_and_stem_alignment() {
        let fw: FxSet<String> = ["the", "is"].iter().map(|s| s.to_string()).collect();
        let m = Matchers {
            function_words: &fw,
            synonyms: None,
            paraphrases: None,
        };
        let st = align(
            &words("the nodules is small"),
            &words("the nodule is small"),
            &m,
        );
        assert_eq!(st.test_content_matches, [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(st.test_function_matches, [2.0, 0.0, 0.0, 0.0]);
        assert_eq!(st.chunks, 1.0);
        let st = align(
            &words("small is the nodule"),
            &words("the nodule is small"),
            &m,
        );
        assert_eq!(st.test_word_matches, 4.0);
        assert_eq!(st.chunks, 3.0);
    }
}
