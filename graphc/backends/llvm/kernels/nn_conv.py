"""conv2d, its gradients and fused_conv2d, through the im2col + GEMM kernels of native/conv.py.

The GEMM those kernels call is declared first, so it resolves to the shared runtime copy
(runtime.py) instead of being compiled into every graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.loops import View, elementwise
from graphc.backends.llvm.kernels.fused import epilogue_scratch, eval_body, product_view
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.backends.llvm.native import conv, externs
from graphc.ir.graph import Node

Shapes = list[tuple[int, ...]]
# the (x, w) shapes a conv op's geometry is defined by, from its input and output shapes
GeomShapes = Callable[[Node, Shapes, Shapes], tuple[tuple[int, ...], tuple[int, ...]]]


def _forward(node: Node, ins: Shapes, outs: Shapes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return ins[0], ins[1]


def _input_grad(node: Node, ins: Shapes, outs: Shapes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return outs[0], ins[1]


def _weight_grad(node: Node, ins: Shapes, outs: Shapes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return ins[0], outs[0]


def _geom(node: Node, ins: Shapes, outs: Shapes, shapes: GeomShapes) -> conv.ConvGeom:
    x, w = shapes(node, ins, outs)
    return conv.ConvGeom.from_shapes(x, w, node.attrs)


def _scratch(shapes: GeomShapes) -> Callable[[Node, Shapes, Shapes], int]:
    def need(node: Node, ins: Shapes, outs: Shapes) -> int:
        dtype = node.inputs[0].type.dtype.short
        return conv.conv_workspace_bytes(dtype, _geom(node, ins, outs, shapes))

    return need


def _emitter(emit: Callable[..., ir.Function], shapes: GeomShapes) -> Callable[..., None]:
    def lower(k: KernelCtx, out: View | None = None) -> None:
        """Call the conv kernel writing into ``out`` (default: the node's result)."""
        out = k.outs[0] if out is None else out
        dtype = k.ins[0].dtype.short
        g = _geom(k.node, [v.shape for v in k.ins], [v.shape for v in k.outs], shapes)
        if emit is conv.emit_conv2d_weight_grad and k.ins[1].strides[0] != g.o * g.npix:
            # a chunk of the output channels (chunks.py): gy images are further apart
            g = replace(g, gy_channels=k.ins[1].strides[0] // g.npix)
        if out.size == 0 or g.n == 0 and emit is not conv.emit_conv2d_weight_grad:
            return
        externs.declare_gemm(k.module, dtype)
        fn = emit(k.module, dtype, g)
        k.b.call(fn, [k.ins[0].ptr, k.ins[1].ptr, out.ptr, k.scratch])

    return lower


for _op, _emit, _shapes in (
    (ops.conv2d, conv.emit_conv2d, _forward),
    (ops.conv2d_input_grad, conv.emit_conv2d_input_grad, _input_grad),
    (ops.conv2d_weight_grad, conv.emit_conv2d_weight_grad, _weight_grad),
):
    kernel(_op, scratch=_scratch(_shapes))(_emitter(_emit, _shapes))

_conv_forward = _emitter(conv.emit_conv2d, _forward)


def _fused_conv2d(k: KernelCtx) -> None:
    """conv2d into the product buffer, then the epilogue body over it."""
    product = product_view(k, _FORWARD_SCRATCH)
    _conv_forward(k, product)
    extras = [v.broadcast(product.shape) for v in k.ins[2:]]
    elementwise(k.b, product.shape, [product, *extras], k.outs,
                lambda xs: eval_body(k, k.node.body, xs))


_FORWARD_SCRATCH = _scratch(_forward)
kernel(ops.fused_conv2d, scratch=epilogue_scratch(_FORWARD_SCRATCH))(_fused_conv2d)
