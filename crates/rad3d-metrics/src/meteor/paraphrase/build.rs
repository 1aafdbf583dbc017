//! The streaming parser of the paraphrase text file: lines in, a [`Parsed`] table out.

use super::{Parsed, bytes_hash, extend_key};
use crate::error::{MetricsError, Result};

/// Incremental parser state.
#[derive(Default)]
pub(super) struct Builder {
    table: Parsed,
    /// 0: probability line next, 1: reference, 2: paraphrase.
    phase: u8,
    reference_key: u64,
    reference_len: usize,
    /// Keys of the current reference phrase's proper prefixes.
    reference_prefixes: Vec<u64>,
    line_no: u64,
    /// The reference phrase whose entries are being collected, and its first entry.
    open_group: Option<(u64, u32)>,
}

/// `StringTokenizer`'s delimiters other than the line break.
#[inline]
fn is_delim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0c')
}

/// Calls `f` with the hash of every token of the line starting at
/// `block[pos]` and returns where the line ends (its `\n`, or the block end):
/// one pass over the bytes for both line and token boundaries.
#[inline]
fn scan_line(block: &[u8], mut pos: usize, mut f: impl FnMut(u64)) -> usize {
    let n = block.len();
    loop {
        while pos < n && is_delim(block[pos]) {
            pos += 1;
        }
        if pos >= n || block[pos] == b'\n' {
            return pos;
        }
        let start = pos;
        while pos < n && block[pos] != b'\n' && !is_delim(block[pos]) {
            pos += 1;
        }
        f(bytes_hash(&block[start..pos]));
    }
}

/// Position of the next `\n` at or after `pos`, eight bytes at a time.
#[inline]
fn find_newline(block: &[u8], mut pos: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    while pos + 8 <= block.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&block[pos..pos + 8]);
        let x = u64::from_le_bytes(w) ^ NL;
        // Classic "has zero byte" test: exact for the lowest zero byte.
        let z = x.wrapping_sub(LO) & !x & HI;
        if z != 0 {
            return Some(pos + (z.trailing_zeros() / 8) as usize);
        }
        pos += 8;
    }
    block[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| pos + i)
}

impl Builder {
    pub(super) fn feed(&mut self, block: &[u8]) -> Result<()> {
        if self.table.offsets.is_empty() {
            self.table.offsets.push(0);
        }
        let mut pos = 0;
        while pos < block.len() {
            let end = match self.phase {
                // The probability line is not used.
                0 => {
                    self.phase = 1;
                    find_newline(block, pos).unwrap_or(block.len())
                }
                1 => {
                    let mut key = 0;
                    let mut len = 0;
                    let prefixes = &mut self.reference_prefixes;
                    prefixes.clear();
                    let end = scan_line(block, pos, |w| {
                        if len > 0 {
                            prefixes.push(key);
                        }
                        key = extend_key(key, w);
                        len += 1;
                    });
                    self.reference_key = key;
                    self.reference_len = len;
                    self.phase = 2;
                    end
                }
                _ => {
                    let words = &mut self.table.words;
                    let end = scan_line(block, pos, |w| words.push(w));
                    self.end_entry();
                    end
                }
            };
            if end >= block.len() {
                return Err(MetricsError::Input(format!(
                    "paraphrase table block does not end a line (line {})",
                    self.line_no + 1
                )));
            }
            self.line_no += 1;
            pos = end + 1;
        }
        Ok(())
    }

    /// Closes the entry whose paraphrase words were just pushed.
    fn end_entry(&mut self) {
        let t = &mut self.table;
        let entry = (t.offsets.len() - 1) as u32;
        t.offsets.push(t.words.len() as u32);
        self.phase = 0;
        if self.reference_len == 0 {
            // An empty reference phrase is never looked up.
            return;
        }
        t.max_phrase = t.max_phrase.max(self.reference_len);
        let key = self.reference_key;
        if self.open_group.is_some_and(|(k, _)| k == key) {
            return;
        }
        self.close_group(entry);
        self.open_group = Some((key, entry));
        self.table
            .prefixes
            .extend(self.reference_prefixes.iter().copied());
    }

    /// Records the open group's entries, which end before `end`.
    fn close_group(&mut self, end: u32) {
        let Some((key, start)) = self.open_group.take() else {
            return;
        };
        let t = &mut self.table;
        match t.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => {
                t.scattered.entry(key).or_default().extend(start..end);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((start, end));
            }
        }
    }

    pub(super) fn finish(mut self) -> Result<Parsed> {
        if self.phase != 0 {
            return Err(MetricsError::Input(format!(
                "paraphrase table ends inside an entry (line {})",
                self.line_no
            )));
        }
        if self.table.offsets.is_empty() {
            self.table.offsets.push(0);
        }
        let end = (self.table.offsets.len() - 1) as u32;
        self.close_group(end);
        Ok(self.table)
    }
}
