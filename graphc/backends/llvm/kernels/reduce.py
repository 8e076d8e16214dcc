"""Reductions: sum, mean, max, min, prod, logsumexp, argmax, argmin (and the shared machinery).

A reduction walks its input in memory order. When the innermost walked dim is reduced, the
partial result stays in a register (a vectorizable reduction loop); otherwise it accumulates in
the output row, which vectorizes across the kept dim. Sums may reassociate (like NumPy's
pairwise sums, the order differs from a naive loop); max/min propagate NaN like NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import FM, FM_REDUCE, I64, call_intrinsic, i64, value_type
from graphc.backends.llvm.irgen.loops import (
    View,
    coalesce,
    elementwise,
    fill,
    linear,
    load,
    loop_nest,
    store,
)
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.ir.graph import Node
from graphc.ir.types import DType

Combine = Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]
ValueFn = Callable[[list[ir.Value]], ir.Value]


def _float_or_int(fop: str, iop: str) -> Callable[[DType], Combine]:
    """A Combine per dtype: ``fop`` for floats (with reassociation), ``iop`` for integers.

    Names starting with ``llvm.`` are intrinsics (maximum/minimum propagate NaN like NumPy).
    """

    def make(dtype: DType) -> Combine:
        op = fop if dtype.is_float else iop
        if op.startswith("llvm."):
            return lambda b, acc, x: call_intrinsic(b, op[5:], acc, x)
        flags = {"flags": FM_REDUCE} if dtype.is_float else {}
        return lambda b, acc, x: getattr(b, op)(acc, x, **flags)

    return make


COMBINE = {
    "sum": _float_or_int("fadd", "add"),
    "mean": _float_or_int("fadd", "add"),
    "prod": _float_or_int("fmul", "mul"),
    "max": _float_or_int("llvm.maximum", "llvm.smax"),
    "min": _float_or_int("llvm.minimum", "llvm.smin"),
}
_FLOAT_IDENTITY = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf}


def identity(kind: str, dtype: DType) -> ir.Constant:
    """The value a ``kind`` reduction over ``dtype`` starts from."""
    ty = value_type(dtype)
    if dtype.is_float:
        return ir.Constant(ty, _FLOAT_IDENTITY[kind])
    top = 2 ** (ty.width - 1)
    return ir.Constant(ty, {"sum": 0, "mean": 0, "prod": 1, "max": -top, "min": top - 1}[kind])


@contextmanager
def accumulate(b: ir.IRBuilder, n: int, init: ir.Value) -> Iterator[tuple[ir.Value, list]]:
    """A loop carrying one value: ``with accumulate(b, n, x0) as (i, cell): cell[0] = f(cell[0])``.

    After the block, ``cell[0]`` is the final value (usable after the loop).
    """
    pre = b.block
    head, body, done = (b.append_basic_block(n_) for n_ in ("acc", "acc.body", "acc.done"))
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    acc = b.phi(init.type)
    i.add_incoming(i64(0), pre)
    acc.add_incoming(init, pre)
    b.cbranch(b.icmp_signed("<", i, i64(n)), body, done)
    b.position_at_end(body)
    cell = [acc, i]
    yield i, cell
    acc.add_incoming(cell[0], b.block)
    i.add_incoming(b.add(i, i64(1), flags=("nsw", "nuw")), b.block)
    b.branch(head)
    b.position_at_end(done)
    cell[0] = acc


def reduce_views(
    b: ir.IRBuilder,
    ins: Sequence[View],
    shape: Sequence[int],
    out: View,
    combine: Combine,
    init: ir.Value,
    value: ValueFn | None = None,
) -> None:
    """out (keepdims layout broadcast over ``shape``) = reduction of value(ins) over ``shape``."""
    fill(b, View.dense(out.ptr, out.dtype, out.shape), init)
    if math.prod(shape) == 0:
        return
    wide = out.broadcast(shape)
    views = [*ins, wide]
    dims, strides = coalesce(shape, [v.strides for v in views])
    walk = _Walk(ins, wide, dims, strides, combine, value or (lambda xs: xs[0]))
    in_register = bool(dims) and strides[-1][-1] == 0
    (_register_reduce if in_register else _memory_reduce)(b, walk)


Strides = list[list[int]]


@dataclass(frozen=True)
class _Walk:
    """One reduction's loop nest: inputs, the broadcast output, coalesced dims and strides."""

    ins: Sequence[View]
    out: View
    dims: list[int]
    strides: Strides
    combine: Combine
    value: ValueFn

    def bases(self, b: ir.IRBuilder, idx: list[ir.Value]) -> list[ir.Value]:
        """Each view's (inputs', then the output's) element offset at the outer index ``idx``."""
        offsets = [v.offset for v in (*self.ins, self.out)]
        return [linear(b, idx, s[: len(idx)], off)
                for s, off in zip(self.strides, offsets, strict=True)]


def _register_reduce(b: ir.IRBuilder, w: _Walk) -> None:
    """Innermost dim reduced: the partial result stays in a register across it."""
    with loop_nest(b, w.dims[:-1]) as idx:
        bases = w.bases(b, idx)
        start = load(b, w.out, bases[-1])
        with accumulate(b, w.dims[-1], start) as (i, cell):
            xs = [
                load(b, v, b.add(base, _scaled(b, i, s[-1])))
                for v, base, s in zip(w.ins, bases, w.strides, strict=False)
            ]
            cell[0] = w.combine(b, cell[0], w.value(xs))
        store(b, w.out, bases[-1], cell[0])


def _memory_reduce(b: ir.IRBuilder, w: _Walk) -> None:
    """Innermost dim kept: accumulate in the output row, which vectorizes across it."""
    with loop_nest(b, w.dims) as idx:
        bases = w.bases(b, idx)
        xs = [load(b, v, base) for v, base in zip(w.ins, bases, strict=False)]
        store(b, w.out, bases[-1], w.combine(b, load(b, w.out, bases[-1]), w.value(xs)))


def _scaled(b: ir.IRBuilder, i: ir.Value, stride: int) -> ir.Value:
    return i if stride == 1 else b.mul(i, i64(stride))


def keep_shape(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as 1 (the keepdims layout)."""
    return tuple(1 if a in axes else d for a, d in enumerate(shape))


def _reduce_node(k: KernelCtx, kind: str) -> None:
    x, out = k.ins[0], k.outs[0]
    axes = k.attrs["axis"]
    keep = View.dense(out.ptr, out.dtype, keep_shape(x.shape, axes))
    reduce_views(k.b, [x], x.shape, keep, COMBINE[kind](x.dtype), identity(kind, x.dtype))
    if kind == "mean":
        divide_by_count(k.b, keep, math.prod(x.shape[a] for a in axes))


def divide_by_count(b: ir.IRBuilder, v: View, count: int) -> None:
    """v /= count in place (a mean from a sum)."""
    n = ir.Constant(value_type(v.dtype), float(count))
    elementwise(b, v.shape, [v], [v], lambda xs: [b.fdiv(xs[0], n, flags=FM)])


for _kind, _op in (
    ("sum", ops.sum),
    ("mean", ops.mean),
    ("max", ops.max),
    ("min", ops.min),
    ("prod", ops.prod),
):
    kernel(_op, views=True)(lambda k, _kind=_kind: _reduce_node(k, _kind))


def _lse_scratch(node: Node, ins: list[tuple[int, ...]], outs: list[tuple[int, ...]]) -> int:
    return math.prod(outs[0]) * node.inputs[0].type.dtype.np.itemsize


@kernel(ops.logsumexp, scratch=_lse_scratch, views=True)
def _logsumexp(k: KernelCtx) -> None:
    """m = max (non-finite -> 0); s = sum(exp(x - m)); out = log(s) + m."""
    b, x, out = k.b, k.ins[0], k.outs[0]
    a = k.scalar([x.dtype], x.dtype).arith()
    keep = keep_shape(x.shape, k.attrs["axis"])
    m = View.dense(out.ptr, out.dtype, keep)
    s = View.dense(k.scratch, out.dtype, keep)
    reduce_views(b, [x], x.shape, m, COMBINE["max"](x.dtype), identity("max", x.dtype))

    def finite(v: ir.Value) -> ir.Value:
        return a.fcmp("<", a.fabs(v), a.c(math.inf))

    elementwise(b, keep, [m], [m], lambda xs: [a.select(finite(xs[0]), xs[0], a.c(0.0))])

    def shifted(xs: list[ir.Value]) -> ir.Value:
        return a.math("exp", a.sub(xs[0], xs[1]))

    reduce_views(
        b,
        [x, m.broadcast(x.shape)],
        x.shape,
        s,
        COMBINE["sum"](x.dtype),
        identity("sum", x.dtype),
        shifted,
    )
    elementwise(b, keep, [s, m], [m], lambda xs: [a.add(a.math("log", xs[0]), xs[1])])


# --- along one axis: argmax/argmin and the softmax family --------------------------------
@contextmanager
def rows(
    b: ir.IRBuilder, shape: Sequence[int], axis: int, views: Sequence[View]
) -> Iterator[list[ir.Value]]:
    """Loop over every index but ``axis``; yields the base offset of that row in each view."""
    other = [d for a, d in enumerate(shape) if a != axis]
    strides = [[s for a, s in enumerate(v.strides) if a != axis] for v in views]
    with loop_nest(b, other) as idx:
        yield [linear(b, idx, s, v.offset) for s, v in zip(strides, views, strict=True)]


def _arg_node(k: KernelCtx, greater: bool) -> None:
    b, x, out = k.b, k.ins[0], k.outs[0]
    axis = k.attrs["axis"]
    if axis is None:
        x = View.dense(x.ptr, x.dtype, (x.size,))
        axis = 0
    out_row = View.dense(out.ptr, out.dtype, keep_shape(x.shape, (axis,)))
    n, step = x.shape[axis], x.strides[axis]
    if n == 0 or x.size == 0:
        return
    better = _better(k, x.dtype, greater)
    with rows(b, x.shape, axis, [x, out_row]) as (xb, ob):
        first = load(b, x, xb)
        with accumulate(
            b,
            n,
            b.insert_value(ir.Constant(ir.LiteralStructType([first.type, I64]), None), first, 0),
        ) as (i, cell):
            best = b.extract_value(cell[0], 0)
            v = load(b, x, b.add(xb, _scaled(b, i, step)))
            take = better(v, best)
            pair = b.insert_value(cell[0], b.select(take, v, best), 0)
            cell[0] = b.insert_value(pair, b.select(take, i, b.extract_value(cell[0], 1)), 1)
        store(b, out, ob, b.extract_value(cell[0], 1))


def _better(k: KernelCtx, dtype: DType, greater: bool) -> Callable[[ir.Value, ir.Value], ir.Value]:
    b = k.b
    op = ">" if greater else "<"
    if not dtype.is_float:
        return lambda v, best: b.icmp_signed(op, v, best)

    def f(v: ir.Value, best: ir.Value) -> ir.Value:  # the first NaN wins, as in NumPy
        first_nan = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", best, best))
        return b.or_(b.fcmp_ordered(op, v, best), first_nan)

    return f


kernel(ops.argmax)(lambda k: _arg_node(k, True))
kernel(ops.argmin)(lambda k: _arg_node(k, False))
