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

/// The full LCS table of rouge-score's `_lcs_table(ref, can)`: `(|ref|+1) × (|can|+1)`,
/// row-major.
pub(crate) fn lcs_table<T: PartialEq>(r: &[T], c: &[T]) -> Vec<usize> {
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
    t
}

/// Indices into `r` of one LCS, read back exactly as rouge-score's `_backtrack_norec`
/// does (its tie-breaking decides *which* LCS, which matters for ROUGE-Lsum).
pub(crate) fn lcs_indices<T: PartialEq>(r: &[T], c: &[T]) -> Vec<usize> {
    let t = lcs_table(r, c);
    let cols = c.len() + 1;
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
}
