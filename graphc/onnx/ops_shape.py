"""Converters: constants, casts, shape and indexing ops, If with a constant condition."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.api import constant
from graphc.frontend.tensor import Tensor
from graphc.ir.types import dim_prod
from graphc.onnx.ops_math import like
from graphc.onnx.symbolic import SymShape
from graphc.onnx.table import DTYPES, NodeContext, converts

INT64_MAX = 2**63 - 1


def _static_shape(ctx: NodeContext, x: Tensor) -> list[int]:
    if not all(isinstance(d, int) for d in x.shape):
        raise ctx.fail(f"the shape {list(x.shape)} has symbolic dims; only static shapes "
                       "are folded at import time")
    return list(x.shape)


@converts("Constant")
def _constant(ctx: NodeContext) -> Tensor:
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in ctx.attrs:
            v = np.asarray(ctx.attrs[key])
            if key in ("value_float", "value_floats"):
                v = v.astype(np.float32)
            elif key in ("value_int", "value_ints"):
                v = v.astype(np.int64)
            if v.dtype not in [d.np for d in DTYPES.values()]:
                raise ctx.fail(f"unsupported dtype {v.dtype}")
            return constant(v, v.dtype)
    raise ctx.fail(f"Constant with attributes {sorted(ctx.attrs)} is not supported")


@converts("Identity")
def _identity(ctx: NodeContext, x: Tensor) -> Tensor:
    return x


@converts("Cast")
def _cast(ctx: NodeContext, x: Tensor) -> Tensor:
    to = ctx.dtype(ctx.attr("to"))
    return x if to == x.dtype else fn.cast(x, to)


@converts("CastLike")
def _castlike(ctx: NodeContext, x: Tensor, other: Tensor) -> Tensor:
    return x if other.dtype == x.dtype else fn.cast(x, other.dtype)


@converts("Shape")
def _shape(ctx: NodeContext, x: Tensor) -> Tensor | SymShape:
    shape = list(x.shape)
    start, end = ctx.attr("start", 0), ctx.attr("end", len(shape))
    out = SymShape(np.asarray(shape[start:end], dtype=object))
    return out if out.symbolic else constant(np.asarray(shape[start:end], np.int64))


@converts("Size")
def _size(ctx: NodeContext, x: Tensor) -> Tensor:
    return constant(np.asarray(np.prod(_static_shape(ctx, x)), np.int64))


@converts("Reshape")
def _reshape(ctx: NodeContext, x: Tensor, shape: Tensor) -> Tensor:
    want = ctx.dims(shape, "shape")
    if not ctx.attr("allowzero", 0):
        want = [x.shape[i] if d == 0 else d for i, d in enumerate(want)]
    return fn.reshape(x, tuple(want))


@converts("Flatten")
def _flatten(ctx: NodeContext, x: Tensor) -> Tensor:
    axis = ctx.attr("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return fn.reshape(x, (dim_prod(tuple(x.shape[:axis])), dim_prod(tuple(x.shape[axis:]))))


@converts("Transpose")
def _transpose(ctx: NodeContext, x: Tensor) -> Tensor:
    perm = ctx.attr("perm")
    return fn.transpose(x, None if perm is None else tuple(perm))


@converts("Squeeze")
def _squeeze(ctx: NodeContext, x: Tensor, axes: Tensor | None = None) -> Tensor:
    ax = ctx.ints(axes, "axes") if axes is not None else ctx.attr("axes")
    if ax is None:
        return fn.squeeze(x)
    return fn.squeeze(x, tuple(sorted(a % x.ndim for a in ax)))


@converts("Unsqueeze")
def _unsqueeze(ctx: NodeContext, x: Tensor, axes: Tensor | None = None) -> Tensor:
    ax = ctx.ints(axes, "axes") if axes is not None else ctx.attr("axes")
    rank = x.ndim + len(ax)
    return fn.expand_dims(x, tuple(sorted(a % rank for a in ax)))


@converts("Concat")
def _concat(ctx: NodeContext, *xs: Tensor) -> Tensor:
    return fn.concat(list(xs), axis=ctx.attr("axis"))


@converts("Slice")
def _slice(ctx: NodeContext, x: Tensor, starts: Tensor, ends: Tensor,
           axes: Tensor | None = None, steps: Tensor | None = None) -> Tensor:
    st, en = ctx.ints(starts, "starts"), ctx.ints(ends, "ends")
    ax = ctx.ints(axes, "axes") or list(range(len(st)))
    sp = ctx.ints(steps, "steps") or [1] * len(st)
    shape = _static_shape(ctx, x)
    begin, end, step = [0] * x.ndim, list(shape), [1] * x.ndim
    for a, s, e, p in zip(ax, st, en, sp, strict=True):
        a %= x.ndim
        n = shape[a]
        b0, e0, _ = slice(s, e, p).indices(n)  # Python's clamping is ONNX's
        begin[a], end[a], step[a] = b0, e0, p
        if p < 0 and e0 < 0:
            end[a] = -n - 1  # "before index 0" as a negative Python bound
    return fn.slice(x, begin, end, step)


def _indices(ctx: NodeContext, idx: Tensor, n: Any) -> Tensor:
    """Negative indices count from the end (ONNX); made non-negative."""
    v = ctx._static(idx)
    if v is not None:
        return constant(np.where(v < 0, v + n, v).astype(v.dtype))
    return fn.where(fn.less(idx, like(idx, 0)), idx + like(idx, n), idx)


@converts("Gather")
def _gather(ctx: NodeContext, x: Tensor, idx: Tensor) -> Tensor:
    axis = ctx.attr("axis", 0) % x.ndim
    return fn.take(x, _indices(ctx, idx, x.shape[axis]), axis=axis)


@converts("GatherElements")
def _gather_elements(ctx: NodeContext, x: Tensor, idx: Tensor) -> Tensor:
    axis = ctx.attr("axis", 0) % x.ndim
    return fn.gather(x, _indices(ctx, idx, x.shape[axis]), axis=axis)


@converts("Expand")
def _expand(ctx: NodeContext, x: Tensor, shape: Tensor) -> Tensor:
    want = _broadcast(ctx, list(x.shape), ctx.dims(shape))
    return x if want == tuple(x.shape) else fn.broadcast_to(x, want)


def _broadcast(ctx: NodeContext, a: list, b: list) -> tuple:
    """NumPy's broadcast of two shapes whose dims may be symbolic."""
    rank = max(len(a), len(b))
    a, b = [1] * (rank - len(a)) + a, [1] * (rank - len(b)) + b
    out = []
    for p, q in zip(a, b, strict=True):
        if p != q and 1 not in (p, q):
            raise ctx.fail(f"cannot broadcast {a} with {b}")
        out.append(q if p == 1 else p)
    return tuple(out)


@converts("Tile")
def _tile(ctx: NodeContext, x: Tensor, reps: Tensor) -> Tensor:
    return fn.tile(x, tuple(ctx.ints(reps, "repeats")))


@converts("Pad")
def _pad(ctx: NodeContext, x: Tensor, pads: Tensor | None = None, value: Tensor | None = None,
         axes: Tensor | None = None) -> Tensor:
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "edge", "reflect", "wrap"):
        raise ctx.fail(f"Pad mode {mode!r} is not supported")
    p = ctx.ints(pads, "pads") if pads is not None else ctx.attr("pads")
    ax = ctx.ints(axes, "axes") if axes is not None else list(range(x.ndim))
    k = len(ax)
    widths = [(0, 0)] * x.ndim
    for i, a in enumerate(ax):
        widths[a % x.ndim] = (p[i], p[i + k])
    if any(w < 0 for pair in widths for w in pair):
        raise ctx.fail("negative pads (cropping) are not supported")
    if mode != "constant":
        return _pad_indexed(ctx, x, widths, mode)
    if ctx.opset < 11:
        return fn.pad(x, widths, value=ctx.attr("value", 0.0))
    if value is None:
        return fn.pad(x, widths)
    v = ctx._static(value)
    if v is None:  # a run-time pad value: pad with 0, then choose by a constant mask
        inside = fn.pad(constant(np.ones(_static_shape(ctx, x), bool)), widths)
        return fn.where(inside, fn.pad(x, widths), fn.reshape(value, ()))
    v = v.reshape(-1)[0] if v.size else 0
    return fn.pad(x, widths, value=float(v) if x.dtype.is_float else int(v))


def _pad_indexed(ctx: NodeContext, x: Tensor, widths: list[tuple[int, int]],
                 mode: str) -> Tensor:
    """edge/reflect/wrap padding as a gather per padded axis (np.pad of the indices)."""
    shape = _static_shape(ctx, x)
    for a, w in enumerate(widths):
        if w != (0, 0):
            idx = np.pad(np.arange(shape[a], dtype=np.int64), w, mode=mode)
            x = fn.take(x, constant(idx), axis=a)
    return x


@converts("Split")
def _split(ctx: NodeContext, x: Tensor, split: Tensor | None = None) -> list[Tensor]:
    axis = ctx.attr("axis", 0) % x.ndim
    sizes = ctx.ints(split, "split") if split is not None else ctx.attr("split")
    n = x.shape[axis]
    if sizes is None:
        k = ctx.attr("num_outputs", len(ctx.node.output))
        chunk = -(-n // k)
        sizes = [min(chunk, n - i * chunk) for i in range(k)]
    cuts = list(np.cumsum(sizes)[:-1])
    return fn.split(x, [int(c) for c in cuts], axis=axis)


@converts("ConstantOfShape")
def _constant_of_shape(ctx: NodeContext, shape: Tensor) -> Tensor:
    value = ctx.attr("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if value.dtype not in [d.np for d in DTYPES.values()]:
        raise ctx.fail(f"unsupported dtype {value.dtype}")
    dims = ctx.dims(shape, "shape")
    if all(isinstance(d, int) for d in dims):
        return constant(np.full(dims, value[0], value.dtype), value.dtype)
    return fn.broadcast_to(constant(value[0], value.dtype), tuple(dims))


@converts("Range")
def _range(ctx: NodeContext, start: Tensor, limit: Tensor, delta: Tensor) -> Tensor:
    s, l, d = (ctx.static(t, n) for t, n in ((start, "start"), (limit, "limit"),
                                              (delta, "delta")))
    return constant(np.arange(s, l, d).astype(start.dtype.np), start.dtype)


@converts("EyeLike")
def _eyelike(ctx: NodeContext, x: Tensor) -> Tensor:
    dt = ctx.dtype(ctx.attr("dtype")) if "dtype" in ctx.attrs else x.dtype
    n, m = _static_shape(ctx, x)
    return constant(np.eye(n, m, ctx.attr("k", 0), dtype=dt.np), dt)


@converts("Einsum")
def _einsum(ctx: NodeContext, *xs: Tensor) -> Tensor:
    eq = ctx.attr("equation").replace(" ", "")
    if "..." in eq:
        raise ctx.fail("Einsum with an ellipsis is not supported")
    return fn.einsum(eq, *xs)


def _flip(x: Tensor, axis: int) -> Tensor:
    n = x.shape[axis]
    return fn.take(x, constant(np.arange(n - 1, -1, -1, dtype=np.int64)), axis=axis)


@converts("CumSum")
def _cumsum(ctx: NodeContext, x: Tensor, axis: Tensor) -> Tensor:
    a = int(ctx.static(axis, "axis").reshape(-1)[0]) % x.ndim
    y = _flip(x, a) if ctx.attr("reverse", 0) else x
    out = fn.cumsum(y, axis=a)
    if ctx.attr("exclusive", 0):
        out = out - y
    return _flip(out, a) if ctx.attr("reverse", 0) else out


@converts("TopK")
def _topk(ctx: NodeContext, x: Tensor, k: Tensor) -> list[Tensor]:
    kk = int(ctx.static(k, "K").reshape(-1)[0])
    vals, idx = fn.topk(x, kk, axis=ctx.attr("axis", -1), largest=bool(ctx.attr("largest", 1)))
    return [vals, idx]


@converts("OneHot")
def _onehot(ctx: NodeContext, idx: Tensor, depth: Tensor, values: Tensor) -> Tensor:
    d = int(ctx.static(depth, "depth").reshape(-1)[0])
    idx = fn.cast(idx, "int64") if idx.dtype.name != "int64" else idx
    idx = fn.where(fn.less(idx, like(idx, 0)), idx + like(idx, d), idx)
    hot = fn.one_hot(idx, d, dtype=values.dtype)
    off, on = fn.take(values, constant(np.int64(0))), fn.take(values, constant(np.int64(1)))
    out = off + (on - off) * hot
    axis = ctx.attr("axis", -1) % out.ndim
    perm = [*range(axis), out.ndim - 1, *range(axis, out.ndim - 1)]
    return fn.transpose(out, perm) if axis != out.ndim - 1 else out


@converts("Trilu")
def _trilu(ctx: NodeContext, x: Tensor, k: Tensor | None = None) -> Tensor:
    kk = 0 if k is None else int(ctx.static(k, "k").reshape(-1)[0])
    return fn.triu(x, kk) if ctx.attr("upper", 1) else fn.tril(x, kk)


@converts("If")
def _if(ctx: NodeContext, cond: Tensor) -> list[Tensor]:
    c = ctx._static(cond)
    if c is None:
        raise ctx.fail("If with a condition computed at run time is not supported (only a "
                       "condition known at import time is folded)")
    return ctx.subgraph(ctx.attr("then_branch" if bool(c.reshape(-1)[0]) else "else_branch"))
