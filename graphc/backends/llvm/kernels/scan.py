"""The along-an-axis ops (cumsum, argsort, gather, gather_grad) as loop nests over a dense
[outer, n, inner] layout of the operands."""

from __future__ import annotations

import math

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import I64, i64, value_type
from graphc.backends.llvm.irgen.loops import View, fill, for_range, load, loop_nest, store
from graphc.backends.llvm.kernels.shape import _index
from graphc.backends.llvm.kernels.table import KernelCtx, kernel


def dense3(v: View, axis: int) -> tuple[int, int, int, View]:
    outer, inner = math.prod(v.shape[:axis]), math.prod(v.shape[axis + 1:])
    return outer, v.shape[axis], inner, View.dense(v.ptr, v.dtype, (v.size,))


def offset3(b: ir.IRBuilder, o: ir.Value, j: ir.Value, r: ir.Value, n: int, inner: int) -> ir.Value:
    return b.add(b.mul(b.add(b.mul(o, i64(n)), j), i64(inner)), r)


def _accumulator(b: ir.IRBuilder, ty: ir.Type) -> ir.Value:
    with b.goto_entry_block():  # an entry-block slot: mem2reg turns it into a register
        return b.alloca(ty)


@kernel(ops.cumsum)
def _cumsum(k: KernelCtx) -> None:
    b, x, out = k.b, k.ins[0], k.outs[0]
    outer, n, inner, fo = dense3(out, k.attrs["axis"])
    fx = View.dense(x.ptr, x.dtype, (x.size,))
    if out.size == 0:
        return
    ty = value_type(out.dtype)
    add = b.fadd if out.dtype.is_float else b.add
    acc = _accumulator(b, ty)
    with loop_nest(b, [outer, inner]) as (o, r):
        b.store(ir.Constant(ty, 0), acc)
        with for_range(b, 0, n) as j:
            at = offset3(b, o, b.sub(i64(n - 1), j) if k.attrs["reverse"] else j, r, n, inner)
            total = add(b.load(acc, typ=ty), load(b, fx, at))
            b.store(total, acc)
            store(b, fo, at, total)


@kernel(ops.argsort)
def _argsort(k: KernelCtx) -> None:
    """Rank sort, O(n^2) per line: element i goes to the count of elements sorting before it
    (ties broken by position, which makes it stable). Short axes (top-k, small vocabularies)
    are what graphc sorts; a merge sort would pay off only for long ones."""
    b, x, out = k.b, k.ins[0], k.outs[0]
    outer, n, inner, fo = dense3(out, k.attrs["axis"])
    fx = View.dense(x.ptr, x.dtype, (x.size,))
    if out.size == 0:
        return
    count = _accumulator(b, I64)
    with loop_nest(b, [outer, inner, n]) as (o, r, i):
        xi = load(b, fx, offset3(b, o, i, r, n, inner))
        b.store(i64(0), count)
        with for_range(b, 0, n) as j:
            xj = load(b, fx, offset3(b, o, j, r, n, inner))
            tie_first = b.and_(_tied(b, xj, xi), b.icmp_signed("<", j, i))
            first = b.or_(_before(b, xj, xi, k.attrs["descending"]), tie_first)
            b.store(b.add(b.load(count, typ=I64), b.zext(first, I64)), count)
        store(b, fo, offset3(b, o, b.load(count, typ=I64), r, n, inner), i)


def _gather_loop(k: KernelCtx, table: View, other: View, idx: View, scatter: bool) -> None:
    """gather (table -> other) or gather_grad's scatter-add (other -> table)."""
    b, axis = k.b, k.attrs["axis"]
    outer, n, inner, ft = dense3(table, axis)
    _, m, _, fi = dense3(idx, axis)
    fo = View.dense(other.ptr, other.dtype, (other.size,))
    if idx.size == 0:
        return
    if n == 0:  # every index is out of range: flag it without touching memory
        k.fail_if(ir.Constant(ir.IntType(1), 1))
        return
    with loop_nest(b, [outer, m, inner]) as (o, j, r):
        pos = offset3(b, o, j, r, m, inner)
        at = offset3(b, o, _index(k, fi, pos, n), r, n, inner)
        if scatter:
            add = b.fadd if table.dtype.is_float else b.add
            store(b, ft, at, add(load(b, ft, at), load(b, fo, pos)))
        else:
            store(b, fo, pos, load(b, ft, at))


@kernel(ops.gather)
def _gather(k: KernelCtx) -> None:
    _gather_loop(k, k.ins[0], k.outs[0], k.ins[1], scatter=False)


@kernel(ops.gather_grad)
def _gather_grad(k: KernelCtx) -> None:
    out = k.outs[0]
    fill(k.b, out, ir.Constant(value_type(out.dtype), 0))
    _gather_loop(k, out, k.ins[0], k.ins[1], scatter=True)


def _before(b: ir.IRBuilder, xj: ir.Value, xi: ir.Value, descending: bool) -> ir.Value:
    """Whether value xj sorts strictly before xi (NaN last ascending, first descending)."""
    if xj.type in (ir.FloatType(), ir.DoubleType()):
        nan_j, nan_i = b.fcmp_unordered("uno", xj, xj), b.fcmp_unordered("uno", xi, xi)
        if descending:
            return b.or_(b.fcmp_ordered(">", xj, xi), b.and_(nan_j, b.not_(nan_i)))
        return b.or_(b.fcmp_ordered("<", xj, xi), b.and_(nan_i, b.not_(nan_j)))
    return b.icmp_signed(">" if descending else "<", xj, xi)


def _tied(b: ir.IRBuilder, xj: ir.Value, xi: ir.Value) -> ir.Value:
    if xj.type in (ir.FloatType(), ir.DoubleType()):
        both_nan = b.and_(b.fcmp_unordered("uno", xj, xj), b.fcmp_unordered("uno", xi, xi))
        return b.or_(b.fcmp_ordered("==", xj, xi), both_nan)
    return b.icmp_signed("==", xj, xi)
