"""Shape, indexing and linear-algebra ops as NumPy-like functions (gc.reshape, x[...], @)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc import ops
from graphc.frontend.api import apply, constant_in, default_graph
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import AttributeError_, GraphcError, ShapeError
from graphc.ir.loc import user_loc
from graphc.ir.types import Dim, is_static
from graphc.ops.indexing import END

__all__ = [
    "broadcast_to", "concat", "concatenate", "expand_dims", "flatten", "getitem", "matmul",
    "one_hot", "pad", "reshape", "slice", "split", "squeeze", "stack", "take", "transpose",
]


def _fail(error: type[GraphcError], op: str, message: str) -> GraphcError:
    """An error raised before the op is built, located like the op's own errors."""
    return error(f"{op} at {user_loc()}: {message}")


def _tuple(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def reshape(x: Any, shape: Any) -> Tensor:
    """x with a new shape; one dim may be -1 (inferred, symbolic dims included)."""
    return apply(ops.reshape, x, shape=_tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """x with its axes permuted; no axes reverses them (x.T)."""
    return apply(ops.transpose, x, perm=None if axes is None else _tuple(axes))


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """x broadcast to ``shape`` by NumPy's rules."""
    return apply(ops.broadcast_to, x, shape=_tuple(shape))


def expand_dims(x: Any, axis: int | Sequence[int]) -> Tensor:
    """x with new size-1 axes at ``axis`` (positions in the result)."""
    return apply(ops.expand_dims, x, axis=_tuple(axis))


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """x without the size-1 axes ``axis`` (all of them when None)."""
    return apply(ops.squeeze, x, axis=None if axis is None else _tuple(axis))


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Axes start_axis..end_axis merged into one, as torch.flatten."""
    return apply(ops.flatten, x, start_axis=start_axis, end_axis=end_axis)


def concat(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """The tensors of ``xs`` joined along ``axis``."""
    if isinstance(xs, Tensor) or not isinstance(xs, (tuple, list)):
        raise _fail(AttributeError_, "concat", "expects a list or tuple of tensors")
    return apply(ops.concat, *xs, axis=axis)


concatenate = concat  # NumPy's name


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """The tensors of ``xs`` joined along a new axis."""
    if isinstance(xs, Tensor) or not isinstance(xs, (tuple, list)) or not xs:
        raise _fail(AttributeError_, "stack", "expects a non-empty list or tuple of tensors")
    return concat([expand_dims(x, axis) for x in xs], axis)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """x cut along ``axis`` into equal sections (an int) or at ``indices`` (as np.split)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        out = apply(ops.split, x, axis=axis, sections=indices_or_sections)
    else:
        out = apply(ops.split, x, axis=axis, indices=_tuple(indices_or_sections))
    return list(out) if isinstance(out, tuple) else [out]


def slice(x: Any, begin: Sequence[int], end: Sequence[int], step: Sequence[int] | None = None,
          ) -> Tensor:
    """x[begin:end:step] on every axis, with Python's rules for the bounds."""
    return apply(ops.slice, x, begin=_tuple(begin), end=_tuple(end),
                 step=None if step is None else _tuple(step))


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """x padded with ``value``; pad_width as np.pad: n, (before, after) or one pair per axis."""
    rank = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    try:
        # dtype=object: ints beyond int64 stay ints (and make a ShapeError, not a float)
        widths = np.broadcast_to(np.asarray(pad_width, dtype=object), (rank, 2))
    except ValueError:
        raise _fail(AttributeError_, "pad", f"pad_width {pad_width!r} does not fit rank "
                    f"{rank}; expected n, (before, after) or one pair per axis") from None
    if not all(_is_int(w) for w in widths.flat):
        raise _fail(AttributeError_, "pad", f"pad_width {pad_width!r} must hold integers")
    before, after = (tuple(int(w) for w in widths[:, i]) for i in (0, 1))
    return apply(ops.pad, x, before=before, after=after, value=value)


def _indices(x: Tensor | None, indices: Any) -> Any:
    if isinstance(indices, Tensor):
        return indices
    graph = x.graph if isinstance(x, Tensor) else default_graph()
    return constant_in(graph, np.asarray(indices), None)  # ints stay integers


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of x at integer ``indices`` along ``axis`` (np.take; None: x flattened)."""
    return apply(ops.take, x, _indices(x, indices), axis=axis)


def one_hot(indices: Any, depth: int, dtype: Any = "float32") -> Tensor:
    """A trailing axis of size ``depth``: 1 at each index, 0 elsewhere (and for bad indices)."""
    return apply(ops.one_hot, _indices(None, indices), depth=depth, dtype=dtype)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with np.matmul's rules (vectors, broadcast batch dims)."""
    return apply(ops.matmul, a, b)


# --- x[...] ------------------------------------------------------------------------------
_FULL = (0, END, 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_items(items: tuple) -> None:
    for it in items:
        if isinstance(it, Tensor):
            raise _fail(GraphcError, "getitem", "a Tensor index is not basic indexing; use "
                        "gc.take(x, indices, axis) to gather")
        if isinstance(it, builtins.slice):
            bounds = (it.start, it.stop, it.step)
            if not all(b is None or _is_int(b) for b in bounds):
                raise _fail(GraphcError, "getitem", f"slice bounds must be ints or None, got "
                            f"{it!r} (graphc slices have static bounds)")
        elif not (it is None or it is Ellipsis or _is_int(it)):
            raise _fail(GraphcError, "getitem", f"index {it!r} is not supported; use ints, "
                        "slices, None and ... (gc.take gathers by an index array)")
    if sum(it is Ellipsis for it in items) > 1:
        raise _fail(GraphcError, "getitem", "an index can only have a single ellipsis ('...')")


def _expand(items: tuple, rank: int) -> list:
    used = sum(it is not None and it is not Ellipsis for it in items)
    if used > rank:
        raise _fail(ShapeError, "getitem", f"too many indices ({used}) for rank {rank}")
    fill = [builtins.slice(None)] * (rank - used)
    if Ellipsis not in items:
        return [*items, *fill]
    at = items.index(Ellipsis)
    return [*items[:at], *fill, *items[at + 1 :]]


def _int_bounds(i: int, d: Dim, axis: int) -> tuple[int, int, int]:
    if is_static(d):
        if not -d <= i < d:  # type: ignore[operator]
            raise _fail(ShapeError, "getitem", f"index {i} is out of bounds for axis {axis} "
                        f"with size {d}")
        i %= d  # type: ignore[operator]
    return i, (END if i == -1 else i + 1), 1


def _slice_bounds(s: builtins.slice) -> tuple[int, int, int]:
    step = 1 if s.step is None else int(s.step)
    if step == 0:
        raise _fail(ShapeError, "getitem", "slice step cannot be zero")
    first, last = (0, END) if step > 0 else (END, -END)
    begin = first if s.start is None else int(s.start)
    return begin, (last if s.stop is None else int(s.stop)), step


def _is_full(bounds: tuple[int, int, int], d: Dim) -> bool:
    if bounds == _FULL:
        return True
    return is_static(d) and builtins.slice(*bounds).indices(d) == (0, d, 1)  # type: ignore[arg-type]


def getitem(x: Tensor, index: Any) -> Tensor:
    """Basic indexing ``x[...]`` (ints, slices, None, ...) as a slice and a reshape."""
    items = index if isinstance(index, tuple) else (index,)
    _check_items(items)
    bounds: list[tuple[int, int, int]] = []
    plan: list[int | None] = []  # per result axis: the sliced axis it comes from, None if new
    for it in _expand(items, x.ndim):
        if it is None:
            plan.append(None)
        elif isinstance(it, builtins.slice):
            plan.append(len(bounds))
            bounds.append(_slice_bounds(it))
        else:
            bounds.append(_int_bounds(int(it), x.shape[len(bounds)], len(bounds)))
    out = x
    if not all(_is_full(b, d) for b, d in zip(bounds, x.shape, strict=True)):
        begin, end, step = (tuple(col) for col in zip(*bounds, strict=True))
        out = apply(ops.slice, x, begin=begin, end=end, step=step)
    shape = tuple(1 if a is None else out.shape[a] for a in plan)
    return out if shape == out.shape else apply(ops.reshape, out, shape=shape)
