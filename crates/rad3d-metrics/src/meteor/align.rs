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

use super::paraphrase::ParaphraseTable;
use super::stages::{Stage, match_exact, match_paraphrase, match_stem, match_synonym};
use super::stats::{MeteorStats, STAGES};
use super::synonym::SynonymDictionary;
use crate::hash::FxSet;

/// Beam width of the search (`Constants.DEFAULT_BEAM_SIZE`).
pub const BEAM_SIZE: usize = 40;

/// Most candidate matches (all stages together) one alignment may hold.
///
/// METEOR 1.5 keeps every candidate match of a segment pair and has no limit of its own;
/// their number grows with the product of the two lengths (a word repeated `k` times in
/// each line gives `k²` exact candidates), so an unbounded search needs memory quadratic
/// in the text. Past this many (≈ 0.2 GB of candidates) the segment is refused with
/// [`MetricsError::MeteorSegmentTooLarge`](crate::MetricsError::MeteorSegmentTooLarge)
/// rather than scored differently from the jar. Reports of ordinary prose stay far below
/// it: a 60 KB report of distinct-ish words has a few hundred thousand.
pub const MAX_CANDIDATE_MATCHES: usize = 1 << 22;

/// An alignment refused because it exceeds [`MAX_CANDIDATE_MATCHES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyMatches {
    /// Hypothesis words.
    pub hyp_words: usize,
    /// Reference words.
    pub ref_words: usize,
}

/// Stage weights used only to rank partial alignments during the search.
const SEARCH_WEIGHTS: [f64; STAGES] = [1.0, 0.5, 0.5, 0.5];

/// Stage index of each matcher.
pub(super) const EXACT: u8 = 0;
pub(super) const STEM: u8 = 1;
pub(super) const SYNONYM: u8 = 2;
pub(super) const PARAPHRASE: u8 = 3;

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
    /// Paraphrase-table key of the word.
    pub para: u64,
    /// Whether it is a function word.
    pub function: bool,
}

impl WordInfo {
    /// Computes a word's matcher data (`stemmer`: Snowball English).
    pub fn new(word: &str, m: &Matchers<'_>, stemmer: &Stemmer) -> Self {
        Self {
            key: java_hash(word),
            stem: java_hash(&stemmer.stem(word)),
            synsets: m.synonyms.map(|d| d.lookup(word)).unwrap_or_default(),
            para: m.paraphrases.map_or(0, |t| t.translate(word)),
            function: is_function_word(m, word),
        }
    }
}

/// The Snowball English stemmer the stem stage uses.
pub fn english_stemmer() -> Stemmer {
    Stemmer::create(Algorithm::English)
}

/// Used-word bits of the paths of one beam, `stride` 64-bit words per path: bits
/// `0..n1` for line 1, `n1..n1 + n2` for line 2. One flat buffer per beam instead of a
/// bitset per path keeps building a beam to copying a few words per path.
#[derive(Default)]
struct BeamBits {
    stride: usize,
    words: Vec<u64>,
}

impl BeamBits {
    fn new(n_words: usize) -> Self {
        Self {
            stride: n_words.div_ceil(64),
            words: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.words.clear();
    }

    /// Path `p`'s bits.
    #[inline]
    fn row(&self, p: usize) -> &[u64] {
        &self.words[p * self.stride..(p + 1) * self.stride]
    }

    /// Appends a copy of `row` as the next path's bits and returns them.
    #[inline]
    fn push(&mut self, row: &[u64]) -> &mut [u64] {
        let at = self.words.len();
        self.words.extend_from_slice(row);
        &mut self.words[at..]
    }
}

#[inline]
fn get_bit(row: &[u64], i: usize) -> bool {
    row[i / 64] >> (i % 64) & 1 == 1
}

#[inline]
fn set_bit(row: &mut [u64], i: usize) {
    row[i / 64] |= 1 << (i % 64);
}

/// Whether a path with used-word bits `row` has used any word of `m`.
fn is_used(row: &[u64], m: &Match, n1: usize) -> bool {
    (0..m.len).any(|k| get_bit(row, n1 + m.start + k))
        || (0..m.match_len).any(|k| get_bit(row, m.match_start + k))
}

/// Marks the words of `m` used in `row`.
fn set_used(row: &mut [u64], m: &Match, n1: usize) {
    for k in 0..m.len {
        set_bit(row, n1 + m.start + k);
    }
    for k in 0..m.match_len {
        set_bit(row, m.match_start + k);
    }
}

/// No chosen match yet (end of a path's match list), or no match added by a [`Candidate`].
const NIL: u32 = u32::MAX;

/// What ranks a path: its totals.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    matches1: i32,
    matches2: i32,
    chunks: i32,
    distance: i32,
    /// Next reference word the path has not decided yet.
    idx: usize,
    last_match_end: i64,
}

/// A path of the beam search. The reference keeps a full match array per
/// path; here a path keeps the head of its chosen matches (a list in an
/// arena shared by the search) and, in its beam's [`BeamBits`], a bitset of
/// used words, since it only ever reads the certain matches fixed before the
/// search (see [`Search`]).
#[derive(Clone, Copy)]
struct Partial {
    /// Last chosen match in the arena, or [`NIL`].
    chosen: u32,
    totals: Totals,
}

/// A path of the next beam before it is built: its parent in the current beam, the match
/// it chooses (an index into the current word's candidate matches, or [`NIL`]) and its
/// totals. Most extensions fall out of the beam; ranking these small records and building
/// only the survivors saves copying every extension's used-word bits.
#[derive(Clone, Copy)]
struct Candidate {
    parent: u32,
    choice: u32,
    totals: Totals,
}

/// What all paths of one search share.
struct Search<'s> {
    stage: &'s Stage,
    /// Certain one-to-one matches, by reference start (fixed before the search).
    fixed: Vec<Option<Match>>,
    n1: usize,
}

impl Totals {
    /// Adds a match's totals; the weighted totals are `int += double` in the
    /// reference, i.e. truncated after each addition.
    fn count(&mut self, m: &Match) {
        self.matches1 += weighted(m.match_len, m.module);
        self.matches2 += weighted(m.len, m.module);
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

/// What `total += len * SEARCH_WEIGHTS[module]` adds to a non-negative integer total
/// (Java's `int += double`, truncating): the weights are 1 and ½, so that is `len` or
/// ⌊len / 2⌋, without the round trip through floating point.
#[inline]
fn weighted(len: usize, module: u8) -> i32 {
    debug_assert!(SEARCH_WEIGHTS[module as usize] == if module == EXACT { 1.0 } else { 0.5 });
    let len = len as i32;
    if module == EXACT { len } else { len / 2 }
}

fn distance(m: &Match) -> i32 {
    (m.start as i32 - m.match_start as i32).abs()
}

/// Sorts the `k` smallest keys to the front and returns how many there are: the same
/// prefix a full sort gives (the keys are distinct), without ordering the rest.
fn smallest_sorted(keys: &mut [u128], k: usize) -> usize {
    if keys.len() > k {
        keys.select_nth_unstable(k);
        keys[..k].sort_unstable();
        k
    } else {
        keys.sort_unstable();
        keys.len()
    }
}

/// One beam: its paths and their used-word bits.
struct Beam {
    paths: Vec<Partial>,
    bits: BeamBits,
}

impl Search<'_> {
    /// The empty path (certain matches' words used) as the only path of a beam.
    fn start(&self) -> Beam {
        let mut bits = BeamBits::new(self.n1 + self.fixed.len());
        let row = bits.push(&vec![0; bits.stride]);
        for m in self.fixed.iter().flatten() {
            set_used(row, m, self.n1);
        }
        let path = Partial {
            chosen: NIL,
            totals: Totals {
                last_match_end: -1,
                ..Totals::default()
            },
        };
        Beam {
            paths: vec![path],
            bits,
        }
    }

    /// Appends candidate `c` to `to`, built from its parent in `from`; `current` is the
    /// word whose matches `c` chose from.
    fn build(
        &self,
        c: &Candidate,
        from: &Beam,
        to: &mut Beam,
        current: usize,
        arena: &mut Vec<(Match, u32)>,
    ) {
        let parent = from.paths[c.parent as usize];
        let row = to.bits.push(from.bits.row(c.parent as usize));
        let mut chosen = parent.chosen;
        if c.choice != NIL {
            let m = self.stage.matches[current][c.choice as usize];
            set_used(row, &m, self.n1);
            arena.push((m, parent.chosen));
            chosen = (arena.len() - 1) as u32;
        }
        to.paths.push(Partial {
            chosen,
            totals: c.totals,
        });
    }

    /// Runs the beam search; returns the best path and the arena of chosen matches.
    ///
    /// Each step ranks the extensions of the current beam ([`Candidate`]s, in the order the
    /// reference appends them to its next beam) and builds the best [`BEAM_SIZE`] of them,
    /// which is the beam the reference keeps after sorting its full list of extensions.
    fn resolve(&self) -> (Partial, Vec<(Match, u32)>) {
        let s = self.stage;
        let n1 = self.n1;
        let n = s.matches.len();
        let mut arena: Vec<(Match, u32)> = Vec::new();
        let mut beam = self.start();
        let empty = beam.paths[0];
        let mut cands = vec![Candidate {
            parent: 0,
            choice: NIL,
            totals: empty.totals,
        }];
        // The candidates of step `current` extend the beam of step `current - 1`.
        let mut built = Beam {
            paths: Vec::with_capacity(BEAM_SIZE),
            bits: BeamBits::new(n1 + n),
        };
        let mut order: Vec<u128> = Vec::new();
        for current in 0..=n {
            // Stable, as Java's Collections.sort (see `sort_key`).
            order.clear();
            order.extend(cands.iter().enumerate().map(|(i, c)| c.totals.sort_key(i)));
            let kept = smallest_sorted(&mut order, BEAM_SIZE);
            // The word whose matches the candidates chose from (none chose before word 0).
            let step = current.saturating_sub(1);
            if current == n {
                // The last reference word closes every path's open chunk; the best is the
                // first under a stable sort by rank.
                let best = order[..kept]
                    .iter()
                    .map(|&key| {
                        let c = &cands[key as u32 as usize];
                        let mut t = c.totals;
                        if t.last_match_end != -1 {
                            t.chunks += 1;
                        }
                        (t, c)
                    })
                    .enumerate()
                    .min_by_key(|(k, (t, _))| (t.rank(), *k));
                let best = match best {
                    Some((_, (totals, c))) => {
                        built.paths.clear();
                        built.bits.clear();
                        self.build(c, &beam, &mut built, step, &mut arena);
                        Partial {
                            chosen: built.paths[0].chosen,
                            totals,
                        }
                    }
                    None => empty,
                };
                return (best, arena);
            }
            built.paths.clear();
            built.bits.clear();
            for &key in &order[..kept] {
                let c = &cands[key as u32 as usize];
                self.build(c, &beam, &mut built, step, &mut arena);
            }
            std::mem::swap(&mut beam, &mut built);
            cands.clear();
            let mut fallback = None;
            for (rank, path) in beam.paths.iter().enumerate() {
                let parent = rank as u32;
                let row = beam.bits.row(rank);
                let mut t = path.totals;
                if get_bit(row, n1 + current) {
                    if current < t.idx {
                        cands.push(Candidate {
                            parent,
                            choice: NIL,
                            totals: t,
                        });
                    } else if let Some(m) = self.fixed.get(t.idx).copied().flatten() {
                        // Only certain matches start at or after the current word.
                        t.count(&m);
                        t.distance += distance(&m);
                        cands.push(Candidate {
                            parent,
                            choice: NIL,
                            totals: t,
                        });
                    } else if rank == 0 {
                        fallback = Some(parent);
                    }
                    continue;
                }
                for (k, m) in s.matches[current].iter().enumerate() {
                    if is_used(row, m, n1) {
                        continue;
                    }
                    let mut nt = t;
                    nt.count(m);
                    cands.push(Candidate {
                        parent,
                        choice: k as u32,
                        totals: nt,
                    });
                    // The reference charges this distance to the skipping path.
                    t.distance += distance(m);
                }
                if t.last_match_end != -1 {
                    t.chunks += 1;
                    t.last_match_end = -1;
                }
                t.idx += 1;
                cands.push(Candidate {
                    parent,
                    choice: NIL,
                    totals: t,
                });
            }
            if cands.is_empty()
                && let Some(parent) = fallback
            {
                tracing::warn!("METEOR search: no path could continue; keeping the best one");
                cands.push(Candidate {
                    parent,
                    choice: NIL,
                    totals: beam.paths[parent as usize].totals,
                });
            }
        }
        unreachable!("the search returns at the last reference word")
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
///
/// # Errors
/// [`TooManyMatches`] when the pair has more than [`MAX_CANDIDATE_MATCHES`] candidates.
pub fn align(
    words1: &[String],
    words2: &[String],
    m: &Matchers<'_>,
) -> Result<MeteorStats, TooManyMatches> {
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
///
/// # Errors
/// [`TooManyMatches`] when the pair has more than [`MAX_CANDIDATE_MATCHES`] candidates.
pub fn align_words(
    words1: &[&WordInfo],
    words2: &[&WordInfo],
    m: &Matchers<'_>,
) -> Result<MeteorStats, TooManyMatches> {
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
    if s.overflow {
        return Err(TooManyMatches {
            hyp_words: words1.len(),
            ref_words: words2.len(),
        });
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
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_search_weights_truncate_as_int_plus_double() {
        for module in [EXACT, STEM, SYNONYM, PARAPHRASE] {
            let w = SEARCH_WEIGHTS[module as usize];
            for total in 0..50i32 {
                for len in 0..20usize {
                    let reference = (f64::from(total) + len as f64 * w) as i32;
                    assert_eq!(total + weighted(len, module), reference);
                }
            }
        }
    }

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
        )
        .unwrap();
        assert_eq!(st.test_content_matches, [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(st.test_function_matches, [2.0, 0.0, 0.0, 0.0]);
        assert_eq!(st.chunks, 1.0);
        let st = align(
            &words("small is the nodule"),
            &words("the nodule is small"),
            &m,
        )
        .unwrap();
        assert_eq!(st.test_word_matches, 4.0);
        assert_eq!(st.chunks, 3.0);
    }

    #[test]
    fn candidate_matches_are_bounded() {
        let fw = FxSet::default();
        let m = Matchers {
            function_words: &fw,
            synonyms: None,
            paraphrases: None,
        };
        // One word repeated: every pair of positions is an exact candidate (n² of them).
        let n = 2100; // n² > MAX_CANDIDATE_MATCHES
        let a = vec!["x".to_string(); n];
        let mut b = a.clone();
        b.push("y".into());
        assert_eq!(
            align(&a, &b, &m),
            Err(TooManyMatches {
                hyp_words: n,
                ref_words: n + 1
            })
        );
        let small = align(&a[..10], &b[..11], &m).unwrap();
        assert_eq!(small.test_word_matches, 10.0);
    }
}
