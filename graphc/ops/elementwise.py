"""Elementwise ops: unary math, binary arithmetic, comparisons, logic, where, cast."""

from __future__ import annotations

import math

import numpy as np

from graphc.ir.emit import Emitter
from graphc.ir.graph import Node, Value
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import bool_
from graphc.ops._cost import per_element
from graphc.ops._rules import ANY, BOOL, FLOAT, NUMERIC, cast_rule, elementwise_rule, where_rule

_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x: np.ndarray) -> np.ndarray:
    return _erf_scalar(x).astype(x.dtype, copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # with t = exp(-|x|) <= 1 nothing overflows: 1/(1+t) for x >= 0, t/(1+t) below, which keeps
    # full relative accuracy for large negative x (np.logaddexp does too, at 3x the cost)
    t = np.exp(-np.abs(x))
    s = 1 / (1 + t)
    return np.where(x >= 0, s, t * s).astype(x.dtype, copy=False)


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


def _unary(
    name: str, kernel, kind: str = FLOAT, attrs=None, doc: str = "", d=None, nonneg=False
) -> OpDef:
    """Register a unary op; ``d(e, x, y, g, attrs) -> dx`` is its gradient rule (None: zero)."""
    return register(
        OpDef(
            name,
            "elementwise",
            elementwise_rule(kind),
            kernel,
            arity=1,
            attrs=attrs or {},
            vjp=_unary_vjp(d),
            elementwise=True,
            nonnegative=nonneg,
            differentiable=kind != BOOL,
            cost=per_element(),
            doc=doc,
        )
    )


def _unary_vjp(d):
    def vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
        if d is None:
            return [None]
        return [d(e, node.inputs[0], node.outputs[0], gouts[0], node.attrs)]

    return vjp


def _binary(name: str, kernel, kind: str = NUMERIC, result=None, commutative=False, d=None):
    """Register a binary op; ``d(e, a, b, y, g) -> (da, db)`` in the broadcast shape."""
    return register(
        OpDef(
            name,
            "elementwise",
            elementwise_rule(kind, result),
            kernel,
            arity=2,
            vjp=_binary_vjp(d) if d else None,
            elementwise=True,
            commutative=commutative,
            differentiable=result is None and kind != BOOL,
            cost=per_element(),
        )
    )


def _binary_vjp(d):
    def vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
        a, b = node.inputs
        grads = d(e, a, b, node.outputs[0], gouts[0])
        # gradients come back in the broadcast shape: sum them to each operand's shape
        pairs = zip(grads, (a.type, b.type), strict=True)
        return [None if g is None else e.sum_to(g, t) for g, t in pairs]

    return vjp


def _c(e: Emitter, value: float, like: Value) -> Value:
    return e.scalar_like(value, like)


_ALPHA = {"alpha": AttrSpec("float", 0.01)}
_SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# Gradient rules sit on the same line as their op: d(e, x, y, g, attrs) -> dx, with y the
# forward result. Subgradients at kinks follow PyTorch: abs'(0) = 0, relu'(0) = 0, and
# sign/floor/ceil have zero gradient everywhere (None: no gradient node at all).
neg = _unary("neg", np.negative, NUMERIC, doc="-x", d=lambda e, x, y, g, a: e.neg(g))
abs = _unary("abs", np.abs, NUMERIC, doc="|x|", d=lambda e, x, y, g, a: e.mul(g, e.sign(x)),
             nonneg=True)
sign = _unary("sign", np.sign, NUMERIC, doc="-1, 0 or 1")
exp = _unary("exp", np.exp, d=lambda e, x, y, g, a: e.mul(g, y), nonneg=True)
log = _unary("log", np.log, d=lambda e, x, y, g, a: e.div(g, x))
log1p = _unary("log1p", np.log1p, d=lambda e, x, y, g, a: e.div(g, e.add(x, _c(e, 1, x))))
sqrt = _unary(
    "sqrt", np.sqrt, d=lambda e, x, y, g, a: e.div(e.mul(g, _c(e, 0.5, g)), y), nonneg=True
)
rsqrt = _unary(
    "rsqrt", _rsqrt, doc="1 / sqrt(x)",
    d=lambda e, x, y, g, a: e.mul(g, e.mul(_c(e, -0.5, y), e.mul(y, e.square(y)))),
)
square = _unary(
    "square", np.square, NUMERIC, d=lambda e, x, y, g, a: e.mul(g, e.add(x, x)), nonneg=True
)
reciprocal = _unary(
    "reciprocal", _reciprocal, d=lambda e, x, y, g, a: e.neg(e.mul(g, e.square(y)))
)
sin = _unary("sin", np.sin, d=lambda e, x, y, g, a: e.mul(g, e.cos(x)))
cos = _unary("cos", np.cos, d=lambda e, x, y, g, a: e.neg(e.mul(g, e.sin(x))))
tanh = _unary(
    "tanh", np.tanh, d=lambda e, x, y, g, a: e.mul(g, e.sub(_c(e, 1, y), e.square(y)))
)
sigmoid = _unary(
    "sigmoid", _sigmoid, d=lambda e, x, y, g, a: e.mul(g, e.mul(y, e.sub(_c(e, 1, y), y))),
    nonneg=True,
)


def _where_positive(e: Emitter, x: Value, g: Value, otherwise) -> Value:
    """g where x > 0, else otherwise(zero); x > 0 (not >=) puts kinks on the zero side."""
    zero = _c(e, 0, x)
    return e.where(e.greater(x, zero), g, otherwise(zero))


relu = _unary(
    "relu", _relu, NUMERIC, d=lambda e, x, y, g, a: _where_positive(e, x, g, lambda z: z),
    nonneg=True,
)
leaky_relu = _unary(
    "leaky_relu", _leaky_relu, attrs=_ALPHA,
    d=lambda e, x, y, g, a: _where_positive(e, x, g, lambda z: e.mul(g, _c(e, a["alpha"], g))),
)
elu = _unary(
    "elu", _elu, attrs={"alpha": AttrSpec("float", 1.0)},
    # for x <= 0, d/dx alpha*(exp(x) - 1) = alpha*exp(x) = y + alpha (PyTorch's form)
    d=lambda e, x, y, g, a: _where_positive(
        e, x, g, lambda z: e.mul(g, e.add(y, _c(e, a["alpha"], y)))
    ),
)
softplus = _unary(
    "softplus", lambda x: np.logaddexp(x.dtype.type(0), x),
    d=lambda e, x, y, g, a: e.mul(g, e.sigmoid(x)), nonneg=True,
)


def _gelu_d(e: Emitter, x: Value, y: Value, g: Value, attrs) -> Value:
    # d/dx x*Phi(x) = Phi(x) + x*phi(x)
    cdf = e.mul(_c(e, 0.5, x), e.add(_c(e, 1, x), e.erf(e.mul(x, _c(e, 1 / math.sqrt(2), x)))))
    pdf = e.mul(_c(e, _INV_SQRT_2PI, x), e.exp(e.mul(e.square(x), _c(e, -0.5, x))))
    return e.mul(g, e.add(cdf, e.mul(x, pdf)))


gelu = _unary("gelu", _gelu, doc="exact GELU, x * Phi(x)", d=_gelu_d)
erf = _unary(
    "erf", _erf,
    d=lambda e, x, y, g, a: e.mul(g, e.mul(_c(e, _SQRT_2_OVER_PI, x), e.exp(e.neg(e.square(x))))),
)
floor = _unary("floor", np.floor)
ceil = _unary("ceil", np.ceil)
logical_not = _unary("logical_not", np.logical_not, BOOL)
# Autodiff needs zeros and ones shaped like a value whose dims are symbolic (a batch B), which
# no attribute can spell at run time: full_like takes the shape from its operand.
full_like = _unary(
    "full_like", lambda x, value: np.full(x.shape, value, x.dtype), ANY,
    attrs={"value": AttrSpec("float", 0.0)}, doc="x's shape and dtype, filled with value",
)

add = _binary("add", np.add, commutative=True, d=lambda e, a, b, y, g: (g, g))
sub = _binary("sub", np.subtract, d=lambda e, a, b, y, g: (g, e.neg(g)))
mul = _binary(
    "mul", np.multiply, commutative=True, d=lambda e, a, b, y, g: (e.mul(g, b), e.mul(g, a))
)
div = _binary(
    "div", np.divide, FLOAT,
    d=lambda e, a, b, y, g: (e.div(g, b), e.neg(e.div(e.mul(g, y), b))),
)


def _pow_d(e: Emitter, a: Value, b: Value, y: Value, g: Value) -> tuple[Value, Value]:
    # PyTorch's conventions: d/da is 0 where b == 0 (not 0 * inf at a == 0), and d/db is 0
    # where a == 0 (log(0) would give 0 * -inf)
    zero, one = _c(e, 0, a), _c(e, 1, a)
    da = e.mul(e.mul(g, b), e.pow(a, e.sub(b, one)))
    da = e.where(e.equal(b, zero), zero, da)
    safe_a = e.where(e.equal(a, zero), one, a)
    return da, e.mul(e.mul(g, y), e.log(safe_a))


def _choose_d(pick):
    """maximum/minimum: the chosen operand gets g, ties split it evenly (as PyTorch does)."""

    def d(e: Emitter, a: Value, b: Value, y: Value, g: Value) -> tuple[Value, Value]:
        wins = e.cast(e.op(pick, a, b), dtype=g.type.dtype)
        ties = e.mul(e.cast(e.equal(a, b), dtype=g.type.dtype), _c(e, 0.5, g))
        share = e.mul(g, e.add(wins, ties))
        return share, e.sub(g, share)

    return d


pow = _binary("pow", np.power, FLOAT, d=_pow_d)
maximum = _binary("maximum", np.maximum, commutative=True, d=_choose_d("greater"))
minimum = _binary("minimum", np.minimum, commutative=True, d=_choose_d("less"))
equal = _binary("equal", np.equal, ANY, bool_, commutative=True)
not_equal = _binary("not_equal", np.not_equal, ANY, bool_, commutative=True)
less = _binary("less", np.less, NUMERIC, bool_)
less_equal = _binary("less_equal", np.less_equal, NUMERIC, bool_)
greater = _binary("greater", np.greater, NUMERIC, bool_)
greater_equal = _binary("greater_equal", np.greater_equal, NUMERIC, bool_)
logical_and = _binary("logical_and", np.logical_and, BOOL, commutative=True)
logical_or = _binary("logical_or", np.logical_or, BOOL, commutative=True)


def _where_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    cond, a, b = node.inputs
    (g,) = gouts
    zero = _c(e, 0, g)
    da, db = e.where(cond, g, zero), e.where(cond, zero, g)  # no gradient to the condition
    return [None, e.sum_to(da, a.type), e.sum_to(db, b.type)]


where = register(
    OpDef(
        "where", "elementwise", where_rule, np.where, arity=3, vjp=_where_vjp, elementwise=True,
        cost=per_element(),
    )
)


def _cast_vjp(e: Emitter, node: Node, gouts: list[Value]) -> list[Value | None]:
    x = node.inputs[0]
    return [e.cast(gouts[0], dtype=x.type.dtype) if x.type.dtype.is_float else None]


cast = register(
    OpDef(
        "cast",
        "elementwise",
        cast_rule,
        lambda x, dtype: x.astype(dtype.np),
        attrs={"dtype": AttrSpec("dtype")},
        vjp=_cast_vjp,
        elementwise=True,
        cost=per_element(),
    )
)
