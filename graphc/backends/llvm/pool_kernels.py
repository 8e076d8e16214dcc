"""Fast paths of max_pool2d and its gradient for windows that tile the image (the usual
``kernel_size == stride``, no padding): taps unrolled at static offsets, no bounds checks, no
index division, and a gradient that writes each input once instead of accumulating into it.

They compute exactly what the general kernels in nn_kernels.py compute (same fold order of the
maximum, same first-maximum rule with NaN as the largest value, ``0 + g`` for the kept
gradient), so results do not depend on which path a shape takes.
"""

from __future__ import annotations

import math
from typing import Any

from llvmlite import ir

from graphc.backends.llvm.irutil import Arith, declare_intrinsic, i64
from graphc.backends.llvm.loops import View, fill, load, loop_nest, store
from graphc.backends.llvm.lowering import KernelCtx


def tiles(attrs: dict[str, Any]) -> tuple[int, int] | None:
    """(kh, kw) when the pool's windows do not overlap and need no padding, else None."""
    kernel = tuple(attrs["kernel_size"])
    stride = tuple(attrs["stride"] or kernel)
    return kernel if stride == kernel and tuple(attrs["padding"]) == (0, 0) else None  # type: ignore[return-value]


def _taps(b: ir.IRBuilder, x: View, p: ir.Value, oh: ir.Value, ow: ir.Value,
          k: tuple[int, int]) -> list[ir.Value]:
    """The flat input index of every tap of window (oh, ow) of plane p, in row-major order."""
    h, w = x.shape[2:]
    row0 = b.add(b.mul(p, i64(h * w)), b.mul(oh, i64(k[0] * w)))
    corner = b.add(row0, b.mul(ow, i64(k[1])))
    return [b.add(corner, i64(i * w + j)) for i in range(k[0]) for j in range(k[1])]


def _out_index(b: ir.IRBuilder, p: ir.Value, oh: ir.Value, ow: ir.Value,
               out_hw: tuple[int, int]) -> ir.Value:
    return b.add(b.mul(b.add(b.mul(p, i64(out_hw[0])), oh), i64(out_hw[1])), ow)


def max_pool(k: KernelCtx, kernel: tuple[int, int]) -> None:
    """out = max over each tile (NaN-propagating, like the general kernel's fold)."""
    b, x, out = k.b, k.ins[0], k.outs[0]
    n, c, oh_n, ow_n = out.shape
    a = k.scalar([x.dtype], x.dtype).arith()
    maximum = declare_intrinsic(a.module, "maximum", a.ty, [a.ty, a.ty])
    fx, fo = (View.dense(v.ptr, v.dtype, (v.size,)) for v in (x, out))
    with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
        acc = a.c(-math.inf)
        for at in _taps(b, x, p, oh, ow, kernel):
            acc = b.call(maximum, [acc, load(b, fx, at)])
        store(b, fo, _out_index(b, p, oh, ow, (oh_n, ow_n)), acc)


def _first_max(b: ir.IRBuilder, a: Arith, values: list[ir.Value]) -> ir.Value:
    """Index of the first maximum (NaN counts as the maximum), as nn_kernels._first_max."""
    best, where = values[0], ir.Constant(ir.IntType(64), 0)
    for t, v in enumerate(values[1:], start=1):
        first_nan = b.and_(a.isnan(v), b.fcmp_ordered("ord", best, best))
        take = b.or_(b.fcmp_ordered(">", v, best), first_nan)
        best, where = a.select(take, v, best), b.select(take, i64(t), where)
    return where


def max_pool_grad(k: KernelCtx, kernel: tuple[int, int]) -> None:
    """gx = gy at each tile's first maximum, 0 elsewhere (inputs no tile covers: 0)."""
    b, x, gy, gx = k.b, k.ins[0], k.ins[1], k.outs[0]
    n, c, oh_n, ow_n = gy.shape
    if (oh_n * kernel[0], ow_n * kernel[1]) != tuple(gx.shape[2:]):
        fill(b, gx, ir.Constant(k.scalar([gx.dtype], gx.dtype).arith().ty, 0.0))
    a = k.scalar([gy.dtype], gy.dtype).arith()
    fx, fg, fgx = (View.dense(v.ptr, v.dtype, (v.size,)) for v in (x, gy, gx))
    with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
        taps = _taps(b, x, p, oh, ow, kernel)
        best = _first_max(b, a, [load(b, fx, at) for at in taps])
        g = load(b, fg, _out_index(b, p, oh, ow, (oh_n, ow_n)))
        for t, at in enumerate(taps):
            kept = a.select(b.icmp_signed("==", best, i64(t)), g, a.c(0.0))
            store(b, fgx, at, b.fadd(a.c(0.0), kept))
