"""matmul (NumPy's rules: vectors, broadcast batch dims) through the packed GEMM (native/gemm.py).

Float matrices go through ``graphc_gemm_<dtype>`` (gemm.py), one call per batch element, with
its packing workspace in the arena's scratch area; integer matrices use a plain loop nest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.codegen.chunks import part_rows
from graphc.backends.llvm.irgen.basics import i64, value_type
from graphc.backends.llvm.irgen.loops import (
    View,
    address,
    contiguous_strides,
    linear,
    load,
    loop_nest,
    store,
)
from graphc.backends.llvm.kernels.reduce import accumulate
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.backends.llvm.native import externs, gemm
from graphc.ir.graph import Node


@dataclass(frozen=True)
class MatmulShape:
    """A matmul as batch dims plus M x K @ K x N, with each operand's strides (elements)."""

    batch: tuple[int, ...]
    m: int
    n: int
    k: int
    a_batch: tuple[int, ...]
    b_batch: tuple[int, ...]
    a_mat: tuple[int, int] = (0, 1)  # (row stride, column stride) of A
    b_mat: tuple[int, int] = (0, 1)

    @property
    def c_batch(self) -> tuple[int, ...]:
        """Batch strides of the (dense) result."""
        return tuple(s * self.m * self.n for s in contiguous_strides(self.batch))


def _as_matrix(v: View, vector_is_row: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shape and strides of an operand as a (batched) matrix; vectors become a row/column."""
    if len(v.shape) > 1:
        return v.shape, v.strides
    if vector_is_row:
        return (1, *v.shape), (0, *v.strides)
    return (*v.shape, 1), (*v.strides, 0)


def matmul_shape(a: View, b: View) -> MatmulShape:
    """The operands (NumPy matmul rules, any strides) as a MatmulShape."""
    (ash, ast), (bsh, bst) = _as_matrix(a, True), _as_matrix(b, False)
    rank = max(len(ash), len(bsh)) - 2
    pad_a, pad_b = rank - (len(ash) - 2), rank - (len(bsh) - 2)
    batch = tuple(
        max(x, y) for x, y in zip((1,) * pad_a + ash[:-2], (1,) * pad_b + bsh[:-2], strict=True)
    )
    return MatmulShape(
        batch,
        ash[-2],
        bsh[-1],
        ash[-1],
        _batch(ash, ast, pad_a),
        _batch(bsh, bst, pad_b),
        (ast[-2], ast[-1]),
        (bst[-2], bst[-1]),
    )


def _batch(shape: tuple[int, ...], strides: tuple[int, ...], pad: int) -> tuple[int, ...]:
    own = tuple(0 if d == 1 else s for d, s in zip(shape[:-2], strides[:-2], strict=True))
    return (0,) * pad + own


def gemm_scratch(node: Node, ins: list, outs: list) -> int:
    """Scratch bytes of a float matmul: the GEMM's packing workspace (integers need none)."""
    dtype = node.inputs[0].type.dtype
    return gemm.gemm_workspace_bytes(dtype.short) if dtype.is_float else 0


def gemm_call(
    k: KernelCtx, ms: MatmulShape, a: View, b: View, c: View, alpha: float = 1.0, beta: float = 0.0
) -> None:
    """C = alpha * A @ B + beta * C per batch element, through the GEMM (A, B any strides)."""
    bld, dtype = k.b, a.dtype
    fn = externs.declare_gemm(k.module, dtype.short)
    ty = value_type(dtype)
    (rsa, csa), (rsb, csb) = ms.a_mat, ms.b_mat
    ldc = c.strides[-2] if min(len(a.shape), len(b.shape)) >= 2 else ms.n
    with loop_nest(bld, list(ms.batch)) as idx:
        offs = [
            _offset(bld, idx, s, v.offset)
            for s, v in ((ms.a_batch, a), (ms.b_batch, b), (ms.c_batch, c))
        ]
        pa, pb, pc = (address(bld, v, o) for v, o in zip((a, b, c), offs, strict=True))
        sizes = [i64(d) for d in (ms.m, ms.n, ms.k)]
        scale = [ir.Constant(ty, alpha), ir.Constant(ty, beta)]
        args = [pa, i64(rsa), i64(csa), pb, i64(rsb), i64(csb), pc, i64(ldc)]
        bld.call(fn, [*sizes, *args, *scale, k.scratch])


def _offset(b: ir.IRBuilder, idx: list[ir.Value], strides: Sequence[int], base: int) -> ir.Value:
    return linear(b, idx, strides, base)


def _int_matmul(k: KernelCtx, ms: MatmulShape, a: View, b: View, c: View) -> None:
    """C = A @ B for integers: a plain loop nest (C dense)."""
    bld = k.b
    zero = ir.Constant(value_type(c.dtype), 0)
    with loop_nest(bld, [*ms.batch, ms.m, ms.n]) as idx:
        bi, i, j = idx[:-2], idx[-2], idx[-1]
        ab, bb, cb = (_offset(bld, bi, s, 0) for s in (ms.a_batch, ms.b_batch, ms.c_batch))
        (rsa, csa), (rsb, csb) = ms.a_mat, ms.b_mat
        ab, bb = bld.add(ab, i64(a.offset)), bld.add(bb, i64(b.offset))
        with accumulate(bld, ms.k, zero) as (p, cell):
            x = load(bld, a, bld.add(ab, bld.add(bld.mul(i, i64(rsa)), bld.mul(p, i64(csa)))))
            y = load(bld, b, bld.add(bb, bld.add(bld.mul(p, i64(rsb)), bld.mul(j, i64(csb)))))
            cell[0] = bld.add(cell[0], bld.mul(x, y))
        store(bld, c, bld.add(cb, bld.add(bld.mul(i, i64(ms.n)), j)), cell[0])


def split_operands(k: KernelCtx) -> tuple[View, View, View]:
    """A, B and C, cut to this thread's rows (of A and C) or columns (of B and C) if threaded."""
    a, b, c = k.ins[0], k.ins[1], k.outs[0]
    part = k.extras.get("part")
    if part is None:
        return a, b, c
    if part.dim == 0:
        return part_rows(a, part), b, part_rows(c, part)
    return a, part_rows(b, part.along(len(b.shape) - 1)), part_rows(c, part)


@kernel(ops.matmul, scratch=gemm_scratch, views=True)
def _matmul(k: KernelCtx) -> None:
    a, b, c = split_operands(k)
    ms = matmul_shape(a, b)
    if math.prod(ms.batch) * ms.m * ms.n == 0:
        return
    matmul_into(k, ms, a, b, c)


def matmul_into(k: KernelCtx, ms: MatmulShape, a: View, b: View, c: View) -> None:
    """C = A @ B: the packed GEMM for floats, a loop nest for integers (never split)."""
    if a.dtype.is_float:
        gemm_call(k, ms, a, b, c)
    else:
        _int_matmul(k, ms, a, b, c)
