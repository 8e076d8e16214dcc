"""max_pool2d, avg_pool2d, their gradients and max_pool2d_gather.

The general kernels loop over each window's taps with bounds checks (padding reads as -inf for
max, 0 for avg; avg divides by the full window). Windows that tile the image (the usual
``kernel_size == stride``, no padding) take fast paths for max_pool2d and its gradient: taps
vectorized along the width (nn_pool_tiles.py), no bounds checks, no index division, and a
gradient that writes each input once instead of accumulating into it. Both compute exactly the
same thing (same fold order of the maximum, same first-maximum rule with NaN as the largest
value, ``0 + g`` for the kept gradient), so results do not depend on which path a shape takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import FM, I64, Arith, i64, value_type
from graphc.backends.llvm.irgen.loops import View, fill, load, loop_nest, store
from graphc.backends.llvm.kernels.nn_pool_tiles import (
    max_pool_grad_vector,
    max_pool_vector,
    max_pool_windows_grad_vector,
    max_pool_windows_vector,
)
from graphc.backends.llvm.kernels.reduce import accumulate, identity
from graphc.backends.llvm.kernels.table import KernelCtx, kernel


def tiles(attrs: dict[str, Any]) -> tuple[int, int] | None:
    """(kh, kw) when the pool's windows do not overlap and need no padding, else None."""
    kernel = tuple(attrs["kernel_size"])
    stride = tuple(attrs["stride"] or kernel)
    return kernel if stride == kernel and tuple(attrs["padding"]) == (0, 0) else None  # type: ignore[return-value]


def max_pool(k: KernelCtx, kernel: tuple[int, int]) -> None:
    """out = max over each tile (NaN-propagating, like the general kernel's fold)."""
    x, out = k.ins[0], k.outs[0]
    max_pool_vector(k, k.scalar([x.dtype], x.dtype).arith(), x, out, kernel)


def max_pool_grad(k: KernelCtx, kernel: tuple[int, int]) -> None:
    """gx = gy at each tile's first maximum, 0 elsewhere (inputs no tile covers: 0)."""
    x, gy, gx = k.ins[0], k.ins[1], k.outs[0]
    a = k.scalar([gy.dtype], gy.dtype).arith()
    if (gy.shape[2] * kernel[0], gy.shape[3] * kernel[1]) != tuple(gx.shape[2:]):
        fill(k.b, gx, ir.Constant(a.ty, 0.0))
    max_pool_grad_vector(k, a, x, gy, gx, kernel)


# --- the general kernels: any window, stride and padding -----------------------------------
class _Win(NamedTuple):
    """One output pixel of a pool: its window's position, its image's offset, its own offset."""

    oh: ir.Value
    ow: ir.Value
    base: ir.Value  # element offset of the [H, W] image (plane) the window reads
    at: ir.Value  # element offset of the output pixel


@dataclass(frozen=True)
class _Pool:
    """A pool's windows over [H, W] images, and the builder they are emitted with."""

    b: ir.IRBuilder
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    hw: tuple[int, int]

    @staticmethod
    def of(k: KernelCtx, image: View) -> _Pool:
        """The pool of node ``k.node`` over ``image`` ([N, C, H, W])."""
        a = k.attrs
        stride = a["stride"] or a["kernel_size"]
        return _Pool(k.b, tuple(a["kernel_size"]), tuple(stride), tuple(a["padding"]),
                     tuple(image.shape[2:]))

    @property
    def taps(self) -> int:
        """Taps per window (kh * kw)."""
        return self.kernel[0] * self.kernel[1]

    @contextmanager
    def windows(self, out_shape: Sequence[int]) -> Iterator[_Win]:
        """Loop over every output pixel of an [N, C, OH, OW] result."""
        b, (h, w) = self.b, self.hw
        n, c, oh_n, ow_n = out_shape
        with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
            at = b.add(b.mul(b.add(b.mul(p, i64(oh_n)), oh), i64(ow_n)), ow)
            yield _Win(oh, ow, b.mul(p, i64(h * w)), at)

    def tap(self, win: _Win, t: ir.Value) -> tuple[ir.Value, ir.Value]:
        """(image offset of tap t, clamped into the image; whether the tap is inside it)."""
        b, (h, w), kw = self.b, self.hw, self.kernel[1]
        i, j = b.sdiv(t, i64(kw)), b.srem(t, i64(kw))
        ih = b.add(b.add(b.mul(win.oh, i64(self.stride[0])), i64(-self.padding[0])), i)
        iw = b.add(b.add(b.mul(win.ow, i64(self.stride[1])), i64(-self.padding[1])), j)
        ok = b.and_(_inside(b, ih, h), _inside(b, iw, w))
        return b.add(b.mul(_clamp(b, ih, h), i64(w)), _clamp(b, iw, w)), ok


def _inside(b: ir.IRBuilder, i: ir.Value, n: int) -> ir.Value:
    return b.and_(b.icmp_signed(">=", i, i64(0)), b.icmp_signed("<", i, i64(n)))


def _clamp(b: ir.IRBuilder, i: ir.Value, n: int) -> ir.Value:
    i = b.select(b.icmp_signed("<", i, i64(0)), i64(0), i)
    return b.select(b.icmp_signed(">=", i, i64(n)), i64(n - 1), i)


def _flat(v: View) -> View:
    return View.dense(v.ptr, v.dtype, (v.size,))


def _pool(k: KernelCtx, kind: str) -> None:
    """out = max, or mean over the full window (padding counts as 0), of each window."""
    b, x, out = k.b, k.ins[0], k.outs[0]
    if out.size == 0:
        return
    a = k.scalar([x.dtype], x.dtype).arith()
    if kind == "max":
        tiled = tiles(k.attrs)
        if tiled is not None:
            max_pool(k, tiled)
        else:
            max_pool_windows_vector(k, a, x, out)
        return
    pool, fx, fo = _Pool.of(k, x), _flat(x), _flat(out)
    with pool.windows(out.shape) as win:
        with accumulate(b, pool.taps, identity("sum", x.dtype)) as (t, cell):
            at, ok = pool.tap(win, t)
            v = a.select(ok, load(b, fx, b.add(win.base, at)), a.c(0.0))
            cell[0] = b.fadd(cell[0], v, flags=FM)
        store(b, fo, win.at, a.div(cell[0], a.c(float(pool.taps))))


kernel(ops.max_pool2d)(lambda k: _pool(k, "max"))
kernel(ops.avg_pool2d)(lambda k: _pool(k, "avg"))


def _pool_grad(k: KernelCtx, x: View | None, gy: View, gx: View) -> None:
    """gx = scatter of gy over each window: all of it to the first max, or an even share."""
    b = k.b
    tiled = tiles(k.attrs)
    if x is not None and tiled is not None and gy.size:
        max_pool_grad(k, tiled)
        return
    fill(b, gx, ir.Constant(value_type(gx.dtype), 0.0))
    if gy.size == 0:
        return
    a = k.scalar([gy.dtype], gy.dtype).arith()
    if x is not None:
        max_pool_windows_grad_vector(k, a, x, gy, gx)
        return
    pool, fgy, fgx = _Pool.of(k, gx), _flat(gy), _flat(gx)
    with pool.windows(gy.shape) as win:
        share = a.div(load(b, fgy, win.at), a.c(float(pool.taps)))
        _spread(pool, fgx, win, lambda t: share)


def _window_first_max(pool: _Pool, a: Arith, x: View, win: _Win) -> ir.Value:
    """Index (0..taps-1) of the first maximum in the window; NaN counts as the maximum."""
    b = pool.b
    init = b.insert_value(ir.Constant(ir.LiteralStructType([a.ty, I64]), None), a.c(-math.inf), 0)
    init = b.insert_value(init, i64(0), 1)
    with accumulate(b, pool.taps, init) as (t, cell):
        at, ok = pool.tap(win, t)
        v = a.select(ok, load(b, x, b.add(win.base, at)), a.c(-math.inf))
        best = b.extract_value(cell[0], 0)
        first_nan = b.and_(a.isnan(v), b.fcmp_ordered("ord", best, best))
        take = b.or_(b.fcmp_ordered(">", v, best), first_nan)
        take = b.or_(take, b.icmp_signed("==", t, i64(0)))
        pair = b.insert_value(cell[0], a.select(take, v, best), 0)
        cell[0] = b.insert_value(pair, b.select(take, t, b.extract_value(cell[0], 1)), 1)
    return b.extract_value(cell[0], 1)


def _spread(pool: _Pool, gx: View, win: _Win, value: Callable[[ir.Value], ir.Value]) -> None:
    """gx[tap] += value(t) for every tap t of the window that lies inside the image."""
    b = pool.b
    with loop_nest(b, [pool.taps]) as (t,):
        at, ok = pool.tap(win, t)
        with b.if_then(ok):
            idx = b.add(win.base, at)
            store(b, gx, idx, b.fadd(load(b, gx, idx), value(t)))


@kernel(ops.max_pool2d_gather)
def _max_pool_gather(k: KernelCtx) -> None:
    """out[window] = gx at the window's first maximum of x (0 if that is padding)."""
    b, x, gx, out = k.b, k.ins[0], k.ins[1], k.outs[0]
    if out.size == 0:
        return
    a = k.scalar([gx.dtype], gx.dtype).arith()
    pool, fx, fg, fo = _Pool.of(k, x), _flat(x), _flat(gx), _flat(out)
    with pool.windows(out.shape) as win:
        best = _window_first_max(pool, a, fx, win)
        at, ok = pool.tap(win, best)
        store(b, fo, win.at, a.select(ok, load(b, fg, b.add(win.base, at)), a.c(0.0)))


kernel(ops.max_pool2d_grad)(lambda k: _pool_grad(k, k.ins[0], k.ins[1], k.outs[0]))
kernel(ops.avg_pool2d_grad)(lambda k: _pool_grad(k, None, k.ins[0], k.outs[0]))
