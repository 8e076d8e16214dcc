"""Ops along one axis: cumsum, argsort, gather (take_along_axis) and its gradient."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import DTypeError, ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType, int64
from graphc.ops._cost import free, per_element, per_input_element
from graphc.ops._rules import NUMERIC, canon_axis, require_dtype
from graphc.ops.shape import concrete, fmt

__all__ = ["argsort", "cumsum", "gather", "gather_grad"]

_AXIS = {"axis": AttrSpec("int", -1)}


def _canon(rank_of=lambda in_types, attrs: in_types[0].rank):
    def canon(in_types, attrs):
        return {**attrs, "axis": canon_axis(attrs["axis"], rank_of(in_types, attrs))}

    return canon


def _check_rank(in_types, attrs):
    if in_types[0].rank == 0:
        raise ShapeError("this op works along an axis; got a scalar")


# --- cumsum ------------------------------------------------------------------------------


def _cumsum_rule(in_types, attrs):
    require_dtype(in_types[0], NUMERIC)
    return [in_types[0]]


def _cumsum_kernel(x: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    if not reverse:
        return np.cumsum(x, axis=axis, dtype=x.dtype)
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis).copy()


cumsum = register(OpDef(
    "cumsum", "scan", _cumsum_rule, _cumsum_kernel,
    attrs={**_AXIS, "reverse": AttrSpec("bool", False)}, canon=_canon(),
    # the adjoint of a running sum is the running sum from the other end
    vjp=lambda e, node, gouts: [e.cumsum(gouts[0], axis=node.attrs["axis"],
                                         reverse=not node.attrs["reverse"])],
    cost=per_element(),
    doc="running sum along axis (reverse: from the last element back)",
))


# --- argsort -----------------------------------------------------------------------------


def _argsort_rule(in_types, attrs):
    _check_rank(in_types, attrs)
    require_dtype(in_types[0], NUMERIC)
    return [in_types[0].with_dtype(int64)]


def _argsort_kernel(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # stable descending with NaN first (as torch.sort): sort the reversed axis ascending and
    # read the order backwards, so ties keep their original order
    n = x.shape[axis]
    rev = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - rev, axis).copy()


argsort = register(OpDef(
    "argsort", "scan", _argsort_rule, _argsort_kernel,
    attrs={**_AXIS, "descending": AttrSpec("bool", False)}, canon=_canon(),
    differentiable=False,
    cost=per_input_element(),
    doc="indices that sort x along axis (stable; NaN last ascending, first descending)",
))


# --- gather / gather_grad ----------------------------------------------------------------


def _check_indices(x: TensorType, idx: TensorType, axis: int, what: str) -> None:
    if not idx.dtype.is_int:
        raise DTypeError(f"indices have dtype {idx.dtype}; expected an integer dtype")
    same = idx.rank == x.rank and all(
        a == axis or d == e for a, (d, e) in enumerate(zip(x.shape, idx.shape, strict=True)))
    if not same:
        raise ShapeError(f"{what} {fmt(x.shape)} and indices {fmt(idx.shape)} must agree on "
                         f"every axis but {axis}")


def _gather_rule(in_types, attrs):
    x, idx = in_types
    _check_rank(in_types, attrs)
    _check_indices(x, idx, attrs["axis"], "x")
    return [x.with_shape(idx.shape)]


def _normalized(idx: np.ndarray, n: int) -> np.ndarray:
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"an index is out of range for an axis of size {n}")
    return np.where(idx < 0, idx + n, idx)


def _gather_kernel(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return np.take_along_axis(x, _normalized(idx, x.shape[axis]), axis=axis)


gather = register(OpDef(
    "gather", "scan", _gather_rule, _gather_kernel, arity=2, attrs=_AXIS, canon=_canon(),
    vjp=lambda e, node, gouts: [
        e.gather_grad(gouts[0], node.inputs[1], axis=node.attrs["axis"],
                      shape=node.inputs[0].type.shape), None],
    cost=free,
    doc="x's elements at indices along axis (np.take_along_axis; indices shaped like x "
        "except along axis)",
))


def _gather_grad_rule(in_types, attrs):
    g, idx = in_types
    out = TensorType(g.dtype, attrs["shape"])
    _check_indices(out, idx, attrs["axis"], "shape")
    if g.shape != idx.shape:
        raise ShapeError(f"gradient {fmt(g.shape)} must have the indices' shape {fmt(idx.shape)}")
    return [out]


def _gather_grad_kernel(g: np.ndarray, idx: np.ndarray, axis: int, shape) -> np.ndarray:
    out = np.zeros(concrete(shape), g.dtype)
    idx = _normalized(idx, out.shape[axis])
    grid = list(np.indices(idx.shape, sparse=True))
    grid[axis] = idx
    np.add.at(out, tuple(grid), g)
    return out


gather_grad = register(OpDef(
    "gather_grad", "scan", _gather_grad_rule, _gather_grad_kernel, arity=2,
    attrs={**_AXIS, "shape": AttrSpec("dims")},
    canon=_canon(lambda t, a: len(a["shape"])),
    vjp=lambda e, node, gouts: [e.gather(gouts[0], node.inputs[1], axis=node.attrs["axis"]),
                                None],
    cost=per_input_element(),
    doc="zeros of ``shape`` with g added at the gathered positions (gather's gradient)",
))
