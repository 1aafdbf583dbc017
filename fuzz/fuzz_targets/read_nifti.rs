//! Fuzz the NIfTI reader: any bytes (plain or gzip) must give `Ok` or a typed error,
//! never a panic, hang or oversized allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_volume::{Preprocess, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // A 2^22-voxel limit keeps every accepted allocation far below libFuzzer's memory cap.
    let options = ReadOptions::new()
        .max_voxels(1 << 22)
        .replace_non_finite(0.0);
    if let Ok(volume) = options.read_bytes(data, "fuzz.nii") {
        assert_eq!(volume.len(), volume.shape().iter().product::<usize>());
        // Whatever the reader accepts must also preprocess (small output keeps it fast).
        let recipe = Preprocess::ct_clip().with_target_shape([4, 8, 8]);
        let _ = recipe.apply(&volume);
    }
    let _ = ReadOptions::new()
        .max_voxels(1 << 22)
        .volume(1)
        .read_bytes(data, "fuzz4d.nii");
});
