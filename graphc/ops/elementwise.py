"""Elementwise ops: unary math, binary arithmetic, comparisons, logic, where, cast."""

from __future__ import annotations

import math

import numpy as np

from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import bool_
from graphc.ops._rules import ANY, BOOL, FLOAT, NUMERIC, cast_rule, elementwise_rule, where_rule

_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x: np.ndarray) -> np.ndarray:
    return _erf_scalar(x).astype(x.dtype, copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-log(1 + exp(-x))) never overflows and keeps relative accuracy for large |x|
    return np.exp(-np.logaddexp(x.dtype.type(0), -x))


def _gelu(x: np.ndarray) -> np.ndarray:
    half = x.dtype.type(0.5)
    return half * x * (1 + _erf(x * x.dtype.type(1 / math.sqrt(2))))


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def _leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x >= 0, x, x * x.dtype.type(alpha))


def _rsqrt(x: np.ndarray) -> np.ndarray:
    return (1 / np.sqrt(x)).astype(x.dtype, copy=False)


def _reciprocal(x: np.ndarray) -> np.ndarray:
    return (1 / x).astype(x.dtype, copy=False)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, x.dtype.type(0))


def _unary(name: str, kernel, kind: str = FLOAT, attrs=None, doc: str = "") -> OpDef:
    return register(
        OpDef(
            name,
            "elementwise",
            elementwise_rule(kind),
            kernel,
            arity=1,
            attrs=attrs or {},
            elementwise=True,
            differentiable=kind != BOOL,
            doc=doc,
        )
    )


def _binary(name: str, kernel, kind: str = NUMERIC, result=None, commutative=False) -> OpDef:
    return register(
        OpDef(
            name,
            "elementwise",
            elementwise_rule(kind, result),
            kernel,
            arity=2,
            elementwise=True,
            commutative=commutative,
            differentiable=result is None and kind != BOOL,
        )
    )


_ALPHA = {"alpha": AttrSpec("float", 0.01)}

neg = _unary("neg", np.negative, NUMERIC, doc="-x")
abs = _unary("abs", np.abs, NUMERIC, doc="|x|")
sign = _unary("sign", np.sign, NUMERIC, doc="-1, 0 or 1")
exp = _unary("exp", np.exp)
log = _unary("log", np.log)
log1p = _unary("log1p", np.log1p)
sqrt = _unary("sqrt", np.sqrt)
rsqrt = _unary("rsqrt", _rsqrt, doc="1 / sqrt(x)")
square = _unary("square", np.square, NUMERIC)
reciprocal = _unary("reciprocal", _reciprocal)
sin = _unary("sin", np.sin)
cos = _unary("cos", np.cos)
tanh = _unary("tanh", np.tanh)
sigmoid = _unary("sigmoid", _sigmoid)
relu = _unary("relu", _relu, NUMERIC)
leaky_relu = _unary("leaky_relu", _leaky_relu, attrs=_ALPHA)
elu = _unary("elu", _elu, attrs={"alpha": AttrSpec("float", 1.0)})
softplus = _unary("softplus", lambda x: np.logaddexp(x.dtype.type(0), x))
gelu = _unary("gelu", _gelu, doc="exact GELU, x * Phi(x)")
erf = _unary("erf", _erf)
floor = _unary("floor", np.floor)
ceil = _unary("ceil", np.ceil)
logical_not = _unary("logical_not", np.logical_not, BOOL)

add = _binary("add", np.add, commutative=True)
sub = _binary("sub", np.subtract)
mul = _binary("mul", np.multiply, commutative=True)
div = _binary("div", np.divide, FLOAT)
pow = _binary("pow", np.power, FLOAT)
maximum = _binary("maximum", np.maximum, commutative=True)
minimum = _binary("minimum", np.minimum, commutative=True)
equal = _binary("equal", np.equal, ANY, bool_, commutative=True)
not_equal = _binary("not_equal", np.not_equal, ANY, bool_, commutative=True)
less = _binary("less", np.less, NUMERIC, bool_)
less_equal = _binary("less_equal", np.less_equal, NUMERIC, bool_)
greater = _binary("greater", np.greater, NUMERIC, bool_)
greater_equal = _binary("greater_equal", np.greater_equal, NUMERIC, bool_)
logical_and = _binary("logical_and", np.logical_and, BOOL, commutative=True)
logical_or = _binary("logical_or", np.logical_or, BOOL, commutative=True)

where = register(
    OpDef("where", "elementwise", where_rule, np.where, arity=3, elementwise=True)
)
cast = register(
    OpDef(
        "cast",
        "elementwise",
        cast_rule,
        lambda x, dtype: x.astype(dtype.np),
        attrs={"dtype": AttrSpec("dtype")},
        elementwise=True,
    )
)
