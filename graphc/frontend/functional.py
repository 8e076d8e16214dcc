"""Every op of the catalogue as a NumPy-like function: gc.exp(x), gc.sum(x, axis=1) ..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc import ops
from graphc.frontend.api import apply, constant_in
from graphc.frontend.tensor import Tensor
from graphc.ir.opdef import OpDef
from graphc.ir.types import bool_


def _unary(op: OpDef) -> Callable[..., Tensor]:
    # **attrs: gc.exp(x, beta=1) is a GraphcError naming the unknown attribute (test_api)
    def fn(x: Any, **attrs: Any) -> Tensor:
        return apply(op, x, **attrs)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"Elementwise {op.name}."
    return fn


def _binary(op: OpDef) -> Callable[[Any, Any], Tensor]:
    def fn(a: Any, b: Any) -> Tensor:
        if op in _ARITHMETIC:
            a, b = _promote_bool(a, b)
        return apply(op, a, b)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"Elementwise {op.name} with NumPy broadcasting."
    return fn


def _promote_bool(a: Any, b: Any) -> tuple[Any, Any]:
    """A bool tensor in arithmetic with a numeric tensor takes the other's dtype (True -> 1), as
    in NumPy, PyTorch and JAX, so ``x * (y == 3)`` is a mask; graphc promotes nothing else."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return a, b
    if a.dtype == bool_ and b.dtype != bool_:
        return cast(a, b.dtype), b
    if b.dtype == bool_ and a.dtype != bool_:
        return a, cast(b, a.dtype)
    return a, b


neg, abs, sign = map(_unary, (ops.neg, ops.abs, ops.sign))
exp, log, log1p = map(_unary, (ops.exp, ops.log, ops.log1p))
sqrt, rsqrt, square, reciprocal = map(_unary, (ops.sqrt, ops.rsqrt, ops.square, ops.reciprocal))
sin, cos, tanh, sigmoid, relu = map(_unary, (ops.sin, ops.cos, ops.tanh, ops.sigmoid, ops.relu))
softplus, gelu, erf = map(_unary, (ops.softplus, ops.gelu, ops.erf))
floor, ceil = _unary(ops.floor), _unary(ops.ceil)
logical_not = _unary(ops.logical_not)

add, sub, mul, div, pow = map(_binary, (ops.add, ops.sub, ops.mul, ops.div, ops.pow))
maximum, minimum = _binary(ops.maximum), _binary(ops.minimum)
equal, not_equal = _binary(ops.equal), _binary(ops.not_equal)
less, less_equal = _binary(ops.less), _binary(ops.less_equal)
greater, greater_equal = _binary(ops.greater), _binary(ops.greater_equal)
logical_and, logical_or = _binary(ops.logical_and), _binary(ops.logical_or)
multiply, subtract, divide, power, negative = mul, sub, div, pow, neg  # NumPy spellings
_ARITHMETIC = frozenset((ops.add, ops.sub, ops.mul, ops.div, ops.pow, ops.maximum, ops.minimum))


def floor_divide(a: Any, b: Any) -> Tensor:
    """floor(a / b) (``a // b``), for float dtypes."""
    return floor(div(a, b))


def remainder(a: Any, b: Any) -> Tensor:
    """a - floor(a / b) * b (``a % b``): the sign follows b, as in NumPy; float dtypes."""
    return sub(a, mul(floor_divide(a, b), b))


mod = remainder  # NumPy's other name


def leaky_relu(x: Any, alpha: float = 0.01) -> Tensor:
    """x if x >= 0 else alpha * x."""
    return apply(ops.leaky_relu, x, alpha=alpha)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return apply(ops.elu, x, alpha=alpha)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """a where cond else b, broadcasting all three."""
    like = next((o for o in (a, b) if isinstance(o, Tensor)), None)
    if like is not None:  # literals take the dtype of the tensor branch, not of cond
        a, b = (_literal(o, like) for o in (a, b))
    return apply(ops.where, cond, a, b)


def _literal(o: Any, like: Tensor) -> Tensor:
    return o if isinstance(o, Tensor) else constant_in(like.graph, o, like.dtype)


def cast(x: Any, dtype: Any) -> Tensor:
    """x converted to ``dtype``."""
    return apply(ops.cast, x, dtype=dtype)


def allreduce(x: Any, op: str = "sum") -> Tensor:
    """x combined elementwise over every MPI rank (``op``: sum, mean, max, min); the identity
    in a single process (canonicalize then drops it)."""
    return apply(ops.allreduce, x, op=op)


def broadcast(x: Any, root: int = 0) -> Tensor:
    """Rank ``root``'s x on every MPI rank; the identity in a single process."""
    return apply(ops.broadcast, x, root=root)


def _reduction(op: OpDef, doc: str) -> Callable[..., Tensor]:
    def fn(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
        return apply(op, x, axis=axis, keepdims=keepdims)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return fn


sum = _reduction(ops.sum, "Sum over ``axis`` (an int, a tuple, or None for all).")
mean = _reduction(ops.mean, "Mean over ``axis``.")
max = _reduction(ops.max, "Maximum over ``axis``.")
min = _reduction(ops.min, "Minimum over ``axis``.")
prod = _reduction(ops.prod, "Product over ``axis``.")
logsumexp = _reduction(ops.logsumexp, "log(sum(exp(x))) over ``axis``, computed stably.")
argmax = _reduction(ops.argmax, "Index of the maximum along ``axis`` (an int or None; int64).")
argmin = _reduction(ops.argmin, "Index of the minimum along ``axis`` (an int or None; int64).")


def full_like(x: Any, value: float) -> Tensor:
    """A tensor of x's shape and dtype filled with ``value`` (symbolic dims included)."""
    return apply(ops.full_like, x, value=value)


def zeros_like(x: Any) -> Tensor:
    """Zeros of x's shape and dtype."""
    return full_like(x, 0.0)


def ones_like(x: Any) -> Tensor:
    """Ones of x's shape and dtype."""
    return full_like(x, 1.0)


# --- nn -----------------------------------------------------------------------------------


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""
    return apply(ops.softmax, x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``."""
    return apply(ops.log_softmax, x, axis=axis)


def softmax_cross_entropy(logits: Any, labels: Any) -> Tensor:
    """Per-example loss -log softmax(logits)[label]; logits [..., C], int labels [...]."""
    return apply(ops.softmax_cross_entropy, logits, labels)


def mse(pred: Any, target: Any) -> Tensor:
    """Mean squared error over every element (operands broadcast), a scalar."""
    return apply(ops.mse, pred, target)


def conv2d(
    x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of x[N,C,H,W] with w[O,C/groups,KH,KW], plus an optional bias[O]."""
    out = apply(
        ops.conv2d, x, w, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    if bias is None:
        return out
    return out + apply(ops.reshape, bias, shape=(1, -1, 1, 1))


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Max over windows of x[N,C,H,W]; ``stride`` defaults to ``kernel_size``."""
    return apply(ops.max_pool2d, x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean over windows of x[N,C,H,W], zero padding counted; ``stride`` defaults to the kernel."""
    return apply(ops.avg_pool2d, x, kernel_size=kernel_size, stride=stride, padding=padding)


from graphc.frontend.attention import *  # noqa: E402, F403
from graphc.frontend.einsum import *  # noqa: E402, F403
from graphc.frontend.sequence import *  # noqa: E402, F403  (arange, sort, gather, cumsum ...)
from graphc.frontend.shaping import *  # noqa: E402, F403  (shape and linalg functions)
from graphc.frontend.stats import *  # noqa: E402, F403  (statistics, normalization, dropout)

_MODULES = (__name__, *(f"graphc.frontend.{m}" for m in ("shaping", "stats", "sequence",
                                                            "einsum", "attention")))
# The op functions are what `from graphc.frontend.functional import *` exports (not the helpers
# imported above); computed so a new op function cannot be forgotten here.
__all__ = sorted(
    name
    for name, obj in list(globals().items())
    if not name.startswith("_")
    and callable(obj)
    and getattr(obj, "__module__", "") in _MODULES
    and name != "getitem"
)
