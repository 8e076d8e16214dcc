"""Shape ops: reshape transpose broadcast_to expand_dims squeeze flatten concat split.

Shapes may hold symbolic dims (``B``, ``B*16``). Kernels whose attributes name symbolic dims
(reshape/broadcast_to to ``[B, 10]``) read the values bound for the call from
``runtime_dims``, which executors set around a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from graphc.ir.errors import AttributeError_, ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import (
    Dim,
    TensorType,
    dim_div,
    dim_mul,
    dim_prod,
    dim_symbols,
    eval_dim,
    is_static,
)
from graphc.ops._cost import free
from graphc.ops._rules import ANY, canon_axes, canon_axis, same_dtype

__all__ = [
    "broadcast_to", "concat", "expand_dims", "flatten", "reshape", "split", "squeeze", "transpose",
]

# --- symbolic dims at run time ---------------------------------------------------------
_DIMS: ContextVar[dict[str, int] | None] = ContextVar("graphc_runtime_dims", default=None)


@contextmanager
def runtime_dims(dims: dict[str, int]) -> Iterator[None]:
    """Bind symbolic dims for the kernels run inside the block (set by executors)."""
    token = _DIMS.set(dict(dims))
    try:
        yield
    finally:
        _DIMS.reset(token)


def bound(shape: Sequence[Dim]) -> bool:
    """Whether every symbol of ``shape`` has a value bound by ``runtime_dims``."""
    env = _DIMS.get() or {}
    return all(s in env for d in shape for s in dim_symbols(d))


def concrete(shape: Sequence[Dim]) -> tuple[int, ...]:
    """``shape`` with its symbols evaluated in the dims bound by ``runtime_dims``."""
    env = _DIMS.get() or {}
    try:
        return tuple(eval_dim(d, env) for d in shape)
    except KeyError as e:  # a plain error: the interpreter adds the node and its location
        raise ValueError(f"symbolic dim {e.args[0]} is not bound for this run") from None


def fmt(shape: Sequence[Dim]) -> str:
    """``[B,784]``, the way types print."""
    return "[" + ",".join(str(d) for d in shape) + "]"


def dim_add(a: Dim, b: Dim) -> Dim:
    """a + b when graphc can write it as a dim (ints, or like terms such as B + 2*B)."""
    if is_static(a) and is_static(b):
        return a + b  # type: ignore[operator]
    if a == 0 or b == 0:
        return b if a == 0 else a
    syms = dim_symbols(a)
    if syms != dim_symbols(b):
        raise ShapeError(f"{a} + {b} is not a dim graphc can express (dims are products)")
    unit = "*".join(syms)
    return dim_mul(dim_div(a, unit) + dim_div(b, unit), unit)  # type: ignore[operator]


def _one(in_types: Sequence[TensorType], shape: tuple[Dim, ...]) -> list[TensorType]:
    return [in_types[0].with_shape(shape)]


# --- reshape ---------------------------------------------------------------------------


def _canon_reshape(in_types, attrs):
    (x,), shape = in_types, attrs["shape"]
    holes = [i for i, d in enumerate(shape) if d == -1]
    if len(holes) > 1 or any(is_static(d) and d < -1 for d in shape):
        raise AttributeError_(f"shape {fmt(shape)}: dims must be >= 0, with at most one -1")
    total = dim_prod(x.shape)
    if holes:
        known = dim_prod(tuple(d for d in shape if d != -1))
        fill = dim_div(total, known)
        if fill is None:
            raise ShapeError(f"cannot reshape {total} elements to {fmt(shape)}: "
                             f"{total} is not a multiple of {known}")
        shape = shape[: holes[0]] + (fill,) + shape[holes[0] + 1 :]
    elif dim_prod(shape) != total:
        raise ShapeError(f"cannot reshape {total} elements to {fmt(shape)} "
                         f"({dim_prod(shape)} elements)")
    return {**attrs, "shape": shape}


def _reshape_kernel(x: np.ndarray, shape: tuple[Dim, ...]) -> np.ndarray:
    if not bound(shape):  # called outside an executor: one unknown dim follows from the size
        return x.reshape(tuple(d if is_static(d) else -1 for d in shape))
    return x.reshape(concrete(shape))


def _reshape_vjp(e, node, gouts):
    return [e.reshape(gouts[0], shape=node.inputs[0].type.shape)]


reshape = register(OpDef(
    "reshape", "shape", lambda t, a: _one(t, a["shape"]), _reshape_kernel,
    attrs={"shape": AttrSpec("dims")}, canon=_canon_reshape, vjp=_reshape_vjp,
    view=True,
    cost=free, doc="the same elements in a new shape; one dim may be -1",
))


# --- transpose -------------------------------------------------------------------------


def _canon_transpose(in_types, attrs):
    rank, perm = in_types[0].rank, attrs["perm"]
    if perm is None:
        return {**attrs, "perm": tuple(reversed(range(rank)))}
    if len(perm) != rank:
        raise AttributeError_(f"perm {list(perm)} has {len(perm)} entries for rank {rank}")
    perm = tuple(canon_axis(a, rank) for a in perm)
    if sorted(perm) != list(range(rank)):
        raise AttributeError_(f"perm {list(perm)} is not a permutation of {rank} axes")
    return {**attrs, "perm": perm}


def _transpose_rule(in_types, attrs):
    shape = in_types[0].shape
    return _one(in_types, tuple(shape[a] for a in attrs["perm"]))


def _transpose_vjp(e, node, gouts):
    inverse = tuple(int(a) for a in np.argsort(node.attrs["perm"]))
    return [e.transpose(gouts[0], perm=inverse)]


transpose = register(OpDef(
    "transpose", "shape", _transpose_rule, lambda x, perm: np.transpose(x, perm),
    attrs={"perm": AttrSpec("ints?", None)}, canon=_canon_transpose, vjp=_transpose_vjp,
    view=True,
    cost=free, doc="axes permuted; no perm reverses them",
))


# --- broadcast_to ----------------------------------------------------------------------


def _broadcast_to_rule(in_types, attrs):
    (x,), shape = in_types, attrs["shape"]
    if any(is_static(d) and d < 0 for d in shape):
        raise AttributeError_(f"shape {fmt(shape)} has a negative dim")
    lead = len(shape) - x.rank
    ok = lead >= 0 and all(d in (1, shape[lead + i]) for i, d in enumerate(x.shape))
    if not ok:
        raise ShapeError(f"cannot broadcast {fmt(x.shape)} to {fmt(shape)}")
    return _one(in_types, shape)


def _broadcast_to_kernel(x: np.ndarray, shape: tuple[Dim, ...]) -> np.ndarray:
    # a copy: np.broadcast_to returns a read-only view that later kernels could not write
    return np.broadcast_to(x, concrete(shape)).copy()


broadcast_to = register(OpDef(
    "broadcast_to", "shape", _broadcast_to_rule, _broadcast_to_kernel,
    attrs={"shape": AttrSpec("dims")},
    vjp=lambda e, node, gouts: [e.sum_to(gouts[0], node.inputs[0].type)],
    view=True, broadcast=True,
    cost=free, doc="x repeated along broadcast axes (NumPy rules)",
))


# --- expand_dims / squeeze -------------------------------------------------------------


def _canon_expand(in_types, attrs):
    return {**attrs, "axis": canon_axes(attrs["axis"], in_types[0].rank + len(attrs["axis"]))}


def _expand_rule(in_types, attrs):
    dims = iter(in_types[0].shape)
    rank = in_types[0].rank + len(attrs["axis"])
    return _one(in_types, tuple(1 if i in attrs["axis"] else next(dims) for i in range(rank)))


expand_dims = register(OpDef(
    "expand_dims", "shape", _expand_rule, lambda x, axis: np.expand_dims(x, axis),
    attrs={"axis": AttrSpec("ints")}, canon=_canon_expand,
    vjp=lambda e, node, gouts: [e.squeeze(gouts[0], axis=node.attrs["axis"])],
    view=True,
    cost=free, doc="new size-1 axes at the given positions of the result",
))


def _canon_squeeze(in_types, attrs):
    shape = in_types[0].shape
    if not shape and attrs["axis"]:
        raise AttributeError_(f"axis {list(attrs['axis'])} out of range for rank 0")
    if attrs["axis"] is None:
        return {**attrs, "axis": tuple(i for i, d in enumerate(shape) if d == 1)}
    axes = canon_axes(attrs["axis"], len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ShapeError(f"cannot squeeze axis {a} of size {shape[a]}; its size must be 1")
    return {**attrs, "axis": axes}


def _squeeze_vjp(e, node, gouts):
    axes = node.attrs["axis"]
    return [e.expand_dims(gouts[0], axis=axes) if axes else gouts[0]]


squeeze = register(OpDef(
    "squeeze", "shape",
    lambda t, a: _one(t, tuple(d for i, d in enumerate(t[0].shape) if i not in a["axis"])),
    lambda x, axis: np.squeeze(x, axis=axis),
    attrs={"axis": AttrSpec("ints?", None)}, canon=_canon_squeeze, vjp=_squeeze_vjp,
    view=True,
    cost=free, doc="size-1 axes removed (all of them when no axis is given)",
))


# --- flatten ---------------------------------------------------------------------------


def _canon_flatten(in_types, attrs):
    rank = max(in_types[0].rank, 1)  # a scalar flattens to [1], as in PyTorch
    start = canon_axis(attrs["start_axis"], rank)
    end = canon_axis(attrs["end_axis"], rank)
    if start > end:
        raise AttributeError_(f"start_axis {attrs['start_axis']} comes after "
                              f"end_axis {attrs['end_axis']}")
    return {"start_axis": start, "end_axis": end}


def _flatten_rule(in_types, attrs):
    shape, s, e = in_types[0].shape, attrs["start_axis"], attrs["end_axis"]
    return _one(in_types, shape[:s] + (dim_prod(shape[s : e + 1]),) + shape[e + 1 :])


def _flatten_kernel(x: np.ndarray, start_axis: int, end_axis: int) -> np.ndarray:
    s, e = start_axis, end_axis
    return x.reshape(x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])


flatten = register(OpDef(
    "flatten", "shape", _flatten_rule, _flatten_kernel,
    attrs={"start_axis": AttrSpec("int", 0), "end_axis": AttrSpec("int", -1)},
    canon=_canon_flatten, vjp=_reshape_vjp,
    view=True,
    cost=free, doc="axes start_axis..end_axis merged into one (PyTorch's flatten)",
))


# --- concat / split --------------------------------------------------------------------


def _canon_concat(in_types, attrs):
    if not in_types:
        raise AttributeError_("needs at least one operand")
    if in_types[0].rank == 0:
        raise ShapeError("cannot concatenate rank-0 operands")
    return {**attrs, "axis": canon_axis(attrs["axis"], in_types[0].rank)}


def _concat_rule(in_types, attrs):
    dtype, axis, first = same_dtype(in_types, ANY), attrs["axis"], in_types[0].shape
    size: Dim = 0
    for t in in_types:
        rest_ok = t.rank == len(first) and all(
            d == f for i, (d, f) in enumerate(zip(t.shape, first, strict=True)) if i != axis)
        if not rest_ok:
            raise ShapeError(f"{fmt(t.shape)} does not match {fmt(first)} "
                             f"outside axis {axis}")
        size = dim_add(size, t.shape[axis])
    return [TensorType(dtype, first[:axis] + (size,) + first[axis + 1 :])]


def _concat_vjp(e, node, gouts):
    axis = node.attrs["axis"]
    sizes = tuple(v.type.shape[axis] for v in node.inputs)
    parts = e.split(gouts[0], axis=axis, sizes=sizes)
    return list(parts) if isinstance(parts, tuple) else [parts]


concat = register(OpDef(
    "concat", "shape", _concat_rule, lambda *xs, axis: np.concatenate(xs, axis=axis),
    arity=None, attrs={"axis": AttrSpec("int", 0)}, canon=_canon_concat, vjp=_concat_vjp,
    cost=free, doc="operands joined along an existing axis",
))


def _split_sizes(d: Dim, attrs) -> tuple[Dim, ...]:
    sections, indices = attrs["sections"], attrs["indices"]
    if sections is not None:
        part = dim_div(d, sections) if sections > 0 else None
        if part is None:
            raise ShapeError(f"an axis of size {d} does not split into {sections} equal parts")
        return (part,) * sections
    if not is_static(d):
        raise ShapeError(f"split indices need a static axis, not {d}; give sizes instead")
    points = [i + d if i < 0 else i for i in indices]  # type: ignore[operator]
    if points != sorted(points) or any(not 0 <= p <= d for p in points):  # type: ignore[operator]
        raise AttributeError_(f"indices {list(indices)} must be increasing within 0..{d}")
    return tuple(b - a for a, b in zip([0, *points], [*points, d], strict=True))


def _canon_split(in_types, attrs):
    (x,) = in_types
    axis = canon_axis(attrs["axis"], x.rank)
    given = [k for k in ("sections", "indices", "sizes") if attrs[k] not in (None, ())]
    if len(given) != 1:
        raise AttributeError_(f"give exactly one of sections, indices, sizes (got {given})")
    sizes = attrs["sizes"] or _split_sizes(x.shape[axis], attrs)
    if any(is_static(s) and s < 0 for s in sizes):
        raise AttributeError_(f"sizes {fmt(sizes)} has a negative size")
    total: Dim = 0
    for s in sizes:
        total = dim_add(total, s)
    if total != x.shape[axis]:
        raise ShapeError(f"sizes {fmt(sizes)} add up to {total}, not to axis {axis} "
                         f"of size {x.shape[axis]}")
    return {"axis": axis, "sections": None, "indices": None, "sizes": tuple(sizes)}


def _split_rule(in_types, attrs):
    shape, axis = in_types[0].shape, attrs["axis"]
    return [in_types[0].with_shape(shape[:axis] + (s,) + shape[axis + 1 :])
            for s in attrs["sizes"]]


def _split_kernel(x: np.ndarray, axis: int, sections, indices, sizes) -> tuple[np.ndarray, ...]:
    ints = list(concrete(sizes)) if bound(sizes) else list(sizes)
    unknown = [i for i, s in enumerate(ints) if not is_static(s)]
    if len(unknown) == 1:  # called outside an executor: the static parts imply the other
        ints[unknown[0]] = x.shape[axis] - sum(s for s in ints if is_static(s))
    return tuple(np.split(x, np.cumsum(ints)[:-1], axis=axis))


def zeros(e, t: TensorType):
    """A zero tensor of type ``t`` (a broadcast scalar) built with emitter ``e``."""
    return e.broadcast_to(e.const(0, t.dtype), shape=t.shape)


def _split_vjp(e, node, gouts):
    parts = [g if g is not None else zeros(e, v.type)
             for g, v in zip(gouts, node.outputs, strict=True)]
    return [parts[0] if len(parts) == 1 else e.concat(*parts, axis=node.attrs["axis"])]


split = register(OpDef(
    "split", "shape", _split_rule, _split_kernel,
    attrs={"axis": AttrSpec("int", 0), "sections": AttrSpec("int?", None),
           "indices": AttrSpec("ints?", None), "sizes": AttrSpec("dims", ())},
    canon=_canon_split, vjp=_split_vjp,
    cost=free,
    doc="pieces along an axis: equal sections, NumPy split indices, or sizes (canonical)",
))
