//! Token interning and n-gram counting shared by the n-gram metrics.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Highest n-gram order any metric here uses.
pub(crate) const MAX_N: usize = 4;

/// An n-gram of interned tokens; unused trailing slots hold [`PAD`].
pub(crate) type NGram = [u32; MAX_N];

/// Filler for the unused slots of n-grams shorter than [`MAX_N`].
pub(crate) const PAD: u32 = u32::MAX;

/// A small multiplicative hasher: keys are interned integers, so SipHash's DoS resistance
/// buys nothing and costs most of the counting time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Maps token strings to dense ids.
#[derive(Default, Debug, Clone)]
pub(crate) struct Vocab {
    ids: HashMap<String, u32>,
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
pub(crate) fn ngram_counts(ids: &[u32], max_n: usize) -> FastMap<NGram, u32> {
    let mut counts = FastMap::default();
    for n in 1..=max_n {
        for w in ids.windows(n) {
            let mut g = [PAD; MAX_N];
            g[..n].copy_from_slice(w);
            *counts.entry(g).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

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
