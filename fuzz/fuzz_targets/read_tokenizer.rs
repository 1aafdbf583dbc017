//! Fuzz tokenizer loading (`tokenizer.json`): any bytes must give a typed error or a
//! tokenizer that encodes and decodes — never a panic or hang.
//!
//! The `tokenizers` crate panics on some malformed files; the reader catches that panic
//! and returns an error (`parse_tokenizer_json`). libfuzzer-sys's panic hook would abort
//! before the reader's catch runs, so this target installs a hook that only reports: a
//! panic the reader does not catch still reaches libfuzzer-sys's own catch, which aborts,
//! and counts as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::scratch_file;
use rad3d_llm::Tokenizer;

fuzz_target!(
    init: std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}"))),
    |data: &[u8]| {
        let path = scratch_file("tokenizer.json", data);
        let Ok(tokenizer) = Tokenizer::from_file(&path) else {
            return;
        };
        let _ = tokenizer.check_vocab(64);
        if let Ok(ids) = tokenizer.encode("Findings: no pleural effusion. 3 mm nodule.", true) {
            let _ = tokenizer.decode(&ids, true);
            let _ = tokenizer.decode(&ids, false);
        }
    }
);
