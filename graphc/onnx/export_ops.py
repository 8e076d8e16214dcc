"""The export table: graphc op name -> emitter writing the ONNX nodes that compute it.

An emitter is ``fn(e, node, inputs) -> output name(s)``: ``inputs`` are the ONNX names of the
node's operands. Fused ops inline their bodies (the same primitive emitters).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.ir.graph import Node
from graphc.ir.types import TensorType
from graphc.onnx.errors import UnsupportedError
from graphc.onnx.exporter import Emitter, elem_type, emit_nodes

Emit = Callable[[Emitter, Node, list[str]], Any]
EMITTERS: dict[str, Emit] = {}

SAME = {  # graphc op -> ONNX op_type, operands and result as they are
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
    "minimum": "Min", "neg": "Neg", "abs": "Abs", "sign": "Sign", "exp": "Exp", "log": "Log",
    "sqrt": "Sqrt", "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "relu": "Relu", "erf": "Erf", "floor": "Floor", "ceil": "Ceil",
    "softplus": "Softplus", "equal": "Equal", "less": "Less", "less_equal": "LessOrEqual",
    "greater": "Greater", "greater_equal": "GreaterOrEqual", "logical_and": "And",
    "logical_or": "Or", "logical_not": "Not", "where": "Where", "matmul": "MatMul",
    "stop_gradient": "Identity",
}


def emits(*names: str) -> Callable[[Emit], Emit]:
    def deco(f: Emit) -> Emit:
        for n in names:
            EMITTERS[n] = f
        return f
    return deco


for _name, _op in SAME.items():
    EMITTERS[_name] = lambda e, n, ins, _op=_op: e.node(_op, ins)


def _scalar(e: Emitter, t: TensorType, value: float) -> str:
    return e.const(np.asarray(value, t.dtype.np))


def _shape_input(e: Emitter, t: TensorType, like: TensorType | None = None) -> str:
    """A shape tensor for ``t``: ints, with one symbolic dim as -1 (or 1 when broadcasting
    from ``like``, whose same axis already has that size)."""
    dims, offset = [], t.rank - (like.rank if like else 0)
    for i, d in enumerate(t.shape):
        if isinstance(d, int):
            dims.append(d)
        elif like is not None and i >= offset and like.shape[i - offset] == d:
            dims.append(1)
        else:
            dims.append(-1)
    if dims.count(-1) > 1 or (like is not None and -1 in dims):
        raise UnsupportedError(f"shape {list(t.shape)}: more symbolic dims than ONNX export "
                               "can express without shape arithmetic")
    return e.ints(dims)


@emits("rsqrt")
def _rsqrt(e, n, ins):
    return e.node("Reciprocal", [e.node("Sqrt", ins)])


@emits("square")
def _square(e, n, ins):
    return e.node("Mul", [ins[0], ins[0]])


@emits("not_equal")
def _not_equal(e, n, ins):
    return e.node("Not", [e.node("Equal", ins)])


@emits("expm1")
def _expm1(e, n, ins):
    return e.node("Sub", [e.node("Exp", ins), _scalar(e, n.output.type, 1)])


@emits("log1p")
def _log1p(e, n, ins):
    return e.node("Log", [e.node("Add", [ins[0], _scalar(e, n.output.type, 1)])])


@emits("leaky_relu")
def _leaky(e, n, ins):
    return e.node("LeakyRelu", ins, alpha=float(n.attrs["alpha"]))


@emits("elu")
def _elu(e, n, ins):
    return e.node("Elu", ins, alpha=float(n.attrs["alpha"]))


@emits("gelu")
def _gelu(e, n, ins):
    t = n.output.type
    inner = e.node("Erf", [e.node("Mul", [ins[0], _scalar(e, t, 1 / math.sqrt(2))])])
    half_x = e.node("Mul", [ins[0], _scalar(e, t, 0.5)])
    return e.node("Mul", [half_x, e.node("Add", [inner, _scalar(e, t, 1)])])


@emits("cast")
def _cast(e, n, ins):
    return e.node("Cast", ins, to=elem_type(n.output.type.dtype))


@emits("constant")
def _constant(e, n, ins):
    return e.const(n.attrs["value"], n.output.type.dtype.np)


@emits("full_like")
def _full_like(e, n, ins):
    t = n.output.type
    return e.node("Expand", [_scalar(e, t, n.attrs["value"]), e.node("Shape", ins)])


@emits("reshape", "flatten")
def _reshape(e, n, ins):
    return e.node("Reshape", [ins[0], _shape_input(e, n.output.type)])


@emits("broadcast_to")
def _broadcast(e, n, ins):
    return e.node("Expand", [ins[0], _shape_input(e, n.output.type, n.inputs[0].type)])


@emits("transpose")
def _transpose(e, n, ins):
    perm = n.attrs["perm"]
    perm = list(reversed(range(n.inputs[0].type.rank))) if perm is None else list(perm)
    return e.node("Transpose", ins, perm=perm)


@emits("expand_dims")
def _expand_dims(e, n, ins):
    return e.node("Unsqueeze", [ins[0], e.ints(n.attrs["axis"])])


@emits("squeeze")
def _squeeze(e, n, ins):
    axes = n.attrs["axis"]
    if axes is None:
        axes = [i for i, d in enumerate(n.inputs[0].type.shape) if d == 1]
    return e.node("Squeeze", [ins[0], e.ints(axes)])


@emits("concat")
def _concat(e, n, ins):
    return e.node("Concat", ins, axis=n.attrs["axis"])


@emits("slice")
def _slice(e, n, ins):
    rank = n.inputs[0].type.rank
    step = n.attrs["step"] or (1,) * rank
    return e.node("Slice", [ins[0], e.ints(n.attrs["begin"]), e.ints(n.attrs["end"]),
                            e.ints(range(rank)), e.ints(step)])


@emits("pad")
def _pad(e, n, ins):
    t = n.output.type
    pads = e.ints([*n.attrs["before"], *n.attrs["after"]])
    return e.node("Pad", [ins[0], pads, _scalar(e, t, n.attrs["value"])], mode="constant")


@emits("take")
def _take(e, n, ins):
    axis = n.attrs["axis"]
    if axis is None:
        return e.node("Gather", [e.node("Reshape", [ins[0], e.ints([-1])]), ins[1]], axis=0)
    return e.node("Gather", ins, axis=axis)


@emits("gather")
def _gather(e, n, ins):
    return e.node("GatherElements", ins, axis=n.attrs["axis"])


@emits("split")
def _split(e, n, ins):
    sizes = [int(s) for s in n.attrs["sizes"]]
    return e.node("Split", [ins[0], e.ints(sizes)], n_out=len(n.outputs), axis=n.attrs["axis"])


@emits("one_hot")
def _one_hot(e, n, ins):
    values = e.const(np.array([0, 1], n.output.type.dtype.np))
    return e.node("OneHot", [ins[0], e.ints([n.attrs["depth"]]), values], axis=-1)


@emits("argmax", "argmin")
def _arg(e, n, ins):
    op = "ArgMax" if n.op.name == "argmax" else "ArgMin"
    x, axis = ins[0], n.attrs["axis"]
    if axis is None:
        x, axis = e.node("Reshape", [x, e.ints([-1])]), 0
    return e.node(op, [x], axis=axis, keepdims=int(n.attrs["keepdims"] and n.attrs["axis"]
                                                    is not None))


@emits("cumsum")
def _cumsum(e, n, ins):
    axis = e.const(np.int64(n.attrs["axis"]))  # a 0-D tensor
    return e.node("CumSum", [ins[0], axis], reverse=int(n.attrs["reverse"]))


REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
          "prod": "ReduceProd", "logsumexp": "ReduceLogSumExp"}


def _reduce(e: Emitter, kind: str, x: str, axes: Any, keepdims: bool, rank: int) -> str:
    axes = list(range(rank)) if axes is None else list(axes)
    if not axes:
        return e.node("Identity", [x])
    return e.node(REDUCE[kind], [x, e.ints(axes)], keepdims=int(keepdims))


for _kind in REDUCE:
    EMITTERS[_kind] = lambda e, n, ins, _k=_kind: _reduce(
        e, _k, ins[0], n.attrs["axis"], n.attrs["keepdims"], n.inputs[0].type.rank)


@emits("softmax", "log_softmax")
def _softmax(e, n, ins):
    return e.node("Softmax" if n.op.name == "softmax" else "LogSoftmax", ins,
                  axis=n.attrs["axis"])


@emits("layer_norm")
def _layer_norm(e, n, ins):
    t = n.inputs[0].type
    d = t.shape[-1]
    if not isinstance(d, int):
        raise UnsupportedError(f"{n.describe()}: layer_norm export needs a static last axis")
    ones = e.const(np.ones(d, t.dtype.np))
    return e.node("LayerNormalization", [ins[0], ones], axis=-1, epsilon=float(n.attrs["eps"]))


@emits("softmax_cross_entropy")
def _sce(e, n, ins):
    logp = e.node("LogSoftmax", [ins[0]], axis=-1)
    labels = e.node("Unsqueeze", [e.node("Cast", [ins[1]], to=7), e.ints([-1])])
    picked = e.node("GatherElements", [logp, labels], axis=-1)
    return e.node("Neg", [e.node("Squeeze", [picked, e.ints([-1])])])


@emits("mse")
def _mse(e, n, ins):
    d = e.node("Sub", ins)
    sq = e.node("Mul", [d, d])
    rank = len(np.broadcast_shapes(*(tuple(1 if not isinstance(s, int) else s
                                           for s in v.type.shape) for v in n.inputs)))
    return _reduce(e, "mean", sq, None, False, rank)


def _window(n: Node, k: Any) -> dict[str, Any]:
    s = n.attrs.get("stride") or k
    p = list(n.attrs["padding"])
    return {"kernel_shape": list(k), "strides": list(s), "pads": p + p}


@emits("conv2d")
def _conv(e, n, ins):
    k = n.inputs[1].type.shape[2:]
    return e.node("Conv", ins, dilations=list(n.attrs["dilation"]), group=n.attrs["groups"],
                  **_window(n, k))


@emits("max_pool2d")
def _max_pool(e, n, ins):
    return e.node("MaxPool", ins, **_window(n, n.attrs["kernel_size"]))


@emits("avg_pool2d")
def _avg_pool(e, n, ins):
    return e.node("AveragePool", ins, count_include_pad=1, **_window(n, n.attrs["kernel_size"]))


# -- fused ops: the body inlined -----------------------------------------------------------
def _inline(e: Emitter, n: Node, args: list[str]) -> list[str]:
    """The body's nodes written on the fused node's operands; its yielded names."""
    body = n.body
    for v, name in zip(body.inputs, args, strict=True):
        e.names[v] = name
    emit_nodes(e, body.nodes)
    return [e.names[v] for v in body.outputs]


@emits("fused")
def _fused(e, n, ins):
    return _inline(e, n, ins)


@emits("fused_reduce")
def _fused_reduce(e, n, ins):
    (y,) = _inline(e, n, ins)
    rank = max(v.type.rank for v in n.inputs)
    return _reduce(e, n.attrs["reduce"], y, n.attrs["axis"], n.attrs["keepdims"], rank)


@emits("fused_matmul")
def _fused_matmul(e, n, ins):
    return _inline(e, n, [e.node("MatMul", ins[:2]), *ins[2:]])


@emits("fused_conv2d")
def _fused_conv(e, n, ins):
    k = n.inputs[1].type.shape[2:]
    y = e.node("Conv", ins[:2], dilations=list(n.attrs["dilation"]), group=n.attrs["groups"],
               **_window(n, k))
    return _inline(e, n, [y, *ins[2:]])
