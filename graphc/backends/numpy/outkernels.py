"""Kernels that write their result into a given buffer (``out=``), keyed by op.

Ops without an entry run their reference kernel and the result is copied into the buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import ops
from graphc.ir.opdef import OpDef

OutKernel = Callable[..., None]  # fn(out, *arrays, **attrs)


def _ufunc(f: np.ufunc) -> OutKernel:
    def kernel(out: np.ndarray, *args: np.ndarray, **attrs: Any) -> None:
        f(*args, out=out)

    return kernel


def _relu(out: np.ndarray, x: np.ndarray) -> None:
    np.maximum(x, x.dtype.type(0), out=out)


def _cast(out: np.ndarray, x: np.ndarray, dtype: Any) -> None:
    np.copyto(out, x, casting="unsafe")


def _reduction(f: Callable[..., Any], with_dtype: bool = True) -> OutKernel:
    # f is np.mean or a ufunc's reduce (what np.sum, np.max ... call, minus their wrapper)
    def kernel(out: np.ndarray, x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> None:
        extra = {"dtype": x.dtype} if with_dtype else {}
        f(x, axis=axis, out=out, keepdims=keepdims, **extra)

    return kernel


def _mean(out: np.ndarray, x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> None:
    # np.mean's own steps for a given out= and dtype (a sum, then a division by the count
    # as an intp: the same float64 division and rounding), without its Python preamble
    count = np.intp(np.prod([x.shape[a] for a in axis], dtype=np.intp))
    np.add.reduce(x, axis=axis, dtype=x.dtype, out=out, keepdims=keepdims)
    np.true_divide(out, count, out=out, casting="unsafe")


def _matmul(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    np.matmul(a, b, out=out)


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}  # float itemsize -> same-width integer


def _where(out: np.ndarray, cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    # where(c, x, +0.0) (relu's gradient) is a bit mask: x's bits AND (c ? all ones : 0).
    # That is exactly np.where's result (NaN and -0.0 in x kept only where c holds) and
    # several times faster, since np.where branches per element on a random mask.
    if cond.dtype == np.bool_ and out.dtype.itemsize in _BITS and out.dtype.kind == "f" \
            and y.ndim == 0 and y == 0 and not np.signbit(y):
        if x is not out:
            np.copyto(out, x, casting="unsafe")
        bits = out.view(_BITS[out.dtype.itemsize])
        np.bitwise_and(bits, np.negative(cond.view(np.int8)), out=bits)
    else:
        np.copyto(out, np.where(cond, x, y), casting="unsafe")


def _softmax_cross_entropy(out: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> None:
    # the reference's arithmetic, op for op, but -log_softmax is only formed at the labels
    # (the reference forms it for every class, then picks); labels out of range go to the
    # reference kernel, which raises its error
    classes = logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        np.copyto(out, ops.softmax_cross_entropy.kernel(logits, labels))
        return
    z = logits - np.maximum.reduce(logits, axis=-1, keepdims=True, initial=-np.inf)
    lse = np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
    picked = np.take_along_axis(z, labels[..., None].astype(np.intp), -1)
    np.subtract(picked[..., 0], lse[..., 0], out=out)
    np.negative(out, out=out)  # not lse - picked: that would turn a -0.0 loss into +0.0


_UFUNCS: dict[str, np.ufunc] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "neg": np.negative, "abs": np.absolute,
    "sign": np.sign, "exp": np.exp, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "square": np.square, "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "floor": np.floor,
    "ceil": np.ceil, "equal": np.equal, "not_equal": np.not_equal, "less": np.less,
    "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_not": np.logical_not,
}

UFUNCS: dict[OpDef, np.ufunc] = {ops.REGISTRY[name]: f for name, f in _UFUNCS.items()}
OUT: dict[OpDef, OutKernel] = {op: _ufunc(f) for op, f in UFUNCS.items()}
OUT.update({
    ops.relu: _relu, ops.cast: _cast, ops.matmul: _matmul, ops.where: _where,
    ops.softmax_cross_entropy: _softmax_cross_entropy,
    ops.sum: _reduction(np.add.reduce), ops.mean: _mean,
    ops.prod: _reduction(np.multiply.reduce), ops.max: _reduction(np.maximum.reduce, False),
    ops.min: _reduction(np.minimum.reduce, False),
})


def write(op: OpDef, out: np.ndarray, args: Sequence[np.ndarray], attrs: dict[str, Any]) -> None:
    """``op``'s result written into ``out`` (the reference kernel plus a copy as a fallback)."""
    fn = OUT.get(op)
    if fn is not None:
        fn(out, *args, **attrs)
    else:
        np.copyto(out, op.kernel(*args, **attrs), casting="unsafe")
