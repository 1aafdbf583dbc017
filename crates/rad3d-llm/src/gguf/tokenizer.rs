//! The tokenizer of a GGUF file: a `tokenizer.json` beside it when present, otherwise
//! one built from the `tokenizer.ggml.*` metadata.
//!
//! Supported metadata tokenizers are llama.cpp's byte-level BPE (`tokenizer.ggml.model =
//! "gpt2"`) with the pre-tokenizers (`tokenizer.ggml.pre`) used by the model families this
//! crate runs. The split rules follow llama.cpp's `llama-vocab.cpp`, which is what the file
//! was made for: e.g. `smollm` splits every digit on its own before the GPT-2 rule.

use std::path::{Path, PathBuf};

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::reader::GgufFile;
use super::types::MetadataArray;
use crate::error::{LlmError, Result};

/// llama.cpp's token attribute for control tokens (`<|im_start|>`, `<|endoftext|>`).
const TOKEN_TYPE_CONTROL: i64 = 3;
/// llama.cpp's token attribute for user-defined tokens (matched whole, not special).
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// LLaMA-3's split rule (llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer for the GGUF file at `gguf.path()`: `tokenizer.json` in the same
/// directory if there is one (it is the model's own and preferred), else
/// [`tokenizer_from_metadata`].
pub fn load_gguf_tokenizer(gguf: &GgufFile) -> Result<Tokenizer> {
    let beside = gguf
        .path()
        .parent()
        .unwrap_or(Path::new("."))
        .join("tokenizer.json");
    if beside.is_file() {
        tracing::debug!(path = %beside.display(), "using tokenizer.json beside the GGUF file");
        return crate::tokenizer::parse_tokenizer_json(&beside);
    }
    tokenizer_from_metadata(gguf)
}

fn tok_err(path: &Path, reason: impl Into<String>) -> LlmError {
    LlmError::Tokenizer {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn strings<'a>(gguf: &'a GgufFile, key: &str) -> Result<&'a [String]> {
    match gguf.get_array(key)? {
        MetadataArray::String(v) => Ok(v),
        other => Err(gguf.format_err(format!(
            "metadata '{key}' is an array of {:?}, expected strings",
            other.element_type()
        ))),
    }
}

/// Builds the tokenizer described by the `tokenizer.ggml.*` metadata: vocabulary, merges,
/// token types (control tokens become special added tokens), the pre-tokenizer named by
/// `tokenizer.ggml.pre`, and a BOS/EOS template from `tokenizer.ggml.add_bos_token` /
/// `add_eos_token`.
pub fn tokenizer_from_metadata(gguf: &GgufFile) -> Result<Tokenizer> {
    let path: PathBuf = gguf.path().to_path_buf();
    let model = gguf.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(tok_err(
            &path,
            format!(
                "tokenizer.ggml.model '{model}' cannot be built from metadata (only 'gpt2' byte-level BPE); put the model's tokenizer.json beside the GGUF file"
            ),
        ));
    }
    let tokens = strings(gguf, "tokenizer.ggml.tokens")?;
    let merges = strings(gguf, "tokenizer.ggml.merges")?;
    let token_types = match gguf.get("tokenizer.ggml.token_type") {
        None => Vec::new(),
        Some(_) => gguf
            .get_array("tokenizer.ggml.token_type")?
            .to_i64_vec()
            .ok_or_else(|| {
                gguf.format_err(
                    "metadata 'tokenizer.ggml.token_type' is not an integer array".into(),
                )
            })?,
    };
    if !token_types.is_empty() && token_types.len() != tokens.len() {
        return Err(tok_err(
            &path,
            format!(
                "{} token types for {} tokens",
                token_types.len(),
                tokens.len()
            ),
        ));
    }

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    if vocab.len() != tokens.len() {
        return Err(tok_err(
            &path,
            "tokenizer.ggml.tokens holds duplicate tokens",
        ));
    }
    let merges = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| tok_err(&path, format!("merge #{i} '{m}' is not 'left right'")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| tok_err(&path, format!("invalid BPE vocabulary/merges: {e}")))?;

    let mut tokenizer = Tokenizer::new(bpe);
    let pre = gguf
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre, &path)?));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));

    // Control and user-defined tokens are matched whole in the input text, as llama.cpp
    // does when parsing special tokens.
    let added = |wanted: i64, special: bool| -> Vec<AddedToken> {
        tokens
            .iter()
            .zip(&token_types)
            .filter(|&(_, &ty)| ty == wanted)
            .map(|(t, _)| AddedToken::from(t.clone(), special).normalized(false))
            .collect()
    };
    tokenizer
        .add_special_tokens(added(TOKEN_TYPE_CONTROL, true))
        .and_then(|_| tokenizer.add_tokens(added(TOKEN_TYPE_USER_DEFINED, false)))
        .map_err(|e| tok_err(&path, format!("adding control tokens: {e}")))?;

    if let Some(template) = bos_eos_template(gguf, tokens, &path)? {
        tokenizer.with_post_processor(Some(template));
    }
    Ok(tokenizer)
}

/// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre = pre`.
fn pre_tokenizer(pre: &str, path: &Path) -> Result<PreTokenizerWrapper> {
    // With use_regex the byte-level step applies GPT-2's split rule itself.
    let gpt2 = || ByteLevel::new(false, true, true);
    let split = |pattern: &str| -> Result<PreTokenizerWrapper> {
        let split = Split::new(
            SplitPattern::Regex(pattern.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| tok_err(path, format!("pre-tokenizer regex: {e}")))?;
        Ok(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ])
        .into())
    };
    Ok(match pre {
        "default" | "gpt2" | "gpt-2" => gpt2().into(),
        // `\p{N}` first (each digit alone), then GPT-2's rule.
        "smollm" | "starcoder" | "refact" | "codeshell" => {
            Sequence::new(vec![Digits::new(true).into(), gpt2().into()]).into()
        }
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" | "falcon3" | "pixtral" => {
            split(LLAMA3_SPLIT)?
        }
        other => {
            return Err(tok_err(
                path,
                format!(
                    "pre-tokenizer '{other}' (tokenizer.ggml.pre) is not supported; put the model's tokenizer.json beside the GGUF file"
                ),
            ));
        }
    })
}

/// `<bos> $A` / `$A <eos>` when the file asks for BOS/EOS to be added.
fn bos_eos_template(
    gguf: &GgufFile,
    tokens: &[String],
    path: &Path,
) -> Result<Option<TemplateProcessing>> {
    let flag = |key: &str| gguf.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    let token = |key: &str| -> Result<(String, u32)> {
        let id = gguf.get_u64(key)?;
        let text = tokens.get(id as usize).ok_or_else(|| {
            tok_err(
                path,
                format!("{key} = {id} is outside the vocabulary ({})", tokens.len()),
            )
        })?;
        Ok((text.clone(), id as u32))
    };
    let bos = flag("tokenizer.ggml.add_bos_token")
        .then(|| token("tokenizer.ggml.bos_token_id"))
        .transpose()?;
    let eos = flag("tokenizer.ggml.add_eos_token")
        .then(|| token("tokenizer.ggml.eos_token_id"))
        .transpose()?;
    if bos.is_none() && eos.is_none() {
        return Ok(None);
    }
    let mut single = Vec::new();
    let mut pair = Vec::new();
    let mut specials = Vec::new();
    if let Some(b) = &bos {
        single.push(b.0.clone());
        pair.push(b.0.clone());
        specials.push(b.clone());
    }
    single.push("$A".to_string());
    pair.push("$A".to_string());
    if let Some(e) = &eos {
        single.push(e.0.clone());
        pair.push(e.0.clone());
        specials.push(e.clone());
    }
    if let Some(b) = &bos {
        pair.push(format!("{}:1", b.0));
    }
    pair.push("$B:1".to_string());
    if let Some(e) = &eos {
        pair.push(format!("{}:1", e.0));
    }
    specials.dedup();
    TemplateProcessing::builder()
        .try_single(single)
        .and_then(|b| b.try_pair(pair))
        .map_err(|e| tok_err(path, format!("BOS/EOS template: {e}")))?
        .special_tokens(specials)
        .build()
        .map(Some)
        .map_err(|e| tok_err(path, format!("BOS/EOS template: {e}")))
}
