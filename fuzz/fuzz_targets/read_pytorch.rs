//! Fuzz the PyTorch `.pt` reader (zip archive, pickle subset, storages, strides): any
//! bytes must give a typed error or tensors of their declared shape — never a panic,
//! hang, zero-filled tensor or oversized allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::{read_checkpoint, scratch_file};

fuzz_target!(|data: &[u8]| {
    read_checkpoint(&scratch_file("fuzz.pt", data));
});
