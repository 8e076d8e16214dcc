"""Statistics, normalization and small math functions, built from catalogue ops.

Each function is a composition: autodiff, fusion and both backends handle it with no new
kernel. Where PyTorch fixes a subgradient (clip at its bounds, norm at 0) the composition is
chosen to give PyTorch's value.
"""

from __future__ import annotations

from typing import Any

from graphc import ops
from graphc.frontend import functional as fn
from graphc.frontend.api import apply
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.types import dim_prod, is_static
from graphc.ops._rules import canon_axes

__all__ = ["clip", "dropout", "expm1", "isfinite", "isinf", "isnan", "layer_norm", "norm",
           "rms_norm", "silu", "std", "stop_gradient", "var"]


def expm1(x: Any) -> Tensor:
    """exp(x) - 1, accurate for small x."""
    return apply(ops.expm1, x)


def stop_gradient(x: Any) -> Tensor:
    """x itself, through which no gradient flows (torch's ``detach``, JAX's stop_gradient)."""
    return apply(ops.stop_gradient, x)


def isnan(x: Tensor) -> Tensor:
    """Where x is NaN (x != x: only NaN differs from itself)."""
    return fn.not_equal(x, x)


def isinf(x: Tensor) -> Tensor:
    """Where x is +inf or -inf."""
    return fn.equal(fn.abs(x), float("inf"))


def isfinite(x: Tensor) -> Tensor:
    """Where x is neither infinite nor NaN (NaN compares false)."""
    return fn.less(fn.abs(x), float("inf"))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (swish)."""
    return x * fn.sigmoid(x)


def clip(x: Tensor, low: Any = None, high: Any = None) -> Tensor:
    """x limited to [low, high] (either may be None). The gradient is 1 where x lies in the
    closed interval, bounds included, and 0 outside, as torch.clamp's."""
    if low is None and high is None:
        raise GraphcError("clip needs low, high or both")
    y = x if low is None else fn.where(fn.less(x, low), low, x)
    return y if high is None else fn.where(fn.greater(y, high), high, y)


def _axes(x: Tensor, axis: Any) -> tuple[int, ...]:
    return canon_axes(None if axis is None else
                      ((axis,) if isinstance(axis, int) else tuple(axis)), x.ndim)


def _count(x: Tensor, axes: tuple[int, ...]) -> Tensor | float:
    """How many elements each reduction over ``axes`` sees (a graph value if symbolic)."""
    n = dim_prod(tuple(x.shape[a] for a in axes))
    if is_static(n):
        return float(n)
    return fn.sum(fn.ones_like(x), axis=axes, keepdims=True)


def var(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis``, dividing by n - ddof (ddof=1: the unbiased estimate)."""
    axes = _axes(x, axis)
    centered = x - fn.mean(x, axis=axes, keepdims=True)
    total = fn.sum(fn.square(centered), axis=axes, keepdims=True)
    n = _count(x, axes)
    out = total / (n - ddof) if ddof else total / n
    return out if keepdims else fn.squeeze(out, axis=axes) if axes else out


def std(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation: sqrt(var(x, axis, keepdims, ddof))."""
    return fn.sqrt(var(x, axis, keepdims, ddof))


def norm(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The L2 norm over ``axis``; its gradient at x = 0 is 0 (torch.linalg.vector_norm's),
    not the NaN of sqrt's derivative at 0."""
    s = fn.sum(fn.square(x), axis=axis, keepdims=keepdims)
    positive = fn.greater(s, 0.0)
    return fn.where(positive, fn.sqrt(fn.where(positive, s, 1.0)), 0.0)


def layer_norm(x: Tensor, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last axis to mean 0 and variance 1, then scale and shift
    (torch.nn.functional.layer_norm with normalized_shape = the last dim)."""
    y = apply(ops.layer_norm, x, eps=eps)  # one kernel forward, one backward
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def rms_norm(x: Tensor, weight: Any = None, eps: float = 1e-6) -> Tensor:
    """x / sqrt(mean(x**2) + eps) over the last axis, times ``weight`` (torch's rms_norm)."""
    y = x * fn.rsqrt(fn.mean(fn.square(x), axis=-1, keepdims=True) + eps)
    return y if weight is None else y * weight


def dropout(x: Tensor, p: float, key: Tensor | None = None, training: bool = True) -> Tensor:
    """Inverted dropout: each element zeroed with probability ``p``, the rest scaled by
    1 / (1 - p), so the expectation is x; the identity when not training or p = 0."""
    if not 0.0 <= p < 1.0:
        raise GraphcError(f"dropout p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    if key is None:
        raise GraphcError("dropout in training needs a random key (gc.random.key / next_key)")
    from graphc.frontend import random

    keep = fn.greater_equal(random.uniform(key, x.shape, x.dtype), p)
    return fn.where(keep, x * (1.0 / (1.0 - p)), 0.0)
