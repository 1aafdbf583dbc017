//! Tokenizers: HF `tokenizer.json` (LLaMA-3, SmolLM2, …) and GPT-2's `vocab.json` +
//! `merges.txt` through the `tokenizers` crate, and BioGPT's Moses + fastBPE
//! ([`BioGptTokenizer`]), behind one [`Tokenizer`].

use std::path::{Path, PathBuf};

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer as HfTokenizer};

use crate::biogpt::BioGptTokenizer;
use crate::error::{LlmError, Result};

/// The codec behind a [`Tokenizer`].
#[derive(Clone)]
enum Codec {
    /// Anything the `tokenizers` crate builds.
    Hf(Box<HfTokenizer>),
    /// BioGPT's Moses + fastBPE.
    BioGpt(BioGptTokenizer),
}

/// A text ↔ token-id codec, remembering the file it came from for error messages.
#[derive(Clone)]
pub struct Tokenizer {
    codec: Codec,
    origin: PathBuf,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("origin", &self.origin)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

fn tok_err(path: &Path, e: impl std::fmt::Display) -> LlmError {
    LlmError::Tokenizer {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Parses a HF `tokenizer.json`. The `tokenizers` crate panics on some malformed files (a
/// syntax error inside the `decoder` object reaches an `expect` in its deserializer), so a
/// panic while parsing is caught here and becomes the same typed error as any other bad
/// file, naming it.
pub(crate) fn parse_tokenizer_json(path: &Path) -> Result<HfTokenizer> {
    let parsed = std::panic::catch_unwind(|| HfTokenizer::from_file(path));
    match parsed {
        Ok(result) => result.map_err(|e| tok_err(path, e)),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Err(tok_err(
                path,
                format!("malformed tokenizer JSON (the tokenizers crate panicked: {why})"),
            ))
        }
    }
}

impl Tokenizer {
    /// Loads a HF `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(LlmError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let inner = parse_tokenizer_json(path)?;
        Ok(Self::from_tokenizers(inner, path))
    }

    /// Builds GPT-2's byte-level BPE from `vocab.json` and `merges.txt`
    /// (`<|endoftext|>` is registered as a special token).
    pub fn from_gpt2_files(vocab: impl AsRef<Path>, merges: impl AsRef<Path>) -> Result<Self> {
        let (vocab, merges) = (vocab.as_ref(), merges.as_ref());
        for p in [vocab, merges] {
            if !p.is_file() {
                return Err(LlmError::Io {
                    path: p.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
        }
        let to_str = |p: &Path| {
            p.to_str()
                .map(str::to_string)
                .ok_or_else(|| tok_err(p, "path is not UTF-8"))
        };
        let bpe = BPE::from_file(&to_str(vocab)?, &to_str(merges)?)
            .build()
            .map_err(|e| tok_err(vocab, e))?;
        let mut inner = HfTokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        if inner.token_to_id("<|endoftext|>").is_some() {
            inner
                .add_special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
                .map_err(|e| tok_err(vocab, e))?;
        }
        Ok(Self::from_tokenizers(inner, vocab))
    }

    /// BioGPT's tokenizer from its `vocab.json` and `merges.txt`.
    pub fn from_biogpt_files(vocab: impl AsRef<Path>, merges: impl AsRef<Path>) -> Result<Self> {
        let tokenizer = BioGptTokenizer::from_files(vocab, merges)?;
        Ok(Self {
            origin: tokenizer.origin().to_path_buf(),
            codec: Codec::BioGpt(tokenizer),
        })
    }

    /// Loads the tokenizer of a model directory: BioGPT's `vocab.json` + `merges.txt`
    /// when the folder is a BioGPT's (its `tokenizer_config.json` names
    /// `BioGptTokenizer`, or its `config.json` the `biogpt` model type), else
    /// `tokenizer.json`, else GPT-2's `vocab.json` + `merges.txt`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
        if is_biogpt_dir(dir)? {
            return Self::from_biogpt_files(vocab, merges);
        }
        let json = dir.join("tokenizer.json");
        if json.is_file() {
            return Self::from_file(json);
        }
        if vocab.is_file() && merges.is_file() {
            return Self::from_gpt2_files(vocab, merges);
        }
        Err(tok_err(
            dir,
            "no tokenizer.json, nor vocab.json + merges.txt",
        ))
    }

    /// Wraps an already built `tokenizers` tokenizer (e.g. one rebuilt from GGUF metadata);
    /// `origin` names it in errors.
    pub fn from_tokenizers(inner: HfTokenizer, origin: impl Into<PathBuf>) -> Self {
        Self {
            codec: Codec::Hf(Box::new(inner)),
            origin: origin.into(),
        }
    }

    /// The underlying `tokenizers` tokenizer; `None` for BioGPT's, which is not one.
    pub fn hf(&self) -> Option<&HfTokenizer> {
        match &self.codec {
            Codec::Hf(t) => Some(t),
            Codec::BioGpt(_) => None,
        }
    }

    /// BioGPT's tokenizer, when this is one.
    pub fn biogpt(&self) -> Option<&BioGptTokenizer> {
        match &self.codec {
            Codec::Hf(_) => None,
            Codec::BioGpt(t) => Some(t),
        }
    }

    /// Where the tokenizer came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Token ids of `text`; `add_special` adds what the tokenizer adds around a sequence
    /// (LLaMA-3: a leading BOS; BioGPT: a leading `</s>`).
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        match &self.codec {
            Codec::Hf(t) => {
                // A template post-processor naming a special token the file does not define
                // makes the `tokenizers` crate panic while encoding: that is an error about
                // the file.
                let enc = std::panic::catch_unwind(|| t.encode(text, add_special))
                    .map_err(|_| {
                        tok_err(
                            &self.origin,
                            "malformed tokenizer (the tokenizers crate panicked while encoding)",
                        )
                    })?
                    .map_err(|e| tok_err(&self.origin, e))?;
                Ok(enc.get_ids().to_vec())
            }
            Codec::BioGpt(t) => Ok(t.encode(text, add_special)),
        }
    }

    /// Text of `ids`; `skip_special` drops special tokens (BOS/EOS/…).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        match &self.codec {
            Codec::Hf(t) => t
                .decode(ids, skip_special)
                .map_err(|e| tok_err(&self.origin, e)),
            Codec::BioGpt(t) => Ok(t.decode(ids, skip_special)),
        }
    }

    /// Number of tokens, added/special tokens included.
    pub fn vocab_size(&self) -> usize {
        match &self.codec {
            Codec::Hf(t) => t.get_vocab_size(true),
            Codec::BioGpt(t) => t.vocab_size(),
        }
    }

    /// The id of a token string, if known.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match &self.codec {
            Codec::Hf(t) => t.token_to_id(token),
            Codec::BioGpt(t) => t.token_to_id(token),
        }
    }

    /// The token string of an id, if known.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        match &self.codec {
            Codec::Hf(t) => t.id_to_token(id),
            Codec::BioGpt(t) => t.id_to_token(id).map(str::to_string),
        }
    }

    /// Highest id the tokenizer can produce.
    pub fn max_id(&self) -> u32 {
        match &self.codec {
            Codec::Hf(t) => t.get_vocab(true).values().copied().max().unwrap_or(0),
            Codec::BioGpt(t) => t.max_id(),
        }
    }

    /// Checks the tokenizer fits a model with `model_vocab` embedding rows: every id it
    /// can produce must index a row. (Models may have more rows than tokens — padding
    /// rows — but never fewer.)
    pub fn check_vocab(&self, model_vocab: usize) -> Result<()> {
        let max_id = self.max_id() as usize;
        if max_id >= model_vocab {
            return Err(LlmError::VocabMismatch {
                path: self.origin.clone(),
                tokenizer_vocab: self.vocab_size(),
                max_id,
                model_vocab,
            });
        }
        Ok(())
    }
}

/// Whether `dir` holds a BioGPT: its `tokenizer_config.json` names `BioGptTokenizer`, or
/// (without that field) its `config.json` has `model_type: "biogpt"`.
fn is_biogpt_dir(dir: &Path) -> Result<bool> {
    let field = |file: &str, key: &str| -> Result<Option<String>> {
        let path = dir.join(file);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| LlmError::Io {
            path: path.clone(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| LlmError::Format {
                path: path.clone(),
                reason: format!("invalid JSON: {e}"),
            })?;
        Ok(json.get(key).and_then(|v| v.as_str()).map(str::to_string))
    };
    Ok(match field("tokenizer_config.json", "tokenizer_class")? {
        Some(class) => class == "BioGptTokenizer",
        None => field("config.json", "model_type")?.as_deref() == Some("biogpt"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_errors_naming_them() {
        let err = Tokenizer::from_file("/nonexistent/tokenizer.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/tokenizer.json"), "{err}");
        let err = Tokenizer::from_dir("/nonexistent").unwrap_err().to_string();
        assert!(err.contains("/nonexistent"), "{err}");
    }

    /// Found by the `read_tokenizer` fuzz target: a template post-processor naming a special
    /// token the file does not define made encoding panic.
    #[test]
    fn an_undefined_template_token_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        let json = br#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "decoder": null, "truncation": null, "padding": null, "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "X", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {}}}"#;
        std::fs::write(&path, json).unwrap();
        let tokenizer = Tokenizer::from_file(&path).unwrap();
        let err = tokenizer.encode("a", true).unwrap_err();
        assert!(err.to_string().contains("panicked while encoding"), "{err}");
    }

    /// Found by the `read_tokenizer` fuzz target: a syntax error inside the `decoder` object
    /// made the `tokenizers` crate panic instead of returning an error.
    #[test]
    fn a_malformed_decoder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, b"{\"decoder\": {\"type\" \"Metaspace\"}}").unwrap();
        let err = Tokenizer::from_file(&path).unwrap_err();
        assert!(matches!(err, LlmError::Tokenizer { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("tokenizer.json") && msg.contains("malformed tokenizer JSON"),
            "{msg}"
        );
    }
}
