"""Threefry-2x32 random draws (graphc.ops.random) as one loop over the linear index.

The same integer steps as the NumPy reference (32-bit add, rotate, xor; then the same exact
bits-to-float conversion), so both backends give identical bits for a key. The key is loaded
once before the loop; the body has no calls or branches, so the loop vectorizes.
"""

from __future__ import annotations

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import i64
from graphc.backends.llvm.irgen.loops import View, for_range, load, store
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.ir.types import float32
from graphc.ops.random import PARITY, ROTATIONS

I32 = ir.IntType(32)


def _c(n: int) -> ir.Constant:
    return ir.Constant(I32, n & 0xFFFFFFFF)


def _rotl(b: ir.IRBuilder, x: ir.Value, r: int) -> ir.Value:
    return b.or_(b.shl(x, _c(r)), b.lshr(x, _c(32 - r)))


def threefry(b: ir.IRBuilder, k0: ir.Value, k1: ir.Value, x0: ir.Value, x1: ir.Value):
    """The two output words of Threefry-2x32 (20 rounds) on counter words (x0, x1)."""
    ks = [k0, k1, b.xor(b.xor(k0, k1), _c(PARITY))]
    x0, x1 = b.add(x0, ks[0]), b.add(x1, ks[1])
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = b.add(x0, x1)
            x1 = b.xor(_rotl(b, x1, r), x0)
        x0 = b.add(x0, ks[(i + 1) % 3])
        x1 = b.add(b.add(x1, ks[(i + 2) % 3]), _c(i + 1))
    return x0, x1


def _unit(b: ir.IRBuilder, bits: ir.Value, f32: bool) -> ir.Value:
    """bits -> float in [0, 1), exactly as graphc.ops.random._unit_f32 / _unit_f64."""
    if f32:
        one_to_two = b.bitcast(b.or_(b.lshr(bits, _c(9)), _c(0x3F800000)), ir.FloatType())
        return b.fsub(one_to_two, ir.Constant(ir.FloatType(), 1.0))
    return b.fmul(b.uitofp(bits, ir.DoubleType()), ir.Constant(ir.DoubleType(), 2.0**-32))


@kernel(ops.random_bits, ops.random_uniform)
def _random(k: KernelCtx) -> None:
    b, key, out = k.b, k.ins[0], k.outs[0]
    if out.size == 0:
        return
    k0, k1 = (load(b, key, i64(key.offset + j * key.strides[0])) for j in (0, 1))
    flat = View.dense(out.ptr, out.dtype, (out.size,))
    uniform = k.node.op is ops.random_uniform
    with for_range(b, 0, out.size) as i:
        hi, lo = b.trunc(b.lshr(i, i64(32)), I32), b.trunc(i, I32)
        y0, y1 = threefry(b, k0, k1, hi, lo)
        bits = b.xor(y0, y1)
        store(b, flat, i, _unit(b, bits, out.dtype == float32) if uniform else bits)
