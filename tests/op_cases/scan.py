"""Catalogue cases for expm1, stop_gradient, iota, cumsum, argsort, gather, gather_grad.

Each ``ref`` is written out with Python loops or math functions, not the kernels under test.
"""

from __future__ import annotations

import math

import numpy as np

from tests.op_cases import Case, f32
from tests.op_cases.shape import args, ints


def _expm1(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.expm1)(x.astype(np.float64)).astype(x.dtype)


def _tiny_and_wide(rng: np.random.Generator) -> list[np.ndarray]:
    x = np.concatenate([rng.uniform(-1e-6, 1e-6, 8), rng.uniform(-3, 3, 8)])
    return [x.astype(np.float32).reshape(4, 4)]


def _iota(shape, axis, dtype) -> np.ndarray:
    out = np.zeros(shape, dtype)
    for pos in np.ndindex(*shape):
        out[pos] = pos[axis]
    return out


def _lines(x: np.ndarray, axis: int):
    """(index tuple builder, line length) for each 1-D line of x along axis."""
    moved = np.moveaxis(np.arange(x.size).reshape(x.shape), axis, -1)
    return [np.unravel_index(line, x.shape) for line in moved.reshape(-1, x.shape[axis])]


def _cumsum(x: np.ndarray, axis: int, reverse: bool = False) -> np.ndarray:
    out = np.zeros_like(x)
    for where in _lines(x, axis):
        total = x.dtype.type(0)
        order = range(len(where[0]))
        for i in (reversed(order) if reverse else order):
            at = tuple(w[i] for w in where)
            total = total + x[at]
            out[at] = total
    return out


def _sort_key(v: float, descending: bool) -> tuple:
    nan = bool(np.isnan(v))
    if descending:
        return (0, 0.0) if nan else (1, -float(v))
    return (1, 0.0) if nan else (0, float(v))


def _argsort(x: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    out = np.zeros(x.shape, np.int64)
    for where in _lines(x, axis):
        vals = [x[tuple(w[i] for w in where)] for i in range(len(where[0]))]
        order = sorted(range(len(vals)), key=lambda i: (_sort_key(vals[i], descending), i))
        for rank, i in enumerate(order):
            out[tuple(w[rank] for w in where)] = i
    return out


def _with_ties_and_nan(rng: np.random.Generator) -> list[np.ndarray]:
    x = rng.integers(0, 4, (3, 6)).astype(np.float32)
    x[0, 2] = x[1, 5] = x[1, 0] = np.nan
    return [x]


def _gather(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    out = np.zeros(idx.shape, x.dtype)
    for pos in np.ndindex(*idx.shape):
        src = list(pos)
        src[axis] = idx[pos] % x.shape[axis]
        out[pos] = x[tuple(src)]
    return out


def _gather_grad(g: np.ndarray, idx: np.ndarray, axis: int, shape) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    for pos in np.ndindex(*idx.shape):
        dst = list(pos)
        dst[axis] = idx[pos] % shape[axis]
        out[tuple(dst)] += g[pos]
    return out


def _layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    out = np.zeros_like(x)
    for where in _lines(x, x.ndim - 1):
        row = np.array([x[tuple(w[i] for w in where)] for i in range(len(where[0]))], np.float64)
        y = (row - row.mean()) / math.sqrt(row.var() + eps)
        for i, v in enumerate(y):
            out[tuple(w[i] for w in where)] = v
    return out


def layer_norm_grad_ref(g: np.ndarray, x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """The gradient of layer_norm by its Jacobian, written out per row in float64."""
    out = np.zeros_like(x)
    for where in _lines(x, x.ndim - 1):
        at = [tuple(w[i] for w in where) for i in range(len(where[0]))]
        row = np.array([x[p] for p in at], np.float64)
        n, rstd = len(row), 1 / math.sqrt(row.var() + eps)
        y = (row - row.mean()) * rstd
        jac = rstd * (np.eye(n) - 1 / n - np.outer(y, y) / n)  # dy_j / dx_i, symmetric
        grad = jac @ np.array([g[p] for p in at], np.float64)
        for p, v in zip(at, grad, strict=True):
            out[p] = v
    return out


CASES = [
    Case("layer_norm", args(f32(3, 4, 7)), ref=_layer_norm),
    Case("layer_norm", args(f32(5, 16)), {"eps": 0.5}, "eps", ref=lambda x: _layer_norm(x, 0.5)),
    Case("layer_norm_grad", args(f32(3, 6), f32(3, 6)), ref=layer_norm_grad_ref),
    Case("expm1", _tiny_and_wide, ref=_expm1),
    Case("stop_gradient", args(f32(3, 4)), ref=lambda x: x),
    Case("iota", lambda rng: [], {"shape": (3, 4), "axis": 1, "dtype": "float32"}, "f32",
         ref=lambda: _iota((3, 4), 1, np.float32)),
    Case("iota", lambda rng: [], {"shape": (2, 3, 2), "axis": -2, "dtype": "int32"}, "i32",
         ref=lambda: _iota((2, 3, 2), 1, np.int32)),
    Case("cumsum", args(f32(3, 5)), {"axis": 1}, ref=lambda x: _cumsum(x, 1)),
    Case("cumsum", args(f32(4, 3, 2)), {"axis": 0, "reverse": True}, "reverse",
         ref=lambda x: _cumsum(x, 0, True)),
    Case("cumsum", args(ints(3, 4, low=-9, high=9)), {"axis": -1}, "int",
         ref=lambda x: _cumsum(x, 1)),
    Case("argsort", _with_ties_and_nan, {"axis": 1}, "ties-nan", ref=lambda x: _argsort(x, 1)),
    Case("argsort", _with_ties_and_nan, {"axis": 1, "descending": True}, "descending",
         ref=lambda x: _argsort(x, 1, True)),
    Case("argsort", args(f32(5, 3)), {"axis": 0}, "axis0", ref=lambda x: _argsort(x, 0)),
    Case("gather", args(f32(3, 5), ints(3, 4, low=-5, high=5)), {"axis": 1},
         ref=lambda x, i: _gather(x, i, 1)),
    Case("gather", args(f32(4, 2, 3), ints(6, 2, 3, high=4)), {"axis": 0}, "axis0",
         ref=lambda x, i: _gather(x, i, 0)),
    Case("gather_grad", args(f32(3, 4), ints(3, 4, low=-5, high=5)),
         {"axis": 1, "shape": (3, 5)}, ref=lambda g, i: _gather_grad(g, i, 1, (3, 5))),
]
