"""layer_norm and layer_norm_grad: one loop over rows, a few passes over each row."""

from __future__ import annotations

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import FM_REDUCE, Arith, call_intrinsic, i64
from graphc.backends.llvm.irgen.loops import View, load, loop_nest, store
from graphc.backends.llvm.kernels.reduce import accumulate, rows
from graphc.backends.llvm.kernels.table import KernelCtx, kernel


def _reader(b: ir.IRBuilder, v: View, base: ir.Value, step: int):
    return lambda i: load(b, v, b.add(base, b.mul(i, i64(step))))


def _mean(a: Arith, n: int, term) -> ir.Value:
    with accumulate(a.b, n, a.c(0.0)) as (i, cell):
        cell[0] = a.b.fadd(cell[0], term(i), flags=FM_REDUCE)
    return a.div(cell[0], a.c(float(n)))


def _stats(a: Arith, n: int, x, eps: float) -> tuple[ir.Value, ir.Value]:
    """(mean, 1 / sqrt(var + eps)) of a row, the variance from the centered values."""
    mean = _mean(a, n, x)
    var = _mean(a, n, lambda i: a.mul(a.sub(x(i), mean), a.sub(x(i), mean)))
    return mean, a.div(a.c(1.0), call_intrinsic(a.b, "sqrt", a.add(var, a.c(eps))))


def _setup(k: KernelCtx):
    x, out = k.ins[-1], k.outs[0]
    a = k.scalar([x.dtype], x.dtype).arith()
    return a, x, out, x.shape[-1], len(x.shape) - 1


@kernel(ops.layer_norm)
def _layer_norm(k: KernelCtx) -> None:
    a, x, out, n, axis = _setup(k)
    if x.size == 0:
        return
    b = a.b
    with rows(b, x.shape, axis, [x, out]) as (xb, ob):
        xi = _reader(b, x, xb, x.strides[axis])
        mean, rstd = _stats(a, n, xi, k.attrs["eps"])
        with loop_nest(b, [n]) as (i,):
            store(b, out, b.add(ob, b.mul(i, i64(out.strides[axis]))),
                  a.mul(a.sub(xi(i), mean), rstd))


@kernel(ops.layer_norm_grad)
def _layer_norm_grad(k: KernelCtx) -> None:
    a, x, out, n, axis = _setup(k)
    g = k.ins[0]
    if x.size == 0:
        return
    b = a.b
    with rows(b, x.shape, axis, [g, x, out]) as (gb, xb, ob):
        xi, gi = _reader(b, x, xb, x.strides[axis]), _reader(b, g, gb, g.strides[axis])
        mean, rstd = _stats(a, n, xi, k.attrs["eps"])

        def y(i: ir.Value) -> ir.Value:
            return a.mul(a.sub(xi(i), mean), rstd)

        mg = _mean(a, n, gi)
        mgy = _mean(a, n, lambda i: a.mul(gi(i), y(i)))
        with loop_nest(b, [n]) as (i,):
            dx = a.mul(rstd, a.sub(a.sub(gi(i), mg), a.mul(y(i), mgy)))
            store(b, out, b.add(ob, b.mul(i, i64(out.strides[axis]))), dx)
