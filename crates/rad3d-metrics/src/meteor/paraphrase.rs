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

    /// Loads the table through a binary cache kept beside it
    /// (`<file>.rad3d-index`, ≈ 120 MB for the English table): a cache whose
    /// recorded size and modification time match the table is read instead of
    /// decompressing and parsing; otherwise the table is parsed and the cache
    /// (re)written, best effort (a read-only directory just means no cache).
    pub fn load_cached(path: &Path) -> Result<Self> {
        let stamp = file_stamp(path)?;
        let cache = cache_path(path);
        if let Some(t) = Self::read_cache(&cache, stamp) {
            return Ok(t);
        }
        let t = Self::load(path)?;
        if let Err(e) = t.write_cache(&cache, stamp) {
            tracing::debug!(path = %cache.display(), error = %e, "paraphrase cache not written");
        }
        Ok(t)
    }

    fn read_cache(cache: &Path, stamp: [u64; 2]) -> Option<Self> {
        let bytes = std::fs::read(cache).ok()?;
        let mut r = Cursor {
            bytes: &bytes,
            pos: 0,
        };
        if r.take(8)? != CACHE_MAGIC || [r.u64()?, r.u64()?] != stamp {
            return None;
        }
        let max_phrase = usize::try_from(r.u64()?).ok()?;
        let n_words = usize::try_from(r.u64()?).ok()?;
        let n_offsets = usize::try_from(r.u64()?).ok()?;
        let n_index = usize::try_from(r.u64()?).ok()?;
        let n_scattered = usize::try_from(r.u64()?).ok()?;
        let words = r.take(n_words.checked_mul(8)?)?;
        let words: Vec<u64> = words
            .chunks_exact(8)
            .map(|c| {
                c.iter()
                    .rev()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            })
            .collect();
        let offsets: Vec<u32> = r
            .take(n_offsets.checked_mul(4)?)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut index = FxMap::default();
        index.reserve(n_index);
        for _ in 0..n_index {
            index.insert(r.u64()?, (r.u32()?, r.u32()?));
        }
        let mut scattered = FxMap::default();
        for _ in 0..n_scattered {
            let key = r.u64()?;
            let n = r.u32()? as usize;
            let entries = (0..n).map(|_| r.u32()).collect::<Option<Vec<u32>>>()?;
            scattered.insert(key, entries);
        }
        if r.pos != bytes.len() || offsets.last().map(|&o| o as usize) != Some(words.len()) {
            return None;
        }
        Some(Self {
            words,
            offsets,
            index,
            scattered,
            max_phrase,
        })
    }

    fn write_cache(&self, cache: &Path, stamp: [u64; 2]) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(64 + self.words.len() * 8 + self.offsets.len() * 4);
        out.extend_from_slice(CACHE_MAGIC);
        for v in [
            stamp[0],
            stamp[1],
            self.max_phrase as u64,
            self.words.len() as u64,
            self.offsets.len() as u64,
            self.index.len() as u64,
            self.scattered.len() as u64,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for o in &self.offsets {
            out.extend_from_slice(&o.to_le_bytes());
        }
        for (k, (a, b)) in &self.index {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        for (k, entries) in &self.scattered {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for e in entries {
                out.extend_from_slice(&e.to_le_bytes());
            }
        }
        // Written aside and renamed, so concurrent loaders never see half a file.
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &out)?;
        std::fs::rename(&tmp, cache).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Parses an uncompressed table held in memory (tests, small tables).
    pub fn from_text(text: &str) -> Result<Self> {
        let mut builder = Builder::default();
        if text.ends_with('\n') || text.is_empty() {
            builder.feed(text.as_bytes())?;
        } else {
            builder.feed(format!("{text}\n").as_bytes())?;
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

/// First bytes of a cache file (format version included).
const CACHE_MAGIC: &[u8; 8] = b"R3DPARA1";

/// The cache file of a table.
fn cache_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rad3d-index");
    path.with_file_name(name)
}

/// Size and modification time (ns since the epoch) of a file.
fn file_stamp(path: &Path) -> Result<[u64; 2]> {
    let meta = std::fs::metadata(path).map_err(|source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Ok([meta.len(), mtime])
}

/// Little-endian reader over a cache file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
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
    fn feed(&mut self, block: &[u8]) -> Result<()> {
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
                    let end = scan_line(block, pos, |w| {
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

        // Binary cache round trip.
        let dir = std::env::temp_dir().join(format!("rad3d-para-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cache = dir.join("t.rad3d-index");
        t.write_cache(&cache, [7, 9]).unwrap();
        let back = ParaphraseTable::read_cache(&cache, [7, 9]).unwrap();
        assert!(ParaphraseTable::read_cache(&cache, [7, 10]).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
        let mut again = Vec::new();
        back.for_each_path(&ids, 0, |len, p| again.push((len, p.to_vec())));
        assert_eq!(again, got);
        assert_eq!(back.len(), t.len());
    }
}
