"""Catalogue cases for the random ops; ``ref`` is Threefry-2x32 written out on Python ints."""

from __future__ import annotations

import numpy as np

from tests.op_cases import Case

MASK = 0xFFFFFFFF
ROT = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry_scalar(k0: int, k1: int, x0: int, x1: int) -> tuple[int, int]:
    """Threefry-2x32-20 (Salmon et al., Random123) on one counter, Python ints mod 2**32."""
    ks = (k0, k1, k0 ^ k1 ^ 0x1BD11BDA)
    x0, x1 = (x0 + ks[0]) & MASK, (x1 + ks[1]) & MASK
    for i in range(5):
        for r in ROT[i % 2]:
            x0 = (x0 + x1) & MASK
            x1 = (((x1 << r) | (x1 >> (32 - r))) & MASK) ^ x0
        x0 = (x0 + ks[(i + 1) % 3]) & MASK
        x1 = (x1 + ks[(i + 2) % 3] + i + 1) & MASK
    return x0, x1


def ref_bits(key: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Element i = x0 ^ x1 of counter (i >> 32, i & MASK), as uint32."""
    k0, k1 = (int(w) for w in key.view(np.uint32))
    n = int(np.prod(shape, dtype=np.int64))
    words = [np.uint32(a ^ b) for a, b in (threefry_scalar(k0, k1, i >> 32, i & MASK)
                                           for i in range(n))]
    return np.array(words, np.uint32).reshape(shape)


def ref_uniform(key: np.ndarray, shape: tuple[int, ...], dtype) -> np.ndarray:
    bits = ref_bits(key, shape).astype(np.float64)
    if dtype == np.float64:
        return bits / 2.0**32
    return (np.floor(bits / 2**9) / 2**23).astype(np.float32)  # the top 23 bits


def key(*words: int):
    return lambda rng: [np.array(words, np.uint32).view(np.int32)]


CASES = [
    Case("random_bits", key(0, 42), {"shape": (3, 5)}, "jax-key-42",
         ref=lambda k: ref_bits(k, (3, 5)).view(np.int32)),
    Case("random_bits", key(0xDEADBEEF, 7), {"shape": (0, 4)}, "empty",
         ref=lambda k: np.zeros((0, 4), np.int32)),
    Case("random_uniform", key(123, 0xFFFFFFFF), {"shape": (4, 33)}, "f32",
         ref=lambda k: ref_uniform(k, (4, 33), np.float32)),
    Case("random_uniform", key(9, 9), {"shape": (17,), "dtype": "float64"}, "f64",
         ref=lambda k: ref_uniform(k, (17,), np.float64)),
]
