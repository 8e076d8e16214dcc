"""expm1 (a scalar body), stop_gradient (the identity) and iota (a loop nest)."""

from __future__ import annotations

import math

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import value_type
from graphc.backends.llvm.irgen.loops import loop_nest, store
from graphc.backends.llvm.kernels.scan import dense3, offset3
from graphc.backends.llvm.kernels.table import KernelCtx, Scalar, kernel, lowers

lowers(ops.stop_gradient)(lambda s, xs: xs[0])


@lowers(ops.expm1)
def _expm1(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    """Kahan's expm1: u = exp(x); (u - 1) * x / log(u) cancels exp's rounding error near 0."""
    a, x = s.arith(), xs[0]
    u = a.math("exp", x)
    um1 = a.sub(u, a.c(1.0))
    ratio = a.div(a.mul(um1, x), a.math("log", u))
    near_zero = a.fcmp("==", u, a.c(1.0))  # |x| below half an ulp of 1: expm1(x) = x
    big = a.fcmp("==", um1, a.c(-1.0))  # exp underflowed to 0, or x = -inf: the answer is -1
    overflow = a.fcmp("==", u, a.c(math.inf))  # inf/inf would give NaN; expm1 = inf
    out = a.select(near_zero, x, a.select(big, a.c(-1.0), ratio))
    return a.select(overflow, u, out)


@kernel(ops.iota)
def _iota(k: KernelCtx) -> None:
    b, out = k.b, k.outs[0]
    outer, n, inner, flat = dense3(out, k.attrs["axis"])
    if out.size == 0:
        return
    ty = value_type(out.dtype)
    with loop_nest(b, [outer, n, inner]) as (o, j, r):
        store(b, flat, offset3(b, o, j, r, n, inner), _from_i64(b, j, ty))


def _from_i64(b: ir.IRBuilder, j: ir.Value, ty: ir.Type) -> ir.Value:
    if isinstance(ty, ir.IntType):
        return b.trunc(j, ty) if ty.width < 64 else j
    return b.sitofp(j, ty)
