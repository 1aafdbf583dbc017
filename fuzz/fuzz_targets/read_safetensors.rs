//! Fuzz the safetensors readers (the checkpoint reader and the LLM's tensor source):
//! any bytes must give a typed error or tensors of their declared shape — never a
//! panic, hang or oversized allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::{read_checkpoint, scratch_file};
use rad3d_llm::{SafetensorsSource, TensorSource};

fuzz_target!(|data: &[u8]| {
    // The checkpoint reader goes by content: a zip or pickle magic selects PyTorch,
    // which has its own target; everything else is read as safetensors.
    let path = scratch_file("fuzz.safetensors", data);
    read_checkpoint(&path);
    if let Ok(mut source) = SafetensorsSource::open(&path) {
        for name in source.names() {
            let shape = source.shape(&name);
            if let Ok(Some(tensor)) = source.take(&name) {
                assert_eq!(Some(tensor.shape.clone()), shape);
            }
        }
    }
});
