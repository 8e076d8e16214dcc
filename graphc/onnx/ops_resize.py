"""Resize (nearest and linear): per resized axis, source indices (and linear weights) computed
at import time from ONNX's coordinate transformation, applied as gathers along that axis."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.api import constant
from graphc.frontend.tensor import Tensor
from graphc.onnx.table import NodeContext, converts

Transform = Callable[[np.ndarray, int, int, float], np.ndarray]


def _half_pixel_symmetric(x: np.ndarray, n: int, m: int, s: float) -> np.ndarray:
    adjustment = m / (s * n)
    offset = n / 2 * (1 - adjustment)
    return offset + (x + 0.5) / s - 0.5


TRANSFORMS: dict[str, Transform] = {  # output coordinate -> input coordinate
    "half_pixel": lambda x, n, m, s: (x + 0.5) / s - 0.5,
    "half_pixel_symmetric": _half_pixel_symmetric,
    "pytorch_half_pixel": lambda x, n, m, s: (x + 0.5) / s - 0.5 if m > 1 else 0 * x,
    # the resized length before flooring (n * s) is ONNX's, not the output size m
    "align_corners": lambda x, n, m, s: x * (n - 1) / (n * s - 1) if m > 1 else 0 * x,
    "asymmetric": lambda x, n, m, s: x / s,
}
ROUNDING = {
    "round_prefer_floor": lambda x: np.where(x - np.floor(x) == 0.5, np.floor(x), np.round(x)),
    "round_prefer_ceil": lambda x: np.where(x - np.floor(x) == 0.5, np.ceil(x), np.round(x)),
    "floor": np.floor, "ceil": np.ceil,
}


def _targets(ctx: NodeContext, x: Tensor, scales: Tensor | None,
             sizes: Tensor | None) -> dict[int, tuple[int, float]]:
    """axis -> (output size, scale) for each resized axis."""
    axes = ctx.attr("axes") or list(range(x.ndim))
    axes = [a % x.ndim for a in axes]
    shape = list(x.shape)
    if not all(isinstance(shape[a], int) for a in axes):
        raise ctx.fail("Resize of symbolic dims is not supported")
    sc = ctx.static(scales, "scales") if sizes is None else None
    if sc is not None:
        return {a: (math.floor(shape[a] * float(s)), float(s)) for a, s in zip(axes, sc,
                                                                                strict=True)}
    if ctx.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise ctx.fail("keep_aspect_ratio_policy other than stretch is not supported")
    out = ctx.ints(sizes, "sizes")
    return {a: (m, m / shape[a]) for a, m in zip(axes, out, strict=True)}


@converts("Resize")
def _resize(ctx: NodeContext, x: Tensor, roi: Tensor | None = None,
            scales: Tensor | None = None, sizes: Tensor | None = None) -> Tensor:
    mode = ctx.attr("mode", "nearest")
    ctm = ctx.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear") or ctm not in TRANSFORMS or ctx.attr("antialias", 0):
        raise ctx.fail(f"Resize mode {mode!r} with coordinate_transformation_mode {ctm!r}"
                       f"{' and antialias' if ctx.attr('antialias', 0) else ''} is not "
                       "supported (nearest and linear without antialias are)")
    for axis, (m, s) in _targets(ctx, x, scales, sizes).items():
        n = x.shape[axis]
        src = TRANSFORMS[ctm](np.arange(m, dtype=np.float64), n, m, s)
        x = _nearest(ctx, x, axis, src, n) if mode == "nearest" else _linear(x, axis, src, n)
    return x


def _nearest(ctx: NodeContext, x: Tensor, axis: int, src: np.ndarray, n: int) -> Tensor:
    rounding = ROUNDING[ctx.attr("nearest_mode", "round_prefer_floor")]
    idx = np.clip(rounding(src), 0, n - 1).astype(np.int64)
    return fn.take(x, constant(idx), axis=axis)


def _linear(x: Tensor, axis: int, src: np.ndarray, n: int) -> Tensor:
    lo = np.floor(src)
    w = (src - lo).astype(x.dtype.np)
    i0 = np.clip(lo, 0, n - 1).astype(np.int64)
    i1 = np.clip(lo + 1, 0, n - 1).astype(np.int64)
    shape = [1] * x.ndim
    shape[axis] = len(src)
    w = constant(w.reshape(shape))
    a, b = fn.take(x, constant(i0), axis=axis), fn.take(x, constant(i1), axis=axis)
    return a + (b - a) * w
