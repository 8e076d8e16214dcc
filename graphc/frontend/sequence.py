"""Index-producing and along-an-axis functions: arange, tril/triu, causal masks, tile/repeat,
gather, sort/argsort/topk, cumsum. Symbolic dims work wherever the result's shape can be
spelled (arange("T"), tril of [B, T, T], ...)."""

from __future__ import annotations

from typing import Any

from graphc import ops
from graphc.frontend import functional as fn
from graphc.frontend import shaping
from graphc.frontend.api import apply
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph
from graphc.ir.types import Dim, as_dtype, check_dim, dim_mul
from graphc.ops.indexing import END

__all__ = ["arange", "argsort", "causal_mask", "cumsum", "gather", "repeat", "sort",
           "take_along_axis", "tile", "topk", "tril", "triu"]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def arange(start: Dim, stop: Dim | None = None, step: int = 1, dtype: Any = "int64") -> Tensor:
    """0, 1, ... like np.arange; ``stop`` may be a symbolic dim ("T", or x.shape[1]) when
    start is 0 and step 1, so masks for a symbolic sequence length are built in the graph."""
    if stop is None:
        start, stop = 0, start
    dt = as_dtype(dtype)
    if not _is_int(stop):
        if (start, step) != (0, 1):
            raise GraphcError(f"arange to a symbolic stop {stop!r} needs start 0 and step 1")
        return apply(ops.iota, shape=(check_dim(stop),), dtype=dt)
    if not (_is_int(start) and _is_int(step)) or step == 0:
        raise GraphcError(f"arange takes int start/stop and a nonzero int step, got "
                          f"{start!r}, {stop!r}, {step!r}")
    n = len(range(start, stop, step))
    out = apply(ops.iota, shape=(n,), dtype=dt)
    if step != 1:
        out = out * step
    return out + start if start else out


def _iota(graph: Graph, shape: tuple, axis: int) -> Tensor:
    with graph:  # an op without operands lands in the active graph: make it x's
        return apply(ops.iota, shape=shape, axis=axis)


def _offsets(x: Tensor) -> Tensor:
    """col - row for the last two axes of x, as an int64 [rows, cols] grid."""
    if x.ndim < 2:
        raise GraphcError(f"tril/triu need rank >= 2, got {x.type}")
    shape = tuple(x.shape[-2:])
    return _iota(x.graph, shape, 1) - _iota(x.graph, shape, 0)


def tril(x: Tensor, k: int = 0) -> Tensor:
    """x with the elements above the k-th diagonal set to 0 (np.tril, on the last two axes)."""
    return fn.where(fn.less_equal(_offsets(x), k), x, 0)


def triu(x: Tensor, k: int = 0) -> Tensor:
    """x with the elements below the k-th diagonal set to 0 (np.triu)."""
    return fn.where(fn.greater_equal(_offsets(x), k), x, 0)


def causal_mask(t: Dim, s: Dim | None = None) -> Tensor:
    """A bool [t, s] mask, True where key position j <= query position i (True = attend)."""
    shape = (check_dim(t), check_dim(t if s is None else s))
    return fn.less_equal(apply(ops.iota, shape=shape, axis=1), apply(ops.iota, shape=shape, axis=0))


def tile(x: Tensor, reps: Any) -> Tensor:
    """x repeated ``reps[i]`` times along axis i (np.tile)."""
    reps = (reps,) if _is_int(reps) else tuple(reps)
    rank = max(len(reps), x.ndim)
    reps = (1,) * (rank - len(reps)) + reps
    shape = (1,) * (rank - x.ndim) + tuple(x.shape)
    paired = tuple(d for pair in ((1, d) for d in shape) for d in pair)
    wide = tuple(d for r, s in zip(reps, shape, strict=True) for d in (r, s))
    out = fn.broadcast_to(fn.reshape(x, paired), wide)
    return fn.reshape(out, tuple(dim_mul(r, s) for r, s in zip(reps, shape, strict=True)))


def repeat(x: Tensor, repeats: int, axis: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``axis`` (np.repeat; None: flattened)."""
    if not _is_int(repeats) or repeats < 0:
        raise GraphcError(f"repeat takes a non-negative int count, got {repeats!r}")
    if axis is None:
        x, axis = fn.reshape(x, (-1,)), 0
    axis = axis % x.ndim
    shape = tuple(x.shape)
    inserted = shape[: axis + 1] + (1,) + shape[axis + 1:]
    wide = shape[: axis + 1] + (repeats,) + shape[axis + 1:]
    out = fn.broadcast_to(fn.reshape(x, inserted), wide)
    return fn.reshape(out, shape[:axis] + (dim_mul(shape[axis], repeats),) + shape[axis + 1:])


def gather(x: Tensor, indices: Any, axis: int = -1) -> Tensor:
    """x's elements at ``indices`` along ``axis`` (np.take_along_axis, torch.gather)."""
    return apply(ops.gather, x, indices, axis=axis)


take_along_axis = gather  # NumPy's name (arguments in NumPy's order)


def argsort(x: Tensor, axis: int = -1, descending: bool = False) -> Tensor:
    """Indices that sort x along ``axis``, stably (int64)."""
    return apply(ops.argsort, x, axis=axis, descending=descending)


def sort(x: Tensor, axis: int = -1, descending: bool = False) -> tuple[Tensor, Tensor]:
    """(sorted values, their indices) along ``axis``, as torch.sort; stable."""
    idx = argsort(x, axis, descending)
    return gather(x, idx, axis), idx


def topk(x: Tensor, k: int, axis: int = -1, largest: bool = True) -> tuple[Tensor, Tensor]:
    """(the k largest values, their indices) along ``axis`` (largest=False: the k smallest)."""
    axis = axis % x.ndim
    d = x.shape[axis]
    if not _is_int(k) or k < 0 or (_is_int(d) and k > d):
        raise GraphcError(f"topk k must be an int in [0, {d}], got {k!r}")
    idx = argsort(x, axis, descending=largest)
    end = tuple(k if a == axis else END for a in range(x.ndim))
    idx = shaping.slice(idx, (0,) * x.ndim, end)
    return gather(x, idx, axis), idx


def cumsum(x: Tensor, axis: int | None = None) -> Tensor:
    """Running sum along ``axis`` (None: of x flattened), as np.cumsum."""
    if axis is None:
        x, axis = fn.reshape(x, (-1,)), 0
    return apply(ops.cumsum, x, axis=axis)
