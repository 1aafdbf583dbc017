//! Fuzz LLM `config.json` parsing: any bytes must give a typed error or a validated
//! GPT-2 or LLaMA configuration — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::scratch_file;
use rad3d_llm::ModelConfig;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("config.json", data);
    let _ = ModelConfig::from_hf_file(&path);
});
