"""Shape and indexing ops as strided copies: every output element reads input[offset + idx.strides].

Shapes are concrete, so a transpose, broadcast, slice, split or concat is just a View with other
strides, copied by the generic loop nest (which merges dims that stay contiguous).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import I64, i64, value_type
from graphc.backends.llvm.irgen.loops import View, elementwise, fill, load, loop_nest, store
from graphc.backends.llvm.kernels.elementwise import cast_value
from graphc.backends.llvm.kernels.table import KernelCtx, Scalar, kernel
from graphc.ir.types import bool_
from graphc.ops import core

kernel(core.constant)(lambda k: None)  # constants are module globals; nothing runs


def copy(b: ir.IRBuilder, src: View, dst: View) -> None:
    """dst[...] = src[...] (both laid out over the same shape).

    The outer loops stay rolled: LLVM turns each contiguous row into a memcpy, and a fully
    unrolled nest of them (concat or split along axis 1) took seconds of codegen."""
    elementwise(b, dst.shape, [src], [dst], lambda xs: xs, unroll_outer=False)


def flat_copy(k: KernelCtx) -> None:
    x, out = k.ins[0], k.outs[0]
    copy(k.b, View.dense(x.ptr, x.dtype, (x.size,)), View.dense(out.ptr, out.dtype, (out.size,)))


for _op in (ops.reshape, ops.flatten, ops.expand_dims, ops.squeeze):
    kernel(_op)(flat_copy)


@kernel(ops.transpose, views=True)
def _transpose(k: KernelCtx) -> None:
    copy(k.b, k.ins[0].permute(k.attrs["perm"]), k.outs[0])


@kernel(ops.broadcast_to, views=True)
def _broadcast_to(k: KernelCtx) -> None:
    copy(k.b, k.ins[0].broadcast(k.outs[0].shape), k.outs[0])


def _along(v: View, axis: int, start: int, shape: Sequence[int]) -> View:
    """The block of ``v`` starting at ``start`` on ``axis`` with ``shape``."""
    return v.with_layout(shape, v.strides, start * v.strides[axis])


@kernel(ops.concat, views=True)
def _concat(k: KernelCtx) -> None:
    axis, out, start = k.attrs["axis"], k.outs[0], 0
    for x in k.ins:
        copy(k.b, x, _along(out, axis, start, x.shape))
        start += x.shape[axis]


@kernel(ops.split, views=True)
def _split(k: KernelCtx) -> None:
    axis, x, start = k.attrs["axis"], k.ins[0], 0
    for out in k.outs:
        copy(k.b, _along(x, axis, start, out.shape), out)
        start += out.shape[axis]


def sliced(v: View, begin: Sequence[int], end: Sequence[int], step: Sequence[int]) -> View:
    """``v[begin:end:step]`` per axis with Python's slice rules on the concrete shape."""
    shape, strides, offset = [], [], 0
    for n, s, bnd in zip(v.shape, v.strides, zip(begin, end, step, strict=True), strict=True):
        start, stop, st = builtins.slice(*bnd).indices(n)
        shape.append(len(range(start, stop, st)))
        strides.append(s * st)
        offset += start * s if shape[-1] else 0
    return v.with_layout(shape, strides, offset)


@kernel(ops.slice, views=True)
def _slice(k: KernelCtx) -> None:
    a = k.attrs
    copy(k.b, sliced(k.ins[0], a["begin"], a["end"], a["step"]), k.outs[0])


@kernel(ops.slice_grad, views=True)
def _slice_grad(k: KernelCtx) -> None:
    a, out = k.attrs, k.outs[0]
    fill(k.b, out, ir.Constant(value_type(out.dtype), 0))
    copy(k.b, k.ins[0], sliced(out, a["begin"], a["end"], a["step"]))


@kernel(ops.pad, views=True)
def _pad(k: KernelCtx) -> None:
    x, out = k.ins[0], k.outs[0]
    value = ir.Constant(value_type(out.dtype), k.attrs["value"])
    if out.dtype.is_bool or out.dtype.is_int:
        value = ir.Constant(value_type(out.dtype), int(k.attrs["value"]))
    fill(k.b, out, value)
    offset = sum(bf * s for bf, s in zip(k.attrs["before"], out.strides, strict=True))
    copy(k.b, x, out.with_layout(x.shape, out.strides, offset))


def _index(k: KernelCtx, idx: View, at: ir.Value, n: int) -> ir.Value:
    """An index read from ``idx``, negative ones counted from the end (``n`` > 0).

    One outside [-n, n) sets the module's error flag (the executable raises naming the node, as
    the NumPy reference does) and reads row 0 instead, so the kernel never touches memory
    outside the table before the call returns.
    """
    b = k.b
    j = load(b, idx, at)
    j = b.sext(j, I64) if j.type.width < 64 else j
    j = b.select(b.icmp_signed("<", j, i64(0)), b.add(j, i64(n)), j)
    bad = b.icmp_unsigned(">=", j, i64(n))  # still negative, or too big
    k.fail_if(bad)
    return b.select(bad, i64(0), j)


def _take_layout(x: View, axis: int | None) -> tuple[int, int, int, View]:
    """(outer, taken axis length, inner, x as a dense [outer, n, inner] view)."""
    if axis is None:
        return 1, x.size, 1, View.dense(x.ptr, x.dtype, (1, x.size, 1))
    outer, inner = math.prod(x.shape[:axis]), math.prod(x.shape[axis + 1 :])
    n = x.shape[axis]
    return outer, n, inner, View.dense(x.ptr, x.dtype, (outer, n, inner))


def _gather_scatter(k: KernelCtx, table: View, other: View, idx: View, scatter: bool) -> None:
    """take (table -> other) or take_grad's scatter-add (other -> table) over [outer, m, inner]."""
    b = k.b
    outer, n, inner, t3 = _take_layout(table, k.attrs["axis"])
    m = idx.size
    flat_idx = View.dense(idx.ptr, idx.dtype, (m,))
    o3 = View.dense(other.ptr, other.dtype, (outer, m, inner))
    if outer * m * inner == 0 or n == 0:
        return
    with loop_nest(b, [outer, m]) as (o, j):
        src = _index(k, flat_idx, j, n)
        with loop_nest(b, [inner]) as (r,):
            t_at = b.add(b.mul(b.add(b.mul(o, i64(n)), src), i64(inner)), r)
            o_at = b.add(b.mul(b.add(b.mul(o, i64(m)), j), i64(inner)), r)
            if scatter:
                s = k.scalar([table.dtype, table.dtype], table.dtype)
                total = _plus(s, load(b, t3, t_at), load(b, o3, o_at))
                store(b, t3, t_at, total)
            else:
                store(b, o3, o_at, load(b, t3, t_at))


def _plus(s: Scalar, x: ir.Value, y: ir.Value) -> ir.Value:
    return s.b.fadd(x, y) if s.out_dtype.is_float else s.b.add(x, y)


@kernel(ops.take)
def _take(k: KernelCtx) -> None:
    _gather_scatter(k, k.ins[0], k.outs[0], k.ins[1], scatter=False)


@kernel(ops.take_grad)
def _take_grad(k: KernelCtx) -> None:
    out = k.outs[0]
    fill(k.b, out, ir.Constant(value_type(out.dtype), 0))
    _gather_scatter(k, out, k.ins[0], k.ins[1], scatter=True)


@kernel(ops.one_hot)
def _one_hot(k: KernelCtx) -> None:
    b, idx, out = k.b, k.ins[0], k.outs[0]
    depth = k.attrs["depth"]
    if out.size == 0:
        return
    flat_idx = View.dense(idx.ptr, idx.dtype, (idx.size,))
    flat_out = View.dense(out.ptr, out.dtype, (out.size,))
    with loop_nest(b, [idx.size, depth]) as (i, c):
        j = load(b, flat_idx, i)
        hit = b.icmp_signed("==", b.sext(j, I64) if j.type.width < 64 else j, c)
        store(b, flat_out, b.add(b.mul(i, i64(depth)), c), cast_value(b, hit, bool_, out.dtype))
