"""nn ops: softmax, log_softmax, softmax_cross_entropy, mse and the 2-D pools (and gradients).

conv2d and its gradients are E2's (conv.py); see conv_lowering.py for how they are wired in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm import pool_kernels
from graphc.backends.llvm.irutil import FM, FM_REDUCE, I64, Arith, i64
from graphc.backends.llvm.loops import View, fill, load, loop_nest, store
from graphc.backends.llvm.lowering import KernelCtx, kernel
from graphc.backends.llvm.reduce_kernels import (
    accumulate,
    divide_by_count,
    identity,
    reduce_views,
    rows,
)

Row = tuple[ir.Value, ir.Value, Callable[[ir.Value], ir.Value]]
Position = Callable[[ir.Value, ir.Value, ir.Value, ir.Value], tuple[ir.Value, ir.Value]]


def _row_stats(k: KernelCtx, a: Arith, x: View, base: ir.Value, n: int, step: int) -> Row:
    """(max, sum(exp(x - max))) of one row."""
    b = k.b

    def at(i: ir.Value) -> ir.Value:
        return load(b, x, b.add(base, b.mul(i, i64(step))))

    with accumulate(b, n, a.c(-math.inf)) as (i, cell):
        cell[0] = a.b.call(_intrinsic(a, "maximum"), [cell[0], at(i)])
    m = cell[0]
    with accumulate(b, n, a.c(0.0)) as (i, cell):
        cell[0] = b.fadd(cell[0], a.math("exp", a.sub(at(i), m)), flags=FM_REDUCE)
    return m, cell[0], at


def _intrinsic(a: Arith, name: str) -> ir.Function:
    from graphc.backends.llvm.irutil import declare_intrinsic

    return declare_intrinsic(a.module, name, a.ty, [a.ty, a.ty])


def _softmax_family(
    k: KernelCtx, finish: Callable[[Arith, ir.Value, ir.Value, ir.Value], ir.Value]
) -> None:
    b, x, out = k.b, k.ins[0], k.outs[0]
    axis = k.attrs["axis"]
    if x.size == 0:
        return
    a = k.scalar([x.dtype], x.dtype).arith()
    n, step = x.shape[axis], x.strides[axis]
    with rows(b, x.shape, axis, [x, out]) as (xb, ob):
        m, s, at = _row_stats(k, a, x, xb, n, step)
        with loop_nest(b, [n]) as (i,):
            store(b, out, b.add(ob, b.mul(i, i64(out.strides[axis]))), finish(a, at(i), m, s))


@kernel(ops.softmax, views=True)
def _softmax(k: KernelCtx) -> None:
    _softmax_family(k, lambda a, x, m, s: a.div(a.math("exp", a.sub(x, m)), s))


@kernel(ops.log_softmax, views=True)
def _log_softmax(k: KernelCtx) -> None:
    _softmax_family(k, lambda a, x, m, s: a.sub(a.sub(x, m), a.math("log", s)))


@kernel(ops.softmax_cross_entropy)
def _softmax_cross_entropy(k: KernelCtx) -> None:
    """-(x[label] - max - log(sum(exp(x - max)))) per row; an out-of-range label gives NaN."""
    b, x, labels, out = k.b, k.ins[0], k.ins[1], k.outs[0]
    classes = x.shape[-1]
    if x.size == 0 and out.size == 0:
        return
    a = k.scalar([x.dtype], x.dtype).arith()
    flat_labels = View.dense(labels.ptr, labels.dtype, (labels.size,))
    flat_out = View.dense(out.ptr, out.dtype, (out.size,))
    with loop_nest(b, [out.size]) as (r,):
        base = b.mul(r, i64(classes))
        m, s, at = _row_stats(k, a, x, base, classes, 1)
        j = load(b, flat_labels, r)
        j = b.sext(j, I64) if j.type.width < 64 else j
        ok = b.and_(b.icmp_signed(">=", j, i64(0)), b.icmp_signed("<", j, i64(classes)))
        picked = at(b.select(ok, j, i64(0)))
        loss = a.neg(a.sub(a.sub(picked, m), a.math("log", s)))
        store(b, flat_out, r, a.select(ok, loss, a.c(math.nan)))


@kernel(ops.mse, views=True)
def _mse(k: KernelCtx) -> None:
    b, x, y, out = k.b, k.ins[0], k.ins[1], k.outs[0]
    from graphc.ir.types import broadcast_shapes

    shape = broadcast_shapes(x.shape, y.shape)
    a = k.scalar([x.dtype], x.dtype).arith()
    keep = View.dense(out.ptr, out.dtype, (1,) * len(shape))

    def sq(xs: list[ir.Value]) -> ir.Value:
        d = a.sub(xs[0], xs[1])
        return a.mul(d, d)

    def add(bb: ir.IRBuilder, acc: ir.Value, v: ir.Value) -> ir.Value:
        return bb.fadd(acc, v, flags=FM_REDUCE)

    reduce_views(
        b, [x.broadcast(shape), y.broadcast(shape)], shape, keep, add, identity("sum", x.dtype), sq
    )
    divide_by_count(b, keep, math.prod(shape))


# --- pooling -------------------------------------------------------------------------------
def _window(k: KernelCtx, image: View) -> tuple[tuple[int, int], ...]:
    """Geometry of a pool: (kh, kw), (sh, sw), (ph, pw), (H, W)."""
    a = k.attrs
    stride = a["stride"] or a["kernel_size"]
    return a["kernel_size"], stride, a["padding"], image.shape[2:]


def _pool_positions(
    k: KernelCtx, planes: int, out_hw: tuple[int, int], image: View
) -> tuple[tuple[int, int], Position]:
    """Loops over (plane, oh, ow, i, j) yielding the input index and whether it is in range."""
    b = k.b
    (kh, kw), (sh, sw), (ph, pw), (h, w) = _window(k, image)

    def position(oh: ir.Value, ow: ir.Value, i: ir.Value, j: ir.Value) -> tuple[ir.Value, ir.Value]:
        ih = b.add(b.mul(oh, i64(sh)), i64(-ph))
        ih = b.add(ih, i)
        iw = b.add(b.add(b.mul(ow, i64(sw)), i64(-pw)), j)
        ok = b.and_(_in(b, ih, h), _in(b, iw, w))
        at = b.add(b.mul(_clamp(b, ih, h), i64(w)), _clamp(b, iw, w))
        return at, ok

    return (kh, kw), position


def _in(b: ir.IRBuilder, i: ir.Value, n: int) -> ir.Value:
    return b.and_(b.icmp_signed(">=", i, i64(0)), b.icmp_signed("<", i, i64(n)))


def _clamp(b: ir.IRBuilder, i: ir.Value, n: int) -> ir.Value:
    i = b.select(b.icmp_signed("<", i, i64(0)), i64(0), i)
    return b.select(b.icmp_signed(">=", i, i64(n)), i64(n - 1), i)


def _pool(k: KernelCtx, kind: str) -> None:
    b, x, out = k.b, k.ins[0], k.outs[0]
    if out.size == 0:
        return
    tiled = pool_kernels.tiles(k.attrs)
    if kind == "max" and tiled is not None:
        pool_kernels.max_pool(k, tiled)
        return
    n, c, oh_n, ow_n = out.shape
    h, w = x.shape[2:]
    a = k.scalar([x.dtype], x.dtype).arith()
    (kh, kw), position = _pool_positions(k, n * c, (oh_n, ow_n), x)
    flat_x = View.dense(x.ptr, x.dtype, (x.size,))
    flat_out = View.dense(out.ptr, out.dtype, (out.size,))
    pad = a.c(-math.inf if kind == "max" else 0.0)
    with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
        xbase = b.mul(p, i64(h * w))
        acc0 = identity(kind if kind == "max" else "sum", x.dtype)
        with accumulate(b, kh * kw, acc0) as (t, cell):
            i, j = b.sdiv(t, i64(kw)), b.srem(t, i64(kw))
            at, ok = position(oh, ow, i, j)
            v = a.select(ok, load(b, flat_x, b.add(xbase, at)), pad)
            cell[0] = (
                b.call(_intrinsic(a, "maximum"), [cell[0], v])
                if kind == "max"
                else b.fadd(cell[0], v, flags=FM)
            )
        result = cell[0] if kind == "max" else a.div(cell[0], a.c(float(kh * kw)))
        o_at = b.add(b.mul(b.add(b.mul(p, i64(oh_n)), oh), i64(ow_n)), ow)
        store(b, flat_out, o_at, result)


kernel(ops.max_pool2d)(lambda k: _pool(k, "max"))
kernel(ops.avg_pool2d)(lambda k: _pool(k, "avg"))


def _pool_grad(k: KernelCtx, x: View | None, gy: View, gx: View) -> None:
    """gx = scatter of gy over each window: all of it to the first max, or an even share."""
    b = k.b
    tiled = pool_kernels.tiles(k.attrs)
    if x is not None and tiled is not None and gy.size:
        pool_kernels.max_pool_grad(k, tiled)
        return
    fill(b, gx, ir.Constant(_elem(gx), 0.0))
    if gy.size == 0:
        return
    n, c, oh_n, ow_n = gy.shape
    h, w = gx.shape[2:]
    a = k.scalar([gy.dtype], gy.dtype).arith()
    (kh, kw), position = _pool_positions(k, n * c, (oh_n, ow_n), gx)
    flat = {
        name: View.dense(v.ptr, v.dtype, (v.size,))
        for name, v in (("gy", gy), ("gx", gx), *((("x", x),) if x is not None else ()))
    }
    with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
        base = b.mul(p, i64(h * w))
        g = load(b, flat["gy"], b.add(b.mul(b.add(b.mul(p, i64(oh_n)), oh), i64(ow_n)), ow))
        if x is None:
            share = a.div(g, a.c(float(kh * kw)))
            _spread(k, flat["gx"], base, kh * kw, kw, lambda t, at, ok: share, position, oh, ow)
        else:
            best = _first_max(k, a, flat["x"], base, kh * kw, kw, position, oh, ow)
            _spread(
                k,
                flat["gx"],
                base,
                kh * kw,
                kw,
                lambda t, at, ok: a.select(b.icmp_signed("==", t, best), g, a.c(0.0)),
                position,
                oh,
                ow,
            )


def _elem(v: View) -> ir.Type:
    from graphc.backends.llvm.irutil import value_type

    return value_type(v.dtype)


def _first_max(
    k: KernelCtx,
    a: Arith,
    x: View,
    base: ir.Value,
    taps: int,
    kw: int,
    position: Position,
    oh: ir.Value,
    ow: ir.Value,
) -> ir.Value:
    """Index (0..taps-1) of the first maximum in the window; NaN counts as the maximum."""
    b = k.b
    init = b.insert_value(ir.Constant(ir.LiteralStructType([a.ty, I64]), None), a.c(-math.inf), 0)
    init = b.insert_value(init, i64(0), 1)
    with accumulate(b, taps, init) as (t, cell):
        at, ok = position(oh, ow, b.sdiv(t, i64(kw)), b.srem(t, i64(kw)))
        v = a.select(ok, load(b, x, b.add(base, at)), a.c(-math.inf))
        best = b.extract_value(cell[0], 0)
        first_nan = b.and_(a.isnan(v), b.fcmp_ordered("ord", best, best))
        take = b.or_(b.fcmp_ordered(">", v, best), first_nan)
        take = b.or_(take, b.icmp_signed("==", t, i64(0)))
        pair = b.insert_value(cell[0], a.select(take, v, best), 0)
        cell[0] = b.insert_value(pair, b.select(take, t, b.extract_value(cell[0], 1)), 1)
    return b.extract_value(cell[0], 1)


def _spread(
    k: KernelCtx,
    gx: View,
    base: ir.Value,
    taps: int,
    kw: int,
    value: Callable[[ir.Value, ir.Value, ir.Value], ir.Value],
    position: Position,
    oh: ir.Value,
    ow: ir.Value,
) -> None:
    b = k.b
    with loop_nest(b, [taps]) as (t,):
        at, ok = position(oh, ow, b.sdiv(t, i64(kw)), b.srem(t, i64(kw)))
        with b.if_then(ok):
            idx = b.add(base, at)
            store(b, gx, idx, b.fadd(load(b, gx, idx), value(t, at, ok)))


@kernel(ops.max_pool2d_gather)
def _max_pool_gather(k: KernelCtx) -> None:
    """out[window] = gx at the window's first maximum of x (0 if that is padding)."""
    b, x, gx, out = k.b, k.ins[0], k.ins[1], k.outs[0]
    if out.size == 0:
        return
    n, c, oh_n, ow_n = out.shape
    h, w = x.shape[2:]
    a = k.scalar([gx.dtype], gx.dtype).arith()
    (kh, kw), position = _pool_positions(k, n * c, (oh_n, ow_n), x)
    fx, fg, fo = (View.dense(v.ptr, v.dtype, (v.size,)) for v in (x, gx, out))
    with loop_nest(b, [n * c, oh_n, ow_n]) as (p, oh, ow):
        base = b.mul(p, i64(h * w))
        best = _first_max(k, a, fx, base, kh * kw, kw, position, oh, ow)
        at, ok = position(oh, ow, b.sdiv(best, i64(kw)), b.srem(best, i64(kw)))
        picked = a.select(ok, load(b, fg, b.add(base, at)), a.c(0.0))
        store(b, fo, b.add(b.mul(b.add(b.mul(p, i64(oh_n)), oh), i64(ow_n)), ow), picked)


kernel(ops.max_pool2d_grad)(lambda k: _pool_grad(k, k.ins[0], k.ins[1], k.outs[0]))
kernel(ops.avg_pool2d_grad)(lambda k: _pool_grad(k, None, k.ins[0], k.outs[0]))
