"""Reductions over axes, with keepdims: sum mean max min prod logsumexp argmax argmin."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from graphc.ir.emit import Emitter
from graphc.ir.graph import Node, Value
from graphc.ir.opdef import Attrs, AttrSpec, OpDef, register
from graphc.ir.types import TensorType, int64
from graphc.ops._cost import per_input_element
from graphc.ops._rules import (
    FLOAT,
    NUMERIC,
    canon_axes,
    canon_axis,
    reduced_shape,
    require_dtype,
    require_nonempty,
)

_AXES = {"axis": AttrSpec("ints?", None), "keepdims": AttrSpec("bool", False)}
_AXIS = {"axis": AttrSpec("int?", None), "keepdims": AttrSpec("bool", False)}


def _canon_axes(in_types, attrs):
    return {**attrs, "axis": canon_axes(attrs["axis"], in_types[0].rank)}


def _canon_axis(in_types, attrs):
    if attrs["axis"] is None:
        return attrs
    return {**attrs, "axis": canon_axis(attrs["axis"], in_types[0].rank)}


def _reduce_rule(kind: str, identity: bool = True):
    def infer(in_types, attrs) -> list[TensorType]:
        (x,) = in_types
        require_dtype(x, kind)
        if not identity:
            require_nonempty(x.shape, attrs["axis"])
        return [x.with_shape(reduced_shape(x.shape, attrs["axis"], attrs["keepdims"]))]

    return infer


def _arg_rule(in_types, attrs) -> list[TensorType]:
    (x,) = in_types
    require_dtype(x, NUMERIC)
    axis = attrs["axis"]
    axes = tuple(range(x.rank)) if axis is None else (axis,)
    require_nonempty(x.shape, axes)
    keep = attrs["keepdims"]
    return [TensorType(int64, reduced_shape(x.shape, axes, keep))]


def _logsumexp(x: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, x.dtype.type(0))  # all -inf rows stay -inf, no nan
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _mean(x, axis, keepdims):
    return np.mean(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _arg(fn):
    def kernel(x, axis, keepdims):
        out = fn(x, axis=axis, keepdims=keepdims)
        return np.asarray(out, dtype=np.int64)

    return kernel


# --- gradient helpers -------------------------------------------------------------------


def keep_reduced(e: Emitter, g: Value, x: TensorType, axes: tuple[int, ...]) -> Value:
    """A reduction's result or gradient, reshaped to keepdims form so it broadcasts over x."""
    keep = reduced_shape(x.shape, axes, True)
    return g if g.type.shape == keep else e.reshape(g, shape=keep)


def broadcast_like(e: Emitter, g: Value, x: Value) -> Value:
    """``g`` broadcast to x's shape (symbolic dims are bound at run time)."""
    return g if g.type.shape == x.type.shape else e.broadcast_to(g, shape=x.type.shape)


def reduced_count(e: Emitter, x: Value, axes: tuple[int, ...]) -> Value:
    """How many elements of x each result of a reduction over ``axes`` combines (rank 0)."""
    dims = [x.type.shape[a] for a in axes]
    static = math.prod(d for d in dims if isinstance(d, int))
    n = e.scalar_like(static, x)
    for d in (d for d in dims if not isinstance(d, int)):
        # a symbolic dim (a batch B) is known at run time only: count it as a sum of ones
        ones = e.broadcast_to(e.scalar_like(1, x), shape=(d,))
        n = e.mul(n, e.sum(ones, axis=(0,), keepdims=False))
    return n


def _keep_grad(e: Emitter, node: Node, gouts: list[Value]) -> Value:
    """The result's gradient in keepdims form, so it broadcasts over the input."""
    return keep_reduced(e, gouts[0], node.inputs[0].type, node.attrs["axis"])


def _keep_result(e: Emitter, node: Node) -> Value:
    return keep_reduced(e, node.outputs[0], node.inputs[0].type, node.attrs["axis"])


def _sum_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    return [broadcast_like(e, _keep_grad(e, node, gouts), node.inputs[0])]


def _mean_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    x, axes = node.inputs[0], node.attrs["axis"]
    return [broadcast_like(e, e.div(_keep_grad(e, node, gouts), reduced_count(e, x, axes)), x)]


def _choose_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    # max/min: ties split the gradient evenly among the chosen entries (as JAX does), so the
    # gradient of max over a row of equal values is 1/n per entry, and the sum stays g
    x, axes = node.inputs[0], node.attrs["axis"]
    hits = e.cast(e.equal(x, _keep_result(e, node)), dtype=x.type.dtype)
    share = e.div(_keep_grad(e, node, gouts), e.sum(hits, axis=axes, keepdims=True))
    return [e.mul(hits, share)]


def _prod_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    # d prod / d x_i is the product of the other entries. Dividing prod by x_i fails at zeros,
    # so with p = product of the nonzero entries: p / x_i when no entry is zero, p at the one
    # zero when exactly one is, and 0 everywhere else.
    x, axes = node.inputs[0], node.attrs["axis"]
    zero, one = e.scalar_like(0, x), e.scalar_like(1, x)
    is_zero = e.equal(x, zero)
    zeros = e.sum(e.cast(is_zero, dtype=x.type.dtype), axis=axes, keepdims=True)
    safe = e.where(is_zero, one, x)
    p = e.prod(safe, axis=axes, keepdims=True)
    lone = e.logical_and(is_zero, e.equal(zeros, one))
    d = e.where(e.equal(zeros, zero), e.div(p, safe), e.where(lone, p, zero))
    return [e.mul(_keep_grad(e, node, gouts), d)]


def _logsumexp_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    soft = e.exp(e.sub(node.inputs[0], _keep_result(e, node)))
    return [e.mul(_keep_grad(e, node, gouts), soft)]


def nonempty_axes(shapes: Sequence[tuple[int, ...]], attrs: Attrs) -> None:
    """check_bound of the reductions without an identity: every reduced axis is non-empty
    (an axis of size B called with B = 0 is a ShapeError, as a static 0 is at build time)."""
    shape, axis = shapes[0], attrs["axis"]
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    require_nonempty(shape, tuple(axes))


def _reduction(
    name, kernel, kind=NUMERIC, attrs=_AXES, canon=_canon_axes, rule=None, diff=True, vjp=None,
    fusable=False, identity=True,
):
    return register(
        OpDef(
            name,
            "reduce",
            rule or _reduce_rule(kind, identity),
            kernel,
            attrs=attrs,
            canon=canon,
            vjp=vjp,
            differentiable=diff,
            reduction=fusable,
            cost=per_input_element(),
            check_bound=None if identity else nonempty_axes,
        )
    )


sum = _reduction(
    "sum", lambda x, axis, keepdims: np.sum(x, axis, x.dtype, keepdims=keepdims), vjp=_sum_vjp,
    fusable=True,
)
mean = _reduction("mean", _mean, FLOAT, vjp=_mean_vjp, fusable=True)
max = _reduction(
    "max", lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims), vjp=_choose_vjp,
    fusable=True, identity=False,
)
min = _reduction(
    "min", lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims), vjp=_choose_vjp,
    fusable=True, identity=False,
)
prod = _reduction(
    "prod", lambda x, axis, keepdims: np.prod(x, axis, x.dtype, keepdims=keepdims), vjp=_prod_vjp,
    fusable=True,
)
logsumexp = _reduction("logsumexp", _logsumexp, FLOAT, vjp=_logsumexp_vjp)
argmax = _reduction("argmax", _arg(np.argmax), attrs=_AXIS, canon=_canon_axis, rule=_arg_rule,
                    diff=False, identity=False)
argmin = _reduction("argmin", _arg(np.argmin), attrs=_AXIS, canon=_canon_axis, rule=_arg_rule,
                    diff=False, identity=False)
