//! The one tokenizer interface of the project's models ([`ReportTokenizer`]), and a
//! word-level tokenizer for synthetic corpora.

use std::collections::HashMap;

use crate::error::{ModelError, Result};

/// Turns report text into ids and back. Implemented for the LLM crate's tokenizers
/// ([`LlmTokenizer`](crate::LlmTokenizer), with the model's special tokens) and for
/// [`WordTokenizer`].
pub trait ReportTokenizer {
    /// Token ids of `text`, without BOS/EOS.
    fn encode(&self, text: &str) -> Result<Vec<u32>>;
    /// Text of `ids` (special tokens dropped).
    fn decode(&self, ids: &[u32]) -> String;
    /// End-of-sequence id, appended to every training report.
    fn eos_id(&self) -> u32;
    /// Beginning-of-sequence id, if the model uses one.
    fn bos_id(&self) -> Option<u32>;
    /// Vocabulary size.
    fn vocab_size(&self) -> usize;

    /// Report ids with EOS appended, truncated to `max_len` tokens (EOS kept last).
    fn encode_report(&self, text: &str, max_len: usize) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        ids.truncate(max_len.saturating_sub(1));
        ids.push(self.eos_id());
        Ok(ids)
    }
}

/// Whitespace/punctuation word tokenizer with a closed vocabulary, for templated
/// corpora (the quickstart and tests); ids 0..3 are `<pad>`, `<bos>`, `<eos>`, `<unk>`.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTokenizer {
    words: Vec<String>,
    index: HashMap<String, u32>,
}

const SPECIALS: [&str; 4] = ["<pad>", "<bos>", "<eos>", "<unk>"];

fn split_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '-' || ch == '\'' {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !ch.is_whitespace() {
                out.push(ch.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl WordTokenizer {
    /// Builds the vocabulary from a corpus (words sorted, so the result is deterministic).
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = std::collections::BTreeSet::new();
        for t in texts {
            set.extend(split_words(t));
        }
        let words: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).chain(set).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Self { words, index }
    }

    /// The vocabulary, one word per id.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

impl ReportTokenizer for WordTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        split_words(text)
            .into_iter()
            .map(|w| {
                self.index.get(&w).copied().ok_or_else(|| {
                    ModelError::Tokenizer(format!("word `{w}` is not in the vocabulary"))
                })
            })
            .collect()
    }

    fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        for &id in ids {
            if (id as usize) < SPECIALS.len() {
                continue;
            }
            let Some(w) = self.words.get(id as usize) else {
                continue;
            };
            let punct = w.chars().all(|c| !c.is_alphanumeric());
            if !out.is_empty() && !punct {
                out.push(' ');
            }
            out.push_str(w);
        }
        out
    }

    fn eos_id(&self) -> u32 {
        2
    }

    fn bos_id(&self) -> Option<u32> {
        Some(1)
    }

    fn vocab_size(&self) -> usize {
        self.words.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_eos() {
        let tok = WordTokenizer::fit([
            "Pericardial effusion-thickening was not observed.",
            "Cardiomegaly is seen.",
        ]);
        let ids = tok.encode("Cardiomegaly was not observed.").unwrap();
        assert_eq!(tok.decode(&ids), "Cardiomegaly was not observed.");
        let r = tok.encode_report("Cardiomegaly is seen.", 100).unwrap();
        assert_eq!(*r.last().unwrap(), tok.eos_id());
        assert_eq!(r.len(), 5);
        let short = tok.encode_report("Cardiomegaly is seen.", 3).unwrap();
        assert_eq!(short.len(), 3);
        assert_eq!(short[2], tok.eos_id());
        let e = tok.encode("pneumothorax").unwrap_err();
        assert!(e.to_string().contains("pneumothorax"));
    }
}
