//! Longest common subsequence, shared by the ROUGE-L variants.

/// Length of the longest common subsequence of `a` and `b`, in O(|a|·|b|) time and
/// O(min) memory.
pub(crate) fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut row = vec![0usize; short.len() + 1];
    for x in long {
        let mut diag = 0;
        for (j, y) in short.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[short.len()]
}

/// Most table cells [`lcs_indices`] holds at once (4 MiB of `u32`): below it the whole
/// table is built, as rouge-score does; above it memory stays linear in the shorter
/// side (see [`trace`]).
const BLOCK_CELLS: usize = 1 << 20;

/// Indices into `r` of one LCS, read back exactly as rouge-score's `_backtrack_norec`
/// does (its tie-breaking decides *which* LCS, which matters for ROUGE-Lsum).
///
/// rouge-score builds the full `(|r|+1) × (|c|+1)` table, which for a one-sentence
/// report of 30,000 tokens is 900 million cells; this walks the same path holding at
/// most [`BLOCK_CELLS`] cells plus one row per halving of `r`.
pub(crate) fn lcs_indices<T: PartialEq>(r: &[T], c: &[T]) -> Vec<usize> {
    lcs_indices_within(r, c, BLOCK_CELLS)
}

fn lcs_indices_within<T: PartialEq>(r: &[T], c: &[T], block_cells: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let first = vec![0u32; c.len() + 1];
    trace(r, c, &first, 0, r.len(), c.len(), block_cells, &mut out);
    out.reverse();
    out
}

/// Fills `next` with table row `i + 1` from row `i` (`prev`).
fn next_row<T: PartialEq>(x: &T, c: &[T], prev: &[u32], next: &mut [u32]) {
    next[0] = 0;
    for (j, y) in c.iter().enumerate() {
        next[j + 1] = if x == y {
            prev[j] + 1
        } else {
            prev[j + 1].max(next[j])
        };
    }
}

/// Walks rouge-score's backtrack from `(hi, j)` up to row `lo`, pushing the indices of
/// matched `r` words (descending) and returning the column at which the walk reaches
/// row `lo` (or stops at column 0). `row_lo` is table row `lo`.
///
/// Which way the walk goes at `(i, j)` depends only on rows `i - 1` and `i`, so rows
/// `lo..=hi` are built whole when they fit in `block_cells`; otherwise the walk is split
/// at a middle row computed forward from `row_lo`: the lower half first (the walk starts
/// at the bottom), then the upper half from the column where it crossed.
#[allow(clippy::too_many_arguments)]
fn trace<T: PartialEq>(
    r: &[T],
    c: &[T],
    row_lo: &[u32],
    lo: usize,
    hi: usize,
    j: usize,
    block_cells: usize,
    out: &mut Vec<usize>,
) -> usize {
    let cols = c.len() + 1;
    if (hi - lo + 1).saturating_mul(cols) <= block_cells || hi - lo <= 1 {
        let mut t = vec![0u32; (hi - lo + 1) * cols];
        t[..cols].copy_from_slice(row_lo);
        for i in lo..hi {
            let (done, rest) = t.split_at_mut((i - lo + 1) * cols);
            next_row(&r[i], c, &done[(i - lo) * cols..], &mut rest[..cols]);
        }
        let at = |i: usize, j: usize| t[(i - lo) * cols + j];
        let (mut i, mut j) = (hi, j);
        while i > lo && j > 0 {
            if r[i - 1] == c[j - 1] {
                out.push(i - 1);
                i -= 1;
                j -= 1;
            } else if at(i, j - 1) > at(i - 1, j) {
                j -= 1;
            } else {
                i -= 1;
            }
        }
        return j;
    }
    let mid = lo + (hi - lo) / 2;
    let mut row = row_lo.to_vec();
    let mut spare = vec![0u32; cols];
    for x in &r[lo..mid] {
        next_row(x, c, &row, &mut spare);
        std::mem::swap(&mut row, &mut spare);
    }
    drop(spare);
    let j = trace(r, c, &row, mid, hi, j, block_cells, out);
    if j == 0 {
        return 0;
    }
    drop(row);
    trace(r, c, row_lo, lo, mid, j, block_cells, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_examples() {
        let a: Vec<char> = "ABCBDAB".chars().collect();
        let b: Vec<char> = "BDCABA".chars().collect();
        assert_eq!(lcs_len(&a, &b), 4);
        assert_eq!(lcs_len(&b, &a), 4);
        assert_eq!(lcs_len::<char>(&[], &b), 0);
        let idx = lcs_indices(&a, &b);
        assert_eq!(idx.len(), 4);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
    }

    /// rouge-score's `_lcs_table` + `_backtrack_norec`, with the full table.
    fn full_table_indices(r: &[u8], c: &[u8]) -> Vec<usize> {
        let cols = c.len() + 1;
        let mut t = vec![0usize; (r.len() + 1) * cols];
        for i in 1..=r.len() {
            for j in 1..=c.len() {
                t[i * cols + j] = if r[i - 1] == c[j - 1] {
                    t[(i - 1) * cols + j - 1] + 1
                } else {
                    t[(i - 1) * cols + j].max(t[i * cols + j - 1])
                };
            }
        }
        let (mut i, mut j) = (r.len(), c.len());
        let mut out = Vec::new();
        while i > 0 && j > 0 {
            if r[i - 1] == c[j - 1] {
                out.push(i - 1);
                i -= 1;
                j -= 1;
            } else if t[i * cols + j - 1] > t[(i - 1) * cols + j] {
                j -= 1;
            } else {
                i -= 1;
            }
        }
        out.reverse();
        out
    }

    proptest::proptest! {
        /// The split walk picks the same LCS as the full table, whatever the block size.
        #[test]
        fn split_backtrack_equals_full_table(
            r in proptest::collection::vec(0u8..4, 0..60),
            c in proptest::collection::vec(0u8..4, 0..60),
            block in 1usize..200,
        ) {
            let want = full_table_indices(&r, &c);
            proptest::prop_assert_eq!(lcs_indices_within(&r, &c, block), want.clone());
            proptest::prop_assert_eq!(lcs_indices(&r, &c), want.clone());
            proptest::prop_assert_eq!(want.len(), lcs_len(&r, &c));
        }
    }
}
