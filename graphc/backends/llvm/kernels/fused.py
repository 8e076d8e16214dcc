"""Fused nodes (made by the fuse pass): one loop nest each, scalar bodies from the table.

- ``fused``: elementwise; inputs broadcast to the result shape, the body runs per element.
- ``fused_reduce``: the body's value per input element is reduced over ``axis``.
- ``fused_matmul``: the GEMM writes the product into a result of the product's dtype (or
  into scratch when every result has another dtype, say a bool mask), then the body (product
  element, extra inputs...) runs over it in place as an epilogue.
"""

from __future__ import annotations

import math

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.codegen.chunks import part_rows
from graphc.backends.llvm.irgen.basics import I8, i64
from graphc.backends.llvm.irgen.loops import View, const, elementwise
from graphc.backends.llvm.kernels.linalg import (
    gemm_call,
    gemm_scratch,
    matmul_into,
    matmul_shape,
    split_operands,
)
from graphc.backends.llvm.kernels.reduce import (
    COMBINE,
    divide_by_count,
    identity,
    keep_shape,
    reduce_views,
)
from graphc.backends.llvm.kernels.shape import copy
from graphc.backends.llvm.kernels.table import (
    SCALAR,
    KernelCtx,
    Scalar,
    ScratchFn,
    kernel,
    speculate_trig,
)
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.types import broadcast_shapes
from graphc.ops import core


def eval_body(k: KernelCtx, body: Graph, args: list[ir.Value]) -> list[ir.Value]:
    """The body's yielded scalars, given scalar values for its arguments."""
    env = dict(zip(body.inputs, args, strict=True))
    for n in body.nodes:
        out = n.outputs[0]
        if n.op is core.constant:
            env[out] = const(out.type.dtype, n.attrs["value"].reshape(-1)[0].item())
            continue
        s = Scalar(k.b, k.math, [v.type.dtype for v in n.inputs], out.type.dtype, n.attrs)
        env[out] = SCALAR[n.op](s, [env[v] for v in n.inputs])
    return [env[v] for v in body.outputs]


def _fused(k: KernelCtx) -> None:
    part, full = k.extras.get("part"), k.outs[0].shape
    outs = [part_rows(o, part) for o in k.outs]
    ins = [part_rows(v.broadcast(full), part) for v in k.ins]
    body = k.node.body
    speculate_trig(
        k, lambda: elementwise(k.b, outs[0].shape, ins, outs, lambda xs: eval_body(k, body, xs))
    )


def _fused_reduce(k: KernelCtx) -> None:
    kind, axes = k.attrs["reduce"], k.attrs["axis"]
    shape = broadcast_shapes(*(v.shape for v in k.ins))
    out = k.outs[0]
    keep = View.dense(out.ptr, out.dtype, keep_shape(shape, axes))
    dtype = k.node.body.outputs[0].type.dtype

    def value(xs: list[ir.Value]) -> ir.Value:
        return eval_body(k, k.node.body, xs)[0]

    reduce_views(
        k.b,
        [v.broadcast(shape) for v in k.ins],
        shape,
        keep,
        COMBINE[kind](dtype),
        identity(kind, dtype),
        value,
    )
    if kind == "mean":
        divide_by_count(k.b, keep, math.prod(shape[a] for a in axes))


def axpy_form(node: Node) -> tuple[float, int] | None:
    """(alpha, input index j) when a fused_matmul's body is ``in_j + alpha * product``.

    That is an SGD step ``w - lr * (a @ b)``: the GEMM can accumulate into w directly
    (C = alpha * A @ B + 1 * C), in place, with no temporary.
    """
    body = node.body
    if body is None or len(body.outputs) != 1 or body.outputs[0].node is None:
        return None
    y = body.outputs[0].node
    if y.op not in (ops.add, ops.sub) or not body.inputs[0].type.dtype.is_float:
        return None
    acc, term = y.inputs
    scale = _scaled_product(term, body.inputs[0])
    if acc not in body.inputs[1:] or scale is None:
        return None
    j = 2 + body.inputs.index(acc) - 1
    if node.inputs[j].type.shape != node.outputs[0].type.shape:
        return None
    return (-scale if y.op is ops.sub else scale), j


def _scaled_product(term: Value, product: Value) -> float | None:
    """c when ``term`` is ``c * product`` or ``product * c`` for a scalar constant c."""
    n = term.node
    if n is None or n.op is not ops.mul:
        return None
    x, y = n.inputs
    c = x if y is product else (y if x is product else None)
    if c is None or c.node is None or c.node.op is not core.constant or c.type.rank:
        return None
    return float(c.node.attrs["value"])


def product_result(node: Node) -> int | None:
    """Index of the first result with the product's dtype (the GEMM writes there), if any."""
    dtype = node.body.inputs[0].type.dtype
    return next((j for j, v in enumerate(node.outputs) if v.type.dtype == dtype), None)


def _aligned(nbytes: int) -> int:
    return -(-nbytes // 64) * 64


def epilogue_scratch(base: ScratchFn) -> ScratchFn:
    """``base``'s scratch, then room for the product when no result can hold it."""

    def need(node: Node, ins: list[tuple[int, ...]], outs: list[tuple[int, ...]]) -> int:
        nbytes = base(node, ins, outs)
        if product_result(node) is not None:
            return nbytes
        itemsize = node.body.inputs[0].type.dtype.np.itemsize
        return _aligned(nbytes) + math.prod(outs[0]) * itemsize

    return need


def product_view(k: KernelCtx, base: ScratchFn) -> View:
    """The full-shape buffer the product goes to: a result of its dtype, else scratch."""
    j = product_result(k.node)
    if j is not None:
        return k.outs[j]
    shapes = [[v.shape for v in k.ins], [v.shape for v in k.outs]]
    ptr = k.b.gep(k.scratch, [i64(_aligned(base(k.node, *shapes)))], source_etype=I8)
    return View.dense(ptr, k.node.body.inputs[0].type.dtype, k.outs[0].shape)


def _fused_matmul(k: KernelCtx) -> None:
    """GEMM into the product buffer, then the epilogue over it (rows split when threaded)."""
    part, full = k.extras.get("part"), k.outs[0].shape
    a, b, _ = split_operands(k)
    product = part_rows(product_view(k, gemm_scratch), part)
    outs = [part_rows(o, part) for o in k.outs]
    ms = matmul_shape(a, b)
    if product.size == 0:
        return
    extras = [part_rows(v.broadcast(full), part) for v in k.ins[2:]]
    axpy = axpy_form(k.node)
    if axpy is not None:
        alpha, j = axpy
        copy_unless_same(k.b, extras[j - 2], product)
        gemm_call(k, ms, a, b, product, alpha=alpha, beta=1.0)
        return
    matmul_into(k, ms, a, b, product)
    elementwise(k.b, product.shape, [product, *extras], outs,
                lambda xs: eval_body(k, k.node.body, xs))


def copy_unless_same(b: ir.IRBuilder, src: View, dst: View) -> None:
    """dst = src, skipped at run time when both are the same buffer (an in-place update)."""
    same = b.icmp_unsigned(
        "==", b.ptrtoint(src.ptr, ir.IntType(64)), b.ptrtoint(dst.ptr, ir.IntType(64))
    )
    with b.if_then(b.not_(same)):
        copy(b, src, dst)


kernel(ops.fused, views=True)(_fused)
kernel(ops.fused_reduce, views=True)(_fused_reduce)
kernel(ops.fused_matmul, scratch=epilogue_scratch(gemm_scratch), views=True)(_fused_matmul)
