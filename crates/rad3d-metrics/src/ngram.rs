//! Token interning and n-gram counting shared by the n-gram metrics.

use crate::hash::FxMap;

/// Highest n-gram order any metric here uses.
pub(crate) const MAX_N: usize = 4;

/// An n-gram of interned tokens; unused trailing slots hold [`PAD`].
pub(crate) type NGram = [u32; MAX_N];

/// Filler for the unused slots of n-grams shorter than [`MAX_N`].
pub(crate) const PAD: u32 = u32::MAX;

/// Maps token strings to dense ids.
#[derive(Default, Debug, Clone)]
pub(crate) struct Vocab {
    ids: FxMap<String, u32>,
}

impl Vocab {
    /// The id of `token`, assigning the next free one on first sight.
    pub(crate) fn id(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = u32::try_from(self.ids.len()).expect("fewer than 2^32 distinct tokens");
        self.ids.insert(token.to_string(), id);
        id
    }

    /// Ids of a token sequence.
    pub(crate) fn ids<'a>(&mut self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
        tokens.into_iter().map(|t| self.id(t)).collect()
    }
}

/// The order (1-based length) of an n-gram.
pub(crate) fn order(g: &NGram) -> usize {
    g.iter().take_while(|&&t| t != PAD).count()
}

/// Counts of all n-grams of orders `1..=max_n` in `ids`.
pub(crate) fn ngram_counts(ids: &[u32], max_n: usize) -> FxMap<NGram, u32> {
    // Sized up front: growing the table was the larger part of counting.
    let mut counts = FxMap::with_capacity_and_hasher(ids.len() * max_n, Default::default());
    for n in 1..=max_n {
        for w in ids.windows(n) {
            let mut g = [PAD; MAX_N];
            g[..n].copy_from_slice(w);
            *counts.entry(g).or_insert(0) += 1;
        }
    }
    counts
}

/// Reusable buffers of [`clipped_matches`].
#[derive(Default, Debug, Clone)]
pub(crate) struct ClipScratch {
    hyp: Vec<u128>,
    gram: Vec<u128>,
    refs: Vec<(u128, u32)>,
}

/// The order-`n` n-grams of `ids`, each packed into one integer, sorted.
fn sorted_grams(ids: &[u32], n: usize, out: &mut Vec<u128>) {
    out.clear();
    out.extend(
        ids.windows(n)
            .map(|w| w.iter().fold(0u128, |k, &t| (k << 32) | u128::from(t))),
    );
    out.sort_unstable();
}

/// Run-length counts of a sorted list.
fn runs(sorted: &[u128]) -> impl Iterator<Item = (u128, u32)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let g = *sorted.get(i)?;
        let start = i;
        while i < sorted.len() && sorted[i] == g {
            i += 1;
        }
        Some((g, (i - start) as u32))
    })
}

/// BLEU's clipped n-gram matches of order `1..=MAX_N`: for each order, the sum over the
/// hypothesis' distinct n-grams of `min(count in hyp, max count in any reference)`.
///
/// Sorting packed n-grams and merging the sorted lists replaces per-sample hash maps
/// (their allocation and growth were most of the counting time).
pub(crate) fn clipped_matches(
    hyp: &[u32],
    refs: &[Vec<u32>],
    scratch: &mut ClipScratch,
) -> [u32; MAX_N] {
    let mut correct = [0u32; MAX_N];
    for (k, slot) in correct.iter_mut().enumerate() {
        let n = k + 1;
        if hyp.len() < n {
            break;
        }
        // Max count of every reference n-gram over the references.
        scratch.refs.clear();
        for r in refs {
            sorted_grams(r, n, &mut scratch.gram);
            scratch.refs.extend(runs(&scratch.gram));
        }
        if refs.len() > 1 {
            scratch.refs.sort_unstable();
            // Sorted by (gram, count): the last of each gram holds its maximum.
            scratch.refs.reverse();
            scratch.refs.dedup_by_key(|e| e.0);
            scratch.refs.reverse();
        }
        sorted_grams(hyp, n, &mut scratch.hyp);
        let mut j = 0;
        let r = &scratch.refs;
        for (g, c) in runs(&scratch.hyp) {
            while j < r.len() && r[j].0 < g {
                j += 1;
            }
            if j < r.len() && r[j].0 == g {
                *slot += c.min(r[j].1);
            }
        }
    }
    correct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_matches_equal_the_hash_map_count() {
        let mut v = Vocab::default();
        let hyp = v.ids("the cat the cat sat on the mat mat".split(' '));
        let refs = vec![
            v.ids("the cat sat on the mat".split(' ')),
            v.ids("a cat the cat the mat mat".split(' ')),
        ];
        let mut want = [0u32; MAX_N];
        let mut maxc: FxMap<NGram, u32> = FxMap::default();
        for r in &refs {
            for (g, c) in ngram_counts(r, MAX_N) {
                let m = maxc.entry(g).or_insert(0);
                *m = c.max(*m);
            }
        }
        for (g, c) in ngram_counts(&hyp, MAX_N) {
            want[order(&g) - 1] += c.min(maxc.get(&g).copied().unwrap_or(0));
        }
        let mut scratch = ClipScratch::default();
        assert_eq!(clipped_matches(&hyp, &refs, &mut scratch), want);
        assert_eq!(clipped_matches(&hyp, &refs[..1], &mut scratch)[0], 6);
        assert_eq!(clipped_matches(&[], &refs, &mut scratch), [0; MAX_N]);
    }

    #[test]
    fn counts_all_orders() {
        let mut v = Vocab::default();
        let ids = v.ids(["a", "b", "a", "b"]);
        let c = ngram_counts(&ids, 4);
        assert_eq!(c[&[0, PAD, PAD, PAD]], 2);
        assert_eq!(c[&[0, 1, PAD, PAD]], 2);
        assert_eq!(c[&[1, 0, PAD, PAD]], 1);
        assert_eq!(c[&[0, 1, 0, 1]], 1);
        assert_eq!(c.len(), 2 + 2 + 2 + 1);
        assert_eq!(order(&[3, 4, PAD, PAD]), 2);
    }
}
