//! Score processors applied to one row of next-token scores on the host, each with the
//! semantics of its HF `LogitsProcessor` namesake.

use rand::Rng;

/// `RepetitionPenaltyLogitsProcessor`: every token already in `ids` has its score divided
/// by `penalty` when positive and multiplied when negative (once per distinct token).
pub(crate) fn repetition_penalty(scores: &mut [f32], ids: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for &id in ids {
        let i = id as usize;
        if i < scores.len() && seen.insert(id) {
            let s = scores[i];
            scores[i] = if s < 0.0 { s * penalty } else { s / penalty };
        }
    }
}

/// `NoRepeatNGramLogitsProcessor`: bans every token that would complete an n-gram
/// already present in `ids`.
pub(crate) fn no_repeat_ngram(scores: &mut [f32], ids: &[u32], n: usize) {
    if n == 0 || ids.len() + 1 < n {
        return;
    }
    let tail = &ids[ids.len() + 1 - n..];
    for w in ids.windows(n) {
        if &w[..n - 1] == tail {
            let banned = w[n - 1] as usize;
            if banned < scores.len() {
                scores[banned] = f32::NEG_INFINITY;
            }
        }
    }
}

/// Sets the scores of `tokens` to −∞ (`MinNewTokensLengthLogitsProcessor` on eos).
pub(crate) fn suppress(scores: &mut [f32], tokens: &[u32]) {
    for &t in tokens {
        if let Some(s) = scores.get_mut(t as usize) {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// `TemperatureLogitsWarper`.
pub(crate) fn temperature(scores: &mut [f32], t: f32) {
    if t != 1.0 {
        scores.iter_mut().for_each(|s| *s /= t);
    }
}

/// `TopKLogitsWarper`: keeps scores ≥ the k-th largest (ties kept).
pub(crate) fn top_k(scores: &mut [f32], k: usize) {
    if k == 0 || k >= scores.len() {
        return;
    }
    let mut sorted: Vec<f32> = scores.to_vec();
    sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    scores
        .iter_mut()
        .filter(|s| **s < kth)
        .for_each(|s| *s = f32::NEG_INFINITY);
}

/// `TopPLogitsWarper`: sorted ascending, drops tokens whose cumulative probability is
/// ≤ 1 − p; the most likely token always stays.
pub(crate) fn top_p(scores: &mut [f32], p: f32) {
    if p >= 1.0 {
        return;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let probs = softmax(scores);
    let mut cum = 0.0f32;
    let last = order.len() - 1;
    for (rank, &i) in order.iter().enumerate() {
        cum += probs[i];
        if cum <= 1.0 - p && rank < last {
            scores[i] = f32::NEG_INFINITY;
        }
    }
}

/// Softmax of one row (max-subtracted).
pub(crate) fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|&s| (s - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Log-softmax of one row, in place.
pub(crate) fn log_softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max + scores.iter().map(|&s| (s - max).exp()).sum::<f32>().ln();
    scores.iter_mut().for_each(|s| *s -= lse);
}

/// Index of the largest score (the first on ties, like `torch.argmax`).
pub(crate) fn argmax(scores: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best as u32
}

/// Draws a token from the softmax of `scores`.
pub(crate) fn sample(scores: &[f32], rng: &mut impl Rng) -> u32 {
    let probs = softmax(scores);
    let u: f32 = rng.random::<f32>();
    let mut cum = 0.0;
    for (i, &p) in probs.iter().enumerate() {
        cum += p;
        if u < cum {
            return i as u32;
        }
    }
    // Rounding left `u` above the total: take the most likely token.
    argmax(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn repetition_penalty_matches_hf() {
        let mut s = vec![2.0, -2.0, 1.0];
        repetition_penalty(&mut s, &[0, 1, 1], 2.0);
        assert_eq!(s, vec![1.0, -4.0, 1.0]);
    }

    #[test]
    fn ngram_ban() {
        let mut s = vec![0.0; 5];
        // bigram (1, 2) seen; sequence ends with 1 → 2 banned.
        no_repeat_ngram(&mut s, &[1, 2, 3, 1], 2);
        assert_eq!(s[2], f32::NEG_INFINITY);
        assert_eq!(s.iter().filter(|v| v.is_infinite()).count(), 1);
        let mut s = vec![0.0; 5];
        no_repeat_ngram(&mut s, &[1], 3);
        assert!(s.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn top_k_and_top_p() {
        let mut s = vec![1.0, 3.0, 2.0, 3.0];
        top_k(&mut s, 2);
        assert_eq!(s, vec![f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY, 3.0]);
        // probs ≈ [0.643, 0.237, 0.087, 0.032]: top_p 0.7 keeps the two largest.
        let mut s = vec![3.0, 2.0, 1.0, 0.0];
        top_p(&mut s, 0.7);
        assert_eq!(s, vec![3.0, 2.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
        let mut s = vec![3.0, 2.0, 1.0, 0.0];
        top_p(&mut s, 0.01);
        assert_eq!(s.iter().filter(|v| v.is_finite()).count(), 1);
    }

    #[test]
    fn sampling_is_seeded_and_follows_probabilities() {
        let scores = vec![0.0, (3.0f32).ln(), f32::NEG_INFINITY];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let draws: Vec<u32> = (0..4000).map(|_| sample(&scores, &mut rng)).collect();
        let ones = draws.iter().filter(|&&t| t == 1).count() as f32 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "{ones}");
        assert!(!draws.contains(&2));
        let mut rng2 = rand::rngs::StdRng::seed_from_u64(7);
        let again: Vec<u32> = (0..4000).map(|_| sample(&scores, &mut rng2)).collect();
        assert_eq!(draws, again);
    }

    #[test]
    fn log_softmax_normalises() {
        let mut s = vec![1.0, 2.0, 3.0];
        log_softmax(&mut s);
        let total: f32 = s.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&s), 2);
    }
}
