#!/usr/bin/env python3
"""Reference values for rad3d-llm's GGUF dequantization (developer tool, not run by CI).

Prints two things, computed with gguf-py's `gguf.quants.dequantize` (the reference
llama.cpp ships):

1. For every block format the crate dequantizes, the digest (see `digest`) of the f32 bits
   of 4 pseudo-random blocks (bytes from the same xorshift generator the Rust test uses,
   with the f16/f32 scale fields forced to finite positive values) and a few values.
   These constants live in crates/rad3d-llm/tests/gguf_dequant.rs.
2. With a GGUF path argument: per-tensor digests of the dequantized f32 bits of every
   tensor and their sum mod 2^64, for
   crates/rad3d-llm/tests/gguf_smollm2.rs.

Usage: .venv-ref/bin/python scripts/reference/gguf_dequant_reference.py [file.gguf]
"""
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

MASK = (1 << 64) - 1


def digest(y: np.ndarray) -> int:
    """sum(bits[i] * (2i + 1)) mod 2^64 over the f32 bit patterns: every multiplier is odd,
    so changing any single value changes the digest. Same formula in the Rust tests."""
    bits = y.astype(np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        return int(np.sum(bits * weights, dtype=np.uint64))


class XorShift:
    def __init__(self, seed: int):
        self.s = seed & MASK

    def next(self) -> int:
        x = self.s
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        self.s = x
        return x

    def byte(self) -> int:
        return self.next() >> 56


# Byte offsets of the f16 scale fields within one block (f32 for Q8_K).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
ELEMENTWISE_F16 = {T.F16, T.BF16}


def make_blocks(qtype, n_blocks: int, seed: int) -> bytes:
    block, size = GGML_QUANT_SIZES[qtype]
    rng = XorShift(seed)
    buf = bytearray(rng.byte() for _ in range(n_blocks * size))
    fields = F16_FIELDS.get(qtype, [])
    if qtype in ELEMENTWISE_F16:
        fields = list(range(0, size, 2))
    for b in range(n_blocks):
        for off in fields:
            i = b * size + off
            # Sign 0, exponent in 8..15 for f16 (2^-7 .. 1) or bf16 (tiny but finite).
            bits = (buf[i] | (buf[i + 1] << 8)) & 0x1FFF | 0x2000
            buf[i], buf[i + 1] = bits & 0xFF, bits >> 8
    return bytes(buf)


def vectors():
    for qtype in [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
                  T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
        block, size = GGML_QUANT_SIZES[qtype]
        n = 4
        data = make_blocks(qtype, n, seed=0x9E3779B97F4A7C15 ^ qtype.value)
        arr = np.frombuffer(data, dtype=np.uint8).reshape(1, n * size)
        y = dequantize(arr, qtype).reshape(-1).astype(np.float32)
        assert y.size == n * block
        h = digest(y)
        probe = [float(y[i]) for i in (0, 1, block - 1, y.size - 1)]
        print(f"(GgmlType::{qtype.name}, 0x{h:016x}, {probe!r}),")


def file_digests(path: str):
    r = GGUFReader(path)
    total = 0
    for t in r.tensors:
        y = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        h = digest(y)
        total = (total + h) & MASK
        print(f"{t.name} {t.tensor_type.name} 0x{h:016x} sum={float(y.astype(np.float64).sum())!r}")
    print(f"ALL 0x{total:016x}")


if __name__ == "__main__":
    vectors()
    if len(sys.argv) > 1:
        file_digests(sys.argv[1])
