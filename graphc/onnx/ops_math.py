"""Converters: elementwise math, comparisons and logic, reductions."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.api import constant
from graphc.frontend.tensor import Tensor
from graphc.onnx.table import NodeContext, converts

UNARY = {
    "Abs": fn.abs, "Neg": fn.neg, "Sign": fn.sign, "Exp": fn.exp, "Log": fn.log, "Sqrt": fn.sqrt,
    "Reciprocal": fn.reciprocal, "Sin": fn.sin, "Cos": fn.cos, "Tanh": fn.tanh,
    "Sigmoid": fn.sigmoid, "Relu": fn.relu, "Softplus": fn.softplus, "Erf": fn.erf,
    "Floor": fn.floor, "Ceil": fn.ceil, "Not": fn.logical_not,
}
BINARY = {
    "Add": fn.add, "Sub": fn.sub, "Mul": fn.mul,
    "Equal": fn.equal, "Less": fn.less, "LessOrEqual": fn.less_equal, "Greater": fn.greater,
    "GreaterOrEqual": fn.greater_equal, "And": fn.logical_and, "Or": fn.logical_or,
}


def like(x: Tensor, value: Any) -> Tensor:
    """A scalar constant of x's dtype."""
    return constant(np.asarray(value, x.dtype.np))


for _name, _op in UNARY.items():
    converts(_name)(lambda ctx, x, _op=_op: _op(x))
for _name, _op in BINARY.items():
    converts(_name)(lambda ctx, a, b, _op=_op: _op(a, b))


@converts("Div")
def _div(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    if a.dtype.is_float:
        return fn.div(a, b)
    q = fn.div(fn.cast(a, "float64"), fn.cast(b, "float64"))  # integer division truncates
    return fn.cast(fn.where(fn.less(q, 0.0), fn.ceil(q), fn.floor(q)), a.dtype)


@converts("Pow")
def _pow(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    if not a.dtype.is_float:  # integer powers: exact in float64 for the values ints hold here
        return fn.cast(fn.pow(fn.cast(a, "float64"), fn.cast(b, "float64")), a.dtype)
    return fn.pow(a, fn.cast(b, a.dtype) if b.dtype != a.dtype else b)


@converts("Xor")
def _xor(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    return fn.not_equal(a, b)


@converts("Mod")
def _mod(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    fmod = bool(ctx.attr("fmod", 0))
    if a.dtype.is_float:
        if not fmod:
            return fn.mod(a, b)
        return a - fn.floor(fn.abs(a) / fn.abs(b)) * fn.abs(b) * fn.sign(a)
    x, y = fn.cast(a, "float64"), fn.cast(b, "float64")  # the remainder of exact quotients
    q = x / y
    q = fn.where(fn.less(q, 0.0), fn.ceil(q), fn.floor(q)) if fmod else fn.floor(q)
    return fn.cast(x - q * y, a.dtype)


def _variadic(op_fn: Any) -> Any:
    def conv(ctx: NodeContext, *xs: Tensor) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = op_fn(out, x)
        return out
    return conv


converts("Max")(_variadic(fn.maximum))
converts("Min")(_variadic(fn.minimum))
converts("Sum")(_variadic(fn.add))


@converts("Mean")
def _mean(ctx: NodeContext, *xs: Tensor) -> Tensor:
    return _variadic(fn.add)(ctx, *xs) / like(xs[0], len(xs))


@converts("LeakyRelu")
def _leaky(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.leaky_relu(x, ctx.attr("alpha", 0.01))


@converts("Elu")
def _elu(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.elu(x, ctx.attr("alpha", 1.0))


@converts("Selu")
def _selu(ctx: NodeContext, x: Tensor) -> Tensor:
    a = ctx.attr("alpha", 1.67326319217681884765625)
    g = ctx.attr("gamma", 1.05070102214813232421875)
    return like(x, g) * fn.where(fn.greater(x, 0.0), x, like(x, a) * (fn.exp(x) - like(x, 1)))


@converts("Celu")
def _celu(ctx: NodeContext, x: Tensor) -> Tensor:
    a = ctx.attr("alpha", 1.0)
    return fn.maximum(x, like(x, 0)) + fn.minimum(like(x, 0), like(x, a) * (fn.exp(x / like(x, a))
                                                                          - like(x, 1)))


@converts("ThresholdedRelu")
def _trelu(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.where(fn.greater(x, like(x, ctx.attr("alpha", 1.0))), x, like(x, 0))


@converts("HardSigmoid")
def _hsig(ctx: NodeContext, x: Tensor) -> Tensor:
    y = like(x, ctx.attr("alpha", 0.2)) * x + like(x, ctx.attr("beta", 0.5))
    return fn.minimum(fn.maximum(y, like(x, 0)), like(x, 1))


@converts("HardSwish")
def _hswish(ctx: NodeContext, x: Tensor) -> Tensor:
    y = x * like(x, 1 / 6) + like(x, 0.5)
    return x * fn.minimum(fn.maximum(y, like(x, 0)), like(x, 1))


@converts("Softsign")
def _softsign(ctx: NodeContext, x: Tensor) -> Tensor:
    return x / (like(x, 1) + fn.abs(x))


@converts("Mish")
def _mish(ctx: NodeContext, x: Tensor) -> Tensor:
    return x * fn.tanh(fn.softplus(x))


@converts("Swish")
def _swish(ctx: NodeContext, x: Tensor) -> Tensor:
    return x * fn.sigmoid(x * like(x, ctx.attr("alpha", 1.0)))


@converts("Gelu")
def _gelu(ctx: NodeContext, x: Tensor) -> Tensor:
    if ctx.attr("approximate", "none") == "none":
        return fn.gelu(x)
    inner = like(x, np.sqrt(2 / np.pi)) * (x + like(x, 0.044715) * x * x * x)
    return like(x, 0.5) * x * (like(x, 1) + fn.tanh(inner))


@converts("PRelu")
def _prelu(ctx: NodeContext, x: Tensor, slope: Tensor) -> Tensor:
    return fn.where(fn.less(x, like(x, 0)), x * slope, x)


@converts("Shrink")
def _shrink(ctx: NodeContext, x: Tensor) -> Tensor:
    lam, bias = ctx.attr("lambd", 0.5), ctx.attr("bias", 0.0)
    lo = fn.where(fn.less(x, like(x, -lam)), x + like(x, bias), like(x, 0))
    return fn.where(fn.greater(x, like(x, lam)), x - like(x, bias), lo)


@converts("IsNaN")
def _isnan(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.isnan(x)


@converts("IsInf")
def _isinf(ctx: NodeContext, x: Tensor) -> Tensor:
    pos, neg = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    inf = fn.isinf(x)
    if pos and neg:
        return inf
    if pos:
        return fn.logical_and(inf, fn.greater(x, like(x, 0)))
    if neg:
        return fn.logical_and(inf, fn.less(x, like(x, 0)))
    return fn.logical_and(inf, fn.logical_not(inf))


@converts("Clip")
def _clip(ctx: NodeContext, x: Tensor, low: Tensor | None = None,
          high: Tensor | None = None) -> Tensor:
    if ctx.opset < 11:
        low, high = ctx.attr("min"), ctx.attr("max")
    y = x if low is None else fn.where(fn.less(x, low), low, x)
    return y if high is None else fn.where(fn.greater(y, high), high, y)


@converts("Where")
def _where(ctx: NodeContext, c: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return fn.where(c, a, b)


# -- reductions ---------------------------------------------------------------------------
def _axes(ctx: NodeContext, x: Tensor, axes_in: Tensor | None) -> tuple[int, ...] | None:
    """The reduced axes: the ``axes`` input (opset 18+; Sum 13+) or attribute; None = all,
    or nothing when noop_with_empty_axes is set."""
    axes = ctx.ints(axes_in, "axes") if axes_in is not None else ctx.attr("axes")
    if not axes:
        return () if ctx.attr("noop_with_empty_axes", 0) else None
    return tuple(int(a) % max(x.ndim, 1) for a in axes)


def _reducer(op_fn: Any) -> Any:
    def conv(ctx: NodeContext, x: Tensor, axes_in: Tensor | None = None) -> Tensor:
        axes = _axes(ctx, x, axes_in)
        if axes == ():
            return op_fn(x, None, True, identity=True)
        keep = bool(ctx.attr("keepdims", 1))
        if axes is None:
            axes = tuple(range(x.ndim))
        return op_fn(x, axes, keep, identity=False)
    return conv


def _plain(f: Any, pre: Any = None, post: Any = None, empty: float | None = None) -> Any:
    def op_fn(x: Tensor, axes: Any, keep: bool, identity: bool) -> Tensor:
        if x.dtype.name == "bool" and not identity:  # max = any, min = all
            return fn.cast(op_fn(fn.cast(x, "int32"), axes, keep, identity), x.dtype)
        if empty is not None and not identity and any(x.shape[a] == 0 for a in axes):
            shape = [1 if a in axes else d for a, d in enumerate(x.shape)]
            shape = shape if keep else [d for a, d in enumerate(x.shape) if a not in axes]
            return constant(np.full(shape, _extreme(x, empty), x.dtype.np))
        y = pre(x) if pre else x
        if identity:
            return post(y) if post else y
        out = y if x.ndim == 0 else f(y, axes, keep)
        return post(out) if post else out
    return op_fn


def _extreme(x: Tensor, sign: float) -> Any:
    """The identity of max (sign -1) or min (+1) over x's dtype."""
    if x.dtype.is_float:
        return sign * np.inf
    info = np.iinfo(x.dtype.np)
    return info.max if sign > 0 else info.min


REDUCERS = {
    "ReduceSum": _plain(fn.sum), "ReduceMean": _plain(fn.mean),
    "ReduceMax": _plain(fn.max, empty=-1), "ReduceMin": _plain(fn.min, empty=1),
    "ReduceProd": _plain(fn.prod),
    "ReduceSumSquare": _plain(fn.sum, pre=fn.square), "ReduceL1": _plain(fn.sum, pre=fn.abs),
    "ReduceL2": _plain(fn.sum, pre=fn.square, post=fn.sqrt),
    "ReduceLogSum": _plain(fn.sum, post=fn.log), "ReduceLogSumExp": _plain(fn.logsumexp),
}
for _name, _op in REDUCERS.items():
    converts(_name)(_reducer(_op))


def _arg(op_fn: Any) -> Any:
    def conv(ctx: NodeContext, x: Tensor) -> Tensor:
        axis, keep = ctx.attr("axis", 0), bool(ctx.attr("keepdims", 1))
        if ctx.attr("select_last_index", 0):
            flipped = _flip(x, axis)
            idx = op_fn(flipped, axis=axis, keepdims=keep)
            return like(idx, x.shape[axis] - 1) - idx
        return op_fn(x, axis=axis, keepdims=keep)
    return conv


def _flip(x: Tensor, axis: int) -> Tensor:
    axis %= x.ndim
    n = x.shape[axis]
    return fn.take(x, constant(np.arange(n - 1, -1, -1, dtype=np.int64)), axis=axis)


converts("ArgMax")(_arg(fn.argmax))
converts("ArgMin")(_arg(fn.argmin))
