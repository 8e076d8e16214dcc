"""Converters: matmul/gemm, convolution and pooling, normalization, softmax, losses."""

from __future__ import annotations

import math

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.api import constant
from graphc.frontend.tensor import Tensor
from graphc.onnx.ops_math import like
from graphc.onnx.table import NodeContext, converts


@converts("MatMul")
def _matmul(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    return fn.matmul(a, b)


@converts("Gemm")
def _gemm(ctx: NodeContext, a: Tensor, b: Tensor, c: Tensor | None = None) -> Tensor:
    a = fn.transpose(a) if ctx.attr("transA", 0) else a
    b = fn.transpose(b) if ctx.attr("transB", 0) else b
    y = fn.matmul(a, b)
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    y = y if alpha == 1.0 else y * like(y, alpha)
    if c is None:
        return y
    return y + (c if beta == 1.0 else c * like(c, beta))


# -- windows ------------------------------------------------------------------------------
def _spatial(ctx: NodeContext, x: Tensor) -> int:
    n = x.ndim - 2
    if n not in (1, 2):
        raise ctx.fail(f"{n}-D windows are not supported (1-D and 2-D are)")
    return n


def _to2d(x: Tensor, n: int) -> Tensor:
    return fn.expand_dims(x, 2) if n == 1 else x


def _from2d(x: Tensor, n: int) -> Tensor:
    return fn.squeeze(x, 2) if n == 1 else x


def _two(v: list[int], n: int, fill: int) -> list[int]:
    return [fill, *v] if n == 1 else list(v)


def _pads(ctx: NodeContext, size: list[int], k: list[int], s: list[int], d: list[int],
          n: int) -> tuple[list[int], list[int]]:
    """(begin, end) pads per spatial axis from ``pads`` or ``auto_pad``."""
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        total = [max(0, (math.ceil(i / st) - 1) * st + (kk - 1) * dd + 1 - i)
                 for i, kk, st, dd in zip(size, k, s, d, strict=True)]
        small = [t // 2 for t in total]
        big = [t - t // 2 for t in total]
        return (small, big) if auto == "SAME_UPPER" else (big, small)
    if auto == "VALID":
        return [0] * n, [0] * n
    pads = ctx.attr("pads", [0] * 2 * n)
    return list(pads[:n]), list(pads[n:])


def _window(ctx: NodeContext, x: Tensor, kshape: list[int]):
    n = _spatial(ctx, x)
    k = list(kshape)
    s = list(ctx.attr("strides", [1] * n))
    d = list(ctx.attr("dilations", [1] * n))
    size = list(x.shape[2:])
    if not all(isinstance(i, int) for i in size):
        raise ctx.fail("symbolic spatial sizes are not supported")
    b, e = _pads(ctx, size, k, s, d, n)
    return n, k, s, d, b, e


@converts("Conv")
def _conv(ctx: NodeContext, x: Tensor, w: Tensor, bias: Tensor | None = None) -> Tensor:
    n, k, s, d, b, e = _window(ctx, x, list(w.shape[2:]))
    x, w = _to2d(x, n), _to2d(w, n)
    s, d, b, e = _two(s, n, 1), _two(d, n, 1), _two(b, n, 0), _two(e, n, 0)
    pad = b
    if b != e:
        x = fn.pad(x, [(0, 0), (0, 0), *zip(b, e, strict=True)])
        pad = [0, 0]
    y = fn.conv2d(x, w, bias, stride=tuple(s), padding=tuple(pad), dilation=tuple(d),
                 groups=ctx.attr("group", 1))
    return _from2d(y, n)


def _ceil_extra(size: list[int], k: list[int], s: list[int], b: list[int],
                e: list[int]) -> list[int]:
    """End padding that makes floor-mode pooling give ceil-mode's output size (a window
    must start inside the input or its begin padding)."""
    out = []
    for i, kk, st, bb, ee in zip(size, k, s, b, e, strict=True):
        span = i + bb + ee - kk
        n_out = -(-span // st) + 1
        if (n_out - 1) * st >= i + bb:
            n_out -= 1
        out.append(max(0, (n_out - 1) * st + kk - (i + bb + ee)))
    return out


@converts("MaxPool")
def _maxpool(ctx: NodeContext, x: Tensor) -> Tensor:
    n, k, s, d, b, e = _window(ctx, x, ctx.attr("kernel_shape"))
    if any(dd != 1 for dd in d):
        raise ctx.fail("MaxPool dilations other than 1 are not supported")
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        raise ctx.fail("MaxPool's Indices output is not supported")
    if ctx.attr("ceil_mode", 0):
        e = [ee + c for ee, c in zip(e, _ceil_extra(list(x.shape[2:]), k, s, b, e), strict=True)]
    x = _to2d(x, n)
    k, s, b, e = _two(k, n, 1), _two(s, n, 1), _two(b, n, 0), _two(e, n, 0)
    if any(b + e):
        low = -np.inf if x.dtype.is_float else np.iinfo(x.dtype.np).min
        x = fn.pad(x, [(0, 0), (0, 0), *zip(b, e, strict=True)], value=low)
    return _from2d(fn.max_pool2d(x, tuple(k), tuple(s), 0), n)


@converts("AveragePool")
def _avgpool(ctx: NodeContext, x: Tensor) -> Tensor:
    n, k, s, d, b, e = _window(ctx, x, ctx.attr("kernel_shape"))
    if any(dd != 1 for dd in d):
        raise ctx.fail("AveragePool dilations other than 1 are not supported")
    size = list(x.shape[2:])
    extra = _ceil_extra(size, k, s, b, e) if ctx.attr("ceil_mode", 0) else [0] * n
    x = _to2d(x, n)
    k, s, b, e, extra, size = (_two(v, n, f) for v, f in
                               ((k, 1), (s, 1), (b, 0), (e, 0), (extra, 0), (size, 1)))
    if not any(b + e + extra):
        return _from2d(fn.avg_pool2d(x, tuple(k), tuple(s), 0), n)
    widths = [(0, 0), (0, 0), *((bb, ee + xx) for bb, ee, xx in zip(b, e, extra, strict=True))]
    total = fn.avg_pool2d(fn.pad(x, widths), tuple(k), tuple(s), 0) * like(x, k[0] * k[1])
    inside = np.ones(size, x.dtype.np)
    if ctx.attr("count_include_pad", 0):
        inside = np.pad(inside, list(zip(b, e, strict=True)), constant_values=1)
        widths = [(0, 0), (0, 0), *((0, xx) for xx in extra)]
    mask = np.pad(inside, [w for w in widths[2:]])[None, None]
    count = fn.avg_pool2d(constant(mask), tuple(k), tuple(s), 0) * like(x, k[0] * k[1])
    return _from2d(total / count, n)


@converts("GlobalAveragePool")
def _gap(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)


@converts("GlobalMaxPool")
def _gmp(ctx: NodeContext, x: Tensor) -> Tensor:
    return fn.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)


# -- normalization ------------------------------------------------------------------------
def _channel(t: Tensor, rank: int) -> Tensor:
    return fn.reshape(t, (1, -1, *([1] * (rank - 2))))


@converts("BatchNormalization")
def _batchnorm(ctx: NodeContext, x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor,
               var: Tensor) -> Tensor:
    if ctx.attr("training_mode", 0):
        raise ctx.fail("BatchNormalization in training mode is not supported")
    inv = fn.rsqrt(var + like(var, ctx.attr("epsilon", 1e-5))) * scale
    r = x.ndim
    return (x - _channel(mean, r)) * _channel(inv, r) + _channel(bias, r)


def _moments(x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    m = fn.mean(x, axis=axes, keepdims=True)
    c = x - m
    return m, fn.mean(c * c, axis=axes, keepdims=True)


@converts("LayerNormalization")
def _layernorm(ctx: NodeContext, x: Tensor, scale: Tensor, bias: Tensor | None = None):
    axis = ctx.attr("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    xs = fn.cast(x, "float32") if ctx.attr("stash_type", 1) == 1 and x.dtype.name != "float32" \
        else x
    m, v = _moments(xs, axes)
    inv = fn.rsqrt(v + like(v, ctx.attr("epsilon", 1e-5)))
    y = fn.cast((xs - m) * inv, x.dtype) * scale
    y = y if bias is None else y + bias
    return [y, m, inv]


@converts("InstanceNormalization")
def _instancenorm(ctx: NodeContext, x: Tensor, scale: Tensor, bias: Tensor) -> Tensor:
    m, v = _moments(x, tuple(range(2, x.ndim)))
    y = (x - m) * fn.rsqrt(v + like(v, ctx.attr("epsilon", 1e-5)))
    return y * _channel(scale, x.ndim) + _channel(bias, x.ndim)


@converts("MeanVarianceNormalization")
def _mvn(ctx: NodeContext, x: Tensor) -> Tensor:
    m, v = _moments(x, tuple(ctx.attr("axes", [0, 2, 3])))
    return (x - m) / (fn.sqrt(v) + like(x, 1e-9))


@converts("LpNormalization")
def _lpnorm(ctx: NodeContext, x: Tensor) -> Tensor:
    axis, p = ctx.attr("axis", -1), ctx.attr("p", 2)
    if p not in (1, 2):
        raise ctx.fail(f"LpNormalization p={p} is not supported (1 and 2 are)")
    norm = fn.sum(fn.abs(x) if p == 1 else x * x, axis=axis, keepdims=True)
    norm = norm if p == 1 else fn.sqrt(norm)
    return x / fn.where(fn.equal(norm, like(norm, 0)), like(norm, 1), norm)  # 0/0 is 0


# -- softmax family -----------------------------------------------------------------------
def _softmax_like(op_fn):
    def conv(ctx: NodeContext, x: Tensor) -> Tensor:
        if ctx.opset >= 13:
            return op_fn(x, ctx.attr("axis", -1))
        axis = ctx.attr("axis", 1) % x.ndim  # older opsets: x coerced to 2-D at axis
        flat = fn.reshape(x, (int(np.prod(x.shape[:axis])), -1))
        return fn.reshape(op_fn(flat, -1), x.shape)
    return conv


converts("Softmax")(_softmax_like(lambda x, a: fn.softmax(x, axis=a)))
converts("LogSoftmax")(_softmax_like(lambda x, a: fn.log_softmax(x, axis=a)))


def _hardmax(x: Tensor, axis: int) -> Tensor:
    axis %= x.ndim
    hot = fn.one_hot(fn.argmax(x, axis=axis), x.shape[axis], dtype=x.dtype)
    perm = [*range(axis), x.ndim - 1, *range(axis, x.ndim - 1)]
    return fn.transpose(hot, perm)


converts("Hardmax")(_softmax_like(_hardmax))


@converts("Dropout")
def _dropout(ctx: NodeContext, x: Tensor, ratio: Tensor | None = None,
             training: Tensor | None = None):
    if training is not None and bool(ctx.static(training, "training_mode")):
        raise ctx.fail("Dropout in training mode is not supported (inference only)")
    return [x, fn.full_like(fn.cast(x, "float32"), 1.0) > 0.0]


# -- losses -------------------------------------------------------------------------------
def _nll(ctx: NodeContext, logp: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
    ignore = ctx.attr("ignore_index")
    valid = None if ignore is None else fn.not_equal(target, like(target, ignore))
    safe = target if valid is None else fn.where(valid, target, like(target, 0))
    picked = fn.squeeze(fn.gather(logp, fn.expand_dims(safe, 1), axis=1), 1)
    w = fn.full_like(picked, 1.0) if weight is None else fn.take(weight, safe, axis=0)
    if valid is not None:
        w = fn.where(valid, w, like(w, 0))
    loss = -picked * w
    red = ctx.attr("reduction", "mean")
    if red == "none":
        return loss
    if red == "sum":
        return fn.sum(loss)
    return fn.sum(loss) / fn.sum(w)


@converts("NegativeLogLikelihoodLoss")
def _nll_loss(ctx: NodeContext, x: Tensor, target: Tensor, weight: Tensor | None = None):
    return _nll(ctx, x, target, weight)


@converts("SoftmaxCrossEntropyLoss")
def _sce(ctx: NodeContext, x: Tensor, target: Tensor, weight: Tensor | None = None):
    logp = fn.log_softmax(x, axis=1)
    return [_nll(ctx, logp, target, weight), logp]
