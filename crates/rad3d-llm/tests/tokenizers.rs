//! Tokenizer fixtures (`$RAD3D_FIXTURES/tokenizers/*`, ids from the fixtures README):
//! GPT-2's `vocab.json` + `merges.txt` and LLaMA-3.1's `tokenizer.json` encode
//! "Hello world." to the reference ids and decode them back.

use std::path::{Path, PathBuf};

use rad3d_llm::Tokenizer;

const TEXT: &str = "Hello world.";

/// The tokenizer fixture folder `name`; `None` (after a notice) when absent outside CI.
fn fixture(name: &str) -> Option<PathBuf> {
    let root = std::env::var("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    let dir = root.join("tokenizers").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tokenizer fixture missing at {}",
        dir.display()
    );
    eprintln!("skipping: tokenizer fixture not found at {}", dir.display());
    None
}

#[test]
fn gpt2_hello_world() {
    let Some(dir) = fixture("gpt2") else { return };
    // GPT-2's folder has no tokenizer.json: from_dir must pick vocab.json + merges.txt.
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let ids = tok.encode(TEXT, true).unwrap();
    assert_eq!(ids, vec![15496, 995, 13]);
    assert_eq!(tok.decode(&ids, true).unwrap(), TEXT);
    assert_eq!(tok.token_to_id("<|endoftext|>"), Some(50256));
    assert_eq!(tok.vocab_size(), 50257);
    // The end-of-text token is special: kept by decode unless skipped, never split.
    let with_eos = [ids.clone(), vec![50256]].concat();
    assert_eq!(tok.decode(&with_eos, true).unwrap(), TEXT);
    assert_eq!(
        tok.decode(&with_eos, false).unwrap(),
        format!("{TEXT}<|endoftext|>")
    );
    assert_eq!(
        tok.encode("Hello world.<|endoftext|>", true).unwrap(),
        with_eos
    );
    // A model with fewer rows than the tokenizer's ids is rejected, naming the file.
    tok.check_vocab(50257).unwrap();
    let err = tok.check_vocab(50000).unwrap_err().to_string();
    assert!(err.contains("vocab.json"), "{err}");
}

#[test]
fn llama3_hello_world() {
    let Some(dir) = fixture("llama3_1") else {
        return;
    };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let ids = tok.encode(TEXT, true).unwrap();
    assert_eq!(ids, vec![128000, 9906, 1917, 13]);
    // Without special tokens the post-processor adds no BOS.
    assert_eq!(tok.encode(TEXT, false).unwrap(), vec![9906, 1917, 13]);
    assert_eq!(tok.decode(&ids, true).unwrap(), TEXT);
    assert_eq!(
        tok.decode(&ids, false).unwrap(),
        format!("<|begin_of_text|>{TEXT}")
    );
    assert_eq!(tok.token_to_id("<|begin_of_text|>"), Some(128000));
    assert_eq!(tok.token_to_id("<|end_of_text|>"), Some(128001));
}
