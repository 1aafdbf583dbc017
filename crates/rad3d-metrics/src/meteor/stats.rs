//! METEOR sufficient statistics, their aggregation and the score formula.
//!
//! The statistics are those the jar prints for a `SCORE` line (23 numbers);
//! a corpus score is computed from their sum, exactly as an `EVAL` line is,
//! so a bootstrap can re-aggregate any resample.

use std::ops::AddAssign;

/// Number of matcher stages (exact, stem, synonym, paraphrase).
pub const STAGES: usize = 4;

/// METEOR 1.5's English (`-l en`, task `rank`) parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteorParams {
    /// Weight of recall against precision in the harmonic mean.
    pub alpha: f64,
    /// Exponent of the fragmentation penalty.
    pub beta: f64,
    /// Maximum fragmentation penalty.
    pub gamma: f64,
    /// Weight of content words against function words.
    pub delta: f64,
    /// Per-stage match weights (exact, stem, synonym, paraphrase).
    pub module_weights: [f64; STAGES],
}

impl MeteorParams {
    /// The parameters `-l en` selects: α 0.85, β 0.2, γ 0.6, δ 0.75, weights 1 0.6 0.8 0.6.
    pub const fn english() -> Self {
        Self {
            alpha: 0.85,
            beta: 0.20,
            gamma: 0.60,
            delta: 0.75,
            module_weights: [1.0, 0.6, 0.8, 0.6],
        }
    }
}

impl Default for MeteorParams {
    fn default() -> Self {
        Self::english()
    }
}

/// Summable METEOR statistics of one segment or of a set of segments.
///
/// "test" is the hypothesis, "reference" the chosen reference. Values are
/// word counts stored as `f64`, as in the reference implementation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeteorStats {
    /// Hypothesis length in words.
    pub test_length: f64,
    /// Reference length in words.
    pub reference_length: f64,
    /// Function words in the hypothesis.
    pub test_function_words: f64,
    /// Function words in the reference.
    pub reference_function_words: f64,
    /// Hypothesis content words matched, per stage.
    pub test_content_matches: [f64; STAGES],
    /// Reference content words matched, per stage.
    pub reference_content_matches: [f64; STAGES],
    /// Hypothesis function words matched, per stage.
    pub test_function_matches: [f64; STAGES],
    /// Reference function words matched, per stage.
    pub reference_function_matches: [f64; STAGES],
    /// Chunks (runs of adjacent matches in both strings).
    pub chunks: f64,
    /// Hypothesis words matched (all stages).
    pub test_word_matches: f64,
    /// Reference words matched (all stages).
    pub reference_word_matches: f64,
}

impl MeteorStats {
    fn test_total_matches(&self) -> f64 {
        (0..STAGES).fold(0.0, |acc, i| {
            acc + self.test_content_matches[i] + self.test_function_matches[i]
        })
    }

    fn reference_total_matches(&self) -> f64 {
        (0..STAGES).fold(0.0, |acc, i| {
            acc + self.reference_content_matches[i] + self.reference_function_matches[i]
        })
    }

    /// Whether these statistics describe a perfect match in one chunk (the
    /// jar's special case: no fragmentation, and its chunk is not summed).
    fn is_perfect(&self) -> bool {
        self.test_total_matches() == self.test_length
            && self.reference_total_matches() == self.reference_length
            && self.chunks == 1.0
    }

    /// The 23 numbers of a `SCORE` reply, formatted as the jar prints them.
    pub fn to_jar_string(&self) -> String {
        let mut v = vec![
            self.test_length,
            self.reference_length,
            self.test_function_words,
            self.reference_function_words,
        ];
        for i in 0..STAGES {
            v.extend([
                self.test_content_matches[i],
                self.reference_content_matches[i],
                self.test_function_matches[i],
                self.reference_function_matches[i],
            ]);
        }
        v.extend([
            self.chunks,
            self.test_word_matches,
            self.reference_word_matches,
        ]);
        v.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses the 23 numbers of a `SCORE` reply.
    pub fn from_jar_string(s: &str) -> Option<Self> {
        let v: Vec<f64> = s
            .split_whitespace()
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .ok()?;
        if v.len() != 4 + 4 * STAGES + 3 {
            return None;
        }
        let mut st = Self {
            test_length: v[0],
            reference_length: v[1],
            test_function_words: v[2],
            reference_function_words: v[3],
            ..Self::default()
        };
        for i in 0..STAGES {
            let b = 4 + 4 * i;
            st.test_content_matches[i] = v[b];
            st.reference_content_matches[i] = v[b + 1];
            st.test_function_matches[i] = v[b + 2];
            st.reference_function_matches[i] = v[b + 3];
        }
        st.chunks = v[4 + 4 * STAGES];
        st.test_word_matches = v[5 + 4 * STAGES];
        st.reference_word_matches = v[6 + 4 * STAGES];
        Some(st)
    }
}

impl MeteorStats {
    /// Adds `copies` copies of one segment's statistics (a bootstrap
    /// multiplicity): exactly `copies` times `+= seg`, as counts are integers.
    pub fn add_copies(&mut self, seg: &MeteorStats, copies: u32) {
        if copies == 0 {
            return;
        }
        let c = f64::from(copies);
        self.test_length += c * seg.test_length;
        self.reference_length += c * seg.reference_length;
        self.test_function_words += c * seg.test_function_words;
        self.reference_function_words += c * seg.reference_function_words;
        for i in 0..STAGES {
            self.test_content_matches[i] += c * seg.test_content_matches[i];
            self.reference_content_matches[i] += c * seg.reference_content_matches[i];
            self.test_function_matches[i] += c * seg.test_function_matches[i];
            self.reference_function_matches[i] += c * seg.reference_function_matches[i];
        }
        if !seg.is_perfect() {
            self.chunks += c * seg.chunks;
        }
        self.test_word_matches += c * seg.test_word_matches;
        self.reference_word_matches += c * seg.reference_word_matches;
    }
}

/// Adds one segment's (or one aggregate's) statistics, as `MeteorStats.addStats`:
/// chunks of a perfect one-chunk segment are not counted.
impl AddAssign<&MeteorStats> for MeteorStats {
    fn add_assign(&mut self, ss: &MeteorStats) {
        self.test_length += ss.test_length;
        self.reference_length += ss.reference_length;
        self.test_function_words += ss.test_function_words;
        self.reference_function_words += ss.reference_function_words;
        for i in 0..STAGES {
            self.test_content_matches[i] += ss.test_content_matches[i];
            self.reference_content_matches[i] += ss.reference_content_matches[i];
            self.test_function_matches[i] += ss.test_function_matches[i];
            self.reference_function_matches[i] += ss.reference_function_matches[i];
        }
        if !ss.is_perfect() {
            self.chunks += ss.chunks;
        }
        self.test_word_matches += ss.test_word_matches;
        self.reference_word_matches += ss.reference_word_matches;
    }
}

impl AddAssign for MeteorStats {
    fn add_assign(&mut self, ss: MeteorStats) {
        *self += &ss;
    }
}

impl std::ops::Add for MeteorStats {
    type Output = MeteorStats;
    fn add(mut self, ss: MeteorStats) -> MeteorStats {
        self += &ss;
        self
    }
}

impl<'a> std::iter::Sum<&'a MeteorStats> for MeteorStats {
    fn sum<I: Iterator<Item = &'a MeteorStats>>(iter: I) -> Self {
        let mut acc = MeteorStats::default();
        for s in iter {
            acc += s;
        }
        acc
    }
}

impl std::iter::Sum<MeteorStats> for MeteorStats {
    fn sum<I: Iterator<Item = MeteorStats>>(iter: I) -> Self {
        let mut acc = MeteorStats::default();
        for s in iter {
            acc += &s;
        }
        acc
    }
}

/// Everything `computeMetrics` derives from statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteorScore {
    /// Weighted precision.
    pub precision: f64,
    /// Weighted recall.
    pub recall: f64,
    /// α-weighted harmonic mean of precision and recall.
    pub f_mean: f64,
    /// Fragmentation penalty γ·frag^β.
    pub frag_penalty: f64,
    /// The METEOR score, in [0, 1].
    pub score: f64,
}

/// Computes precision, recall, penalty and score from statistics, with the
/// same floating-point operations in the same order as the jar.
pub fn compute_metrics(stats: &MeteorStats, p: &MeteorParams) -> MeteorScore {
    let delta = p.delta;
    let test_weighted_length = (delta * (stats.test_length - stats.test_function_words))
        + ((1.0 - delta) * stats.test_function_words);
    let reference_weighted_length = (delta
        * (stats.reference_length - stats.reference_function_words))
        + ((1.0 - delta) * stats.reference_function_words);

    let mut test_weighted_matches = 0.0;
    let mut reference_weighted_matches = 0.0;
    for i in 0..STAGES {
        test_weighted_matches += stats.test_content_matches[i] * p.module_weights[i] * delta;
    }
    for i in 0..STAGES {
        reference_weighted_matches +=
            stats.reference_content_matches[i] * p.module_weights[i] * delta;
    }
    for i in 0..STAGES {
        test_weighted_matches +=
            stats.test_function_matches[i] * p.module_weights[i] * (1.0 - delta);
    }
    for i in 0..STAGES {
        reference_weighted_matches +=
            stats.reference_function_matches[i] * p.module_weights[i] * (1.0 - delta);
    }

    let precision = test_weighted_matches / test_weighted_length;
    let recall = reference_weighted_matches / reference_weighted_length;
    let f_mean = 1.0 / (((1.0 - p.alpha) / precision) + (p.alpha / recall));
    let frag = if stats.is_perfect() {
        0.0
    } else {
        stats.chunks / ((stats.test_word_matches + stats.reference_word_matches) / 2.0)
    };
    let frag_penalty = p.gamma * frag.powf(p.beta);
    let score = f_mean * (1.0 - frag_penalty);
    let score = if score.is_nan() { 0.0 } else { score.max(0.0) };
    MeteorScore {
        precision,
        recall,
        f_mean,
        frag_penalty,
        score,
    }
}

/// METEOR score of (summed) statistics with the English parameters.
pub fn score_from_stats(stats: &MeteorStats) -> f64 {
    compute_metrics(stats, &MeteorParams::english()).score
}

#[cfg(test)]
mod tests {
    use super::*;

    // Stats and scores printed by the METEOR 1.5 jar.
    const JAR: &str = "15.0 14.0 4.0 3.0 6.0 6.0 2.0 2.0 1.0 1.0 0.0 0.0 1.0 1.0 0.0 0.0 2.0 2.0 1.0 1.0 3.0 15.0 14.0";

    #[test]
    fn jar_string_round_trip() {
        let s = MeteorStats::from_jar_string(JAR).unwrap();
        assert_eq!(s.to_jar_string(), JAR);
        assert!(MeteorStats::from_jar_string("1 2 3").is_none());
    }

    #[test]
    fn perfect_segments_have_no_penalty_and_no_summed_chunks() {
        let mut s = MeteorStats {
            test_length: 3.0,
            reference_length: 3.0,
            chunks: 1.0,
            test_word_matches: 3.0,
            reference_word_matches: 3.0,
            ..MeteorStats::default()
        };
        s.test_content_matches[0] = 3.0;
        s.reference_content_matches[0] = 3.0;
        assert_eq!(score_from_stats(&s), 1.0);
        let sum: MeteorStats = [s, s].iter().sum();
        assert_eq!(sum.chunks, 0.0);
        let mut twice = MeteorStats::default();
        twice.add_copies(&s, 2);
        assert_eq!(twice, sum);
        assert_eq!(score_from_stats(&sum), 1.0);
        assert_eq!(score_from_stats(&MeteorStats::default()), 0.0);
    }
}
