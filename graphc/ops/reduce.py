"""Reductions over axes, with keepdims: sum mean max min prod logsumexp argmax argmin."""

from __future__ import annotations

import numpy as np

from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType, int64
from graphc.ops._rules import FLOAT, NUMERIC, canon_axes, canon_axis, reduced_shape, require_dtype

_AXES = {"axis": AttrSpec("ints?", None), "keepdims": AttrSpec("bool", False)}
_AXIS = {"axis": AttrSpec("int?", None), "keepdims": AttrSpec("bool", False)}


def _canon_axes(in_types, attrs):
    return {**attrs, "axis": canon_axes(attrs["axis"], in_types[0].rank)}


def _canon_axis(in_types, attrs):
    if attrs["axis"] is None:
        return attrs
    return {**attrs, "axis": canon_axis(attrs["axis"], in_types[0].rank)}


def _reduce_rule(kind: str):
    def infer(in_types, attrs) -> list[TensorType]:
        (x,) = in_types
        require_dtype(x, kind)
        return [x.with_shape(reduced_shape(x.shape, attrs["axis"], attrs["keepdims"]))]

    return infer


def _arg_rule(in_types, attrs) -> list[TensorType]:
    (x,) = in_types
    require_dtype(x, NUMERIC)
    axis = attrs["axis"]
    axes = tuple(range(x.rank)) if axis is None else (axis,)
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


def _reduction(name, kernel, kind=NUMERIC, attrs=_AXES, canon=_canon_axes, rule=None, diff=True):
    return register(
        OpDef(
            name,
            "reduce",
            rule or _reduce_rule(kind),
            kernel,
            attrs=attrs,
            canon=canon,
            differentiable=diff,
        )
    )


sum = _reduction("sum", lambda x, axis, keepdims: np.sum(x, axis, x.dtype, keepdims=keepdims))
mean = _reduction("mean", _mean, FLOAT)
max = _reduction("max", lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims))
min = _reduction("min", lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims))
prod = _reduction("prod", lambda x, axis, keepdims: np.prod(x, axis, x.dtype, keepdims=keepdims))
logsumexp = _reduction("logsumexp", _logsumexp, FLOAT)
argmax = _reduction("argmax", _arg(np.argmax), attrs=_AXIS, canon=_canon_axis, rule=_arg_rule,
                    diff=False)
argmin = _reduction("argmin", _arg(np.argmin), attrs=_AXIS, canon=_canon_axis, rule=_arg_rule,
                    diff=False)
