"""Small ops the compositions in the frontend need: expm1, stop_gradient, iota."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import AttributeError_, DTypeError, ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType, int64
from graphc.ops._cost import free, per_element
from graphc.ops._rules import ANY, FLOAT, canon_axis, elementwise_rule
from graphc.ops.shape import concrete, fmt

__all__ = ["expm1", "iota", "stop_gradient"]

expm1 = register(OpDef(
    "expm1", "elementwise", elementwise_rule(FLOAT), np.expm1,
    vjp=lambda e, node, gouts: [e.mul(gouts[0], e.exp(node.inputs[0]))],
    elementwise=True, cost=per_element(), doc="exp(x) - 1, accurate near 0",
))

# The identity whose gradient is zero: the optimizer never sees through it. Its vjp gives no
# gradient (None), so a cost that depends on x only through it has a zero gradient in x.
stop_gradient = register(OpDef(
    "stop_gradient", "elementwise", elementwise_rule(ANY), lambda x: x.copy(),
    vjp=lambda e, node, gouts: [None], elementwise=True,
    cost=free,
    doc="x, with no gradient flowing back through it",
))


def _iota_rule(in_types, attrs) -> list[TensorType]:
    shape, dtype = attrs["shape"], attrs["dtype"]
    if any(isinstance(d, int) and d < 0 for d in shape):
        raise ShapeError(f"shape {fmt(shape)} has a negative dim")
    if not (dtype.is_int or dtype.is_float):
        raise DTypeError(f"iota makes numbers, got dtype {dtype}")
    return [TensorType(dtype, shape)]


def _canon_iota(in_types, attrs):
    if not attrs["shape"]:
        raise AttributeError_("iota needs a shape of rank >= 1")
    return {**attrs, "axis": canon_axis(attrs["axis"], len(attrs["shape"]))}


def _iota_kernel(shape, axis: int, dtype) -> np.ndarray:
    dims = concrete(shape)
    line = np.arange(dims[axis], dtype=dtype.np).reshape([-1 if a == axis else 1
                                                          for a in range(len(dims))])
    return np.broadcast_to(line, dims).copy()


iota = register(OpDef(
    "iota", "source", _iota_rule, _iota_kernel, arity=0,
    attrs={"shape": AttrSpec("dims"), "axis": AttrSpec("int", 0),
           "dtype": AttrSpec("dtype", int64)},
    canon=_canon_iota, differentiable=False,
    cost=free,
    doc="each element's index along ``axis`` (0, 1, ...) over ``shape``; dims may be symbolic",
))
