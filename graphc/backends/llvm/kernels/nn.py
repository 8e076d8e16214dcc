"""nn ops: softmax, log_softmax, softmax_cross_entropy and mse.

The 2-D pools and their gradients are in pool_kernels.py; conv2d and its gradients in conv.py
(wired in by conv_kernels.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import FM_REDUCE, I64, Arith, declare_intrinsic, i64
from graphc.backends.llvm.irgen.loops import View, load, loop_nest, store
from graphc.backends.llvm.kernels.reduce import (
    accumulate,
    divide_by_count,
    identity,
    reduce_views,
    rows,
)
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.ir.types import broadcast_shapes

Row = tuple[ir.Value, ir.Value, Callable[[ir.Value], ir.Value]]


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
    """-(x[label] - max - log(sum(exp(x - max)))) per row.

    An out-of-range label sets the error flag (the executable raises naming the node, as the
    NumPy reference does); its row reads class 0 instead of memory outside the row, and is NaN.
    """
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
        ok = b.icmp_unsigned("<", j, i64(classes))  # a negative label is a huge unsigned one
        k.fail_if(b.not_(ok))
        picked = at(b.select(ok, j, i64(0)))
        loss = a.neg(a.sub(a.sub(picked, m), a.math("log", s)))
        store(b, flat_out, r, a.select(ok, loss, a.c(math.nan)))


@kernel(ops.mse, views=True)
def _mse(k: KernelCtx) -> None:
    """mean((x - y)**2) over the broadcast shape."""
    b, x, y, out = k.b, k.ins[0], k.ins[1], k.outs[0]
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
