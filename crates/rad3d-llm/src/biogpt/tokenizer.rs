//! BioGPT's tokenizer as `BioGptTokenizer` (transformers' slow tokenizer) defines it:
//! Moses tokens (see `moses.rs`), each split by fastBPE into subwords whose last piece
//! ends in `</w>`, looked up in `vocab.json` (`<unk>` when absent); `</s>` is prepended as
//! the sequence start. Text is neither lower-cased nor normalised: BioGPT's vocabulary is
//! cased. Decoding joins the subwords (`</w>` becomes a space) and Moses-detokenizes.
//!
//! Hand-written because the `tokenizers` crate has neither Moses pre-tokenization nor
//! fastBPE's `</w>` convention with BioGPT's merge order and unknown-word handling.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::moses;
use crate::error::{LlmError, Result};

/// The special tokens `BioGptTokenizer` registers, by their default strings.
const SPECIALS: [&str; 4] = ["<s>", "<pad>", "</s>", "<unk>"];

/// Longest vocabulary file read (BioGPT-Large's is about 1.5 MB).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// BioGPT's Moses + fastBPE tokenizer, from `vocab.json` and `merges.txt`.
#[derive(Debug, Clone)]
pub struct BioGptTokenizer {
    encoder: HashMap<String, u32>,
    decoder: HashMap<u32, String>,
    ranks: HashMap<(String, String), usize>,
    /// Ids of `<s>`, `<pad>`, `</s>`, `<unk>`.
    special_ids: [u32; 4],
    origin: PathBuf,
}

fn tok_err(path: &Path, reason: impl Into<String>) -> LlmError {
    LlmError::Tokenizer {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_limited(path: &Path) -> Result<String> {
    let io = |source| LlmError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(tok_err(
            path,
            format!("{len} bytes, more than a vocabulary file holds ({MAX_FILE_BYTES})"),
        ));
    }
    std::fs::read_to_string(path).map_err(io)
}

impl BioGptTokenizer {
    /// Reads `vocab.json` (token → id) and `merges.txt` (one `left right [count]` merge per
    /// line, highest priority first). Errors name the file and the offending entry: a
    /// vocabulary that is not an object of distinct non-negative ids, one without BioGPT's
    /// special tokens, or a merge line without two symbols.
    pub fn from_files(vocab: impl AsRef<Path>, merges: impl AsRef<Path>) -> Result<Self> {
        let (vocab, merges) = (vocab.as_ref(), merges.as_ref());
        let json: serde_json::Value = serde_json::from_str(&read_limited(vocab)?)
            .map_err(|e| tok_err(vocab, format!("invalid JSON: {e}")))?;
        let object = json
            .as_object()
            .ok_or_else(|| tok_err(vocab, "not a JSON object of token → id"))?;
        let mut encoder = HashMap::with_capacity(object.len());
        let mut decoder = HashMap::with_capacity(object.len());
        for (token, id) in object {
            let id = id
                .as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| tok_err(vocab, format!("token `{token}`: id {id} is not a u32")))?;
            if let Some(other) = decoder.insert(id, token.clone()) {
                return Err(tok_err(
                    vocab,
                    format!("tokens `{other}` and `{token}` share id {id}"),
                ));
            }
            encoder.insert(token.clone(), id);
        }
        let special = |name: &str| {
            encoder.get(name).copied().ok_or_else(|| {
                tok_err(
                    vocab,
                    format!("special token `{name}` is not in the vocabulary"),
                )
            })
        };
        let special_ids = [
            special(SPECIALS[0])?,
            special(SPECIALS[1])?,
            special(SPECIALS[2])?,
            special(SPECIALS[3])?,
        ];
        // As transformers reads it: the text after the last newline is dropped, and only
        // the first two fields of a line count (fastBPE writes a count third).
        let text = read_limited(merges)?;
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.pop();
        let mut ranks = HashMap::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let mut fields = line.split_whitespace();
            let (Some(a), Some(b)) = (fields.next(), fields.next()) else {
                return Err(tok_err(
                    merges,
                    format!("line {}: `{line}` is not a merge of two symbols", i + 1),
                ));
            };
            // A repeated merge keeps its last rank, as a Python dict built from the lines does.
            ranks.insert((a.to_string(), b.to_string()), i);
        }
        Ok(Self {
            encoder,
            decoder,
            ranks,
            special_ids,
            origin: vocab.to_path_buf(),
        })
    }

    /// Reads `vocab.json` and `merges.txt` from a model folder.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        Self::from_files(dir.join("vocab.json"), dir.join("merges.txt"))
    }

    /// The `vocab.json` this tokenizer came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Id of `</s>`, which BioGPT's sequences start (and end) with.
    pub fn sep_id(&self) -> u32 {
        self.special_ids[2]
    }

    /// Id of `<unk>`, what words outside the vocabulary map to.
    pub fn unk_id(&self) -> u32 {
        self.special_ids[3]
    }

    /// Number of vocabulary entries.
    pub fn vocab_size(&self) -> usize {
        self.encoder.len()
    }

    /// The id of a token string (with `</w>` where it ends a word), if known.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.encoder.get(token).copied()
    }

    /// The token string of an id, if known.
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.decoder.get(&id).map(String::as_str)
    }

    /// Highest id in the vocabulary.
    pub fn max_id(&self) -> u32 {
        self.decoder.keys().copied().max().unwrap_or(0)
    }

    /// fastBPE subwords of one Moses token, the last ending in `</w>`: the adjacent pair
    /// of lowest merge rank is joined, every occurrence left to right, until none ranks.
    fn bpe(&self, token: &str) -> Vec<String> {
        let chars: Vec<char> = token.chars().collect();
        let Some((&last, init)) = chars.split_last() else {
            return Vec::new();
        };
        let mut word: Vec<String> = init.iter().map(|c| c.to_string()).collect();
        word.push(format!("{last}</w>"));
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|p| self.ranks.get(&(p[0].clone(), p[1].clone())))
                .min();
            let Some(&rank) = best else { break };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                let pair_rank = word
                    .get(i + 1)
                    .and_then(|next| self.ranks.get(&(word[i].clone(), next.clone())));
                if pair_rank == Some(&rank) {
                    merged.push(format!("{}{}", word[i], word[i + 1]));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
        }
        word
    }

    /// Token ids of a text without special tokens in it.
    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        for token in moses::tokenize(text) {
            for piece in self.bpe(&token) {
                ids.push(self.encoder.get(&piece).copied().unwrap_or(self.unk_id()));
            }
        }
    }

    /// Token ids of `text`; `add_special` prepends `</s>` as `BioGptTokenizer` does.
    /// Special-token strings written in the text (`</s>`, `<unk>`, …) are those tokens,
    /// and the text between them is tokenized piece by piece, as transformers splits it.
    pub fn encode(&self, text: &str, add_special: bool) -> Vec<u32> {
        let mut ids = Vec::new();
        if add_special {
            ids.push(self.sep_id());
        }
        let mut rest = text;
        while !rest.is_empty() {
            let found = SPECIALS
                .iter()
                .zip(self.special_ids)
                .filter_map(|(s, id)| rest.find(s).map(|at| (at, s.len(), id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let Some((at, len, id)) = found else {
                self.encode_plain(rest, &mut ids);
                break;
            };
            self.encode_plain(&rest[..at], &mut ids);
            ids.push(id);
            rest = &rest[at + len..];
        }
        ids
    }

    /// Text of `ids`: subwords joined (`</w>` ends a word), then Moses-detokenized.
    /// `skip_special` drops `<s>`, `<pad>`, `</s>` and `<unk>`; ids outside the vocabulary
    /// read as `<unk>`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let special: HashSet<u32> = self.special_ids.into_iter().collect();
        let mut joined = String::new();
        for &id in ids {
            if skip_special && special.contains(&id) {
                continue;
            }
            let token = self.decoder.get(&id).map_or(SPECIALS[3], String::as_str);
            joined.push_str(&token.replace(' ', "").replace("</w>", " "));
        }
        let words: Vec<String> = joined.split_whitespace().map(str::to_string).collect();
        moses::detokenize(&words)
    }
}
