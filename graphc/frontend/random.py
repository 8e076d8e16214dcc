"""Random numbers in the graph (gc.random), in JAX's explicit-key style.

A key is an ``i32[2]`` Tensor; every draw is a pure function of its key and shape, so the same
key gives the same numbers on every backend (Threefry-2x32; see graphc.ops.random). Use a key
once and ``split`` it for more streams::

    key = gc.random.key(0)
    k1, k2 = gc.random.split(key)
    w = gc.random.normal(k1, (784, 10))
    mask = gc.random.bernoulli(k2, 0.9, ("B", 10))     # symbolic dims bound at call time

A training step that needs fresh numbers on every call keeps its key as graph state::

    rng = gc.random.state("rng", seed=0)                 # a parameter, saved by gc.save
    sub, rng_update = gc.random.next_key(rng)            # sub: this step's key
    step = gc.function([...], [...], updates=[*opt_updates, rng_update])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphc import ops
from graphc.frontend import functional as fn
from graphc.frontend.api import apply, constant, parameter
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.types import as_dtype

__all__ = ["bernoulli", "bits", "key", "next_key", "normal", "split", "state", "uniform"]


def key_data(seed: int) -> np.ndarray:
    """The ``i32[2]`` words of the key for an integer seed: (high, low) 32 bits, as in JAX."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise GraphcError(f"a random seed must be an int, got {seed!r}")
    seed = int(seed) % 2**64
    return np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32).view(np.int32)


def key(seed: int) -> Tensor:
    """A constant key for ``seed`` in the current graph."""
    return constant(key_data(seed))


def state(name: str, seed: int) -> Tensor:
    """A key held as a graph parameter ``name``: advance it with ``next_key`` each call."""
    return parameter(name, key_data(seed))


def _key(k: Any) -> Tensor:
    if not isinstance(k, Tensor):
        raise GraphcError(f"expected a random key Tensor (gc.random.key), got {k!r}")
    return k


def _shape(shape: Any) -> tuple:
    return (shape,) if isinstance(shape, (int, str)) else tuple(shape)


def bits(k: Tensor, shape: Any = ()) -> Tensor:
    """32 random bits per element, as int32 bit patterns."""
    return apply(ops.random_bits, _key(k), shape=_shape(shape))


def split(k: Tensor, n: int = 2) -> list[Tensor]:
    """``n`` new independent keys derived from ``k`` (do not use ``k`` itself afterwards):
    the random bits of k's first 2n counters (not the keys jax.random.split makes)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GraphcError(f"split needs a positive int count, got {n!r}")
    words = bits(k, (n, 2))
    return [words[i] for i in range(n)]


def next_key(k: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """(a key for this call, the ``(k, new k)`` update that advances the state ``k``)."""
    if k.ir.param is None:
        raise GraphcError(f"next_key advances a key parameter (gc.random.state), got {k!r}")
    new, sub = split(k, 2)
    return sub, (k, new)


def uniform(k: Tensor, shape: Any = (), dtype: Any = "float32", low: Any = 0.0,
            high: Any = 1.0) -> Tensor:
    """Uniform floats in [low, high)."""
    dt = as_dtype(dtype)
    u = apply(ops.random_uniform, _key(k), shape=_shape(shape), dtype=dt)
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        if (low, high) == (0.0, 1.0):
            return u
        return u * float(high - low) + float(low)
    return u * (high - low) + low


def normal(k: Tensor, shape: Any = (), dtype: Any = "float32") -> Tensor:
    """Standard normal floats (Box-Muller on two uniform draws)."""
    k1, k2 = split(k, 2)
    u1 = 1.0 - uniform(k1, shape, dtype)  # in (0, 1]: log never sees 0
    theta = uniform(k2, shape, dtype) * (2.0 * math.pi)
    return fn.sqrt(fn.log(u1) * -2.0) * fn.cos(theta)


def bernoulli(k: Tensor, p: Any = 0.5, shape: Any = None) -> Tensor:
    """Booleans that are True with probability ``p`` (shape defaults to p's)."""
    if shape is None:
        shape = p.shape if isinstance(p, Tensor) else ()
    dtype = p.dtype if isinstance(p, Tensor) else "float32"
    if not isinstance(p, Tensor) and not 0.0 <= p <= 1.0:
        raise GraphcError(f"bernoulli p must be in [0, 1], got {p}")
    return fn.less(uniform(k, shape, dtype), p)
