//! METEOR's WordNet synonym tables (`synonym/english.{synsets,exceptions}`).
//!
//! A word's synsets are those of the word itself plus those of its base
//! form: the irregular forms listed in the exceptions file, else WordNet 3's
//! detachment rules (`morph`). Two different words match when their sets
//! intersect. The relations file is not used by METEOR 1.5.

use super::paraphrase::FxMap;

use super::normalize::{java_lines, java_tokens};

/// Synonym dictionary: word → synset ids, and irregular form → base forms.
#[derive(Debug, Clone, Default)]
pub struct SynonymDictionary {
    word_to_bases: FxMap<String, Vec<String>>,
    word_to_synsets: FxMap<String, Vec<u32>>,
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
        let mut word_to_synsets = FxMap::default();
        let mut lines = java_lines(synsets);
        while let Some(word) = lines.next() {
            let Some(ids) = lines.next() else { break };
            let mut set: Vec<u32> = java_tokens(ids).filter_map(|t| t.parse().ok()).collect();
            set.sort_unstable();
            set.dedup();
            word_to_synsets.insert(word.to_string(), set);
        }
        Self {
            word_to_bases,
            word_to_synsets,
        }
    }

    /// Number of words with synsets.
    pub fn len(&self) -> usize {
        self.word_to_synsets.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.word_to_synsets.is_empty()
    }

    fn synsets(&self, word: &str) -> &[u32] {
        self.word_to_synsets.get(word).map_or(&[], Vec::as_slice)
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
                if self.word_to_synsets.contains_key(&candidate) {
                    return candidate.into();
                }
            }
        }
        "".into()
    }

    /// Sorted synset ids of a word and of its base forms.
    pub fn lookup(&self, word: &str) -> Vec<u32> {
        let mut set: Vec<u32> = self.synsets(word).to_vec();
        match self.word_to_bases.get(word) {
            Some(bases) => {
                for base in bases {
                    set.extend_from_slice(self.synsets(base));
                }
            }
            None => set.extend_from_slice(self.synsets(&self.morph(word))),
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
