//! METEOR's WordNet synonym tables (`synonym/english.{synsets,exceptions}`).
//!
//! A word's synsets are those of the word itself plus those of its base
//! form: the irregular forms listed in the exceptions file, else WordNet 3's
//! detachment rules (`morph`). Two different words match when their sets
//! intersect. The relations file is not used by METEOR 1.5.

use super::paraphrase::word_hash;
use crate::hash::FxMap;

use super::normalize::{java_lines, java_tokens};

/// Synonym dictionary: word → synset ids, and irregular form → base forms.
///
/// The synsets file (≈ 150 k words) is kept as text with a hash index of its word lines;
/// a word's ids are parsed when looked up. Building that index takes milliseconds where
/// a map of owned strings and id lists took a large share of METEOR's start-up.
#[derive(Debug, Clone, Default)]
pub struct SynonymDictionary {
    word_to_bases: FxMap<String, Vec<String>>,
    /// The synsets file: alternating lines, a word then its synset numbers.
    text: String,
    /// Word hash → byte ranges of the word and of its ids line in `text` (the last
    /// occurrence of a word wins, as a map insert would).
    index: FxMap<u64, [u32; 4]>,
    /// Words whose hash collides with a different, earlier-indexed word.
    overflow: FxMap<String, [u32; 4]>,
}

/// WordNet 3 detachment suffixes (nouns, verbs, adjectives) and their endings.
const SUFFIXES: [(&str, &str); 20] = [
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
    ("s", ""),
    ("ies", "y"),
    ("es", "e"),
    ("es", ""),
    ("ed", "e"),
    ("ed", ""),
    ("ing", "e"),
    ("ing", ""),
    ("er", ""),
    ("est", ""),
    ("er", "e"),
    ("est", "e"),
];

impl SynonymDictionary {
    /// Builds the dictionary from the text of the exceptions and synsets files
    /// (alternating lines: a word, then its forms or synset numbers).
    pub fn parse(exceptions: &str, synsets: &str) -> Self {
        let mut word_to_bases: FxMap<String, Vec<String>> = FxMap::default();
        let mut lines = java_lines(exceptions);
        while let Some(base) = lines.next() {
            let Some(forms) = lines.next() else { break };
            for form in java_tokens(forms) {
                word_to_bases
                    .entry(form.to_string())
                    .or_default()
                    .push(base.to_string());
            }
        }
        let mut dict = Self {
            word_to_bases,
            text: synsets.to_string(),
            index: FxMap::default(),
            overflow: FxMap::default(),
        };
        dict.index_text();
        dict
    }

    /// Indexes the word lines of `self.text`.
    fn index_text(&mut self) {
        let text = self.text.as_bytes();
        // Offsets are u32: a synsets file over 4 GiB is not METEOR's.
        if u32::try_from(text.len()).is_err() {
            tracing::warn!("synsets text over 4 GiB: ignored");
            return;
        }
        let n_lines = text.iter().filter(|&&b| b == b'\n').count();
        self.index.reserve(n_lines / 2 + 1);
        let mut lines = byte_lines(text);
        while let Some((w0, w1)) = lines.next() {
            let Some((i0, i1)) = lines.next() else { break };
            let word = &self.text[w0..w1];
            let span = [w0 as u32, w1 as u32, i0 as u32, i1 as u32];
            match self.index.entry(word_hash(word)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(span);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let [a, b, ..] = *o.get();
                    if &self.text[a as usize..b as usize] == word {
                        o.insert(span);
                    } else {
                        self.overflow.insert(word.to_string(), span);
                    }
                }
            }
        }
    }

    /// Number of words with synsets.
    pub fn len(&self) -> usize {
        self.index.len() + self.overflow.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The text spans of a word's entry.
    fn entry(&self, word: &str) -> Option<[u32; 4]> {
        let span = *self.index.get(&word_hash(word))?;
        if &self.text[span[0] as usize..span[1] as usize] == word {
            Some(span)
        } else {
            self.overflow.get(word).copied()
        }
    }

    fn contains(&self, word: &str) -> bool {
        self.entry(word).is_some()
    }

    /// Appends a word's synset ids (in file order) to `out`.
    fn synsets_into(&self, word: &str, out: &mut Vec<u32>) {
        if let Some([_, _, a, b]) = self.entry(word) {
            let ids = &self.text[a as usize..b as usize];
            out.extend(java_tokens(ids).filter_map(|t| t.parse::<u32>().ok()));
        }
    }

    /// WordNet 3 `morph`: the first detachment of a suffix that yields a word
    /// with synsets, or "" if none does (short words and `-ss` stay as they are).
    fn morph<'a>(&self, word: &'a str) -> std::borrow::Cow<'a, str> {
        // Counted in UTF-16 units as `String.length()` is.
        if word.ends_with("ss") || word.encode_utf16().count() <= 2 {
            return word.into();
        }
        let mut candidate = String::with_capacity(word.len() + 3);
        for (suffix, ending) in SUFFIXES {
            if let Some(stem) = word.strip_suffix(suffix) {
                candidate.clear();
                candidate.push_str(stem);
                candidate.push_str(ending);
                if self.contains(&candidate) {
                    return candidate.into();
                }
            }
        }
        "".into()
    }

    /// Sorted synset ids of a word and of its base forms.
    pub fn lookup(&self, word: &str) -> Vec<u32> {
        let mut set: Vec<u32> = Vec::new();
        self.synsets_into(word, &mut set);
        match self.word_to_bases.get(word) {
            Some(bases) => {
                for base in bases {
                    self.synsets_into(base, &mut set);
                }
            }
            None => self.synsets_into(&self.morph(word), &mut set),
        }
        set.sort_unstable();
        set.dedup();
        set
    }

    /// Whether two synset lists (from [`Self::lookup`]) intersect.
    pub fn intersect(a: &[u32], b: &[u32]) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// Byte ranges of the lines of `text` as [`java_lines`] splits them (`\n`, `\r` or `\r\n`).
fn byte_lines(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let start = pos;
        let end = text[pos..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(text.len(), |i| pos + i);
        pos = if text[end..].starts_with(b"\r\n") {
            end + 2
        } else {
            end + 1
        };
        Some((start, end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> SynonymDictionary {
        SynonymDictionary::parse(
            "mouse\nmice\n",
            "mouse\n1 2\nrodent\n2\nenlarge\n5\nbig\n7\nlarge\n7 8\nbox\n9\n",
        )
    }

    #[test]
    fn byte_lines_split_as_java_lines() {
        for text in ["a\nb\r\nc\rd", "a\n\n", "", "\r\n\r", "x\r\n"] {
            let got: Vec<&str> = byte_lines(text.as_bytes())
                .map(|(a, b)| &text[a..b])
                .collect();
            assert_eq!(got, java_lines(text).collect::<Vec<_>>(), "{text:?}");
        }
        // The last entry of a repeated word wins.
        let d = SynonymDictionary::parse("", "w\n1\nw\n2 3\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d.lookup("w"), vec![2, 3]);
    }

    #[test]
    fn exceptions_and_morphology() {
        let d = dict();
        assert_eq!(d.lookup("mice"), vec![1, 2]);
        assert_eq!(d.lookup("enlarged"), vec![5]);
        assert_eq!(d.lookup("boxes"), vec![9]);
        assert_eq!(d.lookup("larger"), vec![7, 8]);
        assert!(d.lookup("unknownword").is_empty());
        assert!(SynonymDictionary::intersect(
            &d.lookup("mice"),
            &d.lookup("rodent")
        ));
        assert!(!SynonymDictionary::intersect(
            &d.lookup("big"),
            &d.lookup("box")
        ));
    }
}
