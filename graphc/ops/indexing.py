"""Indexing ops: slice (and its gradient slice_grad), pad, take (and take_grad), one_hot.

slice bounds follow Python's rules per axis. On a static axis the canonical form is the
normalized, in-range bounds. ``END`` (2**31 - 1) and ``-END`` stand for "past the end" and
"before the start" (Python's None), which is how full slices keep symbolic dims: ``x[:, ::-1]``
on ``f32[B,4]`` is ``begin = [0, 3], end = [END, -5], step = [1, -1]``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import numpy as np

from graphc.ir.errors import AttributeError_, DTypeError, ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import Dim, TensorType, as_dtype, float32, is_static
from graphc.ops._cost import free
from graphc.ops._rules import canon_axis
from graphc.ops.shape import concrete, fmt

__all__ = ["slice", "slice_grad", "pad", "take", "take_grad", "one_hot"]

END = 2**31 - 1

# --- slice -----------------------------------------------------------------------------


def _canon_bounds(d: Dim, b: int, e: int, s: int) -> tuple[int, int, int]:
    if s == 0:
        raise AttributeError_("slice step cannot be zero")
    if not is_static(d):
        return max(-END, min(b, END)), max(-END, min(e, END)), s
    b, e, s = builtins.slice(b, e, s).indices(d)  # type: ignore[arg-type]
    # Negative results only occur for s < 0 and mean "before index 0"; -d-1 says so in Python
    # slice syntax, where -1 would mean the last element.
    return (b if b >= 0 else -d - 1), (e if e >= 0 else -d - 1), s  # type: ignore[operator]


def canon_slices(shape: Sequence[Dim], attrs) -> dict:
    """slice attributes normalized against ``shape`` (begin/end/step, one entry per axis)."""
    rank = len(shape)
    step = attrs["step"] if attrs["step"] is not None else (1,) * rank
    for key, v in (("begin", attrs["begin"]), ("end", attrs["end"]), ("step", step)):
        if len(v) != rank:
            raise AttributeError_(f"{key} {list(v)} needs one entry per axis ({rank})")
    norm = [_canon_bounds(*t) for t in zip(shape, attrs["begin"], attrs["end"], step, strict=True)]
    begin, end, step = (tuple(col) for col in zip(*norm, strict=True)) if norm else ((),) * 3
    return {**attrs, "begin": begin, "end": end, "step": step}


def _anchor(v: int, s: int) -> tuple[str, int]:
    """A bound as (which end of the axis it counts from, offset)."""
    if abs(v) >= END:
        return ("end" if v > 0 else "start"), (0 if s > 0 else -1)
    return ("start", v) if v >= 0 else ("end", v)


def slice_len(d: Dim, b: int, e: int, s: int) -> Dim:
    """The length of x[b:e:s] along an axis of size ``d``."""
    if is_static(d):
        return len(range(*builtins.slice(b, e, s).indices(d)))  # type: ignore[arg-type]
    (ab, ob), (ae, oe) = _anchor(b, s), _anchor(e, s)
    if ab == ae:  # both bounds count from the same end: the length does not depend on d
        return len(range(ob, oe, s))
    if (s, ab, ob, oe) in ((1, "start", 0, 0), (-1, "end", -1, -1)):
        return d  # the whole axis, forwards or backwards
    raise ShapeError(f"slice {b}:{e}:{s} of symbolic axis {d} has no size graphc can express; "
                     "only whole-axis and fixed-length slices work on symbolic axes")


def _slice_shape(shape: Sequence[Dim], attrs) -> tuple[Dim, ...]:
    cols = zip(shape, attrs["begin"], attrs["end"], attrs["step"], strict=True)
    return tuple(slice_len(*col) for col in cols)


def _check_bound(v: int, s: int, n: int) -> None:
    lo, hi = (-n, n) if s > 0 else (-n - 1, n - 1)
    if abs(v) < END and not lo <= v <= hi:
        raise IndexError(f"slice bound {v} is out of range for an axis of size {n}")


def _slices(shape: Sequence[int], begin, end, step) -> tuple[builtins.slice, ...]:
    # symbolic axes were typed assuming their bounds are in range: check that they are
    for n, b, e, s in zip(shape, begin, end, step, strict=True):
        _check_bound(b, s, n)
        _check_bound(e, s, n)
    return tuple(builtins.slice(b, e, s) for b, e, s in zip(begin, end, step, strict=True))


def _slice_kernel(x: np.ndarray, begin, end, step) -> np.ndarray:
    return x[_slices(x.shape, begin, end, step)]


def _pad_widths(node) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """slice's gradient as pad widths, when every axis is a step-1 static or whole slice."""
    before, after = [], []
    cols = (node.inputs[0].type.shape, node.attrs["begin"], node.attrs["step"],
            node.outputs[0].type.shape)
    for d, b, s, n in zip(*cols, strict=True):
        if is_static(d) and s == 1:
            before.append(b)
            after.append(d - b - n)
        elif d == n and s == 1:
            before.append(0)
            after.append(0)
        else:
            return None
    return tuple(before), tuple(after)


def _slice_vjp(e, node, gouts):
    widths = _pad_widths(node)
    if widths is not None:
        return [e.pad(gouts[0], before=widths[0], after=widths[1])]
    bounds = {k: node.attrs[k] for k in ("begin", "end", "step")}
    return [e.slice_grad(gouts[0], shape=node.inputs[0].type.shape, **bounds)]


_BOUNDS = {"begin": AttrSpec("ints"), "end": AttrSpec("ints"), "step": AttrSpec("ints?", None)}

slice = register(OpDef(
    "slice", "shape", lambda t, a: [t[0].with_shape(_slice_shape(t[0].shape, a))], _slice_kernel,
    attrs=_BOUNDS, canon=lambda t, a: canon_slices(t[0].shape, a), vjp=_slice_vjp,
    view=True,
    cost=free, doc="x[begin:end:step] on every axis (Python bounds)",
))


def _slice_grad_rule(in_types, attrs):
    (g,), shape = in_types, attrs["shape"]
    want = _slice_shape(shape, attrs)
    if g.shape != want:
        raise ShapeError(f"gradient {fmt(g.shape)} does not match the slice shape {fmt(want)}")
    return [TensorType(g.dtype, shape)]


def _slice_grad_kernel(g: np.ndarray, shape, begin, end, step) -> np.ndarray:
    out = np.zeros(concrete(shape), g.dtype)
    out[_slices(out.shape, begin, end, step)] = g
    return out


slice_grad = register(OpDef(
    "slice_grad", "shape", _slice_grad_rule, _slice_grad_kernel,
    attrs={"shape": AttrSpec("dims"), **_BOUNDS},
    canon=lambda t, a: canon_slices(a["shape"], a),
    vjp=lambda e, node, gouts: [e.slice(gouts[0], **{k: node.attrs[k] for k in _BOUNDS})],
    cost=free, doc="zeros of ``shape`` with g written at [begin:end:step] (slice's gradient)",
))


# --- pad -------------------------------------------------------------------------------


def _canon_pad(in_types, attrs):
    (x,) = in_types
    before, after, value = attrs["before"], attrs["after"], attrs["value"]
    if len(before) != x.rank or len(after) != x.rank:
        raise AttributeError_(f"before {list(before)} and after {list(after)} need one entry "
                              f"per axis ({x.rank})")
    if any(w < 0 for w in before + after):
        raise AttributeError_(f"pad widths must be >= 0, got {list(before)}, {list(after)}")
    if not x.dtype.is_float and not float(value).is_integer():
        raise AttributeError_(f"pad value {value} does not fit dtype {x.dtype}")
    return attrs


def _pad_rule(in_types, attrs):
    (x,), out = in_types, []
    for axis, (d, b, a) in enumerate(zip(x.shape, attrs["before"], attrs["after"], strict=True)):
        if not is_static(d) and b + a:
            raise ShapeError(f"padding symbolic axis {axis} ({d}) would give {d}+{b + a}, "
                             "which graphc cannot express")
        out.append(d + b + a if b + a else d)
    return [x.with_shape(tuple(out))]


def _pad_kernel(x: np.ndarray, before, after, value: float) -> np.ndarray:
    if x.ndim == 0:  # np.pad rejects the empty width list a scalar has
        return x.copy()
    widths = list(zip(before, after, strict=True))
    return np.pad(x, widths, constant_values=x.dtype.type(value))


def _pad_vjp(e, node, gouts):
    shape, before = node.inputs[0].type.shape, node.attrs["before"]
    end = tuple(b + d if is_static(d) else END for b, d in zip(before, shape, strict=True))
    return [e.slice(gouts[0], begin=before, end=end)]


pad = register(OpDef(
    "pad", "shape", _pad_rule, _pad_kernel,
    attrs={"before": AttrSpec("ints"), "after": AttrSpec("ints"),
           "value": AttrSpec("float", 0.0)},
    canon=_canon_pad, vjp=_pad_vjp,
    cost=free, doc="x surrounded by ``value``: before[i] / after[i] elements on axis i",
))


# --- take / take_grad ------------------------------------------------------------------


def _require_indices(t: TensorType) -> None:
    if not t.dtype.is_int:
        raise DTypeError(f"indices have dtype {t.dtype}; expected an integer dtype")


def _canon_take(rank: int, attrs):
    if attrs["axis"] is None:
        return attrs
    return {**attrs, "axis": canon_axis(attrs["axis"], rank)}


def taken_shape(shape: Sequence[Dim], idx: Sequence[Dim], axis: int | None) -> tuple[Dim, ...]:
    """The shape of np.take(x, indices, axis) for x of ``shape``."""
    if axis is None:
        return tuple(idx)
    return tuple(shape[:axis]) + tuple(idx) + tuple(shape[axis + 1 :])


def _take_rule(in_types, attrs):
    x, idx = in_types
    _require_indices(idx)
    return [x.with_shape(taken_shape(x.shape, idx.shape, attrs["axis"]))]


def _take_vjp(e, node, gouts):
    x, idx = node.inputs
    return [e.take_grad(gouts[0], idx, axis=node.attrs["axis"], shape=x.type.shape), None]


take = register(OpDef(
    "take", "shape", _take_rule, lambda x, idx, axis: np.take(x, idx, axis=axis),
    arity=2, attrs={"axis": AttrSpec("int?", None)},
    canon=lambda t, a: _canon_take(t[0].rank, a), vjp=_take_vjp,
    cost=free, doc="elements of x at integer indices along axis (np.take; no axis: of x flattened)",
))


def _take_grad_rule(in_types, attrs):
    g, idx = in_types
    _require_indices(idx)
    want = taken_shape(attrs["shape"], idx.shape, attrs["axis"])
    if g.shape != want:
        raise ShapeError(f"gradient {fmt(g.shape)} does not match the taken shape {fmt(want)}")
    return [TensorType(g.dtype, attrs["shape"])]


def _take_grad_kernel(g: np.ndarray, idx: np.ndarray, axis: int | None, shape) -> np.ndarray:
    out = np.zeros(concrete(shape), g.dtype)
    if axis is None:
        np.add.at(out.reshape(-1), idx, g)  # reshape of a fresh array is a view
    else:
        np.add.at(out, (builtins.slice(None),) * axis + (idx,), g)
    return out


take_grad = register(OpDef(
    "take_grad", "shape", _take_grad_rule, _take_grad_kernel,
    arity=2, attrs={"axis": AttrSpec("int?", None), "shape": AttrSpec("dims")},
    canon=lambda t, a: _canon_take(len(a["shape"]), a),
    vjp=lambda e, node, gouts: [e.take(gouts[0], node.inputs[1], axis=node.attrs["axis"]), None],
    cost=free,
    doc="zeros of ``shape`` with g added at the taken positions (take's gradient, np.add.at)",
))


# --- one_hot ---------------------------------------------------------------------------


def _one_hot_rule(in_types, attrs):
    (idx,) = in_types
    _require_indices(idx)
    if attrs["depth"] < 0:
        raise AttributeError_(f"depth must be >= 0, got {attrs['depth']}")
    return [TensorType(as_dtype(attrs["dtype"]), idx.shape + (attrs["depth"],))]


def _one_hot_kernel(idx: np.ndarray, depth: int, dtype) -> np.ndarray:
    # an index outside 0..depth-1 matches nothing and gives a zero row (as in JAX)
    return (idx[..., None] == np.arange(depth)).astype(dtype.np)


one_hot = register(OpDef(
    "one_hot", "shape", _one_hot_rule, _one_hot_kernel,
    attrs={"depth": AttrSpec("int"), "dtype": AttrSpec("dtype", float32)},
    differentiable=False,
    cost=free, doc="a trailing axis of size depth: 1 at each index, 0 elsewhere",
))
