"""Parameter initializers (gc.init): NumPy arrays to pass to gc.parameter.

Fans follow PyTorch's ``_calculate_fan_in_and_fan_out`` adapted to graphc's layouts: a rank-2
weight is a dense ``[in, out]`` matrix (graphc's ``x @ w`` convention, the transpose of
PyTorch's Linear), a rank >= 3 weight is a convolution ``[out, in, *kernel]`` (OIHW).

Every random initializer takes ``seed`` (an int for reproducible values, a
``np.random.Generator`` to share one stream, or None for fresh entropy) and ``dtype``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.ir.types import as_dtype

Shape = int | Sequence[int]
Seed = int | np.random.Generator | None

# PyTorch's calculate_gain for the nonlinearities he_* is commonly used with.
_GAINS: dict[str, float] = {
    "linear": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "selu": 0.75,
}


def _shape(shape: Shape) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, int | np.integer) and d >= 0 for d in dims):
        raise GraphcError(f"an initializer shape must be non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _float_dtype(dtype: Any) -> np.dtype:
    dt = as_dtype(dtype)
    if not dt.is_float:
        raise GraphcError(f"random initializers make floating-point arrays, not {dt.name}")
    return dt.np


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: dense [in, out] or conv [out, in, *kernel]."""
    dims = _shape(shape)
    if len(dims) < 2:
        raise GraphcError(f"fan in/out needs a weight of rank >= 2, got shape {list(dims)}")
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def _gain(nonlinearity: str) -> float:
    if nonlinearity not in _GAINS:
        known = ", ".join(sorted(_GAINS))
        raise GraphcError(f"unknown nonlinearity {nonlinearity!r}; expected one of {known}")
    return _GAINS[nonlinearity]


def _fan(shape: Shape, mode: str) -> int:
    fan_in, fan_out = fans(shape)
    table = {"fan_in": fan_in, "fan_out": fan_out}
    if mode not in table:
        raise GraphcError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return table[mode]


def zeros(shape: Shape, dtype: Any = "float32") -> np.ndarray:
    """An array of zeros."""
    return np.zeros(_shape(shape), as_dtype(dtype).np)


def ones(shape: Shape, dtype: Any = "float32") -> np.ndarray:
    """An array of ones."""
    return np.ones(_shape(shape), as_dtype(dtype).np)


def uniform(
    shape: Shape, low: float = 0.0, high: float = 1.0, seed: Seed = None, dtype: Any = "float32"
) -> np.ndarray:
    """Samples of U(low, high)."""
    if not low <= high:
        raise GraphcError(f"uniform needs low <= high, got low={low}, high={high}")
    dt = _float_dtype(dtype)
    return _rng(seed).uniform(low, high, _shape(shape)).astype(dt)


def normal(
    shape: Shape, mean: float = 0.0, std: float = 1.0, seed: Seed = None, dtype: Any = "float32"
) -> np.ndarray:
    """Samples of N(mean, std**2)."""
    if std < 0:
        raise GraphcError(f"normal needs std >= 0, got {std}")
    dt = _float_dtype(dtype)
    return _rng(seed).normal(mean, std, _shape(shape)).astype(dt)


def glorot_uniform(
    shape: Shape, gain: float = 1.0, seed: Seed = None, dtype: Any = "float32"
) -> np.ndarray:
    """Xavier/Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform(shape, -bound, bound, seed, dtype)


def glorot_normal(
    shape: Shape, gain: float = 1.0, seed: Seed = None, dtype: Any = "float32"
) -> np.ndarray:
    """Xavier/Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return normal(shape, 0.0, std, seed, dtype)


def he_uniform(
    shape: Shape,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    seed: Seed = None,
    dtype: Any = "float32",
) -> np.ndarray:
    """Kaiming/He uniform: U(-b, b) with b = gain * sqrt(3 / fan) (gain sqrt(2) for relu)."""
    bound = _gain(nonlinearity) * math.sqrt(3.0 / max(_fan(shape, mode), 1))
    return uniform(shape, -bound, bound, seed, dtype)


def he_normal(
    shape: Shape,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    seed: Seed = None,
    dtype: Any = "float32",
) -> np.ndarray:
    """Kaiming/He normal: N(0, std**2) with std = gain / sqrt(fan) (gain sqrt(2) for relu)."""
    std = _gain(nonlinearity) / math.sqrt(max(_fan(shape, mode), 1))
    return normal(shape, 0.0, std, seed, dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal  # PyTorch's names
kaiming_uniform, kaiming_normal = he_uniform, he_normal

__all__ = [
    "fans", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal",
    "kaiming_uniform", "normal", "ones", "uniform", "xavier_normal", "xavier_uniform", "zeros",
]
