//! Dequantization of every supported block format against gguf-py's reference
//! (`gguf.quants.dequantize`, which mirrors ggml), on pseudo-random blocks.
//!
//! The expected digests and probe values come from
//! `scripts/reference/gguf_dequant_reference.py`, which generates the same blocks from
//! the same xorshift sequence.

use rad3d_llm::gguf::{GgmlType, dequantize_into};

/// `(type, digest of the f32 bits, values at [0, 1, block - 1, last])` for 4 blocks.
const EXPECTED: &[(GgmlType, u64, [f64; 4])] = &[
    (
        GgmlType::F16,
        0x00000003e12ac000,
        [0.3037109375, 0.02294921875, 0.3037109375, 1.8046875],
    ),
    (
        GgmlType::BF16,
        0x00000002a65f0000,
        [
            9.540979117872439e-17,
            2.8705926524708048e-12,
            9.540979117872439e-17,
            3.453237695794087e-12,
        ],
    ),
    (
        GgmlType::Q4_0,
        0x00002008fc47e800,
        [
            0.09490966796875,
            0.0379638671875,
            -0.09490966796875,
            -0.052734375,
        ],
    ),
    (
        GgmlType::Q4_1,
        0x00000fff1a030c00,
        [3.4775390625, 6.2109375, 5.2998046875, 1.55010986328125],
    ),
    (
        GgmlType::Q5_0,
        0x0000206c58c70000,
        [0.0, -0.09490966796875, 0.0379638671875, 1.6875],
    ),
    (
        GgmlType::Q5_1,
        0x000010048f989cc0,
        [
            7.93341064453125,
            0.34063720703125,
            3.68145751953125,
            3.756103515625,
        ],
    ),
    (
        GgmlType::Q8_0,
        0x000022edc86cc580,
        [
            -1.76531982421875,
            -0.6453857421875,
            -2.06903076171875,
            11.2203369140625,
        ],
    ),
    (
        GgmlType::Q2_K,
        0x0008b59f31fa515c,
        [-7.30859375, -7.30859375, -5.71875, -5.92974853515625],
    ),
    (
        GgmlType::Q3_K,
        0x00079f61a1dc93c0,
        [-27.6044921875, -27.6044921875, -9.6015625, -4.92919921875],
    ),
    (
        GgmlType::Q4_K,
        0x0005f3eca6fa533a,
        [
            -0.380584716796875,
            -1.633392333984375,
            -1.65325927734375,
            179.48828125,
        ],
    ),
    (
        GgmlType::Q5_K,
        0x0007629e00484f66,
        [9.30078125, 17.197265625, 189.62890625, -2.7161865234375],
    ),
    (
        GgmlType::Q6_K,
        0x0007fe4b567ee76c,
        [
            -2.30712890625,
            -16.14990234375,
            -12.1124267578125,
            -59.9161376953125,
        ],
    ),
];

/// Byte offsets of the f16 scale fields in one block (as in the reference script).
fn f16_fields(ty: GgmlType) -> Vec<usize> {
    use GgmlType::*;
    match ty {
        Q4_0 | Q5_0 | Q8_0 => vec![0],
        Q4_1 | Q5_1 | Q4_K | Q5_K => vec![0, 2],
        Q2_K => vec![80, 82],
        Q3_K => vec![108],
        Q6_K => vec![208],
        F16 | BF16 => vec![0],
        _ => vec![],
    }
}

struct XorShift(u64);

impl XorShift {
    fn byte(&mut self) -> u8 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 56) as u8
    }
}

fn make_blocks(ty: GgmlType, n_blocks: usize) -> Vec<u8> {
    let size = ty.type_size();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ty.id() as u64);
    let mut buf: Vec<u8> = (0..n_blocks * size).map(|_| rng.byte()).collect();
    for b in 0..n_blocks {
        for off in f16_fields(ty) {
            let i = b * size + off;
            // Positive, finite scales (exponent bits 8..15), as the script forces them.
            let bits = (u16::from_le_bytes([buf[i], buf[i + 1]]) & 0x1FFF) | 0x2000;
            buf[i..i + 2].copy_from_slice(&bits.to_le_bytes());
        }
    }
    buf
}

fn digest(values: &[f32]) -> u64 {
    values.iter().enumerate().fold(0u64, |acc, (i, v)| {
        acc.wrapping_add((v.to_bits() as u64).wrapping_mul(2 * i as u64 + 1))
    })
}

#[test]
fn every_format_matches_gguf_py_bit_for_bit() {
    for &(ty, want_digest, probes) in EXPECTED {
        let n_blocks = 4;
        let bytes = make_blocks(ty, n_blocks);
        let mut out = vec![f32::NAN; n_blocks * ty.block_size()];
        assert!(
            dequantize_into(ty, &bytes, &mut out),
            "{ty} not dequantized"
        );
        let last = out.len() - 1;
        let block = ty.block_size();
        for (k, &i) in [0, 1, block - 1, last].iter().enumerate() {
            assert_eq!(out[i] as f64, probes[k], "{ty}: value {i}");
        }
        assert_eq!(
            digest(&out),
            want_digest,
            "{ty}: digest over all {} values",
            out.len()
        );
    }
}

#[test]
fn q8_k_is_scale_times_int8() {
    // Q8_K has no gguf-py dequantizer; ggml's is `y = d * q`.
    let mut block = 0.5f32.to_le_bytes().to_vec();
    block.extend((0..256).map(|i| (i - 128) as i8 as u8));
    block.extend([0u8; 32]); // bsums, unused by dequantization
    let mut out = vec![0f32; 256];
    assert!(dequantize_into(GgmlType::Q8_K, &block, &mut out));
    assert!(
        out.iter()
            .enumerate()
            .all(|(i, &v)| v == (i as f32 - 128.0) * 0.5)
    );
}
