//! Dequantization of ggml block formats to f32, bit-exact with ggml's reference
//! `dequantize_row_*` functions (and gguf-py's `gguf.quants.dequantize`).
//!
//! Every formula multiplies and adds in f32 in the same order as ggml (`d * q + m`,
//! `(d * sc) * q`, …) and never fuses to FMA, so the results match to the bit.

use half::{bf16, f16};

use super::types::GgmlType;

/// Super-block size of the K-quants.
const QK_K: usize = 256;

/// Dequantizes whole blocks of `ty` from `src` into `dst`.
///
/// `src` must hold `n` blocks (`n * ty.type_size()` bytes) and `dst` exactly
/// `n * ty.block_size()` values; returns `false` (and leaves `dst` untouched) when the
/// type cannot be dequantized or the lengths do not match.
pub fn dequantize_into(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> bool {
    let (block, size) = (ty.block_size(), ty.type_size());
    if !ty.can_dequantize()
        || !src.len().is_multiple_of(size)
        || src.len() / size * block != dst.len()
    {
        return false;
    }
    let blocks = src.chunks_exact(size).zip(dst.chunks_exact_mut(block));
    match ty {
        GgmlType::F32 => blocks.for_each(|(s, d)| d[0] = f32::from_le_bytes(arr(s))),
        GgmlType::F16 => blocks.for_each(|(s, d)| d[0] = half16(s)),
        GgmlType::BF16 => {
            blocks.for_each(|(s, d)| d[0] = bf16::from_bits(u16::from_le_bytes(arr(s))).to_f32())
        }
        GgmlType::F64 => blocks.for_each(|(s, d)| d[0] = f64::from_le_bytes(arr(s)) as f32),
        GgmlType::I8 => blocks.for_each(|(s, d)| d[0] = s[0] as i8 as f32),
        GgmlType::I16 => blocks.for_each(|(s, d)| d[0] = i16::from_le_bytes(arr(s)) as f32),
        GgmlType::I32 => blocks.for_each(|(s, d)| d[0] = i32::from_le_bytes(arr(s)) as f32),
        GgmlType::Q4_0 => blocks.for_each(|(s, d)| q4_0(s, d)),
        GgmlType::Q4_1 => blocks.for_each(|(s, d)| q4_1(s, d)),
        GgmlType::Q5_0 => blocks.for_each(|(s, d)| q5_0(s, d)),
        GgmlType::Q5_1 => blocks.for_each(|(s, d)| q5_1(s, d)),
        GgmlType::Q8_0 => blocks.for_each(|(s, d)| q8_0(s, d)),
        GgmlType::Q2_K => blocks.for_each(|(s, d)| q2_k(s, d)),
        GgmlType::Q3_K => blocks.for_each(|(s, d)| q3_k(s, d)),
        GgmlType::Q4_K => blocks.for_each(|(s, d)| q4_k(s, d)),
        GgmlType::Q5_K => blocks.for_each(|(s, d)| q5_k(s, d)),
        GgmlType::Q6_K => blocks.for_each(|(s, d)| q6_k(s, d)),
        GgmlType::Q8_K => blocks.for_each(|(s, d)| q8_k(s, d)),
        _ => return false,
    }
    true
}

fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    // Callers pass slices of at least N bytes (block layouts are fixed).
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

fn half16(s: &[u8]) -> f32 {
    f16::from_bits(u16::from_le_bytes(arr(s))).to_f32()
}

/// `{ f16 d; u8 qs[16] }`: low nibbles are elements 0..16, high nibbles 16..32; x = d·(q − 8).
fn q4_0(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let qs = &s[2..18];
    for j in 0..16 {
        y[j] = ((qs[j] & 0x0F) as i32 - 8) as f32 * d;
        y[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
    }
}

/// `{ f16 d; f16 m; u8 qs[16] }`: x = d·q + m.
fn q4_1(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let m = half16(&s[2..]);
    let qs = &s[4..20];
    for j in 0..16 {
        y[j] = (qs[j] & 0x0F) as f32 * d + m;
        y[j + 16] = (qs[j] >> 4) as f32 * d + m;
    }
}

/// `{ f16 d; u32 qh; u8 qs[16] }`: 5-bit values, the 5th bit of element j is bit j of qh;
/// x = d·(q − 16).
fn q5_0(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let qh = u32::from_le_bytes(arr(&s[2..]));
    let qs = &s[6..22];
    for j in 0..16 {
        let h0 = (((qh >> j) & 1) << 4) as u8;
        let h1 = (((qh >> (j + 16)) & 1) << 4) as u8;
        y[j] = (((qs[j] & 0x0F) | h0) as i32 - 16) as f32 * d;
        y[j + 16] = (((qs[j] >> 4) | h1) as i32 - 16) as f32 * d;
    }
}

/// `{ f16 d; f16 m; u32 qh; u8 qs[16] }`: x = d·q + m with 5-bit q.
fn q5_1(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let m = half16(&s[2..]);
    let qh = u32::from_le_bytes(arr(&s[4..]));
    let qs = &s[8..24];
    for j in 0..16 {
        let h0 = (((qh >> j) & 1) << 4) as u8;
        let h1 = (((qh >> (j + 16)) & 1) << 4) as u8;
        y[j] = ((qs[j] & 0x0F) | h0) as f32 * d + m;
        y[j + 16] = ((qs[j] >> 4) | h1) as f32 * d + m;
    }
}

/// `{ f16 d; i8 qs[32] }`: x = d·q.
fn q8_0(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    for (yj, &q) in y.iter_mut().zip(&s[2..34]) {
        *yj = q as i8 as f32 * d;
    }
}

/// `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }`: 16 groups of 16 two-bit values;
/// each group's low scale nibble scales d, the high nibble scales dmin.
fn q2_k(s: &[u8], y: &mut [f32]) {
    let scales = &s[0..16];
    let d = half16(&s[80..]);
    let dmin = half16(&s[82..]);
    for i in 0..QK_K {
        // Element i: 128-element half (which 32 bytes of qs), 2-bit plane, byte.
        let (half, plane, l) = (i / 128, (i % 128) / 32, i % 32);
        let q = (s[16 + half * 32 + l] >> (2 * plane)) & 3;
        let sc = scales[i / 16];
        let dl = d * (sc & 0x0F) as f32;
        let ml = dmin * (sc >> 4) as f32;
        y[i] = dl * q as f32 - ml;
    }
}

/// `{ u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }`: 3-bit values (2 low bits in qs,
/// the high bit in hmask, *set* meaning no −4 offset) and sixteen 6-bit signed scales.
fn q3_k(s: &[u8], y: &mut [f32]) {
    let hmask = &s[0..32];
    let qs = &s[32..96];
    let sc = &s[96..108];
    let d = half16(&s[108..]);
    let mut scales = [0i8; 16];
    for (k, out) in scales.iter_mut().enumerate() {
        let low = (sc[k % 8] >> (4 * (k / 8))) & 0x0F;
        let high = (sc[8 + k % 4] >> (2 * (k / 4))) & 0x03;
        *out = ((low | (high << 4)) as i8).wrapping_sub(32);
    }
    for i in 0..QK_K {
        let (half, plane, l) = (i / 128, (i % 128) / 32, i % 32);
        let low = ((qs[half * 32 + l] >> (2 * plane)) & 3) as i8;
        let high_set = (hmask[l] >> (i / 32)) & 1 == 1;
        let q = low - if high_set { 0 } else { 4 };
        let dl = d * scales[i / 16] as f32;
        y[i] = dl * q as f32;
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) packed in 12 bytes
/// (ggml's `get_scale_min_k4`).
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`: eight sub-blocks of 32 four-bit
/// values; x = (d·sc)·q − dmin·m.
fn q4_k(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let dmin = half16(&s[2..]);
    let scales = &s[4..16];
    let qs = &s[16..144];
    for sb in 0..8 {
        let (sc, m) = scale_min_k4(sb, scales);
        let d1 = d * sc as f32;
        let m1 = dmin * m as f32;
        // Sub-blocks 2c and 2c+1 share 32 bytes: low nibbles, then high nibbles.
        let (c, shift) = (sb / 2, 4 * (sb % 2));
        for l in 0..32 {
            let q = (qs[c * 32 + l] >> shift) & 0x0F;
            y[sb * 32 + l] = d1 * q as f32 - m1;
        }
    }
}

/// `{ f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }`: like Q4_K with a fifth
/// bit per value, bit `sb` of `qh[l]`.
fn q5_k(s: &[u8], y: &mut [f32]) {
    let d = half16(s);
    let dmin = half16(&s[2..]);
    let scales = &s[4..16];
    let qh = &s[16..48];
    let qs = &s[48..176];
    for sb in 0..8 {
        let (sc, m) = scale_min_k4(sb, scales);
        let d1 = d * sc as f32;
        let m1 = dmin * m as f32;
        let (c, shift) = (sb / 2, 4 * (sb % 2));
        for l in 0..32 {
            let q = ((qs[c * 32 + l] >> shift) & 0x0F) | (((qh[l] >> sb) & 1) << 4);
            y[sb * 32 + l] = d1 * q as f32 - m1;
        }
    }
}

/// `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`: 6-bit values (low 4 bits in ql,
/// high 2 in qh) minus 32; x = (d·sc)·q.
fn q6_k(s: &[u8], y: &mut [f32]) {
    let ql = &s[0..128];
    let qh = &s[128..192];
    let scales = &s[192..208];
    let d = half16(&s[208..]);
    for i in 0..QK_K {
        // Each 128-element half uses 64 bytes of ql (low then high nibbles) and 32 of qh
        // (four 2-bit planes).
        let (half, r) = (i / 128, i % 128);
        let low = (ql[half * 64 + r % 64] >> (4 * (r / 64))) & 0x0F;
        let high = (qh[half * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
        let q = (low | (high << 4)) as i8 - 32;
        let dl = d * scales[i / 16] as i8 as f32;
        y[i] = dl * q as f32;
    }
}

/// `{ f32 d; i8 qs[256]; i16 bsums[16] }`: x = d·q (bsums only speed up dot products).
fn q8_k(s: &[u8], y: &mut [f32]) {
    let d = f32::from_le_bytes(arr(s));
    for (yj, &q) in y.iter_mut().zip(&s[4..4 + QK_K]) {
        *yj = d * q as i8 as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16b(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_bits().to_le_bytes()
    }

    #[test]
    fn q4_0_block_by_hand() {
        // d = 0.5; byte j = (hi << 4) | lo with lo = j, hi = 15 - j.
        let mut b = f16b(0.5).to_vec();
        b.extend((0..16u8).map(|j| ((15 - j) << 4) | j));
        let mut y = [0f32; 32];
        assert!(dequantize_into(GgmlType::Q4_0, &b, &mut y));
        for j in 0..16 {
            assert_eq!(y[j], (j as f32 - 8.0) * 0.5);
            assert_eq!(y[j + 16], (7.0 - j as f32) * 0.5);
        }
    }

    #[test]
    fn q4_1_and_q8_0_blocks_by_hand() {
        let mut b = f16b(0.25).to_vec();
        b.extend(f16b(-1.0));
        b.extend((0..16u8).map(|j| (j << 4) | (15 - j)));
        let mut y = [0f32; 32];
        assert!(dequantize_into(GgmlType::Q4_1, &b, &mut y));
        assert_eq!(y[0], 15.0 * 0.25 - 1.0);
        assert_eq!(y[16], -1.0);
        assert_eq!(y[31], 15.0 * 0.25 - 1.0);

        let mut b = f16b(2.0).to_vec();
        b.extend((0..32).map(|j| (j as i8 - 16) as u8));
        assert!(dequantize_into(GgmlType::Q8_0, &b, &mut y));
        assert!(
            y.iter()
                .enumerate()
                .all(|(j, &v)| v == (j as f32 - 16.0) * 2.0)
        );
    }

    #[test]
    fn q5_0_uses_the_high_bit_mask() {
        let mut b = f16b(1.0).to_vec();
        b.extend(0x8000_0001u32.to_le_bytes()); // high bit for elements 0 and 31
        b.extend([0u8; 16]);
        let mut y = [0f32; 32];
        assert!(dequantize_into(GgmlType::Q5_0, &b, &mut y));
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], -16.0);
        assert_eq!(y[31], 0.0);
    }

    #[test]
    fn rejects_mismatched_lengths_and_unsupported_types() {
        let mut y = [0f32; 32];
        assert!(!dequantize_into(GgmlType::Q4_0, &[0u8; 17], &mut y));
        assert!(!dequantize_into(GgmlType::Q4_0, &[0u8; 18], &mut y[..16]));
        assert!(!dequantize_into(GgmlType::IQ4_NL, &[0u8; 18], &mut y));
    }
}
