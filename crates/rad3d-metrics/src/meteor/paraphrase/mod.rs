//! METEOR's paraphrase table (`paraphrase-en.gz`, ≈ 5.3 M phrase pairs).
//!
//! The file holds triples of lines: a probability (unused by METEOR 1.5), a
//! reference phrase and its paraphrase. Words are kept as 64-bit hashes and
//! phrases stored flat; a hash index maps each reference phrase to the range
//! of its paraphrases in file order, which is the order the jar's transducer
//! emits them in (and so the order matches enter the alignment search).

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use crate::error::{MetricsError, Result};
use crate::hash::{FxMap, FxSet};

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

/// The paraphrase table in its flat binary layout (described on the private `Layout` type), either memory-mapped
/// from the cache file kept beside the gzipped table or built in memory.
///
/// Lookups read the layout in place: loading a cached table costs a `mmap`, and only the
/// pages a corpus touches are ever read.
pub struct ParaphraseTable {
    bytes: Storage,
    layout: Layout,
}

impl std::fmt::Debug for ParaphraseTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParaphraseTable")
            .field("entries", &self.len())
            .field("hash_slots", &self.layout.n_slots)
            .field("mapped", &matches!(self.bytes, Storage::Mapped(_)))
            .finish()
    }
}

impl Default for ParaphraseTable {
    fn default() -> Self {
        Parsed::default().into_table([0, 0])
    }
}

/// Where the table's bytes live.
enum Storage {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped(m) => m,
        }
    }
}

/// Byte layout of a table (all integers little-endian), also the cache file format:
///
/// | bytes | content |
/// |---|---|
/// | 8 | magic [`CACHE_MAGIC`] |
/// | 16 | size and modification time of the gzipped table it was built from |
/// | 40 | `max_phrase`, `n_words`, `n_offsets`, `n_lists`, `n_slots` (u64 each) |
/// | 8 | [`checksum`] of every other byte of the file |
/// | 8 · n_words | paraphrase words (hashes) of all entries, concatenated |
/// | 4 · n_offsets | entry `e`'s paraphrase is `words[offsets[e]..offsets[e + 1]]` |
/// | 4 · n_lists | per reference phrase, its entries in file order, concatenated |
/// | 0–4 | padding to 8 bytes |
/// | 16 · n_slots | open-addressing hash table (linear probing, `n_slots` a power of two): `key u64, start u32, end + 1 u32` → `lists[start..end]`, for every reference phrase and (with an empty list) every proper prefix of one; a stored `0` marks a free slot |
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    max_phrase: usize,
    n_words: usize,
    n_offsets: usize,
    n_slots: usize,
    words: usize,
    offsets: usize,
    lists: usize,
    slots: usize,
    total: usize,
}

/// Where the checksum sits in the header.
const CHECKSUM_AT: usize = 8 + 16 + 5 * 8;

/// Header size: magic, stamp, five counts and the checksum.
const HEADER: usize = CHECKSUM_AT + 8;

impl Layout {
    fn new(
        max_phrase: usize,
        n_words: usize,
        n_offsets: usize,
        n_lists: usize,
        n_slots: usize,
    ) -> Option<Self> {
        let words = HEADER;
        let offsets = words.checked_add(n_words.checked_mul(8)?)?;
        let lists = offsets.checked_add(n_offsets.checked_mul(4)?)?;
        let slots = lists
            .checked_add(n_lists.checked_mul(4)?)?
            .checked_next_multiple_of(8)?;
        let total = slots.checked_add(n_slots.checked_mul(16)?)?;
        Some(Self {
            max_phrase,
            n_words,
            n_offsets,
            n_slots,
            words,
            offsets,
            lists,
            slots,
            total,
        })
    }

    /// Reads and checks a header against the byte length, the table's stamp and the
    /// checksum: `Ok(None)` for a cache of another format or of another table (stale, to
    /// be rebuilt quietly), `Err(reason)` for one that is damaged.
    ///
    /// The checksum reads the whole file once per load (≈ 0.1 s for the English table):
    /// a damaged index (a full probe table, a list range spanning every entry) would
    /// otherwise make each lookup scan millions of slots, stalling a corpus for minutes,
    /// or silently change paraphrase matches.
    fn read(bytes: &[u8], stamp: [u64; 2]) -> std::result::Result<Option<Self>, String> {
        let header = || -> Option<(&[u8], [u64; 2])> {
            Some((bytes.get(..8)?, [le64(bytes, 8)?, le64(bytes, 16)?]))
        };
        match header() {
            Some((magic, got)) if magic == CACHE_MAGIC && got == stamp => {}
            _ => return Ok(None),
        }
        let count = |k: usize| le64(bytes, 24 + 8 * k).and_then(|v| usize::try_from(v).ok());
        let layout = (|| Self::new(count(0)?, count(1)?, count(2)?, count(3)?, count(4)?))()
            .ok_or("header counts out of range")?;
        if layout.total != bytes.len() {
            return Err(format!(
                "{} bytes where the header describes {}",
                bytes.len(),
                layout.total
            ));
        }
        if !(layout.n_slots == 0 || layout.n_slots.is_power_of_two()) || layout.n_offsets == 0 {
            return Err("inconsistent header counts".into());
        }
        let stored = le64(bytes, CHECKSUM_AT).ok_or("no checksum")?;
        if checksum(bytes) != stored {
            return Err("checksum mismatch".into());
        }
        Ok(Some(layout))
    }
}

#[inline]
fn le64(bytes: &[u8], pos: usize) -> Option<u64> {
    let b = bytes.get(pos..pos + 8)?;
    Some(u64::from_le_bytes([
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ]))
}

#[inline]
fn le32(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The table as parsed from text, before it is laid out flat.
#[derive(Debug, Default)]
struct Parsed {
    /// Paraphrase words (hashes) of all entries, concatenated.
    words: Vec<u64>,
    /// Entry `e`'s paraphrase is `words[offsets[e]..offsets[e + 1]]`.
    offsets: Vec<u32>,
    /// Reference-phrase key → entries `start..end` (file order).
    index: FxMap<u64, (u32, u32)>,
    /// Entries of reference phrases that reappear non-contiguously.
    scattered: FxMap<u64, Vec<u32>>,
    /// Keys of every proper prefix of a reference phrase: a lookup that finds none of a
    /// prefix can stop extending it.
    prefixes: FxSet<u64>,
    max_phrase: usize,
}

impl Parsed {
    /// Lays the table out flat (see [`Layout`]), stamped with its source file's stamp.
    fn into_table(mut self, stamp: [u64; 2]) -> ParaphraseTable {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.prefixes.retain(|k| !self.index.contains_key(k));
        let n_keys = self.index.len() + self.prefixes.len();
        // Load factor at most ½: probes stay short.
        let n_slots = if n_keys == 0 {
            0
        } else {
            (2 * n_keys).next_power_of_two()
        };
        // Lists in key order of first appearance, each: its contiguous group, then any
        // entries of later, scattered groups (the order the lookups have always used).
        let mut keys: Vec<(u64, (u32, u32))> = self.index.iter().map(|(&k, &r)| (k, r)).collect();
        keys.sort_unstable_by_key(|&(_, (start, _))| start);
        let mut lists: Vec<u32> = Vec::with_capacity(self.offsets.len());
        let mut slots = vec![(0u64, 0u32, 0u32); n_slots];
        let mut put = |key: u64, start: u32, end: u32| {
            let mask = n_slots - 1;
            let mut i = key as usize & mask;
            while slots[i].2 != 0 {
                i = (i + 1) & mask;
            }
            // `end + 1`: a stored 0 marks a free slot.
            slots[i] = (key, start, end + 1);
        };
        for (key, (start, end)) in keys {
            let first = lists.len() as u32;
            lists.extend(start..end);
            if let Some(more) = self.scattered.get(&key) {
                lists.extend_from_slice(more);
            }
            put(key, first, lists.len() as u32);
        }
        // Prefix-only keys, with no entries (sorted: the layout is deterministic).
        let mut prefixes: Vec<u64> = self.prefixes.iter().copied().collect();
        prefixes.sort_unstable();
        for key in prefixes {
            put(key, 0, 0);
        }
        let layout = Layout::new(
            self.max_phrase,
            self.words.len(),
            self.offsets.len(),
            lists.len(),
            n_slots,
        )
        .expect("an in-memory table fits the address space");
        let mut out = Vec::with_capacity(layout.total);
        out.extend_from_slice(CACHE_MAGIC);
        for v in [stamp[0], stamp[1]] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.max_phrase,
            self.words.len(),
            self.offsets.len(),
            lists.len(),
            n_slots,
        ] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        // Checksum placeholder, filled in once the rest is laid out.
        out.extend_from_slice(&0u64.to_le_bytes());
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for o in self.offsets.iter().chain(&lists) {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out.resize(layout.slots, 0);
        for (k, a, b) in slots {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        debug_assert_eq!(out.len(), layout.total);
        let sum = checksum(&out);
        out[CHECKSUM_AT..HEADER].copy_from_slice(&sum.to_le_bytes());
        ParaphraseTable {
            bytes: Storage::Owned(out),
            layout,
        }
    }
}

/// One decompressed block of whole lines.
type Block = Vec<u8>;

impl ParaphraseTable {
    /// Loads a gzipped table; decompression and parsing run on two threads.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self::parse_gz(path)?.into_table(file_stamp(path)?))
    }

    fn parse_gz(path: &Path) -> Result<Parsed> {
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

    /// Loads the table through a binary cache kept beside it (`<file>.rad3d-index-v4`, the
    /// flat `Layout`, ≈ 0.2 GB for the English table): a cache whose recorded size and
    /// modification time match the table is memory-mapped instead of decompressing and
    /// parsing (milliseconds instead of seconds); otherwise the table is parsed and the
    /// cache (re)written, best effort (a read-only directory just means no cache).
    ///
    /// A cache that fails its checksum or structural checks is rebuilt from the table
    /// (logged), never used.
    pub fn load_cached(path: &Path) -> Result<Self> {
        let stamp = file_stamp(path)?;
        let cache = cache_path(path);
        match Self::map_cache(&cache, stamp) {
            Ok(Some(t)) => return Ok(t),
            Ok(None) => {}
            Err(reason) => tracing::warn!(
                path = %cache.display(),
                %reason,
                "corrupt paraphrase index; rebuilding it from the table"
            ),
        }
        let t = Self::parse_gz(path)?.into_table(stamp);
        if let Err(e) = t.write_cache(&cache) {
            tracing::debug!(path = %cache.display(), error = %e, "paraphrase cache not written");
        }
        Ok(t)
    }

    /// The cache at `cache` if it exists and belongs to the table stamped `stamp`;
    /// `Err(reason)` when it is damaged (see [`Layout::read`]).
    fn map_cache(cache: &Path, stamp: [u64; 2]) -> std::result::Result<Option<Self>, String> {
        let Ok(file) = std::fs::File::open(cache) else {
            return Ok(None);
        };
        // SAFETY: the cache is only ever replaced by renaming a new file over it (see
        // `write_cache`), so the mapped inode is never modified while mapped; and every read
        // below is a bounds-checked byte-slice access, so even a file altered behind our
        // back yields wrong paraphrases, never memory unsafety.
        let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
            return Ok(None);
        };
        let Some(layout) = Layout::read(&map, stamp)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            bytes: Storage::Mapped(map),
            layout,
        }))
    }

    fn write_cache(&self, cache: &Path) -> std::io::Result<()> {
        // Written aside and renamed, so concurrent loaders never see half a file.
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &self.bytes[..])?;
        std::fs::rename(&tmp, cache).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Where [`Self::load_cached`] keeps the index of the gzipped table at `table`. The
    /// name carries the format version, so builds reading different formats that share
    /// one asset directory keep one index each instead of rewriting each other's.
    pub fn index_path(table: &Path) -> std::path::PathBuf {
        cache_path(table)
    }

    /// Parses an uncompressed table held in memory (tests, small tables).
    pub fn from_text(text: &str) -> Result<Self> {
        let mut builder = Builder::default();
        if text.ends_with('\n') || text.is_empty() {
            builder.feed(text.as_bytes())?;
        } else {
            builder.feed(format!("{text}\n").as_bytes())?;
        }
        Ok(builder.finish()?.into_table([0, 0]))
    }

    /// Number of phrase pairs.
    pub fn len(&self) -> usize {
        self.layout.n_offsets.saturating_sub(1)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The word's key for [`Self::for_each_path`] and paraphrase comparison.
    pub fn translate(&self, word: &str) -> u64 {
        word_hash(word)
    }

    /// The `lists` range of a reference-phrase key.
    fn find(&self, key: u64) -> Option<(usize, usize)> {
        let l = &self.layout;
        if l.n_slots == 0 {
            return None;
        }
        let mask = l.n_slots - 1;
        let mut i = key as usize & mask;
        // Bounded: a damaged cache without free slots must not loop forever.
        for _ in 0..l.n_slots {
            let at = l.slots + 16 * i;
            let end = le32(&self.bytes, at + 12)?;
            if end == 0 {
                return None;
            }
            if le64(&self.bytes, at)? == key {
                return Some((le32(&self.bytes, at + 8)? as usize, end as usize - 1));
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Decodes entry `e`'s paraphrase into `buf` (empty if out of range).
    fn paraphrase_into(&self, e: usize, buf: &mut Vec<u64>) {
        buf.clear();
        let l = &self.layout;
        let (Some(a), Some(b)) = (
            le32(&self.bytes, l.offsets + 4 * e),
            le32(&self.bytes, l.offsets + 4 * (e + 1)),
        ) else {
            return;
        };
        for w in a as usize..(b as usize).min(l.n_words) {
            if let Some(v) = le64(&self.bytes, l.words + 8 * w) {
                buf.push(v);
            }
        }
    }

    /// Calls `f(reference_length, paraphrase)` for every table phrase that
    /// starts `words[start..]`, shortest first, entries in file order.
    pub fn for_each_path(&self, words: &[u64], start: usize, f: impl FnMut(usize, &[u64])) {
        self.for_each_path_where(words, start, |_| true, f);
    }

    /// [`Self::for_each_path`] restricted to the paraphrases whose first word passes
    /// `first` (empty paraphrases always pass): a caller that only wants paraphrases
    /// occurring in some text skips the others without decoding them.
    pub fn for_each_path_where(
        &self,
        words: &[u64],
        start: usize,
        mut first: impl FnMut(u64) -> bool,
        mut f: impl FnMut(usize, &[u64]),
    ) {
        let l = &self.layout;
        let max = l.max_phrase.min(words.len().saturating_sub(start));
        let mut key = 0;
        let mut buf = Vec::new();
        for len in 1..=max {
            key = extend_key(key, words[start + len - 1]);
            // Neither a phrase nor a prefix of one: no longer phrase starts here.
            let Some((a, b)) = self.find(key) else { break };
            for k in a..b {
                let Some(e) = le32(&self.bytes, l.lists + 4 * k) else {
                    continue;
                };
                let e = e as usize;
                let head = le32(&self.bytes, l.offsets + 4 * e)
                    .zip(le32(&self.bytes, l.offsets + 4 * (e + 1)))
                    .filter(|&(a, b)| a < b && (a as usize) < l.n_words)
                    .and_then(|(a, _)| le64(&self.bytes, l.words + 8 * a as usize));
                if head.is_some_and(|w| !first(w)) {
                    continue;
                }
                self.paraphrase_into(e, &mut buf);
                f(len, &buf);
            }
        }
    }
}

/// First bytes of a cache file (format version included).
const CACHE_MAGIC: &[u8; 8] = b"R3DPARA4";

/// The cache file of a table (see [`ParaphraseTable::index_path`]).
fn cache_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rad3d-index-v4");
    path.with_file_name(name)
}

/// 64-bit checksum of a cache file, skipping its own slot in the header. Four
/// independent multiply–xor lanes over little-endian words keep it near memory speed;
/// it guards against damage, not tampering.
fn checksum(bytes: &[u8]) -> u64 {
    const K: [u64; 4] = [
        0x9e37_79b9_7f4a_7c15,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
        0xd6e8_feb8_6659_fd93,
    ];
    let mut lanes = K;
    let mut eat = |data: &[u8]| {
        let mut blocks = data.chunks_exact(32);
        for b in &mut blocks {
            for (k, lane) in lanes.iter_mut().enumerate() {
                let w = u64::from_le_bytes(b[8 * k..8 * k + 8].try_into().expect("8 bytes"));
                *lane = (*lane ^ w).wrapping_mul(K[k]).rotate_left(29);
            }
        }
        for (k, &byte) in blocks.remainder().iter().enumerate() {
            lanes[k % 4] = (lanes[k % 4] ^ u64::from(byte)).wrapping_mul(K[k % 4]);
        }
    };
    let head = bytes.len().min(CHECKSUM_AT);
    eat(&bytes[..head]);
    eat(bytes.get(HEADER..).unwrap_or_default());
    let mut h = bytes.len() as u64;
    for (k, lane) in lanes.iter().enumerate() {
        h = mix(h ^ lane.rotate_left(16 * k as u32));
    }
    h
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

mod build;
use build::Builder;

#[cfg(test)]
mod tests;
