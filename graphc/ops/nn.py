"""Neural-network ops: softmax family, losses, conv2d, pooling, and the gradient helper ops.

Image ops use NCHW activations and OIHW weights. Window attributes (stride, padding, dilation,
kernel_size) accept an int or a pair and are stored as pairs. The batch dim N may be symbolic;
channels and spatial dims must be static. The *_grad ops are what the VJP rules emit; they are
ordinary catalogue ops with their own gradient rules, so second derivatives work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.ir.emit import Emitter
from graphc.ir.errors import AttributeError_, DTypeError, GradError, ShapeError
from graphc.ir.graph import Node, Value
from graphc.ir.opdef import Attrs, AttrSpec, OpDef, register
from graphc.ir.types import TensorType
from graphc.ops import _conv_kernels as kern
from graphc.ops import _cost
from graphc.ops._cost import per_element, per_input_element
from graphc.ops._rules import (
    FLOAT,
    broadcast,
    canon_axis,
    require_dtype,
    require_rank,
    same_dtype,
)
from graphc.ops.reduce import reduced_count

__all__ = [
    "avg_pool2d", "avg_pool2d_grad", "conv2d", "conv2d_input_grad", "conv2d_weight_grad",
    "log_softmax", "max_pool2d", "max_pool2d_gather", "max_pool2d_grad", "mse", "softmax",
    "softmax_cross_entropy",
]

Types = Sequence[TensorType]
Grads = list[Value | None]

# --- softmax, log_softmax -----------------------------------------------------------------


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    # initial=-inf: a softmax over an empty axis is empty, where a plain max would raise
    return np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = np.exp(x - _row_max(x, axis))
    return z / np.sum(z, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - _row_max(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _float_same(in_types: Types, attrs: Attrs) -> list[TensorType]:
    require_dtype(in_types[0], FLOAT)
    if in_types[0].rank == 0:
        raise ShapeError("needs at least one axis, got a scalar")
    return [in_types[0]]


def _canon_softmax(in_types: Types, attrs: Attrs) -> Attrs:
    return {**attrs, "axis": canon_axis(attrs["axis"], in_types[0].rank)}


def _softmax_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    # dx = y * (g - sum(g * y))
    y, (g,), axis = node.outputs[0], gouts, node.attrs["axis"]
    return [e.mul(y, e.sub(g, e.sum(e.mul(g, y), axis=(axis,), keepdims=True)))]


def _log_softmax_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    # dx = g - softmax(x) * sum(g)
    y, (g,), axis = node.outputs[0], gouts, node.attrs["axis"]
    return [e.sub(g, e.mul(e.exp(y), e.sum(g, axis=(axis,), keepdims=True)))]


def _axis_op(name: str, kernel, vjp, doc: str, nonneg: bool = False) -> OpDef:
    return register(OpDef(
        name, "nn", _float_same, kernel, attrs={"axis": AttrSpec("int", -1)},
        canon=_canon_softmax, vjp=vjp, doc=doc, nonnegative=nonneg,
        cost=per_element(5),  # max, subtract, exp, sum, divide (or log)
    ))


softmax = _axis_op("softmax", _softmax, _softmax_vjp, "exp(x) / sum(exp(x)) along axis", True)
log_softmax = _axis_op("log_softmax", _log_softmax, _log_softmax_vjp, "x - logsumexp(x) along axis")

# --- losses -------------------------------------------------------------------------------


def _sce_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    logits, labels = in_types
    require_dtype(logits, FLOAT, "logits")
    if not labels.dtype.is_int:
        raise DTypeError(f"labels must be integer (int32 or int64) class indices, got {labels}")
    if logits.rank == 0 or labels.shape != logits.shape[:-1]:
        raise ShapeError(f"labels {labels} must have the shape of logits {logits} minus one axis")
    return [logits.with_shape(labels.shape)]


def _sce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    classes = logits.shape[-1]
    bad = labels[(labels < 0) | (labels >= classes)]
    if bad.size:
        raise ValueError(f"label {bad.flat[0]} out of range: expected 0 <= label < {classes}")
    picked = np.take_along_axis(_log_softmax(logits, -1), labels[..., None].astype(np.intp), -1)
    return -picked[..., 0]


def _sce_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    # d loss_n / d logits_n = softmax(logits_n) - one_hot(label_n); labels get no gradient
    logits, labels = node.inputs
    classes = logits.type.shape[-1]
    if not isinstance(classes, int):
        raise GradError(f"softmax_cross_entropy at {node.loc}: gradient needs a static class count")
    keep = (*labels.type.shape, 1)
    ids = e.const(np.arange(classes), labels.type.dtype)
    hot = e.cast(e.equal(e.reshape(labels, shape=keep), ids), dtype=logits.type.dtype)
    g = e.reshape(gouts[0], shape=keep)
    return [e.mul(g, e.sub(e.softmax(logits, axis=-1), hot)), None]


softmax_cross_entropy = register(
    OpDef(
        "softmax_cross_entropy", "nn", _sce_rule, _sce, arity=2, vjp=_sce_vjp,
        cost=per_input_element(5), doc="per-example -log softmax(logits)[label], computed stably",
    )
)


def _mse_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    dtype = same_dtype(in_types, FLOAT)
    broadcast(in_types)  # raises on incompatible shapes
    return [TensorType(dtype, ())]


def _mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return np.asarray(np.mean(d * d, dtype=d.dtype), dtype=d.dtype)


def _mse_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    a, b = node.inputs
    d = e.sub(a, b)
    n = reduced_count(e, d, tuple(range(d.type.rank)))
    gd = e.div(e.mul(e.mul(gouts[0], e.scalar_like(2, d)), d), n)
    return [e.sum_to(gd, a.type), e.sum_to(e.neg(gd), b.type)]


mse = register(
    OpDef("mse", "nn", _mse_rule, _mse, arity=2, vjp=_mse_vjp, cost=per_input_element(3),
          doc="mean((a - b)**2), broadcasting")
)

# --- conv2d and its gradient helpers ------------------------------------------------------

_WINDOW = {"stride": AttrSpec("ints", (1, 1)), "padding": AttrSpec("ints", (0, 0))}
_CONV = {**_WINDOW, "dilation": AttrSpec("ints", (1, 1)), "groups": AttrSpec("int", 1)}
_SIZE = {"input_size": AttrSpec("ints")}
_KERNEL = {"kernel_size": AttrSpec("ints")}
_MINIMUM = {"stride": 1, "padding": 0, "dilation": 1, "kernel_size": 1, "input_size": 1}


def _pair(name: str, v: tuple[int, ...]) -> tuple[int, int]:
    if len(v) not in (1, 2):
        raise AttributeError_(f"{name} must be an int or a pair, got {list(v)}")
    pair = (v[0], v[0]) if len(v) == 1 else (v[0], v[1])
    if min(pair) < _MINIMUM[name]:
        raise AttributeError_(f"{name} must be >= {_MINIMUM[name]}, got {list(v)}")
    return pair


def _canon_window(in_types: Types, attrs: Attrs) -> Attrs:
    """Pairs for every window attribute; pooling's stride defaults to its kernel size."""
    out = dict(attrs)
    if "stride" in out and out["stride"] is None:
        out["stride"] = out["kernel_size"]
    for key in _MINIMUM.keys() & out.keys():
        out[key] = _pair(key, out[key])
    if out.get("groups", 1) < 1:
        raise AttributeError_(f"groups must be >= 1, got {out['groups']}")
    return out


def _image(t: TensorType, what: str) -> tuple:
    require_rank(t, 4, f"{what} (NCHW)")
    if not all(isinstance(d, int) for d in t.shape[2:]):
        raise ShapeError(f"{what} {t} needs static height and width")
    return t.shape


def _out_hw(hw: Sequence, k: Sequence[int], attrs: Attrs) -> tuple[int, int]:
    s, p, d = attrs["stride"], attrs["padding"], attrs.get("dilation", (1, 1))
    out = tuple(kern.out_size(hw[i], k[i], s[i], p[i], d[i]) for i in range(2))
    if min(out) < 1:
        raise ShapeError(f"window {list(k)} does not fit input {list(hw)} with padding {list(p)}")
    return out  # type: ignore[return-value]


def _conv_weight(w: TensorType, groups: int) -> tuple:
    require_rank(w, 4, "weight (OIHW)")
    if not w.is_static:
        raise ShapeError(f"weight {w} must have a static shape")
    if w.shape[0] % groups:
        raise ShapeError(f"{w.shape[0]} output channels do not split into {groups} groups")
    return w.shape


def _channels(c, cg: int, groups: int) -> None:
    if c != cg * groups:
        raise ShapeError(f"input has {c} channels; the weight expects {cg} * {groups} groups")


def _conv_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    x, w = in_types
    dtype = same_dtype(in_types, FLOAT)
    n, c, *hw = _image(x, "input")
    o, cg, *k = _conv_weight(w, attrs["groups"])
    _channels(c, cg, attrs["groups"])
    return [TensorType(dtype, (n, o, *_out_hw(hw, k, attrs)))]


def _conv_input_grad_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    gy, w = in_types
    dtype = same_dtype(in_types, FLOAT)
    n, o, *ohw = _image(gy, "output gradient")
    wo, cg, *k = _conv_weight(w, attrs["groups"])
    hw = attrs["input_size"]
    if wo != o or _out_hw(hw, k, attrs) != tuple(ohw):
        raise ShapeError(f"output gradient {gy} does not fit conv2d of weight {w} on {list(hw)}")
    return [TensorType(dtype, (n, cg * attrs["groups"], *hw))]


def _conv_weight_grad_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    x, gy = in_types
    dtype = same_dtype(in_types, FLOAT)
    n, c, *hw = _image(x, "input")
    gn, o, *ohw = _image(gy, "output gradient")
    k, groups = attrs["kernel_size"], attrs["groups"]
    if gn != n or c % groups or o % groups or _out_hw(hw, k, attrs) != tuple(ohw):
        raise ShapeError(f"output gradient {gy} does not match a conv2d on input {x}")
    return [TensorType(dtype, (o, c // groups, *k))]


def _conv_attrs(node: Node) -> Attrs:
    return {k: node.attrs[k] for k in _CONV}


def _conv_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    x, w = node.inputs
    a, (g,) = _conv_attrs(node), gouts
    gx = e.conv2d_input_grad(g, w, input_size=x.type.shape[2:], **a)
    return [gx, e.conv2d_weight_grad(x, g, kernel_size=w.type.shape[2:], **a)]


def _conv_input_grad_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    # conv2d_input_grad is linear in each operand: its transposes are conv2d and weight_grad
    gy, w = node.inputs
    a, (g,) = _conv_attrs(node), gouts
    return [e.conv2d(g, w, **a), e.conv2d_weight_grad(g, gy, kernel_size=w.type.shape[2:], **a)]


def _conv_weight_grad_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    x, gy = node.inputs
    a, (g,) = _conv_attrs(node), gouts
    return [e.conv2d_input_grad(gy, g, input_size=x.type.shape[2:], **a), e.conv2d(x, g, **a)]


def _conv_op(name: str, rule, kernel, attrs: dict, vjp, doc: str, split: dict,
             cost) -> OpDef:
    return register(OpDef(
        name, "nn", rule, kernel, arity=2, attrs=attrs, canon=_canon_window, vjp=vjp, doc=doc,
        contraction=True, batch_split=split, cost=cost,
    ))


conv2d = _conv_op(
    "conv2d", _conv_rule, kern.conv2d, _CONV, _conv_vjp,
    "2-D cross-correlation of x[N,C,H,W] with w[O,C/groups,KH,KW]", {0: 0},
    _cost.conv(("out", 0), ("in", 1)),
)
conv2d_input_grad = _conv_op(
    "conv2d_input_grad", _conv_input_grad_rule, kern.conv2d_input_grad, {**_CONV, **_SIZE},
    _conv_input_grad_vjp, "gradient of conv2d w.r.t. its input (transposed convolution)", {0: 0},
    _cost.conv(("in", 0), ("in", 1)),
)
conv2d_weight_grad = _conv_op(
    "conv2d_weight_grad", _conv_weight_grad_rule, kern.conv2d_weight_grad, {**_CONV, **_KERNEL},
    _conv_weight_grad_vjp, "gradient of conv2d w.r.t. its weights", {1: 1},
    _cost.conv(("in", 1), ("out", 0)),
)

# --- pooling ------------------------------------------------------------------------------

_POOL = {**_KERNEL, "stride": AttrSpec("ints?", None), "padding": AttrSpec("ints", (0, 0))}


def _pool_out(x: TensorType, attrs: Attrs) -> TensorType:
    require_dtype(x, FLOAT)
    n, c, *hw = _image(x, "input")
    k, p = attrs["kernel_size"], attrs["padding"]
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ShapeError(f"padding {list(p)} must be at most half the kernel size {list(k)}")
    return x.with_shape((n, c, *_out_hw(hw, k, attrs)))


def _pool_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    return [_pool_out(in_types[0], attrs)]


def _max_pool_grad_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    x, gy = in_types
    if gy != _pool_out(x, attrs):
        raise ShapeError(f"output gradient {gy} does not match max_pool2d of {x}")
    return [x]


def _max_pool_gather_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    x, gx = in_types
    if gx != x:
        raise ShapeError(f"gathered gradient {gx} must have the type of the input {x}")
    return [_pool_out(x, attrs)]


def _avg_pool_grad_rule(in_types: Types, attrs: Attrs) -> list[TensorType]:
    (gy,) = in_types
    n, c, *_ = _image(gy, "output gradient")
    x = gy.with_shape((n, c, *attrs["input_size"]))
    if gy != _pool_out(x, attrs):
        raise ShapeError(f"output gradient {gy} does not match avg_pool2d of {x}")
    return [x]


def _pool_attrs(node: Node) -> Attrs:
    return {k: node.attrs[k] for k in _POOL}


def _max_pool_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    return [e.max_pool2d_grad(node.inputs[0], gouts[0], **_pool_attrs(node))]


def _max_pool_grad_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    # linear in gy (its transpose gathers); piecewise constant in x, so x gets no gradient
    return [None, e.max_pool2d_gather(node.inputs[0], gouts[0], **_pool_attrs(node))]


def _max_pool_gather_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    return [None, e.max_pool2d_grad(node.inputs[0], gouts[0], **_pool_attrs(node))]


def _avg_pool_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    size = node.inputs[0].type.shape[2:]
    return [e.avg_pool2d_grad(gouts[0], input_size=size, **_pool_attrs(node))]


def _avg_pool_grad_vjp(e: Emitter, node: Node, gouts: list[Value]) -> Grads:
    return [e.avg_pool2d(gouts[0], **_pool_attrs(node))]  # avg_pool2d_grad is its transpose


def _pool_op(name: str, rule, kernel, arity: int, attrs: dict, vjp, doc: str) -> OpDef:
    return register(OpDef(
        name, "nn", rule, kernel, arity=arity, attrs=attrs, canon=_canon_window, vjp=vjp, doc=doc,
        batch_split={i: 0 for i in range(arity)},  # every operand is batch-major
        cost=_cost.pool,
    ))


max_pool2d = _pool_op(
    "max_pool2d", _pool_rule, kern.max_pool2d, 1, _POOL, _max_pool_vjp,
    "max over kernel_size windows (stride defaults to kernel_size)",
)
avg_pool2d = _pool_op(
    "avg_pool2d", _pool_rule, kern.avg_pool2d, 1, _POOL, _avg_pool_vjp,
    "mean over kernel_size windows, padding counted (count_include_pad)",
)
max_pool2d_grad = _pool_op(
    "max_pool2d_grad", _max_pool_grad_rule, kern.max_pool2d_grad, 2, _POOL, _max_pool_grad_vjp,
    "gradient of max_pool2d: each window's gradient goes to its first maximum",
)
max_pool2d_gather = _pool_op(
    "max_pool2d_gather", _max_pool_gather_rule, kern.max_pool2d_gather, 2, _POOL,
    _max_pool_gather_vjp, "gx read at each window's first maximum (max_pool2d_grad transposed)",
)
avg_pool2d_grad = _pool_op(
    "avg_pool2d_grad", _avg_pool_grad_rule, kern.avg_pool2d_grad, 1, {**_POOL, **_SIZE},
    _avg_pool_grad_vjp, "gradient of avg_pool2d: each window's gradient spread evenly",
)
