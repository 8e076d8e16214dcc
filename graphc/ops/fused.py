"""Fused ops, made by the fuse pass: a nested scalar body applied over whole tensors.

- ``fused``: inputs broadcast to the result shape; the body (rank-0 arguments, one per input,
  elementwise ops and rank-0 constants) yields one scalar per result.
- ``fused_reduce {reduce, axis, keepdims}``: the body's one value per element of the broadcast
  input shape, reduced over ``axis`` with sum/max/min/prod/mean.
- ``fused_matmul`` / ``fused_conv2d``: inputs[0:2] are the matmul (conv2d) operands, the rest
  broadcast to its result; the body's first argument is the product's element (an epilogue).

The NumPy kernels run the body's op kernels on whole arrays (NumPy broadcasting does the rest).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.ir.errors import DTypeError, GraphcError, ShapeError
from graphc.ir.graph import Graph
from graphc.ir.opdef import Attrs, AttrSpec, OpDef, lookup, register
from graphc.ir.types import TensorType, broadcast_shapes
from graphc.ops import _cost, core, linalg, nn
from graphc.ops._rules import canon_axes, reduced_shape
from graphc.ops.evaluate import evaluate_body

__all__ = ["fused", "fused_conv2d", "fused_matmul", "fused_reduce", "REDUCERS"]

Types = Sequence[TensorType]

REDUCERS = {
    "sum": lambda x, axis, keep: np.sum(x, axis, x.dtype, keepdims=keep),
    "mean": lambda x, axis, keep: np.mean(x, axis, x.dtype, keepdims=keep),
    "max": lambda x, axis, keep: np.max(x, axis, keepdims=keep),
    "min": lambda x, axis, keep: np.min(x, axis, keepdims=keep),
    "prod": lambda x, axis, keep: np.prod(x, axis, x.dtype, keepdims=keep),
}


# --- body checks -------------------------------------------------------------------------


def check_body(body: Graph | None, arg_types: Types) -> list[TensorType]:
    """The body's yield types, after checking it is a scalar elementwise region for args."""
    if body is None:
        raise GraphcError("needs a body '{ ^(...): ... yield ... }'")
    if len(body.inputs) != len(arg_types):
        raise GraphcError(f"body takes {len(body.inputs)} arguments for {len(arg_types)} values")
    for i, (a, t) in enumerate(zip(body.inputs, arg_types, strict=True)):
        if a.type != TensorType(t.dtype, ()):
            raise DTypeError(f"body argument {i} is {a.type}; expected {t.dtype} (rank 0)")
    for n in body.nodes:
        if not (n.op.elementwise or n.op is core.constant):
            raise GraphcError(f"body op {n.op.name} is not elementwise")
        if any(v.type.rank for v in n.outputs):
            raise ShapeError(f"body op {n.op.name} yields {n.outputs[0].type}; expected rank 0")
    if not body.outputs:
        raise GraphcError("body yields nothing")
    return [v.type for v in body.outputs]


def _full(results: list[np.ndarray], shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(np.broadcast_to(r, shape)) for r in results)


# --- fused ------------------------------------------------------------------------------------


def _fused_rule(in_types: Types, attrs: Attrs, body: Graph | None = None) -> list[TensorType]:
    yields = check_body(body, in_types)
    shape = broadcast_shapes(*(t.shape for t in in_types))
    return [TensorType(t.dtype, shape) for t in yields]


def _fused_kernel(*arrays: np.ndarray, body: Graph) -> tuple[np.ndarray, ...]:
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return _full(evaluate_body(body, arrays), shape)


fused = register(OpDef(
    "fused", "fused", _fused_rule, _fused_kernel, arity=None, has_body=True,
    elementwise_body=True, differentiable=False, cost=_cost.fused,
    doc="an elementwise group: the body per element of the broadcast",
))

# --- fused_reduce -----------------------------------------------------------------------------


def _canon_reduce(in_types: Types, attrs: Attrs) -> Attrs:
    if attrs["reduce"] not in REDUCERS:
        raise GraphcError(f"reduce {attrs['reduce']!r} is not one of {sorted(REDUCERS)}")
    rank = len(broadcast_shapes(*(t.shape for t in in_types)))
    return {**attrs, "axis": canon_axes(attrs["axis"], rank)}


def _reduce_rule(in_types: Types, attrs: Attrs, body: Graph | None = None) -> list[TensorType]:
    yields = check_body(body, in_types)
    if len(yields) != 1:
        raise GraphcError(f"a fused_reduce body yields one value, not {len(yields)}")
    if attrs["reduce"] == "mean" and not yields[0].dtype.is_float:
        raise DTypeError(f"mean of {yields[0].dtype} values; expected a float dtype")
    shape = broadcast_shapes(*(t.shape for t in in_types))
    return [TensorType(yields[0].dtype, reduced_shape(shape, attrs["axis"], attrs["keepdims"]))]


def _reduce_kernel(*arrays: np.ndarray, body: Graph, reduce: str, axis: tuple[int, ...],
                   keepdims: bool) -> np.ndarray:
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    (value,) = evaluate_body(body, arrays)
    return REDUCERS[reduce](np.broadcast_to(value, shape), axis, keepdims)


def _reduce_bound(shapes: Sequence[tuple[int, ...]], attrs: Attrs) -> None:
    """The check_bound of the reduction it runs, on the broadcast input shape."""
    check = lookup(attrs["reduce"]).check_bound
    if check is not None:
        check([np.broadcast_shapes(*shapes)], attrs)


fused_reduce = register(OpDef(
    "fused_reduce", "fused", _reduce_rule, _reduce_kernel, arity=None, has_body=True,
    attrs={"reduce": AttrSpec("str"), "axis": AttrSpec("ints"),
           "keepdims": AttrSpec("bool", False)},
    canon=_canon_reduce, differentiable=False, cost=_cost.fused_reduce,
    check_bound=_reduce_bound,
    doc="an elementwise body reduced over axis (sum, mean, max, min, prod)",
))

# --- epilogues: fused_matmul, fused_conv2d -------------------------------------------------


def _epilogue_rule(base: OpDef):
    def infer(in_types: Types, attrs: Attrs, body: Graph | None = None) -> list[TensorType]:
        if len(in_types) < 2:
            raise GraphcError(f"needs the two {base.name} operands, got {len(in_types)}")
        (product,) = base.infer(list(in_types[:2]), attrs)
        extras = in_types[2:]
        for t in extras:
            if broadcast_shapes(t.shape, product.shape) != product.shape:
                raise ShapeError(f"epilogue operand {t} does not broadcast to {product}")
        yields = check_body(body, [product, *extras])
        return [TensorType(t.dtype, product.shape) for t in yields]

    return infer


def _epilogue_kernel(base: OpDef):
    def kernel(*arrays: np.ndarray, body: Graph, **attrs: object) -> tuple[np.ndarray, ...]:
        product = np.asarray(base.kernel(arrays[0], arrays[1], **attrs))
        return _full(evaluate_body(body, [product, *arrays[2:]]), product.shape)

    return kernel


fused_matmul = register(OpDef(
    "fused_matmul", "fused", _epilogue_rule(linalg.matmul), _epilogue_kernel(linalg.matmul),
    arity=None, attrs=dict(linalg.matmul.attrs), canon=linalg.matmul.canon, has_body=True,
    anchor=linalg.matmul, contraction=True, differentiable=False,
    cost=_cost.with_epilogue(_cost.matmul),
    doc="matmul with an elementwise epilogue (bias, activation ...)",
))
fused_conv2d = register(OpDef(
    "fused_conv2d", "fused", _epilogue_rule(nn.conv2d), _epilogue_kernel(nn.conv2d),
    arity=None, attrs=dict(nn.conv2d.attrs), canon=nn.conv2d.canon, has_body=True,
    anchor=nn.conv2d, contraction=True, batch_split={0: 0}, differentiable=False,
    cost=_cost.with_epilogue(_cost.conv(("out", 0), ("in", 1))),
    doc="conv2d with an elementwise epilogue (bias, activation ...)",
))
