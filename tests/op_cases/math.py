"""Catalogue cases for the elementwise, reduction and core ops (see tests/op_cases/__init__.py).

Inputs of differentiable cases stay away from kinks and poles, so central differences are
meaningful: log/sqrt/pow bases positive, abs/relu/sign/reciprocal away from 0, floor/ceil
away from integers, prod entries away from 0. ``ref`` is NumPy applied directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tests.op_cases import Case, f32

Array = Callable[[np.random.Generator], np.ndarray]


def args(*builders: Array) -> Callable[[np.random.Generator], list[np.ndarray]]:
    return lambda rng: [b(rng) for b in builders]


def away(*shape: int, low: float = 0.2, high: float = 2.0) -> Array:
    """Float32 magnitudes in [low, high) with random signs (no value near 0)."""
    return lambda rng: (rng.uniform(low, high, shape) * rng.choice([-1, 1], shape)).astype(
        np.float32
    )


def off_grid(*shape: int) -> Array:
    """Float32 values between integers (floor/ceil are flat there)."""
    return lambda rng: (rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)).astype(
        np.float32
    )


def ints(*shape: int, low: int = -5, high: int = 5, dtype: type = np.int32) -> Array:
    return lambda rng: rng.integers(low, high, shape).astype(dtype)


def bools(*shape: int) -> Array:
    return lambda rng: rng.random(shape) < 0.5


_erf = np.vectorize(math.erf)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x.astype(np.float64) / math.sqrt(2)))


# name -> (builder of the float input, NumPy reference)
UNARY_FLOAT: dict[str, tuple[Array, Callable]] = {
    "neg": (f32(3, 4), np.negative),
    "abs": (away(3, 4), np.abs),
    "sign": (away(3, 4), np.sign),
    "exp": (f32(3, 4), np.exp),
    "log": (f32(3, 4, low=0.5, high=3.0), np.log),
    "log1p": (f32(3, 4, low=-0.5, high=2.0), np.log1p),
    "sqrt": (f32(3, 4, low=0.5, high=3.0), np.sqrt),
    "rsqrt": (f32(3, 4, low=0.5, high=3.0), lambda x: 1 / np.sqrt(x)),
    "square": (f32(3, 4), np.square),
    "reciprocal": (away(3, 4), lambda x: 1 / x),
    "sin": (f32(3, 4), np.sin),
    "cos": (f32(3, 4), np.cos),
    "tanh": (f32(3, 4), np.tanh),
    "sigmoid": (f32(3, 4, low=-4.0, high=4.0), lambda x: 1 / (1 + np.exp(-x))),
    "relu": (away(3, 4), lambda x: np.maximum(x, 0)),
    "softplus": (f32(3, 4, low=-4.0, high=4.0), lambda x: np.log1p(np.exp(x))),
    "gelu": (f32(3, 4), _gelu),
    "erf": (f32(3, 4), _erf),
    "floor": (off_grid(3, 4), np.floor),
    "ceil": (off_grid(3, 4), np.ceil),
}

UNARY = [Case(op, args(make), ref=ref) for op, (make, ref) in UNARY_FLOAT.items()] + [
    Case("leaky_relu", args(away(3, 4)), {"alpha": 0.1}, ref=lambda x: np.where(x > 0, x, 0.1 * x)),
    Case("leaky_relu", args(away(5)), label="default-alpha",
         ref=lambda x: np.where(x > 0, x, 0.01 * x)),
    Case("elu", args(away(3, 4)), {"alpha": 0.7},
         ref=lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0)))),
    Case("logical_not", args(bools(3, 4)), ref=np.logical_not),
    Case("full_like", args(f32(3, 4)), {"value": 2.5}, ref=lambda x: np.full_like(x, 2.5)),
    Case("full_like", args(ints(2, 3)), {"value": 7.0}, "int", ref=lambda x: np.full_like(x, 7)),
] + [
    Case(op, args(ints(2, 5)), label="int", ref=ref)
    for op, ref in [("neg", np.negative), ("abs", np.abs), ("sign", np.sign),
                    ("square", np.square), ("relu", lambda x: np.maximum(x, 0))]
]

# operand shapes that broadcast in every way binaries meet
SHAPES = {"same": ((3, 4), (3, 4)), "outer": ((3, 1), (1, 4)), "rank": ((2, 3, 4), (4,)),
          "scalar": ((), (3, 4))}


def _pairs(op: str, a: Callable[..., Array], b: Callable[..., Array], ref: Callable) -> list[Case]:
    return [Case(op, args(a(*sa), b(*sb)), label=label, ref=ref)
            for label, (sa, sb) in SHAPES.items()]


def _positive(*shape: int) -> Array:
    return f32(*shape, low=0.5, high=2.0)


def _exponent(*shape: int) -> Array:
    return f32(*shape, low=-1.5, high=1.5)


BINARY = [
    *_pairs("add", f32, f32, np.add),
    *_pairs("sub", f32, f32, np.subtract),
    *_pairs("mul", f32, f32, np.multiply),
    *_pairs("div", f32, away, np.divide),
    *_pairs("pow", _positive, _exponent, np.power),
    *_pairs("maximum", f32, f32, np.maximum),
    *_pairs("minimum", f32, f32, np.minimum),
    Case("add", args(ints(3, 4), ints(4)), label="int", ref=np.add),
    Case("maximum", args(ints(3, 4), ints(3, 1)), label="int", ref=np.maximum),
]

COMPARE = [
    Case(op, args(ints(3, 4, low=0, high=3), ints(4, low=0, high=3)), label="int", ref=ref)
    for op, ref in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                    ("less_equal", np.less_equal), ("greater", np.greater),
                    ("greater_equal", np.greater_equal)]
] + [
    Case("less", args(f32(3, 1), f32(1, 4)), label="float", ref=np.less),
    Case("equal", args(bools(3, 4), bools(3, 4)), label="bool", ref=np.equal),
    Case("logical_and", args(bools(3, 4), bools(4)), ref=np.logical_and),
    Case("logical_or", args(bools(3, 1), bools(1, 4)), ref=np.logical_or),
]

SELECT = [
    Case("where", args(bools(3, 4), f32(3, 4), f32(3, 4)), label="same", ref=np.where),
    Case("where", args(bools(3, 1), f32(1, 4), f32(3, 4)), label="broadcast", ref=np.where),
    Case("where", args(bools(3, 4), f32(), f32(4)), label="scalar-branch", ref=np.where),
    Case("where", args(bools(2, 3), ints(2, 3), ints(3)), label="int", ref=np.where),
    Case("cast", args(f32(3, 4)), {"dtype": "float64"}, "f32-f64",
         ref=lambda x: x.astype(np.float64)),
    Case("cast", args(f32(3, 4)), {"dtype": "int32"}, "f32-i32", ref=lambda x: x.astype(np.int32)),
    Case("cast", args(ints(3, 4)), {"dtype": "float32"}, "i32-f32",
         ref=lambda x: x.astype(np.float32)),
    Case("cast", args(bools(3, 4)), {"dtype": "float32"}, "bool-f32",
         ref=lambda x: x.astype(np.float32)),
]


def _reduce_cases(op: str, make: Array, ref: Callable) -> list[Case]:
    """Every axis form: all, one, several, negative, with and without keepdims."""
    forms = [(None, False), ((1,), False), ((0, 2), True), ((-1,), True), ((0, 1, 2), False)]
    return [
        Case(op, args(make), {"axis": axis, "keepdims": keep}, f"axis{axis}-keep{keep}",
             ref=lambda x, axis=axis, keep=keep: ref(x, axis=axis, keepdims=keep))
        for axis, keep in forms
    ]


def _logsumexp(x: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    wide = x.astype(np.float64)
    out = np.log(np.sum(np.exp(wide), axis=axis, keepdims=keepdims))
    return out.astype(x.dtype)


def _with_zeros(rng: np.random.Generator) -> list[np.ndarray]:
    """Rows with no, one and two zeros: prod's gradient has a case for each."""
    x = rng.uniform(0.5, 1.5, (3, 4)).astype(np.float32)
    x[1, 2] = x[2, 0] = x[2, 3] = 0
    return [x]


REDUCE = [
    *_reduce_cases("sum", f32(3, 4, 5), np.sum),
    *_reduce_cases("mean", f32(3, 4, 5), np.mean),
    *_reduce_cases("max", f32(3, 4, 5), np.max),
    *_reduce_cases("min", f32(3, 4, 5), np.min),
    *_reduce_cases("prod", away(3, 4, 5, low=0.6, high=1.4), np.prod),
    *_reduce_cases("logsumexp", f32(3, 4, 5), _logsumexp),
    Case("prod", _with_zeros, {"axis": (1,)}, "zeros", ref=lambda x: np.prod(x, 1)),
    Case("sum", args(ints(3, 4)), {"axis": (0,)}, "int", ref=lambda x: np.sum(x, 0, np.int32)),
    Case("max", args(ints(3, 4)), {"axis": (1,), "keepdims": True}, "int",
         ref=lambda x: np.max(x, 1, keepdims=True)),
    Case("sum", args(f32()), {"axis": ()}, "scalar-no-axes", ref=lambda x: x),
    Case("argmax", args(f32(3, 4)), ref=lambda x: np.int64(np.argmax(x))),
    Case("argmax", args(f32(3, 4)), {"axis": 1}, "axis1", ref=lambda x: np.argmax(x, 1)),
    Case("argmin", args(ints(3, 4)), {"axis": -2, "keepdims": True}, "int-keep",
         ref=lambda x: np.argmin(x, 0)[None, :]),
]

_VALUE = np.arange(6, dtype=np.float32).reshape(2, 3)
CORE = [
    Case("constant", lambda rng: [], {"value": _VALUE}, "matrix", ref=lambda: _VALUE),
    Case("constant", lambda rng: [], {"value": np.int64(3)}, "int-scalar",
         ref=lambda: np.int64(3)),
]

CASES: list[Case] = UNARY + BINARY + COMPARE + SELECT + REDUCE + CORE
