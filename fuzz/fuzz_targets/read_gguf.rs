//! Fuzz the GGUF reader: any bytes must open to a typed error or a file whose every
//! tensor dequantizes (or is refused) and whose metadata maps to a LLaMA config and a
//! tokenizer (or is refused) — never a panic, hang or oversized allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::scratch_file;
use rad3d_llm::gguf::{
    GgufFile, GgufLlamaSource, hf_config_json, llama_config, tokenizer_from_metadata,
};
use rad3d_llm::{TensorSource, Tokenizer};

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("fuzz.gguf", data);
    let Ok(gguf) = GgufFile::open(&path) else {
        return;
    };
    for info in gguf.tensors() {
        if let Ok((shape, values)) = gguf.dequantize(&info.name) {
            assert_eq!(values.len(), shape.iter().product::<usize>());
        }
    }
    if let Ok(mut source) = GgufLlamaSource::new(&gguf) {
        for name in source.names() {
            let shape = source.shape(&name);
            if let Ok(Some(tensor)) = source.take(&name) {
                assert_eq!(Some(tensor.shape.clone()), shape);
            }
        }
    }
    let _ = hf_config_json(&gguf);
    let _ = llama_config(&gguf);
    if let Ok(inner) = tokenizer_from_metadata(&gguf) {
        let tokenizer = Tokenizer::from_tokenizers(inner, &path);
        if let Ok(ids) = tokenizer.encode("Findings: no effusion.", true) {
            let _ = tokenizer.decode(&ids, true);
        }
    }
});
