//! METEOR's paraphrase table (`paraphrase-en.gz`, ≈ 5.3 M phrase pairs).
//!
//! The file holds triples of lines: a probability (unused by METEOR 1.5), a
//! reference phrase and its paraphrase. Words are kept as 64-bit hashes and
//! phrases stored flat; a hash index maps each reference phrase to the range
//! of its paraphrases in file order, which is the order the jar's transducer
//! emits them in (and so the order matches enter the alignment search).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use crate::error::{MetricsError, Result};

/// Multiplicative word-at-a-time hasher (the rustc "Fx" scheme): the table
/// has millions of short keys and no adversarial input.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hash map with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// Hash set with [`FxHasher`].
pub type FxSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

/// Hash of one word: the table is indexed by 64-bit word hashes instead of an
/// interned vocabulary, so loading needs no string table (a collision between
/// two of its ≈ 0.5 M words has probability ≈ 1e-8).
pub fn word_hash(word: &str) -> u64 {
    bytes_hash(word.as_bytes())
}

#[inline]
fn bytes_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = c
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        h = mix(h ^ w);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Assembled by shifts: a variable-length copy here stalls the pipeline.
        let w = rest
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        h = mix(h ^ w);
    }
    mix(h)
}

#[inline]
fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: a bijection with full avalanche.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Key of a phrase extended by one word (phrases are looked up prefix by prefix).
#[inline]
fn extend_key(key: u64, word: u64) -> u64 {
    mix(key.rotate_left(23) ^ word)
}

/// The paraphrase table, loaded into a compact in-memory index.
#[derive(Debug, Default)]
pub struct ParaphraseTable {
    /// Paraphrase words (hashes) of all entries, concatenated.
    words: Vec<u64>,
    /// Entry `e`'s paraphrase is `words[offsets[e]..offsets[e + 1]]`.
    offsets: Vec<u32>,
    /// Reference-phrase key → entries `start..end` (file order).
    index: FxMap<u64, (u32, u32)>,
    /// Entries of reference phrases that reappear non-contiguously.
    scattered: FxMap<u64, Vec<u32>>,
    max_phrase: usize,
}

/// One decompressed block of whole lines.
type Block = Vec<u8>;

impl ParaphraseTable {
    /// Loads a gzipped table; decompression and parsing run on two threads.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<Block>>(8);
        let reader = std::thread::spawn(move || {
            let mut gz =
                flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(1 << 20, file));
            let mut carry: Vec<u8> = Vec::new();
            loop {
                let mut buf = std::mem::take(&mut carry);
                let filled = buf.len();
                buf.resize(filled + (1 << 20), 0);
                let n = match read_full(&mut gz, &mut buf[filled..]) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                buf.truncate(filled + n);
                if n == 0 {
                    if !buf.is_empty() {
                        let _ = tx.send(Ok(buf));
                    }
                    return;
                }
                // Ship whole lines; keep the unfinished one for the next block.
                if let Some(last_nl) = buf.iter().rposition(|&b| b == b'\n') {
                    carry = buf.split_off(last_nl + 1);
                    if tx.send(Ok(buf)).is_err() {
                        return;
                    }
                } else {
                    carry = buf;
                }
            }
        });

        let mut builder = Builder::default();
        let mut failure = None;
        for block in rx {
            match block {
                Ok(block) => {
                    if let Err(e) = builder.feed(&block) {
                        failure = Some(e);
                        break;
                    }
                }
                Err(source) => {
                    failure = Some(MetricsError::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                    break;
                }
            }
        }
        drop(reader.join());
        if let Some(e) = failure {
            return Err(match e {
                MetricsError::Input(msg) => {
                    MetricsError::Input(format!("{}: {msg}", path.display()))
                }
                other => other,
            });
        }
        builder.finish()
    }

    /// Parses an uncompressed table held in memory (tests, small tables).
    pub fn from_text(text: &str) -> Result<Self> {
        let mut builder = Builder::default();
        builder.feed(text.as_bytes())?;
        if !text.ends_with('\n') {
            builder.feed(b"\n")?;
        }
        builder.finish()
    }

    /// Number of phrase pairs.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The word's key for [`Self::for_each_path`] and paraphrase comparison.
    pub fn translate(&self, word: &str) -> u64 {
        word_hash(word)
    }

    /// Calls `f(reference_length, paraphrase)` for every table phrase that
    /// starts `words[start..]`, shortest first, entries in file order.
    pub fn for_each_path(&self, words: &[u64], start: usize, mut f: impl FnMut(usize, &[u64])) {
        let max = self.max_phrase.min(words.len() - start);
        let mut key = 0;
        for len in 1..=max {
            key = extend_key(key, words[start + len - 1]);
            if let Some(&(a, b)) = self.index.get(&key) {
                for e in a..b {
                    f(len, self.paraphrase(e));
                }
            }
            if let Some(entries) = self.scattered.get(&key) {
                for &e in entries {
                    f(len, self.paraphrase(e));
                }
            }
        }
    }

    fn paraphrase(&self, entry: u32) -> &[u64] {
        let e = entry as usize;
        &self.words[self.offsets[e] as usize..self.offsets[e + 1] as usize]
    }
}

/// Reads until `buf` is full or the stream ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Incremental parser state.
#[derive(Default)]
struct Builder {
    table: ParaphraseTable,
    /// 0: probability line next, 1: reference, 2: paraphrase.
    phase: u8,
    reference_key: u64,
    reference_len: usize,
    line_no: u64,
    /// The reference phrase whose entries are being collected, and its first entry.
    open_group: Option<(u64, u32)>,
}

/// `StringTokenizer`'s delimiters other than the line break.
#[inline]
fn is_delim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0c')
}

/// Calls `f` with the hash of every token of `line`.
#[inline]
fn for_each_token_hash(line: &[u8], mut f: impl FnMut(u64)) {
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && is_delim(line[i]) {
            i += 1;
        }
        let start = i;
        while i < line.len() && !is_delim(line[i]) {
            i += 1;
        }
        if i > start {
            f(bytes_hash(&line[start..i]));
        }
    }
}

impl Builder {
    fn feed(&mut self, block: &[u8]) -> Result<()> {
        if self.table.offsets.is_empty() {
            self.table.offsets.push(0);
        }
        let mut pos = 0;
        while let Some(nl) = block[pos..].iter().position(|&b| b == b'\n') {
            let line = &block[pos..pos + nl];
            pos += nl + 1;
            self.line_no += 1;
            self.line(line);
        }
        if pos != block.len() {
            return Err(MetricsError::Input(format!(
                "paraphrase table block does not end a line (line {})",
                self.line_no
            )));
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) {
        match self.phase {
            0 => self.phase = 1,
            1 => {
                let mut key = 0;
                let mut len = 0;
                for_each_token_hash(line, |w| {
                    key = extend_key(key, w);
                    len += 1;
                });
                self.reference_key = key;
                self.reference_len = len;
                self.phase = 2;
            }
            _ => {
                let t = &mut self.table;
                for_each_token_hash(line, |w| t.words.push(w));
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
            }
        }
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

    fn finish(mut self) -> Result<ParaphraseTable> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_file_order() {
        let t = ParaphraseTable::from_text(
            "0.1\nlung\npulmonary\n0.2\nlung\nlungs\n0.3\nlung field\nlung zone\n0.1\nx y\nz\n",
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        let ids: Vec<u64> = ["lung", "field", "nope"]
            .iter()
            .map(|w| t.translate(w))
            .collect();
        let mut got = Vec::new();
        t.for_each_path(&ids, 0, |len, p| got.push((len, p.to_vec())));
        let pulmonary = t.translate("pulmonary");
        let lungs = t.translate("lungs");
        let zone = t.translate("zone");
        assert_eq!(
            got,
            vec![
                (1, vec![pulmonary]),
                (1, vec![lungs]),
                (2, vec![ids[0], zone])
            ]
        );
        assert!(ParaphraseTable::from_text("0.1\nonly ref\n").is_err());
    }
}
