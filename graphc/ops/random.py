"""Counter-based random numbers: Threefry-2x32 (20 rounds) as pure functions of (key, index).

A key is an ``i32[2]`` value (the two 32-bit words of the Threefry key, stored as int32 bit
patterns). Element ``i`` (row-major) of a draw hashes the 64-bit counter ``i`` split into its
(high, low) words under the key, and uses ``x0 ^ x1`` of the two result words. This is JAX's
"partitionable" Threefry layout, so ``random_bits`` equals ``jax.random.bits`` and
``random_uniform`` equals ``jax.random.uniform`` bit for bit for the same key data.

Why Threefry-2x32 and not Philox-4x32-10: it needs only 32-bit add, rotate and xor (no 32x32->64
multiply-high), which NumPy does on uint32 arrays without widening and LLVM vectorizes on any
target; every element is independent of the others (no 4-word block to split across
elements), so a kernel is a plain loop over the linear index; and it gives an independent
reference to test against (JAX).

Each op is a pure function of its key and shape: CSE merges identical draws (they are the same
numbers), and a fresh stream needs a fresh key (``gc.random.split``).
"""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import DTypeError, ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType, float32, int32
from graphc.ops._cost import free
from graphc.ops.shape import concrete, fmt

__all__ = ["random_bits", "random_uniform", "threefry2x32"]

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
PARITY = 0x1BD11BDA  # Threefry's key-schedule constant


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k0: int, k1: int, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, ...]:
    """Threefry-2x32, 20 rounds, on uint32 counter words (Salmon et al. 2011, as in JAX)."""
    ks = [np.uint32(k0), np.uint32(k1), np.uint32(k0 ^ k1 ^ PARITY)]
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _key_words(key: np.ndarray) -> tuple[int, int]:
    words = np.ascontiguousarray(key).view(np.uint32)
    return int(words[0]), int(words[1])


def _bits32(key: np.ndarray, n: int) -> np.ndarray:
    """x0 ^ x1 of the counters 0..n-1 (n < 2**32 here: the high counter word is 0)."""
    k0, k1 = _key_words(key)
    count = np.arange(n, dtype=np.uint64)
    hi, lo = (count >> np.uint64(32)).astype(np.uint32), count.astype(np.uint32)
    with np.errstate(over="ignore"):
        y0, y1 = threefry2x32(k0, k1, hi, lo)
    return y0 ^ y1


def _check_key(t: TensorType) -> None:
    if t.dtype != int32 or t.shape != (2,):
        raise ShapeError(f"a random key is i32[2] (gc.random.key), got {t}")


def _bits_rule(in_types, attrs) -> list[TensorType]:
    _check_key(in_types[0])
    if any(isinstance(d, int) and d < 0 for d in attrs["shape"]):
        raise ShapeError(f"shape {fmt(attrs['shape'])} has a negative dim")
    return [TensorType(int32, attrs["shape"])]


def _bits_kernel(key: np.ndarray, shape) -> np.ndarray:
    dims = concrete(shape)
    return _bits32(key, int(np.prod(dims, dtype=np.int64))).view(np.int32).reshape(dims)


random_bits = register(OpDef(
    "random_bits", "random", _bits_rule, _bits_kernel,
    attrs={"shape": AttrSpec("dims")}, differentiable=False,
    cost=free, doc="32 random bits per element (int32 bit patterns) from a Threefry-2x32 key",
))


def _uniform_rule(in_types, attrs) -> list[TensorType]:
    (t,) = _bits_rule(in_types, attrs)
    if not attrs["dtype"].is_float:
        raise DTypeError(f"random_uniform makes floats, got dtype {attrs['dtype']}")
    return [t.with_dtype(attrs["dtype"])]


def _unit_f32(bits: np.ndarray) -> np.ndarray:
    # the top 23 bits as a mantissa of a float in [1, 2), minus 1: exact in any backend
    return ((bits >> np.uint32(9)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)


def _unit_f64(bits: np.ndarray) -> np.ndarray:
    # 32 bits give 2**32 equally spaced values in [0, 1) (JAX widens 64-bit draws the same way
    # only with two counters; one counter keeps f32 and f64 streams aligned)
    return bits.astype(np.float64) * 2.0**-32


def _uniform_kernel(key: np.ndarray, shape, dtype) -> np.ndarray:
    dims = concrete(shape)
    bits = _bits32(key, int(np.prod(dims, dtype=np.int64)))
    unit = _unit_f32 if dtype == float32 else _unit_f64
    return unit(bits).reshape(dims)


random_uniform = register(OpDef(
    "random_uniform", "random", _uniform_rule, _uniform_kernel,
    attrs={"shape": AttrSpec("dims"), "dtype": AttrSpec("dtype", float32)},
    differentiable=False,
    cost=free, doc="uniform floats in [0, 1) from a Threefry-2x32 key",
))
